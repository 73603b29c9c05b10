import type { ChargenError } from "../errors.js";
import type { GenerationSettings } from "../graph/target.js";
import type { PriceTable } from "./prices.js";

/** What a provider is asked for. Everything in it, except `signal`, is derived from the target's key inputs. */
export type ImageFormat = "png" | "jpeg" | "webp";
export const IMAGE_FORMATS: readonly ImageFormat[] = ["png", "jpeg", "webp"];

export interface ReferenceImage {
  /** Workspace-relative path, for messages and metadata. */
  path: string;
  bytes: Uint8Array;
  mimeType: string;
  role: string;
  /** What it is, in words, as the prompt's references section names it. */
  label?: string;
}

export interface ImageRequest {
  targetId: string;
  /** The target's cache key; the placeholder provider derives its picture from it. */
  key: string;
  prompt: string;
  negativePrompt: string;
  model: string;
  /** Pixel size, when the request names one ("1024x1536"). */
  size?: { width: number; height: number };
  /** Aspect ratio, when the request names one ("3:4"). */
  aspectRatio?: string;
  quality?: string;
  format: ImageFormat;
  /** Sampling settings the provider takes (see the catalog's `generation`). */
  generation?: GenerationSettings;
  references: ReferenceImage[];
  signal: AbortSignal;
}

export interface Usage {
  inputTokens?: number;
  outputTokens?: number;
  imageTokens?: number;
}

export interface ImageResult {
  bytes: Uint8Array;
  mimeType: string;
  usage?: Usage;
  /** Actual cost in USD when the provider's answer lets us know it. */
  costUsd?: number;
  /** Provider ids, revised prompt, finish reason: written back and kept in the cache, never secrets. */
  metadata: Record<string, unknown>;
}

export interface ProviderLimits {
  /** Requests in flight at once. */
  maxInFlight: number;
  /** Requests started per minute. */
  perMinute: number;
}

export interface Provider {
  readonly name: string;
  /** Throws ChargenError; kind tells the executor what to do. Prices for the dry run live in the catalog. */
  generate(request: ImageRequest): Promise<ImageResult>;
}

export interface ProviderFactoryOptions {
  env: NodeJS.ProcessEnv;
  /** Free-form per-provider options from the rules (placeholder latency, base URL overrides, ...). */
  options: Record<string, unknown>;
  /** The price table with the rules' overrides, for actual costs from usage (default: the built-in one). */
  prices?: PriceTable;
}

/** A provider module's default export. Imported lazily: a no-op build loads no SDK. Defaults live in the catalog. */
export interface ProviderModule {
  create(options: ProviderFactoryOptions): Provider;
}

export type { ChargenError };
