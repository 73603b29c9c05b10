import { isMap, isSeq, type Node } from "yaml";
import type { ReferenceInput } from "../model/target.js";
import { unsafeName } from "../core/boundary.js";
import type { Rule, RuleContext } from "./api.js";
import { locationEntries, type LocationEntry } from "./location-shapes.js";
import { part, type PromptPart } from "../model/prompt-ir.js";
import { depictedReferences, depictedSlug } from "./references.js";
import { keepingContract } from "./memoryquill-contract.js";
import {
  appendRecord,
  avoided,
  describeStructure,
  flatten,
  generationDefaults,
  imageExtension,
  inventoryRecord,
  labelled,
  mistyped,
  prose,
  requestedFrom,
  type RecordContent,
  stringsIn,
  withoutKey,
} from "./rule-kit.js";
import { logRun } from "./runs-log.js";
import { appearanceEdges, characterIdentity, type CharacterIdentity } from "./sections.js";
import { gluePrompt, styleGlue, withReferences, type StyleGlue, type StyleKind } from "./style.js";
import { get, pick, pickJs, pickNode, pickStrings, str, strings } from "../yaml/access.js";

export interface LocationImageOptions {
  /** The style glue shared by all rules (see `styleGlue`). Default: `styleGlue()`. */
  style?: StyleGlue;
  /** Reference images per character an entry `depicts_characters`. Default 1. */
  maxReferencesPerCharacter?: number;
  /** Add the file's `location_visual_anchor` to compiled prompts. Default true. */
  visualAnchor?: boolean;
  /** `status` of the `image_inventory` record a generated image gets. Default "approved": the publishing step uploads only those. */
  inventoryStatus?: "approved" | "draft" | "archived" | "rejected";
  /**
   * Give every zone, zone image and beat the location's overview image as a continuity reference
   * (a graph edge: the overview is built first, and a regenerated one makes them stale). Default true.
   */
  overviewReference?: boolean;
}

/** Bump when the location prompt rendering changes. */
const COMPILER = "location-image/2";
const RULE = "location-images";

/**
 * Location imagery: `locations/<slug>/imagery.yaml` (overview, zones[] with or without nested
 * images[], beat_images[]) and the older `locations/<slug>/location-imagery.yaml` (overview,
 * parts[]). Ids `locations/<slug>/overview`, `.../zones/<zone>[/<image>]`, `.../beats/<beat>`;
 * outputs mirror them under `locations/<slug>/images/`. Write-back appends a record to the
 * entry's `image_inventory` and a run to `locations/<slug>/imagery.runs.yaml`.
 */
