/**
 * The real providers end to end: the compiled CLI, the real SDKs, and the fake servers of
 * test/fakes on 127.0.0.1, reached the way a user points chargen elsewhere (OPENAI_BASE_URL,
 * GOOGLE_GEMINI_BASE_URL). What issue 4 asks to be shown through `chargen build` itself:
 * every target built once, rate limits obeyed, 503 / safety / billing handled per target or per
 * provider, --max-cost, no key, and no key anywhere chargen printed or wrote.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterEach, describe, expect, it } from "vitest";
import type { FakeServer } from "./fakes/fake-server.js";
import { buildJson, chargen } from "./support/cli.js";
import {
  chapterWorkspace,
  cleanUp,
  everyFile,
  generations,
  isPng,
  listTargets,
  providerEnv,
  scratchExample,
  SECRET,
  startFake,
  withDefaultRules,
  type Limits,
  type RealProvider,
} from "./support/e2e-providers.js";

const PROVIDERS: RealProvider[] = ["openai", "google"];

/** Limits that let a 13-target build against a fake take a second, not minutes. */
const FAST: Limits = { maxInFlight: 4, perMinute: 600 };
/** One request at a time, so that which request gets an injected fault is deterministic. */
const SERIAL: Limits = { maxInFlight: 1, perMinute: 600 };

interface TargetRow {
  id: string;
  status: string;
  reasons: string[];
  output: string;
  costUsd: number | null;
  estimatedCostUsd: number | null;
  error: { kind: string; message: string } | null;
}

const withStatus = (report: { targets: TargetRow[] }, status: string) => report.targets.filter((t) => t.status === status);

/** The example workspace with the real provider's limits raised, and its fake. */
async function example(provider: RealProvider, limits: Limits = FAST): Promise<{ ws: string; fake: FakeServer; total: number }> {
  const ws = scratchExample();
  withDefaultRules(ws, { [provider]: limits });
  const fake = await startFake(provider);
  return { ws, fake, total: (await listTargets(ws)).length };
}

