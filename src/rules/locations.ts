import { isMap, isSeq, type Node } from "yaml";
import type { Rule } from "./api.js";
import { locationEntries, type LocationEntry } from "./location-shapes.js";
import { part, type PromptPart } from "./prompt-ir.js";
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
import { gluePrompt, styleGlue, type StyleGlue, type StyleKind } from "./style.js";
import { get, pick, pickJs, pickNode, pickStrings, str, strings } from "./yaml-access.js";

export interface LocationImageOptions {
  /** The style glue shared by all rules (see `styleGlue`). Default: `styleGlue()`. */
  style?: StyleGlue;
  /** Reference images per character an entry `depicts_characters`. Default 1. */
  maxReferencesPerCharacter?: number;
  /** Add the file's `location_visual_anchor` to compiled prompts. Default true. */
  visualAnchor?: boolean;
  /** `status` of the `image_inventory` record a generated image gets. Default "approved": the publishing step uploads only those. */
  inventoryStatus?: "approved" | "draft" | "archived" | "rejected";
}

/** Bump when the location prompt rendering changes. */
const COMPILER = "location-image/1";
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

      for (const e of entries) {
        const id = `locations/${slug}/${e.id}`;
        const at = file.position(e.entry);
        const context = e.zone ? [...e.fields, e.zone] : e.fields;
        if (mistyped(file, ctx, [...e.fields.map((n): [Node, string] => [n, e.label]), [defaults, "generation_defaults"]], id)) continue;
        const template = fillTemplate(pick(e.fields, "prompt_template"), [...context, meta]);
        if (template?.unfilled.length) {
          ctx.report({ severity: "warning", ...at, targetId: id, message: `${e.label}: prompt_template leaves ${template.unfilled.map((u) => `{{${u}}}`).join(", ")} unfilled; compiling the prompt from the structured fields instead` });
        }
        const prompt = gluePrompt(ctx, style, {
          compiler: COMPILER,
          kind: styleKind(context),
          mood: style.moodKey(ctx, [pick(context, "scene_mood", "mood")]),
          given: pick(e.fields, "prompt_used", "prompt") ?? (template?.unfilled.length ? undefined : template?.text),
          negative: pick(e.fields, "negative_prompt"),
          compile: () => compileEntry(e, { locationName, anchorNode: anchor, meta, defaults }),
        });
        if (!prompt) {
          ctx.report({
            severity: "error",
            ...at,
            targetId: id,
            message: `${e.label}: no prompt_used, prompt_template or structured fields (visual_description, description, composition, key_elements, ...) to make a prompt from`,
          });
          continue;
        }
        const refs = depictedReferences(ctx, { file, imageId: id, targetId: id }, pickNode(e.fields, "depicts_characters"), maxRefs);
        const requested = requestedFrom(defaults, context, context);
        ctx.emit({
          id,
          rule: RULE,
          source: { file: file.path, ...at },
          prompt,
          references: refs.references,
          ...(refs.unresolved.length ? { unresolved: refs.unresolved } : {}),
          requested,
          output: `locations/${slug}/images/${e.id}.${imageExtension(requested, ctx.rules)}`,
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

/** Interior or exterior, from the entry's `category` (a string or a list, e.g. ["Interior Architectural"]). */
function styleKind(fields: Node[]): StyleKind {
  const category = pickStrings(fields, "category").join(" ").toLowerCase();
  return /\bexterior\b/.test(category) ? "exterior" : "location";
}

interface LocationContext {
  locationName: string;
  anchorNode: Node | undefined;
  meta: Node | undefined;
  defaults: Node | undefined;
}

function compileEntry(e: LocationEntry, { locationName, anchorNode, meta, defaults }: LocationContext): { parts: PromptPart[]; negative: string[] } {
  const anchor = visualAnchor(anchorNode);
  // An overview with no fields of its own is the location as its anchor describes it (as the
  // earlier MemoryQuill tool compiled it), with the location's essence to say what the place is.
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
      ...(body.length ? body : essence(meta)),
      ...part("characters", figures(pickNode(e.fields, "depicts_characters"))),
      ...part("conditions", conditions.length ? `${capitalise(conditions.join("; "))}.` : undefined),
      ...part("zone-anchor", labelled("Zone", e.zone ? pickJs([e.zone], "zone_visual_anchor") : undefined)),
      ...part("zone-elements", labelled("Throughout the zone", withoutKey(common, "must_avoid"))),
      ...anchor.parts,
    ],
    negative: [
      ...avoided(e.fields),
      ...anchor.negative,
      ...stringsIn(common, "must_avoid"),
      ...strings(defaults, "negative_prompts"),
    ],
  };
}

/** "Location essence: ... Thematic hook: ..." from the metadata (the soul cut to 200 characters, as the earlier tool did). */
function essence(meta: Node | undefined): PromptPart[] {
  const soul = prose(str(meta, "narrative_soul"));
  const hook = str(meta, "one_line_essence");
  const lines = [
    soul ? `Location essence: ${soul.length > 200 ? `${soul.slice(0, 197).trimEnd()}...` : soul}` : undefined,
    hook ? `Thematic hook: ${hook.replace(/[.!?]+$/, "")}.` : undefined,
  ].filter(Boolean);
  return part("essence", lines.join("\n"));
}

/** "The Breakthrough — Blackvein Lode"; a nested image also names its zone. */
function subject(e: LocationEntry, locationName: string): string {
  const title = pick(e.fields, "title", "name", "zone_name", "beat_title", "beat_name");
  const where = [e.zone ? pick([e.zone], "title", "name", "zone_name") : undefined, locationName].filter(Boolean).join(", ");
  if (!title) return where;
  return title.toLowerCase().includes(locationName.toLowerCase()) ? title : `${title} — ${where}`;
}

/** "Figures: Veyra Thornwake (directing operations); 8 unnamed figures." from `depicts_characters` ({slug, role} or {generic_count}). */
function figures(depicts: Node | undefined): string | undefined {
  if (!isSeq(depicts)) return undefined;
  const out = depicts.items.flatMap((item) => {
    const slug = depictedSlug(item as Node);
    const count = isMap(item) ? str(item, "generic_count") : undefined;
    if (slug === null) return count ? [`${count} unnamed figures`] : [];
    if (!slug) return [];
    const role = isMap(item) ? str(item, "role") : undefined;
    return [`${titleCase(slug)}${role ? ` (${role})` : ""}`];
  });
  return out.length ? `Figures: ${out.join("; ")}.` : undefined;
}

function titleCase(slug: string): string {
  return slug.split("-").map(capitalise).join(" ");
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