export function locationImages(options: LocationImageOptions = {}): Rule {
  const style = options.style ?? styleGlue();
  const maxRefs = options.maxReferencesPerCharacter ?? 1;
  return {
    name: RULE,
    sources: ["locations/*/imagery.yaml", "locations/*/location-imagery.yaml"],
    plan(file, ctx) {
      const root = file.doc.contents;
      const slug = file.path.split("/")[1]!;
      const meta = get(root, "metadata");
      const locationName = pick([meta], "name", "location_name") ?? slug;
      const defaults = generationDefaults(root);
      const anchor = options.visualAnchor === false ? undefined : get(root, "location_visual_anchor");
      const { entries, problems } = locationEntries(root);
      for (const p of problems) {
        ctx.report({ severity: p.severity, ...file.position(p.node), ...(p.id ? { targetId: `locations/${slug}/${p.id}` } : {}), message: p.message });
      }

      // Every other view of the place is kept continuous with its overview, once that is planned.
      let overview: ReferenceInput | undefined;
      for (const e of entries) {
        const id = `locations/${slug}/${e.id}`;
        const at = file.position(e.entry);
        const context = e.zone ? [...e.fields, e.zone] : e.fields;
        if (mistyped(file, ctx, [...e.fields.map((n): [Node, string] => [n, e.label]), [defaults, "generation_defaults"]], id)) continue;
        const template = fillTemplate(pick(e.fields, "prompt_template"), [...context, meta]);
        if (template?.unfilled.length) {
          ctx.report({ severity: "warning", ...at, targetId: id, message: `${e.label}: prompt_template leaves ${template.unfilled.map((u) => `{{${u}}}`).join(", ")} unfilled; compiling the prompt from the structured fields instead` });
        }
        const cast = figures(ctx, pickNode(e.fields, "depicts_characters"));
        const planned = gluePrompt(ctx, style, {
          compiler: COMPILER,
          kind: styleKind(context),
          mood: style.moodKey(ctx, [pick(context, "scene_mood", "mood")]),
          given: pick(e.fields, "prompt_used", "prompt") ?? (template?.unfilled.length ? undefined : template?.text),
          negative: pick(e.fields, "negative_prompt"),
          compile: () => compileEntry(e, { locationName, anchorNode: anchor, defaults }),
          fields: e.fields,
          moodText: { mood: pick(context, "scene_mood", "mood"), rationale: pick(context, "mood_rationale") },
          characters: cast.people,
          figures: part("figures", cast.unnamed),
          theme: { section: "essence", text: essence(meta, locationName) },
          negatives: avoided(e.fields),
        });
        if (!planned) {
          ctx.report({
            severity: "error",
            ...at,
            targetId: id,
            message: `${e.label}: no prompt_used, prompt_template or structured fields (visual_description, description, composition, key_elements, ...) to make a prompt from`,
          });
          continue;
        }
        const refs = depictedReferences(ctx, { file, imageId: id, targetId: id }, pickNode(e.fields, "depicts_characters"), maxRefs);
        const names = new Map(cast.people.map((c) => [c.slug, c.name]));
        const mode = refs.references.length ? "scene" : "location";
        const requested = requestedFrom(defaults, context, context);
        const output = `locations/${slug}/images/${e.id}.${imageExtension(requested, ctx.rules)}`;
        const place = e.kind !== "overview" && overview && options.overviewReference !== false ? [overview] : [];
        const { prompt, references } = withReferences(ctx, planned, style, mode, [...refs.references, ...place], names);
        if (e.kind === "overview") overview = { path: output, role: `location:${slug}`, assetId: id, label: `${locationName}: overview of this same place` };
        ctx.emit({
          id,
          rule: RULE,
          source: { file: file.path, ...at },
          prompt,
          references,
          ...(refs.unresolved.length ? { unresolved: refs.unresolved } : {}),
          requested,
          output,
          ...appearanceEdges(cast.people),
          writeBack: { entry: e.id, record: recordContent(e, locationName, context) } satisfies LocationWriteBack,
        });
      }
    },
    writeBack({ outcome, edit }) {
      const file = outcome.target.source.file;
      const { entry, record } = outcome.target.writeBack as unknown as LocationWriteBack;
      const editor = edit(file);
      const found = locationEntries(editor.doc.contents).entries.find((e) => e.id === entry);
      // Every kind's record goes to its own entry's image_inventory, where ingestion reads it (a nested
      // zone image's, not its zone's; a beat's, though nothing reads beats yet).
      if (found) {
        keepingContract(editor, () => appendRecord(editor, [...found.path, "image_inventory"], inventoryRecord(outcome, file, record, options.inventoryStatus ?? "approved")));
      }
      const slug = file.split("/")[1]!;
      logRun(edit(`locations/${slug}/imagery.runs.yaml`), { type: "location", slug }, outcome, { rule: RULE, source_file: file, entry });
    },
  };
}

interface LocationWriteBack {
  entry: string;
  record: RecordContent;
}

