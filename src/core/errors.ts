/**
 * Errors are values with a kind and a code; callers branch on them, never on message text.
 *
 * - `retryable`: transient (429, 5xx, timeout, reset): retry with backoff, honouring `retryAfterMs`.
 * - `target`:    this target fails; everything else goes on (safety block, bad request).
 * - `provider`:  stop sending to this provider for the rest of the build (billing, auth, no key).
 * - `user`:      bad input or configuration; the build exits 2.
 * - `internal`:  an exception chargen did not expect (a bug): reported with where it happened,
 *                and the build stops scheduling, as with --fail-fast.
 */
export type ErrorKind = "retryable" | "target" | "provider" | "user" | "internal";

/**
 * Codes chargen itself gives (providers' own codes, such as `billing_hard_limit_reached`, pass
 * through as they are): the executor decides "skipped" rather than "failed" from these.
 */
export const Code = {
  /** Ctrl-C (or a signal) stopped scheduling before this target started. */
  interrupted: "INTERRUPTED",
  /** A second Ctrl-C aborted the request in flight. */
  aborted: "ABORTED",
  /** Never sent: its provider was stopped earlier in this build. */
  notSent: "NOT_SENT",
  /** A thrown value that was not a ChargenError. */
  bug: "BUG",
  /** The action journal is in a format newer than this chargen reads. */
  newerJournal: "NEWER_JOURNAL",
  /** `accept` of what has no output of its own to accept: a data target, or a rehearsal's placeholder card. */
  notAcceptable: "NOT_ACCEPTABLE",
} as const;

export interface ErrorDetails {
  /** Delay the provider asked for before the next attempt. */
  retryAfterMs?: number;
  /** HTTP status, when the error came from an HTTP answer. */
  status?: number;
  /** Provider error code (e.g. `billing_hard_limit_reached`, `SAFETY`). */
  code?: string;
  /** Where bad input was found (workspace-relative file, 1-based line and column). */
  file?: string;
  line?: number;
  column?: number;
  field?: string;
}

export class ChargenError extends Error {
  readonly kind: ErrorKind;
  readonly details: ErrorDetails;

  constructor(kind: ErrorKind, message: string, details: ErrorDetails = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ChargenError";
    this.kind = kind;
    this.details = details;
  }
}

export const isChargenError = (e: unknown): e is ChargenError => e instanceof ChargenError;

export const hasCode = (e: unknown, code: string): boolean => isChargenError(e) && e.details.code === code;

/** Any thrown value as a ChargenError; anything chargen did not throw itself is an `internal` bug, with where it happened. */
export function asChargenError(e: unknown): ChargenError {
  if (isChargenError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  const where = e instanceof Error ? e.stack?.split("\n").find((l) => /^\s+at /.test(l))?.trim() : undefined;
  return new ChargenError("internal", `internal error (a bug in chargen, please report it): ${message}${where ? ` (${where})` : ""}`, { code: Code.bug }, { cause: e });
}

/** A problem found in the input that does not stop the other files from planning. */
export interface Diagnostic {
  severity: "error" | "warning";
  /** Workspace-relative path of the file the problem is in. */
  file: string;
  line?: number;
  column?: number;
  message: string;
  /** The target the problem belongs to, when there is one. */
  targetId?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line ? `${d.file}:${d.line}${d.column ? `:${d.column}` : ""}` : d.file;
  return `${where}: ${d.severity}: ${d.message}`;
}
