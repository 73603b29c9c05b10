/**
 * Analysis targets through `build --batch` on both engines (issue 13, item 5): twenty reads in one
 * job per provider, no live call, collected and applied through the live build's own path.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { startGeminiBatchFake, startOpenAIBatchFake, type BatchFake } from "./fakes/batch-fake.js";
import { chargen, edit } from "./support/cli.js";
import { cleanUp, providerEnv, scratchExample, SECRET } from "./support/e2e-providers.js";
import { contractViolation } from "../src/rules/memoryquill-contract.js";

const OSRIC = "characters/osric-vane/imagery.yaml";
const DESCRIBE = "characters/*/describe/**";
const READ_MODEL = { google: "gemini-2.5-flash", openai: "gpt-5-mini" } as const;
const running: BatchFake[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((f) => f.stop()));
  await cleanUp();
});

/** The example with twenty imported sketches of Osric lacking all content, reads routed to `provider`. */
function workspace(provider: "google" | "openai"): string {
  const ws = scratchExample();
  const ids = Array.from({ length: 20 }, (_, i) => i + 1);
  for (const n of ids) {
    const image = join(ws, `characters/osric-vane/images/sketch-${n}.png`);
    copyFileSync(join(ws, "characters/osric-vane/images/portrait.png"), image);
    writeFileSync(image, Buffer.concat([readFileSync(image), Buffer.from(`sketch ${n}`)]));
  }
  writeFileSync(
    join(ws, OSRIC),
    readFileSync(join(ws, OSRIC), "utf8") +
      ids.map((n) => `  - id: "osric-sketch-${n}"\n    path: "images/sketch-${n}.png"\n    type: "imported"\n    status: "approved"\n    provenance:\n      source: "manual"\n      created_at: "2025-02-01T09:00:00.000Z"\n`).join(""),
  );
  edit(join(ws, "chargen.rules.ts"), 'read: { provider: "placeholder", model: "placeholder-1" }', `read: { provider: "${provider}", model: "${READ_MODEL[provider]}" }`);
  return ws;
}

describe.each(["google", "openai"] as const)("analysis targets in batch mode on %s", (provider) => {
  it("submits 20 reads as one job, no live call; collect applies each answer into its record", async () => {
    const fake = provider === "google" ? await startGeminiBatchFake({ apiKey: SECRET }) : await startOpenAIBatchFake({ apiKey: SECRET });
    running.push(fake);
    const ws = workspace(provider);
    const env = { ...providerEnv(provider, fake), CHARGEN_BATCH_POLL_MS: "20" };
    const run = (args: string[]) => chargen(ws, args, { env });

    const submitted = await run(["build", "--batch", DESCRIBE]);
    expect(submitted.code, submitted.stderr).toBe(0);
    expect(fake.creates()).toHaveLength(1);
    expect(fake.jobs[0]!.lines).toHaveLength(20);
    expect(fake.liveCalls()).toHaveLength(0);

    const collected = await run(["batch", "collect"]);
    expect(collected.code, collected.stderr).toBe(0);
    const records = (parse(readFileSync(join(ws, OSRIC), "utf8")).image_inventory as { id: string; content?: Record<string, unknown> }[]).filter((r) => r.id.startsWith("osric-sketch-"));
    expect(records).toHaveLength(20);
    for (const r of records) expect(Object.keys(r.content ?? {}).sort()).toEqual(["alt_text", "description", "tags", "title"]);
    expect(contractViolation(OSRIC, parse(readFileSync(join(ws, OSRIC), "utf8")))).toBeUndefined();

    expect((await run(["build", "--check", DESCRIBE])).code).toBe(0);
    expect(fake.liveCalls()).toHaveLength(0);
    expect(fake.creates()).toHaveLength(1);
  });
});

describe("a stale appearance in batch mode", () => {
  it("the prompts that read it wait for it: exactly its read in one job, and no reader in the image job", async () => {
    const ws = scratchExample();
    edit(join(ws, "chargen.rules.ts"), 'provider: "placeholder", model: "placeholder-1", read: { provider: "placeholder", model: "placeholder-1" }', 'read: { provider: "google", model: "gemini-2.5-flash" }');
    edit(join(ws, "characters/nell-farrow/imagery.yaml"), /\nappearance: [^\n]*/, "");
    const dry = await chargen(ws, ["build", "--batch", "-n"]);
    expect(dry.code, dry.stderr).toBe(0);
    const jobs = Object.fromEntries(
      [...dry.stdout.matchAll(/^job (\S+): [^\n]*\n((?: {2}\S+\n)*)/gm)].map((m) => [m[1], m[2]!.trim().split("\n").map((l) => l.trim()).sort()]),
    );
    expect(jobs).toEqual({
      "google/gemini-2.5-flash": ["characters/nell-farrow/profile/appearance"],
      "google/gemini-3-pro-image-preview": ["characters/osric-vane/counting-the-markers", "characters/osric-vane/the-ledger-of-lights", "locations/heron-point-light/overview"],
    });
    // A read job says reads, not images.
    expect(dry.stdout).toMatch(/^job google\/gemini-2\.5-flash: 1 read, ~\$/m);
    for (const id of ["reading-the-fog", "trimming-the-wick", "the-handover"]) {
      expect(dry.stdout + dry.stderr).toContain(`not submitted characters/nell-farrow/${id}: comes after characters/nell-farrow/profile/appearance, which is not fresh: submit it after that one is built\n`);
    }
  });
});
