/**
 * What OpenAI's GPT image models accept (per the openai SDK's ImageGenerateParams), and bringing
 * requested settings to it. No SDK import: the catalog uses this while planning.
 */
import type { ModelSettings } from "../model/target.js";
import { formatSize, nearestBy, parseRatio, parseSize, type Dimensions } from "./aspect.js";

export const STANDARD_SIZES = ["1024x1024", "1536x1024", "1024x1536"] as const;
const QUALITIES = ["low", "medium", "high", "auto"];
/** gpt-image-2.5 also renders these. */
const EXTRA_QUALITIES = ["xhigh", "max"];

/**
 * Longest prompt each model takes, in characters (the API reference of images.generate): GPT image
 * models 32,000, dall-e-3 4,000, dall-e-2 1,000. The negative travels in the text, so it counts.
 */
export function openaiPromptLimit(model: string): number {
  return model.startsWith("dall-e-2") ? 1000 : model.startsWith("dall-e-3") ? 4000 : 32000;
}

/** Input images images.edit takes for GPT image models (the SDK's ImageEditParams: "up to 16 images"). */
export const OPENAI_REFERENCE_LIMIT = 16;

/** DALL-E era names, still in old chapter files. */
const LEGACY_QUALITY: Record<string, string> = { hd: "high", standard: "medium" };

/** gpt-image-2 and gpt-image-2.5 (and their snapshots) render any WxH within limits; the others three sizes. */
export const takesAnySize = (model: string) => /^gpt-image-2(\.5)?(-|$)/.test(model);
const takesExtraQualities = (model: string) => /^gpt-image-2\.5(-|$)/.test(model);

/** The SDK's limits for free sizes: sides in multiples of 16, aspect 1:3 to 3:1, at most 3840 px and 3840x2160 pixels. */
const STEP = 16;
const MAX_SIDE = 3840;
const MAX_PIXELS = 3840 * 2160;
const MAX_RATIO = 3;
/** Long side for an aspect-only request on a free-size model: 1536x864 for 16:9, the SDK's own example. */
const DEFAULT_LONG_SIDE = 1536;

const ratioOf = (size: string) => {
  const d = parseSize(size)!;
  return d.width / d.height;
};

export const nearestStandardSize = (ratio: number) => nearestBy(ratio, STANDARD_SIZES, ratioOf);

/** A free size within the limits, as close to `size` as they allow. */
export function fitFreeSize({ width, height }: Dimensions): Dimensions {
  let w = width;
  let h = height;
  if (w / h > MAX_RATIO) h = w / MAX_RATIO;
  if (h / w > MAX_RATIO) w = h / MAX_RATIO;
  const shrink = Math.min(1, MAX_SIDE / Math.max(w, h), Math.sqrt(MAX_PIXELS / (w * h)));
  const snap = (v: number) => Math.max(STEP, Math.round((v * shrink) / STEP) * STEP);
  w = snap(w);
  h = snap(h);
  // Rounding to the grid can step just past a limit: walk back inside, one step at a time.
  const tooBig = () => Math.max(w, h) > MAX_SIDE || w * h > MAX_PIXELS;
  while (tooBig()) w >= h ? (w -= STEP) : (h -= STEP);
  while (w / h > MAX_RATIO) h += STEP;
  while (h / w > MAX_RATIO) w += STEP;
  return { width: w, height: h };
}

function sizeForRatio(ratio: number): Dimensions {
  const r = Math.min(MAX_RATIO, Math.max(1 / MAX_RATIO, ratio));
  if (Math.abs(r - 1) < 1e-9) return { width: 1024, height: 1024 };
  return fitFreeSize(r > 1 ? { width: DEFAULT_LONG_SIDE, height: DEFAULT_LONG_SIDE / r } : { width: DEFAULT_LONG_SIDE * r, height: DEFAULT_LONG_SIDE });
}

const STANDARD_LIST = STANDARD_SIZES.join(", ");
const FREE_RULES = "sides in multiples of 16, aspect 1:3 to 3:1, at most 3840 px and 8.3 MP";

export function normaliseOpenAI(settings: ModelSettings): { settings: ModelSettings; adjustments: string[] } {
  const adjustments: string[] = [];
  const out: ModelSettings = { ...settings };
  delete out.aspectRatio;
  const free = takesAnySize(settings.model);

  if (settings.quality !== undefined) {
    const q = settings.quality.trim().toLowerCase();
    const allowed = takesExtraQualities(settings.model) ? [...QUALITIES, ...EXTRA_QUALITIES] : QUALITIES;
    const mapped = LEGACY_QUALITY[q] ?? q;
    if (allowed.includes(mapped)) {
      out.quality = mapped;
      if (mapped !== settings.quality) adjustments.push(`quality ${settings.quality} -> ${mapped}`);
    } else {
      delete out.quality;
      adjustments.push(`quality ${settings.quality} dropped (${settings.model} takes ${allowed.join(", ")})`);
    }
  }

  const size = parseSize(settings.size);
  const ratio = parseRatio(settings.aspectRatio);
  if (settings.size !== undefined && settings.size.trim().toLowerCase() === "auto") {
    out.size = "auto";
  } else if (settings.size !== undefined && !size) {
    delete out.size;
    adjustments.push(`size "${settings.size}" dropped (not WxH)`);
  } else if (size) {
    const asked = formatSize(size);
    const fitted = free ? formatSize(fitFreeSize(size)) : (STANDARD_SIZES as readonly string[]).includes(asked) ? asked : nearestStandardSize(size.width / size.height);
    out.size = fitted;
    if (fitted !== settings.size) {
      adjustments.push(`size ${settings.size} -> ${fitted} (${settings.model} ${free ? `takes ${FREE_RULES}` : `supports ${STANDARD_LIST}`})`);
    }
  }
  if (settings.aspectRatio !== undefined) {
    if (out.size !== undefined) {
      // OpenAI takes no aspect ratio: the size decides. Say so only when the two disagree
      // (a size brought to a supported one has said so already).
      const s = size ?? parseSize(out.size);
      if (s && (ratio === undefined || Math.abs(Math.log(s.width / s.height / ratio)) > Math.log(1.15))) {
        adjustments.push(`aspect ratio ${settings.aspectRatio} dropped (size ${out.size} decides)`);
      }
    } else if (ratio === undefined) {
      adjustments.push(`aspect ratio "${settings.aspectRatio}" dropped (not W:H)`);
    } else {
      out.size = free ? formatSize(sizeForRatio(ratio)) : nearestStandardSize(ratio);
      adjustments.push(`aspect ratio ${settings.aspectRatio} -> size ${out.size} (openai takes a size, not an aspect ratio)`);
    }
  }
  return { settings: out, adjustments };
}
