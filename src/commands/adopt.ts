import { join } from "node:path";
import { formatLock, LOCK_FILE } from "../cache/lockfile.js";
import { acceptOutputs, adoptHistory, type Verdict } from "../adopt/adopt.js";
import { formatDiagnostic } from "../core/errors.js";
import { formatSummary, summarise, type Report } from "../report/report.js";
import { writeAtomic } from "../core/atomic.js";
import type { BuildEvent } from "../model/events.js";
import { BUILD_PID, BuildLock } from "../workspace/build-lock.js";
import { EXIT } from "../core/exit.js";
import { targetReport } from "../report/target.js";
import { planWorkspace } from "../workspace/plan.js";
import { CACHE_DIR, openWorkspace, type Workspace, type WorkspaceOptions } from "../workspace/open.js";

export interface AdoptOptions extends WorkspaceOptions {
  /** `-n`: say what would be recorded; write nothing. */
  dryRun: boolean;
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * `chargen adopt` (the images the workspace's history already records become outputs) and
 * `chargen accept` (the current outputs become fresh under today's inputs): both record in the
 * lock, with no provider call and no write-back.
 */
export async function adoptOrAccept(command: "adopt" | "accept", options: AdoptOptions): Promise<number> {
  const startedAt = Date.now();
  // Held before the lock is read, so that a build running meanwhile cannot be overwritten.
  const buildLock = options.dryRun ? undefined : BuildLock.acquire(join(options.root, CACHE_DIR, BUILD_PID), (m) => options.err(`chargen: warning: ${m}\n`));
  try {
    const ws = await openWorkspace(options);
    const verdicts =
      command === "adopt" ? adoptHistory(ws) : acceptOutputs(ws, new Map(planWorkspace(ws, undefined, false).map((p) => [p.id, p.decision])));
    // A dry run keeps them in memory: the report names the files a run would record.
    if (options.dryRun) remember(ws, verdicts);
    else await recordInLock(ws, verdicts);
    const targets = verdicts.map((v) => targetReport(ws, v.id, v.status, v.reasons, undefined));
    const exitCode = ws.diagnostics.some((d) => d.severity === "error") || verdicts.some((v) => v.refused) ? EXIT.error : EXIT.ok;
    const report: Report = {
      command,
      targets,
      diagnostics: ws.diagnostics,
      summary: summarise(targets, ws.diagnostics, { providerCalls: 0, durationMs: Date.now() - startedAt, exitCode }),
    };
    if (options.json) {
      options.out(JSON.stringify(report, null, 2) + "\n");
      return exitCode;
    }
    for (const d of ws.diagnostics) options.err(formatDiagnostic(d) + "\n");
    for (const t of targets) options.out(`${t.status.padEnd(8)} ${t.id}\n${t.reasons.map((r) => `         ${r}\n`).join("")}`);
    const untouched = ws.selected.length - targets.length;
    const note = command === "adopt" ? `${untouched} already in the lock, left alone` : `${untouched} fresh`;
    options.out(`${formatSummary(report)}; ${note}${options.dryRun ? "; dry run: nothing written" : ""}\n`);
    return exitCode;
  } finally {
    buildLock?.release();
  }
}

/** Put the adopted or accepted targets' entries in the workspace's lock, in memory; how many there were. */
export function remember(ws: Workspace, verdicts: Verdict[]): number {
  const entries = verdicts.filter((v) => v.entry);
  for (const v of entries) ws.lock.set(v.id, v.entry!);
  return entries.length;
}

/** Remember the entries and write the lock. The caller holds the build lock. */
export async function recordInLock(ws: Workspace, verdicts: Verdict[]): Promise<void> {
  if (remember(ws, verdicts)) await writeAtomic(join(ws.root, LOCK_FILE), formatLock(ws.lock));
}

/**
 * What adoption did before a build, as the build's events (the report reads them): adopted targets
 * (fresh by then) say so, and a target stale because its recorded image was made for another
 * scenario or other inputs says that first.
 */
export function historyEvents(verdicts: Verdict[]): Extract<BuildEvent, { type: "history" }>[] {
  return verdicts.flatMap((v): Extract<BuildEvent, { type: "history" }>[] =>
    v.status === "adopted" ? [{ type: "history", id: v.id, verdict: "adopted", reasons: v.reasons }] : v.recordOutdated ? [{ type: "history", id: v.id, verdict: "outdated", reasons: v.reasons }] : [],
  );
}
