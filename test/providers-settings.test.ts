import { describe, expect, it } from "vitest";
import type { ModelSettings } from "../src/model/target.js";
import { PROVIDERS } from "../src/providers/catalog.js";
import { classify, parseDuration, redact, retryAfterFromHeaders } from "../src/providers/http-errors.js";
import { costFromTokens, estimateImagePrice, modelPrices, PRICES, withOverrides } from "../src/providers/prices.js";
import { fitFreeSize } from "../src/providers/openai-models.js";

const settings = (provider: string, model: string, extra: Partial<ModelSettings> = {}): ModelSettings => ({ provider, model, format: "png", n: 1, ...extra });
const normalise = (provider: string, model: string, extra: Partial<ModelSettings> = {}) => PROVIDERS[provider]!.normalise(settings(provider, model, extra));

describe("catalog entries", () => {
  it("have current default models, safe limits and the key variables", () => {
    expect(PROVIDERS.openai).toMatchObject({ defaultModel: "gpt-image-1.5", limits: { maxInFlight: 2, perMinute: 5 }, keyEnv: ["OPENAI_API_KEY"] });
    expect(PROVIDERS.google).toMatchObject({
      defaultModel: "gemini-2.5-flash-image",
      limits: { maxInFlight: 2, perMinute: 10 },
      keyEnv: ["GOOGLE_API_KEY", "GEMINI_API_KEY"],
    });
  });

  it("know the retired OpenAI models and suggest a current one", () => {
    expect(PROVIDERS.openai!.retired).toEqual({
      "dall-e-2": { since: "2026-05-12", suggest: "gpt-image-1.5" },
      "dall-e-3": { since: "2026-05-12", suggest: "gpt-image-1.5" },
      "gpt-image-1": { since: "2026-10-23", suggest: "gpt-image-1.5" },
    });
  });

  it("load their modules lazily", async () => {
    expect(typeof (await PROVIDERS.openai!.load()).create).toBe("function");
    expect(typeof (await PROVIDERS.google!.load()).create).toBe("function");
  });
});

