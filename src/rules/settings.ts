import { ChargenError } from "../core/errors.js";
import type { GenerationSettings, ModelSettings, RequestedSettings } from "../model/target.js";
import { MAX_IMAGE_SIDE, parseRatio, parseSize } from "../providers/aspect.js";
import { PROVIDERS, providerInfo, type ProviderInfo } from "../providers/catalog.js";
import { IMAGE_FORMATS } from "../providers/types.js";
import type { RuleSet } from "./api.js";

export interface Resolved {
  settings: ModelSettings;
  /** What normalisation changed ("size 1792x768 -> 1536x1024"), reported once per build. */
  adjustments: string[];
  /** Why the target goes where it goes, in words: what `chargen why` and `--explain` print. */
  route: string;
}

/** The command line's choices, over everything else. */
export interface SettingsOverrides {
  provider?: string | undefined;
  model?: string | undefined;
}

/**
 * Requested settings -> the settings the key hashes. Provider and model: `--provider` / `--model`,
 * then (with `routing: "files"`) the entry over the file's defaults, then the rules' defaults;
 * then the rules' model mapping; then the provider's own normalisation. No provider from any of
 * them, or a model the provider cannot serve with no mapping, is a user error that names the fix.
 */
export function resolveSettings(requested: RequestedSettings, rules: RuleSet, overrides: SettingsOverrides = {}): Resolved {
  const honourFiles = (rules.routing ?? "files") === "files";
  const fromYaml = honourFiles ? requested : {};
  const provider = overrides.provider ?? fromYaml.provider ?? rules.defaults?.provider;
  const providerFrom = overrides.provider ? "--provider" : fromYaml.provider ? "the YAML" : "the rules' defaults";
  if (!provider) {
    throw new ChargenError(
      "user",
      'no provider: neither the entry, its file nor the rules\' defaults name one; choose one in chargen.rules.ts (defaults: { provider: "google" }) or with --provider (--provider placeholder for an offline rehearsal)',
      { field: "provider" },
    );
  }
  const info = providerInfo(provider);
  if (!info) {
    throw new ChargenError("user", `unknown provider "${provider}" (known: ${Object.keys(PROVIDERS).join(", ")})`, { field: "provider" });
  }
  // A size or shape that is not one is an input error, not a request keyed and paid for.
  const size = requested.size === undefined ? undefined : parseSize(requested.size);
  if (requested.size !== undefined && (!size || size.width > MAX_IMAGE_SIDE || size.height > MAX_IMAGE_SIDE)) {
    throw new ChargenError("user", `size "${requested.size}" is not WxH in whole pixels from 1 to ${MAX_IMAGE_SIDE}`, { field: "size" });
  }
  if (requested.aspectRatio !== undefined && parseRatio(requested.aspectRatio) === undefined) {
    throw new ChargenError("user", `aspect_ratio "${requested.aspectRatio}" is not W:H with positive numbers`, { field: "aspect_ratio" });
  }
  if (requested.format !== undefined && !IMAGE_FORMATS.includes(requested.format)) {
    throw new ChargenError("user", `format "${requested.format}" is not one of ${IMAGE_FORMATS.join(", ")}`, { field: "format" });
  }
  // A model named for another provider means nothing to this one.
  const switched = overrides.provider !== undefined && overrides.provider !== fromYaml.provider;
  const yamlModel = switched ? undefined : fromYaml.model;
  const rulesModel = rules.providers?.[provider]?.model;
  const defaultsModel = rules.defaults?.provider === provider ? rules.defaults.model : undefined;
  const asked = overrides.model ?? yamlModel ?? rulesModel ?? defaultsModel ?? info.defaultModel;
  const modelFrom = overrides.model
    ? "--model"
    : yamlModel
      ? "the YAML"
      : rulesModel
        ? `the rules' providers.${provider}.model`
        : defaultsModel
          ? "the rules' defaults"
          : `${provider}'s default model`;
  const model = rules.modelMap?.[`${provider}/${asked}`] ?? rules.modelMap?.[asked] ?? asked;
  refuseUnavailable(info, provider, model);

  const generation = checkGeneration(mergeGeneration(rules.defaults?.generation, requested.generation));
  const settings: ModelSettings = {
    provider,
    model,
    format: requested.format ?? rules.defaults?.format ?? "png",
    n: 1,
    ...(requested.size ? { size: requested.size } : {}),
    ...(requested.aspectRatio ? { aspectRatio: requested.aspectRatio } : {}),
    ...((requested.quality ?? rules.defaults?.quality) ? { quality: requested.quality ?? rules.defaults?.quality } : {}),
    ...(generation ? { generation } : {}),
  };
  const normalised = keepGeneration(info, info.normalise(settings));
  const route = describeRoute({
    settings: normalised.settings,
    providerFrom,
    modelFrom,
    mappedFrom: model === asked ? undefined : asked,
    ignored: ignoredFields(requested, normalised.settings, honourFiles, overrides),
  });
  return { ...normalised, route };
}

