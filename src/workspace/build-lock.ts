import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { ChargenError } from "../errors.js";

interface Holder {
  pid: number;
  host: string;
  startedAt: string;
}

/**
 * One build per workspace at a time: `.chargen/build.pid`, created exclusively. A lock whose
 * process is gone (kill -9, a crash) is taken over at once: the pid is checked, not an mtime, so a
 * rerun right after a crash does not wait. (proper-lockfile only detects staleness by mtime, after
 * seconds.) A lock held from another host is never taken over: its process cannot be checked.
 */
export class BuildLock {
  private constructor(private readonly path: string) {}

  static acquire(path: string, now: Date = new Date()): BuildLock {
    mkdirSync(dirname(path), { recursive: true });
    const me: Holder = { pid: process.pid, host: hostname(), startedAt: now.toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      // Written aside then hard-linked into place: the lock appears complete or not at all.
      const tmp = `${path}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(me));
      try {
        linkSync(tmp, path);
        return new BuildLock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      } finally {
        rmSync(tmp, { force: true });
      }
      const holder = readHolder(path);
      if (holder && isAlive(holder)) {
        throw new ChargenError(
          "user",
          `another chargen build is running in this workspace (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}); wait for it, or stop it`,
        );
      }
      // The holder is dead: take the lock over.
      rmSync(path, { force: true });
    }
    throw new ChargenError("user", `could not take the build lock ${path}`);
  }

  release(): void {
    rmSync(this.path, { force: true });
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Holder;
  } catch {
    return undefined;
  }
}

function isAlive(holder: Holder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
