import { afterEach, beforeEach, describe, expect, it } from "vitest";
import jpeg from "jpeg-js";
import google from "../src/providers/google.js";
import type { Provider } from "../src/providers/types.js";
import { GEMINI_IMAGE_TOKENS, startGeminiFake, type GeminiFake } from "./fakes/gemini-fake.js";
import { decodePng, FAKE_KEY, jpegReference, pngReference, rejection, request } from "./support/providers-fixtures.js";

let fake: GeminiFake;

beforeEach(async () => {
  fake = await startGeminiFake({ apiKey: FAKE_KEY });
});
afterEach(async () => {
  await fake.stop();
});

const env = (): NodeJS.ProcessEnv => ({ GEMINI_API_KEY: FAKE_KEY, GOOGLE_GEMINI_BASE_URL: fake.url });
const provider = (e: NodeJS.ProcessEnv = env(), options: Record<string, unknown> = {}): Provider => google.create({ env: e, options });
const gemini = (overrides: Parameters<typeof request>[0] = {}) => request({ model: "gemini-2.5-flash-image", ...overrides });

interface SentBody {
  contents: { role: string; parts: { text?: string; inlineData?: { mimeType: string; data: string }; fileData?: { mimeType: string; fileUri: string } }[] }[];
  generationConfig: { responseModalities: string[]; imageConfig?: { aspectRatio?: string; imageSize?: string } };
}

