import type { Diagnostic } from "../core/errors.js";
import { EXIT } from "../core/exit.js";
import type { ReportedEvent } from "../model/events.js";
import type { JsonValue } from "../model/target.js";
import { summarise, type Report, type TargetReport } from "./report.js";
import { reportLine } from "./target.js";

/** A build's target that did not end as asked: the build exits 1. */
const NOT_DONE = new Set<TargetReport["status"]>(["failed", "skipped", "modified", "pending"]);

/**
 * The report `--json` prints (and the closing summary line reads), made from the build's one
 * event stream as it goes (Wireit's loggers are the model): `log(event)` for every event, then
 * `report()`. It keeps per target only its line in the report, never a prompt, an output or a data
 * target's answer (those are read from the store when the report is made, and only for --json).
 *
 * A build may plan again and run a next round (see commands/build.ts): each `planned` starts one.
 * The report then lists the last round's targets, where a target that round found fresh, or did
 * not run again (it failed or was skipped in an earlier one), keeps what an earlier round did to it; provider calls add up over the rounds, diagnostics are the
 * last round's (it read the files as they are now). What the workspace's history made of a
 * target (`history`, before the build) holds for every round.
 */
export class JsonReporter {
  /** This round's targets in the report's order: those selected, then those write-backs added. */
  private selected: readonly string[] = [];
  private added: string[] = [];
  private lines = new Map<string, TargetReport>();
  /** What earlier rounds reported, by id. */
  private earlier = new Map<string, TargetReport>();
  private readonly history = new Map<string, { verdict: "adopted" | "outdated"; reasons: string[] }>();
  private diagnostics: Diagnostic[] = [];
  private providerCalls = 0;
  private durationMs = 0;

  constructor(private readonly command: "build" | "check" | "dry-run") {}

  log(event: ReportedEvent): void {
    switch (event.type) {
      case "planned":
        if (this.lines.size) this.earlier = new Map(this.rounds().map((t) => [t.id, t]));
        this.selected = event.ids;
        this.added = [];
        this.lines = new Map();
        this.diagnostics = [];
        return;
      case "history":
        this.history.set(event.id, { verdict: event.verdict, reasons: event.reasons });
        return;
      case "added":
        this.added.push(...event.ids);
        return;
      case "diagnostic":
        this.diagnostics.push(event.diagnostic);
        return;
      case "done":
        this.lines.set(event.outcome.id, reportLine(event.outcome, event.facts, this.command === "build"));
        return;
      case "ended":
        this.providerCalls += event.providerCalls;
        this.durationMs = event.durationMs;
        return;
    }
  }

  /** The report; with `answerOf`, each target's line carries what it gives (a data target's answer, read now from the store). */
  report(answerOf?: (id: string) => JsonValue | undefined): Report {
    const targets = this.targets().map((line) => {
      const answer = answerOf?.(line.id);
      return answer === undefined ? line : { ...line, answer };
    });
    const { diagnostics } = this;
    return {
      command: this.command,
      targets,
      diagnostics,
      summary: summarise(targets, diagnostics, { providerCalls: this.providerCalls, durationMs: this.durationMs, exitCode: this.exitCode(targets) }),
    };
  }

  private targets(): TargetReport[] {
    return this.rounds().map((line) => {
      const h = this.history.get(line.id);
      if (h?.verdict === "adopted") return line.status === "fresh" ? { ...line, status: "adopted", reasons: h.reasons } : line;
      // An outdated record says why first; "never built" would only repeat it.
      return h ? { ...line, reasons: [...h.reasons, ...line.reasons.filter((r) => r !== "never built")] } : line;
    });
  }

  /** This round's lines, each it found fresh or did not run (an earlier round's outcome stands) as an earlier round left it. */
  private rounds(): TargetReport[] {
    return [...this.selected, ...this.added].flatMap((id) => {
      const line = this.lines.get(id);
      const before = this.earlier.get(id);
      if (!line) return before ? [before] : [];
      return [line.status === "fresh" && before && before.status !== "skipped" ? before : line];
    });
  }

  private exitCode(targets: TargetReport[]): number {
    if (this.diagnostics.some((d) => d.severity === "error")) return EXIT.error;
    if (this.command === "build") return targets.some((t) => NOT_DONE.has(t.status)) ? EXIT.failed : EXIT.ok;
    // A plan: a target that cannot be built is an error; --check fails on anything not fresh.
    if (targets.some((t) => t.status === "failed")) return EXIT.error;
    return this.command === "check" && targets.some((t) => t.status !== "fresh") ? EXIT.failed : EXIT.ok;
  }
}
