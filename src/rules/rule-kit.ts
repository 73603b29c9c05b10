import { posix } from "node:path";
import { isMap, isScalar, isSeq, type Node } from "yaml";
import { ChargenError } from "../core/errors.js";
import type { GenerationSettings, ModelSettings, RequestedSettings } from "../model/target.js";
import { IMAGE_FORMATS, type ImageFormat } from "../providers/types.js";
import { unsafeName } from "../core/boundary.js";
import type { YamlEditor, YamlPath } from "../yaml/edit.js";
import type { BuildOutcome, RuleContext, RuleSet, SourceFile } from "./api.js";
import { normaliseText, part, type PromptPart } from "../model/prompt-ir.js";
import { get, items, listAt, notText, pick, pickJs, pickStrings, shapeOf, str } from "../yaml/access.js";

/** Pieces the built-in rules share: settings from YAML, structured prompts, the standard write-backs. */

type Nodes = Node | undefined | readonly (Node | undefined)[];
const list = (n: Nodes): readonly (Node | undefined)[] => (Array.isArray(n) ? n : [n as Node | undefined]);

/** The entries of a file's list at `key`; anything else there is an error naming it, not an empty list. */
export function entriesAt(file: SourceFile, ctx: RuleContext, root: unknown, key: string, what: string): Node[] {
  const { items: found, wrong } = listAt(root, key);
  if (wrong) ctx.report({ severity: "error", ...file.position(wrong), message: `${key} is ${shapeOf(wrong)}, not a list of ${what}` });
  return found;
}

/**
 * Whether `name`, read from `node`, cannot become part of a file name or target id (a path
 * separator, `..`, a control character, too long): then it is an error at its line, naming `label`.
 */
export function refuseUnsafeName(file: SourceFile, ctx: RuleContext, node: unknown, label: string, name: string, targetId?: string): boolean {
  const why = unsafeName(name);
  if (why) ctx.report({ severity: "error", ...file.position(node as Node | undefined), ...(targetId ? { targetId } : {}), message: `${label} ${JSON.stringify(name)} is not a safe file name: ${why}` });
  return why !== undefined;
}

/** Fields the rules read as text (ids, prompts, model settings). */
const TEXT_FIELDS = ["custom_id", "title", "prompt_used", "prompt", "prompt_template", "negative_prompt", "size", "aspect_ratio", "quality", "provider", "model", "output_format", "format"];

/**
 * Report every text field of the `[node, label]` pairs that holds a list or a map: read as absent,
 * it would fall back silently (a compiled prompt for `prompt_used: [1, 2]`). True when there is one:
 * the entry is then not built.
 */
export function mistyped(file: SourceFile, ctx: RuleContext, fields: [Node | undefined, string][], targetId?: string): boolean {
  let found = false;
  for (const [node, label] of fields) {
    for (const key of TEXT_FIELDS) {
      const wrong = notText(node, key);
      if (!wrong) continue;
      found = true;
      ctx.report({ severity: "error", ...file.position(wrong), ...(targetId ? { targetId } : {}), message: `${label}.${key} is ${shapeOf(wrong)}, not text` });
    }
  }
  return found;
}

/** A file's `generation_defaults`: at the top level in some generations of the schema, under `metadata` in others. */
export function generationDefaults(root: unknown): Node | undefined {
  const top = get(root, "generation_defaults");
  return isMap(top) ? top : get(get(root, "metadata"), "generation_defaults");
}

/**
 * Provider, model and quality from `settings` (the entry, when its provider and model are inputs),
 * else the file's `generation_defaults`; size and aspect from `entry`. A chapter entry's own
 * `provider` and `model` are output fields, filled after generation: pass no `settings` for it.
 * `entry` and `settings` may be several nodes (an entry over its nested `image_spec`).
 */
export function requestedFrom(defaults: Node | undefined, entry: Nodes, settings?: Nodes): RequestedSettings {
  const own = settings === undefined ? [] : list(settings);
  const pickSetting = (...keys: string[]) => pick(own, ...keys) ?? pick([defaults], ...keys);
  const format = pickSetting("output_format", "format");
  const r: RequestedSettings = {};
  const provider = pickSetting("provider");
  const model = pickSetting("model");
  const quality = pick(list(entry), "quality") ?? pickSetting("quality");
  const size = pick(list(entry), "size");
  const aspect = pick(list(entry), "aspect_ratio");
  if (provider) r.provider = provider;
  if (model) r.model = model;
  if (quality) r.quality = quality;
  if (size) r.size = size;
  if (aspect) r.aspectRatio = aspect;
  // Passed on as written ("jpg" is jpeg): settings resolution reports one that is not a format.
  if (format) r.format = (format.toLowerCase() === "jpg" ? "jpeg" : format.toLowerCase()) as ImageFormat;
  const generation: Record<string, unknown> = {};
  for (const [field, key] of GENERATION_FIELDS) {
    const v = pickJs([...list(entry), ...own, defaults], key);
    if (v !== undefined && v !== null) generation[field] = v;
  }
  // As written: resolveSettings checks each value and reports a bad one with its field.
  if (Object.keys(generation).length) r.generation = generation as GenerationSettings;
  return r;
}

