import { describe, expect, it } from "vitest";
import { ChargenError } from "../src/core/errors.js";
import type { ReportedEvent, TargetFacts } from "../src/model/events.js";
import type { JsonValue } from "../src/model/target.js";
import { JsonReporter } from "../src/report/json-reporter.js";

const facts = (id: string, estimatedCostUsd: number | null = 0.04): TargetFacts => ({
  output: `${id}.png`,
  source: { file: `${id}.yaml`, line: 3 },
  provider: "google",
  model: "gemini-2.5-flash-image",
  estimatedCostUsd,
});
const done = (id: string, status: "built" | "cached" | "fresh" | "failed" | "skipped" | "stale", extra: { reasons?: string[]; costUsd?: number; error?: ChargenError } = {}, f = facts(id)): ReportedEvent => ({
  type: "done",
  outcome: { id, status, reasons: extra.reasons ?? [], ...(extra.costUsd === undefined ? {} : { costUsd: extra.costUsd }), ...(extra.error ? { error: extra.error } : {}) },
  facts: f,
});
const feed = (reporter: JsonReporter, events: ReportedEvent[], answerOf?: (id: string) => JsonValue | undefined) => {
  for (const e of events) reporter.log(e);
  return reporter.report(answerOf);
};

describe("the JSON report, from the build's events", () => {
  it("lists the selected targets in order, then those write-backs added; each as its done event says; the summary from them", () => {
    const safety = new ChargenError("target", "refused: safety", { code: "SAFETY" });
    const reporter = new JsonReporter("build");
    const report = feed(reporter, [
      { type: "planned", total: 3, toRun: 2, ids: ["a", "b", "c"] },
      { type: "diagnostic", diagnostic: { severity: "warning", file: "a.yaml", line: 2, message: "odd" } },
      { type: "started", id: "b", action: "generating" },
      // A dependency outside the selection ends too: the report does not list it.
      done("outside", "fresh"),
      done("b", "built", { reasons: ["never built"], costUsd: 0.0390000001 }, facts("b", null)),
      { type: "added", ids: ["d"] },
      { type: "retry", id: "a", attempt: 1, delayMs: 10, error: safety },
      done("a", "failed", { reasons: ["refused: safety"], error: safety }),
      done("d", "cached", { reasons: ["never built"] }),
      done("c", "fresh"),
      { type: "written", path: "b.png", digest: "x" },
      { type: "ended", providerCalls: 2, durationMs: 50 },
      // A data target's answer is read when the report is made (--json), never held while the build runs.
    ], (id) => (id === "b" ? { scenes: ["x"] } : undefined));
    expect(reporter.report().targets.some((t) => "answer" in t)).toBe(false);
    const line = (id: string, rest: object) => ({ id, ...rest });
    expect(JSON.stringify(report)).toBe(
      JSON.stringify({
        command: "build",
        targets: [
          line("a", { status: "failed", reasons: ["refused: safety"], ...facts("a"), costUsd: 0, error: { kind: "target", code: "SAFETY", message: "refused: safety" } }),
          line("b", { status: "built", reasons: ["never built"], ...facts("b", null), costUsd: 0.039, error: null, answer: { scenes: ["x"] } }),
          line("c", { status: "fresh", reasons: [], ...facts("c"), costUsd: 0, error: null }),
          line("d", { status: "cached", reasons: ["never built"], ...facts("d"), costUsd: 0, error: null }),
        ],
        diagnostics: [{ severity: "warning", file: "a.yaml", line: 2, message: "odd" }],
        summary: {
          total: 4, fresh: 1, stale: 0, modified: 0, built: 1, cached: 1, failed: 1, skipped: 0, adopted: 0, accepted: 0, pending: 0,
          costUsd: 0.039, estimatedCostUsd: 0, errors: 0, warnings: 1, providerCalls: 2, durationMs: 50, exitCode: 1,
        },
      }),
    );
  });

  it("a next round: its targets, each it found fresh keeping what the earlier round did; calls add up; its own diagnostics", () => {
    const replan = new ChargenError("target", "r wrote what its prompt reads: planned again", { code: "REPLAN" });
    const reporter = new JsonReporter("build");
    const first = feed(reporter, [
      { type: "planned", total: 3, toRun: 3, ids: ["r", "old", "x"] },
      { type: "diagnostic", diagnostic: { severity: "warning", file: "r.yaml", message: "first round's" } },
      done("r", "built", { costUsd: 0.01 }),
      done("old", "skipped", { reasons: [replan.message], error: replan }),
      done("x", "built", { costUsd: 0.04 }),
      { type: "ended", providerCalls: 2, durationMs: 40 },
    ]);
    expect(first.summary).toMatchObject({ built: 2, skipped: 1, costUsd: 0.05, providerCalls: 2, exitCode: 1 });
    const second = feed(reporter, [
      { type: "planned", total: 3, toRun: 1, ids: ["r", "new", "x"] },
      done("r", "fresh"),
      done("new", "built", { costUsd: 0.04 }),
      done("x", "fresh"),
      { type: "ended", providerCalls: 1, durationMs: 90 },
    ]);
    expect(second.targets.map((t) => [t.id, t.status, t.costUsd])).toEqual([
      ["r", "built", 0.01],
      ["new", "built", 0.04],
      ["x", "built", 0.04],
    ]);
    expect(second.diagnostics).toEqual([]);
    expect(second.summary).toMatchObject({ total: 3, built: 3, skipped: 0, costUsd: 0.09, providerCalls: 3, durationMs: 90, exitCode: 0 });
  });

  it("a plan: nothing spent (costUsd null); --check exits 1 on anything not fresh, 2 on what cannot be built or an error", () => {
    const plan = (command: "check" | "dry-run", statuses: Array<"fresh" | "stale" | "failed">, error = false) =>
      feed(new JsonReporter(command), [
        { type: "planned", total: statuses.length, toRun: statuses.filter((s) => s !== "fresh").length, ids: statuses.map((_, i) => `t${i}`) },
        ...(error ? [{ type: "diagnostic", diagnostic: { severity: "error", file: "x.yaml", line: 1, message: "bad" } } as ReportedEvent] : []),
        ...statuses.map((s, i) => done(`t${i}`, s)),
        { type: "ended", providerCalls: 0, durationMs: 5 },
      ]);
    const check = plan("check", ["fresh", "stale"]);
    expect(check.targets.map((t) => t.costUsd)).toEqual([null, null]);
    expect(check.summary).toMatchObject({ fresh: 1, stale: 1, estimatedCostUsd: 0.04, exitCode: 1 });
    expect(check.command).toBe("check");
    expect(plan("dry-run", ["fresh", "stale"]).summary.exitCode).toBe(0);
    expect(plan("check", ["fresh"]).summary.exitCode).toBe(0);
    expect(plan("dry-run", ["failed"]).summary.exitCode).toBe(2);
    expect(plan("dry-run", ["fresh"], true).summary.exitCode).toBe(2);
  });

  it("takes a target's end only with its facts: the type says so, nothing is thrown in the executor's emit", () => {
    const reporter = new JsonReporter("build");
    // Type-checked (tsconfig.test.json), never run: the executor's `done` carries no facts, and is no reported event.
    const withoutFacts = () =>
      // @ts-expect-error: a reported end has its facts
      reporter.log({ type: "done", outcome: { id: "a", status: "built", reasons: [] } });
    expect(withoutFacts).toBeTypeOf("function");
  });
});

