/**
 * Cloudflare Workers AI's text-to-image catalogue, as its model pages describe each model's input
 * and output (developers.cloudflare.com/workers-ai/models/), and bringing requested settings to
 * it. No network and no SDK: the catalog uses this while planning.
 */
import type { ModelSettings } from "../model/target.js";
import { formatSize, parseRatio, parseSize, type Dimensions } from "./aspect.js";

export interface WorkersAiModel {
  /** How the image comes back: JSON `{result: {image: base64}}`, or the image bytes themselves. */
  answer: "base64-json" | "binary";
  /** The format those bytes are in. */
  mimeType: "image/png" | "image/jpeg";
  /** Width and height accepted, in pixels; none: the model renders one size. */
  size?: { min: number; max: number };
  /** The request field for the number of diffusion steps (`steps` on FLUX, `num_steps` elsewhere). */
  stepsField: "steps" | "num_steps";
  negativePrompt: boolean;
  guidance: boolean;
  /** Longest prompt accepted, in characters, where the model's input schema gives one (`maxLength`). */
  maxPrompt?: number;
}

const SD: Omit<WorkersAiModel, "mimeType"> = { answer: "binary", size: { min: 256, max: 2048 }, stepsField: "num_steps", negativePrompt: true, guidance: true };

/** Catalogue id -> what the model takes and answers. */
export const WORKERS_AI_MODELS: Record<string, WorkersAiModel> = {
  "@cf/black-forest-labs/flux-1-schnell": { answer: "base64-json", mimeType: "image/jpeg", stepsField: "steps", negativePrompt: false, guidance: false, maxPrompt: 2048 },
  "@cf/stabilityai/stable-diffusion-xl-base-1.0": { ...SD, mimeType: "image/png" },
  "@cf/bytedance/stable-diffusion-xl-lightning": { ...SD, mimeType: "image/png" },
  "@cf/lykon/dreamshaper-8-lcm": { ...SD, mimeType: "image/png" },
  "@cf/leonardo/phoenix-1.0": { ...SD, mimeType: "image/jpeg" },
  "@cf/leonardo/lucid-origin": { answer: "base64-json", mimeType: "image/jpeg", size: { min: 0, max: 2500 }, stepsField: "num_steps", negativePrompt: false, guidance: true },
};

/**
 * Longest prompt `model` (an id or an alias) takes, in characters: FLUX.1 [schnell] 2,048 (its input
 * schema's maxLength, negative included: it takes none of its own). The other models' schemas set
 * no maximum: undefined.
 */
export function workersAiPromptLimit(model: string): number | undefined {
  return WORKERS_AI_MODELS[WORKERS_AI_ALIASES[model] ?? model]?.maxPrompt;
}

/** The short names MemoryQuill files (and people) use for them. */
export const WORKERS_AI_ALIASES: Record<string, string> = {
  "flux-schnell": "@cf/black-forest-labs/flux-1-schnell",
  "flux-1-schnell": "@cf/black-forest-labs/flux-1-schnell",
  "stable-diffusion-xl": "@cf/stabilityai/stable-diffusion-xl-base-1.0",
  "stable-diffusion-xl-base-1.0": "@cf/stabilityai/stable-diffusion-xl-base-1.0",
  sdxl: "@cf/stabilityai/stable-diffusion-xl-base-1.0",
  "stable-diffusion-xl-lightning": "@cf/bytedance/stable-diffusion-xl-lightning",
  "dreamshaper-8-lcm": "@cf/lykon/dreamshaper-8-lcm",
  "phoenix-1.0": "@cf/leonardo/phoenix-1.0",
  "lucid-origin": "@cf/leonardo/lucid-origin",
};

/**
 * Catalogue models chargen does not call, and why: FLUX.2 takes multipart form input, the SD 1.5
 * pair needs a source image (they edit, they do not generate).
 */
export function workersAiUnserviceable(model: string): { why: string; suggest: string } | undefined {
  const suggest = "@cf/black-forest-labs/flux-1-schnell";
  if (/^@cf\/black-forest-labs\/flux-2/.test(model)) return { why: "takes multipart form input, which chargen does not send", suggest };
  if (/^@cf\/runwayml\/stable-diffusion-v1-5-(img2img|inpainting)$/.test(model)) return { why: "edits a source image; it does not generate from a prompt", suggest };
  if (!Object.hasOwn(WORKERS_AI_MODELS, model) && !Object.hasOwn(WORKERS_AI_ALIASES, model)) {
    return { why: `is not a Workers AI text-to-image model chargen knows (${Object.keys(WORKERS_AI_MODELS).join(", ")})`, suggest };
  }
  return undefined;
}

/** Long side for an aspect-only request: what these models are trained at. */
const LONG_SIDE = 1024;
/** Diffusion models work on latents 8 pixels to a side. */
const STEP = 8;

export function normaliseWorkersAi(settings: ModelSettings): { settings: ModelSettings; adjustments: string[] } {
  const adjustments: string[] = [];
  const model = WORKERS_AI_ALIASES[settings.model] ?? settings.model;
  const spec = WORKERS_AI_MODELS[model];
  const out: ModelSettings = { ...settings, model };
  delete out.aspectRatio;
  delete out.size;
  delete out.quality;
  if (settings.quality !== undefined) adjustments.push(`quality ${settings.quality} dropped (workers-ai models take a size and a number of steps)`);
  const asked = parseSize(settings.size) ?? sizeForRatio(parseRatio(settings.aspectRatio));
  if (asked && spec?.size) {
    const fitted = formatSize(fit(asked, spec.size));
    out.size = fitted;
    if (settings.size !== undefined && fitted !== settings.size) adjustments.push(`size ${settings.size} -> ${fitted} (${model} takes ${spec.size.min}-${spec.size.max} px a side, in steps of ${STEP})`);
    else if (settings.size === undefined) adjustments.push(`aspect ratio ${settings.aspectRatio} -> size ${fitted} (workers-ai takes a size, not an aspect ratio)`);
  } else if (asked && spec) {
    adjustments.push(`${settings.size ? `size ${settings.size}` : `aspect ratio ${settings.aspectRatio}`} dropped (${model} renders one size)`);
  }
  return { settings: out, adjustments };
}

function sizeForRatio(ratio: number | undefined): Dimensions | undefined {
  if (ratio === undefined) return undefined;
  return ratio >= 1 ? { width: LONG_SIDE, height: LONG_SIDE / ratio } : { width: LONG_SIDE * ratio, height: LONG_SIDE };
}

function fit(size: Dimensions, limits: { min: number; max: number }): Dimensions {
  const shrink = Math.min(1, limits.max / Math.max(size.width, size.height));
  const side = (v: number) => Math.min(limits.max, Math.max(limits.min, Math.max(STEP, Math.round((v * shrink) / STEP) * STEP)));
  return { width: side(size.width), height: side(size.height) };
}
