/** The workers-ai provider against its fake: each model's body, both answer shapes, errors typed into our kinds. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PROVIDERS } from "../src/providers/catalog.js";
import { estimateImagePrice } from "../src/providers/prices.js";
import workersAi from "../src/providers/workers-ai.js";
import type { FakeServer } from "./fakes/fake-server.js";
import { startWorkersAiFake, WORKERS_AI_ACCOUNT } from "./fakes/workers-ai-fake.js";
import { decodePng, FAKE_KEY, rejection, request } from "./support/providers-fixtures.js";

let fake: FakeServer;
beforeEach(async () => {
  fake = await startWorkersAiFake({ apiKey: FAKE_KEY });
});
afterEach(async () => {
  await fake.stop();
});

const env = () => ({ CLOUDFLARE_API_TOKEN: FAKE_KEY, CLOUDFLARE_ACCOUNT_ID: WORKERS_AI_ACCOUNT, CLOUDFLARE_API_BASE_URL: `${fake.url}/client/v4` });
const provider = (options: Record<string, unknown> = {}) => workersAi.create({ env: env(), options });
const FLUX = "@cf/black-forest-labs/flux-1-schnell";
const SDXL = "@cf/stabilityai/stable-diffusion-xl-base-1.0";

describe("workers-ai provider", () => {
  it("FLUX: JSON with a base64 JPEG, converted to the PNG asked for; the negative prompt travels in the text; seed and steps sent", async () => {
    const result = await provider({ steps: { [FLUX]: 8 } }).generate(request({ model: FLUX, negativePrompt: "text", generation: { seed: 7 } }));
    expect(result.mimeType).toBe("image/png");
    expect(decodePng(result.bytes)).toMatchObject({ width: 64, height: 48 });
    expect(result.metadata).toEqual({ provider: "workers-ai", model: FLUX, seed: 7 });
    // 4 tiles of 512x512 (1024x1024) and FLUX's default 4 steps, from the price table.
    expect(result.costUsd).toBeCloseTo(4 * 0.0000528 + 4 * 0.0001056, 6);
    const [sent] = fake.log;
    expect(sent!.path).toBe(`/client/v4/accounts/${WORKERS_AI_ACCOUNT}/ai/run/${FLUX}`);
    expect(sent!.headers.authorization).toBe(`Bearer ${FAKE_KEY}`);
    expect(sent!.body).toEqual({ prompt: "A weathered lighthouse keeper with a brass lantern\n\nAvoid: text", steps: 8, seed: 7 });
  });

  it("SDXL (by its MemoryQuill name): the PNG bytes themselves; size, negative_prompt and guidance as fields", async () => {
    const result = await provider({ guidance: { [SDXL]: 9 } }).generate(request({ model: "stable-diffusion-xl", negativePrompt: "text", size: { width: 1344, height: 768 } }));
    expect(result.mimeType).toBe("image/png");
    expect(decodePng(result.bytes)).toMatchObject({ width: 64, height: 48 });
    expect(result.costUsd).toBe(0);
    expect(fake.log[0]!.path.endsWith(`/ai/run/${SDXL}`)).toBe(true);
    expect(fake.log[0]!.body).toEqual({ prompt: "A weathered lighthouse keeper with a brass lantern", negative_prompt: "text", width: 1344, height: 768, guidance: 9 });
  });

  it.each([
    [{ kind: "status", status: 401 } as const, "provider", /^workers-ai: the API key in CLOUDFLARE_API_TOKEN was rejected or lacks access \(HTTP 401 10000: Authentication error\)$/],
    [{ kind: "billing" } as const, "provider", /^workers-ai: the account's daily free allocation of neurons is used up/],
    [{ kind: "rate-limit", retryAfterMs: 2000 } as const, "retryable", /^workers-ai: rate limited \(asked to wait 2 s\): HTTP 429 3040: /],
    [{ kind: "status", status: 500 } as const, "retryable", /^workers-ai: temporary failure: HTTP 500 3043: Internal server error$/],
    [{ kind: "safety" } as const, "target", /^workers-ai: request rejected \(HTTP 400 3030: AiError: Input prompt contains NSFW content\.\)$/],
    [{ kind: "empty" } as const, "target", /^workers-ai: no image in the response$/],
    [{ kind: "drop" } as const, "retryable", /^workers-ai: connection failed/],
  ])("%j is a %s error", async (fault, kind, message) => {
    fake.inject(fault);
    const e = await rejection(provider().generate(request({ model: FLUX })));
    expect(e.kind).toBe(kind);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain(FAKE_KEY);
    if (fault.kind === "rate-limit") expect(e.details.retryAfterMs).toBe(2000);
    expect(fake.log).toHaveLength(1);
  });

  it("is in the catalog: lazily loaded, priced per tile and step, its short names normalised", async () => {
    expect(typeof (await PROVIDERS["workers-ai"]!.load()).create).toBe("function");
    expect(estimateImagePrice({ provider: "workers-ai", model: FLUX, format: "png", n: 1 })).toBeCloseTo(0.000634, 6);
    expect(estimateImagePrice({ provider: "workers-ai", model: "@cf/leonardo/phoenix-1.0", size: "1536x1024", format: "png", n: 1 })).toBeCloseTo(6 * 0.0058 + 25 * 0.00011, 6);
    expect(PROVIDERS["workers-ai"]!.normalise({ provider: "workers-ai", model: "flux-schnell", format: "png", n: 1, aspectRatio: "16:9" })).toEqual({
      settings: { provider: "workers-ai", model: FLUX, format: "png", n: 1 },
      adjustments: [`aspect ratio 16:9 dropped (${FLUX} renders one size)`],
    });
    expect(PROVIDERS["workers-ai"]!.normalise({ provider: "workers-ai", model: SDXL, format: "png", n: 1, aspectRatio: "16:9" }).settings.size).toBe("1024x576");
  });
});
