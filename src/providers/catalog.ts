import type { GenerationSettings, ModelSettings } from "../model/target.js";
import { GOOGLE_KEY_ENV, OPENAI_KEY_ENV, WORKERS_AI_ACCOUNT_ENV, WORKERS_AI_TOKEN_ENV } from "./credentials.js";
import { GOOGLE_REFERENCE_LIMIT, googlePromptLimit, normaliseGoogle } from "./google-models.js";
import { normaliseOpenAI, OPENAI_REFERENCE_LIMIT, openaiPromptLimit } from "./openai-models.js";
import { normaliseWorkersAi, workersAiPromptLimit, workersAiUnserviceable } from "./workers-ai-models.js";
import { estimateImagePrice, estimateRead, withOverrides, type PriceTable, type ReadShape } from "./prices.js";
import type { ProviderName } from "./names.js";
import type { ProviderLimits, ProviderModule, ProviderSettings } from "./types.js";

/**
 * What chargen knows about each provider without loading it: default model and limits, retired
 * models, and how to load the implementation. Provider modules (and their SDKs) are imported
 * only when a build actually sends a request.
 */
export interface ProviderInfo {
  defaultModel: string;
  /** Text/vision model used for reads (analysis, story text) when a target names none; absent where the provider cannot read. */
  defaultReadModel?: string;
  /** Safe defaults; the rules override them per provider and per model. */
  limits: ProviderLimits;
  /** Environment variables holding the API key, first found wins. */
  keyEnv: string[];
  /** Further variables a request needs (Cloudflare's account id), first found wins. */
  accountEnv?: string[];
  /** Retired model id -> when and a suggested replacement, for the "add a mapping" error. */
  retired: Record<string, { since: string; suggest: string }>;
  /** Why chargen cannot serve a model id on this provider (another endpoint, another input), and a replacement. */
  unserviceable?(model: string): { why: string; suggest: string } | undefined;
  /** Whether its models take reference images; when not, a target's references are not sent, and that is said. */
  references: boolean;
  /** The generation settings this provider takes; the others are dropped, and that is said. */
  generation: (keyof GenerationSettings)[];
  /**
   * The model's published prompt limit in characters, with `references` images attached (they
   * share Gemini's input tokens); undefined when it publishes none. The length budget's default.
   */
  promptLimit(model: string, references: number): number | undefined;
  /** Most reference images one request of the model may carry; undefined when it publishes none. Past it, the lowest-priority ones are left out (workspace/open.ts). */
  referenceLimit?(model: string): number | undefined;
  /** Bring a requested size / aspect to what the model accepts; returns what was adjusted. */
  normalise(settings: ModelSettings): { settings: ModelSettings; adjustments: string[] };
  /** Standard price of one image with these settings, for the dry run; undefined when unknown. */
  price(settings: ModelSettings, table?: PriceTable): number | undefined;
  /** Standard price of one read, when not the price table's token rates (the placeholder's is free). */
  readPrice?(model: string, shape: ReadShape, table: PriceTable): number | undefined;
  load(): Promise<ProviderModule>;
}

const asIs = (settings: ModelSettings) => ({ settings, adjustments: [] });
const ALL_GENERATION: (keyof GenerationSettings)[] = ["temperature", "topP", "topK", "seed", "safetySettings"];

