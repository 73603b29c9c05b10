import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { codeStamp } from "../core/code-stamp.js";
import type { Diagnostic } from "../core/errors.js";
import { stampTrusted } from "./racy.js";

/**
 * The no-op fast path (how Ninja stays fast: it only stats). After a plan in which every target
 * is fresh, `.chargen/fresh.json` records the stamp of every file and folder that plan consulted
 * (sources, files rules read, references, outputs, the lock, the rules file, the folders globs
 * walk) and what it found. A later check or build whose stamps all match would plan the same, so
 * it replays that result: no YAML, lock, cache, hasher or rules are loaded. Any difference, a
 * stamp too close to the file's mtime to be trusted (racy.ts), or another chargen, and the full
 * plan runs.
 */
export const FRESH_FILE = "fresh.json";
const VERSION = 1;
/** Stamp of a path that must stay absent. */
const ABSENT = -1;

type Stamp = [path: string, size: number, mtimeMs: number, ino: number];

export interface FreshResult {
  total: number;
  diagnostics: Diagnostic[];
}

interface FreshRecord {
  version: number;
  context: string;
  recordedAtMs: number;
  stamps: Stamp[];
  result: FreshResult;
}

/** What besides the files decides the plan: chargen's code and the command's options. */
export function freshContext(options: { providerOverride?: string | undefined; modelOverride?: string | undefined; patterns: string[]; force: boolean }): string {
  return JSON.stringify([codeStamp(), options.providerOverride ?? null, options.modelOverride ?? null, options.patterns, options.force]);
}

function stampOf(root: string, path: string): Stamp {
  const st = statSync(join(root, path), { throwIfNoEntry: false });
  return st ? [path, st.isDirectory() ? 0 : st.size, st.mtimeMs, st.ino] : [path, ABSENT, 0, 0];
}

/** The recorded result, when nothing it depended on has changed since. */
export function replayFresh(root: string, cacheDir: string, context: string): FreshResult | undefined {
  let record: FreshRecord;
  try {
    record = JSON.parse(readFileSync(join(root, cacheDir, FRESH_FILE), "utf8")) as FreshRecord;
  } catch {
    return undefined;
  }
  if (record.version !== VERSION || record.context !== context) return undefined;
  for (const [path, size, mtimeMs, ino] of record.stamps) {
    const now = stampOf(root, path);
    if (now[1] !== size || now[2] !== mtimeMs || now[3] !== ino) return undefined;
    if (size !== ABSENT && !stampTrusted(mtimeMs, record.recordedAtMs)) return undefined;
  }
  return record.result;
}

/** Record an all-fresh plan (`paths`: every file and folder it consulted, present or not, most likely to change first). */
export async function recordFresh(root: string, cacheDir: string, context: string, paths: Iterable<string>, result: FreshResult, now = Date.now()): Promise<void> {
  const stamps = [...new Set(paths)].map((p) => stampOf(root, p));
  const record: FreshRecord = { version: VERSION, context, recordedAtMs: now, stamps, result };
  const { writeAtomic } = await import("../core/atomic.js");
  await writeAtomic(join(root, cacheDir, FRESH_FILE), JSON.stringify(record));
}

/** Forget the record: something is not fresh any more. */
export async function forgetFresh(root: string, cacheDir: string): Promise<void> {
  const { rm } = await import("node:fs/promises");
  await rm(join(root, cacheDir, FRESH_FILE), { force: true });
}
