import { describe, expect, it } from "vitest";
import { estimateReadPrice, PROVIDERS } from "../src/providers/catalog.js";
import { atBatchRate, estimateRead, imageInputTokens, modelPrices, PRICES, READ_OUTPUT_TOKENS } from "../src/providers/prices.js";

const rules = {};

describe("image input tokens, as each provider documents them", () => {
  const rule = (provider: string, model: string) => modelPrices(PRICES, provider, model)!.imageInput!;

  it("Gemini 3: by media resolution, high when none is set", () => {
    const g3 = rule("google", "gemini-3-pro-preview");
    expect([imageInputTokens(g3, {}, "low"), imageInputTokens(g3, {}, "medium"), imageInputTokens(g3, {}, "high"), imageInputTokens(g3, {})]).toEqual([280, 560, 1120, 1120]);
  });

  it("Gemini 2.5: 258 per 768 px tile (one for a small image) unless a media resolution is set", () => {
    const g25 = rule("google", "gemini-2.5-flash");
    expect(imageInputTokens(g25, { width: 300, height: 384 })).toBe(258);
    expect(imageInputTokens(g25, { width: 1024, height: 1536 })).toBe(4 * 258);
    expect(imageInputTokens(g25, {})).toBe(4 * 258); // unknown: 1536x1536
    expect(imageInputTokens(g25, { width: 1024, height: 1536 }, "low")).toBe(64);
  });

  it("OpenAI tile models: fit 2048, short side 768, base + per 512 px tile", () => {
    const gpt41 = rule("openai", "gpt-4.1");
    // OpenAI's worked examples: 1024x1024 -> 768x768, 4 tiles, 765 tokens; 2048x4096 -> 768x1536, 6 tiles, 1105.
    expect(imageInputTokens(gpt41, { width: 1024, height: 1024 })).toBe(765);
    expect(imageInputTokens(gpt41, { width: 2048, height: 4096 })).toBe(1105);
    expect(imageInputTokens(gpt41, { width: 500, height: 400 })).toBe(85 + 170);
  });

  it("OpenAI patch models: 32 px patches up to 1536, times the model's multiplier", () => {
    const mini = rule("openai", "gpt-5-mini");
    expect(imageInputTokens(mini, { width: 1024, height: 1024 })).toBe(Math.ceil(1024 * 1.62));
    expect(imageInputTokens(mini, { width: 320, height: 320 })).toBe(Math.ceil(100 * 1.62));
    expect(imageInputTokens(mini, { width: 4096, height: 4096 })).toBe(Math.ceil(1536 * 1.62)); // capped
  });
});

describe("estimate of one read", () => {
  it("prices text at ~4 characters a token, images by the model's rule, and the expected output", () => {
    const shape = { textChars: 4000, images: [{ width: 1024, height: 1536 }], outputTokens: 500 };
    expect(estimateRead({ provider: "google", model: "gemini-2.5-flash" }, shape)).toBeCloseTo(((1000 + 4 * 258) * 0.3 + 500 * 2.5) / 1e6, 6);
    expect(estimateRead({ provider: "openai", model: "gpt-5" }, shape)).toBeCloseTo(((1000 + 70 + 140 * 6) * 1.25 + 500 * 10) / 1e6, 6);
    // No output size given: the default, erring high.
    expect(estimateRead({ provider: "google", model: "gemini-3-pro-preview" }, { textChars: 0, images: [{}], mediaResolution: "low" })).toBeCloseTo((280 * 2 + READ_OUTPUT_TOKENS * 12) / 1e6, 6);
  });

  it("is unknown for a model without token rates, free on the placeholder, and halved at the batch rate", () => {
    const shape = { textChars: 100, images: [] };
    expect(estimateRead({ provider: "openai", model: "gpt-unknown" }, shape)).toBeUndefined();
    expect(estimateReadPrice({ provider: "placeholder", model: "placeholder-1" }, shape, rules)).toBe(0);
    const standard = estimateReadPrice({ provider: "openai", model: "gpt-5-mini" }, shape, rules)!;
    expect(atBatchRate("openai", standard)).toBeCloseTo(standard / 2, 6);
  });

  it("takes the rules' price overrides", () => {
    const overridden = { prices: { google: { "gemini-2.5-flash": { tokens: { textInput: 1, imageInput: 1, textOutput: 1, imageOutput: 1 } } } } };
    expect(estimateReadPrice({ provider: "google", model: "gemini-2.5-flash" }, { textChars: 4000, images: [], outputTokens: 1000 }, overridden)).toBeCloseTo(2000 / 1e6, 6);
  });

  it("names a read model for each provider that can read, priced in the table", () => {
    for (const [name, info] of Object.entries(PROVIDERS)) {
      // A provider with its own read price (the placeholder's: free) needs no token rates.
      if (info.defaultReadModel && !info.readPrice) expect(modelPrices(PRICES, name, info.defaultReadModel)?.tokens, name).toBeDefined();
    }
    expect(PROVIDERS.google!.defaultReadModel).toBe("gemini-2.5-flash");
    expect(PROVIDERS.openai!.defaultReadModel).toBe("gpt-5-mini");
  });
});
