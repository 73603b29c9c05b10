import { readFileSync } from "node:fs";
import { ChargenError } from "../core/errors.js";
import type { KeyInputs } from "../model/keys.js";
import { sortKeys } from "../core/hash.js";

export const LOCK_FILE = "chargen.lock";
/** Never changes within a version: git's union merge keeps it as common context on both sides. */
const HEADER = "# chargen.lock version 2: one target per line, sorted by id; git merges it by union (see .gitattributes). Commit it; do not edit it.";
const HEADER_PREFIX = /^# chargen\.lock version (\d+)/;
/** What `.gitattributes` says so that git merges two people's lock lines without a conflict. */
export const LOCK_GITATTRIBUTES = `${LOCK_FILE} merge=union`;

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

export interface LockRead {
  lock: Lock;
  /** The file is not as chargen would write it (old format, merged duplicates, conflict markers): rewrite it at the next build. */
  rewrite: boolean;
  /** It held git conflict markers; both sides' entries were kept. */
  conflicted: boolean;
}

/** Digest of the file at a workspace-relative output path, undefined when absent. */
export type OutputDigest = (output: string) => string | undefined;

/**
 * Read the lock; a missing lock is empty. A union merge can leave two entries for one target
 * (both people rebuilt it): the one whose output is the file on disk wins, else the newest.
 * Conflict markers (a merge without the union attribute) are read as both sides' entries, never one.
 */
export function readLock(path: string, onDisk: OutputDigest = () => undefined): LockRead {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { lock: new Map(), rewrite: false, conflicted: false };
  }
  const sides = conflictSides(text);
  const conflicted = sides.length > 1;
  const lock: Lock = new Map();
  // As chargen writes it: the current version, ids strictly increasing (so no duplicates either).
  let rewrite = conflicted;
  let previousId: string | undefined;
  for (const side of sides) {
    const { version, entries } = parseLockText(side, conflicted);
    if (version !== 2) rewrite = true;
    for (const [id, entry] of entries) {
      if (previousId !== undefined && !(id > previousId)) rewrite = true;
      previousId = id;
      const held = lock.get(id);
      if (!held || preferred(entry, held, onDisk)) lock.set(id, entry);
    }
  }
  return { lock, rewrite, conflicted };
}

function preferred(candidate: LockEntry, held: LockEntry, onDisk: OutputDigest): boolean {
  const matches = (e: LockEntry) => onDisk(e.output) === e.outputDigest;
  if (matches(candidate) !== matches(held)) return matches(candidate);
  return candidate.builtAt > held.builtAt;
}

const MARKER = /^(<{7}|\|{7}|={7}|>{7})( |$)/;

/**
 * A text with git conflict markers as the two versions it merges ("ours" and "theirs", the base
 * section of a diff3 conflict dropped); a text without markers as itself.
 */
function conflictSides(text: string): string[] {
  const lines = text.split("\n");
  if (!lines.some((l) => MARKER.test(l))) return [text];
  const ours: string[] = [];
  const theirs: string[] = [];
  let section: "common" | "ours" | "base" | "theirs" = "common";
  for (const line of lines) {
    const marker = MARKER.exec(line)?.[1]?.[0];
    if (marker) section = ({ "<": "ours", "|": "base", "=": "theirs", ">": "common" } as const)[marker as "<" | "|" | "=" | ">"];
    else if (section === "common") ours.push(line), theirs.push(line);
    else if (section === "ours") ours.push(line);
    else if (section === "theirs") theirs.push(line);
  }
  return [ours.join("\n"), theirs.join("\n")];
}

/** The entries of one version of the lock text, in file order (duplicates kept for the caller). */
function parseLockText(text: string, fromConflict: boolean): { version: number; entries: [string, LockEntry][] } {
  const mend = fromConflict ? "; resolve the conflict keeping every entry line of both sides (delete only the marker lines)" : "";
  if (text.trimStart().startsWith("{")) return { version: 1, entries: parseVersion1(text, mend) };
  const lines = text.split("\n");
  const version = HEADER_PREFIX.exec(lines[0] ?? "")?.[1];
  if (version !== "2") {
    throw new ChargenError("user", `${LOCK_FILE} has an unknown format (version ${version ?? "missing"}; this chargen reads versions 1 and 2)${mend}`, { file: LOCK_FILE, line: 1 });
  }
  const entries: [string, LockEntry][] = [];
  lines.forEach((line, i) => {
    if (i === 0 || !line.trim()) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    const { id, ...entry } = (parsed ?? {}) as { id?: unknown } & Record<string, unknown>;
    if (typeof id !== "string" || !isEntry(entry)) {
      throw new ChargenError("user", `${LOCK_FILE} line ${i + 1} is not a lock entry (one JSON object with an id per line)${mend}`, { file: LOCK_FILE, line: i + 1 });
    }
    entries.push([id, entry]);
  });
  return { version: 2, entries };
}

/** Version 1: one JSON document, `{ "version": 1, "targets": { id: entry } }`. Read, then rewritten as version 2. */
function parseVersion1(text: string, mend: string): [string, LockEntry][] {
  let parsed: { version?: unknown; targets?: Record<string, unknown> };
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ChargenError("user", `${LOCK_FILE} is not valid JSON: ${(e as Error).message}${mend}`, { file: LOCK_FILE });
  }
  if (parsed.version !== 1 || typeof parsed.targets !== "object" || parsed.targets === null) {
    throw new ChargenError("user", `${LOCK_FILE} has an unknown format (version ${String(parsed.version ?? "missing")}; this chargen reads versions 1 and 2)${mend}`, { file: LOCK_FILE });
  }
  const entries = Object.entries(parsed.targets);
  const broken = entries.find(([, e]) => !isEntry(e));
  if (broken) throw new ChargenError("user", `${LOCK_FILE}: the entry of ${JSON.stringify(broken[0])} is not a lock entry${mend}`, { file: LOCK_FILE });
  return entries as [string, LockEntry][];
}

/** Enough of an entry's shape for the planner to compare it; the rest is compared as data. */
function isEntry(e: unknown): e is LockEntry {
  const r = e as Record<string, unknown> | null;
  return typeof r === "object" && r !== null && ["key", "output", "outputDigest", "builtAt"].every((f) => typeof r[f] === "string") && typeof r.inputs === "object";
}

/**
 * Deterministic text: a fixed header, then one line per target sorted by id, each the entry's
 * fields (all of them, keys sorted) as one JSON object. Two people rebuilding different targets
 * change different lines, which git's union merge keeps both of, whatever their adjacency.
 */
export function formatLock(lock: Lock): Buffer {
  const ids = [...lock.keys()].sort();
  const lines = [HEADER, ...ids.map((id) => JSON.stringify({ id, ...(sortKeys(lock.get(id)) as object) }))];
  // Encoded line by line into the one buffer written: the build rewrites the lock every second,
  // and a joined string besides its bytes (2 MB each at 2,000 targets) was each time's peak.
  const bytes = Buffer.allocUnsafe(lines.reduce((n, line) => n + Buffer.byteLength(line) + 1, 0));
  let at = 0;
  for (const line of lines) {
    at += bytes.write(line, at);
    bytes[at++] = 0x0a;
  }
  return bytes;
}
