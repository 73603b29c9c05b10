/**
 * One classification of provider failures for every provider: each provider module turns its
 * SDK's error into a `Failure` (status, code, message, retry hint) and this decides the kind
 * the hub acts on. Retrying is the hub's job alone; nothing here waits or retries.
 */
import { ChargenError } from "../core/errors.js";

export interface Failure {
  provider: string;
  /** HTTP status, when an answer came back. */
  status?: number;
  /** The provider's own code: `billing_hard_limit_reached`, `RESOURCE_EXHAUSTED`, `API_KEY_INVALID`, ... */
  code?: string;
  /** The provider's readable message. */
  message: string;
  retryAfterMs?: number;
  /** No answer: the call timed out or the connection failed. */
  network?: "timeout" | "connection";
  /** The provider module knows this failure will repeat for every request (a daily quota, a bad key). */
  stopProvider?: boolean;
  /** Why, in words, when the provider module knows better than the status and code. */
  reason?: string;
  /** Environment variables holding the key, named in the message when the key is rejected. */
  keyEnv?: string[];
}

/** Codes that mean no further request can succeed in this build: stop the provider. */
const STOP_CODES = new Set([
  "insufficient_quota",
  "billing_hard_limit_reached",
  "billing_not_active",
  "account_deactivated",
  "invalid_api_key",
  "organization_verification_required",
]);

/** What to tell a person, for the codes with a known remedy. */
const HINTS: Record<string, string> = {
  insufficient_quota: "out of quota: check the plan and billing details of this API key",
  billing_hard_limit_reached: "billing hard limit reached: raise it in the account's billing settings",
  billing_not_active: "billing is not active for this account",
  moderation_blocked: "blocked by the provider's moderation: change the prompt or the reference images",
  content_policy_violation: "blocked by the provider's content policy: change the prompt or the reference images",
};

const MAX_MESSAGE = 400;

export function classify(f: Failure, secrets: readonly (string | undefined)[] = []): ChargenError {
  const details = {
    ...(f.status === undefined ? {} : { status: f.status }),
    code: f.code ?? (f.network === "timeout" ? "TIMEOUT" : f.network === "connection" ? "CONNECTION" : f.status ? `HTTP_${f.status}` : "UNKNOWN"),
    ...(f.retryAfterMs === undefined ? {} : { retryAfterMs: f.retryAfterMs }),
  };
  const text = (what: string) => redact(`${f.provider}: ${what}`, secrets);
  const clip = (message: string) => clipped(redact(message, secrets));

  if (f.network) {
    const what = f.network === "timeout" ? "no answer before the timeout" : `connection failed (${details.code})`;
    return new ChargenError("retryable", text(`${what}: ${clip(f.message)}`), details);
  }
  const status = f.status ?? 0;
  const said = `HTTP ${status}${f.code ? ` ${f.code}` : ""}: ${clip(f.message)}`;
  const hint = f.code ? HINTS[f.code] : undefined;

  if (f.stopProvider || (f.code !== undefined && STOP_CODES.has(f.code)) || status === 401 || status === 403) {
    const keyProblem = status === 401 || status === 403 || /api_key/i.test(f.code ?? "");
    const why = f.reason ?? hint ?? (keyProblem ? keyHint(f) : "the provider refuses further requests");
    return new ChargenError("provider", text(`${why} (${said})`), details);
  }
  if (status === 429 || status === 408 || status === 409 || status >= 500) {
    const wait = f.retryAfterMs === undefined ? "" : ` (asked to wait ${formatMs(f.retryAfterMs)})`;
    return new ChargenError("retryable", text(`${status === 429 ? "rate limited" : "temporary failure"}${wait}: ${said}`), details);
  }
  const why = f.reason ?? hint;
  return new ChargenError("target", text(why ? `${why} (${said})` : `request rejected (${said})`), details);
}