/** How many reference images a generation request carried, read off the wire. */
function referencesSent(request: FakeServer["log"][number]): number {
  if (request.parts) return request.parts.filter((p) => p.name === "image[]" || p.name === "image").length;
  const body = request.body as { contents?: { parts?: { inlineData?: unknown; fileData?: unknown }[] }[] } | undefined;
  return (body?.contents?.[0]?.parts ?? []).filter((p) => p.inlineData || p.fileData).length;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe("real providers through the CLI, against their fake servers", () => {
  // Every fake a test started is stopped and its workspaces removed, whatever the test's outcome.
  afterEach(cleanUp);

  it.each(PROVIDERS)("--provider %s builds the example workspace: one request per target, real PNGs, then --check is clean", async (provider) => {
    const { ws, fake } = await example(provider);
    const targets = await listTargets(ws);

    const r = await buildJson(ws, ["--provider", provider], providerEnv(provider, fake));
    expect(r.code).toBe(0);
    expect(r.report.summary).toMatchObject({ total: targets.length, built: targets.length, failed: 0, skipped: 0, providerCalls: targets.length });
    expect(withStatus(r.report, "built").map((t) => t.id).sort()).toEqual(targets.map((t) => t.id).sort());
    for (const t of targets) {
      const bytes = readFileSync(join(ws, t.output));
      expect(isPng(bytes), t.output).toBe(true);
      // The fakes answer 64x48; Gemini's 8x8 "thought" image before it must have been skipped.
      const { width, height } = PNG.sync.read(bytes);
      expect([width, height], t.output).toEqual([64, 48]);
    }

    // Exactly one request per target, each answered with an image, each carrying that target's references.
    const sent = generations(fake);
    expect(sent).toHaveLength(targets.length);
    expect(sent.every((e) => e.answer === 200)).toBe(true);
    expect(sorted(sent.map(referencesSent))).toEqual(sorted(targets.map((t) => t.references.length)));
    if (provider === "openai") {
      // Prompts with references are edits (multipart, image[] parts); prompts alone are generations.
      const withRefs = targets.filter((t) => t.references.length > 0).length;
      expect(sent.filter((e) => e.path === "/v1/images/edits")).toHaveLength(withRefs);
      expect(sent.filter((e) => e.path === "/v1/images/generations")).toHaveLength(targets.length - withRefs);
    } else {
      expect(sent.every((e) => /^\/v1beta\/models\/gemini-2\.5-flash-image:generateContent$/.test(e.path))).toBe(true);
    }

    // --check decides from the lock and the files: no key, no base URL, no request.
    const check = await chargen(ws, ["build", "--check", "--provider", provider]);
    expect(check.code).toBe(0);
    expect(generations(fake)).toHaveLength(targets.length);
  });

  it("60 targets against a fake allowing 30 requests a second: 0 failed, few 429s, exactly 60 images", async () => {
    // The issue's 30 a minute, with time scaled down: the fake's window and the rules' are 1 s.
    const windowMs = 1000;
    const ws = chapterWorkspace({ chapters: 6, imagesPerChapter: 10, limits: { perMinute: 30, maxInFlight: 4, windowMs } });
    const fake = await startFake("openai", { limit: 30, windowMs });
    expect(await listTargets(ws)).toHaveLength(60);

    const r = await buildJson(ws, [], providerEnv("openai", fake));
    expect(r.code).toBe(0);
    expect(r.report.summary).toMatchObject({ total: 60, built: 60, failed: 0, skipped: 0 });
    console.log(`60 targets, rules 30/s, fake 30/s: the fake answered ${fake.overLimitCount} 429s`);
    const sent = generations(fake);
    expect(sent.filter((e) => e.answer === 200)).toHaveLength(60);
    // Every other request was one of the fake's 429s, and each was a provider call chargen counted.
    expect(sent).toHaveLength(60 + fake.overLimitCount);
    expect(r.report.summary.providerCalls).toBe(60 + fake.overLimitCount);
    // Not 0: the pool counts a request when it starts, the fake when it arrives (see providers-hub.test.ts).
    expect(fake.overLimitCount).toBeLessThanOrEqual(10);
  });

  it.each(PROVIDERS)("%s: a 503 is retried and the build succeeds, with exactly one extra request", async (provider) => {
    const { ws, fake, total } = await example(provider);
    fake.inject({ kind: "status", status: 503 });
    const r = await buildJson(ws, ["--provider", provider], providerEnv(provider, fake));
    expect(r.code).toBe(0);
    expect(r.report.summary).toMatchObject({ built: total, failed: 0, skipped: 0, providerCalls: total + 1 });
    expect(generations(fake).map((e) => e.answer).sort()).toEqual([...Array(total).fill(200), 503]);
  });

  it.each(PROVIDERS)("%s: a safety block fails only its target, with a readable reason", async (provider) => {
    const { ws, fake, total } = await example(provider);
    fake.inject({ kind: "safety" });
    const r = await buildJson(ws, ["--provider", provider], providerEnv(provider, fake));
    expect(r.code).toBe(1);
    expect(r.report.summary).toMatchObject({ built: total - 1, failed: 1, skipped: 0 });
    const [blocked] = withStatus(r.report, "failed");
    expect(blocked!.error!.kind).toBe("target");
    expect(blocked!.reasons[0]).toMatch(
      provider === "openai"
        ? /^openai: blocked by the provider's moderation: change the prompt or the reference images \(HTTP 400 moderation_blocked: /
        : /^google: the generated image was blocked by the safety filters \(IMAGE_SAFETY\)$/,
    );
    // Not retried: a block is an answer about this target, not a temporary failure.
    expect(generations(fake)).toHaveLength(total);
  });

  it.each(PROVIDERS)("%s: a billing-limit answer stops the provider: nothing more is sent", async (provider) => {
    // -j 1 and one request in flight: the first request is the one that gets the billing answer.
    const { ws, fake, total } = await example(provider, SERIAL);
    fake.inject({ kind: "billing" });
    const r = await buildJson(ws, ["--provider", provider, "-j", "1"], providerEnv(provider, fake));
    expect(r.code).toBe(1);
    expect(r.report.summary).toMatchObject({ built: 0, failed: 1, skipped: total - 1, providerCalls: 1 });
    const [failed] = withStatus(r.report, "failed");
    expect(failed!.error!.kind).toBe("provider");
    expect(failed!.reasons[0]).toMatch(
      provider === "openai" ? /^openai: billing hard limit reached: raise it in the account's billing settings/ : /^google: the daily quota for this model is used up/,
    );
    // Skipped because the provider stopped, or (a location's views) because their overview was.
    for (const t of withStatus(r.report, "skipped")) expect(t.reasons[0]).toMatch(new RegExp(`^(not sent: ${provider} was stopped earlier in this build|upstream locations/\\S+/overview skipped)`));
    expect(generations(fake)).toHaveLength(1);
  });

  /**
   * The same stop with the default -j 8: the request that gets the billing answer releases its
   * pool slot before it stops the provider (src/providers/hub.ts, `finally { pool.release() }`
   * runs before `this.stop(...)`), and the waiter granted that slot is sent anyway. Measured: 2
   * requests with maxInFlight 1, 3 with 2. Remove `.fails` once the hub re-checks the stop after
   * acquiring a slot.
   */
  it.each(PROVIDERS)("%s: after a billing-limit answer nothing more is sent, with -j 8 too", async (provider) => {
    const { ws, fake, total } = await example(provider, SERIAL);
    fake.inject({ kind: "billing" });
    const r = await buildJson(ws, ["--provider", provider], providerEnv(provider, fake));
    expect(r.report.summary).toMatchObject({ built: 0, failed: 1, skipped: total - 1 });
    expect(generations(fake)).toHaveLength(1);
  });

  it("--max-cost builds exactly the targets that fit, and the report's costs add up", async () => {
    // gpt-image-1.5, high quality, 1024x1024: estimated $0.133 each (prices.ts); the fake's usage
    // (4160 output tokens) makes each cost a little more. With a $0.40 limit, 3 estimates fit
    // (0.399) and a 4th does not (0.532), whatever the order: -j 8 starts them together.
    const ws = chapterWorkspace({ chapters: 1, imagesPerChapter: 6, quality: "high", limits: FAST });
    const fake = await startFake("openai");
    const plan = await buildJson(ws, ["--dry-run"]);
    expect(plan.report.targets.map((t: TargetRow) => t.estimatedCostUsd)).toEqual(Array(6).fill(0.133));

    const limit = 0.4;
    const r = await buildJson(ws, ["--max-cost", String(limit)], providerEnv("openai", fake));
    expect(r.code).toBe(1);
    expect(r.report.summary).toMatchObject({ built: 3, failed: 0, skipped: 3, providerCalls: 3 });
    for (const t of withStatus(r.report, "skipped")) expect(t.reasons[0]).toMatch(/^not started: --max-cost 0\.4 would be passed/);
    expect(generations(fake)).toHaveLength(3);

    const costs = r.report.targets.map((t: TargetRow) => t.costUsd ?? 0);
    const sum = costs.reduce((a: number, b: number) => a + b, 0);
    expect(Math.abs(sum - r.report.summary.costUsd)).toBeLessThan(1e-6);
    expect(withStatus(r.report, "skipped").every((t) => t.costUsd === 0)).toBe(true);
    expect(withStatus(r.report, "built").every((t) => t.costUsd! > 0.133)).toBe(true);
    expect(r.report.summary.costUsd).toBeLessThanOrEqual(limit);
  });

  it("without a key: the build fails naming OPENAI_API_KEY and sends nothing; --check and --dry-run need no key", async () => {
    // As a new user would: the example workspace as it ships (no rules file), the base URL set, no key.
    const ws = scratchExample();
    const fake = await startFake("openai");
    const total = (await listTargets(ws)).length;
    const noKey = providerEnv("openai", fake, "");

    // -j 1: with more, each request already holding a pool slot fails with the same message (see the report).
    const r = await buildJson(ws, ["--provider", "openai", "-j", "1"], noKey);
    expect(r.code).toBe(1);
    expect(r.report.summary).toMatchObject({ built: 0, failed: 1, skipped: total - 1 });
    const [failed] = withStatus(r.report, "failed");
    expect(failed!.error).toEqual({ kind: "provider", message: "openai: no API key: set OPENAI_API_KEY (nothing was sent to openai)" });
    for (const t of withStatus(r.report, "skipped")) {
      expect(t.reasons).toEqual([`not sent: openai was stopped earlier in this build (${failed!.error!.message})`]);
    }
    const plain = await chargen(ws, ["build", "--provider", "openai", "-j", "1"], { env: noKey });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toContain("openai: no API key: set OPENAI_API_KEY");

    // Nothing is built yet, so --check says stale (1) and the dry run prints its plan (0), both keyless.
    const check = await buildJson(ws, ["--check", "--provider", "openai"], noKey);
    expect(check.code).toBe(1);
    expect(check.report.summary).toMatchObject({ total, stale: total, fresh: 0 });
    const dry = await chargen(ws, ["build", "--dry-run", "--provider", "openai"], { env: noKey });
    expect(dry.code).toBe(0);
    const dryJson = await buildJson(ws, ["--dry-run", "--provider", "openai"], noKey);
    const estimates: number[] = dryJson.report.targets.map((t: TargetRow) => t.estimatedCostUsd);
    expect(estimates.every((e) => e > 0)).toBe(true);
    const estimated = estimates.reduce((a, b) => a + b, 0);
    expect(dryJson.report.summary.estimatedCostUsd).toBeCloseTo(estimated, 6);
    expect(dry.stdout).toContain(`estimated $${estimated.toFixed(2)}`);
    expect(fake.log).toHaveLength(0);
  });

  it.each(PROVIDERS)("%s: the key is in every request's auth header and nowhere chargen printed or wrote", async (provider) => {
    const { ws, fake, total } = await example(provider, SERIAL);
    const env = providerEnv(provider, fake);
    let printed = "";
    const run = async (args: string[]) => {
      const r = await chargen(ws, args, { env });
      printed += r.stdout + r.stderr;
      return r;
    };
    // Plain output (not --json) prints every retry and the provider stop, error messages included.
    // A 429 (short hint), a 500, then a 401: retried, retried, then the provider is stopped.
    fake.inject({ kind: "rate-limit", retryAfterMs: 100 }, { kind: "status", status: 500 }, { kind: "status", status: 401 });
    expect((await run(["build", "--provider", provider, "-j", "1"])).code).toBe(1);
    fake.inject({ kind: "billing" });
    expect((await run(["build", "--provider", provider, "-j", "1"])).code).toBe(1);
    fake.inject({ kind: "drop" }, { kind: "safety" }, { kind: "empty" });
    expect((await run(["build", "--provider", provider, "--explain"])).code).toBe(1);
    expect((await run(["build", "--provider", provider, "--json"])).code).toBe(0);
    for (const args of [["build", "--check"], ["build", "--dry-run"], ["targets", "--json"], ["why", (await listTargets(ws))[0]!.id]]) {
      await run([...args, "--provider", provider]);
    }
    // The faults happened (the test is not vacuous): 3 + 1 + 3 failed answers, and every target built in the end.
    expect(generations(fake).filter((e) => e.fault).map((e) => e.fault)).toEqual(["rate-limit", "status", "status", "billing", "drop", "safety", "empty"]);
    expect(generations(fake).filter((e) => e.answer === 200 && !e.fault)).toHaveLength(total);

    // Every request carried the key where the provider expects it...
    const header = provider === "openai" ? "authorization" : "x-goog-api-key";
    const expected = provider === "openai" ? `Bearer ${SECRET}` : SECRET;
    expect(fake.log.length).toBeGreaterThan(0);
    for (const e of fake.log) expect(e.headers[header]).toBe(expected);
    // ...chargen printed the errors those answers carried, naming the variable, not its value...
    const keyEnv = provider === "openai" ? "OPENAI_API_KEY" : "GOOGLE_API_KEY or GEMINI_API_KEY";
    expect(printed).toContain(`${provider}: the API key in ${keyEnv} was rejected or lacks access (HTTP 401`);
    expect(printed).toMatch(new RegExp(`retrying \\S+ in [\\d.]+s \\(attempt 2\\): ${provider}: rate limited`));
    expect(printed).toContain(`provider ${provider} stopped: `);
    // ...and it is in nothing chargen printed, nor in any file of the workspace (.chargen/, the lock, YAML, images).
    expect(printed).not.toContain(SECRET);
    const files = everyFile(ws);
    expect(files.has("chargen.lock")).toBe(true);
    expect([...files.keys()].some((f) => f.startsWith(".chargen/"))).toBe(true);
    const leaks = [...files].filter(([, bytes]) => bytes.includes(SECRET)).map(([f]) => f);
    expect(leaks).toEqual([]);
  });
});
