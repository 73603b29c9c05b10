import { isMap, isScalar, isSeq, type Node } from "yaml";
import { appearanceFrom } from "./appearance.js";
import type { ReferenceInput, TargetSpec } from "../model/target.js";
import type { RuleContext } from "./api.js";
import { part, type PromptPart } from "../model/prompt-ir.js";
import { characterImageryFile } from "./references.js";
import { elementCharacter } from "./story.js";
import { flatten, labelled, prose, withoutKey } from "./rule-kit.js";
import { get, pick, pickJs, pickStrings, str } from "../yaml/access.js";

/**
 * The sections a prompt is made of, around the author's scenario. Each is a Prompt IR part with
 * its own role, so that a key, an `--explain` reason ("lighting changed") and the length budget
 * work per section. The order below is the order they are rendered in (README: "Prompt sections").
 */
export type SectionName =
  | "characters"
  | "composition"
  | "lighting"
  | "palette"
  | "mood"
  | "visual-thesis"
  | "essence"
  | "art-direction"
  | "style"
  | "references";

export const SECTION_ORDER: readonly SectionName[] = [
  "characters",
  "composition",
  "lighting",
  "palette",
  "mood",
  "visual-thesis",
  "essence",
  "art-direction",
  "style",
  "references",
];

/**
 * Under a length budget, sections are cut in this order, whole; the scenario ("prompt") never.
 * What frames the picture (who is in it, what the references are) goes last.
 */
export const TRIM_ORDER: readonly SectionName[] = ["essence", "visual-thesis", "mood", "style", "art-direction", "composition", "palette", "lighting", "characters", "references"];

/** `false` leaves a section out; a function re-words it (its default text in, the text to send out; undefined drops it). */
export type SectionWording = false | ((text: string) => string | undefined);
export type SectionOptions = Partial<Record<SectionName, SectionWording>>;

/** The section a part belongs to: one part per depicted character ("character:<slug>") makes up "characters". */
export function sectionOf(role: string): string {
  return role.startsWith("character:") || role === "figures" ? "characters" : role;
}

/** One part of `section`, worded as the rules ask. */
export function sectionPart(options: SectionOptions, section: SectionName, text: string | undefined, role: string = section): PromptPart[] {
  const wording = options[section];
  if (wording === false || text === undefined) return [];
  return part(role, wording ? wording(text) : text);
}

/** Who a depicted character is, from their own files: what keeps them the same person from image to image. */
export interface CharacterIdentity {
  slug: string;
  name: string;
  appearance?: string;
  /** The `visual_consistency` lines of their image-ideas.yaml (else of the elements file). */
  consistency: string[];
  /** What they are doing and how they look in this one image (a chapter's `character_states`). */
  state?: string;
  /** "the subject" of a character scene, "companion", ... */
  part?: string;
  /** The data target that writes their appearance in this build (rules/appearance.ts, or the story elements): a prompt that reads it comes after it. */
  appearanceFrom?: string;
}

/** The `after` of a target whose prompt reads these people's appearances. */
export function appearanceEdges(people: readonly CharacterIdentity[]): { after?: string[] } {
  const after = [...new Set(people.flatMap((p) => (p.appearanceFrom ? [p.appearanceFrom] : [])))];
  return after.length ? { after } : {};
}

/**
 * A character's identity from `characters/<slug>/imagery.yaml` (`appearance`) and
 * `characters/<slug>/image-ideas.yaml` (`character.name`, `visual_consistency`). Both are read
 * through the context: editing a character's appearance re-plans exactly the sources depicting them.
 */
export function characterIdentity(ctx: RuleContext, slug: string, name?: string, ideasRoot?: unknown): CharacterIdentity {
  const imagery = ctx.readYaml(characterImageryFile(slug))?.doc.contents;
  // A character scene passes its own parsed file.
  const ideas = ideasRoot ?? ctx.readYaml(`characters/${slug}/image-ideas.yaml`)?.doc.contents;
  const character = get(ideas, "character");
  const appearance = prose(str(imagery, "appearance"));
  const consistency = pickStrings([ideas, character], "visual_consistency");
  // A character with no files of their own (a book's): the elements file the story reading wrote.
  const element = appearance || consistency.length ? undefined : elementCharacter(ctx, slug);
  if (element) {
    return {
      slug,
      name: name ?? element.name ?? titleCase(slug),
      ...(element.appearance ? { appearance: prose(element.appearance)! } : {}),
      ...(element.from ? { appearanceFrom: element.from } : {}),
      consistency: element.consistency,
    };
  }
  const from = appearanceFrom(ctx, slug);
  return {
    slug,
    name: name ?? str(character, "name") ?? titleCase(slug),
    ...(appearance ? { appearance } : {}),
    ...(from ? { appearanceFrom: from } : {}),
    consistency,
  };
}

