import { readFileSync } from "node:fs";
import { join } from "node:path";
import { digestBytes } from "../core/hash.js";

const RECHECK_MS = 120;
const MEMORY_MS = 5_000;

/**
 * chargen's own writes (images, YAML write-back, the lock), recognised by their digest: their
 * file events never start a build, so write-back cannot loop.
 */
export class OwnWrites {
  /** What chargen wrote, per path (digest -> when): a file whose content is one of them changed by our hand. */
  private readonly written = new Map<string, Map<string, number>>();
  /**
   * YAML chargen wrote back (files the plan reads, or a rule would) whose change event has not
   * come back yet, nor been looked at again. Outputs are not awaited: they may land in folders
   * the build just made, where chokidar can miss an event, and theirs cannot start a run anyway.
   */
  private readonly unechoed = new Set<string>();
  private rechecks = 0;

  constructor(
    private readonly root: string,
    /** A second look at a file whose event was ours: `own` false when an author's save came right after. */
    private readonly rechecked: (path: string, own: boolean) => void,
  ) {}

  /** chargen is writing `digest` to `path`; `awaitEcho` for the files a plan reads. */
  wrote(path: string, digest: string, awaitEcho: boolean): void {
    this.written.set(path, (this.written.get(path) ?? new Map()).set(digest, Date.now()));
    if (awaitEcho) this.unechoed.add(path);
  }

  /** A file event: whether the file now holds what chargen wrote. */
  isOwn(path: string, removed: boolean): boolean {
    this.unechoed.delete(path);
    if (removed || !this.holdsOwn(path)) return false;
    // Our own write. But an author's save right after it may have been dropped (chokidar lets
    // one change per path through every ~50 ms): look again once that window has passed.
    this.rechecks++;
    setTimeout(() => {
      this.rechecks--;
      // What the file holds now covers our writes whose events chokidar dropped meanwhile.
      this.unechoed.delete(path);
      this.rechecked(path, this.holdsOwn(path));
    }, RECHECK_MS);
    return true;
  }

  /** Nothing of chargen's own writes left to recognise. */
  get settled(): boolean {
    return this.rechecks === 0 && this.unechoed.size === 0;
  }

  /** Forget older contents chargen wrote (keeping each path's latest), so that an author's revert to one is seen. */
  forgetOld(): void {
    const before = Date.now() - MEMORY_MS;
    for (const digests of this.written.values()) {
      const latest = [...digests.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
      for (const [digest, at] of digests) if (at < before && digest !== latest[0]) digests.delete(digest);
    }
  }

  private holdsOwn(path: string): boolean {
    const now = digestOf(join(this.root, path));
    return now !== undefined && (this.written.get(path)?.has(now) ?? false);
  }
}

function digestOf(path: string): string | undefined {
  try {
    return digestBytes(readFileSync(path));
  } catch {
    return undefined;
  }
}
