/**
 * Batch mode end to end (issue 12): the compiled CLI, the real SDKs, and the batch fakes on
 * 127.0.0.1. Every job the fakes create is counted: nothing may be created, or applied, twice.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startGeminiBatchFake, startOpenAIBatchFake, type BatchBehaviour, type BatchFake } from "./fakes/batch-fake.js";
import { buildJson, chargen } from "./support/cli.js";
import { chapterWorkspace, cleanUp, isPng, listTargets, providerEnv, scratchExample, SECRET, type RealProvider } from "./support/e2e-providers.js";

const running: BatchFake[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.stop()));
  await cleanUp();
});

const FAST = { maxInFlight: 4, perMinute: 600 };

async function setUp(provider: RealProvider, images: number, behaviour: Partial<BatchBehaviour> = {}) {
  const fake = provider === "google" ? await startGeminiBatchFake({ apiKey: SECRET }, behaviour) : await startOpenAIBatchFake({ apiKey: SECRET }, behaviour);
  running.push(fake);
  const ws = chapterWorkspace({ chapters: 1, imagesPerChapter: images, limits: FAST, provider });
  const env = { ...providerEnv(provider, fake), CHARGEN_BATCH_POLL_MS: "20" };
  const run = (args: string[]) => chargen(ws, args, { env });
  return { fake, ws, env, run };
}

/** The outputs in place (a kill -9 may leave the applier's temporary files beside them: not outputs). */
const images = (ws: string) => (existsSync(join(ws, "chapters", "ch01", "images")) ? readdirSync(join(ws, "chapters", "ch01", "images")).filter((f) => /^ch01-img-\d+\.png$/.test(f)) : []);
const jobsOf = async (run: (a: string[]) => Promise<{ stdout: string }>) => (JSON.parse((await run(["batch", "list", "--json"])).stdout) as { jobs: { id: string; state: string; lines: number; report: { failed: { targetId: string; reason: string }[]; applied: unknown[]; notApplied: { targetId: string }[] } | null }[] }).jobs;

