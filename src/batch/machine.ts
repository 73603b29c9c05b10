/**
 * A batch job's life, as an explicit machine (pure: the driver in commands/batch-run.ts does the I/O and
 * records every transition atomically before the next step, so a kill -9 anywhere resumes from
 * the last state recorded):
 *
 *   planned ──stage──▶ staged ──create (or adopt by display name)──▶ submitted ──poll──▶ running
 *      │                 │                                               │                │
 *      └──cancel─────────┴──▶ cancelled                                  ▼                ▼
 *                                                      succeeded | failed | cancelled | expired
 *                                                                        │ download, verify, store
 *                                                                        ▼
 *                                                                    collected ──apply──▶ applied
 *
 * - planned: the lines are chosen and written to plan.json; nothing was sent.
 * - staged: input.jsonl is written and uploaded; the display name the job will be created under
 *   is recorded, so that a create whose answer was lost is found and adopted, never repeated.
 * - submitted / running: the provider has the job (its name is recorded); nothing is created again.
 * - a terminal state: the provider is done; partial results of a failed, cancelled or expired job
 *   are collected like any others.
 * - collected: every result is durable in the action cache and report.json says what failed.
 * - applied: the results whose key is still the target's key are in the workspace.
 */
import { ChargenError } from "../core/errors.js";

export type JobState = "planned" | "staged" | "submitted" | "running" | "succeeded" | "failed" | "cancelled" | "expired" | "collected" | "applied";

/** What a provider says about a job, mapped from its own vocabulary by the engine. */
export type RemoteState = "pending" | "running" | "succeeded" | "failed" | "cancelled" | "expired";

export const TERMINAL: readonly JobState[] = ["succeeded", "failed", "cancelled", "expired"];

const NEXT: Record<JobState, readonly JobState[]> = {
  planned: ["staged", "cancelled"],
  staged: ["submitted", "cancelled"],
  submitted: ["running", ...TERMINAL],
  running: TERMINAL,
  succeeded: ["collected"],
  failed: ["collected"],
  cancelled: ["collected"],
  expired: ["collected"],
  collected: ["applied"],
  applied: [],
};

/** The state after `from -> to`; throws on a transition the machine does not have (a bug). */
export function transition(from: JobState, to: JobState): JobState {
  if (!NEXT[from].includes(to)) throw new ChargenError("internal", `batch job: no transition from ${from} to ${to}`, { code: "BAD_TRANSITION" });
  return to;
}

/** Where a poll answer takes a submitted or running job: unchanged while the provider still queues it. */
export function afterPoll(from: JobState, remote: RemoteState): JobState {
  const to: JobState = remote === "pending" ? "submitted" : remote;
  return to === from ? from : transition(from, to);
}

/** Whether the job may still produce results that nobody collected: its targets are not to be paid for again. */
export const inFlight = (state: JobState): boolean => state !== "collected" && state !== "applied";

/** Whether the provider holds the job (it has been created, or may have been: see `staged`). */
export const atProvider = (state: JobState): boolean => state === "submitted" || state === "running";
