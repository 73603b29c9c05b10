import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { LOCK_GITATTRIBUTES } from "../cache/lockfile.js";
import { JobStore } from "../batch/store.js";
import { Store } from "../cache/store.js";
import { writeJsonCache } from "../cache/json-file.js";
import { realClock, type Clock } from "../core/clock.js";
import { traceEvent } from "../core/debug.js";
import type { Pool } from "../core/pool.js";
import { ChargenError, Code, formatDiagnostic, type Diagnostic } from "../core/errors.js";
import { EXIT } from "../core/exit.js";
import { recordedAnswer, targetFacts } from "../report/target.js";
import { JsonReporter } from "../report/json-reporter.js";
import { Executor, newSpending, REPLAN, type Spending } from "../graph/executor.js";
import type { TargetRecord } from "../graph/analyzer.js";
import type { BuildEvent, ReportedEvent, TargetOutcome } from "../model/events.js";
import { estimatePrice } from "../providers/catalog.js";
import { ProviderHub } from "../providers/hub.js";
import { annotation, formatSummary, type Report, type TargetReport } from "../report/report.js";
import { printable } from "../report/escape.js";
import { silentProgress, type Progress } from "../report/progress.js";
import { missingReferencesPolicy } from "../rules/api.js";
import { SCENE_SPECS_RULE } from "../rules/story.js";
import { Applier } from "../workspace/applier.js";
import { BUILD_PID, BuildLock } from "../workspace/build-lock.js";
import { adoptHistory } from "../adopt/adopt.js";
import { historyEvents, recordInLock, remember } from "./adopt.js";
import { exitCodeFor, type StopSignal } from "../core/signals.js";
import { planWorkspace, targetPrice, type PlannedTarget } from "../workspace/plan.js";
import { forgetFresh, freshContext, recordFresh } from "../cache/fresh-stamp.js";
import { MTIME_LAG_MS } from "../cache/racy.js";
import { CACHE_DIR, consultedPaths, openWorkspace, PARSE_CACHE, parseCacheVersion, routeOf, sentSpec, STAT_CACHE, type Workspace } from "../workspace/open.js";

export interface BuildOptions {
  root: string;
  patterns: string[];
  mode: "build" | "check" | "dry-run";
  explain: boolean;
  json: boolean;
  jobs: number;
  providerOverride?: string;
  modelOverride?: string;
  force: boolean;
  failFast: boolean;
  maxCostUsd?: number;
  /** `--no-adopt`: do not first adopt the images the workspace's history records (see commands/adopt.ts). */
  noAdopt?: boolean;
  env: NodeJS.ProcessEnv;
  githubActions: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
  progress: () => Promise<Progress>;
  /** Ctrl-C, SIGTERM or SIGHUP: the first stops scheduling, a second aborts what is in flight. */
  onInterrupt: (handler: (signal: StopSignal) => void) => () => void;
  clock?: Clock;
}


export async function runBuild(options: BuildOptions): Promise<number> {
  const startedAt = Date.now();
  const ws = await openWorkspace(options);
  if (options.mode !== "build") return plan(ws, options, startedAt);
  return build(ws, options, startedAt);
}

