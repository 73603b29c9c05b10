/**
 * The one price table: what an image costs, per provider and model, for the dry-run estimate and
 * `--max-cost`, the token rates that turn a response's usage into its actual cost, and what a
 * read (images and texts into JSON, on a text/vision model) is estimated to cost.
 *
 * Numbers are USD at standard (not batch) rates as published in 2026: Google's Gemini API
 * pricing page, OpenAI's image-generation pricing (its per-image table is itself derived from
 * output tokens) and OpenAI's model pricing for text models (prompts up to 200k tokens where the
 * rate depends on length). They drift; a user overrides them in the rules (see `withOverrides`).
 */
import type { ModelSettings } from "../model/target.js";
import { parseRatio, parseSize } from "./aspect.js";

/** USD per million tokens. */
export interface TokenRates {
  textInput: number;
  imageInput: number;
  /** Text and thinking output. */
  textOutput: number;
  imageOutput: number;
}

export type Shape = "square" | "landscape" | "portrait";

/** USD per image: one number, or by shape (for a standard size of that shape). */
export type ImagePrice = number | Record<Shape, number>;

/**
 * How a text/vision model counts an input image, as each provider documents it:
 * - Gemini 3: tokens per image by media resolution (`perImage`; none set is "high");
 * - Gemini 2.5: 258 tokens per 768x768 tile (one tile when both sides are at most 384 px) unless a
 *   media resolution is set (`perImage`, `tile`);
 * - OpenAI tile models (gpt-5, gpt-4.1, gpt-4o): fit in 2048x2048, short side down to 768, then
 *   `base` + `perTile` per 512 px tile (`tiles`);
 * - OpenAI patch models (gpt-5-mini, gpt-4.1-mini, nano): 32 px patches, at most 1536, times a
 *   multiplier (`patches`).
 */
export interface ImageInputTokens {
  perImage?: Partial<Record<MediaResolution, number>>;
  tile?: number;
  tiles?: { base: number; perTile: number };
  patches?: { multiplier: number };
}

export type MediaResolution = "low" | "medium" | "high";

export interface ModelPrices {
  tokens?: TokenRates;
  /** Text/vision models: how an input image is counted, for the estimate of a read. */
  imageInput?: ImageInputTokens;
  /**
   * Per-image price by quality (OpenAI "low"/"medium"/"high") or resolution tier (Gemini
   * "1K"/"2K"/"4K"); "*" is the price when the settings name none. A quality missing here
   * ("auto", unknown) is priced at the dearest entry: an estimate that guards a budget should
   * err high.
   */
  image: Record<string, ImagePrice>;
  /** Priced by the work instead (Workers AI): what a 512x512 tile of output and a diffusion step cost. */
  units?: { tileUsd: number; stepUsd: number; defaultSteps: number };
}

export type PriceTable = Record<string, Record<string, ModelPrices>>;

const GPT_IMAGE_1_5: TokenRates = { textInput: 5, imageInput: 8, textOutput: 10, imageOutput: 32 };
const GPT_IMAGE_2: TokenRates = { textInput: 5, imageInput: 8, textOutput: 10, imageOutput: 30 };
const GPT_IMAGE_1_MINI: TokenRates = { textInput: 2, imageInput: 2.5, textOutput: 8, imageOutput: 8 };

/**
 * Workers AI bills neurons, $0.011 per 1,000 (beyond 10,000 free a day), and publishes each
 * model's price per 512x512 output tile and per step; a model that renders one size is 1024x1024.
 * Beta models cost nothing.
 */
const workersAiUnits = (tileUsd: number, stepUsd: number, defaultSteps: number): ModelPrices => ({ image: {}, units: { tileUsd, stepUsd, defaultSteps } });
const FREE_BETA: ModelPrices = { image: { "*": 0 } };

/** A text/vision model: input and output rates per million tokens (images are input tokens), no image output. */
const reader = (input: number, output: number, imageInput: ImageInputTokens): ModelPrices => ({
  tokens: { textInput: input, imageInput: input, textOutput: output, imageOutput: output },
  image: {},
  imageInput,
});
const GEMINI_2_5_IMAGES: ImageInputTokens = { tile: 258, perImage: { low: 64, medium: 256, high: 256 } };
const GEMINI_3_IMAGES: ImageInputTokens = { perImage: { low: 280, medium: 560, high: 1120 } };
const openaiTiles = (base: number, perTile: number): ImageInputTokens => ({ tiles: { base, perTile } });
const openaiPatches = (multiplier: number): ImageInputTokens => ({ patches: { multiplier } });