/** Generation settings as the YAML names them: the entry's over the file's `generation_defaults`. */
const GENERATION_FIELDS: [keyof GenerationSettings, string][] = [
  ["temperature", "temperature"],
  ["topP", "top_p"],
  ["topK", "top_k"],
  ["seed", "seed"],
  ["safetySettings", "safety_settings"],
];

/** The output file extension for requested settings: the format asked for (when it is one), else the rules' default. */
export function imageExtension(requested: RequestedSettings, rules: RuleSet): string {
  const asked = requested.format && IMAGE_FORMATS.includes(requested.format) ? requested.format : undefined;
  const f = asked ?? rules.defaults?.format ?? "png";
  return f === "jpeg" ? "jpg" : f;
}

/**
 * The scenario of an image entry with no ready prompt: what it shows and the elements it must
 * hold. Composition, lighting and palette are sections of their own (see sections.ts).
 */
export function describeStructure(entry: Nodes): PromptPart[] {
  const nodes = list(entry);
  const elements = pickStrings(nodes, "required_elements", "key_elements");
  return [
    ...part("prompt", prose(pick(nodes, "visual_description", "description"))),
    ...part("elements", elements.length ? `Key elements: ${elements.join("; ")}.` : undefined),
  ];
}

/**
 * Field text as prose: authors hard-wrap long descriptions in block scalars, and those line
 * breaks mean nothing; blank lines (paragraphs) are kept.
 */
export function prose(text: string | undefined): string | undefined {
  return text === undefined ? undefined : normaliseText(text).replace(/([^\n])\n(?!\n)/g, "$1 ");
}

/** The palette's `avoid` entries, which go to the negative prompt. */
export function avoided(entry: Nodes): string[] {
  return stringsIn(pickJs(list(entry), "palette"), "avoid");
}

/** A plain-JS map without one key (the `avoid` list that is rendered elsewhere). */
export function withoutKey(value: unknown, key: string): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  const { [key]: _dropped, ...rest } = value as Record<string, unknown>;
  return rest;
}

/** The strings (or the one string) under `key` of a plain-JS map. */
export function stringsIn(value: unknown, key: string): string[] {
  const v = value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : typeof v === "string" ? [v] : [];
}

/** `{primary_source: "dusk", quality: "soft"}` -> "Lighting: primary source: dusk; quality: soft." */
export function labelled(label: string, value: unknown): string | undefined {
  const text = flatten(value);
  return text ? `${label}: ${text.replace(/[.;,]$/, "")}.` : undefined;
}

/** Nested YAML data as one line of prose: maps as "key: value; ...", lists as "a, b". */
export function flatten(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(flatten).filter(Boolean).join(", ");
  if (typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => {
        const t = flatten(v);
        return t ? `${k.replace(/_/g, " ")}: ${t}` : "";
      })
      .filter(Boolean)
      .join("; ");
  }
  return normaliseText(String(value)).replace(/\n/g, " ");
}

/**
 * Negative prompts as a list of distinct terms: authors write them as comma lists over several
 * lines, often ending in a full stop, and the art direction's base repeats what entries add.
 */
export function negativeTerms(...texts: (string | undefined)[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const text of texts) {
    for (const raw of (text ?? "").split(/[,\n]/)) {
      const term = raw.replace(/\s+/g, " ").trim().replace(/\.+$/, "").trim();
      const k = term.toLowerCase();
      if (!term || seen.has(k)) continue;
      seen.add(k);
      out.push(term);
    }
  }
  return out;
}

/**
 * The output fields of a chapter image entry, as the MemoryQuill files name them (path relative
 * to the YAML's folder), each set only where empty, and only on an entry that records no image
 * yet: one that already names a file (a hand record of an earlier image) describes that image,
 * and is left byte for byte as it is.
 */
export function fillOutputFields(editor: YamlEditor, entryPath: YamlPath, outcome: BuildOutcome, sourceFile: string): void {
  // A rehearsal card is not the entry's image: only its (draft, placeholder) inventory record says it exists.
  if (outcome.rehearsal) return;
  const entry = editor.doc.getIn(entryPath, true);
  if (["generated_at", "file_name", "file_path"].some((k) => !isEmpty(get(entry, k)))) return;
  const fields: Record<string, unknown> = {
    generated_at: outcome.generatedAt,
    file_name: posix.basename(outcome.output),
    file_path: relativeTo(sourceFile, outcome.output),
    provider: outcome.settings.provider,
    model: outcome.settings.model,
    provider_metadata: providerMetadata(outcome),
  };
  const empty = Object.fromEntries(Object.entries(fields).filter(([k]) => isEmpty(get(entry, k))));
  if (Object.keys(empty).length) editor.setAll(entryPath, empty);
}

/** Absent, null, "" or an empty map or list. */
function isEmpty(node: Node | undefined): boolean {
  if (node === undefined) return true;
  if (isScalar(node)) return node.value === null || node.value === "";
  return (isMap(node) || isSeq(node)) && node.items.length === 0;
}