/** `--check` and `--dry-run`: decide from the lock and the files; no provider call, no write. */
async function plan(ws: Workspace, options: BuildOptions, startedAt: number): Promise<number> {
  // A dry run says what a build would do, adoption included; the adoption stays in memory.
  const history = options.mode === "dry-run" && !options.noAdopt ? adoptHistory(ws) : [];
  remember(ws, history);
  // The store, where there is one, tells chargen's own outputs not yet in the lock (a build running
  // now, or killed before it recorded them: stale, not "modified") and what a dry run can restore.
  // Opened only when a decision needs it: --check needs none, and a fresh clone has none.
  let opened: Store | undefined;
  const store = () => (opened ??= new Store(join(ws.root, CACHE_DIR)));
  const planned = planWorkspace(ws, { find: (k, d) => store().find(k, d), latest: (k) => store().latest(k) }, options.force);
  const running = BuildLock.runningHolder(join(ws.root, CACHE_DIR, BUILD_PID));
  if (running) {
    options.err(`chargen: a build is running in this workspace (pid ${running.pid}, since ${running.startedAt}): what it has not recorded yet is reported stale, not modified\n`);
  }
  // The workspace is never written; chargen's private caches are refreshed where a build made
  // them, so that the next check does not re-read what this one learnt. Best effort: a read-only
  // checkout still checks.
  const inBatch = inBatchKeys(ws.root);
  const replanned = options.mode === "dry-run" ? replannedAfter(ws, planned) : new Map<string, string>();
  /** What a build would do to the target, and what that would cost. */
  const wouldDo = (p: PlannedTarget): { outcome: TargetOutcome; estimate: number | undefined } => {
    // Not fresh, but paid for already: say which job brings it, and count no cost for it.
    const batch = p.decision.status === "stale" && !p.decision.restorable ? inBatch(p.decision.key) : undefined;
    if (batch) return { outcome: { id: p.id, status: "pending", reasons: [...p.decision.reasons, batch] }, estimate: 0 };
    const after = replanned.get(p.id);
    if (after) return { outcome: { id: p.id, status: "stale", reasons: [`re-planned after ${after}`] }, estimate: wouldCost(ws, p.id) };
    return { outcome: { id: p.id, status: planStatus(p), reasons: p.decision.reasons }, estimate: p.estimatedCostUsd };
  };
  // The plan is reported as a build is: from its events, each target's `done` saying what it would do.
  const reporter = new JsonReporter(options.mode);
  const log = logTo(reporter);
  historyEvents(history).forEach(log);
  log({ type: "planned", total: planned.length, toRun: planned.filter((p) => p.decision.status !== "fresh").length, ids: ws.selected });
  for (const diagnostic of ws.diagnostics) log({ type: "diagnostic", diagnostic });
  // Fresh only by an adoption kept in memory is not fresh on disk: nothing to replay.
  let allFresh = !history.some((v) => v.entry);
  for (const p of planned) {
    const { outcome, estimate } = wouldDo(p);
    allFresh &&= outcome.status === "fresh";
    log({ type: "done", outcome, facts: targetFacts(ws, p.id, estimate) });
  }
  if (existsSync(join(ws.root, CACHE_DIR))) await saveCaches(ws, options, allFresh).catch(() => {});
  log({ type: "ended", providerCalls: 0, durationMs: Date.now() - startedAt });
  const planReport = reporter.report();
  const { exitCode } = planReport.summary;
  const report = options.mode === "dry-run" ? { ...planReport, analysis: analysisOf(ws, planReport.targets) } : planReport;
  if (options.json) {
    options.out(JSON.stringify(report, null, 2) + "\n");
    return exitCode;
  }
  printDiagnostics(ws.diagnostics, options);
  for (const t of report.targets) {
    if (t.status === "fresh") continue;
    const cost = options.mode === "dry-run" && t.status === "stale" ? `  ${t.estimatedCostUsd === null ? "cost unknown" : `$${t.estimatedCostUsd.toFixed(3)}`}` : "";
    const route = options.explain ? routeOf(ws, t.id) : undefined;
    options.out(`${t.status.padEnd(8)} ${printable(t.id)}${cost}\n${[...t.reasons, ...(route ? [`route: ${route}`] : [])].map((r) => `         ${printable(r)}\n`).join("")}`);
    if (options.githubActions && options.mode === "check") options.out(annotation(t) + "\n");
  }
  if (report.analysis) options.out(analysisLine(report.analysis));
  if (options.mode === "dry-run") options.out(unknownYet(ws, report.targets));
  options.out(formatSummary(report) + "\n");
  return exitCode;
}

/**
 * Fresh targets that come after one this build will run (a character's appearance their prompt
 * reads): the build plans them again once it is written. The dry run cannot know their new prompt,
 * so it counts them, conservatively, as rebuilt. By id, the not-fresh target each comes after.
 */
function replannedAfter(ws: Workspace, planned: PlannedTarget[]): Map<string, string> {
  const notFresh = new Set(planned.filter((p) => p.decision.status !== "fresh").map((p) => p.id));
  const replanned = new Map<string, string>();
  // In graph order: a target after a re-planned one is re-planned too.
  for (const p of planned) {
    const after = p.decision.status === "fresh" ? ws.records.get(p.id)!.after?.find((id) => notFresh.has(id)) : undefined;
    if (!after) continue;
    replanned.set(p.id, after);
    notFresh.add(p.id);
  }
  return replanned;
}

