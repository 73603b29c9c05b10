/**
 * Errors are values with a kind; callers branch on `kind`, never on message text.
 *
 * - `retryable`: transient (429, 5xx, timeout, reset): retry with backoff, honouring `retryAfterMs`.
 * - `target`:    this target fails; everything else goes on (safety block, bad request).
 * - `provider`:  stop sending to this provider for the rest of the build (billing, auth, no key).
 * - `user`:      bad input or configuration; the build exits 2.
 */
export type ErrorKind = "retryable" | "target" | "provider" | "user";

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

/** Any thrown value as a ChargenError; unknown errors fail only the target they happened in. */
export function asChargenError(e: unknown): ChargenError {
  if (isChargenError(e)) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ChargenError("target", message, {}, { cause: e });
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
