import { join, matchesGlob, relative, sep } from "node:path";
import { LOCK_FILE } from "../cache/lockfile.js";
import { asChargenError } from "../core/errors.js";
import type { Executor } from "../graph/executor.js";
import { formatSummary } from "../report/report.js";
import { printable } from "../report/escape.js";
import { RULES_FILES } from "../rules/load.js";
import { OwnWrites } from "../watch/own-writes.js";
import { Watcher } from "../watch/watcher.js";
import { BUILD_PID, BuildLock } from "../workspace/build-lock.js";
import { exitCodeFor, type StopSignal } from "../core/signals.js";
import { buildInRounds, openSession, printProblems, type BuildOptions } from "./build.js";
import { CACHE_DIR, openWorkspace, type Workspace } from "../workspace/open.js";

export interface WatchOptions extends Omit<BuildOptions, "mode" | "onInterrupt"> {
  debounceMs: number;
  onInterrupt: (handler: (signal: StopSignal) => void) => () => void;
}

const IGNORED = new Set([CACHE_DIR, ".git", "node_modules"]);
/** `CHARGEN_DEBUG=watch` logs every file event, what the watcher made of it, and each time it becomes idle. */
const debug = process.env.CHARGEN_DEBUG?.split(",").includes("watch") ? (line: string) => process.stderr.write(`[watch] ${line}\n`) : () => {};

/**
 * `chargen build --watch`: builds, then rebuilds what each save made stale, until Ctrl-C.
 * Feeds the watcher (watch/watcher.ts) with chokidar's relevant file events and Ctrl-C; it runs builds.
 * chargen's own writes (images, YAML write-back, the lock) are recognised by their digest and
 * never start a build, so write-back cannot loop.
 */
export async function watch(options: WatchOptions): Promise<number> {
  const lock = BuildLock.acquire(join(options.root, CACHE_DIR, BUILD_PID), (m) => options.err(`chargen: warning: ${m}\n`));
  const session = openSession(options.root, options.clock);
  let watched = new Set<string>();
  let sourcePatterns: string[] = [];
  let planFiles = new Set<string>();
  let executor: Executor | undefined;
  let runs = 0;
  let lastRun = "";
  const { watch: chokidarWatch } = await import("chokidar");

  const ownWrites = new OwnWrites(options.root, (path, own) => {
    debug(`recheck ${path}: ${own ? "chargen's own write" : "changed"}`);
    if (!own) watcher.change();
    else noteIdle();
  });
  let idle = false;
  /**
   * Idle: no run, no debounce and nothing of chargen's own writes left to recognise. Logged
   * (`[watch] idle`) each time it begins, so that tests wait for it instead of sleeping.
   */
  const noteIdle = () => {
    const now = watcher.state === "watching" && ownWrites.settled;
    if (now && !idle) debug("idle");
    idle = now;
  };

  const runOnce = async () => {
    const startedAt = Date.now();
    runs++;
    ownWrites.forgetOld();
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
    try {
      const built = await buildInRounds({
        ws,
        options,
        session,
        progress: options.progress,
        startedAt,
        onExecutor: (e) => (executor = e),
        interrupted: () => watcher.state === "stopping",
        // chargen's own writes are known by their digest: their file events start no run.
        listen: (event) => {
          if (event.type === "written") ownWrites.wrote(event.path, event.digest, planFiles.has(event.path) || sourcePatterns.some((p) => matchesGlob(event.path, p)));
          else if (event.type === "changed-underneath") {
            debug(`changed under a write-back: ${event.path}`);
            watcher.change();
          }
        },
      });
      executor = undefined;
      printProblems(built, options);
      lastRun = `run ${runs}: ${formatSummary(built)}`;
    } catch (e) {
      options.err(`chargen: ${printable(asChargenError(e).message)}\n`);
      lastRun = `run ${runs} failed`;
    }
    options.out(`watch: ${lastRun}; watching ${watched.size} files (Ctrl-C to stop)\n`);
  };

  const watcher = new Watcher({
    debounceMs: options.debounceMs,
    build: runOnce,
    stopScheduling: () => executor?.stop(),
    abort: () => executor?.abort(),
    handled: noteIdle,
  });

  /** A file event matters when the plan reads the file, a rule would read it, and chargen did not just write it. */
  const relevant = (rel: string, removed: boolean): boolean => {
    if (rel === LOCK_FILE || ownWrites.isOwn(rel, removed)) return false;
    return watched.has(rel) || (!removed && sourcePatterns.some((p) => matchesGlob(rel, p)));
  };

  const files = chokidarWatch(options.root, {
    ignoreInitial: true,
    ignored: (path: string) => IGNORED.has(relative(options.root, path).split(sep)[0] ?? ""),
  });
  const onEvent = (removed: boolean) => (path: string) => {
    const rel = relative(options.root, path).split(sep).join("/");
    const matters = relevant(rel, removed);
    debug(`${removed ? "removed" : "changed"} ${rel}: ${matters ? "relevant" : "ignored"} (state ${watcher.state})`);
    if (matters) watcher.change();
    else noteIdle();
  };
  files.on("add", onEvent(false)).on("change", onEvent(false)).on("unlink", onEvent(true));
  files.on("error", (e) => options.err(`chargen: watcher: ${printable(asChargenError(e).message)}\n`));
  await new Promise<void>((r) => files.once("ready", () => r()));

  let stoppedBy: StopSignal = "SIGINT";
  const detach = options.onInterrupt((signal) => {
    if (watcher.state !== "stopping") stoppedBy = signal;
    watcher.interrupt();
  });
  try {
    // The watcher only stops on an interrupt: its exit status is the signal's.
    await watcher.run();
    return exitCodeFor(stoppedBy);
  } finally {
    detach();
    await files.close();
    lock.release();
  }
}
