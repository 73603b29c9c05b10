import { describe, expect, it } from "vitest";
import { chapterImages, defineRules, locationImages, styleGlue } from "../src/index.js";
import { copyWorkspace, golden, plan, renderGolden, ROOT, spec } from "./fixtures/rules/harness.js";
import { join } from "node:path";

/**
 * Golden prompts, one per kind, on the rules fixture workspace (test/fixtures/rules/workspace).
 * A deliberate change to prompt rendering: rerun with UPDATE_GOLDEN=1, review the diff of
 * test/golden/, and bump the compiler version of the kinds it touches.
 */
const CASES: [name: string, id: string, what: string][] = [
  ["chapter-prompt-used", "chapters/ch01-the-salt-road/ch01-img-01", "a chapter image with prompt_used: sent as written"],
  ["chapter-compiled", "chapters/ch01-the-salt-road/ch01-img-02", "a chapter image compiled from its structured fields"],
  ["character-scene", "characters/mara-quill/the-chart-table", "a character scene"],
  ["location-overview-prompt-used", "locations/gull-market/overview", "a location overview with prompt_used"],
  ["location-zone-compiled", "locations/gull-market/zones/fish-row", "a location zone with no prompt_used"],
  ["location-zone-nested-image", "locations/gull-market/zones/net-lofts/mending-bench", "an image nested in a zone"],
  ["location-beat", "locations/gull-market/beats/first-catch", "a beat image with its spec under image_spec"],
  ["location-legacy-part", "locations/old-mill/zones/old-mill-wheel-pit", "a part of the older location-imagery.yaml"],
  ["location-legacy-overview", "locations/old-mill/overview", "the overview of the older format, colour anchors as a map"],
  ["location-zone-template", "locations/gull-market/zones/auction-block", "a zone whose prompt_template is filled from its fields"],
];

describe("golden prompts", () => {
  const analysis = plan(copyWorkspace());

  it.each(CASES)("%s: %s", (name, id) => {
    const { actual, expected } = golden(name, renderGolden(spec(analysis, id)));
    expect(actual).toBe(expected);
  });

  it("names and describes each depicted character, and says what each reference is for (bundled example)", () => {
    const example = plan(copyWorkspace(join(ROOT, "examples", "lantern-keepers")));
    const chapter = spec(example, "chapters/ch01-the-grey-tide/ch01-the-grey-tide-img-01");
    const roles = chapter.prompt.parts.map((p) => p.role);
    expect(roles).toEqual(["prompt", "character:nell-farrow", "character:osric-vane", "composition", "lighting", "palette", "mood", "visual-thesis", "art-direction", "style", "references"]);
    const text = (role: string) => chapter.prompt.parts.find((p) => p.role === role)!.text;
    expect(text("character:nell-farrow")).toContain("Character Nell Farrow. Appearance: Nell Farrow is a wiry nineteen-year-old");
    expect(text("character:nell-farrow")).toContain("Always: Nineteen, wiry, sunburnt and freckled;");
    expect(text("character:nell-farrow")).toContain("In this image: Hands in coat pockets, leaning forward, curious.");
    expect(text("visual-thesis")).toBe("Chapter thesis: A small warm light is only as strong as the person willing to row out and tend it.");
    expect(text("references")).toMatch(/^Reference images attached, in order: image 1, Nell Farrow: identity portrait; image 2, Osric Vane: identity portrait; image 3, Heron Point Light, Marker Channel: the place of this scene\./);
    for (const [name, id] of [
      ["example-chapter", "chapters/ch01-the-grey-tide/ch01-the-grey-tide-img-01"],
      ["example-character-companion", "characters/nell-farrow/the-handover"],
      ["example-location-beat", "locations/heron-point-light/beats/marker-relit"],
    ] as const) {
      const { actual, expected } = golden(name, renderGolden(spec(example, id)));
      expect(actual, name).toBe(expected);
    }
    // A character scene with a companion carries the companion's appearance and portrait.
    const handover = spec(example, "characters/nell-farrow/the-handover");
    expect(handover.prompt.parts.find((p) => p.role === "character:osric-vane")!.text).toContain("Character Osric Vane (companion). Appearance: Osric Vane is a tall, stooped keeper");
    expect(handover.references.map((r) => r.label)).toEqual(["Nell Farrow: identity portrait", "Osric Vane: identity portrait"]);
  });

  it("with placeReference, a chapter image also references the image of the zone it is set in: a graph edge to the location's target", () => {
    const rules = defineRules({ rules: [chapterImages({ placeReference: true }), locationImages()] });
    const example = plan(copyWorkspace(join(ROOT, "examples", "lantern-keepers")), rules);
    const chapter = spec(example, "chapters/ch01-the-grey-tide/ch01-the-grey-tide-img-01");
    const zone = example.targets.find((t) => t.id === "locations/heron-point-light/zones/marker-channel")!;
    expect(chapter.references.map((r) => r.path)).toEqual(["characters/nell-farrow/images/portrait.png", "characters/osric-vane/images/portrait.png", zone.output]);
    expect(chapter.references[2]).toMatchObject({ role: "location:heron-point-light", label: "Heron Point Light, Marker Channel: the place of this scene" });
    expect(chapter.prompt.parts.at(-1)!.text).toContain("image 3, Heron Point Light, Marker Channel: the place of this scene.");
    // Without a location rule in the rule set, nothing would produce the file: no reference.
    const alone = plan(copyWorkspace(join(ROOT, "examples", "lantern-keepers")), defineRules({ rules: [chapterImages({ placeReference: true })] }));
    expect(spec(alone, chapter.id).references).toHaveLength(2);
  });

  it("switches sections off and re-words them as the rules ask", () => {
    const style = styleGlue({ sections: { mood: false, "visual-thesis": false, references: false, lighting: (t) => t.replace("Lighting:", "Light:") } });
    const rules = defineRules({ rules: [chapterImages({ style })] });
    const s = spec(plan(copyWorkspace(), rules), "chapters/ch01-the-salt-road/ch01-img-02");
    const roles = s.prompt.parts.map((p) => p.role);
    expect(roles).toEqual(["prompt", "character:mara-quill", "character:tobin-reed", "figures", "composition", "lighting", "palette", "art-direction", "style"]);
    expect(s.prompt.parts.find((p) => p.role === "lighting")!.text).toBe("Light: primary source: one oil lamp; color temperature: amber.");
    // The references are still attached, labelled; only the section is off.
    expect(s.references.map((r) => r.label)).toEqual(["Mara Quill: identity portrait", "Tobin Reed: identity portrait"]);
  });
});