export const PROVIDERS: Record<string, ProviderInfo> = {
  placeholder: {
    defaultModel: "placeholder-1",
    limits: { maxInFlight: 8, perMinute: 6000 },
    keyEnv: [],
    retired: {},
    // Taken (and keyed on) but unused: a rehearsal keys as the real build would.
    references: true,
    generation: ALL_GENERATION,
    promptLimit: () => undefined,
    normalise: asIs,
    price: () => 0,
    defaultReadModel: "placeholder-1",
    readPrice: () => 0,
    load: async () => (await import("./placeholder.js")).default,
  },
  google: {
    defaultModel: "gemini-2.5-flash-image",
    defaultReadModel: "gemini-2.5-flash",
    // Gemini quotas are per project and model and shown only in its console: start low.
    limits: { maxInFlight: 2, perMinute: 10 },
    keyEnv: GOOGLE_KEY_ENV,
    retired: {},
    // Imagen answers models.generateImages (predict), not generateContent; on the Gemini API the SDK refuses it.
    unserviceable: (model) =>
      /^(models\/)?imagen-/.test(model)
        ? { why: "is an Imagen model, served only by the predict endpoint (generateImages), which chargen does not call", suggest: "gemini-3-pro-image-preview" }
        : undefined,
    references: true,
    generation: ALL_GENERATION,
    promptLimit: googlePromptLimit,
    referenceLimit: () => GOOGLE_REFERENCE_LIMIT,
    normalise: normaliseGoogle,
    price: (settings, table) => estimateImagePrice(settings, table),
    load: async () => (await import("./google.js")).default,
  },
  openai: {
    defaultModel: "gpt-image-1.5",
    defaultReadModel: "gpt-5-mini",
    // OpenAI's tier 1 allows 5 images per minute.
    limits: { maxInFlight: 2, perMinute: 5 },
    keyEnv: OPENAI_KEY_ENV,
    // The SDK names gpt-image-2.5-sunburst / -flare as gpt-image-1's successors; gpt-image-1.5
    // is suggested for all three because it keeps the same sizes and qualities, and is priced.
    retired: {
      "dall-e-2": { since: "2026-05-12", suggest: "gpt-image-1.5" },
      "dall-e-3": { since: "2026-05-12", suggest: "gpt-image-1.5" },
      "gpt-image-1": { since: "2026-10-23", suggest: "gpt-image-1.5" },
    },
    references: true,
    generation: [],
    promptLimit: openaiPromptLimit,
    referenceLimit: () => OPENAI_REFERENCE_LIMIT,
    normalise: normaliseOpenAI,
    price: (settings, table) => estimateImagePrice(settings, table),
    load: async () => (await import("./openai.js")).default,
  },
  "workers-ai": {
    defaultModel: "@cf/black-forest-labs/flux-1-schnell",
    // Cloudflare allows 720 text-to-image requests a minute per account; an account's other
    // Workers share them, so start well below.
    limits: { maxInFlight: 4, perMinute: 120 },
    keyEnv: WORKERS_AI_TOKEN_ENV,
    accountEnv: WORKERS_AI_ACCOUNT_ENV,
    retired: {},
    unserviceable: workersAiUnserviceable,
    // Text-to-image only: the catalogue's image-input models edit a source image instead.
    references: false,
    generation: ["seed"],
    promptLimit: workersAiPromptLimit,
    normalise: normaliseWorkersAi,
    price: (settings, table) => estimateImagePrice(settings, table),
    load: async () => (await import("./workers-ai.js")).default,
  },
} satisfies Record<ProviderName, ProviderInfo>;

export function providerInfo(name: string): ProviderInfo | undefined {
  return Object.hasOwn(PROVIDERS, name) ? PROVIDERS[name] : undefined;
}

const tables = new WeakMap<ProviderSettings, PriceTable>();

/** The price table with the rules' overrides (computed once per rule set). */
export function priceTable(rules: ProviderSettings): PriceTable {
  let table = tables.get(rules);
  if (!table) tables.set(rules, (table = withOverrides(rules.prices)));
  return table;
}

/** Estimated price of one generation with `settings` under `rules`; undefined when unknown. */
export function estimatePrice(settings: ModelSettings, rules: ProviderSettings): number | undefined {
  return providerInfo(settings.provider)?.price(settings, priceTable(rules));
}

/** Estimated price of one read (images and texts into JSON) under `rules`; undefined when the model has no token rates. */
export function estimateReadPrice(settings: { provider: string; model: string }, shape: ReadShape, rules: ProviderSettings): number | undefined {
  const custom = providerInfo(settings.provider)?.readPrice;
  return custom ? custom(settings.model, shape, priceTable(rules)) : estimateRead(settings, shape, priceTable(rules));
}