/** A target's estimated price under this build's settings (undefined when unknown). */
function wouldCost(ws: Workspace, id: string): number | undefined {
  const resolved = ws.settings.get(id);
  return resolved && !(resolved instanceof ChargenError) ? targetPrice(ws.records.get(id)!, resolved.settings, ws.rules) : undefined;
}

/** What the dry run would spend on analysis (data targets), apart: the real tree has a thousand records to describe. */
function analysisOf(ws: Workspace, targets: TargetReport[]): NonNullable<Report["analysis"]> {
  const reads = targets.filter((t) => t.status === "stale" && ws.records.get(t.id)?.kind === "data");
  const usd = reads.reduce((n, t) => n + (t.estimatedCostUsd ?? 0), 0);
  return { dataTargets: reads.length, estimatedCostUsd: Math.round(usd * 1e6) / 1e6, unknownCost: reads.filter((t) => t.estimatedCostUsd === null).length };
}

/** The analysis line of the dry run; empty when there is nothing to read. */
function analysisLine({ dataTargets, estimatedCostUsd, unknownCost }: NonNullable<Report["analysis"]>): string {
  if (!dataTargets) return "";
  return `analysis: ${dataTargets} data target${dataTargets === 1 ? "" : "s"} to read, estimated $${estimatedCostUsd.toFixed(2)}${unknownCost ? ` (${unknownCost} of unknown cost)` : ""}\n`;
}

/** Events into the report, traced on the way (CHARGEN_DEBUG=events). */
export const logTo =
  (reporter: JsonReporter) =>
  (event: ReportedEvent): void => {
    traceEvent(event);
    reporter.log(event);
  };

/** Rounds of one build: a data target writes what later prompts read at most once per dependency level. */
const MAX_ROUNDS = 3;

/** What a dry run cannot know yet: the images of each chapter whose specification is still to be read. */
function unknownYet(ws: Workspace, targets: TargetReport[]): string {
  return targets
    .filter((t) => t.status === "stale" && ws.records.get(t.id)?.rule === SCENE_SPECS_RULE)
    .map((t) => `${printable(ws.records.get(t.id)!.source.file.split("/").slice(0, 2).join("/"))}: images not known until its specification is read\n`)
    .join("");
}

function planStatus(p: PlannedTarget): TargetReport["status"] {
  switch (p.decision.status) {
    case "fresh":
    case "modified":
    case "stale":
      return p.decision.status;
    case "pending":
      return "stale";
    case "blocked":
    case "error":
      return "failed";
  }
}

/** What outlives one build in a process (watch mode runs many): the store and the rate-limit pools. */
export interface Session {
  store: Store;
  pools: Map<string, Pool>;
  clock: Clock;
}

export function openSession(root: string, clock: Clock = realClock): Session {
  return { store: new Store(join(root, CACHE_DIR)), pools: new Map(), clock };
}

/**
 * A build under the build lock: its rounds, then, when they changed the workspace, the settling
 * re-plan. Not an async function: a suspended one keeps its parameters and locals alive, and the
 * re-plan would hold the build's whole workspace (its records, lock, specs) besides its own.
 */
function build(ws: Workspace, options: BuildOptions, startedAt: number): Promise<number> {
  const buildLock = BuildLock.acquire(join(ws.root, CACHE_DIR, BUILD_PID), (m) => options.err(`chargen: warning: ${m}\n`));
  return buildRounds(ws, options, startedAt)
    .then(async ({ report, changed }) => {
      if (changed) await settle(options);
      printReport(report, options);
      return report.summary.exitCode;
    })
    .finally(() => buildLock.release());
}

