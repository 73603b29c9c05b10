import { describe, expect, it } from "vitest";
import { answerSchema, elementsAnswerSchema, elementsInstructions, sceneSpecAnswerSchema, sceneSpecInstructions, type Instructions } from "../src/story/instructions.js";
import { golden } from "./fixtures/rules/harness.js";

/**
 * The story readings' instructions and answer schemas, rendered as a provider gets them. A
 * deliberate change: rerun with UPDATE_GOLDEN=1, review the diff of test/golden/, and bump the
 * version in src/story/instructions.ts.
 */
const render = (instructions: Instructions, schema: unknown) => `version: ${instructions.version}\n--- instructions\n${instructions.text}\n--- schema\n${JSON.stringify(schema, null, 2)}\n`;

describe("story instructions and answer schemas", () => {
  it("the story-elements extraction (golden)", () => {
    const { actual, expected } = golden("story-elements", render(elementsInstructions(), answerSchema("story_elements", elementsAnswerSchema)));
    expect(actual).toBe(expected);
  });

  it("the scene specification of a chapter, default options (golden)", () => {
    const { actual, expected } = golden("story-scene-specs", render(sceneSpecInstructions(), answerSchema("scene_specs", sceneSpecAnswerSchema())));
    expect(actual).toBe(expected);
  });

  it("how many images and which kinds are part of the instructions' version and of the schema", () => {
    const options = { images: { min: 2, max: 2 }, kinds: ["hero", "beat"] as const };
    expect(sceneSpecInstructions(options).version).toBe("scene-specs/1 images 2-2 kinds hero,beat");
    expect(sceneSpecInstructions(options).text).toContain("exactly 2 images, in story order, of the kinds hero, beat.");
    const { schema } = answerSchema("scene_specs", sceneSpecAnswerSchema(options));
    const images = (schema.properties as Record<string, Record<string, unknown>>).images!;
    expect([images.minItems, images.maxItems]).toEqual([2, 2]);
    expect(((images.items as Record<string, Record<string, Record<string, unknown>>>).properties!.image_type)!.enum).toEqual(["hero", "beat"]);
    expect(sceneSpecInstructions({ aspectRatios: ["1:1"] }).version).toBe("scene-specs/1 images 1-3 kinds hero,anchor,beat,detail,supporting aspect 1:1");
    expect(() => sceneSpecAnswerSchema({ images: { min: 3, max: 1 } })).toThrow("images per chapter: min and max must be whole numbers");
  });

  it("answers are checked against the schema: a missing field, an unknown field or a kind not asked for is refused", () => {
    const schema = sceneSpecAnswerSchema({ kinds: ["hero", "beat"] });
    const entry = {
      moment: "Fog at the jetty",
      narrative_beat: "Nell sees the fog.",
      image_type: "hero",
      scene_mood: "ominous",
      mood_rationale: "The fog threatens.",
      aspect_ratio: "16:9",
      visual_description: "A jetty in fog.",
      composition_notes: "Low horizon.",
      visual_hook: "The lamp.",
      depicts_characters: ["nell-farrow"],
      character_states: [{ character: "nell-farrow", state: "Leaning forward." }],
      location: "harbour",
      zone: null,
      lighting: { primary_source: "dusk", quality: "soft", direction: "behind", color_temperature: "cool", shadow_depth: "deep", atmospheric: "fog" },
      palette: { dominant: ["pewter"], accent: ["amber"], avoid: [] },
      prompt_used: "A jetty in fog at dusk.",
      negative_prompt: "text",
      tags: ["fog"],
    };
    expect(schema.safeParse({ images: [entry] }).success).toBe(true);
    expect(schema.safeParse({ images: [{ ...entry, image_type: "detail" }] }).success).toBe(false);
    expect(schema.safeParse({ images: [{ ...entry, extra: 1 }] }).success).toBe(false);
    const { tags: _, ...missing } = entry;
    expect(schema.safeParse({ images: [missing] }).success).toBe(false);
  });
});
