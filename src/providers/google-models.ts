/**
 * What Gemini image models accept, and bringing requested settings to it. Gemini takes an
 * aspect ratio and (Gemini 3 models) a resolution tier, never pixels; chargen keeps the tier in
 * `quality`, the setting that, like OpenAI's quality, changes what an image costs.
 * No SDK import: the catalog uses this while planning.
 */
import type { ModelSettings } from "../model/target.js";
import { nearestBy, parseRatio, parseSize, type Dimensions } from "./aspect.js";

export const GEMINI_ASPECT_RATIOS = ["1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9"] as const;
export const GEMINI_TIERS = ["1K", "2K", "4K"] as const;
export type GeminiTier = (typeof GEMINI_TIERS)[number];

/** Gemini counts tokens: characters per token, taken low so that the estimate errs short. */
const CHARS_PER_TOKEN = 3;
/** Input tokens one reference image takes on Gemini image models (taken high). */
const TOKENS_PER_IMAGE = 1290;

/**
 * Longest prompt, in characters, from the model's input token limit (gemini-3-pro-image-preview
 * 65,536 tokens, gemini-2.5-flash-image 32,768), less what the reference images take.
 */
export function googlePromptLimit(model: string, references: number): number {
  const tokens = /^(models\/)?gemini-3/.test(model) ? 65536 : 32768;
  return Math.max(0, tokens - references * TOKENS_PER_IMAGE) * CHARS_PER_TOKEN;
}

/**
 * Reference images one request may carry: 14 on Gemini's image models (Google's image generation
 * guide: up to 14 reference images, objects and people together). The guide says
 * gemini-2.5-flash-image works best with up to 3, a recommendation, not a limit: not enforced.
 */
export const GOOGLE_REFERENCE_LIMIT = 14;

/** Output pixels at 1K per aspect ratio (Gemini 3 image docs); 2K doubles each side, 4K quadruples. */
const ONE_K: Record<string, Dimensions> = {
  "1:1": { width: 1024, height: 1024 },
  "2:3": { width: 848, height: 1264 },
  "3:2": { width: 1264, height: 848 },
  "3:4": { width: 896, height: 1200 },
  "4:3": { width: 1200, height: 896 },
  "4:5": { width: 928, height: 1152 },
  "5:4": { width: 1152, height: 928 },
  "9:16": { width: 768, height: 1376 },
  "16:9": { width: 1376, height: 768 },
  "21:9": { width: 1584, height: 672 },
};

/** Legacy and OpenAI-style qualities, for files written for another provider. */
const QUALITY_TIER: Record<string, GeminiTier | undefined> = {
  low: "1K",
  standard: "1K",
  medium: "1K",
  high: "2K",
  hd: "2K",
  auto: undefined,
};

const bareModel = (model: string) => model.replace(/^models\//, "");

/** Gemini 3 image models take `imageConfig.imageSize`; gemini-2.5-flash-image renders one size. */
export const takesImageSize = (model: string) => /^gemini-3/.test(bareModel(model));

const ratioValue = (r: string) => parseRatio(r)!;
export const nearestGeminiRatio = (ratio: number) => nearestBy(ratio, GEMINI_ASPECT_RATIOS, ratioValue);

/** The smallest tier whose output is at least as long, on its long side, as the requested size. */
function tierFor(size: Dimensions, ratio: string): GeminiTier {
  const base = ONE_K[ratio]!;
  const want = Math.max(size.width, size.height);
  const have = Math.max(base.width, base.height);
  return want <= have ? "1K" : want <= 2 * have ? "2K" : "4K";
}

const RATIO_LIST = GEMINI_ASPECT_RATIOS.join(", ");

export function normaliseGoogle(settings: ModelSettings): { settings: ModelSettings; adjustments: string[] } {
  const adjustments: string[] = [];
  const out: ModelSettings = { ...settings };
  delete out.size;
  delete out.aspectRatio;
  delete out.quality;
  const size = parseSize(settings.size);
  const sized = takesImageSize(settings.model);

  let aspect: string | undefined;
  if (settings.aspectRatio !== undefined) {
    const asked = settings.aspectRatio.trim();
    const ratio = parseRatio(asked);
    if ((GEMINI_ASPECT_RATIOS as readonly string[]).includes(asked)) aspect = asked;
    else if (ratio === undefined) adjustments.push(`aspect ratio "${settings.aspectRatio}" dropped (not W:H)`);
    else {
      aspect = nearestGeminiRatio(ratio);
      adjustments.push(`aspect ratio ${settings.aspectRatio} -> ${aspect} (gemini supports ${RATIO_LIST})`);
    }
  }

  let tier: GeminiTier | undefined;
  if (settings.quality !== undefined) {
    const q = settings.quality.trim();
    const named = GEMINI_TIERS.find((t) => t === q.toUpperCase());
    const mapped = named ?? (Object.hasOwn(QUALITY_TIER, q.toLowerCase()) ? QUALITY_TIER[q.toLowerCase()] : undefined);
    const known = named !== undefined || Object.hasOwn(QUALITY_TIER, q.toLowerCase());
    if (!sized) adjustments.push(`quality ${q} dropped (${bareModel(settings.model)} renders one size)`);
    else if (!known) adjustments.push(`quality ${q} dropped (gemini takes an image size: ${GEMINI_TIERS.join(", ")})`);
    else {
      tier = mapped;
      if (tier !== q) adjustments.push(tier ? `quality ${q} -> image size ${tier}` : `quality ${q} dropped (the model chooses)`);
    }
  }

  if (settings.size !== undefined) {
    if (!size) adjustments.push(`size "${settings.size}" dropped (not WxH)`);
    else {
      const fromSize = aspect === undefined;
      aspect ??= nearestGeminiRatio(size.width / size.height);
      const derivedTier = sized && tier === undefined && settings.quality === undefined ? tierFor(size, aspect) : undefined;
      tier ??= derivedTier;
      const to = [fromSize ? `aspect ratio ${aspect}` : undefined, derivedTier ? `image size ${derivedTier}` : undefined].filter(Boolean);
      if (to.length) {
        adjustments.push(`size ${settings.size} -> ${to.join(", ")} (gemini takes an aspect ratio (${RATIO_LIST})${sized ? " and an image size" : ""}, not pixels)`);
      } else if (nearestGeminiRatio(size.width / size.height) !== aspect) {
        // A size of the same shape as the ratio loses nothing worth a warning.
        adjustments.push(`size ${settings.size} dropped (aspect ratio ${aspect} decides)`);
      }
    }
  }

  if (aspect) out.aspectRatio = aspect;
  if (tier) out.quality = tier;
  if (settings.format === "webp") {
    // Gemini answers PNG; chargen converts PNG <-> JPEG but has no WebP encoder.
    out.format = "png";
    adjustments.push("format webp -> png (gemini answers png; no webp encoder here)");
  }
  return { settings: out, adjustments };
}
