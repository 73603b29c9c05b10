import type { Clock } from "../core/clock.js";
import type { ChargenError } from "../core/errors.js";
import type { GenerationSettings, ImageFormat, JsonValue } from "../model/target.js";
import type { PriceOverrides, PriceTable } from "./prices.js";

export { IMAGE_FORMATS, type ImageFormat } from "../model/target.js";

export interface ReferenceImage {
  /** Workspace-relative path, for messages and metadata. */
  path: string;
  bytes: Uint8Array;
  mimeType: string;
  role: string;
  /** What it is, in words, as the prompt's references section names it. */
  label?: string;
}

/** What a provider is asked for. Everything in it, except `signal`, is derived from the target's key inputs. */
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

/**
 * What a provider is asked to read (analysis of images, story text): images and texts in, one JSON
 * document of a given schema out. Everything but `signal` is derived from the target's key inputs.
 */
export interface DataRequest {
  targetId: string;
  /** The target's cache key; the placeholder derives its answer from it and the inputs. */
  key: string;
  model: string;
  /** The compiled instructions (versioned by the rule that wrote them): the system text. */
  instructions: string;
  /** Texts to read, in order, each with what it is ("Profile of Nell Farrow", "Chapter 3"). */
  texts: { label: string; text: string }[];
  /** Images to look at, in order, each labelled like an image request's references. */
  images: ReferenceImage[];
  /** JSON Schema of the answer (the subset both Gemini's responseSchema and OpenAI's strict json_schema take). */
  schema: { name: string; schema: Record<string, JsonValue> };
  /** Gemini's media resolution for image inputs; other providers ignore it. */
  mediaResolution?: "low" | "medium" | "high";
  signal: AbortSignal;
}

export interface DataResult {
  /** The answer, parsed; the caller validates it against the schema before recording it. */
  json: JsonValue;
  usage?: Usage;
  costUsd?: number;
  /** Provider ids, finish reason: never secrets. */
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
  /** Reads images and texts into a JSON document (vision and text models); absent on providers that cannot. */
  read?(request: DataRequest): Promise<DataResult>;
}

export interface ProviderFactoryOptions {
  env: NodeJS.ProcessEnv;
  /** Free-form per-provider options from the rules (placeholder latency, base URL overrides, ...). */
  options: Record<string, unknown>;
  /** The price table with the rules' overrides, for actual costs from usage (default: the built-in one). */
  prices?: PriceTable;
  /** What simulated waits (the placeholder's latency) run on: the build's clock, a fake one in tests. */
  clock?: Clock;
}

/** A provider module's default export. Imported lazily: a no-op build loads no SDK. Defaults live in the catalog. */
export interface ProviderModule {
  create(options: ProviderFactoryOptions): Provider;
}

export type { ChargenError };

export interface ModelLimits {
  /** Requests in flight at once. */
  maxInFlight?: number;
  /** Requests started per minute (per `windowMs`, when set). */
  perMinute?: number;
  /** The rate window, 60000 by default (a shorter one is for tests against fake servers). */
  windowMs?: number;
  /** Longest prompt sent, in characters (negative included); longer ones lose sections, lowest priority first. Default: the model's published limit. */
  maxPromptChars?: number;
  /** Most reference images sent with one request; past it, the lowest-priority ones are left out, and that is said. Default: the model's published limit. */
  maxReferenceImages?: number;
}

export interface ProviderConfig extends ModelLimits {
  /** Model used when a target names this provider but no model (or `--provider` switches to it). */
  model?: string;
  /** Limits per model id, over the provider's. */
  models?: Record<string, ModelLimits>;
  /** Provider-specific options (placeholder latency and failure rate, ...). */
  options?: Record<string, unknown>;
}

/** What the rules say of providers, all a provider and the hub need of them (the rules' own type extends it). */
export interface ProviderSettings {
  providers?: Record<string, ProviderConfig>;
  prices?: PriceOverrides;
}
