/**
 * The real providers under the hub's one retry policy, pools and provider stop, each against its
 * fake: what a build sees when a provider answers 503, 429, a safety block or a billing limit.
 */
import { afterEach, describe, expect, it } from "vitest";
import { realClock } from "../src/core/clock.js";
import type { ChargenError } from "../src/core/errors.js";
import { Pool } from "../src/core/pool.js";
import { ProviderHub, type RetryPolicy } from "../src/providers/hub.js";
import type { RuleSet } from "../src/rules/api.js";
import type { FakeServer } from "./fakes/fake-server.js";
import { startGeminiFake } from "./fakes/gemini-fake.js";
import { startOpenAIFake } from "./fakes/openai-fake.js";
import { FAKE_KEY, rejection, request } from "./support/providers-fixtures.js";

const FAST: RetryPolicy = { maxAttempts: 4, maxRateLimitedAttempts: 30, baseDelayMs: 10, maxDelayMs: 100, maxRetryAfterMs: 300_000 };

const fakes: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((f) => f.stop()));
});

interface Setup {
  hub: ProviderHub;
  fake: FakeServer;
  retries: { targetId: string; delayMs: number; error: ChargenError }[];
  stops: string[];
  model: string;
}

async function setup(
  provider: "openai" | "google",
  limits = { perMinute: 600, maxInFlight: 2 },
  fakeRate?: { limit: number; windowMs: number },
  pools = new Map<string, Pool>(),
): Promise<Setup> {
  const fake =
    provider === "openai"
      ? await startOpenAIFake({ apiKey: FAKE_KEY, ...(fakeRate ? { rateLimit: fakeRate } : {}) })
      : await startGeminiFake({ apiKey: FAKE_KEY, ...(fakeRate ? { rateLimit: fakeRate } : {}) });
  fakes.push(fake);
  const rules: RuleSet = { rules: [], providers: { [provider]: limits } };
  const env = provider === "openai" ? { OPENAI_API_KEY: FAKE_KEY, OPENAI_BASE_URL: `${fake.url}/v1` } : { GEMINI_API_KEY: FAKE_KEY, GOOGLE_GEMINI_BASE_URL: fake.url };
  const retries: Setup["retries"] = [];
  const stops: string[] = [];
  const hub = new ProviderHub({
    rules,
    env,
    clock: realClock,
    emit: (event) => {
      if (event.type === "retry") retries.push({ targetId: event.id, delayMs: event.delayMs, error: event.error });
      if (event.type === "provider-stopped") stops.push(event.provider);
    },
    pools,
    retry: FAST,
  });
  return { hub, fake, retries, stops, model: provider === "openai" ? "gpt-image-1.5" : "gemini-2.5-flash-image" };
}

const queue = () => new AbortController().signal;