describe("openai normalisation", () => {
  it("brings a size to the nearest supported one by shape, and says so", () => {
    expect(normalise("openai", "gpt-image-1.5", { size: "1792x768" })).toEqual({
      settings: settings("openai", "gpt-image-1.5", { size: "1536x1024" }),
      adjustments: ["size 1792x768 -> 1536x1024 (gpt-image-1.5 supports 1024x1024, 1536x1024, 1024x1536)"],
    });
    expect(normalise("openai", "gpt-image-1.5", { size: "768x1344" }).settings.size).toBe("1024x1536");
    expect(normalise("openai", "gpt-image-1.5", { size: "1024x1024" })).toEqual({ settings: settings("openai", "gpt-image-1.5", { size: "1024x1024" }), adjustments: [] });
    expect(normalise("openai", "gpt-image-1.5", { size: "auto" }).settings.size).toBe("auto");
  });

  it("turns an aspect ratio into a size", () => {
    expect(normalise("openai", "gpt-image-1.5", { aspectRatio: "16:9" })).toEqual({
      settings: settings("openai", "gpt-image-1.5", { size: "1536x1024" }),
      adjustments: ["aspect ratio 16:9 -> size 1536x1024 (openai takes a size, not an aspect ratio)"],
    });
    expect(normalise("openai", "gpt-image-1.5", { aspectRatio: "3:4" }).settings.size).toBe("1024x1536");
    expect(normalise("openai", "gpt-image-1.5", { aspectRatio: "1:1" }).settings.size).toBe("1024x1024");
  });

  it("drops an aspect ratio a size already decides, mentioning it only when they disagree", () => {
    expect(normalise("openai", "gpt-image-1.5", { size: "1536x1024", aspectRatio: "3:2" })).toEqual({
      settings: settings("openai", "gpt-image-1.5", { size: "1536x1024" }),
      adjustments: [],
    });
    expect(normalise("openai", "gpt-image-1.5", { size: "1024x1024", aspectRatio: "16:9" }).adjustments).toEqual([
      "aspect ratio 16:9 dropped (size 1024x1024 decides)",
    ]);
    // The size's own adjustment says it all.
    expect(normalise("openai", "gpt-image-1.5", { size: "1792x768", aspectRatio: "21:9" }).adjustments).toEqual([
      "size 1792x768 -> 1536x1024 (gpt-image-1.5 supports 1024x1024, 1536x1024, 1024x1536)",
    ]);
  });

  it("maps DALL-E qualities and drops ones the model does not take", () => {
    expect(normalise("openai", "gpt-image-1.5", { quality: "hd" })).toEqual({
      settings: settings("openai", "gpt-image-1.5", { quality: "high" }),
      adjustments: ["quality hd -> high"],
    });
    expect(normalise("openai", "gpt-image-1.5", { quality: "standard" }).settings.quality).toBe("medium");
    expect(normalise("openai", "gpt-image-1.5", { quality: "medium" }).adjustments).toEqual([]);
    expect(normalise("openai", "gpt-image-1.5", { quality: "2K" })).toEqual({
      settings: settings("openai", "gpt-image-1.5"),
      adjustments: ["quality 2K dropped (gpt-image-1.5 takes low, medium, high, auto)"],
    });
    expect(normalise("openai", "gpt-image-2.5-flare", { quality: "max" }).settings.quality).toBe("max");
  });

  it("keeps free sizes for gpt-image-2, within its limits", () => {
    expect(normalise("openai", "gpt-image-2", { size: "1792x768" })).toEqual({ settings: settings("openai", "gpt-image-2", { size: "1792x768" }), adjustments: [] });
    expect(normalise("openai", "gpt-image-2-2026-04-21", { size: "1000x1000" }).settings.size).toBe("1008x1008");
    expect(normalise("openai", "gpt-image-2", { aspectRatio: "16:9" }).settings.size).toBe("1536x864");
    for (const asked of [
      { width: 8000, height: 1000 },
      { width: 1000, height: 8000 },
      { width: 4000, height: 1333 },
      { width: 5000, height: 5000 },
      { width: 100, height: 10 },
      { width: 1010, height: 337 },
    ]) {
      const fitted = fitFreeSize(asked);
      const ratio = Math.max(fitted.width / fitted.height, fitted.height / fitted.width);
      expect(ratio, JSON.stringify(fitted)).toBeLessThanOrEqual(3);
      expect(Math.max(fitted.width, fitted.height)).toBeLessThanOrEqual(3840);
      expect(fitted.width * fitted.height).toBeLessThanOrEqual(3840 * 2160);
      expect([fitted.width % 16, fitted.height % 16]).toEqual([0, 0]);
    }
    expect(normalise("openai", "gpt-image-2", { size: "4096x4096" }).adjustments[0]).toMatch(/^size 4096x4096 -> 2880x2880 \(gpt-image-2 takes sides in multiples of 16/);
  });
});

describe("google normalisation", () => {
  it("turns a size into the nearest supported aspect ratio and drops the pixels", () => {
    expect(normalise("google", "gemini-2.5-flash-image", { size: "1792x768" })).toEqual({
      settings: settings("google", "gemini-2.5-flash-image", { aspectRatio: "21:9" }),
      adjustments: ["size 1792x768 -> aspect ratio 21:9 (gemini takes an aspect ratio (1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9), not pixels)"],
    });
    expect(normalise("google", "gemini-2.5-flash-image", { size: "1024x1536" }).settings.aspectRatio).toBe("2:3");
    expect(normalise("google", "gemini-2.5-flash-image", { size: "1024x1024" }).settings.aspectRatio).toBe("1:1");
  });

  it("drops a size the aspect ratio already decides, mentioning it only when they disagree", () => {
    expect(normalise("google", "gemini-2.5-flash-image", { size: "1792x768", aspectRatio: "21:9" })).toEqual({
      settings: settings("google", "gemini-2.5-flash-image", { aspectRatio: "21:9" }),
      adjustments: [],
    });
    expect(normalise("google", "gemini-2.5-flash-image", { size: "1024x1024", aspectRatio: "16:9" }).adjustments).toEqual([
      "size 1024x1024 dropped (aspect ratio 16:9 decides)",
    ]);
  });

  it("picks the image size tier for Gemini 3 models from the requested pixels", () => {
    expect(normalise("google", "gemini-3-pro-image-preview", { size: "1792x768" })).toEqual({
      settings: settings("google", "gemini-3-pro-image-preview", { aspectRatio: "21:9", quality: "2K" }),
      adjustments: [
        "size 1792x768 -> aspect ratio 21:9, image size 2K (gemini takes an aspect ratio (1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9) and an image size, not pixels)",
      ],
    });
    expect(normalise("google", "gemini-3-pro-image-preview", { size: "1024x1024" }).settings.quality).toBe("1K");
    expect(normalise("google", "gemini-3-pro-image-preview", { size: "4096x4096" }).settings.quality).toBe("4K");
  });

  it("keeps supported ratios and tiers, snaps others, and maps legacy qualities", () => {
    expect(normalise("google", "gemini-3-pro-image-preview", { aspectRatio: "16:9", quality: "4K" })).toEqual({
      settings: settings("google", "gemini-3-pro-image-preview", { aspectRatio: "16:9", quality: "4K" }),
      adjustments: [],
    });
    const snapped = normalise("google", "gemini-3-pro-image-preview", { aspectRatio: "2:1", quality: "hd" });
    expect(snapped.settings).toMatchObject({ aspectRatio: "16:9", quality: "2K" });
    expect(snapped.adjustments).toEqual([
      "aspect ratio 2:1 -> 16:9 (gemini supports 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9, 21:9)",
      "quality hd -> image size 2K",
    ]);
    expect(normalise("google", "gemini-2.5-flash-image", { quality: "hd" })).toEqual({
      settings: settings("google", "gemini-2.5-flash-image"),
      adjustments: ["quality hd dropped (gemini-2.5-flash-image renders one size)"],
    });
  });

  it("asks for PNG instead of WebP, which it could not deliver", () => {
    expect(normalise("google", "gemini-2.5-flash-image", { format: "webp" })).toEqual({
      settings: settings("google", "gemini-2.5-flash-image"),
      adjustments: ["format webp -> png (gemini answers png; no webp encoder here)"],
    });
  });
});

describe("prices", () => {
  const price = (provider: string, model: string, extra: Partial<ModelSettings> = {}) => PROVIDERS[provider]!.price(settings(provider, model, extra));

  it("prices Gemini images per model and tier", () => {
    expect(price("google", "gemini-2.5-flash-image", { aspectRatio: "16:9" })).toBe(0.039);
    expect(price("google", "gemini-3-pro-image-preview", { quality: "1K" })).toBe(0.134);
    expect(price("google", "gemini-3-pro-image", { quality: "2K" })).toBe(0.134);
    expect(price("google", "gemini-3-pro-image-preview", { quality: "4K" })).toBe(0.24);
    expect(price("google", "gemini-3-pro-image-preview")).toBe(0.134);
  });

  it("prices GPT images by quality and shape", () => {
    expect(price("openai", "gpt-image-1.5", { quality: "low", size: "1024x1024" })).toBe(0.009);
    expect(price("openai", "gpt-image-1.5", { quality: "medium", size: "1536x1024" })).toBe(0.05);
    expect(price("openai", "gpt-image-1.5", { quality: "high", size: "1024x1536" })).toBe(0.2);
    expect(price("openai", "gpt-image-1-mini", { quality: "low", size: "1024x1024" })).toBe(0.005);
    expect(price("openai", "gpt-image-2-2026-04-21", { quality: "high", size: "1024x1024" })).toBe(0.211);
  });

  it("errs high when the quality or size is left to the model", () => {
    expect(price("openai", "gpt-image-1.5", { size: "1024x1024" })).toBe(0.133);
    expect(price("openai", "gpt-image-1.5", { quality: "auto" })).toBe(0.2);
  });

  it("scales free gpt-image-2 sizes by pixels", () => {
    expect(price("openai", "gpt-image-2", { quality: "high", size: "2048x2048" })).toBeCloseTo(0.211 * 4, 6);
  });

  it("does not guess for unknown models", () => {
    expect(price("openai", "gpt-image-9")).toBeUndefined();
    expect(modelPrices(PRICES, "openai", "gpt-image-2.5-flare")).toBeUndefined(); // not a gpt-image-2 snapshot
  });

  it("turns token usage into dollars", () => {
    expect(costFromTokens("openai", "gpt-image-1.5", { textInput: 1_000_000 })).toBe(5);
    expect(costFromTokens("openai", "gpt-image-1.5", { imageOutput: 4160 })).toBeCloseTo(0.133, 3);
    expect(costFromTokens("google", "gemini-2.5-flash-image", { imageOutput: 1290 })).toBeCloseTo(0.039, 3);
    expect(costFromTokens("google", "gemini-3-pro-image-preview", { imageOutput: 2000 })).toBe(0.24);
    expect(costFromTokens("openai", "unknown", { imageOutput: 1 })).toBeUndefined();
  });

  it("can be overridden per provider, model and quality", () => {
    const table = withOverrides({ openai: { "gpt-image-1.5": { image: { low: 0.001 } }, "my-model": { image: { "*": 0.5 } } } });
    expect(estimateImagePrice(settings("openai", "gpt-image-1.5", { quality: "low" }), table)).toBe(0.001);
    expect(estimateImagePrice(settings("openai", "gpt-image-1.5", { quality: "high", size: "1024x1024" }), table)).toBe(0.133);
    expect(estimateImagePrice(settings("openai", "my-model"), table)).toBe(0.5);
    expect(estimateImagePrice(settings("openai", "gpt-image-1.5", { quality: "low", size: "1024x1024" }))).toBe(0.009); // the default table is untouched
  });
});

describe("error classification helpers", () => {
  it("parses the providers' durations", () => {
    expect(parseDuration("20ms")).toBe(20);
    expect(parseDuration("12s")).toBe(12_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("6m0s")).toBe(360_000);
    expect(parseDuration("47s")).toBe(47_000);
    expect(parseDuration("0.5s")).toBe(500);
    expect(parseDuration("soon")).toBeUndefined();
  });

  it("reads retry hints from headers in order of precision", () => {
    const get = (h: Record<string, string>) => (n: string) => h[n];
    expect(retryAfterFromHeaders(get({ "retry-after-ms": "250", "retry-after": "1" }), 429)).toBe(250);
    expect(retryAfterFromHeaders(get({ "retry-after": "3" }), 503)).toBe(3000);
    expect(retryAfterFromHeaders(get({ "retry-after": "Wed, 21 Oct 2026 07:28:10 GMT" }), 429, Date.parse("Wed, 21 Oct 2026 07:28:00 GMT"))).toBe(10_000);
    expect(retryAfterFromHeaders(get({ "x-ratelimit-reset-requests": "1m30s" }), 429)).toBe(90_000);
    // The reset header is on every answer; only a 429 is a request to wait.
    expect(retryAfterFromHeaders(get({ "x-ratelimit-reset-requests": "12s" }), 500)).toBeUndefined();
  });

  it("classifies by status and code", () => {
    const kind = (status: number, code?: string) => classify({ provider: "p", status, message: "m", ...(code ? { code } : {}) }).kind;
    expect(kind(429)).toBe("retryable");
    expect(kind(429, "insufficient_quota")).toBe("provider");
    expect(kind(400, "billing_hard_limit_reached")).toBe("provider");
    expect(kind(401)).toBe("provider");
    expect(kind(403)).toBe("provider");
    expect(kind(400, "moderation_blocked")).toBe("target");
    expect(kind(404)).toBe("target");
    expect(kind(500)).toBe("retryable");
    expect(kind(503)).toBe("retryable");
    expect(classify({ provider: "p", network: "timeout", message: "m" }).details).toEqual({ code: "TIMEOUT" });
    expect(classify({ provider: "p", status: 418, message: "m" }).details).toEqual({ status: 418, code: "HTTP_418" });
  });

  it("masks keys, key parameters and bearer tokens", () => {
    const key = "sk-secret-0000111122223333";
    expect(redact(`bad ${key} at https://x/y?key=${key}&a=1, Authorization: Bearer ${key}`, [key])).toBe(
      "bad [redacted] at https://x/y?key=[redacted]&a=1, Authorization: Bearer [redacted]",
    );
    expect(redact("https://host/v1beta/models/m?key=AIzaOTHER", [])).toBe("https://host/v1beta/models/m?key=[redacted]");
    // A run of 8 or more of the key's characters, a key cut short or its middle, is masked; 7 are not.
    expect(redact(`cut: ${key.slice(0, 12)}… mid ${key.slice(5, 13)}. few ${key.slice(0, 7)}`, [key])).toBe("cut: [redacted]… mid [redacted]. few sk-secr");
    expect(redact("sent with key=AIzaOTHER api_key: sk-OTHER, x-goog-api-key: AIzaX", [])).toBe("sent with key=[redacted] api_key: [redacted], x-goog-api-key: [redacted]");
    const e = classify({ provider: "openai", status: 401, code: "invalid_api_key", message: `Incorrect API key provided: ${key}` }, [key]);
    expect(e.message).not.toContain(key);
  });
});