/** The build's rounds, Ctrl-C stopping them; `changed`: it ended well and wrote into the workspace. */
async function buildRounds(ws: Workspace, options: BuildOptions, startedAt: number): Promise<{ report: Report; changed: boolean }> {
  // The current round's view.
  let progress: Progress = silentProgress;
  let control: Executor | undefined;
  let interrupted: StopSignal | undefined;
  const detach = options.onInterrupt((signal) => {
    if (!interrupted) {
      interrupted = signal;
      control?.stop();
      progress.emit({ type: "note", line: `interrupted${signal === "SIGINT" ? "" : ` (${signal})`}: letting requests in flight finish and be recorded (Ctrl-C again to abort them)` });
    } else control?.abort();
  });
  // The settling re-plan follows a build that ended well and wrote into the workspace.
  const settles = (report: Report) => !interrupted && report.summary.exitCode === EXIT.ok && report.summary.built + report.summary.cached > 0;
  let report: Report;
  try {
    report = await buildInRounds({
      ws,
      options,
      session: openSession(ws.root, options.clock),
      progress: async () => (progress = options.json ? silentProgress : await options.progress()),
      startedAt,
      onExecutor: (executor) => {
        control = executor;
        if (interrupted) executor.stop();
      },
      interrupted: () => interrupted !== undefined,
      withAnswers: options.json,
      settles,
    });
  } finally {
    detach();
  }
  if (interrupted) report.summary.exitCode = exitCodeFor(interrupted);
  return { report, changed: settles(report) };
}

/** What a build in rounds is given: a round's setup, its progress view made per round, and whether it was interrupted (no next round then). */
export interface RoundsSetup extends Omit<BuildOnceSetup, "options" | "progress" | "reporter" | "rounds" | "pipelined"> {
  options: BuildOnceSetup["options"] & Pick<BuildOptions, "noAdopt" | "root" | "err">;
  /** A round's progress view. */
  progress(): Promise<Progress>;
  interrupted(): boolean;
  /** The report carries data targets' answers (--json prints them): read from the store once it is made. */
  withAnswers?: boolean;
}

/**
 * A build (`build`, and each run of `build --watch`): the images the workspace's history records
 * adopted first, then rounds of one pipelined build. A target that could not be planned again in
 * place (a write-back removed or renamed it meanwhile) was not sent on the old text: the next round
 * plans the files as they are now and builds what it has not reported yet. The rounds share one
 * report, the spending --max-cost counts and the providers stopped; --fail-fast ends the build at
 * a failure.
 */
export async function buildInRounds({ ws, options, progress, interrupted, withAnswers, ...round }: RoundsSetup): Promise<Report> {
  const history = options.noAdopt ? [] : adoptHistory(ws);
  await recordInLock(ws, history);
  const adopted = history.filter((v) => v.status === "adopted").length;
  if (adopted) options.err(`adopted ${adopted} image${adopted > 1 ? "s" : ""} the workspace already records (no provider call; --no-adopt to skip)\n`);
  // One report over the rounds: each round's targets keep what an earlier round did to them.
  const reporter = new JsonReporter("build");
  historyEvents(history).forEach(logTo(reporter));
  const rounds = newRounds();
  let report = await buildOnce({ ...round, ws, options, progress: await progress(), pipelined: true, reporter, rounds });
  let last = ws;
  for (let n = 1; !interrupted() && n < MAX_ROUNDS && report.targets.some((t) => t.error?.code === REPLAN) && !(options.failFast && report.summary.failed > 0); n++) {
    last = await openWorkspace(options);
    report = await buildOnce({ ...round, ws: last, options, progress: await progress(), pipelined: true, reporter, rounds });
  }
  // The last round's lock records what every round wrote.
  return withAnswers ? reporter.report((id) => recordedAnswer(last, round.session.store, id)) : report;
}

/**
 * After a build that changed the workspace, plan once more and save what that plan learnt: the
 * YAML files chargen wrote back into are parsed now, not by the next check, and an all-fresh
 * result is recorded so that the next no-op check or build is a replay.
 */
async function settle(options: BuildOptions): Promise<void> {
  // The plan begins once what the build wrote is stamped as older than it (see recordFresh).
  await new Promise((resolve) => setTimeout(resolve, 2 * MTIME_LAG_MS));
  const ws = await openWorkspace(options);
  const planned = planWorkspace(ws, undefined, options.force);
  await saveCaches(ws, options, planned.every((p) => p.decision.status === "fresh"));
}

