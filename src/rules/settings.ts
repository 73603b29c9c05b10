import { ChargenError } from "../errors.js";
import type { ModelSettings, RequestedSettings } from "../graph/target.js";
import { MAX_IMAGE_SIDE, parseRatio, parseSize } from "../providers/aspect.js";
import { PROVIDERS, providerInfo } from "../providers/catalog.js";
import { IMAGE_FORMATS } from "../providers/types.js";
import type { RuleSet } from "./api.js";

export interface Resolved {
  settings: ModelSettings;
  /** What normalisation changed ("size 1792x768 -> 1536x1024"), reported once per build. */
  adjustments: string[];
}

/**
 * Requested settings -> the settings the key hashes: `--provider` over the entry over the
 * file's defaults over the rules' defaults; then the rules' model mapping; then the provider's
 * own normalisation. A retired model with no mapping is a user error that names the fix.
 */
export function resolveSettings(requested: RequestedSettings, rules: RuleSet, providerOverride?: string): Resolved {
  const provider = providerOverride ?? requested.provider ?? rules.defaults?.provider ?? "placeholder";
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
  const switched = providerOverride !== undefined && providerOverride !== requested.provider;
  const asked = switched ? undefined : requested.model;
  let model = asked ?? rules.providers?.[provider]?.model ?? (rules.defaults?.provider === provider ? rules.defaults.model : undefined) ?? info.defaultModel;
  model = rules.modelMap?.[`${provider}/${model}`] ?? rules.modelMap?.[model] ?? model;
  const retired = info.retired[model];
  if (retired) {
    throw new ChargenError(
      "user",
      `model "${model}" (${provider}) was retired on ${retired.since}; map it to a current model in chargen.rules.ts: modelMap: { "${model}": "${retired.suggest}" }`,
      { field: "model" },
    );
  }
  const settings: ModelSettings = {
    provider,
    model,
    format: requested.format ?? rules.defaults?.format ?? "png",
    n: 1,
    ...(requested.size ? { size: requested.size } : {}),
    ...(requested.aspectRatio ? { aspectRatio: requested.aspectRatio } : {}),
    ...((requested.quality ?? rules.defaults?.quality) ? { quality: requested.quality ?? rules.defaults?.quality } : {}),
  };
  return info.normalise(settings);
}
