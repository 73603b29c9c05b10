import { posix } from "node:path";
import type { Node } from "yaml";
import type { RequestedSettings } from "../graph/target.js";
import type { ImageFormat } from "../providers/types.js";
import type { YamlEditor, YamlPath } from "../workspace/yaml-edit.js";
import type { BuildOutcome, RuleSet } from "./api.js";
import { normaliseText, part, type PromptPart } from "./prompt-ir.js";
import { get, js, str } from "./yaml-access.js";

/** Pieces the built-in rules share: settings from YAML, structured prompts, the standard write-back. */

const FORMATS: ImageFormat[] = ["png", "jpeg", "webp"];

/**
 * Provider, model and quality come from the entry's generation settings, else the file's
 * `generation_defaults`; size and aspect from the entry. (A chapter entry's own `provider` and
 * `model` are output fields, filled after generation, and are not read.)
 */
export function requestedFrom(defaults: Node | undefined, entry: Node, settings?: Node): RequestedSettings {
  const pick = (k: string) => str(settings, k) ?? str(defaults, k);
  const format = pick("output_format") ?? pick("format");
  const r: RequestedSettings = {};
  const provider = pick("provider");
  const model = pick("model");
  const quality = str(entry, "quality") ?? pick("quality");
  const size = str(entry, "size");
  const aspect = str(entry, "aspect_ratio");
  if (provider) r.provider = provider;
  if (model) r.model = model;
  if (quality) r.quality = quality;
  if (size) r.size = size;
  if (aspect) r.aspectRatio = aspect;
  if (format && (FORMATS as string[]).includes(format)) r.format = format as ImageFormat;
  return r;
}

export function imageFormat(entry: Node, defaults: Node | undefined, rules: RuleSet): string {
  const f = requestedFrom(defaults, entry).format ?? rules.defaults?.format ?? "png";
  return f === "jpeg" ? "jpg" : f;
}

/** A prompt compiled from an entry's structured fields, for entries with no `prompt_used`. */
export function describeStructure(entry: Node): PromptPart[] {
  return [
    ...part("prompt", str(entry, "visual_description") ?? str(entry, "description")),
    ...part("composition", str(entry, "composition_notes") ?? str(entry, "composition")),
    ...part("lighting", labelled("Lighting", js(entry, "lighting"))),
    ...part("palette", labelled("Palette", js(entry, "palette"))),
    ...part("characters", labelled("Characters", js(entry, "character_states"))),
  ];
}

/** `{primary_source: "dusk", quality: "soft"}` -> "Lighting: primary source dusk; quality soft." */
function labelled(label: string, value: unknown): string | undefined {
  const text = flatten(value);
  return text ? `${label}: ${text}.` : undefined;
}

function flatten(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(flatten).filter(Boolean).join(", ");
  if (typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => {
        const t = flatten(v);
        return t ? `${k.replace(/_/g, " ")} ${t}` : "";
      })
      .filter(Boolean)
      .join("; ");
  }
  return normaliseText(String(value));
}

/** The output fields of an image entry, as the MemoryQuill files name them; paths relative to the YAML's folder. */
export function applyGenerationFields(editor: YamlEditor, entryPath: YamlPath, outcome: BuildOutcome, sourceFile: string): void {
  const relative = posix.relative(posix.dirname(sourceFile), outcome.output);
  editor.set(entryPath, "generated_at", outcome.generatedAt);
  editor.set(entryPath, "file_name", posix.basename(outcome.output));
  editor.set(entryPath, "file_path", relative);
  editor.set(entryPath, "provider", outcome.settings.provider);
  editor.set(entryPath, "model", outcome.settings.model);
  editor.set(entryPath, "provider_metadata", providerMetadata(outcome));
}

export function providerMetadata(outcome: BuildOutcome): Record<string, unknown> {
  return {
    ...outcome.metadata,
    ...(outcome.costUsd === undefined ? {} : { cost_usd: outcome.costUsd }),
    chargen_target: outcome.target.id,
    chargen_key: outcome.key,
  };
}
