import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import openai from "../src/providers/openai.js";
import { withOverrides } from "../src/providers/prices.js";
import type { Provider, ProviderFactoryOptions } from "../src/providers/types.js";
import { OPENAI_OUTPUT_TOKENS, settled, startOpenAIFake, type OpenAIFake } from "./fakes/openai-fake.js";
import { startSteady, type Validator } from "./fakes/steady.js";
import { decodePng, FAKE_KEY, jpegReference, pngReference, rejection, request } from "./support/providers-fixtures.js";

let validator: Validator;
let fake: OpenAIFake;

beforeAll(async () => {
  validator = await startSteady();
});
afterAll(async () => {
  await validator.stop();
});
beforeEach(async () => {
  fake = await startOpenAIFake({ apiKey: FAKE_KEY, validator });
});
afterEach(async () => {
  await settled();
  // Every request the SDK sent conforms to OpenAI's OpenAPI description.
  for (const [entry, v] of fake.validations) expect(v.errors, `${entry.method} ${entry.path}`).toEqual([]);
  await fake.stop();
});

const provider = (env: NodeJS.ProcessEnv = { OPENAI_API_KEY: FAKE_KEY, OPENAI_BASE_URL: `${fake.url}/v1` }, options = {}): Provider =>
  openai.create({ env, options });

describe("openai provider against the fake, through the real SDK", () => {
  it("generates from a prompt alone with images.generate", async () => {
    const result = await provider().generate(
      request({ size: { width: 1536, height: 1024 }, quality: "hd", negativePrompt: "text, watermark", format: "png" }),
    );
    expect(decodePng(result.bytes).width).toBe(64);
    expect(result.mimeType).toBe("image/png");
    expect(result.metadata).toMatchObject({ provider: "openai", model: "gpt-image-1.5", requestId: "req_fake_1", size: "1536x1024", quality: "high" });
    // Priced from usage: 30 text tokens in at $5/M, 4160 image tokens out at $32/M.
    expect(result.usage).toEqual({ inputTokens: 30, outputTokens: OPENAI_OUTPUT_TOKENS, imageTokens: OPENAI_OUTPUT_TOKENS });
    expect(result.costUsd).toBeCloseTo((30 * 5 + OPENAI_OUTPUT_TOKENS * 32) / 1e6, 6);

    expect(fake.log).toHaveLength(1);
    const [sent] = fake.log;
    expect(sent!.method).toBe("POST");
    expect(sent!.path).toBe("/v1/images/generations");
    expect(sent!.headers.authorization).toBe(`Bearer ${FAKE_KEY}`);
    expect(sent!.body).toEqual({
      model: "gpt-image-1.5",
      prompt: "A weathered lighthouse keeper with a brass lantern\n\nAvoid: text, watermark",
      n: 1,
      size: "1536x1024",
      quality: "high",
      output_format: "png",
    });
    await settled();
    expect(fake.validations.get(sent!)?.valid).toBe(true);
  });

  it("sends references to images.edit as image[] parts with their real content types", async () => {
    const result = await provider().generate(request({ references: [pngReference(), jpegReference()], quality: "low", format: "jpeg" }));
    expect(result.mimeType).toBe("image/jpeg");
    const [sent] = fake.log;
    expect(sent!.path).toBe("/v1/images/edits");
    expect(sent!.headers["content-type"]).toMatch(/^multipart\/form-data; boundary=/);
    const parts = sent!.parts!;
    expect(parts.filter((p) => p.name === "image[]").map((p) => [p.filename, p.contentType])).toEqual([
      ["reference-1.png", "image/png"],
      ["reference-2.jpg", "image/jpeg"],
    ]);
    const fields = Object.fromEntries(parts.filter((p) => p.value !== undefined).map((p) => [p.name, p.value]));
    expect(fields).toEqual({ model: "gpt-image-1.5", prompt: "A weathered lighthouse keeper with a brass lantern", n: "1", quality: "low", output_format: "jpeg" });
    // Input image tokens are priced at the image rate ($8/M).
    expect(result.costUsd).toBeCloseTo((30 * 5 + 646 * 8 + OPENAI_OUTPUT_TOKENS * 32) / 1e6, 6);
  });

  it("the OpenAPI oracle rejects what a hand-written fake would accept", async () => {
    const bad = await validator.validate("POST", "/v1/images/generations", "application/json", Buffer.from(JSON.stringify({ model: "gpt-image-1.5", prompt: "x", quality: "hd", style: "vivid" })));
    expect(bad.valid).toBe(false);
    expect(bad.errors.join("\n")).toMatch(/body\.quality.*not in allowed values/);
    expect(bad.errors.join("\n")).toMatch(/Unknown property: style/);
  });

  it("without a key fails at the first request, naming the variable, and sends nothing", async () => {
    const p = provider({ OPENAI_BASE_URL: `${fake.url}/v1` });
    const e = await rejection(p.generate(request()));
    expect(e.kind).toBe("provider");
    expect(e.message).toBe("openai: no API key: set OPENAI_API_KEY (nothing was sent to openai)");
    expect(fake.log).toHaveLength(0);
  });

  it("prices usage with the rules' price table when the factory hands one over", async () => {
    const prices = withOverrides({ openai: { "gpt-image-1.5": { tokens: { textInput: 0, imageInput: 0, textOutput: 0, imageOutput: 1_000_000 } } } });
    const options = { env: { OPENAI_API_KEY: FAKE_KEY, OPENAI_BASE_URL: `${fake.url}/v1` }, options: {}, prices } as ProviderFactoryOptions;
    const result = await openai.create(options).generate(request());
    expect(result.costUsd).toBe(OPENAI_OUTPUT_TOKENS);
  });

  it("takes the base URL from the rules when OPENAI_BASE_URL is not set", async () => {
    const p = openai.create({ env: { OPENAI_API_KEY: FAKE_KEY }, options: { baseURL: `${fake.url}/v1` } });
    await p.generate(request());
    expect(fake.log).toHaveLength(1);
  });
});