/** Title, description and alt text of a location image, from its own fields (a nested image's zone, the location). */
function recordContent(e: LocationEntry, locationName: string, context: Node[]): RecordContent {
  const title = pick(e.fields, "title", "name", "zone_name", "beat_title", "beat_name") ?? e.id.split("/").at(-1)!;
  const imageType = pick(e.fields, "image_type");
  const specSlug = pick(e.fields, "image_slug", "slug", "zone_slug", "zone_id", "beat_slug", "beat_id");
  return {
    title,
    description: prose(pick(e.fields, "visual_description", "description", "narrative_context")) ?? title,
    altText: subject(e, locationName) || title,
    tags: pickStrings(context, "tags"),
    ...(imageType ? { imageType } : {}),
    ...(specSlug ? { promptSpecSlug: specSlug } : {}),
  };
}

/**
 * A chapter image's place as a continuity reference: the image of the location's zone (else its
 * overview) that the location rule plans, labelled. Undefined when the rule set has no location
 * rule, the location has no imagery file, or the entry has nothing to make a prompt from (then no
 * target would produce the file).
 */
export function placeReference(ctx: RuleContext, location: string, zone: string | undefined): ReferenceInput | undefined {
  if (!ctx.rules.rules.some((r) => r.name === RULE)) return undefined;
  const path = [`locations/${location}/imagery.yaml`, `locations/${location}/location-imagery.yaml`].find((p) => ctx.exists(p));
  const root = path === undefined ? undefined : ctx.readYaml(path)?.doc.contents;
  if (root === undefined) return undefined;
  const { entries } = locationEntries(root);
  const e = (zone ? entries.find((x) => x.id === `zones/${zone}`) : undefined) ?? entries.find((x) => x.kind === "overview");
  if (!e || !(pick(e.fields, "prompt_used", "prompt", "prompt_template") || describeStructure(e.fields).length)) return undefined;
  const context = e.zone ? [...e.fields, e.zone] : e.fields;
  const requested = requestedFrom(generationDefaults(root), context, context);
  const name = pick([get(root, "metadata")], "name", "location_name") ?? location;
  const view = e.kind === "overview" ? "overview" : (pick(e.fields, "name", "zone_name", "title") ?? zone);
  return {
    path: `locations/${location}/images/${e.id}.${imageExtension(requested, ctx.rules)}`,
    role: `location:${location}`,
    assetId: `locations/${location}/${e.id}`,
    label: `${name}, ${view}: the place of this scene`,
  };
}

/** Interior or exterior, from the entry's `category` (a string or a list, e.g. ["Interior Architectural"]). */
function styleKind(fields: Node[]): StyleKind {
  const category = pickStrings(fields, "category").join(" ").toLowerCase();
  return /\bexterior\b/.test(category) ? "exterior" : "location";
}

interface LocationContext {
  locationName: string;
  anchorNode: Node | undefined;
  defaults: Node | undefined;
}

function compileEntry(e: LocationEntry, { locationName, anchorNode, defaults }: LocationContext): { parts: PromptPart[]; negative: string[] } {
  const anchor = visualAnchor(anchorNode);
  // An overview with no fields of its own is the location as its anchor describes it (as the
  // earlier MemoryQuill tool compiled it); the essence section says what the place is.
  // Anything else with nothing of its own to show is not an image: the anchor alone would make
  // every zone the same picture.
  const body = describeStructure(e.fields);
  if (!body.length && !(e.kind === "overview" && anchor.parts.length)) return { parts: [], negative: [] };
  const conditions = ["time_of_day", "weather", "season"].flatMap((k) => {
    const v = pick(e.fields, k);
    return v ? [`${k.replace(/_/g, " ")}: ${v}`] : [];
  });
  const common = pickJs(e.zone ? [e.zone] : [], "default_prompt_elements");
  return {
    parts: [
      ...part("subject", subject(e, locationName)),
      ...body,
      ...part("conditions", conditions.length ? `${capitalise(conditions.join("; "))}.` : undefined),
      ...part("zone-anchor", labelled("Zone", e.zone ? pickJs([e.zone], "zone_visual_anchor") : undefined)),
      ...part("zone-elements", labelled("Throughout the zone", withoutKey(common, "must_avoid"))),
      ...anchor.parts,
    ],
    negative: [
      ...anchor.negative,
      ...stringsIn(common, "must_avoid"),
      ...strings(defaults, "negative_prompts"),
    ],
  };
}

