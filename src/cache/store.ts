import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { asWriteError, publishSync, syncToDiskNow, writeAtomic } from "../core/atomic.js";
import { traceDurable } from "../core/debug.js";
import { ChargenError, Code } from "../core/errors.js";
import { digestBytes } from "../core/hash.js";
import { VERSION } from "../core/version.js";

/** One generation (or restore source) recorded under a key. Several may exist per key: generation is not deterministic. */
export interface ActionRecord {
  key: string;
  targetId: string;
  /** Digest of the output bytes: the blob's name in the store. */
  blob: string;
  mimeType: string;
  provider: string;
  model: string;
  /** ISO time the provider answered. */
  at: string;
  costUsd?: number;
  metadata: Record<string, unknown>;
}

/**
 * The journal's format. Its first line names it (and the chargen that started the journal), so
 * that a journal written by a newer chargen is refused with a sentence instead of misread. A
 * journal without that line predates it: format 1.
 */
export const JOURNAL_FORMAT = 1;
const journalHeader = () => JSON.stringify({ format: "chargen-actions", version: JOURNAL_FORMAT, chargen: VERSION }) + "\n";

/**
 * `.chargen/store/`: every output ever produced, by content digest, plus `actions.jsonl`, the
 * action cache (key -> outputs made under it) kept as an append-only journal. A generation is
 * durable once its blob and its journal line are fsynced, before anything in the workspace is
 * touched; a torn last line (kill -9 mid-append) is dropped on read, as Shake's database does.
 */
export class Store {
  private readonly byKey = new Map<string, ActionRecord[]>();
  private readonly journalPath: string;
  private readonly blobDir: string;
  /** The journal ends in a torn line: the next append must start on a line of its own. */
  private tornTail: boolean;
  /** Lines of the journal that parse but are not records (hand-edited, another tool): skipped. */
  readonly skippedLines: number[];

  constructor(dir: string) {
    this.journalPath = join(dir, "actions.jsonl");
    this.blobDir = join(dir, "store");
    const { records, tornTail, skippedLines } = readJournal(this.journalPath);
    this.tornTail = tornTail;
    this.skippedLines = skippedLines;
    for (const record of records) this.index(record);
  }

  /** The journal's path, for messages. */
  get journal(): string {
    return this.journalPath;
  }

  /** Records made under `key`, newest last. */
  records(key: string): readonly ActionRecord[] {
    return this.byKey.get(key) ?? [];
  }

  /** The newest record under `key` whose blob is still in the store. */
  latest(key: string): ActionRecord | undefined {
    const list = this.byKey.get(key) ?? [];
    for (let i = list.length - 1; i >= 0; i--) if (this.hasBlob(list[i]!.blob)) return list[i];
    return undefined;
  }

  /** The record of `digest` made under `key`: how chargen recognises its own files. */
  find(key: string, digest: string): ActionRecord | undefined {
    return (this.byKey.get(key) ?? []).find((r) => r.blob === digest);
  }

  blobPath(digest: string): string {
    return join(this.blobDir, digest.slice(0, 2), digest);
  }

  hasBlob(digest: string): boolean {
    return statSync(this.blobPath(digest), { throwIfNoEntry: false })?.isFile() ?? false;
  }