/**
 * One build of an opened workspace: plan, run the executor, apply, save the caches. The caller
 * holds the build lock and owns interruption (it gets the executor to stop or abort).
 */
export interface BuildOnceSetup {
  ws: Workspace;
  options: Pick<BuildOptions, "force" | "failFast" | "jobs" | "maxCostUsd" | "env" | "patterns" | "providerOverride" | "modelOverride"> & {
    explain?: boolean;
    /** Why a key is not to be generated (default: it is in an unfinished batch job). */
    inBatch?: (key: string) => string | undefined;
  };
  session: Session;
  progress: Progress;
  startedAt: number;
  /** Handed the executor before it runs, to stop or abort it. */
  onExecutor?: (executor: Executor) => void;
  /**
   * Whether a plan made once the build ends (the settle) will save the parse cache, as this round's
   * report stands: then the round does not write `plan.json`, which that plan would only read back
   * to replace (3 MB at 2,000 targets, read back where the build's memory peaked). Should none follow, the file is merely older: the
   * next plan parses again what changed since.
   */
  settles?: (report: Report) => boolean;
  /** Hears the build's events too, after the progress view (the watcher: chargen's own writes). */
  listen?: (event: BuildEvent) => void;
  /** Makes the report from the events (default: one for this build alone); a build of several rounds passes the same to each. */
  reporter?: JsonReporter;
  /** What this build's earlier rounds leave it; this round adds to it. Absent: a build of one round. */
  rounds?: Rounds;
  /**
   * One pipeline: what a data target writes is planned at once (a chapter's images start as soon
   * as its specification is written, while other chapters are still being read), not in a next round.
   */
  pipelined?: boolean;
}

/**
 * What one round of a build leaves the next: outcomes that stand (a target that failed or was
 * skipped is reported as it was, never sent again by a later round), the providers stopped, and
 * what was spent (--max-cost spans the rounds).
 */
export interface Rounds {
  settled: Map<string, TargetOutcome>;
  stopped: Map<string, ChargenError>;
  spending: Spending;
}

export const newRounds = (): Rounds => ({ settled: new Map(), stopped: new Map(), spending: newSpending() });

/** A round's outcome that a later round keeps: not done, and not skipped only to be planned again (renamed by a write-back). */
const stands = (o: TargetOutcome) => o.status !== "built" && o.status !== "cached" && o.status !== "fresh" && o.error?.details.code !== REPLAN;

/**
 * Plans the build, announces it and returns each target's estimate. A function of its own: a
 * suspended async function keeps every local it had, and the plan (each target's decision with its
 * key inputs) would otherwise stay alive in buildOnce's frame through the whole execution.
 */
function announcePlan(ws: Workspace, store: Store, force: boolean, emit: (event: BuildEvent) => void): Map<string, number | undefined> {
  const planned = planWorkspace(ws, store, force);
  emit({ type: "planned", total: planned.length, toRun: planned.filter((p) => p.decision.status !== "fresh").length, ids: ws.selected });
  return new Map(planned.map((p) => [p.id, p.estimatedCostUsd]));
}