/**
 * A data target's settings: `--provider`, then the rules' `defaults.read`, then `defaults.provider`;
 * the model from `defaults.read` when it names this provider, else the provider's reading model.
 * The YAML never routes a read (its fields name image models). No image settings: nothing is drawn.
 */
export function resolveReadSettings(rules: RuleSet, overrides: SettingsOverrides = {}): Resolved {
  const read = rules.defaults?.read;
  // `--provider` naming an image-only provider chooses the images' route: reads keep the rules' one.
  const overridden = overrides.provider === undefined ? undefined : providerInfo(overrides.provider);
  const cannotRead = overridden !== undefined && !overridden.defaultReadModel;
  const chosen = cannotRead ? undefined : overrides.provider;
  const adjustments = cannotRead ? [`--provider ${overrides.provider} reads no images or texts: data targets keep the rules' read route`] : [];
  const provider = chosen ?? read?.provider ?? rules.defaults?.provider;
  const providerFrom = chosen ? "--provider" : read?.provider ? "the rules' defaults.read" : "the rules' defaults";
  if (!provider) {
    throw new ChargenError("user", 'no provider for reading: the rules name none; choose one in chargen.rules.ts (defaults: { read: { provider: "google" } }) or with --provider', { field: "provider" });
  }
  const info = providerInfo(provider);
  if (!info) throw new ChargenError("user", `unknown provider "${provider}" (known: ${Object.keys(PROVIDERS).join(", ")})`, { field: "provider" });
  const rulesModel = read?.model !== undefined && (read.provider ?? rules.defaults?.provider) === provider ? read.model : undefined;
  const model = rulesModel ?? info.defaultReadModel;
  if (!model) {
    throw new ChargenError("user", `${provider} reads no images or texts in chargen; route reading elsewhere in chargen.rules.ts (defaults: { read: { provider: "google" } })`, { field: "provider" });
  }
  const modelFrom = rulesModel ? "the rules' defaults.read" : `${provider}'s reading model`;
  const from = providerFrom === modelFrom ? `provider and model from ${providerFrom}` : `provider from ${providerFrom}, model from ${modelFrom}`;
  // `format` is keyed but means nothing to a read: fixed, so that it never makes one stale.
  return { settings: { provider, model, format: "png", n: 1 }, adjustments, route: `${provider}/${model}: ${from}` };
}

/** A model this provider cannot serve (retired, or on an endpoint chargen does not call): the error names the mapping to add. */
function refuseUnavailable(info: ProviderInfo, provider: string, model: string): void {
  const retired = info.retired[model];
  const unserviceable = retired ? undefined : info.unserviceable?.(model);
  if (!retired && !unserviceable) return;
  const why = retired ? `was retired on ${retired.since}` : unserviceable!.why;
  const suggest = (retired ?? unserviceable)!.suggest;
  throw new ChargenError(
    "user",
    `model "${model}" (${provider}) ${why}; map it to a model chargen can call, in chargen.rules.ts: modelMap: { "${model}": "${suggest}" }`,
    { field: "model" },
  );
}