describe.each(["openai", "google"] as const)("%s through the hub", (provider) => {
  it("after a stop, targets waiting for the pool are not sent and do not wait for it", async () => {
    // One request a minute: without the stop signal the second would wait a minute for its slot.
    const { hub, fake, model } = await setup(provider, { perMinute: 1, maxInFlight: 1 });
    fake.inject({ kind: "billing" });
    const started = Date.now();
    const [first, second] = await Promise.all([
      rejection(hub.generate(request({ model, targetId: "a" }), provider, queue())),
      rejection(hub.generate(request({ model, targetId: "b" }), provider, queue())),
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(first.kind).toBe("provider");
    expect(second.message).toMatch(/^not sent: /);
    expect(fake.calls()).toHaveLength(1);
  });

  it("a provider asking to wait longer than a build can (a daily quota) is stopped, not waited for", async () => {
    const { hub, fake, stops, model } = await setup(provider);
    fake.inject({ kind: "rate-limit", retryAfterMs: 3_600_000 });
    const error = await rejection(hub.generate(request({ model }), provider, queue()));
    expect(error.kind).toBe("provider");
    expect(error.message).toMatch(/asked to wait 3600 s/);
    expect(stops).toEqual([provider]);
  });

  it("503 then success: the target succeeds after one retry", async () => {
    const { hub, fake, retries, model } = await setup(provider);
    fake.inject({ kind: "status", status: 503 });
    const result = await hub.generate(request({ model }), provider, queue());
    expect(result.bytes.length).toBeGreaterThan(0);
    expect(fake.calls()).toHaveLength(2);
    expect(retries).toHaveLength(1);
    expect(retries[0]!.error.details.status).toBe(503);
  });

  it("a safety block fails only that target, with a readable reason", async () => {
    const { hub, fake, retries, stops, model } = await setup(provider);
    fake.inject({ kind: "safety" });
    const [blocked, fine] = await Promise.allSettled([
      hub.generate(request({ model, targetId: "a" }), provider, queue()),
      hub.generate(request({ model, targetId: "b" }), provider, queue()),
    ]);
    expect(blocked.status).toBe("rejected");
    const error = (blocked as PromiseRejectedResult).reason as ChargenError;
    expect(error.kind).toBe("target");
    expect(error.message).toMatch(provider === "openai" ? /blocked by the provider's moderation/ : /blocked by the safety filters \(IMAGE_SAFETY\)/);
    expect(fine.status).toBe("fulfilled");
    expect(retries).toHaveLength(0);
    expect(stops).toEqual([]);
  });

  it("a billing-limit answer stops the provider: nothing more is sent", async () => {
    const { hub, fake, stops, model } = await setup(provider, { perMinute: 600, maxInFlight: 1 });
    fake.inject({ kind: "billing" });
    const first = await rejection(hub.generate(request({ model, targetId: "a" }), provider, queue()));
    const second = await rejection(hub.generate(request({ model, targetId: "b" }), provider, queue()));
    expect(first.kind).toBe("provider");
    expect(second.kind).toBe("provider");
    expect(second.message).toMatch(new RegExp(`^not sent: ${provider} was stopped earlier in this build`));
    expect(fake.calls()).toHaveLength(1);
    expect(stops).toEqual([provider]);
    expect(hub.stoppedReason(provider)).toBe(first);
  });

  it("no error or result of any fault carries the key", async () => {
    const { hub, fake, model } = await setup(provider, { perMinute: 600, maxInFlight: 1 });
    const seen: unknown[] = [];
    for (const fault of [
      { kind: "rate-limit", retryAfterMs: 10 },
      { kind: "status", status: 500 },
      { kind: "drop" },
      { kind: "safety" },
      { kind: "empty" },
      { kind: "billing" },
    ] as const) {
      fake.inject(fault);
      try {
        seen.push((await hub.generate(request({ model }), provider, queue())).metadata);
      } catch (e) {
        const error = e as ChargenError;
        seen.push({ message: error.message, details: error.details, kind: error.kind });
      }
    }
    expect(seen).toHaveLength(6);
    expect(JSON.stringify(seen)).not.toContain(FAKE_KEY);
  });

  it("a missing key stops the provider with one message and sends nothing", async () => {
    const { fake, model } = await setup(provider);
    const hub = new ProviderHub({ rules: {}, env: {}, clock: realClock, retry: FAST });
    const first = await rejection(hub.generate(request({ model }), provider, queue()));
    const second = await rejection(hub.generate(request({ model }), provider, queue()));
    // Each target is "not sent"; the one message naming the variables is the build's to report.
    expect([first.message, second.message]).toEqual([`not sent: no API key for ${provider}`, `not sent: no API key for ${provider}`]);
    expect(hub.missingKeys().map((m) => [m.provider, m.error.message])).toEqual([
      [provider, expect.stringMatching(/^\w+: no API key: set (OPENAI_API_KEY|GOOGLE_API_KEY or GEMINI_API_KEY) \(nothing was sent to \w+; for a rehearsal without a key: --provider placeholder\)$/)],
    ]);
    expect(fake.log).toHaveLength(0);
  });
});

describe("rate limits through the hub", () => {
  it("a 429 pauses the pool for the wait the provider asked, then the target succeeds", async () => {
    const { hub, fake, retries, model } = await setup("openai");
    fake.inject({ kind: "rate-limit", retryAfterMs: 300 });
    const started = Date.now();
    await hub.generate(request({ model }), "openai", queue());
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(retries.map((r) => r.delayMs)).toEqual([300]);
    expect(fake.calls()).toHaveLength(2);
  });

  it("gemini's RetryInfo delay is honoured", async () => {
    const { hub, fake, retries, model } = await setup("google");
    fake.inject({ kind: "rate-limit", retryAfterMs: 1000 });
    await hub.generate(request({ model }), "google", queue());
    expect(retries.map((r) => r.delayMs)).toEqual([1000]);
    expect(fake.calls()).toHaveLength(2);
  });

  /**
   * The 60 targets at 30 requests per minute, with time scaled down: the fake's window and
   * the pool's are both 1 s (the hub takes its pools from the caller; this one has a 1 s window).
   */
  it.each([
    // Not 0: the pool counts a request when it starts, the fake when it arrives, and at a 1 s
    // window the milliseconds between the two matter 60 times more than at a minute.
    ["the pool's limit matches the provider's", 30, 15],
    ["the pool allows twice what the provider does", 60, 60],
  ])("60 targets against 30 per window: 0 failed when %s", async (_name, poolLimit, max429) => {
    const windowMs = 1000;
    const pools = new Map([["openai/gpt-image-1.5", new Pool({ maxInFlight: 4, perMinute: poolLimit }, realClock, windowMs)]]);
    const { hub, fake, model } = await setup("openai", { perMinute: poolLimit, maxInFlight: 4 }, { limit: 30, windowMs }, pools);
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => hub.generate(request({ model, targetId: `t${i}` }), "openai", queue())),
    );
    const failed = results.filter((r) => r.status === "rejected");
    expect(failed).toEqual([]);
    const accepted = fake.log.filter((e) => e.answer === 200).length;
    expect(accepted).toBe(60);
    // How many 429s it took, for the record.
    console.info(`60 targets, pool ${poolLimit}/window, fake 30/window: ${fake.overLimitCount} 429s`);
    expect(fake.overLimitCount).toBeLessThanOrEqual(max429);
  });
});