export async function buildOnce({ ws, options, session, progress, startedAt, onExecutor = () => {}, listen, pipelined, reporter = new JsonReporter("build"), rounds, settles }: BuildOnceSetup): Promise<Report> {
  ensureGitFiles(ws.root);
  // The newest plan opened while the build runs (pipelined): what a target planned again is built and written back from.
  let latest = { ws, opened: 0 };
  let opening = 0;
  const replan = async (): Promise<Workspace> => {
    const opened = ++opening;
    const next = await openWorkspace({ root: ws.root, patterns: options.patterns, providerOverride: options.providerOverride, modelOverride: options.modelOverride });
    if (opened > latest.opened) latest = { ws: next, opened };
    return next;
  };
  const spec = (id: string) => sentSpec(latest.ws, id) ?? sentSpec(ws, id);
  const { store, clock } = session;
  let estimates = new Map<string, number | undefined>();
  /** A target's end with what the report shows of it besides (where it is, its estimate). */
  const withFacts = (event: BuildEvent): ReportedEvent => {
    if (event.type !== "done") return event;
    const { id } = event.outcome;
    return { ...event, facts: targetFacts(ws, id, estimates.get(id)) };
  };
  const log = logTo(reporter);
  // The build's one event stream: --explain adds, for the person watching, where each target went to what made it stale.
  const emit = (emitted: BuildEvent) => {
    const event = withFacts(emitted);
    log(event);
    const o = event.type === "done" ? event.outcome : undefined;
    progress.emit(options.explain && o && o.status !== "fresh" ? { type: "done", outcome: { ...o, reasons: [...o.reasons, `route: ${routeOf(ws, o.id) ?? "none"}`] } } : event);
    listen?.(event);
  };
  const applier = new Applier({ root: ws.root, rules: ws.rules, disk: ws.disk, lock: ws.lock, spec, emit });
  if (ws.lockNeedsRewrite) applier.rewriteLock();
  const hub = new ProviderHub({
    rules: ws.rules,
    env: options.env,
    clock,
    emit,
    pools: session.pools,
    ...(rounds ? { stopped: rounds.stopped } : {}),
  });
  const executor = new Executor({
    graph: ws.graph,
    records: ws.records,
    settings: ws.settings,
    lock: ws.lock,
    effects: {
      digest: (p) => ws.disk.digest(p),
      size: (p) => ws.disk.size(p),
      readBytes: (p) => ws.disk.readBytes(p),
      refusal: (p) => ws.guard.refusal(p),
      spec,
      store,
      hub,
      apply: (app) => applier.apply(app),
      inBatch: options.inBatch ?? inBatchKeys(ws.root),
      ...(pipelined ? { live: { plan: replan, grows: (record: TargetRecord) => record.rule === SCENE_SPECS_RULE } } : {}),
      clock,
    },
    options: {
      force: options.force,
      failFast: options.failFast,
      jobs: options.jobs,
      missingReferences: missingReferencesPolicy(ws.rules),
      ...(options.maxCostUsd === undefined ? {} : { maxCostUsd: options.maxCostUsd }),
      ...(rounds ? { settled: rounds.settled, spending: rounds.spending } : {}),
      price: (s) => estimatePrice(s, ws.rules),
      readPrice: (s, record) => targetPrice(record, s, ws.rules),
    },
    emit,
  });
  onExecutor(executor);

  estimates = announcePlan(ws, store, options.force, emit);
  for (const diagnostic of ws.diagnostics) emit({ type: "diagnostic", diagnostic });
  let outcomes: TargetOutcome[];
  try {
    outcomes = await executor.run(ws.selected);
    for (const o of outcomes) if (stands(o)) rounds?.settled.set(o.id, o);
    // Entries of targets that no longer exist go, but only when nothing can be hiding them.
    if (ws.complete) applier.forget([...ws.lock.keys()].filter((id) => !ws.records.has(id)));
  } finally {
    await applier.flushLock();
    await progress.end();
  }
  for (const diagnostic of [...applier.warnings, ...missingKeyDiagnostics(ws, hub, outcomes), ...journalWarnings(ws.root, store)]) emit({ type: "diagnostic", diagnostic });
  // After the diagnostics: they weigh on the exit code, which says whether a settle follows.
  await saveCaches(ws, options, outcomes.every((o) => o.status === "fresh") && applier.warnings.length === 0, !settles?.(reporter.report()));
  emit({ type: "ended", providerCalls: Object.values(hub.callCounts()).reduce((a, b) => a + b, 0), durationMs: Date.now() - startedAt });
  return reporter.report();
}

/**
 * A provider's missing key, once, as a configuration error (exit 2), at the first target that
 * needed it: the file that sends targets to that provider (or whose rules do). `targets` are the
 * workspace's, or those a command made of its own (catalog's).
 */