/** The rules' defaults under the YAML's own settings, field by field; undefined when none is set. */
function mergeGeneration(base: GenerationSettings | undefined, own: GenerationSettings | undefined): GenerationSettings | undefined {
  const merged: GenerationSettings = { ...base };
  for (const [k, v] of Object.entries(own ?? {})) if (v !== undefined) (merged as Record<string, unknown>)[k] = v;
  return Object.keys(merged).length ? merged : undefined;
}

/** Each generation setting within what Gemini accepts; a bad one is a user error naming its field. */
function checkGeneration(g: GenerationSettings | undefined): GenerationSettings | undefined {
  if (!g) return undefined;
  const bad = (field: string, want: string, got: unknown): never => {
    throw new ChargenError("user", `${field} must be ${want}, got ${JSON.stringify(got)}`, { field });
  };
  const number = (field: string, v: unknown, min: number, max: number, integer = false) => {
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max || (integer && !Number.isInteger(v))) {
      bad(field, `${integer ? "a whole number" : "a number"} from ${min} to ${max}`, v);
    }
  };
  number("temperature", g.temperature, 0, 2);
  number("top_p", g.topP, 0, 1);
  number("top_k", g.topK, 1, 1000, true);
  number("seed", g.seed, -(2 ** 31), 2 ** 31 - 1, true);
  const safety = g.safetySettings;
  if (safety !== undefined && (!Array.isArray(safety) || !safety.every((s) => s && typeof s.category === "string" && typeof s.threshold === "string"))) {
    bad("safety_settings", "a list of { category, threshold }", safety);
  }
  return g;
}

/** Generation settings the provider does not take are dropped from what is keyed and sent, and that is said. */
function keepGeneration(info: ProviderInfo, r: { settings: ModelSettings; adjustments: string[] }): { settings: ModelSettings; adjustments: string[] } {
  const given = r.settings.generation;
  if (!given) return r;
  const kept = Object.fromEntries(Object.entries(given).filter(([k]) => info.generation.includes(k as keyof GenerationSettings))) as GenerationSettings;
  const dropped = Object.keys(given).filter((k) => !(k in kept));
  if (!dropped.length) return r;
  const settings: ModelSettings = { ...r.settings };
  if (Object.keys(kept).length) settings.generation = kept;
  else delete settings.generation;
  return { settings, adjustments: [...r.adjustments, `${dropped.join(", ")} dropped (${settings.provider} does not take ${dropped.length > 1 ? "them" : "it"})`] };
}

/** The YAML's provider / model when something else decided: said, so that it is never silently ignored. */
function ignoredFields(requested: RequestedSettings, settings: ModelSettings, honourFiles: boolean, overrides: SettingsOverrides): string | undefined {
  const { provider, model } = requested;
  const differs = (provider !== undefined && provider !== settings.provider) || (model !== undefined && model !== settings.model);
  if (!differs) return undefined;
  const named = [provider, model].filter(Boolean).join("/");
  if (!honourFiles) return `the YAML's ${named} is ignored (routing: "rules")`;
  if (overrides.provider || overrides.model) return `the YAML's ${named} is overridden by ${overrides.provider ? "--provider" : "--model"}`;
  // Otherwise a mapping or the provider's own name for the model: said by the route already.
  return undefined;
}

function describeRoute(r: { settings: ModelSettings; providerFrom: string; modelFrom: string; mappedFrom: string | undefined; ignored: string | undefined }): string {
  const { provider, model } = r.settings;
  const from = r.providerFrom === r.modelFrom ? `provider and model from ${r.providerFrom}` : `provider from ${r.providerFrom}, model from ${r.modelFrom}`;
  const mapped = r.mappedFrom ? `; ${r.mappedFrom} -> ${model} by the rules' modelMap` : "";
  return `${provider}/${model}: ${from}${mapped}${r.ignored ? `; ${r.ignored}` : ""}`;
}
