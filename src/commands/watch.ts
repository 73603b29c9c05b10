import { readFileSync } from "node:fs";
import { join, matchesGlob, relative, sep } from "node:path";
import { digestBytes } from "../core/hash.js";
import { LOCK_FILE } from "../cache/lockfile.js";
import { asChargenError } from "../core/errors.js";
import type { Executor } from "../graph/executor.js";
import { formatSummary, type Report } from "../report/report.js";
import { printable } from "../report/escape.js";
import type { Progress } from "../report/progress.js";
import { RULES_FILES } from "../rules/load.js";
import { transition, type WatchEffect, type WatchEvent, type WatchState } from "../watch/machine.js";
import { BUILD_PID, BuildLock } from "../workspace/build-lock.js";
import { adoptHistory } from "../adopt/adopt.js";
import { exitCodeFor, type StopSignal } from "../core/signals.js";
import { recordInLock, withHistory } from "./adopt.js";
import { buildOnce, openSession, printProblems, type BuildOptions } from "./build.js";
import { CACHE_DIR, openWorkspace, type Workspace } from "../workspace/open.js";

export interface WatchOptions extends Omit<BuildOptions, "mode" | "onInterrupt"> {
  debounceMs: number;
  onInterrupt: (handler: (signal: StopSignal) => void) => () => void;
}

const IGNORED = new Set([CACHE_DIR, ".git", "node_modules"]);
const OWN_WRITE_RECHECK_MS = 120;
const OWN_WRITE_MEMORY_MS = 5_000;
/** `CHARGEN_DEBUG=watch` logs every file event, what the watcher made of it, and each time it becomes idle. */
const debug = process.env.CHARGEN_DEBUG?.split(",").includes("watch") ? (line: string) => process.stderr.write(`[watch] ${line}\n`) : () => {};

/**
 * `chargen build --watch`: builds, then rebuilds what each save made stale, until Ctrl-C.
 * Drives the state machine of watch/machine.ts with chokidar events, a debounce timer and builds.
 * chargen's own writes (images, YAML write-back, the lock) are recognised by their digest and
 * never start a build, so write-back cannot loop.
 */
