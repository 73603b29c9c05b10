/**
 * The story rules: a book's text read into specifications, as data targets of the same build.
 *
 *   story/elements.yaml            -> chapters/<folder>/elements    (one per chapter: its content.md, and
 *                                     the characters' profile.md and locations' description.md as canon)
 *   chapters/<folder>/imagery.yaml -> chapters/<folder>/scene-specs (content.md + the elements file's entries)
 *
 * Each chapter's elements answer is merged into the elements file (story/write-back.ts
 * applyChapterElements), so that an edit to one chapter re-reads that chapter's elements only. A
 * chapter's specification comes after the elements readings of that chapter and the earlier ones
 * (`after` edges: when they are written in a build, it is planned again on what was written; it
 * reads only the elements of its chapter, so it is stale only when one of those changed), and its write-back writes the
 * chapter's `images[]`, each of which is an image target of the chapter rule, after it in turn.
 * Opt-in: a workspace laid out by `chargen init --from-book` lists them in its rules; the built-in
 * rules do not (a curated tree's specifications are the author's, and every new entry is a paid image).
 */
import { numberChapters, frontText, naturalOrder, splitFrontMatter, type Chapter } from "../story/book.js";
import type { SceneSpecOptions } from "../story/instructions.js";
import { LEDGER_KEY } from "../story/owned.js";
import { appearsIn, elementsAnswer, elementsReading, knownElements, sceneSpecAnswer, sceneSpecReading, type Reading } from "../story/readings.js";
import { elementSource, workspaceChapter } from "../story/sources.js";
import { applyChapterElements, applySceneSpecs } from "../story/write-back.js";
import type { ReadPart } from "../model/target.js";
import { get, items, str, strings } from "../yaml/access.js";
import type { Rule, RuleContext } from "./api.js";
import { dataTarget } from "./data-target.js";

export const STORY_ELEMENTS_RULE = "story-elements";
export const SCENE_SPECS_RULE = "scene-specs";
/** The elements file: the book's recurring characters, creatures and places, each with a visual description. */
export const ELEMENTS_FILE = "story/elements.yaml";
/** A chapter's elements reading. */
export const elementsTarget = (folder: string): string => `chapters/${folder}/elements`;
export const sceneSpecTarget = (folder: string): string => `chapters/${folder}/scene-specs`;

const CHAPTERS = "chapters/*/content.md";

export interface StoryElementsOptions {
  mediaResolution?: ReadPart["mediaResolution"];
}

export interface SceneSpecRuleOptions extends SceneSpecOptions {
  /**
   * Which chapters are read: "unspecified" (the default) only those whose `images[]` has no entry
   * the author wrote (empty, or only chargen's): a curated chapter is never re-specified; "all" every chapter.
   */
  chapters?: "unspecified" | "all";
}

const asReadPart = (reading: Reading, mediaResolution?: ReadPart["mediaResolution"]): ReadPart => ({
  instructions: reading.instructions.text,
  version: reading.instructions.version,
  texts: reading.texts,
  schema: reading.schema,
  ...(mediaResolution ? { mediaResolution } : {}),
});

/** The workspace's chapters in natural order of their folders, each numbered by its position. */
function chapters(ctx: RuleContext): Chapter[] {
  const folders = ctx
    .glob(CHAPTERS)
    .map((p) => p.split("/")[1]!)
    .sort(naturalOrder);
  const drafts = folders.flatMap((folder) => {
    const text = ctx.readText(`chapters/${folder}/content.md`);
    return text === undefined ? [] : [workspaceChapter(folder, text)];
  });
  return numberChapters(drafts);
}

/** One chapter, read alone: numbered by its front matter's `chapter_number` (as init writes it), else by its place among the chapters. */
function chapter(ctx: RuleContext, folder: string): Chapter | undefined {
  const text = ctx.readText(`chapters/${folder}/content.md`);
  if (text === undefined) return undefined;
  const number = Number(frontText(splitFrontMatter(text).front, "chapter_number"));
  if (Number.isInteger(number) && number > 0) return { ...numberChapters([workspaceChapter(folder, text)])[0]!, number };
  return chapters(ctx).find((c) => c.slug === folder);
}