const shapes = (square: number, landscape: number, portrait = landscape): Record<Shape, number> => ({ square, landscape, portrait });

export const PRICES: PriceTable = {
  placeholder: {},
  google: {
    // 1290 output image tokens per image at $30/M.
    "gemini-2.5-flash-image": {
      tokens: { textInput: 0.3, imageInput: 0.3, textOutput: 2.5, imageOutput: 30 },
      image: { "*": 0.039 },
    },
    // 1120 tokens (1K, 2K) or 2000 tokens (4K) at $120/M.
    "gemini-3-pro-image": {
      tokens: { textInput: 2, imageInput: 2, textOutput: 12, imageOutput: 120 },
      image: { "*": 0.134, "1K": 0.134, "2K": 0.134, "4K": 0.24 },
    },
    // 1120 / 1680 / 2520 tokens at $60/M.
    "gemini-3.1-flash-image": {
      tokens: { textInput: 0.25, imageInput: 0.25, textOutput: 1.5, imageOutput: 60 },
      image: { "*": 0.067, "1K": 0.067, "2K": 0.101, "4K": 0.151 },
    },
    // Readers (analysis, story text); thinking is billed as output.
    "gemini-2.5-flash": reader(0.3, 2.5, GEMINI_2_5_IMAGES),
    "gemini-2.5-flash-lite": reader(0.1, 0.4, GEMINI_2_5_IMAGES),
    "gemini-2.5-pro": reader(1.25, 10, GEMINI_2_5_IMAGES),
    "gemini-3-flash": reader(0.5, 3, GEMINI_3_IMAGES),
    // gemini-3-pro-preview; its image model has its own entry above.
    "gemini-3-pro": reader(2, 12, GEMINI_3_IMAGES),
  },
  openai: {
    // Square is 1024x1024; landscape and portrait are 1536x1024 and 1024x1536.
    "gpt-image-1.5": {
      tokens: GPT_IMAGE_1_5,
      image: { low: shapes(0.009, 0.013), medium: shapes(0.034, 0.05), high: shapes(0.133, 0.2) },
    },
    "gpt-image-2": {
      tokens: GPT_IMAGE_2,
      image: { low: shapes(0.006, 0.005), medium: shapes(0.053, 0.041), high: shapes(0.211, 0.165) },
    },
    "gpt-image-1-mini": {
      tokens: GPT_IMAGE_1_MINI,
      image: { low: shapes(0.005, 0.006), medium: shapes(0.011, 0.015), high: shapes(0.036, 0.052) },
    },
    // Readers (analysis, story text); reasoning is billed as output.
    "gpt-5": reader(1.25, 10, openaiTiles(70, 140)),
    "gpt-5-mini": reader(0.25, 2, openaiPatches(1.62)),
    "gpt-5-nano": reader(0.05, 0.4, openaiPatches(2.46)),
    "gpt-4.1": reader(2, 8, openaiTiles(85, 170)),
    "gpt-4.1-mini": reader(0.4, 1.6, openaiPatches(1.62)),
    "gpt-4.1-nano": reader(0.1, 0.4, openaiPatches(2.46)),
    "gpt-4o": reader(2.5, 10, openaiTiles(85, 170)),
    // Its image tokens are many and cheap: the same price per image as gpt-4o.
    "gpt-4o-mini": reader(0.15, 0.6, openaiTiles(2833, 5667)),
  },
  "workers-ai": {
    // 4.80 neurons a tile, 9.60 a step; 4 steps by default.
    "@cf/black-forest-labs/flux-1-schnell": workersAiUnits(0.0000528, 0.0001056, 4),
    "@cf/leonardo/phoenix-1.0": workersAiUnits(0.0058, 0.00011, 25),
    "@cf/leonardo/lucid-origin": workersAiUnits(0.007, 0.00013, 25),
    "@cf/stabilityai/stable-diffusion-xl-base-1.0": FREE_BETA,
    "@cf/bytedance/stable-diffusion-xl-lightning": FREE_BETA,
    "@cf/lykon/dreamshaper-8-lcm": FREE_BETA,
  },
};

