import type { ChargenError, Diagnostic } from "../core/errors.js";
import type { TargetStatus } from "./target.js";

/** How a target ended in this build. */
export interface TargetOutcome {
  id: string;
  status: TargetStatus;
  reasons: string[];
  error?: ChargenError;
  /** Spent on this target in this build. */
  costUsd?: number;
}

/** What the report shows of a target besides how it ended: where it comes from and goes, what it was estimated to cost. */
export interface TargetFacts {
  output: string;
  source: { file: string; line: number };
  provider: string | null;
  model: string | null;
  estimatedCostUsd: number | null;
}

/**
 * What happens in a build, as one stream (Wireit's `Logger.log(event)` is the model): the
 * executor, the provider hub and the applier emit into one sink, and every reporter (terminal
 * view, plain lines, the JSON report, the watcher) reads that one stream. Keyed by `type`.
 */
export type BuildEvent =
  /**
   * Planned: how many targets, how many are not fresh, and the selected ones, in the report's
   * order. Emitted by the build command; a next round of the same build plans again.
   */
  | { type: "planned"; total: number; toRun: number; ids: readonly string[] }
  /**
   * Build command, before the build: what the workspace's history (the images its YAML records)
   * made of a target: `adopted` as its output (it is then fresh), or `outdated` (the recorded image
   * was made for other inputs; `reasons` say why it is stale).
   */
  | { type: "history"; id: string; verdict: "adopted" | "outdated"; reasons: string[] }
  /** Problems in the input or in what the build wrote, as the report lists them. Emitted by the build command. */
  | { type: "diagnostic"; diagnostic: Diagnostic }
  /** Executor: targets a data target's write-back added to the running build (a chapter's new entries). */
  | { type: "added"; ids: readonly string[] }
  /** Executor: a target starts restoring from the cache or generating (takes a job slot). */
  | { type: "started"; id: string; action: "generating" | "restoring" }
  /** Executor: its request is over and its job slot free; recording and applying follow. */
  | { type: "generated"; id: string }
  /**
   * Executor: how the target ended; in a plan (--check, --dry-run), what it would do. The build
   * command adds the target's `facts` before any reporter reads it (ReportedEvent).
   */
  | { type: "done"; outcome: TargetOutcome; facts?: TargetFacts }
  /** Hub: a request failed in a way worth another attempt, made after `delayMs`. */
  | { type: "retry"; id: string; attempt: number; delayMs: number; error: ChargenError }
  /** Hub: nothing more is sent to this provider in this build. */
  | { type: "provider-stopped"; provider: string; error: ChargenError }
  /** Applier: chargen is writing this content (an output, a YAML write-back, the lock). */
  | { type: "written"; path: string; digest: string }
  /** Applier: a YAML file changed on disk, by someone else, since the plan read it. */
  | { type: "changed-underneath"; path: string }
  /** Build command: a round of the build is over, with the requests it sent. */
  | { type: "ended"; providerCalls: number; durationMs: number }
  /** A line for the person watching (an interrupt, what it does). */
  | { type: "note"; line: string };

/** The stream as the JSON report reads it: every target's end with its facts (the build command adds them to the executor's). */
export type ReportedEvent = Exclude<BuildEvent, { type: "done" }> | { type: "done"; outcome: TargetOutcome; facts: TargetFacts };

export type EmitBuildEvent = (event: BuildEvent) => void;

/** A sink that drops everything: for builds nobody watches. */
export const ignoreEvents: EmitBuildEvent = () => {};