/**
 * The story elements of the workspace: a data target per chapter, `chapters/<folder>/elements`,
 * planned from the elements file (which `init --from-book` writes empty), each answer merged into it
 * entry by entry: an entry the author edited or added is theirs and is never overwritten.
 */
export function storyElements(options: StoryElementsOptions = {}): Rule {
  return {
    name: STORY_ELEMENTS_RULE,
    sources: [ELEMENTS_FILE],
    plan(file, ctx) {
      const canon = (["character", "location"] as const).flatMap((kind) =>
        ctx.glob(kind === "character" ? "characters/*/profile.md" : "locations/*/description.md").flatMap((p) => {
          const text = ctx.readText(p);
          return text === undefined ? [] : [elementSource(kind, p.split("/")[1]!, text)];
        }),
      );
      for (const read of chapters(ctx)) {
        ctx.emit(
          dataTarget({
            id: elementsTarget(read.slug),
            rule: STORY_ELEMENTS_RULE,
            source: { file: file.path, line: 1, column: 1 },
            read: asReadPart(elementsReading({ chapters: [read], elements: canon, skipped: [] }), options.mediaResolution),
            images: [],
            writeBack: { folder: read.slug },
          }),
        );
      }
    },
    writeBack({ outcome, edit }) {
      if (outcome.rehearsal || !outcome.answer) return;
      const { folder } = outcome.target.writeBack as { folder: string };
      applyChapterElements(edit(ELEMENTS_FILE), folder, elementsAnswer(outcome.answer, outcome.target.id), naturalOrder);
    },
  };
}

/** Whether the rule set has the story-elements rule: what a reader of the elements file comes after. */
export const elementsRuleOn = (ctx: RuleContext): boolean => ctx.rules.rules.some((r) => r.name === STORY_ELEMENTS_RULE);

/** Whether a chapter file has an entry the author wrote (not in chargen's ledger): then "unspecified" leaves it alone. */
function hasAuthoredEntries(root: unknown): boolean {
  const ledger = get(get(root, LEDGER_KEY), "images");
  return items(root, "images").some((entry) => {
    const id = str(entry, "custom_id");
    return id === undefined || get(ledger, id) === undefined;
  });
}

/**
 * One chapter's scene specification: a data target per chapter imagery file that has a
 * `content.md` beside it, reading the chapter and the elements file's entries; its write-back
 * writes the chapter's `images[]` (see story/write-back.ts applySceneSpecs).
 */
export function sceneSpecs(options: SceneSpecRuleOptions = {}): Rule {
  const { chapters: which = "unspecified", ...reading } = options;
  return {
    name: SCENE_SPECS_RULE,
    sources: ["chapters/*/imagery.yaml"],
    plan(file, ctx) {
      const folder = file.path.split("/")[1]!;
      if (which === "unspecified" && hasAuthoredEntries(file.doc.contents)) return;
      const read = chapter(ctx, folder);
      if (!read) return;
      // Only the elements of this chapter: a re-read of the book that changes another chapter's elements leaves this reading fresh.
      const elements = knownElements(ctx.readYaml(ELEMENTS_FILE)?.doc.toJS()).filter((e) => appearsIn(e, folder));
      const characters = elements.filter((e) => e.kind !== "place").map((e) => ({ slug: e.slug, name: e.name }));
      const places = elements.filter((e) => e.kind === "place").map((e) => ({ slug: e.slug, name: e.name, zones: e.zones ?? [] }));
      ctx.emit({
        ...dataTarget({
          id: sceneSpecTarget(folder),
          rule: SCENE_SPECS_RULE,
          source: { file: file.path, line: 1, column: 1 },
          read: asReadPart(sceneSpecReading(read, elements, reading)),
          images: [],
          writeBack: { folder, characters, places },
        }),
        ...(elementsRuleOn(ctx) ? { after: chapters(ctx).filter((c) => naturalOrder(c.slug, folder) <= 0).map((c) => elementsTarget(c.slug)) } : {}),
      });
    },
    writeBack({ outcome, edit }) {
      if (outcome.rehearsal || !outcome.answer) return;
      const { folder, characters, places } = outcome.target.writeBack as { folder: string; characters: Known[]; places: KnownPlace[] };
      const answer = sceneSpecAnswer(outcome.answer, outcome.target.id, reading);
      applySceneSpecs(edit(outcome.target.source.file), folder, {
        ...answer,
        images: answer.images.map((image) => ({ ...image, depicts_characters: depicted(image.depicts_characters, characters), ...setting(image.location, image.zone, places) })),
      });
    },
  };
}