function keyHint(f: Failure): string {
  const vars = f.keyEnv?.length ? ` in ${f.keyEnv.join(" or ")}` : "";
  return `the API key${vars} was rejected or lacks access`;
}

/** A run of a key's characters this long is masked wherever it appears: a key cut short still identifies it. */
const SECRET_RUN = 8;

/**
 * Never let a key reach a message: the key itself, any run of at least 8 of its characters (a key
 * cut by a clip or a line break), a `key=` / `api_key=` parameter and a bearer token are masked,
 * whatever the SDK or the server echoed. Redact before clipping, so a clip cannot cut a key short of it.
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) {
    if (!s || s.length < 4) continue;
    out = s.length < SECRET_RUN ? out.split(s).join("[redacted]") : maskRuns(out, s);
  }
  return out
    .replace(/(\b(?:api[_-]?key|key|x-goog-api-key)\s*[=:]\s*["']?)[^&\s"',;]+/gi, "$1[redacted]")
    .replace(/(Bearer\s+)[^\s"',]+/gi, "$1[redacted]");
}

/** Mask every stretch of `text` made of windows of SECRET_RUN characters found in `secret`. */
function maskRuns(text: string, secret: string): string {
  const windows = new Set<string>();
  for (let i = 0; i + SECRET_RUN <= secret.length; i++) windows.add(secret.slice(i, i + SECRET_RUN));
  let out = "";
  let maskEnd = -1;
  for (let i = 0; i + SECRET_RUN <= text.length; i++) {
    if (!windows.has(text.slice(i, i + SECRET_RUN))) continue;
    // A window overlapping or touching the last masked stretch extends it.
    if (i > maskEnd) out += text.slice(Math.max(maskEnd, 0), i) + "[redacted]";
    maskEnd = i + SECRET_RUN;
  }
  return out + text.slice(Math.max(maskEnd, 0));
}

const clipped = (s: string) => {
  const one = s.replace(/\s+/g, " ").trim();
  return one.length > MAX_MESSAGE ? `${one.slice(0, MAX_MESSAGE)}…` : one;
};

const formatMs = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 100) / 10} s`);

/** Reads a header, case-insensitively, whatever the SDK hands back (Headers or a plain record). */
export type HeaderGetter = (name: string) => string | null | undefined;

export function headerGetter(headers: unknown): HeaderGetter {
  if (headers && typeof (headers as Headers).get === "function") return (n) => (headers as Headers).get(n);
  if (headers && typeof headers === "object") {
    const lower = new Map(Object.entries(headers as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
    return (n) => {
      const v = lower.get(n.toLowerCase());
      return typeof v === "string" ? v : Array.isArray(v) ? String(v[0]) : undefined;
    };
  }
  return () => undefined;
}

/**
 * The wait a response asks for: `retry-after-ms`, then `retry-after` (seconds or an HTTP date),
 * then, for a 429, OpenAI's `x-ratelimit-reset-requests` ("20ms", "12s", "1m30s").
 */
export function retryAfterFromHeaders(get: HeaderGetter, status: number | undefined, now = Date.now()): number | undefined {
  const ms = Number(get("retry-after-ms"));
  if (get("retry-after-ms") && Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const after = get("retry-after")?.trim();
  if (after) {
    const seconds = Number(after);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
    const date = Date.parse(after);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  if (status === 429) {
    const reset = get("x-ratelimit-reset-requests");
    if (reset) return parseDuration(reset);
  }
  return undefined;
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

/** A Go-style duration as OpenAI sends it ("1m30s", "6m0s", "20ms", "0.5s") or protobuf's ("47s"), in ms. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (!/^(\d+(\.\d+)?(h|ms|us|µs|ns|m|s))+$/.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(h|ms|us|µs|ns|m|s)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return Math.ceil(total);
}

/** Node's codes for a dropped or refused connection, as fetch reports them in `cause`. */
export function networkCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && /^(E[A-Z]+|UND_ERR_[A-Z_]+)$/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}
