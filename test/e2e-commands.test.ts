import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildJson, chargen, CH1, exampleWorkspace, IMG1, IMG2 } from "./support/cli.js";

/** A workspace rules file that starts from the defaults and changes what a test needs. */
function withRules(ws: string, body: string): void {
  writeFileSync(
    join(ws, "chargen.rules.ts"),
    `import { chapterImages, defineRules } from "chargen";\nexport default defineRules({ rules: [chapterImages()], ${body} });\n`,
  );
}

describe("failures, retries and the other commands", () => {
  it("retries retryable failures until they succeed", async () => {
    const ws = exampleWorkspace();
    withRules(ws, `providers: { placeholder: { options: { failureRate: 0.3 } } }`);
    const r = await buildJson(ws, ["--explain"]);
    expect(r.code).toBe(0);
    const total = r.report.summary.total;
    expect(r.report.summary.built).toBe(total);
    expect(r.calls).toHaveLength(total); // completed generations: one each
    expect(r.report.summary.providerCalls).toBeGreaterThan(total); // attempts, the failed ones included
  });

  it("keeps going past a failed target and reports every failure; --fail-fast stops scheduling", async () => {
    const ws = exampleWorkspace();
    withRules(ws, `providers: { placeholder: { maxInFlight: 1, options: { failureRate: 1, failureKind: "target" } } }`);
    const keepGoing = await buildJson(ws, ["-j", "1"]);
    expect(keepGoing.code).toBe(1);
    expect(keepGoing.report.summary.failed).toBe(keepGoing.report.summary.total);
    expect(keepGoing.report.targets[0].error.kind).toBe("target");
    expect(keepGoing.report.targets[0].reasons[0]).toMatch(/simulated target failure/);

    const fast = await buildJson(ws, ["-j", "1", "--fail-fast"]);
    expect(fast.code).toBe(1);
    expect(fast.report.summary.failed).toBe(1);
    expect(fast.report.summary.skipped).toBe(fast.report.summary.total - 1);
  });

  it("a provider error stops that provider: the rest are reported as not run", async () => {
    const ws = exampleWorkspace();
    withRules(ws, `providers: { placeholder: { maxInFlight: 1, options: { failureRate: 1, failureKind: "provider" } } }`);
    const r = await buildJson(ws, ["-j", "1"]);
    expect(r.code).toBe(1);
    expect(r.report.summary.providerCalls).toBe(1);
    expect(r.report.summary.failed).toBe(1);
    expect(r.report.summary.skipped).toBe(r.report.summary.total - 1);
    const skipped = r.report.targets.find((t: { status: string }) => t.status === "skipped");
    expect(skipped.reasons[0]).toMatch(/^not sent: placeholder was stopped earlier in this build/);
  });

  it("builds only the targets matching a pattern; --explain names the reasons", async () => {
    const ws = exampleWorkspace();
    const r = await chargen(ws, ["build", "--explain", "chapters/ch01-*/*-img-0[12]"], { env: { CHARGEN_PLACEHOLDER_CALL_LOG: join(ws, "calls") } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`built ${IMG1}: never built`);
    expect(readFileSync(join(ws, "calls"), "utf8").trim().split("\n").map((l) => l.split("\t")[0]).sort()).toEqual([
      IMG1,
      IMG2,
      // What they depend on: the zones their moments are set in, and those zones' overview.
      "locations/heron-point-light/overview",
      "locations/heron-point-light/zones/lamp-gallery",
      "locations/heron-point-light/zones/marker-channel",
    ]);
    const none = await chargen(ws, ["build", "nothing/*"]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no target matches "nothing/*"');
  });

  it("targets lists ids, outputs and source lines; why explains one target", async () => {
    const ws = exampleWorkspace();
    const list = await chargen(ws, ["targets", "chapters/**"]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${IMG1}\t${CH1}/images/ch01-the-grey-tide-img-01.png\t${CH1}/imagery.yaml:`);
    await buildJson(ws);
    const file = join(ws, CH1, "imagery.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace('size: "1792x768"', 'size: "1536x1024"'));
    const why = await chargen(ws, ["why", IMG1]);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain(`${IMG1}: stale\n  - size 1792x768 -> 1536x1024\n`);
    const json = JSON.parse((await chargen(ws, ["why", IMG1, "--json"])).stdout);
    expect(json.lock.inputs.settings.size).toBe("1792x768");
    expect(json.inputs.settings.size).toBe("1536x1024");
  });

  it("gc trims the store but keeps what the lock names", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    const file = join(ws, CH1, "imagery.yaml");
    writeFileSync(file, readFileSync(file, "utf8").replace("a tall white-bearded keeper", "a short keeper"));
    await buildJson(ws);
    const r = await chargen(ws, ["gc", "--max-size", "0", "--max-age", "0m"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^gc: removed 1 outputs \(.*\); kept \d+/);
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0);
    const bad = await chargen(ws, ["gc", "--max-size", "lots"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--max-size: expected a size");
  });

  it("usage errors exit 2 with a message", async () => {
    const ws = exampleWorkspace();
    for (const args of [["build", "--check", "--dry-run"], ["build", "-j", "0"], ["frobnicate"], ["build", "--nope"]]) {
      const r = await chargen(ws, args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(/^chargen( build)?: /);
    }
  });
});
