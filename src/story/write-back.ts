/**
 * Answers of the story readings written into the workspace's YAML, through the ownership rules of
 * ./owned.ts: a scene-specification answer becomes entries of a chapter's `images[]` in the
 * contract's chapter shape; an elements answer becomes the elements file's `characters[]` and
 * `places[]`, in the field names of the contract's character and location shapes.
 */
import { MAX_NAME_BYTES } from "../core/boundary.js";
import { SlugScope, slugify } from "../core/slug.js";
import { isMap, isSeq } from "yaml";
import type { YamlEditor } from "../yaml/edit.js";
import type { CharacterElement, ElementsAnswer, PlaceElement, SceneSpecAnswer, SceneSpecEntry } from "./instructions.js";
import { applyOwned, applyOwnedFields, LEDGER_KEY, type EntryOutcome, type EntryStatus, type OwnedList } from "./owned.js";

/** A chapter entry's output fields and records, which the image write-back fills: never chargen's reading. */
export const IMAGE_OUTPUT_FIELDS = ["generated_at", "file_name", "file_path", "provider", "model", "provider_metadata", "image_inventory"] as const;

const CHAPTER_IMAGES: OwnedList = {
  path: ["images"],
  ledger: "images",
  idKey: "custom_id",
  notContent: IMAGE_OUTPUT_FIELDS,
  recordsImage: (entry) => (Array.isArray(entry.image_inventory) && entry.image_inventory.length > 0) || (typeof entry.file_path === "string" && entry.file_path !== ""),
};

/** A safe id of at most MAX_NAME_BYTES bytes from `prefix` and a title ("ch01-grey-tide" + "Fog at the jetty"). */
function idFrom(scope: SlugScope, prefix: string, title: string, fallback: string): string {
  const room = MAX_NAME_BYTES - Buffer.byteLength(prefix) - 8; // room for the prefix's "-" and a "-NN" of a duplicate
  const slug = (slugify(title) ?? fallback).slice(0, Math.max(room, 8)).replace(/-+$/, "");
  return scope.claim(prefix ? `${prefix}-${slug}` : slug).id;
}

const orientation = (aspect: string) => {
  const [w, h] = aspect.split(":").map(Number);
  return w! > h! ? "landscape" : w! < h! ? "portrait" : "square";
};

/** Drop empty optional values (a null zone, an empty `avoid`): the entry says only what the reading said. */
function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== "" && !(Array.isArray(v) && v.length === 0))) as T;
}

/**
 * One chapter's answer as `images[]` entries of the contract's chapter shape, ids
 * `<chapter folder>-<moment slug>`: stable while the moment keeps its title, whatever the order.
 */
export function sceneEntries(chapterFolder: string, answer: SceneSpecAnswer): Record<string, unknown>[] {
  const scope = new SlugScope();
  return answer.images.map((image: SceneSpecEntry, i) =>
    compact({
      custom_id: idFrom(scope, chapterFolder, image.moment, `image-${i + 1}`),
      moment: image.moment,
      narrative_beat: image.narrative_beat,
      image_type: image.image_type,
      scene_mood: image.scene_mood,
      mood_rationale: image.mood_rationale,
      aspect_ratio: image.aspect_ratio,
      orientation: orientation(image.aspect_ratio),
      visual_description: image.visual_description,
      composition_notes: image.composition_notes,
      visual_hook: image.visual_hook,
      depicts_characters: image.depicts_characters,
      character_states: Object.fromEntries(image.character_states.map((s) => [s.character, s.state])),
      location: image.location,
      zone: image.zone,
      lighting: image.lighting,
      palette: compact(image.palette),
      prompt_used: image.prompt_used,
      negative_prompt: image.negative_prompt,
      tags: image.tags,
    }),
  );
}

/** Write one chapter's scene-specification answer into its imagery YAML's `images[]`. */
export function applySceneSpecs(editor: YamlEditor, chapterFolder: string, answer: SceneSpecAnswer): EntryOutcome[] {
  return applyOwned(editor, CHAPTER_IMAGES, sceneEntries(chapterFolder, answer));
}

/** The elements answer as entries: characters (and creatures) in the character shape's names (`slug`, `appearance`), places in the location shape's (`slug`, `name`, zones with `slug` and `name`). */
export function elementEntries(answer: ElementsAnswer): { characters: Record<string, unknown>[]; places: Record<string, unknown>[] } {
  const characterSlugs = new SlugScope();
  const placeSlugs = new SlugScope();
  return {
    characters: answer.characters.map((c: CharacterElement, i) =>
      compact({
        slug: idFrom(characterSlugs, "", c.name, `character-${i + 1}`),
        name: c.name,
        kind: c.kind,
        aliases: c.aliases,
        appearance: c.appearance,
        visual_consistency: c.visual_consistency,
        chapters: c.chapters,
      }),
    ),
    places: answer.places.map((p: PlaceElement, i) => {
      const zoneSlugs = new SlugScope();
      return compact({
        slug: idFrom(placeSlugs, "", p.name, `place-${i + 1}`),
        name: p.name,
        aliases: p.aliases,
        description: p.description,
        zones: p.zones.map((z, j) => ({ slug: idFrom(zoneSlugs, "", z.name, `zone-${j + 1}`), name: z.name, description: z.description })),
        chapters: p.chapters,
      });
    }),
  };
}