describe("google provider against the fake, through the real SDK", () => {
  it("generates from a prompt alone on the pinned v1beta API, skipping thought parts", async () => {
    const result = await provider().generate(gemini({ aspectRatio: "21:9", negativePrompt: "text" }));
    // The fake's thought image is 8x8; the answer is 64x48.
    expect(decodePng(result.bytes)).toMatchObject({ width: 64, height: 48 });
    expect(result.mimeType).toBe("image/png");
    expect(result.metadata).toMatchObject({ provider: "google", model: "gemini-2.5-flash-image", responseId: "fake-1", finishReason: "STOP" });
    expect(result.metadata.text).toBeUndefined(); // the thought text is not the model's answer
    expect(result.usage).toEqual({ inputTokens: 20, outputTokens: GEMINI_IMAGE_TOKENS, imageTokens: GEMINI_IMAGE_TOKENS });
    expect(result.costUsd).toBeCloseTo((20 * 0.3 + GEMINI_IMAGE_TOKENS * 30) / 1e6, 6); // $0.039 for the image

    const [sent] = fake.log;
    expect(sent!.method).toBe("POST");
    expect(sent!.path).toBe("/v1beta/models/gemini-2.5-flash-image:generateContent");
    expect(sent!.headers["x-goog-api-key"]).toBe(FAKE_KEY);
    expect(sent!.headers["x-server-timeout"]).toBe("180"); // the timeout is set, and told to the server
    expect(sent!.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "A weathered lighthouse keeper with a brass lantern\n\nAvoid: text" }] }],
      generationConfig: { responseModalities: ["IMAGE"], imageConfig: { aspectRatio: "21:9" } },
    });
  });

  it("sends the generation settings the rules or the YAML set: sampling in generationConfig, safety settings beside it", async () => {
    const safetySettings = [{ category: "HARM_CATEGORY_DANGEROUS_CONTENT", threshold: "BLOCK_ONLY_HIGH" }];
    await provider().generate(gemini({ generation: { temperature: 0.4, topP: 0.95, topK: 64, seed: 7, safetySettings } }));
    const body = fake.log[0]!.body as SentBody & { safetySettings?: unknown };
    expect(body.generationConfig).toEqual({ responseModalities: ["IMAGE"], imageConfig: {}, temperature: 0.4, topP: 0.95, topK: 64, seed: 7 });
    expect(body.safetySettings).toEqual(safetySettings);
  });

  it("sends references inline, each after a label saying what it is (its role when it has no label), with its real mime type", async () => {
    const refs = [{ ...pngReference(), label: "Veyra Thornwake: identity portrait" }, jpegReference()];
    const result = await provider().generate(gemini({ model: "gemini-3-pro-image-preview", references: refs, quality: "2K", aspectRatio: "3:4" }));
    expect(result.costUsd).toBeCloseTo((20 * 2 + 516 * 2 + GEMINI_IMAGE_TOKENS * 120) / 1e6, 6);
    const body = fake.log[0]!.body as SentBody;
    expect(fake.log[0]!.path).toBe("/v1beta/models/gemini-3-pro-image-preview:generateContent");
    expect(body.generationConfig.imageConfig).toEqual({ aspectRatio: "3:4", imageSize: "2K" });
    const parts = body.contents[0]!.parts;
    expect(parts.map((p) => p.text ?? p.inlineData?.mimeType)).toEqual([
      "A weathered lighthouse keeper with a brass lantern",
      "Reference image 1: Veyra Thornwake: identity portrait",
      "image/png",
      "Reference image 2: style",
      "image/jpeg",
    ]);
    expect(Buffer.from(parts[2]!.inlineData!.data, "base64").equals(Buffer.from(refs[0]!.bytes))).toBe(true);
    expect(Buffer.from(parts[4]!.inlineData!.data, "base64").equals(Buffer.from(refs[1]!.bytes))).toBe(true);
  });

  it("uploads large references through the Files API once and refers to them by URI", async () => {
    const p = provider(env(), { inlineLimitBytes: 10 });
    const refs = [pngReference(), jpegReference()];
    await p.generate(gemini({ references: refs }));
    await p.generate(gemini({ references: refs }));
    expect(fake.uploads.size).toBe(2); // the second request reuses the uploads
    const uploads = [...fake.uploads.values()];
    expect(uploads.map((u) => [u.mimeType, u.displayName])).toEqual([
      ["image/png", "veyra.png"],
      ["image/jpeg", "harbour.jpg"],
    ]);
    expect(uploads[0]!.bytes!.equals(Buffer.from(refs[0]!.bytes))).toBe(true);
    const starts = fake.log.filter((e) => e.path === "/upload/v1beta/files" && e.headers["x-goog-upload-command"] === "start");
    expect(starts[0]!.headers["x-goog-upload-protocol"]).toBe("resumable");
    expect(starts[0]!.headers["x-goog-api-key"]).toBe(FAKE_KEY);
    const parts = (fake.generations()[1]!.body as SentBody).contents[0]!.parts;
    expect(parts.filter((p) => p.fileData).map((p) => p.fileData)).toEqual([
      { mimeType: "image/png", fileUri: `${fake.url}/v1beta/files/f1` },
      { mimeType: "image/jpeg", fileUri: `${fake.url}/v1beta/files/f2` },
    ]);
    expect(parts.some((p) => p.inlineData)).toBe(false);
  });

  it("converts the PNG Gemini answers to the JPEG the target asked for", async () => {
    const result = await provider().generate(gemini({ format: "jpeg" }));
    expect(result.mimeType).toBe("image/jpeg");
    expect(jpeg.decode(result.bytes)).toMatchObject({ width: 64, height: 48 });
  });

  it("GOOGLE_API_KEY wins over GEMINI_API_KEY; the v1 API can be chosen", async () => {
    const p = provider({ GOOGLE_API_KEY: FAKE_KEY, GEMINI_API_KEY: "other", GOOGLE_GEMINI_BASE_URL: fake.url }, { apiVersion: "v1" });
    await p.generate(gemini());
    expect(fake.log[0]!.headers["x-goog-api-key"]).toBe(FAKE_KEY);
    expect(fake.log[0]!.path).toBe("/v1/models/gemini-2.5-flash-image:generateContent");
  });

  it("without a key fails at the first request, naming both variables, and sends nothing", async () => {
    const e = await rejection(provider({ GOOGLE_GEMINI_BASE_URL: fake.url }).generate(gemini()));
    expect(e.kind).toBe("provider");
    expect(e.message).toBe("google: no API key: set GOOGLE_API_KEY or GEMINI_API_KEY (nothing was sent to google)");
    expect(fake.log).toHaveLength(0);
  });
});

