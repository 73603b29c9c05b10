import { isMap, isSeq, type Node } from "yaml";
import type { ReferenceInput } from "../model/target.js";
import { unsafeName } from "../core/boundary.js";
import type { Rule, RuleContext } from "./api.js";
import { keepingContract } from "./memoryquill-contract.js";
import { part } from "../model/prompt-ir.js";
import { depictedReferences, depictedSlug, madeLast } from "./references.js";
import {
  appendRecord,
  avoided,
  describeStructure,
  entriesAt,
  fillOutputFields,
  flatten,
  generationDefaults,
  imageExtension,
  inventoryRecord,
  mistyped,
  prose,
  refuseUnsafeName,
  requestedFrom,
  type RecordContent,
} from "./rule-kit.js";
import { logRun } from "./runs-log.js";
import { appearanceEdges, chapterPalette, characterIdentity, type CharacterIdentity } from "./sections.js";
import { sceneIds } from "./characters.js";
import { placeReference } from "./locations.js";
import { bookCharacter, specificationAfter } from "./story.js";
import { gluePrompt, styleGlue, withReferences, type StyleGlue } from "./style.js";
import { get, items, js, shapeOf, str, strings } from "../yaml/access.js";

export interface ChapterImageOptions {
  /** Reference images per depicted character (approved first). Default 2. */
  maxReferencesPerCharacter?: number;
  /** The style glue shared by all rules (see `styleGlue`). Default: `styleGlue()`. */
  style?: StyleGlue;
  /** `status` of the `image_inventory` record a generated image gets. Default "approved": the publishing step uploads only those. */
  inventoryStatus?: "approved" | "draft" | "archived" | "rejected";
  /**
   * Reference the image of the place an entry is set in (its `location` and `zone`, else its
   * moment's `location_zone`): the zone's image, else the location's overview, as planned by the
   * location rule (a graph edge: building a chapter image then builds its place first, and a
   * failed place image leaves it unbuilt). Default false.
   */
  placeReference?: boolean;
}

const RULE = "chapter-images";

/** Bump when the chapter prompt rendering changes: every chapter image becomes stale, and says why. */
const COMPILER = "chapter-image/3";

/**
 * Chapter imagery: `chapters/<slug>/imagery.yaml`, one target per `images[]` entry, id
 * `chapters/<slug>/<custom_id>`, output `chapters/<slug>/images/<custom_id>.<format>`.
 */
