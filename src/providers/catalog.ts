import type { ModelSettings } from "../graph/target.js";
import type { ProviderLimits, ProviderModule } from "./types.js";

/**
 * What chargen knows about each provider without loading it: default model and limits, retired
 * models, and how to load the implementation. Provider modules (and their SDKs) are imported
 * only when a build actually sends a request.
 */
export interface ProviderInfo {
  defaultModel: string;
  /** Safe defaults; the rules override them per provider and per model. */
  limits: ProviderLimits;
  /** Environment variables holding the API key, first found wins. */
  keyEnv: string[];
  /** Retired model id -> when and a suggested replacement, for the "add a mapping" error. */
  retired: Record<string, { since: string; suggest: string }>;
  /** Bring a requested size / aspect to what the model accepts; returns what was adjusted. */
  normalise(settings: ModelSettings): { settings: ModelSettings; adjustments: string[] };
  /** Standard price of one image with these settings, for the dry run; undefined when unknown. */
  price(settings: ModelSettings): number | undefined;
  load(): Promise<ProviderModule>;
}

const asIs = (settings: ModelSettings) => ({ settings, adjustments: [] });

export const PROVIDERS: Record<string, ProviderInfo> = {
  placeholder: {
    defaultModel: "placeholder-1",
    limits: { maxInFlight: 8, perMinute: 6000 },
    keyEnv: [],
    retired: {},
    normalise: asIs,
    price: () => 0,
    load: async () => (await import("./placeholder.js")).default,
  },
};

export function providerInfo(name: string): ProviderInfo | undefined {
  return Object.hasOwn(PROVIDERS, name) ? PROVIDERS[name] : undefined;
}