/** Pixels of the standard size each shape's per-image price is for. */
const BASE_PIXELS: Record<Shape, number> = { square: 1024 * 1024, landscape: 1536 * 1024, portrait: 1024 * 1536 };

/**
 * A model's prices: its own entry, else the entry its id extends with a snapshot or stage suffix
 * ("gpt-image-2-2026-04-21" and "gemini-3-pro-image-preview" are priced as their families).
 */
export function modelPrices(table: PriceTable, provider: string, model: string): ModelPrices | undefined {
  const models = table[provider];
  if (!models) return undefined;
  if (Object.hasOwn(models, model)) return models[model];
  let best: string | undefined;
  for (const id of Object.keys(models)) {
    if (model.startsWith(`${id}-`) && (!best || id.length > best.length)) best = id;
  }
  return best === undefined ? undefined : models[best];
}

function shapeOf(settings: Pick<ModelSettings, "size" | "aspectRatio">): { shape?: Shape; pixels?: number } {
  const size = parseSize(settings.size);
  const ratio = size ? size.width / size.height : parseRatio(settings.aspectRatio);
  if (ratio === undefined) return {};
  const shape: Shape = Math.abs(Math.log(ratio)) < Math.log(1.15) ? "square" : ratio > 1 ? "landscape" : "portrait";
  return size ? { shape, pixels: size.width * size.height } : { shape };
}

const dearest = (price: ImagePrice) => (typeof price === "number" ? price : Math.max(...Object.values(price)));

/**
 * Standard price of one image with these settings; undefined when the model is not in the table.
 * A size other than the standard ones (gpt-image-2 takes any) scales with its pixel count; no
 * size ("auto") is priced at the dearest shape.
 */
export function estimateImagePrice(settings: ModelSettings, table: PriceTable = PRICES): number | undefined {
  const prices = modelPrices(table, settings.provider, settings.model);
  if (!prices) return undefined;
  if (prices.units) {
    const size = parseSize(settings.size) ?? { width: 1024, height: 1024 };
    const tiles = Math.ceil(size.width / 512) * Math.ceil(size.height / 512);
    return round((tiles * prices.units.tileUsd + prices.units.defaultSteps * prices.units.stepUsd) * settings.n);
  }
  const entries = Object.entries(prices.image);
  if (entries.length === 0) return undefined;
  const quality = settings.quality ?? "*";
  const price = Object.hasOwn(prices.image, quality)
    ? prices.image[quality]!
    : entries.reduce((a, [, p]) => (dearest(p) > dearest(a) ? p : a), entries[0]![1]);
  if (typeof price === "number") return round(price * settings.n);
  const { shape, pixels } = shapeOf(settings);
  if (!shape) return round(dearest(price) * settings.n);
  const scale = pixels === undefined ? 1 : pixels / BASE_PIXELS[shape];
  return round(price[shape] * scale * settings.n);
}

export interface TokenUsage {
  textInput?: number;
  imageInput?: number;
  textOutput?: number;
  imageOutput?: number;
}

/** Actual cost of a response from its token counts; undefined when the model has no token rates. */
export function costFromTokens(provider: string, model: string, usage: TokenUsage, table: PriceTable = PRICES): number | undefined {
  const rates = modelPrices(table, provider, model)?.tokens;
  if (!rates) return undefined;
  const usd =
    (usage.textInput ?? 0) * rates.textInput +
    (usage.imageInput ?? 0) * rates.imageInput +
    (usage.textOutput ?? 0) * rates.textOutput +
    (usage.imageOutput ?? 0) * rates.imageOutput;
  return round(usd / 1_000_000);
}

/** What the estimate of one read knows of it before it is sent. */
export interface ReadShape {
  /** Characters of the instructions, the texts and the schema together (about 4 to a token). */
  textChars: number;
  /** The images, with their pixel size when known (unknown is priced as 1536x1536). */
  images: { width?: number; height?: number }[];
  mediaResolution?: MediaResolution;
  /** Tokens the answer is expected to take, thinking included (default `READ_OUTPUT_TOKENS`). */
  outputTokens?: number;
}