export function chapterImages(options: ChapterImageOptions = {}): Rule {
  const maxRefs = options.maxReferencesPerCharacter ?? 2;
  const style = options.style ?? styleGlue();
  return {
    name: RULE,
    sources: ["chapters/*/imagery.yaml"],
    plan(file, ctx) {
      const root = file.doc.contents;
      const folder = file.path.split("/")[1]!;
      const meta = get(root, "metadata");
      const slug = str(meta, "slug") ?? folder;
      if (refuseUnsafeName(file, ctx, get(meta, "slug"), "metadata.slug", slug)) return;
      const defaults = generationDefaults(root);
      const characters = new Map(
        items(root, "characters").flatMap((c, i) => {
          const ref = str(c, "ref") ?? "";
          return ref && refuseUnsafeName(file, ctx, get(c, "ref"), `characters[${i}].ref`, ref) ? [] : [[ref, c] as const];
        }),
      );
      const moments = new Map(items(root, "moments").map((m) => [str(m, "id") ?? "", m]));
      const thesis = str(meta, "visual_thesis");
      const palette = chapterPalette(meta);
      entriesAt(file, ctx, root, "images", "image entries").forEach((entry, index) => {
        const at = file.position(entry);
        if (!isMap(entry)) {
          ctx.report({ severity: "error", ...at, message: `images[${index}] is ${shapeOf(entry)}, not an image entry` });
          return;
        }
        if (mistyped(file, ctx, [[entry, `images[${index}]`], [defaults, "generation_defaults"]])) return;
        const customId = str(entry, "custom_id");
        if (!customId) {
          ctx.report({ severity: "error", ...at, message: `images[${index}]: missing required field custom_id` });
          return;
        }
        if (refuseUnsafeName(file, ctx, get(entry, "custom_id"), `images[${index}].custom_id`, customId)) return;
        const id = `chapters/${slug}/${customId}`;
        const cast = depictedCast(ctx, entry, characters);
        const planned = gluePrompt(ctx, style, {
          compiler: COMPILER,
          kind: "scene",
          mood: style.moodKey(ctx, [str(entry, "scene_mood")]),
          given: str(entry, "prompt_used"),
          negative: str(entry, "negative_prompt"),
          compile: () => ({ parts: describeStructure(entry) }),
          fields: [entry],
          moodText: { mood: str(entry, "scene_mood"), rationale: str(entry, "mood_rationale") },
          fallbackPalette: palette,
          characters: cast.people,
          figures: part("figures", cast.others.length ? `Also in the scene: ${cast.others.join("; ")}.` : undefined),
          theme: { section: "visual-thesis", text: thesis && `Chapter thesis: ${thesis}` },
          negatives: [...avoided(entry), ...strings(defaults, "negative_prompts")],
        });
        if (!planned) {
          ctx.report({ severity: "error", ...at, targetId: id, message: `image ${customId}: no prompt_used, and no visual_description to compile one from` });
          return;
        }
        const refs = depictedReferences(ctx, { file, imageId: customId, targetId: id }, get(entry, "depicts_characters"), maxRefs, {
          idsOf: (c) => strings(characters.get(c), "reference_images"),
          noPortrait: (c) => bookCharacter(ctx, c),
        });
        const place = options.placeReference ? placeOf(ctx, entry, moments) : undefined;
        // An unlisted id that names a character scene is that scene's image, sent last (the analyzer
        // resolves it to the scene's output): the reference section names it there already, so the
        // prompt is the same before and after the scene's write-back lists it.
        const made = refs.unlisted.filter((u) => sceneIds(ctx, u.folder.split("/")[1]!).has(u.id));
        const pending = made.map((u): ReferenceInput => ({ path: `${u.folder}/${u.id}`, role: u.role, assetId: u.id }));
        const listed = madeLast(refs, place ? [place] : []);
        const sent = withReferences(ctx, planned, style, "scene", [...listed, ...pending], new Map(cast.people.map((c) => [c.slug, c.name])));
        const prompt = sent.prompt;
        // The pending ones are the analyzer's to add (before the style references, as numbered here).
        const references = sent.references.filter((_, i) => i < listed.length || i >= listed.length + pending.length);
        const unlisted = refs.unlisted.map((u) => {
          const label = made.includes(u) ? sent.references[listed.length + made.indexOf(u)]!.label : undefined;
          return label ? { ...u, label } : u;
        });
        const requested = requestedFrom(defaults, entry);
        ctx.emit({
          id,
          rule: RULE,
          source: { file: file.path, ...at },
          prompt,
          references,
          ...(refs.unresolved.length ? { unresolved: refs.unresolved } : {}),
          ...(unlisted.length ? { unlisted } : {}),
          requested,
          output: `chapters/${folder}/images/${customId}.${imageExtension(requested, ctx.rules)}`,
          ...withAfter(appearanceEdges(cast.people).after, specificationAfter(ctx, root, folder, customId)),
          writeBack: { customId, record: recordContent(entry, customId, moments) } satisfies ChapterWriteBack,
        });
      });
    },
    writeBack({ outcome, edit }) {
      const file = outcome.target.source.file;
      const { customId, record } = outcome.target.writeBack as unknown as ChapterWriteBack;
      const editor = edit(file);
      const index = items(editor.doc.contents, "images").findIndex((n) => str(n, "custom_id") === customId);
      // Ingestion reads only the entry's image_inventory; the entry-level fields are for the author.
      if (index >= 0) {
        keepingContract(editor, () => {
          fillOutputFields(editor, ["images", index], outcome, file);
          appendRecord(editor, ["images", index, "image_inventory"], inventoryRecord(outcome, file, record, options.inventoryStatus ?? "approved"));
        });
      }
      const folder = file.split("/")[1]!;
      logRun(edit(`chapters/${folder}/imagery.runs.yaml`), { type: "chapter", slug: folder }, outcome, { rule: RULE, source_file: file, custom_id: customId });
    },
  };
}