describe("google error mapping", () => {
  it("a 429 is retryable with the RetryInfo delay from the body", async () => {
    fake.inject({ kind: "rate-limit", retryAfterMs: 47_000 });
    const e = await rejection(provider().generate(gemini()));
    expect(e.kind).toBe("retryable");
    expect(e.details).toEqual({ status: 429, code: "RESOURCE_EXHAUSTED", retryAfterMs: 47_000 });
    expect(fake.log).toHaveLength(1);
  });

  it.each([500, 503])("a %i is retryable", async (status) => {
    fake.inject({ kind: "status", status });
    const e = await rejection(provider().generate(gemini()));
    expect(e.kind).toBe("retryable");
    expect(e.details.status).toBe(status);
    expect(e.details.code).toBe(status === 503 ? "UNAVAILABLE" : "INTERNAL");
    expect(fake.log).toHaveLength(1);
  });

  it("a dropped connection is retryable", async () => {
    fake.inject({ kind: "drop" });
    const e = await rejection(provider().generate(gemini()));
    expect(e.kind).toBe("retryable");
    expect(e.details.code).toMatch(/^(ECONNRESET|UND_ERR_SOCKET|CONNECTION)$/);
  });

  it("a timeout is retryable", async () => {
    await fake.stop();
    fake = await startGeminiFake({ apiKey: FAKE_KEY, delayMs: 400 });
    const e = await rejection(provider(env(), { timeoutMs: 100 }).generate(gemini()));
    expect(e.kind).toBe("retryable");
    expect(e.details.code).toBe("TIMEOUT");
  });

  it("an image blocked by safety fails the target with a readable reason", async () => {
    fake.inject({ kind: "safety" });
    const e = await rejection(provider().generate(gemini()));
    expect(e.kind).toBe("target");
    expect(e.details.code).toBe("IMAGE_SAFETY");
    expect(e.message).toBe("google: the generated image was blocked by the safety filters (IMAGE_SAFETY)");
  });

  it("a blocked prompt fails the target with the block reason", async () => {
    fake.inject({ kind: "safety", where: "prompt" });
    const e = await rejection(provider().generate(gemini()));
    expect(e.kind).toBe("target");
    expect(e.details.code).toBe("SAFETY");
    expect(e.message).toBe("google: prompt blocked (SAFETY)");
  });

  it("an answer without an image fails the target and quotes the model", async () => {
    fake.inject({ kind: "empty" });
    const e = await rejection(provider().generate(gemini()));
    expect(e.kind).toBe("target");
    expect(e.details.code).toBe("NO_IMAGE");
    expect(e.message).toContain('no image in the response; the model said: "I can describe the scene');
  });

  it("an exhausted daily quota stops the provider", async () => {
    fake.inject({ kind: "billing" });
    const e = await rejection(provider().generate(gemini()));
    expect(e.kind).toBe("provider");
    expect(e.details.status).toBe(429);
    expect(e.message).toMatch(/^google: the daily quota for this model is used up \(HTTP 429 RESOURCE_EXHAUSTED: /);
  });

  it("a rejected key stops the provider, names the variables, and never shows the key", async () => {
    const wrong = "AIza-wrong-SECRET-1234567";
    const e = await rejection(provider({ GEMINI_API_KEY: wrong, GOOGLE_GEMINI_BASE_URL: fake.url }).generate(gemini()));
    expect(e.kind).toBe("provider");
    expect(e.details).toMatchObject({ status: 400, code: "API_KEY_INVALID" });
    expect(e.message).toContain("GOOGLE_API_KEY or GEMINI_API_KEY");
    expect(e.message).not.toContain(wrong);
  });
});