type Known = { slug: string; name: string };
type KnownPlace = Known & { zones: Known[] };

const known = <K extends Known>(given: string, list: readonly K[]): K | undefined => list.find((k) => k.slug === given || k.name.toLowerCase() === given.trim().toLowerCase());

/**
 * An entry's location and zone as slugs of the elements file (a name given instead is mapped to its
 * slug), or none: a place the elements do not know has no location files to look up.
 */
function setting(location: string | null, zone: string | null, places: readonly KnownPlace[]): { location: string | null; zone: string | null } {
  const place = location === null ? undefined : known(location, places);
  return { location: place?.slug ?? null, zone: (place && zone !== null && known(zone, place.zones)?.slug) || null };
}

/**
 * The characters an entry depicts, as slugs of the elements file: a name the reading gave instead
 * of a slug is mapped to it; anyone the elements do not know is left out (there is no one to draw
 * them from), so that every depicted slug has an identity for the prompt.
 */
function depicted(given: readonly string[], characters: readonly Known[]): string[] {
  return [...new Set(given.flatMap((g) => known(g, characters)?.slug ?? []))];
}

/**
 * A character the elements file knows and the workspace has no files of (a book's): there is no
 * portrait to reference; the prompt's identity section describes them.
 */
export function bookCharacter(ctx: RuleContext, slug: string): boolean {
  return !ctx.exists(`characters/${slug}/imagery.yaml`) && !ctx.exists(`characters/${slug}/images/portrait.png`) && elementCharacter(ctx, slug) !== undefined;
}

/**
 * The `after` of a chapter image whose entry chargen's reading wrote (its id is in the file's
 * ledger): the chapter's specification, which may rewrite it in this build. The author's entries
 * wait for nothing.
 */
export function specificationAfter(ctx: RuleContext, root: unknown, folder: string, customId: string): string[] {
  if (!ctx.rules.rules.some((r) => r.name === SCENE_SPECS_RULE)) return [];
  return get(get(get(root, LEDGER_KEY), "images"), customId) === undefined ? [] : [sceneSpecTarget(folder)];
}

/** A character of the elements file (`characters[]`, by slug): its appearance and visual consistency lines. */
export function elementCharacter(ctx: RuleContext, slug: string): { name?: string; appearance?: string; consistency: string[]; from?: string } | undefined {
  const entry = items(ctx.readYaml(ELEMENTS_FILE)?.doc.contents, "characters").find((c) => str(c, "slug") === slug);
  if (!entry) return undefined;
  const name = str(entry, "name");
  const appearance = str(entry, "appearance");
  // Its description is the one its first chapter's reading gave.
  const first = strings(entry, "chapters").sort(naturalOrder)[0];
  return {
    ...(name ? { name } : {}),
    ...(appearance ? { appearance } : {}),
    consistency: strings(entry, "visual_consistency"),
    ...(first && elementsRuleOn(ctx) ? { from: elementsTarget(first) } : {}),
  };
}