export function missingKeyDiagnostics(
  ws: Workspace,
  hub: ProviderHub,
  outcomes: TargetOutcome[],
  targets: Pick<Workspace, "settings" | "records"> = ws,
): Diagnostic[] {
  const providerOf = (id: string) => {
    const resolved = targets.settings.get(id);
    return resolved instanceof ChargenError ? undefined : resolved?.settings.provider;
  };
  return hub.missingKeys().map(({ provider, error }) => {
    const first = outcomes.find((o) => o.error?.details.code === Code.notSent && providerOf(o.id) === provider);
    const source = first ? targets.records.get(first.id)!.source : undefined;
    return {
      severity: "error",
      file: source?.file ?? ws.rulesFile ?? "chargen.rules.ts",
      ...(source ? { line: source.line, column: source.column } : {}),
      ...(first ? { targetId: first.id } : {}),
      message: error.message,
    };
  });
}

/** Lines of the action journal that are not records: skipped, and said so (the cache is still used). */
function journalWarnings(root: string, store: Store): Diagnostic[] {
  const file = relative(root, store.journal);
  return store.skippedLines.map((line) => ({ severity: "warning" as const, file, line, message: "not an action record: skipped (chargen only appends records here; delete the line to silence this)" }));
}

/** Keys unfinished batch jobs will bring, read once per build: those targets are not paid for twice. */
function inBatchKeys(root: string): (key: string) => string | undefined {
  const keys = new JobStore(join(root, CACHE_DIR)).inFlightKeys();
  return (key) => keys.get(key);
}

export function printReport(report: Report, options: Pick<BuildOptions, "json" | "out" | "err">): void {
  if (options.json) {
    options.out(JSON.stringify(report, null, 2) + "\n");
    return;
  }
  printProblems(report, options);
  options.out(formatSummary(report) + "\n");
}

/** Diagnostics, then every target that did not end built or fresh, with its reasons. */
export function printProblems(report: Report, options: Pick<BuildOptions, "err">): void {
  printDiagnostics(report.diagnostics, options);
  for (const t of report.targets.filter((t) => t.status === "failed" || t.status === "modified" || t.status === "skipped" || t.status === "pending")) {
    options.err(`${t.status.padEnd(8)} ${printable(`${t.id}: ${t.reasons.join("; ")}`)}\n`);
  }
}

function printDiagnostics(diagnostics: Diagnostic[], options: Pick<BuildOptions, "err">): void {
  for (const d of diagnostics) options.err(printable(formatDiagnostic(d)) + "\n");
}

/**
 * Save what this plan learnt for the next one: stat digests, parse results, and, when every
 * target was fresh, the stamps that let the next no-op check or build skip planning altogether.
 * `parseCache` false: a later plan saves the parse results (see `settles`).
 */
export async function saveCaches(ws: Workspace, options: Pick<BuildOptions, "patterns" | "providerOverride" | "modelOverride" | "force">, allFresh: boolean, parseCache = true): Promise<void> {
  const dir = join(ws.root, CACHE_DIR);
  await ws.stats.save(join(dir, STAT_CACHE));
  if (parseCache && ws.analysis.cacheChanged) await writeJsonCache(join(dir, PARSE_CACHE), parseCacheVersion, ws.analysis.cache);
  if (allFresh) await recordFresh(ws.root, CACHE_DIR, freshContext(options), consultedPaths(ws), { total: ws.selected.length, diagnostics: ws.diagnostics }, ws.openedAtMs);
  else await forgetFresh(ws.root, CACHE_DIR);
}

/**
 * What git must know of chargen's files, from the first build on: `.chargen/` is a local cache
 * (ignored), and the lock merges by union (two people's lines are both kept, never a conflict).
 */
function ensureGitFiles(root: string): void {
  ensureLine(join(root, ".gitignore"), /^\/?\.chargen\/?$/, "# chargen's local cache (the lock, chargen.lock, is meant to be committed)", ".chargen/");
  ensureLine(join(root, ".gitattributes"), /^\/?chargen\.lock\s.*\bmerge=union\b/, "# chargen.lock has one line per target: git keeps both people's lines", LOCK_GITATTRIBUTES);
}

/** Append `line` (after its comment) unless a line matching `present` is there; the author's other lines are kept. */
function ensureLine(path: string, present: RegExp, comment: string, line: string): void {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    // not there yet
  }
  if (text.split(/\r?\n/).some((l) => present.test(l.trim()))) return;
  appendFileSync(path, `${text && !text.endsWith("\n") ? "\n" : ""}${comment}\n${line}\n`);
}