  /** The blob's bytes, or undefined when missing or corrupt (a corrupt blob is removed). */
  readBlob(digest: string): Uint8Array | undefined {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(this.blobPath(digest));
    } catch {
      return undefined;
    }
    if (digestBytes(bytes) === digest) return bytes;
    rmSync(this.blobPath(digest), { force: true });
    return undefined;
  }

  /**
   * Store the bytes and journal the record, durably, in that order. Synchronous on purpose: called
   * the moment a provider answers, it is done before the event loop runs anything else (another
   * placeholder's render, a write-back). The blob and the journal line go to the kernel first,
   * with no flush: from then on a kill -9 loses nothing (well under a millisecond after the
   * answer). Then both are flushed to the disk, against a power cut. A journal line whose blob a
   * power cut lost or tore is harmless: blobs are verified when read.
   */
  put(bytes: Uint8Array, record: Omit<ActionRecord, "blob">): ActionRecord {
    const blob = digestBytes(bytes);
    const path = this.blobPath(blob);
    const fresh = !this.hasBlob(blob);
    if (fresh) publishSync(path, bytes);
    const full: ActionRecord = { ...record, blob };
    // A new journal starts with its header.
    const separator = this.tornTail ? "\n" : statSync(this.journalPath, { throwIfNoEntry: false })?.size ? "" : journalHeader();
    // Until the append is known whole, assume it tore (a full disk): the next one starts a new line.
    this.tornTail = true;
    append(this.journalPath, separator + JSON.stringify(full) + "\n");
    this.tornTail = false;
    this.index(full);
    traceDurable("recorded", full.targetId);
    try {
      syncToDiskNow(this.journalPath);
      if (fresh) {
        syncToDiskNow(path);
        syncToDiskNow(dirname(path), { folder: true });
      }
    } catch (e) {
      throw asWriteError(e, this.journalPath);
    }
    traceDurable("durable", full.targetId);
    return full;
  }

  private index(record: ActionRecord): void {
    const list = this.byKey.get(record.key);
    if (list) list.push(record);
    else this.byKey.set(record.key, [record]);
  }

  /** Every record, oldest first (for gc). */
  allRecords(): ActionRecord[] {
    return [...this.byKey.values()].flat().sort((a, b) => a.at.localeCompare(b.at));
  }

  /**
   * Trim the store: drop blobs not in `keep` that are older than `maxAgeMs`, then the oldest
   * until the store is under `maxBytes`; rewrite the journal without records whose blob is gone.
   */
  async gc(options: { keep: Set<string>; maxAgeMs: number; maxBytes: number; now: number }): Promise<GcReport> {
    const blobs = await listBlobs(this.blobDir);
    const lastUse = new Map<string, number>();
    for (const r of this.allRecords()) lastUse.set(r.blob, Math.max(lastUse.get(r.blob) ?? 0, Date.parse(r.at)));
    // Oldest first; blobs no record names are orphans (a crash between blob and journal line).
    blobs.sort((a, b) => (lastUse.get(a.digest) ?? 0) - (lastUse.get(b.digest) ?? 0));
    let total = blobs.reduce((n, b) => n + b.size, 0);
    const removed = new Set<string>();
    let freed = 0;
    for (const b of blobs) {
      if (options.keep.has(b.digest)) continue;
      const tooOld = options.now - (lastUse.get(b.digest) ?? 0) > options.maxAgeMs;
      if (!tooOld && total <= options.maxBytes) continue;
      rmSync(this.blobPath(b.digest), { force: true });
      removed.add(b.digest);
      total -= b.size;
      freed += b.size;
    }
    const kept = this.allRecords().filter((r) => !removed.has(r.blob));
    await writeAtomic(this.journalPath, journalHeader() + kept.map((r) => JSON.stringify(r) + "\n").join(""));
    this.tornTail = false;
    this.byKey.clear();
    for (const r of kept) this.index(r);
    return { removedBlobs: removed.size, freedBytes: freed, keptBlobs: blobs.length - removed.size, keptBytes: total };
  }
}

export interface GcReport {
  removedBlobs: number;
  freedBytes: number;
  keptBlobs: number;
  keptBytes: number;
}

function readJournal(path: string): { records: ActionRecord[]; tornTail: boolean; skippedLines: number[] } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return { records: [], tornTail: false, skippedLines: [] };
  }
  const records: ActionRecord[] = [];
  const skippedLines: number[] = [];
  text.split("\n").forEach((line, i) => {
    if (!line) return;
    if (i === 0 && line.startsWith('{"format":')) return checkHeader(line, path);
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      // A torn line from a crash mid-append: what it described was never applied.
      return;
    }
    if (isRecord(parsed)) records.push(parsed);
    else skippedLines.push(i + 1);
  });
  return { records, tornTail: text.length > 0 && !text.endsWith("\n"), skippedLines };
}

/** A header this chargen can read, or a clear error: a newer format is refused, not misread. */
function checkHeader(line: string, path: string): void {
  let header: { version?: unknown; chargen?: unknown };
  try {
    header = JSON.parse(line) as typeof header;
  } catch {
    return; // torn: only the header was ever written
  }
  if (typeof header.version === "number" && header.version <= JOURNAL_FORMAT) return;
  const writer = typeof header.chargen === "string" ? ` (written by chargen ${header.chargen})` : "";
  throw new ChargenError(
    "user",
    `${path}: the action journal is in format ${JSON.stringify(header.version)}${writer}; this chargen (${VERSION}) reads format ${JOURNAL_FORMAT} and older: upgrade chargen, or move .chargen/ away to start a new cache`,
    { file: path, line: 1, code: Code.newerJournal },
  );
}

/** What every use of a record relies on; anything else in the journal (`null`, a number) is skipped. */
function isRecord(value: unknown): value is ActionRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const r = value as Record<string, unknown>;
  return typeof r.key === "string" && typeof r.blob === "string" && typeof r.targetId === "string" && typeof r.at === "string";
}

function append(path: string, line: string): void {
  const bytes = Buffer.from(line);
  try {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, "a");
    try {
      // A short append is a torn line: dropped on read, and the next append starts a line of its own.
      let written = 0;
      while (written < bytes.byteLength) {
        const n = writeSync(fd, bytes, written);
        if (n <= 0) throw Object.assign(new Error("short write"), { code: "ENOSPC", written });
        written += n;
      }
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    throw asWriteError(e, path, bytes.byteLength);
  }
}

async function listBlobs(dir: string): Promise<{ digest: string; size: number }[]> {
  const out: { digest: string; size: number }[] = [];
  let shards: string[];
  try {
    shards = await readdir(dir);
  } catch {
    return out;
  }
  for (const shard of shards) {
    for (const name of await readdir(join(dir, shard))) {
      if (name.includes(".")) continue; // a temporary file of an interrupted write
      out.push({ digest: name, size: (await stat(join(dir, shard, name))).size });
    }
  }
  return out;
}