describe.each<RealProvider>(["google", "openai"])("batch mode on %s", (provider) => {
  it("submits 50 stale targets as one job of 50 lines, with no live call; collect applies them all; then nothing is stale", async () => {
    const { fake, ws, env, run } = await setUp(provider, 50);

    const submitted = await run(["build", "--batch"]);
    expect(submitted.stderr).not.toContain("error");
    expect(submitted.code).toBe(0);
    expect(fake.creates()).toHaveLength(1);
    expect(fake.jobs[0]!.lines).toHaveLength(50);
    expect(fake.liveCalls()).toHaveLength(0);
    expect(images(ws)).toHaveLength(0);

    const collected = await run(["batch", "collect"]);
    expect(collected.code, collected.stderr).toBe(0);
    const files = images(ws);
    expect(files).toHaveLength(50);
    expect(files.every((f) => isPng(readFileSync(join(ws, "chapters", "ch01", "images", f))))).toBe(true);
    const lock = readFileSync(join(ws, "chargen.lock"), "utf8");
    expect(lock).toContain("ch01/ch01-img-50");
    expect(readFileSync(join(ws, "chapters", "ch01", "imagery.yaml"), "utf8")).toContain("file_path:");

    expect((await run(["build", "--check"])).code).toBe(0);
    const live = await buildJson(ws, [], env);
    expect(live.code).toBe(0);
    expect(live.report.summary.providerCalls).toBe(0);
    expect(fake.liveCalls()).toHaveLength(0);
    expect(fake.creates()).toHaveLength(1);
    const [job] = await jobsOf(run);
    expect(job!.state).toBe("applied");
    expect(job!.report!.applied).toHaveLength(50);
  });

  it("while a job runs: --check names it, a live build pays for none of its targets, a second --batch submits nothing", async () => {
    const { fake, ws, env, run } = await setUp(provider, 6, { runningPolls: 1000 });
    expect((await run(["build", "--batch"])).code).toBe(0);
    const [job] = await jobsOf(run);

    const check = await run(["build", "--check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`in batch ${job!.id}, submitted `);

    const live = await buildJson(ws, [], env);
    expect(live.code).toBe(1);
    expect(live.report.summary.providerCalls).toBe(0);
    expect(live.report.targets.every((t: { status: string; reasons: string[] }) => t.status === "pending" && t.reasons.some((r) => r.startsWith(`in batch ${job!.id}`)))).toBe(true);

    const again = await run(["build", "--batch"]);
    expect(again.stderr).toContain(`in batch ${job!.id}`);
    expect(fake.creates()).toHaveLength(1);
    expect(fake.liveCalls()).toHaveLength(0);

    const status = await run(["batch", "status"]);
    expect(status.stdout).toMatch(/running|submitted/);
    fake.behaviour.runningPolls = 0;
    expect((await run(["batch", "collect"])).code).toBe(0);
    expect(images(ws)).toHaveLength(6);
    expect((await run(["build", "--check"])).code).toBe(0);
  });

  it("4 failing lines of 50: 46 applied, 4 reported with the provider's reason; the next --batch submits exactly those 4", async () => {
    const failing = ["picture 7:", "picture 17:", "picture 27:", "picture 37:"];
    const { fake, ws, run } = await setUp(provider, 50, { failWhen: failing });
    await run(["build", "--batch"]);
    const collected = await run(["batch", "collect"]);
    expect(collected.code).toBe(1);
    expect(images(ws)).toHaveLength(46);
    const [job] = await jobsOf(run);
    expect(job!.report!.failed.map((f) => f.targetId).sort()).toEqual(["chapters/ch01/ch01-img-07", "chapters/ch01/ch01-img-17", "chapters/ch01/ch01-img-27", "chapters/ch01/ch01-img-37"]);
    expect(job!.report!.failed.every((f) => /safety/.test(f.reason))).toBe(true);
    expect(collected.stderr).toContain("failed chapters/ch01/ch01-img-07");

    fake.behaviour.failWhen = [];
    expect((await run(["build", "--batch", "--wait"])).code).toBe(0);
    expect(fake.creates()).toHaveLength(2);
    expect(fake.jobs[1]!.lines).toHaveLength(4);
    expect(images(ws)).toHaveLength(50);
    expect(fake.liveCalls()).toHaveLength(0);
  });

  it("a YAML edit between submit and collect: the result is cached, not applied; reverting the edit restores it with no call", async () => {
    const { fake, ws, env, run } = await setUp(provider, 3, { runningPolls: 1 });
    await run(["build", "--batch"]);
    const yaml = join(ws, "chapters", "ch01", "imagery.yaml");
    const original = readFileSync(yaml, "utf8");
    writeFileSync(yaml, original.replace("picture 2:", "picture 2 (edited):"));
    const collected = await run(["batch", "collect"]);
    expect(collected.code).toBe(0);
    expect(images(ws).sort()).toEqual(["ch01-img-01.png", "ch01-img-03.png"]);
    const [job] = await jobsOf(run);
    expect(job!.report!.notApplied.map((n) => n.targetId)).toEqual(["chapters/ch01/ch01-img-02"]);

    writeFileSync(yaml, original);
    const live = await buildJson(ws, [], env);
    expect(live.code).toBe(0);
    expect(live.report.summary.providerCalls).toBe(0);
    expect(live.report.summary.cached).toBe(1);
    expect(images(ws)).toHaveLength(3);
    expect(fake.liveCalls()).toHaveLength(0);
  });

  it("a create whose answer is lost: the job is found under its display name and adopted, never created twice", async () => {
    const { fake, ws, run } = await setUp(provider, 5, { loseCreate: true });
    const submitted = await run(["build", "--batch", "--wait"]);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(fake.jobs).toHaveLength(1);
    expect(fake.creates()).toHaveLength(1);
    expect(images(ws)).toHaveLength(5);
  });

  it("a 429 to a create: with --wait it is tried again later, and one job is created", async () => {
    const { fake, ws, run } = await setUp(provider, 3);
    // OpenAI's upload is the first counted request, Gemini's (resumable) upload is not: the create is.
    fake.inject(...(provider === "openai" ? [{ kind: "status" as const, status: 503 }] : []), { kind: "rate-limit", retryAfterMs: 1000 });
    const r = await run(["build", "--batch", "--wait"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("trying again later");
    expect(fake.jobs).toHaveLength(1);
    expect(images(ws)).toHaveLength(3);
  });

  it("a 503 to a poll is not an error of the job: it is asked again", async () => {
    const { fake, ws, run } = await setUp(provider, 2, { runningPolls: 1000 });
    await run(["build", "--batch"]);
    fake.inject({ kind: "status", status: 503 });
    const first = await run(["batch", "collect"]);
    expect(first.code).toBe(1);
    expect(first.stderr).toContain("asked again later");
    fake.behaviour.runningPolls = 0;
    expect((await run(["batch", "collect", "--wait"])).code).toBe(0);
    expect(images(ws)).toHaveLength(2);
  });

  it.each(["create", "created", "download", "apply"] as const)("kill -9 at %s: the rerun completes with no job created twice and no result applied twice", async (at) => {
    const { fake, ws, env, run } = await setUp(provider, 8, at === "apply" || at === "download" ? {} : { hang: at });
    if (at === "download" || at === "apply") {
      await run(["build", "--batch"]);
      if (at === "download") fake.behaviour.hang = "download";
    }
    const killed = await chargen(ws, at === "create" || at === "created" ? ["build", "--batch"] : ["batch", "collect"], {
      env,
      onSpawn: (child) => {
        if (at === "apply") {
          const timer = setInterval(() => {
            if (images(ws).length >= 1) {
              clearInterval(timer);
              child.kill("SIGKILL");
            }
          }, 2);
          child.on("exit", () => clearInterval(timer));
        } else void fake.hung.then(() => child.kill("SIGKILL"));
      },
    });
    if (at !== "apply") expect(killed.code).toBe(null);

    const rerun = await run(["batch", "collect", "--wait"]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(fake.jobs).toHaveLength(1);
    expect(images(ws)).toHaveLength(8);
    expect(images(ws).every((f) => isPng(readFileSync(join(ws, "chapters", "ch01", "images", f))))).toBe(true);
    const journal = readFileSync(join(ws, ".chargen", "actions.jsonl"), "utf8").split("\n").filter(Boolean);
    expect(journal).toHaveLength(9); // its header and 8 records
    expect((await run(["build", "--check"])).code).toBe(0);
    expect(fake.liveCalls()).toHaveLength(0);
  });
});

describe("batch mode, what is shown before anything is sent", () => {
  it("-n lists the job and its cost at batch price (half), and creates nothing", async () => {
    const { fake, ws, run } = await setUp("google", 4);
    const dry = await run(["build", "--batch", "-n"]);
    expect(dry.code).toBe(0);
    // gemini-2.5-flash-image: $0.039 an image, half in batch.
    expect(dry.stdout).toContain("job google/gemini-2.5-flash-image: 4 images, ~$0.078 at batch price");
    expect(fake.log).toHaveLength(0);
    expect(existsSync(join(ws, ".chargen", "batches"))).toBe(false);
  });

  it("no key: a clear error naming the variable, and no job is recorded", async () => {
    const { fake, ws, env } = await setUp("google", 2);
    const r = await chargen(ws, ["build", "--batch"], { env: { ...env, GEMINI_API_KEY: "" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("GOOGLE_API_KEY or GEMINI_API_KEY");
    expect(fake.log).toHaveLength(0);
    expect(existsSync(join(ws, ".chargen", "batches"))).toBe(false);
  });

  it("--max-cost bounds a submission as a whole: only what fits is submitted", async () => {
    const { fake, run } = await setUp("google", 4);
    const r = await run(["build", "--batch", "--max-cost", "0.04"]);
    expect(r.code).toBe(1);
    expect(fake.jobs[0]!.lines).toHaveLength(2);
    expect(r.stderr).toContain("--max-cost 0.04 would be passed");
  });

  it("an expired job: what was done is applied, the rest is stale again and is submitted by the next --batch", async () => {
    const { fake, ws, run } = await setUp("openai", 10, { end: "expired", partial: 4 });
    await run(["build", "--batch"]);
    expect((await run(["batch", "collect"])).code).toBe(1);
    expect(images(ws)).toHaveLength(4);
    const [job] = await jobsOf(run);
    expect(job!.state).toBe("applied");
    expect(job!.report!.failed).toHaveLength(6);
    expect(job!.report!.failed[0]!.reason).toContain("expired");
    fake.behaviour.end = "succeeded";
    await run(["build", "--batch", "--wait"]);
    expect(fake.jobs[1]!.lines).toHaveLength(6);
    expect(images(ws)).toHaveLength(10);
  });
});

describe("cancelling a batch job", () => {
  it.each<RealProvider>(["google", "openai"])("%s: cancel, then collect what was done; the rest is stale again and no longer in flight", async (provider) => {
    const { fake, ws, run } = await setUp(provider, 5, { runningPolls: 1000, partial: 2 });
    await run(["build", "--batch"]);
    const [job] = await jobsOf(run);
    const cancelled = await run(["batch", "cancel", job!.id]);
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(fake.jobs[0]!.state).toBe("cancelled");
    expect((await run(["batch", "collect"])).code).toBe(1);
    // OpenAI returns the part done before the cancel; Gemini returns nothing.
    expect(images(ws)).toHaveLength(provider === "openai" ? 2 : 0);
    const check = await run(["build", "--check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).not.toContain("in batch");
    expect((await run(["batch", "cancel", job!.id])).code).toBe(2);
  });
});

describe("batch mode with reference images", () => {
  it("Gemini: each reference image is uploaded once per digest, and a later job reuses the upload", async () => {
    const fake = await startGeminiBatchFake({ apiKey: SECRET });
    running.push(fake);
    const ws = scratchExample();
    const env = { ...providerEnv("google", fake), CHARGEN_BATCH_POLL_MS: "20" };
    const first = await chargen(ws, ["build", "--batch", "--wait", "--provider", "google"], { env });
    expect(first.code, first.stderr).toBe(0);
    const targets = await listTargets(ws);
    const referenced = new Set(targets.flatMap((t) => t.references));
    const imageUploads = () => [...fake.uploads!.values()].filter((u) => u.mimeType.startsWith("image/"));
    expect(referenced.size).toBeGreaterThan(0);
    expect(imageUploads()).toHaveLength(referenced.size);
    // One wave per depth: the views of a location reference its overview, and a chapter image the
    // zone it is set in, so each goes once what it references is applied.
    const byOutput = new Map(targets.map((t) => [t.output, t]));
    const depth = (t: (typeof targets)[number]): number => Math.max(0, ...t.references.flatMap((r) => (byOutput.has(r) ? [1 + depth(byOutput.get(r)!)] : [])));
    const waves = [0, 1, 2].map((d) => targets.filter((t) => depth(t) === d).length);
    expect(waves.every((n) => n > 0)).toBe(true);
    expect(fake.jobs.map((j) => j.lines.length)).toEqual(waves);
    expect(fake.liveCalls()).toHaveLength(0);
    expect((await chargen(ws, ["build", "--check", "--provider", "google"], { env })).code).toBe(0);

    // A changed prompt of a target with references that nothing references: a new job, no new upload.
    const withRefs = targets.find((t) => t.references.length && !targets.some((o) => o.references.includes(t.output)))!;
    const file = join(ws, withRefs.id.split("/").slice(0, 2).join("/"), "imagery.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace(/(prompt_used: \|\n\s+)/, "$1Revised. "));
    expect((await chargen(ws, ["build", "--batch", "--wait", "--provider", "google"], { env })).code).toBe(0);
    expect(fake.creates()).toHaveLength(waves.length + 1);
    expect(imageUploads()).toHaveLength(referenced.size);
  });

  it("OpenAI: targets with references are not batched (an edit's images cannot travel in a batch line): they are reported and left for a live build", async () => {
    const fake = await startOpenAIBatchFake({ apiKey: SECRET });
    running.push(fake);
    const ws = scratchExample();
    const env = { ...providerEnv("openai", fake), CHARGEN_BATCH_POLL_MS: "20" };
    const targets = await listTargets(ws);
    const r = await chargen(ws, ["build", "--batch", "--provider", "openai"], { env });
    expect(r.code).toBe(1);
    const withRefs = targets.filter((t) => t.references.length);
    expect(withRefs.length).toBeGreaterThan(0);
    // A view whose reference is its location's overview waits for that one first (without --wait, no next wave).
    const outputs = new Map(targets.map((t) => [t.output, t.id]));
    for (const t of withRefs) {
      const upstream = t.references.map((p) => outputs.get(p)).find((id) => id !== undefined);
      expect(r.stderr).toContain(upstream ? `not submitted ${t.id}: upstream ${upstream} is not built yet` : `not submitted ${t.id}: openai batches cannot carry reference images`);
    }
    expect(fake.jobs[0]!.lines).toHaveLength(targets.length - withRefs.length);
    expect(fake.liveCalls()).toHaveLength(0);
  });
});