/** An answer's expected output: a JSON document of a few hundred tokens and the model's thinking before it, erring high. */
export const READ_OUTPUT_TOKENS = 2000;
const CHARS_PER_TOKEN = 4;
const UNKNOWN_SIDE = 1536;

/** Input tokens of one image on a model that counts images as `rule` says. */
export function imageInputTokens(rule: ImageInputTokens, image: { width?: number; height?: number }, mediaResolution?: MediaResolution): number {
  let width = image.width ?? UNKNOWN_SIDE;
  let height = image.height ?? UNKNOWN_SIDE;
  if (rule.perImage && (mediaResolution || rule.tile === undefined)) return rule.perImage[mediaResolution ?? "high"] ?? 0;
  if (rule.tile !== undefined) return width <= 384 && height <= 384 ? rule.tile : Math.ceil(width / 768) * Math.ceil(height / 768) * rule.tile;
  if (rule.tiles) {
    const fit = Math.min(1, 2048 / Math.max(width, height));
    [width, height] = [width * fit, height * fit];
    const short = Math.min(1, 768 / Math.min(width, height));
    [width, height] = [width * short, height * short];
    return rule.tiles.base + rule.tiles.perTile * Math.ceil(width / 512) * Math.ceil(height / 512);
  }
  if (rule.patches) {
    const patches = Math.min(1536, Math.ceil(width / 32) * Math.ceil(height / 32));
    return Math.ceil(patches * rule.patches.multiplier);
  }
  return 0;
}

/** Standard price of one read on this model, for the dry run and `--max-cost`; undefined when the model has no token rates. */
export function estimateRead(settings: Pick<ModelSettings, "provider" | "model">, shape: ReadShape, table: PriceTable = PRICES): number | undefined {
  const prices = modelPrices(table, settings.provider, settings.model);
  if (!prices?.tokens) return undefined;
  const imageInput = prices.imageInput ? shape.images.reduce((n, image) => n + imageInputTokens(prices.imageInput!, image, shape.mediaResolution), 0) : 0;
  return costFromTokens(
    settings.provider,
    settings.model,
    { textInput: Math.ceil(shape.textChars / CHARS_PER_TOKEN), imageInput, textOutput: shape.outputTokens ?? READ_OUTPUT_TOKENS },
    table,
  );
}

/** Rules-side overrides: any provider, model, quality or rate may be replaced or added. */
export type PriceOverrides = Record<string, Record<string, Partial<ModelPrices>>>;

export function withOverrides(overrides: PriceOverrides | undefined, base: PriceTable = PRICES): PriceTable {
  if (!overrides) return base;
  const table: PriceTable = { ...base };
  for (const [provider, models] of Object.entries(overrides)) {
    const merged: Record<string, ModelPrices> = { ...table[provider] };
    for (const [model, prices] of Object.entries(models)) {
      const current = merged[model];
      merged[model] = {
        ...(current?.tokens || prices.tokens ? { tokens: { ...current?.tokens!, ...prices.tokens } } : {}),
        image: { ...current?.image, ...prices.image },
        ...(current?.imageInput || prices.imageInput ? { imageInput: { ...current?.imageInput, ...prices.imageInput } } : {}),
        ...(current?.units || prices.units ? { units: { ...current?.units!, ...prices.units } } : {}),
      };
    }
    table[provider] = merged;
  }
  return table;
}

/**
 * The table a provider prices actual usage with: the rules' overrides once the factory options
 * carry them (`prices`), else the built-in one.
 */
export const pricesOf = (options: object): PriceTable =>
  "prices" in options && options.prices && typeof options.prices === "object" ? (options.prices as PriceTable) : PRICES;

/** Micro-dollar precision: sums of many images stay exact enough, and reports stay readable. */
const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

/**
 * What a provider's batch engine charges, as a fraction of the standard price: both Google's
 * Gemini Batch API and OpenAI's Batch API bill 50% (their pricing pages, 2026). A provider
 * missing here has no batch engine.
 */
export const BATCH_PRICE_FACTOR: Readonly<Record<string, number>> = { google: 0.5, openai: 0.5 };

/** A standard price (or actual cost at standard rates) at the provider's batch rate. */
export function atBatchRate(provider: string, usd: number | undefined): number | undefined {
  const factor = BATCH_PRICE_FACTOR[provider];
  return usd === undefined || factor === undefined ? undefined : round(usd * factor);
}
