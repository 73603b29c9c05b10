import { readJsonCache, writeJsonCache } from "./json-file.js";
import { racyWindowMs, stampTrusted } from "./racy.js";

/** Fractional milliseconds, as fs.Stats.mtimeMs gives them, from a nanosecond stamp. */
const mtimeMsOf = (stamp: FileStamp) => Number(BigInt(stamp.mtimeNs)) / 1_000_000;

/** What `stat` tells about a file: enough to know it has not changed since it was hashed. */
export interface FileStamp {
  size: number;
  /** Nanoseconds, as a string: millisecond mtimes miss quick successive writes. */
  mtimeNs: string;
  ino: number;
}

interface Entry extends FileStamp {
  digest: string;
  /** When the digest was taken; a file modified within the same clock tick may still change unseen. */
  hashedAtMs: number;
}

/**
 * Path -> (stamp, digest), so that a no-op build hashes no unchanged file (DVC's stat cache).
 * A file whose mtime is too close to when it was hashed is "racily clean" (see racy.ts) and is
 * hashed again next time, once.
 */
export class StatCache {
  private static readonly VERSION = 1;
  private dirty = false;

  private constructor(private readonly entries: Map<string, Entry>) {}

  static load(path: string): StatCache {
    const data = readJsonCache<Record<string, Entry>>(path, StatCache.VERSION);
    return new StatCache(new Map(Object.entries(data ?? {})));
  }

  static empty(): StatCache {
    return new StatCache(new Map());
  }

  lookup(path: string, stamp: FileStamp): string | undefined {
    const e = this.entries.get(path);
    if (!e || e.size !== stamp.size || e.mtimeNs !== stamp.mtimeNs || e.ino !== stamp.ino) return undefined;
    if (!stampTrusted(mtimeMsOf(stamp), e.hashedAtMs)) return undefined;
    return e.digest;
  }

  record(path: string, stamp: FileStamp, digest: string, nowMs: number): void {
    this.entries.set(path, { ...stamp, digest, hashedAtMs: nowMs });
    this.dirty = true;
  }

  /**
   * A file chargen itself just wrote, stamped after the rename: its digest is known, not guessed,
   * so it is trusted at once (a check right after a build must not re-hash every image it made).
   */
  recordOwnWrite(path: string, stamp: FileStamp, digest: string): void {
    const mtimeMs = mtimeMsOf(stamp);
    this.record(path, stamp, digest, mtimeMs + racyWindowMs(mtimeMs));
  }

  get changed(): boolean {
    return this.dirty;
  }

  async save(path: string): Promise<void> {
    if (!this.dirty) return;
    await writeJsonCache(path, StatCache.VERSION, Object.fromEntries(this.entries));
    this.dirty = false;
  }
}
