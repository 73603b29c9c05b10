/**
 * What a language model is asked when chargen reads a story, and the shape of its answer: the
 * story-elements extraction (recurring characters, creatures and places, each with a visual
 * description) and the per-chapter scene specification (image entries in the chapter shape of
 * MemoryQuill's contract). Each instruction text carries a version: a change to the text or the
 * schema bumps it, and every reading keyed on it becomes stale and says so.
 *
 * Answer schemas are zod 4 definitions; `answerSchema` gives providers their JSON Schema (the
 * subset both Gemini's structured output and OpenAI's strict `json_schema` take: every property
 * required, optional values as `null`, no additional properties).
 */
import { z } from "zod";
import type { JsonValue } from "../model/target.js";

/** `image_type` values MemoryQuill's strict reader accepts in a chapter's `images[]`. */
export const IMAGE_TYPES = ["hero", "anchor", "beat", "detail", "supporting"] as const;
export type ImageType = (typeof IMAGE_TYPES)[number];

/** `scene_mood` values MemoryQuill's strict reader accepts. */
export const SCENE_MOODS = ["somber", "pastoral", "celebratory", "ethereal", "intimate", "kinetic", "ominous", "heroic", "clandestine", "tense", "reverent"] as const;

export const ELEMENTS_VERSION = "story-elements/2";
export const SCENE_SPECS_VERSION = "scene-specs/1";

/** Instructions as sent: the version they are keyed on and the system text. */
export interface Instructions {
  version: string;
  text: string;
}

// ---------------------------------------------------------------------------------------------
// Story elements

const names = (what: string) => z.array(z.string()).describe(what);

export const characterElementSchema = z.strictObject({
  name: z.string().describe("The name the story uses most, as written."),
  kind: z.enum(["character", "creature"]),
  aliases: names("Other names, titles and nicknames the text uses for them."),
  appearance: z
    .string()
    .describe("A visual description an illustrator can draw from: apparent age, build, face, skin, hair, eyes, clothing, gear, distinguishing marks. Only what the text states or clearly implies."),
  visual_consistency: names("Short traits that must hold in every image of them (\"copper hair cut short\", \"scar over the left eye\")."),
  chapters: names("Slugs of the chapters they appear in, as given with each chapter."),
});

export const zoneElementSchema = z.strictObject({
  name: z.string(),
  description: z.string().describe("What this part of the place looks like."),
});

export const placeElementSchema = z.strictObject({
  name: z.string().describe("The name the story uses most, as written."),
  aliases: names("Other names the text uses for it."),
  description: z.string().describe("A visual description: setting, scale, architecture or landscape, materials, light, weather and season as the story has them."),
  zones: z.array(zoneElementSchema).describe("Distinct parts of the place where scenes happen (a quay, a lamp room); empty when it has none."),
  chapters: names("Slugs of the chapters it appears in."),
});

export const elementsAnswerSchema = z.strictObject({
  characters: z.array(characterElementSchema).describe("Recurring characters and creatures, the most important first."),
  places: z.array(placeElementSchema).describe("Recurring places, the most important first."),
});
export type ElementsAnswer = z.infer<typeof elementsAnswerSchema>;
export type CharacterElement = z.infer<typeof characterElementSchema>;
export type PlaceElement = z.infer<typeof placeElementSchema>;

export function elementsInstructions(): Instructions {
  return {
    version: ELEMENTS_VERSION,
    text: `You read a chapter of a book to prepare its illustration. List the story elements it shows: the characters, the creatures, and the places, each with a visual description that an illustrator will use in every picture that shows it.

Rules:
- Include a character, creature or place only when it is seen in the chapter or matters to how a scene looks. Leave out people who are only named.
- Describe only what the text states or clearly implies. Do not invent features; where the text says nothing about a feature, leave it out.
- Write descriptions as plain visual prose, present tense, without story events ("tall, stooped, white beard to the chest", not "who later betrays the crew").
- When a profile or description text of an element is given, it is the author's canon: keep its facts and use its name.
- Give each place the parts of it where scenes happen as zones.
- Name the chapter by the slug given with it in each element's chapters.
- Use the name the story uses most, as written: the other chapters' readings are merged with this one by name.
- Answer with JSON only, in the schema given.`,
  };
}

// ---------------------------------------------------------------------------------------------
// Scene specifications

export interface SceneSpecOptions {
  /** How many images a chapter gets. Default at least 1, at most 3. */
  images?: { min: number; max: number };
  /** Which `image_type`s the reading may propose. Default all of IMAGE_TYPES. */
  kinds?: readonly ImageType[];
  /** The aspect ratios it may choose from. Default 21:9, 16:9, 4:3, 1:1, 3:4, 2:3. */
  aspectRatios?: readonly string[];
}

const DEFAULT_IMAGES = { min: 1, max: 3 };
const DEFAULT_ASPECT_RATIOS = ["21:9", "16:9", "4:3", "1:1", "3:4", "2:3"] as const;

