/**
 * The two readings as a provider gets them (everything of a DataRequest but the target's id, key,
 * model and signal), and their answers checked against their schemas. A rule emitting a data
 * target builds its request from these and keys it on `instructions.version`, `instructions.text`,
 * `schema` and the digests of `texts`.
 */
import type { z } from "zod";
import { ChargenError } from "../core/errors.js";
import type { JsonValue } from "../model/target.js";
import type { Book, Chapter } from "./book.js";
import {
  answerSchema,
  elementsAnswerSchema,
  elementsInstructions,
  sceneSpecAnswerSchema,
  sceneSpecInstructions,
  type ElementsAnswer,
  type Instructions,
  type SceneSpecAnswer,
  type SceneSpecOptions,
} from "./instructions.js";

export interface Reading {
  instructions: Instructions;
  /** In order: what each text is, and the text. */
  texts: { label: string; text: string }[];
  schema: { name: string; schema: Record<string, JsonValue> };
}

/** The story-elements reading of a whole book: the element texts the author keeps (canon), then every chapter. */
export function elementsReading(book: Book): Reading {
  return {
    instructions: elementsInstructions(),
    texts: [
      ...book.elements.map((e) => ({ label: `${e.kind === "character" ? "Profile" : "Description"} of ${e.name} (${e.kind}, slug ${e.slug})`, text: e.text })),
      ...book.chapters.map((c) => ({ label: chapterLabel(c), text: c.text })),
    ],
    schema: answerSchema("story_elements", elementsAnswerSchema),
  };
}

/** A story element as the scene reading is told about it (from the elements file's entries). */
export interface KnownElement {
  slug: string;
  name: string;
  kind: string;
  description: string;
  zones?: { slug: string; name: string }[];
  /** Slugs of the chapters it appears in, as the elements file lists them; empty when it lists none. */
  chapters: string[];
}

/** Whether an element belongs to a chapter's reading: it appears in the chapter, or lists no chapters (an author's element for the whole book). */
export const appearsIn = (element: KnownElement, chapterSlug: string): boolean => element.chapters.length === 0 || element.chapters.includes(chapterSlug);

/**
 * The elements an elements file lists (`characters[]` and `places[]` as applyChapterElements writes them,
 * the author's edits included), for the scene readings: characters, then places, each in slug order
 * (the chapters' readings are merged into the file in the order they finish, which must not change
 * what a scene reading is sent). Entries without a slug and a name are left out.
 */
export function knownElements(elementsFile: unknown): KnownElement[] {
  const list = (key: string) => {
    const value = (elementsFile as Record<string, unknown> | null)?.[key];
    return Array.isArray(value) ? value.filter((e): e is Record<string, unknown> => !!e && typeof e === "object") : [];
  };
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  const chapters = (v: unknown) => (Array.isArray(v) ? v.filter((c): c is string => typeof c === "string") : []);
  const characters = list("characters").map((c) => ({ slug: text(c.slug), name: text(c.name), kind: text(c.kind) || "character", description: text(c.appearance), chapters: chapters(c.chapters) }));
  const places = list("places").map((p) => ({
    chapters: chapters(p.chapters),
    slug: text(p.slug),
    name: text(p.name),
    kind: "place",
    description: text(p.description),
    zones: (Array.isArray(p.zones) ? (p.zones as Record<string, unknown>[]) : []).map((z) => ({ slug: text(z?.slug), name: text(z?.name) })).filter((z) => z.slug),
  }));
  const bySlug = (a: { slug: string }, b: { slug: string }) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0);
  return [...characters.sort(bySlug), ...places.sort(bySlug)].filter((e) => e.slug && e.name);
}

/** One chapter's scene-specification reading: the story elements it may refer to by slug, then the chapter. */
export function sceneSpecReading(chapter: Chapter, elements: KnownElement[], options: SceneSpecOptions = {}): Reading {
  const lines = elements.map((e) => {
    const zones = e.zones?.length ? ` Zones: ${e.zones.map((z) => `${z.slug} (${z.name})`).join(", ")}.` : "";
    return `- ${e.slug}: ${e.name}, ${e.kind}. ${e.description.replace(/\s+/g, " ").trim()}${zones}`;
  });
  return {
    instructions: sceneSpecInstructions(options),
    texts: [
      { label: "Story elements (refer to them by slug)", text: lines.length ? lines.join("\n") + "\n" : "(none known)\n" },
      { label: chapterLabel(chapter), text: chapter.text },
    ],
    schema: answerSchema("scene_specs", sceneSpecAnswerSchema(options)),
  };
}

const chapterLabel = (c: Chapter) => `Chapter ${c.number}: ${c.title} (slug ${c.slug})`;

/** A provider's answer to the elements reading, checked; a `target` error naming the first mismatch otherwise. */
export function elementsAnswer(json: unknown, targetId: string): ElementsAnswer {
  return checked(elementsAnswerSchema, json, targetId);
}

/** A provider's answer to a chapter's scene reading, checked against the schema of the same options. */
export function sceneSpecAnswer(json: unknown, targetId: string, options: SceneSpecOptions = {}): SceneSpecAnswer {
  return checked(sceneSpecAnswerSchema(options), json, targetId);
}

function checked<T>(schema: z.ZodType<T>, json: unknown, targetId: string): T {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issue.path.length ? issue.path.join(".") : "the answer";
  throw new ChargenError("target", `${targetId}: the answer does not match its schema (${where}: ${issue.message})`, { code: "ANSWER_SCHEMA" });
}
