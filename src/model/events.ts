import type { ChargenError } from "../core/errors.js";
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

/**
 * What happens in a build, as one stream (Wireit's `Logger.log(event)` is the model): the
 * executor, the provider hub and the applier emit into one sink, and every reporter (terminal
 * view, plain lines, the watcher) reads that one stream. Keyed by `type`.
 */
export type BuildEvent =
  /** Planned: how many targets, and how many are not fresh. Emitted by the build command. */
  | { type: "planned"; total: number; toRun: number }
  /** Executor: targets a data target's write-back added to the running build (a chapter's new entries). */
  | { type: "added"; count: number }
  /** Executor: a target starts restoring from the cache or generating (takes a job slot). */
  | { type: "started"; id: string; action: "generating" | "restoring" }
  /** Executor: its request is over and its job slot free; recording and applying follow. */
  | { type: "generated"; id: string }
  /** Executor: how the target ended. */
  | { type: "done"; outcome: TargetOutcome }
  /** Hub: a request failed in a way worth another attempt, made after `delayMs`. */
  | { type: "retry"; id: string; attempt: number; delayMs: number; error: ChargenError }
  /** Hub: nothing more is sent to this provider in this build. */
  | { type: "provider-stopped"; provider: string; error: ChargenError }
  /** Applier: chargen is writing this content (an output, a YAML write-back, the lock). */
  | { type: "written"; path: string; digest: string }
  /** Applier: a YAML file changed on disk, by someone else, since the plan read it. */
  | { type: "changed-underneath"; path: string }
  /** A line for the person watching (an interrupt, what it does). */
  | { type: "note"; line: string };

export type EmitBuildEvent = (event: BuildEvent) => void;

/** A sink that drops everything: for builds nobody watches. */
export const ignoreEvents: EmitBuildEvent = () => {};