describe("openai error mapping", () => {
  it.each([
    ["rate limit: retryable with the wait the headers ask for", { kind: "rate-limit", retryAfterMs: 1500 }, "retryable", 429, "rate_limit_exceeded", 1500],
    ["500: retryable", { kind: "status", status: 500 }, "retryable", 500, "server_error", undefined],
    ["503: retryable", { kind: "status", status: 503 }, "retryable", 503, "server_error", undefined],
    ["moderation: fails the target", { kind: "safety" }, "target", 400, "moderation_blocked", undefined],
    ["billing limit: stops the provider", { kind: "billing" }, "provider", 400, "billing_hard_limit_reached", undefined],
    ["insufficient quota (a 429): stops the provider", { kind: "quota" }, "provider", 429, "insufficient_quota", 1000],
  ] as const)("%s", async (_name, fault, kind, status, code, retryAfterMs) => {
    fake.inject(fault);
    const e = await rejection(provider().generate(request()));
    expect(e.kind).toBe(kind);
    expect(e.details.status).toBe(status);
    expect(e.details.code).toBe(code);
    expect(e.details.retryAfterMs).toBe(retryAfterMs);
    expect(e.message).toMatch(/^openai: /);
    expect(fake.log).toHaveLength(1); // the SDK did not retry on its own
  });

  it("a dropped connection is retryable", async () => {
    fake.inject({ kind: "drop" });
    const e = await rejection(provider().generate(request()));
    expect(e.kind).toBe("retryable");
    expect(e.details.status).toBeUndefined();
    expect(e.details.code).toMatch(/^(ECONNRESET|UND_ERR_SOCKET|CONNECTION)$/);
    expect(fake.log).toHaveLength(1);
  });

  it("a timeout is retryable", async () => {
    await fake.stop();
    fake = await startOpenAIFake({ apiKey: FAKE_KEY, delayMs: 400 });
    const e = await rejection(provider(undefined, { timeoutMs: 100 }).generate(request()));
    expect(e.kind).toBe("retryable");
    expect(e.details.code).toBe("TIMEOUT");
  });

  it("an answer without an image fails the target", async () => {
    fake.inject({ kind: "empty" });
    const e = await rejection(provider().generate(request()));
    expect(e.kind).toBe("target");
    expect(e.details.code).toBe("NO_IMAGE");
  });

  it("a rejected key stops the provider, names the variable, and never shows the key", async () => {
    const wrong = "sk-wrong-SECRET-99999999";
    const e = await rejection(provider({ OPENAI_API_KEY: wrong, OPENAI_BASE_URL: `${fake.url}/v1` }).generate(request()));
    expect(e.kind).toBe("provider");
    expect(e.details).toMatchObject({ status: 401, code: "invalid_api_key" });
    expect(e.message).toContain("OPENAI_API_KEY");
    expect(e.message).not.toContain(wrong);
    expect(JSON.stringify(e.details)).not.toContain(wrong);
  });

  it("a 500 that echoes the key at the clip boundary never shows any of it", async () => {
    // The 400-character clip falls 12 characters into the key: a clip before redaction leaked them.
    fake.inject({ kind: "status", status: 500, message: `${"x".repeat(388)}${FAKE_KEY} and again: key=${FAKE_KEY}` });
    const e = await rejection(provider().generate(request()));
    expect(e.kind).toBe("retryable");
    expect(e.message).toContain("[redacted]");
    expect(e.message).not.toContain(FAKE_KEY.slice(0, 8));
    expect(e.message).not.toContain(FAKE_KEY.slice(-8));
  });

  it("an aborted request is reported as aborted", async () => {
    await fake.stop();
    fake = await startOpenAIFake({ apiKey: FAKE_KEY, delayMs: 500 });
    const controller = new AbortController();
    const pending = provider().generate(request({ signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const e = await rejection(pending);
    expect(e.details.code).toBe("ABORTED");
  });
});