interface ChapterWriteBack {
  customId: string;
  record: RecordContent;
}

/** Title, description and alt text of a chapter image, from its moment and its own fields. */
function recordContent(entry: Node, customId: string, moments: Map<string, Node>): RecordContent {
  // A book's entries (the story reading's) name their moment in the entry itself.
  const title = str(moments.get(str(entry, "source_moment") ?? ""), "title") ?? str(entry, "moment") ?? customId;
  const description = prose(str(entry, "visual_description")) ?? prose(str(entry, "prompt_used")) ?? title;
  const imageType = str(entry, "image_type");
  return {
    title,
    description,
    altText: prose(str(entry, "visual_hook")) ?? title,
    tags: strings(entry, "tags"),
    ...(imageType ? { imageType } : {}),
    promptSpecSlug: customId,
  };
}

/** The place an entry is set in: its own `location` / `zone`, else its moment's `location_zone` ("location/zone"). */
function placeOf(ctx: RuleContext, entry: Node, moments: Map<string, Node>): ReferenceInput | undefined {
  const [momentLocation, momentZone] = (str(moments.get(str(entry, "source_moment") ?? ""), "location_zone") ?? "").split("/");
  const location = str(entry, "location") ?? momentLocation;
  return location ? placeReference(ctx, location, str(entry, "zone") ?? momentZone) : undefined;
}

/**
 * The characters an image depicts, each with their identity text and the entry's
 * `character_states` line for them (names from the chapter's `characters[]`, else their own
 * files); the states of anyone not depicted by slug ("others", a name) as plain lines.
 */
function depictedCast(ctx: RuleContext, entry: Node, characters: Map<string, Node>): { people: CharacterIdentity[]; others: string[] } {
  const states = js(entry, "character_states");
  const stateMap = isMapLike(states) ? new Map(Object.entries(states as object)) : new Map<string, unknown>();
  const depicts = get(entry, "depicts_characters");
  const slugs = isSeq(depicts) ? [...new Set((depicts.items as Node[]).map(depictedSlug).filter((s): s is string => typeof s === "string" && unsafeName(s) === undefined))] : [];
  const people = slugs.map((slug) => {
    const identity = characterIdentity(ctx, slug, str(characters.get(slug), "name"));
    // Keys are slugs in most files, names ("Tomaq") in a few.
    const key = [...stateMap.keys()].find((k) => k === slug || k.toLowerCase() === identity.name.toLowerCase());
    const state = key === undefined ? "" : flatten(stateMap.get(key));
    if (key !== undefined) stateMap.delete(key);
    return state ? { ...identity, state } : identity;
  });
  const others = [...stateMap].flatMap(([key, value]) => {
    const text = flatten(value);
    return text ? [`${str(characters.get(key), "name") ?? key}: ${text.replace(/[.;,]$/, "")}`] : [];
  });
  // States written as a list or a line rather than a map: kept as written.
  if (!isMapLike(states) && flatten(states)) others.push(flatten(states));
  return { people, others };
}

/** The `after` of a target from two lists of data targets it comes after; none when both are empty. */
function withAfter(...lists: (readonly string[] | undefined)[]): { after?: string[] } {
  const after = [...new Set(lists.flatMap((l) => l ?? []))];
  return after.length ? { after } : {};
}

function isMapLike(value: unknown): boolean {
  return !!value && typeof value === "object" && !Array.isArray(value);
}