/** "Character Nell Farrow (the subject). Appearance: ... Always: ...; .... In this image: ..." */
export function characterParts(options: SectionOptions, people: CharacterIdentity[]): PromptPart[] {
  return people.flatMap((c) => {
    const lines = [
      `Character ${c.name}${c.part ? ` (${c.part})` : ""}.`,
      c.appearance ? `Appearance: ${sentence(c.appearance)}` : "",
      c.consistency.length ? `Always: ${c.consistency.map((l) => l.replace(/[.;]$/, "")).join("; ")}.` : "",
      c.state ? `In this image: ${sentence(c.state)}` : "",
    ].filter(Boolean);
    return sectionPart(options, "characters", lines.join(" "), `character:${c.slug}`);
  });
}

/**
 * The sections every kind shares, from the entry's structured fields (the entry over a nested
 * spec): composition and focal point, lighting, palette (its `avoid` goes to the negative), and the
 * mood with its rationale. `fallbackPalette` is used when the entry has none (a chapter's palette).
 */
export function entrySections(
  options: SectionOptions,
  nodes: readonly (Node | undefined)[],
  mood: { mood?: string | undefined; rationale?: string | undefined },
  fallbackPalette?: string,
): { composition: PromptPart[]; lighting: PromptPart[]; palette: PromptPart[]; mood: PromptPart[] } {
  // Prose in most files, a map (framing, angle, ...) in some.
  const framing = prose(pick(nodes, "composition_notes", "composition")) ?? flatten(pickJs(nodes, "composition"));
  const hook = pick(nodes, "visual_hook");
  const composition = [framing ? `Composition: ${sentence(framing)}` : "", hook ? `Focal point: ${sentence(hook)}` : ""].filter(Boolean).join("\n");
  const palette = labelled("Palette", withoutKey(pickJs(nodes, "palette"), "avoid")) ?? fallbackPalette;
  const moodText = [mood.mood ? `Mood: ${sentence(mood.mood)}` : "", mood.rationale ? prose(mood.rationale)! : ""].filter(Boolean).join(" ");
  return {
    composition: sectionPart(options, "composition", composition || undefined),
    lighting: sectionPart(options, "lighting", labelled("Lighting", pickJs(nodes, "lighting"))),
    palette: sectionPart(options, "palette", palette),
    mood: sectionPart(options, "mood", moodText || undefined),
  };
}

/** A chapter's `metadata.color_palette` ("primary: ['#FFBF00' # lantern gold]"), comments as colour names. */
export function chapterPalette(meta: Node | undefined): string | undefined {
  const palette = get(meta, "color_palette");
  if (!isMap(palette)) return undefined;
  const groups = palette.items.flatMap((p) => {
    const colours = isSeq(p.value)
      ? p.value.items.flatMap((c) => (isScalar(c) && c.value !== null ? [c.comment ? `${c.value} (${c.comment.trim()})` : String(c.value)] : []))
      : [];
    return colours.length && isScalar(p.key) ? [`${String(p.key.value).replace(/_/g, " ")}: ${colours.join(", ")}`] : [];
  });
  return groups.length ? `Chapter palette: ${groups.join("; ")}.` : undefined;
}

/** How references are used, one mode per kind. */
export type ReferenceMode = NonNullable<PromptPart["referenceMode"]>;

/** What one reference is, in words, for the prompt and for a provider's label before the image (when its rule gave none). */
export function referenceLabel(ref: ReferenceInput, names: ReadonlyMap<string, string>): string {
  const [kind, slug = ""] = ref.role.split(":");
  if (kind === "character") return `${names.get(slug) ?? titleCase(slug)}: identity portrait`;
  if (kind === "location") return `${slug ? titleCase(slug) : "this place"}: overview of this same place`;
  if (kind === "style") return "style reference (rendering only)";
  return ref.role;
}