/** "The Breakthrough — Blackvein Lode"; a nested image also names its zone. */
function subject(e: LocationEntry, locationName: string): string {
  const title = pick(e.fields, "title", "name", "zone_name", "beat_title", "beat_name");
  const where = [e.zone ? pick([e.zone], "title", "name", "zone_name") : undefined, locationName].filter(Boolean).join(", ");
  if (!title) return where;
  return title.toLowerCase().includes(locationName.toLowerCase()) ? title : `${title} — ${where}`;
}

/**
 * The people an entry depicts (`depicts_characters`, {slug, role} or {generic_count}): named
 * characters with their identity text and role here, unnamed ones as "8 unnamed figures".
 */
function figures(ctx: RuleContext, depicts: Node | undefined): { people: CharacterIdentity[]; unnamed: string | undefined } {
  const people: CharacterIdentity[] = [];
  const unnamed: string[] = [];
  for (const item of isSeq(depicts) ? (depicts.items as Node[]) : []) {
    const slug = depictedSlug(item);
    if (slug === null) {
      const count = isMap(item) ? str(item, "generic_count") : undefined;
      if (count) unnamed.push(`${count} unnamed figures`);
      continue;
    }
    // An unsafe slug names no folder to read; its reference reports it.
    if (!slug || unsafeName(slug) !== undefined || people.some((p) => p.slug === slug)) continue;
    const role = isMap(item) ? str(item, "role") : undefined;
    people.push({ ...characterIdentity(ctx, slug), ...(role ? { state: role } : {}) });
  }
  return { people, unnamed: unnamed.length ? `Also in the scene: ${unnamed.join("; ")}.` : undefined };
}

/** "Essence of Blackvein Lode: Where mountains teach through disaster. <narrative soul>" from the file's metadata. */
function essence(meta: Node | undefined, locationName: string): string | undefined {
  const line = str(meta, "one_line_essence");
  const soul = prose(str(meta, "narrative_soul"));
  const text = [line ? `${line.replace(/[.]$/, "")}.` : "", soul ?? ""].filter(Boolean).join(" ");
  return text ? `Essence of ${locationName}: ${text}` : undefined;
}

/** The location's visual anchor: what every compiled view of it shares. Colour anchors are a list in some files, a map in others. */
function visualAnchor(anchor: Node | undefined): { parts: PromptPart[]; negative: string[] } {
  const js = (k: string) => pickJs([anchor], k);
  const colours = js("color_anchors") ?? js("colour_anchors");
  const lines = [
    labelled("Signature elements", joinList(js("signature_elements"))),
    labelled("Materials", js("materials")),
    labelled("Colour anchors", withoutKey(colours, "avoid")),
    labelled("Characteristic light", js("characteristic_light")),
  ].filter(Boolean);
  return { parts: part("anchor", lines.join("\n")), negative: stringsIn(colours, "avoid") };
}

/** `prompt_template` with `{{field}}` filled from the entry, its zone and the metadata; what cannot be filled is listed. */
function fillTemplate(template: string | undefined, sources: (Node | undefined)[]): { text: string; unfilled: string[] } | undefined {
  if (!template) return undefined;
  const unfilled: string[] = [];
  const text = template.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (whole, name: string) => {
    const value = pick(sources, name) ?? flatten(pickJs(sources, name));
    if (value) return value;
    unfilled.push(name);
    return whole;
  });
  return { text, unfilled };
}

function joinList(value: unknown): unknown {
  return Array.isArray(value) ? value.map(flatten).filter(Boolean).join("; ") : value;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
