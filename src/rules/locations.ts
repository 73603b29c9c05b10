import { posix } from "node:path";
import { isMap, isSeq, type Node } from "yaml";
import type { ReferenceInput } from "../graph/target.js";
import type { BuildOutcome, Rule, RuleContext } from "./api.js";
import { locationEntries, type LocationEntry } from "./location-shapes.js";
import { part, type PromptPart } from "./prompt-ir.js";
import { depictedReferences, depictedSlug } from "./references.js";
import {
  appendOnce,
  avoided,
  describeStructure,
  flatten,
  generationDefaults,
  imageExtension,
  labelled,
  prose,
  records,
  relativeTo,
  requestedFrom,
  stringsIn,
  withoutKey,
} from "./rule-kit.js";
import { characterIdentity, type CharacterIdentity } from "./sections.js";
import { gluePrompt, styleGlue, withReferences, type StyleGlue, type StyleKind } from "./style.js";
import { get, pick, pickJs, pickNode, pickStrings, str, strings } from "./yaml-access.js";

export interface LocationImageOptions {
  /** The style glue shared by all rules (see `styleGlue`). Default: `styleGlue()`. */
  style?: StyleGlue;
  /** Reference images per character an entry `depicts_characters`. Default 1. */
  maxReferencesPerCharacter?: number;
  /** Add the file's `location_visual_anchor` to compiled prompts. Default true. */
  visualAnchor?: boolean;
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
 * outputs mirror them under `locations/<slug>/images/`. Write-back appends to the entry's
 * `generated_images`.
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
          compile: () => compileEntry(e, locationName, anchor, defaults),
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
        const { prompt, references } = withReferences(planned, style, mode, [...refs.references, ...place], names);
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
          writeBack: { entry: e.id },
        });
      }
    },
    writeBack({ outcome, edit }) {
      const file = outcome.target.source.file;
      const editor = edit(file);
      const entryId = (outcome.target.writeBack as { entry: string }).entry;
      const found = locationEntries(editor.doc.contents).entries.find((e) => e.id === entryId);
      if (!found) return; // the entry was removed while it was being generated
      appendOnce(editor, [...found.path, "generated_images"], generatedImage(outcome, file), (n) => records(n, outcome.target.id, outcome.key));
    },
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

function compileEntry(e: LocationEntry, locationName: string, anchorNode: Node | undefined, defaults: Node | undefined): { parts: PromptPart[]; negative: string[] } {
  const body = describeStructure(e.fields);
  // Nothing of its own to show: the location's anchor alone does not make an image.
  if (!body.length && !pickNode(e.fields, "composition_notes", "composition", "lighting", "palette")) return { parts: [], negative: [] };
  const conditions = ["time_of_day", "weather", "season"].flatMap((k) => {
    const v = pick(e.fields, k);
    return v ? [`${k.replace(/_/g, " ")}: ${v}`] : [];
  });
  const common = pickJs(e.zone ? [e.zone] : [], "default_prompt_elements");
  const anchor = visualAnchor(anchorNode);
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
    if (!slug || people.some((p) => p.slug === slug)) continue;
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

/** One `generated_images` item; the path is relative to the location folder, like the file's own. */
function generatedImage(outcome: BuildOutcome, file: string): Record<string, unknown> {
  return {
    target_id: outcome.target.id,
    key: outcome.key,
    generated_at: outcome.generatedAt,
    file_name: posix.basename(outcome.output),
    file_path: relativeTo(file, outcome.output),
    provider: outcome.settings.provider,
    model: outcome.settings.model,
    provider_metadata: { ...outcome.metadata, ...(outcome.costUsd === undefined ? {} : { cost_usd: outcome.costUsd }) },
  };
}

function joinList(value: unknown): unknown {
  return Array.isArray(value) ? value.map(flatten).filter(Boolean).join("; ") : value;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
