import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { digestBytes } from "../core/hash.js";
import type { FileStamp, StatCache } from "./stat-cache.js";
import { count } from "../core/debug.js";

/**
 * The planner's only window on the file system (Ninja's disk interface): stats and digests of
 * workspace-relative paths, going through the stat cache so that unchanged files are not re-read.
 * Synchronous on purpose: planning stats thousands of small files, where sync calls are fastest.
 */
export interface Disk {
  readonly root: string;
  stamp(path: string): FileStamp | undefined;
  /** Content digest, or undefined when the file does not exist. */
  digest(path: string): string | undefined;
  readText(path: string): string;
  readBytes(path: string): Uint8Array;
}

export class RealDisk implements Disk {
  private readonly digests = new Map<string, string | undefined>();
  /** Sizes of the files digested: a small one may be an LFS pointer. */
  private readonly sizes = new Map<string, number | undefined>();
  /** The bytes last read to hash a file: a YAML file hashed and then parsed is read once. */
  private lastHashed: { path: string; bytes: Uint8Array } | undefined;

  constructor(
    readonly root: string,
    private readonly stats: StatCache,
    private readonly now: () => number = Date.now,
  ) {}

  stamp(path: string): FileStamp | undefined {
    const st = statSync(join(this.root, path), { bigint: true, throwIfNoEntry: false });
    if (!st || !st.isFile()) return undefined;
    return { size: Number(st.size), mtimeNs: st.mtimeNs.toString(), ino: Number(st.ino) };
  }

  digest(path: string): string | undefined {
    if (this.digests.has(path)) return this.digests.get(path);
    const stamp = this.stamp(path);
    this.sizes.set(path, stamp?.size);
    let digest: string | undefined;
    if (stamp) {
      digest = this.stats.lookup(path, stamp);
      if (digest === undefined) {
        count("file.hashed");
        const bytes = this.readBytes(path);
        this.lastHashed = { path, bytes };
        digest = digestBytes(bytes);
        this.stats.record(path, stamp, digest, this.now());
      }
    }
    this.digests.set(path, digest);
    return digest;
  }

  /** Size in bytes, undefined when the file does not exist. */
  size(path: string): number | undefined {
    if (!this.sizes.has(path)) this.digest(path);
    return this.sizes.get(path);
  }

  /** The digest this build already knows for `path`, without touching the disk. */
  known(path: string): string | undefined {
    return this.digests.get(path);
  }

  /** chargen just wrote `digest` to `path`: remember it, so that nothing re-hashes the file. */
  wrote(path: string, digest: string): void {
    if (this.lastHashed?.path === path) this.lastHashed = undefined;
    const stamp = this.stamp(path);
    if (!stamp) return this.invalidate(path);
    this.stats.recordOwnWrite(path, stamp, digest);
    this.digests.set(path, digest);
    this.sizes.set(path, stamp.size);
  }

  /** Forget what this build learnt about a path. */
  invalidate(path: string): void {
    this.digests.delete(path);
    this.sizes.delete(path);
    if (this.lastHashed?.path === path) this.lastHashed = undefined;
  }

  readText(path: string): string {
    const last = this.lastHashed;
    this.lastHashed = undefined;
    if (last?.path === path) return Buffer.from(last.bytes.buffer, last.bytes.byteOffset, last.bytes.byteLength).toString("utf8");
    return readFileSync(join(this.root, path), "utf8");
  }

  readBytes(path: string): Uint8Array {
    return readFileSync(join(this.root, path));
  }
}