describe("the JSON report, with what the workspace's history made of targets before the build", () => {
  it("an adopted target that is fresh says adopted, with adoption's reasons; an outdated record's reasons come first, in every round", () => {
    const reporter = new JsonReporter("build");
    const events: ReportedEvent[] = [
      { type: "history", id: "a", verdict: "adopted", reasons: ["adopted chapters/a.png"] },
      { type: "history", id: "b", verdict: "outdated", reasons: ["recorded image was made for another scenario"] },
      { type: "history", id: "c", verdict: "adopted", reasons: ["adopted c.png"] },
      { type: "planned", total: 3, toRun: 2, ids: ["a", "b", "c"] },
      done("a", "fresh"),
      done("b", "built", { reasons: ["never built"] }),
      // Adopted, then changed since: it built, and says why it built.
      done("c", "built", { reasons: ["prompt changed"] }),
      { type: "ended", providerCalls: 2, durationMs: 1 },
    ];
    const lines = (r: ReturnType<JsonReporter["report"]>) => r.targets.map((t) => [t.id, t.status, t.reasons]);
    const first = feed(reporter, events);
    expect(lines(first)).toEqual([
      ["a", "adopted", ["adopted chapters/a.png"]],
      ["b", "built", ["recorded image was made for another scenario"]],
      ["c", "built", ["prompt changed"]],
    ]);
    expect(first.summary).toMatchObject({ adopted: 1, built: 2, fresh: 0, exitCode: 0 });
    // A next round finds them all fresh: the same report.
    const second = feed(reporter, [{ type: "planned", total: 3, toRun: 0, ids: ["a", "b", "c"] }, done("a", "fresh"), done("b", "fresh"), done("c", "fresh"), { type: "ended", providerCalls: 0, durationMs: 2 }]);
    expect(lines(second)).toEqual(lines(first));
  });
});
