import { posix } from "node:path";
import { isMap, type Node } from "yaml";
import type { RequestedSettings } from "../graph/target.js";
import type { ImageFormat } from "../providers/types.js";
import type { YamlEditor, YamlPath } from "../workspace/yaml-edit.js";
import type { BuildOutcome, RuleContext, RuleSet, SourceFile } from "./api.js";
import { normaliseText, part, type PromptPart } from "./prompt-ir.js";
import { get, items, listAt, pick, pickJs, pickStrings, shapeOf, str } from "./yaml-access.js";

/** Pieces the built-in rules share: settings from YAML, structured prompts, the standard write-backs. */

const FORMATS: ImageFormat[] = ["png", "jpeg", "webp"];

type Nodes = Node | undefined | readonly (Node | undefined)[];
const list = (n: Nodes): readonly (Node | undefined)[] => (Array.isArray(n) ? n : [n as Node | undefined]);

/** The entries of a file's list at `key`; anything else there is an error naming it, not an empty list. */
export function entriesAt(file: SourceFile, ctx: RuleContext, root: unknown, key: string, what: string): Node[] {
  const { items: found, wrong } = listAt(root, key);
  if (wrong) ctx.report({ severity: "error", ...file.position(wrong), message: `${key} is ${shapeOf(wrong)}, not a list of ${what}` });
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
  if (format && (FORMATS as string[]).includes(format)) r.format = format as ImageFormat;
  return r;
}

/** The output file extension for requested settings: the format asked for, else the rules' default. */
export function imageExtension(requested: RequestedSettings, rules: RuleSet): string {
  const f = requested.format ?? rules.defaults?.format ?? "png";
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

/** The output fields of a chapter image entry, as the MemoryQuill files name them; paths relative to the YAML's folder. */
export function applyGenerationFields(editor: YamlEditor, entryPath: YamlPath, outcome: BuildOutcome, sourceFile: string): void {
  editor.setAll(entryPath, {
    generated_at: outcome.generatedAt,
    file_name: posix.basename(outcome.output),
    file_path: relativeTo(sourceFile, outcome.output),
    provider: outcome.settings.provider,
    model: outcome.settings.model,
    provider_metadata: providerMetadata(outcome),
  });
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

/** Whether a YAML entry records this target and key, at `path` inside it (e.g. ["provenance"]). */
export function records(entry: Node, targetId: string, key: string, path: string[] = []): boolean {
  const at = path.reduce<unknown>((n, k) => get(n, k), entry);
  return str(at, "target_id") === targetId && str(at, "key") === key;
}