/** `output` relative to the folder of `file` (both workspace-relative). */
export function relativeTo(file: string, output: string): string {
  return posix.relative(posix.dirname(file), output);
}

export function providerMetadata(outcome: BuildOutcome): Record<string, unknown> {
  return {
    ...outcome.metadata,
    ...(outcome.costUsd === undefined ? {} : { cost_usd: outcome.costUsd }),
    chargen_target: outcome.target.id,
    chargen_key: outcome.key,
  };
}

/** What an image shows, in the words the readers display (`content` of an inventory record). */
export type RecordContent = {
  title: string;
  description: string;
  altText: string;
  tags: string[];
  /** The spec's `image_type`, copied to the record (chapter and location files only: a character file restricts it). */
  imageType?: string;
  /** The spec's own id (a chapter's custom_id, a zone image's image_slug). */
  promptSpecSlug?: string;
};

/**
 * The `image_inventory` record MemoryQuill's readers expect for a generated image (contract
 * §A.2): id = output file name without extension, path relative to the entity folder (the
 * folder of `entityFile`), provenance source `generated` (the strict character reader rejects a
 * provider name there), and the generation block with our target id and key.
 */
export function inventoryRecord(outcome: BuildOutcome, entityFile: string, content: RecordContent, status: string): Record<string, unknown> {
  const fileName = posix.basename(outcome.output);
  const { settings } = outcome;
  const tags = [...new Set([...content.tags, "generated", ...(content.imageType ? [content.imageType] : [])])];
  return {
    id: fileName.replace(/\.[^.]+$/, ""),
    path: relativeTo(entityFile, outcome.output),
    // A rehearsal's card is recorded as one, and never approved: the publishing step skips it.
    ...(outcome.rehearsal ? { type: "placeholder", status: "draft" } : { type: "generated", status }),
    ...(content.promptSpecSlug ? { prompt_spec_slug: content.promptSpecSlug } : {}),
    ...(content.imageType ? { image_type: content.imageType } : {}),
    content: { title: content.title, description: content.description, alt_text: content.altText, tags },
    provenance: { source: "generated", created_at: outcome.generatedAt, original_filename: fileName },
    generation: {
      target_id: outcome.target.id,
      ir_hash: outcome.key,
      prompt_used: outcome.prompt,
      negative_prompt_used: outcome.negativePrompt,
      model: settings.model,
      provider: settings.provider,
      constraints: constraintsOf(settings),
      provider_metadata: providerMetadata(outcome),
    },
  };
}

/**
 * Append an inventory record to the list at `seqPath`, the contract's duplicate guard first: a
 * record with the same path is the same file, already recorded (a regeneration overwrote it, or
 * a write-back runs again after a crash), and stays as it is; the runs log has the new
 * generation. A record with the same id for another file is a collision, refused.
 */
export function appendRecord(editor: YamlEditor, seqPath: YamlPath, record: Record<string, unknown>): void {
  const existing = items(editor.doc.getIn(seqPath.slice(0, -1), true), String(seqPath.at(-1)));
  const normal = (path: string | undefined) => path?.replace(/^\.\//, "");
  const same = existing.findIndex((n) => normal(str(n, "path")) === record.path);
  // The one record a build replaces: its own placeholder card's, once the real image is there.
  const ownCard = same >= 0 && str(existing[same], "type") === "placeholder" && record.type !== "placeholder" && str(get(existing[same], "generation"), "target_id") === (record.generation as { target_id?: string } | undefined)?.target_id;
  if (ownCard) return editor.setAll([...seqPath, same], record);
  if (same >= 0) return;
  if (existing.some((n) => str(n, "id") === record.id)) {
    throw new ChargenError("target", `${editor.file}: ${seqPath.join(".")} already has a record with id "${String(record.id)}" for another file; ${String(record.path)} is not recorded`, {
      file: editor.file,
    });
  }
  editor.append(seqPath, record);
}

/** A request's frame as the MemoryQuill records hold it (`constraints`). */
export function constraintsOf(s: ModelSettings): Record<string, string> {
  const out: Record<string, string> = {};
  if (s.aspectRatio) out.aspect_ratio = s.aspectRatio;
  if (s.size) out.size = s.size;
  const [w, h] = (s.size ?? "").split("x").map(Number);
  if (w && h) out.orientation = w > h ? "landscape" : w < h ? "portrait" : "square";
  if (s.quality) out.quality = s.quality;
  return out;
}

/**
 * Append `item` to the list at `seqPath` unless `recorded` finds it there already: write-backs
 * run again after a crash between writing the YAML and the lock, and must not log a run twice.
 */
export function appendOnce(editor: YamlEditor, seqPath: YamlPath, item: unknown, recorded: (entry: Node) => boolean): boolean {
  const existing = seqPath.length ? items(editor.doc.getIn(seqPath.slice(0, -1), true), String(seqPath.at(-1))) : [];
  if (existing.some(recorded)) return false;
  editor.append(seqPath, item);
  return true;
}