const HOW: Record<ReferenceMode, string> = {
  character:
    "The first portrait is who this picture is of: keep the same face, eyes, hair, skin, age, build and marks, and change only what the text above changes (pose, clothes' wear, light, place). Any further portrait is a companion: draw each person from their own portrait and keep them clearly different people. Where the text and a portrait disagree about how someone looks, follow the portrait.",
  scene:
    "Each portrait fixes one named character: draw every named person so that they are recognisable from their own portrait, and keep them distinct from one another, never blending two faces into one. A place reference fixes architecture and materials; a style reference fixes only the rendering. Poses, actions, costume state, light and framing come from the text above.",
  location:
    "These show this same place: keep its architecture, materials, signature elements and way of being lit continuous, and take the viewpoint, time, weather and mood from the text above. People who are not named are generic and varied.",
};

/** Said whenever a style reference is attached: it shows a look, not the content of this picture. */
const STYLE_ONLY =
  "Style references show only the look to match: palette, light, brushwork and finish. Take no people, place, objects or composition from them.";

/**
 * The references section: what each attached image is, in the order they are sent (OpenAI edits
 * take them as numbered images; Google also gets each label just before its image), and how to
 * use them: the kind's mode for identity and continuity references, and a word on style
 * references when there are any. Empty when nothing is attached. Labels are returned with the references.
 */
export function referenceSection(
  options: SectionOptions,
  mode: ReferenceMode,
  references: ReferenceInput[],
  names: ReadonlyMap<string, string>,
): { references: ReferenceInput[]; parts: PromptPart[] } {
  if (!references.length) return { references, parts: [] };
  const labelled = references.map((r) => ({ ...r, label: r.label ?? referenceLabel(r, names) }));
  const parts = sectionPart(options, "references", referenceText(mode, labelled));
  // Worded as chargen words it, the section can be made again for fewer references (withoutReferences).
  return { references: labelled, parts: options.references ? parts : parts.map((p) => ({ ...p, referenceMode: mode })) };
}

/** The references section's text: each image by its number, as sent, then how to use them. */
function referenceText(mode: ReferenceMode, references: readonly ReferenceInput[]): string {
  const how = [
    references.some((r) => r.role !== "style") ? HOW[mode] : "",
    references.some((r) => r.role === "style") ? STYLE_ONLY : "",
  ].filter(Boolean);
  return [`Reference images attached, in order: ${references.map((r, i) => `image ${i + 1}, ${r.label}`).join("; ")}.`, ...how].join("\n");
}

/**
 * The references to leave out so that at most `limit` are sent (their positions, in order), lowest
 * priority first: who is depicted (each character's first image) is kept longest, then their
 * further images (continuity), then the place, then style and theme references; later before earlier.
 */
export function referencesOverLimit(references: readonly ReferenceInput[], limit: number): number[] {
  if (references.length <= limit) return [];
  const seen = new Set<string>();
  const rank = (r: ReferenceInput) => {
    if (r.role.startsWith("character:")) return seen.has(r.role) ? 1 : (seen.add(r.role), 0);
    return r.role.startsWith("location:") ? 2 : 3;
  };
  const byPriority = references.map((r, i) => ({ r, i, rank: rank(r) })).sort((a, b) => a.rank - b.rank || a.i - b.i);
  return byPriority
    .slice(limit)
    .map((x) => x.i)
    .sort((a, b) => a - b);
}

/**
 * `spec` without the references at the positions `dropped`: the others keep their order, and the
 * references section is made again for them (numbered as they are now sent, the word on style
 * references only if one is). A section the rules worded themselves cannot be: it goes, rather
 * than name images that are not sent.
 */
export function withoutReferences(spec: TargetSpec, dropped: readonly number[]): TargetSpec {
  if (!dropped.length) return spec;
  const kept = spec.references.filter((_, i) => !dropped.includes(i));
  const parts = spec.prompt.parts.flatMap((p) => {
    if (sectionOf(p.role) !== "references") return [p];
    const mode = p.referenceMode;
    return mode && kept.length ? part(p.role, referenceText(mode, kept)).map((made) => ({ ...made, referenceMode: mode })) : [];
  });
  return { ...spec, prompt: { ...spec.prompt, parts }, references: kept };
}

function sentence(text: string): string {
  const t = flatten(text);
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

export function titleCase(slug: string): string {
  return slug
    .split("-")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(" ");
}
