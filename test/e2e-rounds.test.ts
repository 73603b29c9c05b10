import { afterEach, describe, expect, it } from "vitest";
import type { ReportedEvent } from "../src/model/events.js";
import { JsonReporter } from "../src/report/json-reporter.js";
import { buildJson } from "./support/cli.js";
import { cleanUp, generations, providerEnv, startFake } from "./support/e2e-providers.js";
import { renamingWorkspace } from "./support/rounds.js";

afterEach(cleanUp);

const statusesOf = (report: { targets: { id: string; status: string }[] }) => report.targets.map((t) => [t.id, t.status]);

describe("a build's next round: a write-back renamed targets the running build had planned", () => {
  it("builds them under their new ids in a second round: each target once, one report of both rounds, exit 0", async () => {
    const fake = await startFake("google");
    const ws = renamingWorkspace();
    const r = await buildJson(ws, ["-j", "1"], { ...providerEnv("google", fake), CHARGEN_DEBUG: "events" });
    // Two rounds in one event stream, and the report is what that stream says.
    const events = r.stderr.split("\n").filter((l) => l.startsWith("[event] ")).map((l) => JSON.parse(l.slice(8)) as ReportedEvent);
    expect(events.filter((e) => e.type === "planned")).toHaveLength(2);
    const reporter = new JsonReporter("build");
    events.forEach((e) => reporter.log(e));
    // Besides what the stream says, --json reads the reading's answer, from the store.
    expect(r.report).toEqual(reporter.report((id) => (id === "pictures/rename" ? { suffix: "-2" } : undefined)));
    expect(r.calls).toEqual(["pictures/rename"]);
    const prompts = generations(fake).map((g) => JSON.stringify(g.body).match(/A picture of ([\w-]+)/)![1]);
    expect(prompts).toEqual(["keep", "alpha-2", "gamma-2"]);
    expect(statusesOf(r.report)).toEqual([
      ["pictures/rename", "built"],
      ["pictures/alpha-2", "built"],
      ["pictures/gamma-2", "built"],
      ["pictures/keep", "built"],
    ]);
    expect(r.report.summary).toMatchObject({ built: 4, skipped: 0, providerCalls: 4, exitCode: 0 });
    expect(r.code).toBe(0);
    expect((await buildJson(ws, [], providerEnv("google", fake))).report.summary).toMatchObject({ fresh: 4, providerCalls: 0 });
    expect(generations(fake).length).toBe(3);
  });

  it("--max-cost spans the rounds: the second spends what the first left", async () => {
    const fake = await startFake("google");
    const ws = renamingWorkspace();
    // One picture costs about $0.039: the first round spends one (keep); $0.1 leaves room for one more, not two.
    // The reason names the --max-cost given and what the whole build spent, not what a round had left.
    const r = await buildJson(ws, ["-j", "1", "--max-cost", "0.1"], providerEnv("google", fake));
    expect(generations(fake).length).toBe(2);
    expect(statusesOf(r.report)).toEqual([
      ["pictures/rename", "built"],
      ["pictures/alpha-2", "built"],
      ["pictures/gamma-2", "skipped"],
      ["pictures/keep", "built"],
    ]);
    expect(r.report.targets.find((t: { id: string }) => t.id === "pictures/gamma-2").reasons[0]).toMatch(/^not started: --max-cost 0\.1 would be passed \(spent \$0\.0774, in flight ~\$0\.0000, this one ~\$0\.0390\)$/);
    expect(r.report.summary.costUsd).toBeLessThanOrEqual(0.1);
    expect(r.report.summary).toMatchObject({ built: 3, skipped: 1, providerCalls: 3, exitCode: 1 });
    expect(r.code).toBe(1);
  });

  it("--max-cost spans the rounds with what the first learnt: its actual spend and how far costs ran over the estimate", async () => {
    const fake = await startFake("google");
    // Estimated at $0.01 a picture, each costs about $0.0387 (its tokens): after the first (keep, round one), estimates are
    // scaled by that. $0.06 leaves no room for a second: one at $0.01 would pass it.
    const ws = renamingWorkspace(`google: { "gemini-2.5-flash-image": { image: { "*": 0.01 } } }`);
    const r = await buildJson(ws, ["-j", "1", "--max-cost", "0.06"], providerEnv("google", fake));
    expect(generations(fake).length).toBe(1);
    expect(statusesOf(r.report)).toEqual([
      ["pictures/rename", "built"],
      ["pictures/alpha-2", "skipped"],
      ["pictures/gamma-2", "skipped"],
      ["pictures/keep", "built"],
    ]);
    expect(r.report.targets[1].reasons).toEqual(["not started: --max-cost 0.06 would be passed (spent $0.0387, in flight ~$0.0000, this one ~$0.0387)"]);
    expect(r.code).toBe(1);
  });

  it("a provider stopped in the first round (billing) gets no request in the next", async () => {
    const fake = await startFake("google");
    fake.inject({ kind: "billing" });
    const ws = renamingWorkspace();
    const r = await buildJson(ws, ["-j", "1"], providerEnv("google", fake));
    expect(generations(fake).length).toBe(1);
    expect(statusesOf(r.report)).toEqual([
      ["pictures/rename", "built"],
      ["pictures/alpha-2", "skipped"],
      ["pictures/gamma-2", "skipped"],
      ["pictures/keep", "failed"],
    ]);
    expect(r.report.targets[1].reasons[0]).toMatch(/^not sent: google was stopped earlier in this build/);
    expect(r.code).toBe(1);
  });

  it("--fail-fast: a failure in the first round ends the build there; without it, the next round runs", async () => {
    for (const failFast of [true, false]) {
      const fake = await startFake("google");
      // The first picture sent (keep, planned again in place) is refused.
      fake.inject({ kind: "safety", where: "prompt" });
      const ws = renamingWorkspace();
      const r = await buildJson(ws, ["-j", "1", ...(failFast ? ["--fail-fast"] : [])], providerEnv("google", fake));
      if (failFast) {
        expect(generations(fake).length).toBe(1);
        expect(statusesOf(r.report)).toEqual([
          ["pictures/rename", "built"],
          ["pictures/alpha", "skipped"],
          ["pictures/gamma", "skipped"],
          ["pictures/keep", "failed"],
        ]);
        expect(r.report.targets[1].error.code).toBe("REPLAN");
        expect(r.code).toBe(1);
      } else {
        // The second round sends the renamed pictures only: keep failed in the first, and is reported as it was.
        expect(generations(fake).length).toBe(3);
        expect(statusesOf(r.report)).toEqual([
          ["pictures/rename", "built"],
          ["pictures/alpha-2", "built"],
          ["pictures/gamma-2", "built"],
          ["pictures/keep", "failed"],
        ]);
        expect(r.report.summary).toMatchObject({ built: 3, failed: 1, providerCalls: 4 });
        expect(r.code).toBe(1);
      }
    }
  });
});
