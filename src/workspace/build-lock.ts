import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { dirname } from "node:path";
import { ChargenError } from "../core/errors.js";
import { asWriteError } from "../core/atomic.js";

/** The lock's file in `.chargen/`. */
export const BUILD_PID = "build.pid";

export interface Holder {
  pid: number;
  host: string;
  startedAt: string;
}

/**
 * One build per workspace at a time: `.chargen/build.pid`, created exclusively. A lock whose
 * process is gone (kill -9, a crash) is taken over at once: the pid is checked, not an mtime, so a
 * rerun right after a crash does not wait. (proper-lockfile only detects staleness by mtime, after
 * seconds.) So is a lock whose pid now belongs to a process younger than the lock, with a warning.
 * A lock held from another host is never taken over: its process cannot be checked.
 */
export class BuildLock {
  private constructor(private readonly path: string) {}

  static acquire(path: string, warn: (message: string) => void = () => {}, now: Date = new Date()): BuildLock {
    const me: Holder = { pid: process.pid, host: hostname(), startedAt: now.toISOString() };
    for (let attempt = 0; attempt < 3; attempt++) {
      // Written aside then hard-linked into place: the lock appears complete or not at all.
      const tmp = `${path}.${process.pid}.tmp`;
      try {
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(tmp, JSON.stringify(me));
        linkSync(tmp, path);
        return new BuildLock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw asWriteError(e, path);
      } finally {
        rmSync(tmp, { force: true });
      }
      const holder = readHolder(path);
      const state = holder ? holderState(holder) : "gone";
      if (holder && state === "running") {
        throw new ChargenError(
          "user",
          `another chargen build is running in this workspace (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}); wait for it, or stop it`,
        );
      }
      if (holder && state === "reused") {
        warn(`${path} named pid ${holder.pid}, which is alive but started after the lock was taken (${holder.startedAt}): not the build that took it, which is gone. Taking the lock over`);
      }
      rmSync(path, { force: true });
    }
    throw new ChargenError("user", `could not take the build lock ${path}`);
  }

  /** The build holding the lock at `path` now, if one does (`--check` says so, and why). */
  static runningHolder(path: string): Holder | undefined {
    const holder = readHolder(path);
    return holder && holderState(holder) === "running" ? holder : undefined;
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

/**
 * Is the lock's holder still running? `gone` when its pid is free; `reused` when the pid now
 * belongs to a process that started after the lock was taken (pids are recycled: after a crash
 * or a reboot a stranger may hold it, and waiting for it would block builds forever); else
 * `running`. A holder on another host cannot be checked: it is taken to be running.
 */
function holderState(holder: Holder): "running" | "gone" | "reused" {
  if (holder.host !== hostname()) return "running";
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return "gone";
  }
  const started = processStartMs(holder.pid);
  const locked = Date.parse(holder.startedAt);
  // Slack for the clock-tick and whole-second boot time the start time is computed from.
  return started !== undefined && Number.isFinite(locked) && started > locked + 2_000 ? "reused" : "running";
}

/** When a process started (ms since the epoch), from Linux's /proc; undefined where that cannot be told. */
function processStartMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces) in parentheses; starttime is field 22.
    const ticksSinceBoot = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]);
    const bootSeconds = Number(/^btime (\d+)$/m.exec(readFileSync("/proc/stat", "utf8"))?.[1]);
    const start = bootSeconds * 1000 + ticksSinceBoot * (1000 / CLOCK_TICKS_PER_SECOND);
    return Number.isFinite(start) ? start : undefined;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
