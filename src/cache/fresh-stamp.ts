import type { Stats } from "node:fs";
import { isAbsolute, join, sep } from "node:path";
import { fs } from "../core/builtins.js";
import type { Diagnostic } from "../core/errors.js";
import { CODE_ROOT, VERSION } from "../core/version.js";
import { stampTrusted, writtenSince } from "./racy.js";

const { readFileSync, statSync } = fs;

/**
 * The no-op fast path (how Ninja stays fast: it only stats). After a plan in which every target
 * is fresh, `.chargen/fresh.json` records the stamp of every file and folder that plan consulted
 * (sources, files rules read, references, outputs, the lock, the rules file and its modules, the
 * folders globs walk, and chargen's own code: see core/code-stamp.ts) and what it found. A later
 * check or build whose stamps all match would plan the same, so it replays that result: no YAML,
 * lock, cache, hasher or rules are loaded. Any difference, a stamp too close to the file's mtime
 * to be trusted (racy.ts) or a file changed after the plan began, or another chargen, and the full
 * plan runs.
 */
export const FRESH_FILE = "fresh.json";
const RECORD_VERSION = 2;
/** Size stamped for a path that must stay absent. */
const ABSENT = -1;

export interface FreshResult {
  total: number;
  diagnostics: Diagnostic[];
}

/**
 * The stamps are stored column by column: at 10,000 targets, four arrays parse in a fraction of
 * the time of 13,000 small ones and leave the collector almost nothing to copy.
 */
interface FreshRecord {
  version: number;
  context: string;
  recordedAtMs: number;
  paths: string[];
  sizes: number[];
  mtimesMs: number[];
  inodes: number[];
  result: FreshResult;
}

/**
 * What besides the stamped files decides the plan: which chargen (its code is stamped with the
 * files, so a rebuild or an upgrade re-plans) and the command's options.
 */
export function freshContext(options: { providerOverride?: string | undefined; modelOverride?: string | undefined; patterns: string[]; force: boolean }): string {
  return JSON.stringify([VERSION, CODE_ROOT, options.providerOverride ?? null, options.modelOverride ?? null, options.patterns, options.force]);
}

const MAY_BE_ABSENT = { throwIfNoEntry: false } as const;
/** The root and a separator, to which each path is appended (`join` would normalise, 13,000 times at 10,000 targets). */
const prefixOf = (root: string) => (root.endsWith(sep) ? root : root + sep);
const sizeOf = (st: Stats | undefined) => (st === undefined ? ABSENT : st.isDirectory() ? 0 : st.size);

/** The recorded result, when nothing it depended on has changed since. */
export function replayFresh(root: string, cacheDir: string, context: string): FreshResult | undefined {
  let record: FreshRecord;
  try {
    record = JSON.parse(readFileSync(join(root, cacheDir, FRESH_FILE), "utf8")) as FreshRecord;
  } catch {
    return undefined;
  }
  // A missing column reads as a stamp that does not match; a record that is no object is not ours.
  if (record?.version !== RECORD_VERSION || record.context !== context || !Array.isArray(record.paths)) return undefined;
  const { paths, sizes, mtimesMs, inodes, recordedAtMs } = record;
  // Relative to the root, as Ninja does: the kernel walks fewer components per stat (a sixth
  // fewer microseconds). Synchronous, so no other code sees the working folder change.
  let cwd: string | undefined;
  try {
    cwd = process.cwd();
    process.chdir(root);
    for (let i = 0; i < paths.length; i++) {
      const st = statSync(paths[i]!, MAY_BE_ABSENT);
      if (sizeOf(st) !== sizes[i]) return undefined;
      if (st === undefined) continue;
      if (st.mtimeMs !== mtimesMs[i] || st.ino !== inodes[i] || !stampTrusted(st.mtimeMs, recordedAtMs)) return undefined;
    }
  } catch {
    return undefined; // the working folder is gone, the root cannot be entered, a path is no string: plan for real
  } finally {
    if (cwd !== undefined) process.chdir(cwd);
  }
  return record.result;
}

/**
 * Record an all-fresh plan (`paths`: every file and folder it consulted, present or not, most
 * likely to change first, relative to the root) and chargen's code. `plannedFromMs`: when the plan
 * began. A file written since may have changed after the plan read it: then nothing is recorded
 * and the next check plans again. The stamps are taken now, and trusted by a replay once they are
 * older than the racy window (racy.ts).
 */
export async function recordFresh(root: string, cacheDir: string, context: string, paths: Iterable<string>, result: FreshResult, plannedFromMs: number, now = Date.now()): Promise<void> {
  const prefix = prefixOf(root);
  const { codeFiles } = await import("../core/code-stamp.js"); // not for a replay: it only reads the stamps
  const record: FreshRecord = { version: RECORD_VERSION, context, recordedAtMs: now, paths: [...new Set(paths), ...codeFiles()], sizes: [], mtimesMs: [], inodes: [], result };
  for (const path of record.paths) {
    const st = statSync(isAbsolute(path) ? path : prefix + path, MAY_BE_ABSENT);
    if (st && writtenSince(st.mtimeMs, plannedFromMs)) return forgetFresh(root, cacheDir);
    record.sizes.push(sizeOf(st));
    record.mtimesMs.push(st?.mtimeMs ?? 0);
    record.inodes.push(st?.ino ?? 0);
  }
  const { writeAtomic } = await import("../core/atomic.js");
  await writeAtomic(join(root, cacheDir, FRESH_FILE), JSON.stringify(record));
}

/** Forget the record: something is not fresh any more. */
export async function forgetFresh(root: string, cacheDir: string): Promise<void> {
  const { rm } = await import("node:fs/promises");
  await rm(join(root, cacheDir, FRESH_FILE), { force: true });
}
