import type { JsonValue } from "../model/target.js";
import type { ChargenError, Diagnostic } from "../core/errors.js";
import type { TargetStatus } from "../model/target.js";
import { workflowCommand } from "./escape.js";

/** One target in the `--json` report (the schema is documented in README.md). */
export interface TargetReport {
  id: string;
  status: TargetStatus;
  reasons: string[];
  output: string;
  source: { file: string; line: number };
  provider: string | null;
  model: string | null;
  estimatedCostUsd: number | null;
  costUsd: number | null;
  error: { kind: ChargenError["kind"]; code: string | null; message: string } | null;
  /** A data target's answer, as recorded (its fields, as the write-back put them into the YAML). */
  answer?: JsonValue;
}

export interface Summary {
  total: number;
  fresh: number;
  stale: number;
  modified: number;
  built: number;
  cached: number;
  failed: number;
  skipped: number;
  adopted: number;
  accepted: number;
  /** In an unfinished batch job: paid for, on its way. */
  pending: number;
  /** Spent in this build. */
  costUsd: number;
  /** What the stale targets would cost (dry run and check). */
  estimatedCostUsd: number;
  providerCalls: number;
  errors: number;
  warnings: number;
  durationMs: number;
  exitCode: number;
}

export interface Report {
  command: "build" | "check" | "dry-run" | "adopt" | "accept";
  targets: TargetReport[];
  diagnostics: Diagnostic[];
  summary: Summary;
  /** The dry run's analysis apart: data targets to read, and their estimate. */
  analysis?: { dataTargets: number; estimatedCostUsd: number; unknownCost: number };
}

export function summarise(targets: TargetReport[], diagnostics: Diagnostic[], extra: Pick<Summary, "providerCalls" | "durationMs" | "exitCode">): Summary {
  const count = (s: TargetStatus) => targets.filter((t) => t.status === s).length;
  const sum = (f: (t: TargetReport) => number | null) => round(targets.reduce((n, t) => n + (f(t) ?? 0), 0));
  return {
    total: targets.length,
    fresh: count("fresh"),
    stale: count("stale"),
    modified: count("modified"),
    built: count("built"),
    cached: count("cached"),
    failed: count("failed"),
    skipped: count("skipped"),
    adopted: count("adopted"),
    accepted: count("accepted"),
    pending: count("pending"),
    costUsd: sum((t) => t.costUsd),
    estimatedCostUsd: sum((t) => (t.status === "stale" ? t.estimatedCostUsd : 0)),
    errors: diagnostics.filter((d) => d.severity === "error").length,
    warnings: diagnostics.filter((d) => d.severity === "warning").length,
    ...extra,
  };
}

/** Dollars to 6 decimals: sums of floats must add up in the report exactly as printed. */
export const round = (usd: number) => Math.round(usd * 1e6) / 1e6;

export const usd = (n: number) => `$${n < 0.01 && n > 0 ? n.toFixed(4) : n.toFixed(2)}`;

/** The closing summary line(s) a person reads. */
export function formatSummary(report: Report): string {
  const s = report.summary;
  const recording = report.command === "adopt" || report.command === "accept";
  const parts =
    report.command === "build"
      ? [`${s.built} built`, `${s.cached} restored from cache`, `${s.fresh} fresh`, `${s.failed} failed`]
      : recording
        ? [report.command === "adopt" ? `${s.adopted} adopted` : `${s.accepted} accepted`, `${s.stale} stale`]
        : [`${s.fresh} fresh`, `${s.stale} stale`, ...(s.failed ? [`${s.failed} cannot be built`] : [])];
  // A build or dry run that adopted first says how many.
  if (s.adopted && !recording) parts.unshift(`${s.adopted} adopted`);
  if (s.modified) parts.push(`${s.modified} modified`);
  if (s.skipped) parts.push(`${s.skipped} not run`);
  if (s.pending) parts.push(`${s.pending} pending in batch`);
  const money = report.command === "build" ? `spent ${usd(s.costUsd)}` : recording ? "no provider call" : `estimated ${usd(s.estimatedCostUsd)}`;
  const issues = [s.errors ? `${s.errors} error${s.errors > 1 ? "s" : ""}` : "", s.warnings ? `${s.warnings} warning${s.warnings > 1 ? "s" : ""}` : ""].filter(Boolean);
  return `${parts.join(", ")}; ${money}${issues.length ? `; ${issues.join(", ")}` : ""} (${(s.durationMs / 1000).toFixed(1)}s)`;
}

/** GitHub Actions annotation at the YAML line of the target's entry. */
export function annotation(t: TargetReport): string {
  return workflowCommand("warning", { file: t.source.file, line: t.source.line }, `${t.id} is ${t.status}: ${t.reasons.join("; ")}`);
}
