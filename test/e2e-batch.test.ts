/**
 * Batch mode end to end (issue 12): the compiled CLI, the real SDKs, and the batch fakes on
 * 127.0.0.1. Every job the fakes create is counted: nothing may be created, or applied, twice.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startGeminiBatchFake, startOpenAIBatchFake, type BatchBehaviour, type BatchFake } from "./fakes/batch-fake.js";
import { buildJson, chargen } from "./support/cli.js";
import { chapterWorkspace, cleanUp, isPng, providerEnv, SECRET, type RealProvider } from "./support/e2e-providers.js";

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

const images = (ws: string) => (existsSync(join(ws, "chapters", "ch01", "images")) ? readdirSync(join(ws, "chapters", "ch01", "images")) : []);
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
});
