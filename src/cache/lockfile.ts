import { readFileSync } from "node:fs";
import { ChargenError } from "../errors.js";
import type { KeyInputs } from "../graph/keys.js";
import { sortKeys } from "./hash.js";

export const LOCK_FILE = "chargen.lock";
const LOCK_VERSION = 1;

/** What `chargen.lock` records of one built target; enough for `--check` to decide without any cache. */
export interface LockEntry {
  key: string;
  output: string;
  outputDigest: string;
  /** SHA-256 of the output (its Git LFS object id): a pointer file with this oid stands for the output. Absent in older locks. */
  outputSha256?: string;
  provider: string;
  model: string;
  builtAt: string;
  costUsd?: number;
  /** Why the entry was recorded without a build: "adopted: recorded in …" or "accepted: prompt changed". */
  origin?: string;
  inputs: KeyInputs;
}

export type Lock = Map<string, LockEntry>;

/** Read the lock; a missing lock is empty, a broken one (a merge gone wrong) is a user error with its line. */
export function readLock(path: string): Lock {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return new Map();
  }
  let parsed: { version?: number; targets?: Record<string, LockEntry> };
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    // Most likely a merge gone wrong: say where, and how to mend it.
    const conflict = text.split("\n").findIndex((l) => /^(<{7}|={7}|>{7})( |$)/.test(l));
    if (conflict >= 0) {
      throw new ChargenError(
        "user",
        `${LOCK_FILE} has a merge conflict marker at line ${conflict + 1}: keep either side of each conflicting entry (or delete it); chargen re-checks every entry against the files`,
        { file: LOCK_FILE, line: conflict + 1 },
      );
    }
    throw new ChargenError("user", `${LOCK_FILE} is not valid JSON: ${(e as Error).message}`, { file: LOCK_FILE });
  }
  if (parsed.version !== LOCK_VERSION || typeof parsed.targets !== "object" || parsed.targets === null) {
    throw new ChargenError("user", `${LOCK_FILE} has an unknown format (version ${parsed.version ?? "missing"}; this chargen reads version ${LOCK_VERSION})`, {
      file: LOCK_FILE,
    });
  }
  return new Map(Object.entries(parsed.targets));
}

/**
 * Deterministic text: entries sorted by id, fields in a fixed order, a blank line between
 * entries, so that two people rebuilding different targets touch disjoint hunks and merge cleanly.
 */
export function formatLock(lock: Lock): string {
  const ids = [...lock.keys()].sort();
  const entries = ids.map((id) => {
    const e = lock.get(id)!;
    const fields: [string, unknown][] = [
      ["key", e.key],
      ["output", e.output],
      ["outputDigest", e.outputDigest],
      ...(e.outputSha256 === undefined ? [] : ([["outputSha256", e.outputSha256]] as [string, unknown][])),
      ["provider", e.provider],
      ["model", e.model],
      ["builtAt", e.builtAt],
      ...(e.costUsd === undefined ? [] : ([["costUsd", e.costUsd]] as [string, unknown][])),
      ...(e.origin === undefined ? [] : ([["origin", e.origin]] as [string, unknown][])),
      ["inputs", sortKeys(e.inputs)],
    ];
    const body = fields.map(([k, v]) => `      ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(",\n");
    return `    ${JSON.stringify(id)}: {\n${body}\n    }`;
  });
  return `{\n  "version": ${LOCK_VERSION},\n  "targets": {\n${entries.join(",\n\n")}\n  }\n}\n`;
}
