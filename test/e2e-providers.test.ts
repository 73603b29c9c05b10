/**
 * The real providers end to end: the compiled CLI, the real SDKs, and the fake servers of
 * test/fakes on 127.0.0.1, reached the way a user points chargen elsewhere (OPENAI_BASE_URL,
 * GOOGLE_GEMINI_BASE_URL). What issue 4 asks to be shown through `chargen build` itself:
 * every target built once, rate limits obeyed, 503 / safety / billing handled per target or per
 * provider, --max-cost, no key, and no key anywhere chargen printed or wrote.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { afterEach, describe, expect, it } from "vitest";
import type { FakeServer } from "./fakes/fake-server.js";
import { WORKERS_AI_ACCOUNT } from "./fakes/workers-ai-fake.js";
import { buildJson, chargen, edit, IMG1 } from "./support/cli.js";
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
  type ListedTarget,
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
  error: { kind: string; code: string | null; message: string } | null;
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

/** Ids of the targets that reference `id`'s output, directly or through others: what waits on it. */
function downstreamOf(targets: ListedTarget[], id: string): string[] {
  const output = targets.find((t) => t.id === id)!.output;
  const direct = targets.filter((t) => t.references.includes(output)).map((t) => t.id);
  return [...new Set(direct.flatMap((d) => [d, ...downstreamOf(targets, d)]))].sort();
}

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
      // The built-in rules' model for google (their defaults), not the SDK's default.
      expect(sent.every((e) => /^\/v1beta\/models\/gemini-3-pro-image-preview:generateContent$/.test(e.path))).toBe(true);
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
    const [blocked] = withStatus(r.report, "failed");
    // What references the blocked image (a place's views, the chapter images set there) waits on it, and is skipped.
    const waiting = downstreamOf(await listTargets(ws), blocked!.id);
    expect(withStatus(r.report, "skipped").map((t) => t.id).sort()).toEqual(waiting);
    expect(r.report.summary).toMatchObject({ built: total - 1 - waiting.length, failed: 1 });
    expect(blocked!.error!.kind).toBe("target");
    expect(blocked!.reasons[0]).toMatch(
      provider === "openai"
        ? /^openai: blocked by the provider's moderation: change the prompt or the reference images \(HTTP 400 moderation_blocked: /
        : /^google: the generated image was blocked by the safety filters \(IMAGE_SAFETY\)$/,
    );
    // Not retried: a block is an answer about this target, not a temporary failure.
    expect(generations(fake)).toHaveLength(total - waiting.length);
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
    // Skipped because the provider stopped, or because what they reference (a place's image) failed or was skipped.
    for (const t of withStatus(r.report, "skipped")) expect(t.reasons[0]).toMatch(new RegExp(`^(not sent: ${provider} was stopped earlier in this build|upstream locations/\\S+ (failed|skipped))`));
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

  it("without a key: one message naming OPENAI_API_KEY and --provider placeholder, exit 2, nothing sent; --check and --dry-run need no key", async () => {
    const ws = scratchExample();
    const fake = await startFake("openai");
    const total = (await listTargets(ws)).length;
    const noKey = providerEnv("openai", fake, "");

    const r = await buildJson(ws, ["--provider", "openai"], noKey);
    // A missing key is a configuration error (exit 2): every target is "not sent", none failed.
    expect(r.code).toBe(2);
    expect(r.report.summary).toMatchObject({ built: 0, failed: 0, skipped: total, providerCalls: 0 });
    // The location's views wait on its overview, and each chapter image on the zone it is set in
    // (continuity references): skipped because those were.
    const OVERVIEW = "locations/heron-point-light/overview";
    const listed = await listTargets(ws);
    const placeOf = (id: string) => listed.find((t) => t.id === id)!.references.map((ref) => listed.find((u) => u.output === ref)?.id).find(Boolean);
    const reasons = Object.fromEntries((r.report.targets as TargetRow[]).map((t) => [t.id, t.reasons]));
    for (const id of Object.keys(reasons)) {
      const upstream = placeOf(id);
      expect(reasons[id], id).toEqual([upstream ? `upstream ${upstream} skipped` : "not sent: no API key for openai"]);
    }
    expect(Object.keys(reasons).filter((id) => id.startsWith("chapters/")).every((id) => placeOf(id)?.startsWith("locations/heron-point-light/zones/"))).toBe(true);
    expect(Object.keys(reasons).filter((id) => id.startsWith("locations/heron-point-light/")).sort()).toEqual([
      "locations/heron-point-light/beats/marker-relit",
      OVERVIEW,
      "locations/heron-point-light/zones/lamp-gallery",
      "locations/heron-point-light/zones/marker-channel",
    ]);
    const errors = r.report.diagnostics.filter((d: { severity: string }) => d.severity === "error");
    expect(errors.map((d: { message: string }) => d.message)).toEqual([
      "openai: no API key: set OPENAI_API_KEY (nothing was sent to openai; for a rehearsal without a key: --provider placeholder)",
    ]);
    const plain = await chargen(ws, ["build", "--provider", "openai"], { env: noKey });
    expect(plain.code).toBe(2);
    expect(plain.stderr.split("OPENAI_API_KEY")).toHaveLength(2);
    expect(plain.stderr).toContain("--provider placeholder");

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

  it("a workspace whose files name no provider goes to Gemini, never to the placeholder: without a key, one message and no image", async () => {
    // The example as a real MemoryQuill workspace: without its rules file (which chooses the placeholder).
    const ws = scratchExample();
    rmSync(join(ws, "chargen.rules.ts"));
    const before = everyFile(ws);
    const targets = await listTargets(ws);

    const r = await buildJson(ws, []);
    expect(r.code).toBe(2);
    expect(r.calls).toEqual([]);
    expect(r.report.summary).toMatchObject({ built: 0, failed: 0, skipped: targets.length, providerCalls: 0 });
    expect(new Set(r.report.targets.map((t: { provider: string; model: string }) => `${t.provider}/${t.model}`))).toEqual(new Set(["google/gemini-3-pro-image-preview"]));
    const errors = r.report.diagnostics.filter((d: { severity: string }) => d.severity === "error");
    expect(errors.map((d: { message: string }) => d.message)).toEqual([
      "google: no API key: set GOOGLE_API_KEY or GEMINI_API_KEY (nothing was sent to google; for a rehearsal without a key: --provider placeholder)",
    ]);
    // No image, no lock entry, no YAML write-back: only chargen's own cache and its .gitignore / .gitattributes lines.
    const after = everyFile(ws);
    const changed = [...after.keys()].filter((f) => !f.startsWith(".chargen/") && f !== ".gitignore" && f !== ".gitattributes" && f !== ".calls.log" && !before.get(f)?.equals(after.get(f)!));
    expect(changed).toEqual([]);
    for (const t of targets) expect(after.has(t.output), t.output).toBe(false);
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

describe("Cloudflare Workers AI through the CLI, against its fake", () => {
  afterEach(cleanUp);

  /** The request bodies the fake received, as JSON. */
  const bodies = (fake: FakeServer) => generations(fake).map((e) => e.body as Record<string, unknown>);

  it.each([
    // FLUX.1 schnell answers JSON with a base64 JPEG; SDXL answers the PNG bytes themselves.
    // Every prompt of the example is sent to FLUX, the longer ones cut to its 2048 characters (see below).
    { model: undefined, id: "@cf/black-forest-labs/flux-1-schnell", sized: false },
    { model: "stable-diffusion-xl", id: "@cf/stabilityai/stable-diffusion-xl-base-1.0", sized: true },
  ])("--provider workers-ai --model $model: one request per target to $id, real PNGs in the workspace, then --check is clean", async ({ model, id, sized }) => {
    const { ws, fake } = await example("workers-ai");
    const args = ["--provider", "workers-ai", ...(model ? ["--model", model] : [])];
    const chosen = await listTargets(ws);
    const total = chosen.length;
    expect(total).toBe(14);
    const r = await buildJson(ws, args, providerEnv("workers-ai", fake));
    expect(r.code).toBe(0);
    expect(r.report.summary).toMatchObject({ built: total, failed: 0, skipped: 0, providerCalls: total });
    expect(new Set(r.report.targets.map((t: { model: string }) => t.model))).toEqual(new Set([id]));
    const sent = generations(fake);
    expect(sent).toHaveLength(total);
    expect(sent.every((e) => e.path === `/client/v4/accounts/${WORKERS_AI_ACCOUNT}/ai/run/${id}` && e.answer === 200)).toBe(true);
    // The fake refuses fields a model does not take: a size only where the model takes one.
    expect(bodies(fake).every((b) => ("width" in b) === sized)).toBe(true);
    for (const t of chosen) {
      const bytes = readFileSync(join(ws, t.output));
      expect(isPng(bytes), t.output).toBe(true);
      expect([PNG.sync.read(bytes).width, PNG.sync.read(bytes).height]).toEqual([64, 48]);
    }
    // References are not sent (text-to-image models), and that is said.
    expect(r.report.diagnostics.map((d: { message: string }) => d.message)).toContain(`workers-ai/${id}: reference images not sent (its models generate from the prompt alone)`);
    const check = await chargen(ws, ["build", "--check", ...args]);
    expect(check.code).toBe(0);
    // An image these models never see is no input of their targets: another portrait costs nothing.
    writeFileSync(join(ws, "characters/nell-farrow/images/portrait.png"), IMG1);
    const after = await chargen(ws, ["build", "--check", ...args]);
    expect(after.stdout + after.stderr).toMatch(/\b0 stale\b/);
    expect(after.code).toBe(0);
    expect(generations(fake)).toHaveLength(total);
  });

  it("a 429 pauses the provider for the wait it asked, then every target builds: exactly one extra request", async () => {
    const { ws, fake, total } = await example("workers-ai", SERIAL);
    fake.inject({ kind: "rate-limit", retryAfterMs: 300 });
    const r = await chargen(ws, ["build", "--provider", "workers-ai", "--model", "stable-diffusion-xl"], { env: providerEnv("workers-ai", fake) });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/retrying \S+ in 0\.3s \(attempt 2\): workers-ai: rate limited \(asked to wait 300 ms\): HTTP 429 3040: Capacity temporarily exceeded/);
    expect(generations(fake).map((e) => e.answer)).toEqual([429, ...Array(total).fill(200)]);
  });

  it.each([
    { name: "the daily neuron allocation used up (4006)", fault: { kind: "billing" } as const, reason: /^workers-ai: the account's daily free allocation of neurons is used up: upgrade to Workers Paid/ },
    { name: "a 403", fault: { kind: "status", status: 403 } as const, reason: /^workers-ai: the API key in CLOUDFLARE_API_TOKEN was rejected or lacks access \(HTTP 403 10000: Authentication error\)$/ },
  ])("$name stops the provider: one request, the rest not sent", async ({ fault, reason }) => {
    const { ws, fake, total } = await example("workers-ai", SERIAL);
    fake.inject(fault);
    // SDXL takes every prompt of the example (FLUX only the overview's): the fault is the only failure.
    const r = await buildJson(ws, ["--provider", "workers-ai", "--model", "stable-diffusion-xl"], providerEnv("workers-ai", fake));
    expect(r.code).toBe(1);
    expect(r.report.summary).toMatchObject({ built: 0, failed: 1, skipped: total - 1, providerCalls: 1 });
    const [failed] = withStatus(r.report, "failed");
    expect(failed!.error!.kind).toBe("provider");
    expect(failed!.reasons[0]).toMatch(reason);
    expect(generations(fake)).toHaveLength(1);
  });

  it("a chapter prompt longer than FLUX takes is cut to its 2048 characters, lowest-priority sections first, never the scenario, and sent: one request", async () => {
    const { ws, fake } = await example("workers-ai");
    const env = providerEnv("workers-ai", fake);
    const FLUX = ["--provider", "workers-ai"];
    // The place its moment is set in first (a graph edge): then building IMG1 is one request.
    expect((await buildJson(ws, [...FLUX, "locations/**"], env)).code).toBe(0);
    const before = generations(fake).length;

    const full = JSON.parse((await chargen(ws, ["show", "--json", "--provider", "placeholder", IMG1])).stdout).targets[0];
    const shown = JSON.parse((await chargen(ws, ["show", "--json", ...FLUX, IMG1], { env })).stdout).targets[0];
    expect(full.sent.length).toBeGreaterThan(2048);
    expect(shown.sent.length).toBeLessThanOrEqual(2048);
    // FLUX takes no images: none is listed or sent, nor the words about them (the full prompt's last section); then sections are cut in trim order.
    expect(full.sections.at(-1).role).toBe("references");
    expect(shown.references).toEqual([]);
    expect(shown.sections.map((p: { role: string }) => p.role)).not.toContain("references");
    expect(shown.cut.length).toBeGreaterThan(0);
    expect(shown.sections[0]).toEqual(full.sections[0]);
    expect(shown.sections[0].role).toBe("prompt");

    const r = await buildJson(ws, [...FLUX, IMG1], env);
    expect(r.code).toBe(0);
    const sent = generations(fake).slice(before);
    expect(sent).toHaveLength(1);
    expect((sent[0]!.body as { prompt: string }).prompt).toBe(shown.sent);
    const cut = shown.cut.join(", ");
    expect(r.report.diagnostics.map((d: { message: string }) => d.message)).toContain(
      `${IMG1}: prompt is ${full.sent.length - full.sections.at(-1).text.length - 2} characters, over the 2048 of workers-ai/@cf/black-forest-labs/flux-1-schnell: cut ${cut} to ${shown.sent.length}`,
    );
  });

  it("a scenario longer than FLUX takes on its own fails its target before anything is sent", async () => {
    const { ws, fake } = await example("workers-ai");
    const overview = join(ws, "locations/heron-point-light/imagery.yaml");
    edit(overview, "Gouache storybook illustration with loose ink lines.", `Gouache storybook illustration with loose ink lines.${" A crooked tarred tower.".repeat(90)}`);
    const r = await buildJson(ws, ["--provider", "workers-ai", "locations/heron-point-light/overview"], providerEnv("workers-ai", fake));
    expect(r.code).toBe(1);
    const [failed] = withStatus(r.report, "failed");
    expect(failed!.id).toBe("locations/heron-point-light/overview");
    expect(failed!.reasons[0]).toMatch(/^workers-ai: the prompt is \d{4} characters and @cf\/black-forest-labs\/flux-1-schnell takes at most 2048; shorten it or choose another model$/);
    expect(r.report.diagnostics.some((d: { message: string }) => d.message.endsWith("(still over: shorten the scenario)"))).toBe(true);
    expect(generations(fake)).toHaveLength(0);
  });

  it("without the account id: one message naming CLOUDFLARE_ACCOUNT_ID, nothing sent", async () => {
    const { ws, fake } = await example("workers-ai");
    const env = providerEnv("workers-ai", fake);
    delete env.CLOUDFLARE_ACCOUNT_ID;
    const r = await buildJson(ws, ["--provider", "workers-ai"], env);
    expect(r.code).toBe(2);
    expect(r.report.diagnostics.filter((d: { severity: string }) => d.severity === "error").map((d: { message: string }) => d.message)).toEqual([
      "workers-ai: no API key: set CLOUDFLARE_ACCOUNT_ID (nothing was sent to workers-ai; for a rehearsal without a key: --provider placeholder)",
    ]);
    expect(fake.log).toHaveLength(0);
  });
});