const ELEMENT_LISTS = {
  characters: { path: ["characters"], ledger: "characters", idKey: "slug" },
  places: { path: ["places"], ledger: "places", idKey: "slug" },
} satisfies Record<string, OwnedList>;

/**
 * Merge one chapter's elements answer into the elements file, whose entries the other chapters'
 * readings wrote too: an element's `chapters` gains this chapter when the answer names it and loses
 * it when not (an element no chapter names any more is removed); its description is the one the
 * first of its chapters gave (`chapterOrder` sorts chapter slugs), so a later chapter's reading
 * changes no description an earlier one gave. Ownership as applyOwned: the author's entries are
 * kept as they are, an identical answer changes no byte.
 */
export function applyChapterElements(
  editor: YamlEditor,
  chapter: string,
  answer: ElementsAnswer,
  chapterOrder: (a: string, b: string) => number,
): { characters: EntryOutcome[]; places: EntryOutcome[] } {
  const entries = elementEntries(answer);
  const merge = (list: OwnedList, answered: Record<string, unknown>[]) => {
    const node = editor.doc.getIn(list.path);
    const current = (isSeq(node) ? (node.toJSON() as unknown[]) : []).filter((e): e is Record<string, unknown> => !!e && typeof e === "object" && !Array.isArray(e));
    const byId = new Map(answered.map((entry) => [String(entry[list.idKey]), entry]));
    const proposed: Record<string, unknown>[] = [];
    for (const entry of current) {
      const id = entry[list.idKey];
      if (typeof id !== "string") continue;
      const mine = byId.get(id);
      byId.delete(id);
      const others = (Array.isArray(entry.chapters) ? entry.chapters : []).filter((c): c is string => typeof c === "string" && c !== chapter);
      if (!mine && !others.length) continue;
      const chapters = (mine ? [...others, chapter] : others).sort(chapterOrder);
      // This chapter's description only where it is the element's first chapter.
      proposed.push({ ...(mine && chapters[0] === chapter ? mine : entry), chapters });
    }
    for (const entry of byId.values()) proposed.push({ ...entry, chapters: [chapter] });
    // An entry the author deleted (in the ledger, gone from the file) stays remembered as deleted, whichever chapter proposed it.
    const ledger = editor.doc.getIn([LEDGER_KEY, list.ledger]);
    const present = new Set(current.map((e) => e[list.idKey]));
    for (const id of isMap(ledger) ? Object.keys(ledger.toJSON() as object) : []) if (!present.has(id) && !proposed.some((p) => p[list.idKey] === id)) proposed.push({ [list.idKey]: id });
    return applyOwned(editor, list, proposed);
  };
  return { characters: merge(ELEMENT_LISTS.characters, entries.characters), places: merge(ELEMENT_LISTS.places, entries.places) };
}

/** Which entity folders the workspace has: elements are also written there, in the contract's shapes. */
export interface EntityFolders {
  characters: boolean;
  locations: boolean;
}

/**
 * Each element in the contract's shape, in its entity folder where the workspace has that folder:
 * a character or creature as `characters/<slug>/imagery.yaml` (entity_type, slug, name,
 * appearance, visual_consistency: the fields the prompts' identity sections read), a place as
 * `locations/<slug>/imagery.yaml` (metadata, an overview and its zones, described: the location
 * rule then plans their images). `edit(path)` opens a file (an empty document when absent). A file
 * the author made or edited is left alone (see applyOwnedFields).
 */
export function applyElementFiles(
  answer: ElementsAnswer,
  folders: EntityFolders,
  edit: (path: string) => YamlEditor,
): { path: string; status: Exclude<EntryStatus, "removed" | "dropped" | "deleted"> }[] {
  const entries = elementEntries(answer);
  const out: { path: string; status: Exclude<EntryStatus, "removed" | "dropped" | "deleted"> }[] = [];
  if (folders.characters) {
    answer.characters.forEach((c, i) => {
      const slug = String(entries.characters[i]!.slug);
      const path = `characters/${slug}/imagery.yaml`;
      out.push({ path, status: applyOwnedFields(edit(path), { entity_type: "character", slug, name: c.name, appearance: c.appearance, visual_consistency: c.visual_consistency }) });
    });
  }
  if (folders.locations) {
    answer.places.forEach((p, i) => {
      const entry = entries.places[i]!;
      const slug = String(entry.slug);
      const zones = (entry.zones as { slug: string; name: string; description: string }[] | undefined) ?? [];
      const path = `locations/${slug}/imagery.yaml`;
      out.push({
        path,
        status: applyOwnedFields(edit(path), {
          metadata: { entity_type: "location-imagery", slug, name: p.name },
          overview: { slug: "overview", title: p.name, visual_description: p.description },
          zones: zones.map((z) => ({ slug: z.slug, name: z.name, visual_description: z.description })),
        }),
      });
    });
  }
  return out;
}
