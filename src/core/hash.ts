import xxhash from "xxhash-wasm";

// Compiled once per process; everything after this is synchronous.
const api = await xxhash();

const hex64 = (n: bigint) => n.toString(16).padStart(16, "0");

/**
 * Inputs larger than this are hashed in slices: the WebAssembly memory grows to hold what it hashes
 * at once (three bytes per character of a string) and never shrinks, and a 2 MB lock would keep
 * megabytes for the rest of the process. Streaming gives the same xxh64 as one call.
 */
const SLICE = 1 << 16;

/** Digest of raw bytes (file contents, image outputs): 16 hex digits of xxh64. */
export function digestBytes(bytes: Uint8Array): string {
  if (bytes.byteLength <= SLICE) return hex64(api.h64Raw(bytes));
  const hasher = api.create64();
  for (let at = 0; at < bytes.byteLength; at += SLICE) hasher.update(bytes.subarray(at, at + SLICE));
  return hex64(hasher.digest());
}

/** Digest of a string (UTF-8). */
export function digestText(text: string): string {
  if (text.length <= SLICE) return hex64(api.h64(text));
  const hasher = api.create64();
  for (let at = 0; at < text.length; ) {
    let end = Math.min(at + SLICE, text.length);
    // A surrogate pair is one character: split apart, each half would encode as U+FFFD.
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
    hasher.update(text.slice(at, end));
    at = end;
  }
  return hex64(hasher.digest());
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

/**
 * A canonical encoding: JSON with object keys sorted and `undefined` dropped, so that the same
 * value gives the same text on every machine whatever order its fields were built in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

/** A copy of `value` with object keys sorted and `undefined` fields dropped. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}
