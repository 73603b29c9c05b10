/**
 * The providers chargen knows, by name: what `--provider` accepts. A module of its own so that
 * checking the option does not load the catalog (a no-op check loads only what it needs); the
 * catalog's entries are held to exactly these names by its type.
 */
export const PROVIDER_NAMES = ["placeholder", "google", "openai", "workers-ai"] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];
