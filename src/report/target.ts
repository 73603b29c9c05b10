import type { Store } from "../cache/store.js";
import { ChargenError } from "../core/errors.js";
import type { JsonValue } from "../model/target.js";
import type { TargetOutcome } from "../model/events.js";
import type { Workspace } from "../workspace/open.js";
import { round, type TargetReport } from "./report.js";

/** One target as the JSON report and the summary show it. */
export function targetReport(ws: Workspace, id: string, status: TargetReport["status"], reasons: string[], estimate: number | undefined, outcome?: TargetOutcome, answer?: JsonValue): TargetReport {
  const record = ws.records.get(id)!;
  const resolved = ws.settings.get(id);
  const settings = resolved && !(resolved instanceof ChargenError) ? resolved.settings : undefined;
  return {
    id,
    status,
    reasons,
    // An adopted image keeps its own file.
    output: ws.lock.get(id)?.output ?? record.output,
    source: { file: record.source.file, line: record.source.line },
    provider: settings?.provider ?? null,
    model: settings?.model ?? null,
    estimatedCostUsd: estimate === undefined ? null : round(estimate),
    costUsd: outcome?.costUsd === undefined ? (outcome ? 0 : null) : round(outcome.costUsd),
    error: outcome?.error ? { kind: outcome.error.kind, code: outcome.error.details.code ?? null, message: outcome.error.message } : null,
    ...(answer === undefined ? {} : { answer }),
  };
}

/** A data target's answer as the lock records it, from the store; undefined for an image, or when there is none. */
export function recordedAnswer(ws: Workspace, store: Pick<Store, "readBlob">, id: string): JsonValue | undefined {
  const entry = ws.lock.get(id);
  if (ws.records.get(id)?.kind !== "data" || !entry) return undefined;
  const bytes = store.readBlob(entry.outputDigest);
  return bytes && (JSON.parse(new TextDecoder().decode(bytes)) as JsonValue);
}

