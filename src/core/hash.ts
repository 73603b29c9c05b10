import xxhash from "xxhash-wasm";

// Compiled once per process; everything after this is synchronous.
const api = await xxhash();

const hex64 = (n: bigint) => n.toString(16).padStart(16, "0");

/** Digest of raw bytes (file contents, image outputs): 16 hex digits of xxh64. */
export function digestBytes(bytes: Uint8Array): string {
  return hex64(api.h64Raw(bytes));
}

/** Digest of a string (UTF-8). */
export function digestText(text: string): string {
  return hex64(api.h64(text));
}

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