function resolved(options: SceneSpecOptions): Required<SceneSpecOptions> {
  const images = options.images ?? DEFAULT_IMAGES;
  if (!(Number.isInteger(images.min) && Number.isInteger(images.max) && images.min >= 0 && images.max >= Math.max(images.min, 1))) {
    throw new RangeError(`images per chapter: min and max must be whole numbers, 0 <= min <= max, max >= 1 (got ${images.min}..${images.max})`);
  }
  const kinds = options.kinds?.length ? options.kinds : IMAGE_TYPES;
  return { images, kinds, aspectRatios: options.aspectRatios?.length ? options.aspectRatios : DEFAULT_ASPECT_RATIOS };
}

/** The answer schema of one chapter's specification, for these options (the counts and kinds are part of it). */
export function sceneSpecAnswerSchema(options: SceneSpecOptions = {}) {
  const { images, kinds, aspectRatios } = resolved(options);
  const text = (what: string) => z.string().describe(what);
  const entry = z.strictObject({
    moment: text("A short title of the moment (three to eight words)."),
    narrative_beat: text("What happens in this moment, in one or two sentences, as the chapter tells it."),
    image_type: z.enum(kinds as [ImageType, ...ImageType[]]).describe("hero: the chapter's key image; anchor: establishes a place; beat: a story moment; detail: a close view of an object or gesture; supporting: a secondary scene."),
    scene_mood: z.enum(SCENE_MOODS),
    mood_rationale: text("Why this mood, in one sentence."),
    aspect_ratio: z.enum(aspectRatios as [string, ...string[]]),
    visual_description: text("What the image shows: subject, action, setting, the viewpoint and framing."),
    composition_notes: text("Where things sit in the frame, scale, horizon, leading lines."),
    visual_hook: text("The one thing the eye goes to first."),
    depicts_characters: names("Slugs of the story elements (characters and creatures) visible in the image, from the elements given."),
    character_states: z
      .array(z.strictObject({ character: text("A slug from depicts_characters."), state: text("Pose, expression, condition and clothing in this moment.") }))
      .describe("One line for each depicted character."),
    location: text("Slug of the place element this happens in, from the elements given.").nullable(),
    zone: text("Slug of the zone of that place, when one fits.").nullable(),
    lighting: z.strictObject({
      primary_source: z.string(),
      quality: z.string(),
      direction: z.string(),
      color_temperature: z.string(),
      shadow_depth: z.string(),
      atmospheric: z.string(),
    }),
    palette: z.strictObject({ dominant: names("Three or four dominant colours, named concretely."), accent: names("One or two accent colours."), avoid: names("Colours to keep out.") }),
    prompt_used: text("A complete image prompt for this moment: medium, subject, action, setting, light, mood, composition; no character names a painter could not know, describe them instead."),
    negative_prompt: text("What must not appear, comma-separated."),
    tags: names("A few lower-case tags."),
  });
  return z.strictObject({ images: z.array(entry).min(images.min).max(images.max).describe(`The chapter's images, in story order: ${images.min} to ${images.max}.`) });
}
export type SceneSpecAnswer = z.infer<ReturnType<typeof sceneSpecAnswerSchema>>;
export type SceneSpecEntry = SceneSpecAnswer["images"][number];

export function sceneSpecInstructions(options: SceneSpecOptions = {}): Instructions {
  const { images, kinds } = resolved(options);
  const count = images.min === images.max ? `exactly ${images.max}` : `${images.min} to ${images.max}`;
  return {
    version: `${SCENE_SPECS_VERSION} images ${images.min}-${images.max} kinds ${kinds.join(",")}${options.aspectRatios?.length ? ` aspect ${options.aspectRatios.join(",")}` : ""}`,
    text: `You read one chapter of a book and decide which moments deserve an illustration. Write a specification for each: ${count} image${images.max === 1 ? "" : "s"}, in story order, of the kinds ${kinds.join(", ")}.

Rules:
- Choose moments that are visual and that matter to the chapter: a turn in the story, a place first seen, a face at a decisive instant. Prefer variety of scale and mood across the chapter's images.
- Ground every detail in the chapter's text and in the story elements given; do not invent events.
- Refer to characters, creatures and places by the slugs of the story elements given. A figure who is not an element is described in the visual description, not listed.
- The drafted prompt must stand alone: it is sent to an image model that has not read the book. Describe people by their look, not by their names.
- Keep the look of each element as its description says; the chapter's text wins for what changes in this moment (wounds, clothing, weather).
- Answer with JSON only, in the schema given.`,
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * The JSON Schema a provider is given for a zod answer schema (DataRequest["schema"]): draft
 * 2020-12 without the `$schema` key, which neither structured-output API reads.
 */
export function answerSchema(name: string, schema: z.ZodType): { name: string; schema: Record<string, JsonValue> } {
  const { $schema: _, ...json } = z.toJSONSchema(schema, { target: "draft-2020-12", io: "output" }) as Record<string, JsonValue>;
  return { name, schema: json };
}
