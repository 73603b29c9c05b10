import type { BatchEngine, EngineOptions } from "./engine.js";

/** The batch engines chargen has, by provider; loaded lazily (each pulls its SDK). */
export async function loadEngine(provider: string, options: EngineOptions): Promise<BatchEngine | undefined> {
  switch (provider) {
    case "google":
      return new (await import("./gemini.js")).GeminiEngine(options);
    case "openai":
      return new (await import("./openai.js")).OpenAIEngine(options);
    default:
      return undefined;
  }
}

export const hasEngine = (provider: string): boolean => provider === "google" || provider === "openai";
