import type { Store } from "../cache/store.js";
import { ChargenError } from "../core/errors.js";
import type { JsonValue } from "../model/target.js";
import type { TargetFacts, TargetOutcome } from "../model/events.js";
import type { Workspace } from "../workspace/open.js";
import { round, type TargetReport } from "./report.js";

/** One target as the JSON report and the summary show it (adopt and accept: what they recorded, nothing spent). */
export function targetReport(ws: Workspace, id: string, status: TargetReport["status"], reasons: string[], estimate: number | undefined): TargetReport {
  return reportLine({ id, status, reasons }, targetFacts(ws, id, estimate), false);
}

/** What the report shows of a target besides how it ended, from the workspace: carried by its `done` event. */
export function targetFacts(ws: Workspace, id: string, estimate: number | undefined): TargetFacts {
  const record = ws.records.get(id)!;
  const resolved = ws.settings.get(id);
  const settings = resolved && !(resolved instanceof ChargenError) ? resolved.settings : undefined;
  return {
    // An adopted image keeps its own file.
    output: ws.lock.get(id)?.output ?? record.output,
    source: { file: record.source.file, line: record.source.line },
    provider: settings?.provider ?? null,
    model: settings?.model ?? null,
    estimatedCostUsd: estimate === undefined ? null : round(estimate),
  };
}

/** A target's line in the report: how it ended (in a plan, what it would do) and its facts; `spent` is false in a plan (its cost is null). */
export function reportLine(outcome: TargetOutcome, facts: TargetFacts, spent: boolean): TargetReport {
  const { id, status, reasons, error } = outcome;
  return {
    id,
    status,
    reasons,
    ...facts,
    costUsd: spent ? round(outcome.costUsd ?? 0) : null,
    error: error ? { kind: error.kind, code: error.details.code ?? null, message: error.message } : null,
  };
}

/** A data target's answer as the lock records it, from the store; undefined for an image, or when there is none. */
export function recordedAnswer(ws: Workspace, store: Pick<Store, "readBlob">, id: string): JsonValue | undefined {
  const entry = ws.lock.get(id);
  if (ws.records.get(id)?.kind !== "data" || !entry) return undefined;
  const bytes = store.readBlob(entry.outputDigest);
  return bytes && (JSON.parse(new TextDecoder().decode(bytes)) as JsonValue);
}