export async function watch(options: WatchOptions): Promise<number> {
  const lock = BuildLock.acquire(join(options.root, CACHE_DIR, BUILD_PID), (m) => options.err(`chargen: warning: ${m}\n`));
  const session = openSession(options.root, options.clock);
  /** What chargen wrote, per path (digest -> when): a file whose content is one of them changed by our hand. */
  const ownWrites = new Map<string, Map<string, number>>();
  let watched = new Set<string>();
  let sourcePatterns: string[] = [];
  let planFiles = new Set<string>();
  let state: WatchState = "debouncing";
  let timer: ReturnType<typeof setTimeout> | undefined;
  let executor: Executor | undefined;
  let runs = 0;
  let lastRun = "";
  let exitCode = 0;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const { watch: chokidarWatch } = await import("chokidar");

  /**
   * YAML chargen wrote back (files the plan reads, or a rule would) whose change event has not
   * come back yet, nor been looked at again. Outputs are not awaited: they may land in folders
   * the build just made, where chokidar can miss an event, and theirs cannot start a run anyway.
   */
  const unechoed = new Set<string>();
  let rechecks = 0;
  let idle = false;
  /**
   * Idle: no run, no debounce and nothing of chargen's own writes left to recognise. Logged
   * (`[watch] idle`) each time it begins, so that tests wait for it instead of sleeping.
   */
  const noteIdle = () => {
    const now = state === "watching" && rechecks === 0 && unechoed.size === 0;
    if (now && !idle) debug("idle");
    idle = now;
  };

  const dispatch = (event: WatchEvent) => {
    const next = transition(state, event);
    state = next.state;
    for (const effect of next.effects) perform(effect);
    noteIdle();
  };

  const perform = (effect: WatchEffect) => {
    switch (effect) {
      case "start-timer":
        clearTimeout(timer);
        timer = setTimeout(() => dispatch("quiet"), options.debounceMs);
        return;
      case "start-run":
        void runOnce().finally(() => dispatch("finished"));
        return;
      case "stop-scheduling":
        executor?.stop();
        return;
      case "abort":
        executor?.abort();
        return;
      case "exit":
        clearTimeout(timer);
        resolveDone(exitCode);
        return;
    }
  };

  const runOnce = async () => {
    const startedAt = Date.now();
    runs++;
    forgetOldWrites();
    let ws: Workspace;
    try {
      ws = await openWorkspace({ ...options, patterns: options.patterns });
    } catch (e) {
      // A broken rules file or lock mid-edit: say so and keep watching; the fix rebuilds.
      options.err(`chargen: ${printable(asChargenError(e).message)}\n`);
      lastRun = `run ${runs} failed to plan`;
      options.out(`watch: ${lastRun}; watching (Ctrl-C to stop)\n`);
      return;
    }
    const references = [...ws.records.values()].flatMap((r) => [r.output, ...r.references.map((x) => x.path)]);
    watched = new Set([...ws.analysis.files, ...references, ...RULES_FILES]);
    planFiles = new Set(ws.analysis.files);
    sourcePatterns = ws.rules.rules.flatMap((r) => r.sources);
    let progress: Progress | undefined;
    try {
      progress = await options.progress();
      // As a plain build does: what the YAML records and the lock does not, adopted first.
      const history = options.noAdopt ? [] : adoptHistory(ws);
      await recordInLock(ws, history);
      const built = await buildOnce({
        ws,
        options,
        session,
        progress,
        startedAt,
        onExecutor: (e) => (executor = e),
        // chargen's own writes are known by their digest: their file events start no run.
        listen: (event) => {
          if (event.type === "written") {
            ownWrites.set(event.path, (ownWrites.get(event.path) ?? new Map()).set(event.digest, Date.now()));
            if (planFiles.has(event.path) || sourcePatterns.some((p) => matchesGlob(event.path, p))) unechoed.add(event.path);
          } else if (event.type === "changed-underneath") {
            debug(`changed under a write-back: ${event.path}`);
            dispatch("change");
          }
        },
      });
      executor = undefined;
      const report: Report = withHistory(built, history);
      printProblems(report, options);
      exitCode = report.summary.exitCode;
      lastRun = `run ${runs}: ${formatSummary(report)}`;
    } catch (e) {
      options.err(`chargen: ${printable(asChargenError(e).message)}\n`);
      lastRun = `run ${runs} failed`;
    }
    options.out(`watch: ${lastRun}; watching ${watched.size} files (Ctrl-C to stop)\n`);
  };

  /** A file event matters when the plan reads the file, a rule would read it, and chargen did not just write it. */
  const relevant = (rel: string, removed: boolean): boolean => {
    if (rel === LOCK_FILE) return false;
    if (!removed && isOwnWrite(rel)) {
      // Our own write. But an author's save right after it may have been dropped (chokidar lets
      // one change per path through every ~50 ms): look again once that window has passed.
      rechecks++;
      setTimeout(() => {
        rechecks--;
        // What the file holds now covers our writes whose events chokidar dropped meanwhile.
        unechoed.delete(rel);
        const own = isOwnWrite(rel);
        debug(`recheck ${rel}: ${own ? "chargen's own write" : "changed"}`);
        if (!own) dispatch("change");
        else noteIdle();
      }, OWN_WRITE_RECHECK_MS);
      return false;
    }
    return watched.has(rel) || (!removed && sourcePatterns.some((p) => matchesGlob(rel, p)));
  };
  const isOwnWrite = (rel: string) => {
    const now = digestOf(join(options.root, rel));
    return now !== undefined && (ownWrites.get(rel)?.has(now) ?? false);
  };
  /** Forget older contents chargen wrote (keeping each path's latest), so that an author's revert to one is seen. */
  const forgetOldWrites = () => {
    const before = Date.now() - OWN_WRITE_MEMORY_MS;
    for (const digests of ownWrites.values()) {
      const latest = [...digests.entries()].reduce((a, b) => (b[1] > a[1] ? b : a));
      for (const [digest, at] of digests) if (at < before && digest !== latest[0]) digests.delete(digest);
    }
  };

  const watcher = chokidarWatch(options.root, {
    ignoreInitial: true,
    ignored: (path: string) => IGNORED.has(relative(options.root, path).split(sep)[0] ?? ""),
  });
  const onEvent = (removed: boolean) => (path: string) => {
    const rel = relative(options.root, path).split(sep).join("/");
    unechoed.delete(rel);
    const matters = relevant(rel, removed);
    debug(`${removed ? "removed" : "changed"} ${rel}: ${matters ? "relevant" : "ignored"} (state ${state})`);
    if (matters) dispatch("change");
    else noteIdle();
  };
  watcher.on("add", onEvent(false)).on("change", onEvent(false)).on("unlink", onEvent(true));
  watcher.on("error", (e) => options.err(`chargen: watcher: ${printable(asChargenError(e).message)}\n`));
  await new Promise<void>((r) => watcher.once("ready", () => r()));

  let stoppedBy: StopSignal = "SIGINT";
  const detach = options.onInterrupt((signal) => {
    if (state !== "stopping") stoppedBy = signal;
    dispatch("interrupt");
  });
  dispatch("quiet"); // the first build, at once
  try {
    const code = await done;
    return (state as WatchState) === "stopped" ? exitCodeFor(stoppedBy) : code;
  } finally {
    detach();
    await watcher.close();
    lock.release();
  }
}

function digestOf(path: string): string | undefined {
  try {
    return digestBytes(readFileSync(path));
  } catch {
    return undefined;
  }
}
