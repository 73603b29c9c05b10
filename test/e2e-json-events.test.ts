import { describe, expect, it } from "vitest";
import type { ReportedEvent } from "../src/model/events.js";
import { JsonReporter } from "../src/report/json-reporter.js";
import { buildJson, CH1, chargen, edit, exampleWorkspace } from "./support/cli.js";
import { join } from "node:path";

/** The events a run traced (CHARGEN_DEBUG=events), in order. */
const eventsOf = (stderr: string): ReportedEvent[] =>
  stderr
    .split("\n")
    .filter((l) => l.startsWith("[event] "))
    .map((l) => JSON.parse(l.slice("[event] ".length)) as ReportedEvent);

/** The report those events make. */
const reportOf = (command: "build" | "check" | "dry-run", events: ReportedEvent[]) => {
  const reporter = new JsonReporter(command);
  for (const e of events) reporter.log(e);
  return reporter.report();
};

const TRACE = { CHARGEN_DEBUG: "events" };

describe("the JSON report is what the run's event stream says", () => {
  it("build --json: a build with failures, then --check and -n after an edit", async () => {
    const ws = exampleWorkspace();
    // Some generations fail: failed and skipped targets, with their errors, are in the stream too.
    const first = await buildJson(ws, [], { ...TRACE, CHARGEN_PLACEHOLDER_FAILURE_RATE: "0.5" });
    const events = eventsOf(first.stderr);
    expect(first.report.summary.failed).toBeGreaterThan(0);
    expect(events.filter((e) => e.type === "done").length).toBe(first.report.targets.length);
    expect(first.report).toEqual(reportOf("build", events));

    edit(join(ws, CH1, "imagery.yaml"), "a tall white-bearded keeper", "a stooped white-bearded keeper");
    for (const [command, flag] of [["check", "--check"], ["dry-run", "-n"]] as const) {
      const plan = await chargen(ws, ["build", flag, "--json"], { env: TRACE });
      const { analysis: _analysis, ...report } = JSON.parse(plan.stdout);
      expect(report).toEqual(reportOf(command, eventsOf(plan.stderr)));
      expect(plan.code).toBe(command === "check" ? 1 : 0);
    }
  });
});
