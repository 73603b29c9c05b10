import { describe, expect, it } from "vitest";
import type { EngineOptions, LineRequest } from "../src/batch/engine.js";
import { GeminiEngine } from "../src/batch/gemini.js";
import { OpenAIEngine } from "../src/batch/openai.js";
import { pngBytes } from "./fakes/fake-server.js";

const options: EngineOptions = { env: {}, options: {}, uploads: { get: () => undefined, set: async () => {} }, now: () => 0 };
const request: LineRequest = { targetId: "chapters/a/b", key: "k1", prompt: "a lighthouse", negativePrompt: "", model: "m", format: "png", references: [] };
const asked = (key: string) => (key === "k1" ? request : undefined);
const png = pngBytes(8, 6).toString("base64");

describe("the Gemini engine's lines", () => {
  const engine = new GeminiEngine(options);

  it("writes a {key, request} line with image output", async () => {
    const line = JSON.parse(await engine.line({ ...request, model: "gemini-2.5-flash-image", aspectRatio: "16:9" }));
    expect(line).toEqual({
      key: "k1",
      request: { contents: [{ role: "user", parts: [{ text: "a lighthouse" }] }], generationConfig: { responseModalities: ["IMAGE"], imageConfig: { aspectRatio: "16:9" } } },
    });
  });

  it("reads an image at half the price, a per-line error with its reason, and a blocked answer", () => {
    const ok = engine.result(JSON.stringify({ key: "k1", response: { candidates: [{ content: { parts: [{ inlineData: { mimeType: "image/png", data: png } }] }, finishReason: "STOP" }], usageMetadata: { promptTokenCount: 10, candidatesTokenCount: 1290, candidatesTokensDetails: [{ modality: "IMAGE", tokenCount: 1290 }] } } }), (k) => (k === "k1" ? { ...request, model: "gemini-2.5-flash-image" } : undefined));
    expect(ok.result?.mimeType).toBe("image/png");
    // 1290 image tokens at $30/M is $0.0387; 10 text tokens at $0.30/M; halved.
    expect(ok.result?.costUsd).toBeCloseTo((1290 * 30 + 10 * 0.3) / 1e6 / 2, 5);
    const failed = engine.result(JSON.stringify({ key: "k1", error: { code: 400, message: "blocked", status: "INVALID_ARGUMENT" } }), asked);
    expect(failed.error?.message).toBe("google: blocked (INVALID_ARGUMENT)");
    const blocked = engine.result(JSON.stringify({ key: "k1", response: { candidates: [{ content: { parts: [] }, finishReason: "IMAGE_SAFETY" }] } }), asked);
    expect(blocked.error?.details.code).toBe("IMAGE_SAFETY");
    expect(engine.result(JSON.stringify({ key: "other", response: {} }), asked).error?.details.code).toBe("UNKNOWN_KEY");
  });
});

describe("the OpenAI engine's lines", () => {
  const engine = new OpenAIEngine(options);

  it("writes a generations line keyed by custom_id, and refuses a request with references", async () => {
    expect(JSON.parse(await engine.line({ ...request, model: "gpt-image-1.5", size: { width: 1024, height: 1536 }, quality: "hd" }))).toEqual({
      custom_id: "k1",
      method: "POST",
      url: "/v1/images/generations",
      body: { model: "gpt-image-1.5", prompt: "a lighthouse", n: 1, output_format: "png", size: "1024x1536", quality: "high" },
    });
    expect(engine.refusal(request)).toBeUndefined();
    expect(engine.refusal({ ...request, references: [{ path: "p.png", role: "character", bytes: new Uint8Array(), mimeType: "image/png" }] })).toMatch(/cannot carry reference images/);
  });

  it("reads an image, and an error line with the provider's reason", () => {
    const ok = engine.result(JSON.stringify({ custom_id: "k1", response: { status_code: 200, body: { data: [{ b64_json: png }], output_format: "png" } }, error: null }), asked);
    expect(ok.result?.bytes.byteLength).toBeGreaterThan(0);
    const bad = engine.result(JSON.stringify({ custom_id: "k1", response: { status_code: 400, body: { error: { message: "rejected by the safety system", code: "moderation_blocked" } } }, error: null }), asked);
    expect(bad.error?.message).toBe("openai: rejected by the safety system (HTTP 400)");
    expect(bad.error?.details.code).toBe("moderation_blocked");
  });
});
