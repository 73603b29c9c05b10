/**
 * `chargen build --batch` and `chargen batch status|collect|cancel|list`. Exit codes follow the
 * build's: 0 done, 1 something is not done (a job still running, a failed line), 2 usage or
 * input error.
 */
import { join } from "node:path";
import type { BuildOptions } from "./build.js";
import { CACHE_DIR, openWorkspace } from "../workspace/open.js";
import { asChargenError, ChargenError, formatDiagnostic } from "../core/errors.js";
import { EXIT } from "../core/exit.js";
import { loadRules } from "../rules/load.js";
import { BUILD_PID, BuildLock } from "../workspace/build-lock.js";
import { adoptHistory } from "../adopt/adopt.js";
import { recordInLock, remember } from "./adopt.js";
import { atProvider, inFlight } from "../batch/machine.js";
import { batchContext, cancel, drive, engineFor, planBatch, recordJob, round, type BatchContext, type DriveOptions, type LeftOut } from "./batch-run.js";
import type { JobRecord } from "../batch/store.js";

export interface BatchCommandOptions {
  root: string;
  env: NodeJS.ProcessEnv;
  json: boolean;
  out: (text: string) => void;
  err: (text: string) => void;
  /** First poll interval with --wait (then backing off to 5 minutes). */
  pollMs: number;
}


/** Poll every 30 s at first, as the providers suggest; CHARGEN_BATCH_POLL_MS for tests and the impatient. */
export const pollInterval = (env: NodeJS.ProcessEnv): number => {
  const ms = Number(env.CHARGEN_BATCH_POLL_MS);
  return ms > 0 ? ms : 30_000;
};

/**
 * `chargen build --batch [--wait] [-n]`: plan like a live build, submit the stale targets as jobs.
 * With --wait, targets whose references other targets of the plan make (a zone and its overview)
 * go in a next wave, once those are applied, until nothing more can be submitted.
 */
export async function buildBatch(options: BuildOptions & { wait: boolean; pollMs: number }): Promise<number> {
  let worst: number = EXIT.ok;
  for (;;) {
    const wave = await submitWave(options);
    if ("exitCode" in wave) return Math.max(worst, wave.exitCode);
    worst = Math.max(worst, wave.code);
    if (!wave.nextWave) return worst;
  }
}

/** One plan and the jobs it submits (and, with --wait, collects); `nextWave` when targets wait for what it applied. */
async function submitWave(options: BuildOptions & { wait: boolean; pollMs: number }): Promise<{ exitCode: number } | { code: number; nextWave: boolean }> {
  // Planned in a function of its own: the workspace and the plan are garbage before staging starts.
  const planned = await planJobs(options);
  if ("exitCode" in planned) return planned;
  const { ctx, recorded, left, hasErrors, summary } = planned;
  // Jobs an earlier run recorded but did not get to submit (a crash) go now; with --wait, every unfinished one.
  const earlier = ctx.jobs.jobs().filter((j) => !recorded.some((n) => n.id === j.id) && (options.wait ? j.state !== "applied" : j.state === "planned" || j.state === "staged"));
  const drove = await driveAll(ctx, [...earlier, ...recorded], { wait: options.wait, collect: options.wait, pollMs: options.pollMs, build: options });
  const allApplied = drove.every((d) => d.job.state === "applied");
  const nextWave = options.wait && options.mode !== "dry-run" && !hasErrors && recorded.length > 0 && allApplied && left.some((l) => l.afterUpstream);
  for (const l of left) if (!(nextWave && l.afterUpstream)) options.err(`not submitted ${l.id}: ${l.reason}\n`);
  report(options, drove, summary);
  if (hasErrors) return { code: EXIT.error, nextWave: false };
  const failed = drove.some((d) => d.error || (ctx.jobs.report(d.job.id)?.failed.length ?? 0) > 0) || left.some((l) => !l.carried && !(nextWave && l.afterUpstream));
  return { code: failed || (options.wait && !allApplied) ? EXIT.failed : EXIT.ok, nextWave };
}

/** Plan the jobs and record them (or, with -n, print them and say how to exit). */
async function planJobs(options: BuildOptions): Promise<{ exitCode: number } | { ctx: BatchContext; recorded: JobRecord[]; left: LeftOut[]; hasErrors: boolean; summary: string }> {
  const ws = await openWorkspace(options);
  const ctx = batchContext(ws.root, options.env, ws.rules, (l) => options.err(l + "\n"), options.clock);
  for (const d of ws.diagnostics) options.err(formatDiagnostic(d) + "\n");
  const hasErrors = ws.diagnostics.some((d) => d.severity === "error");
  const warn = (m: string) => options.err(`chargen: warning: ${m}\n`);
  const lock = options.mode === "dry-run" ? undefined : BuildLock.acquire(join(ws.root, CACHE_DIR, BUILD_PID), warn);
  const recorded: JobRecord[] = [];
  let plan;
  try {
    // As a live build does: what the workspace already records is adopted, never submitted (a dry run keeps it in memory).
    const history = options.noAdopt ? [] : adoptHistory(ws);
    if (options.mode === "dry-run") remember(ws, history);
    else await recordInLock(ws, history);
    const adopted = history.filter((v) => v.status === "adopted").length;
    if (adopted) options.err(`adopted ${adopted} image${adopted > 1 ? "s" : ""} the workspace already records (no provider call; --no-adopt to skip)\n`);
    plan = await planBatch(ctx, ws, options);
    if (options.mode !== "dry-run") {
      for (const j of plan.jobs) {
        try {
          (await engineFor(ctx, j.provider))!.checkKey();
        } catch (e) {
          // A configuration error: nothing was recorded or sent.
          throw new ChargenError("user", asChargenError(e).message);
        }
      }
      const overrides = { ...(options.providerOverride ? { provider: options.providerOverride } : {}), ...(options.modelOverride ? { model: options.modelOverride } : {}) };
      for (const j of plan.jobs) recorded.push(await recordJob(ctx, j, overrides));
    }
  } finally {
    lock?.release();
  }
  const lines = plan.jobs.reduce((n, j) => n + j.lines.length, 0);
  const cost = round(plan.jobs.reduce((n, j) => n + j.lines.reduce((m, l) => m + (l.estimatedCostUsd ?? 0), 0), 0));
  if (options.mode !== "dry-run") return { ctx, recorded, left: plan.left, hasErrors, summary: `${lines} submitted in ${recorded.length} job(s), estimated $${cost.toFixed(3)} at batch prices` };
  if (options.json) options.out(JSON.stringify({ command: "batch-dry-run", jobs: plan.jobs.map((j) => ({ provider: j.provider, model: j.model, lines: j.lines.map((l) => ({ id: l.targetId, key: l.key, estimatedCostUsd: l.estimatedCostUsd ?? null })) })), left: plan.left, estimatedCostUsd: cost }, null, 2) + "\n");
  else {
    for (const j of plan.jobs) {
      const what = j.kind === "data" ? "read" : "image";
      options.out(`job ${j.provider}/${j.model}: ${j.lines.length} ${what}${j.lines.length === 1 ? "" : "s"}, ~$${round(j.lines.reduce((m, l) => m + (l.estimatedCostUsd ?? 0), 0)).toFixed(3)} at batch price\n`);
      for (const l of j.lines) options.out(`  ${l.targetId}\n`);
    }
    for (const l of plan.left) options.out(`not submitted ${l.id}: ${l.reason}\n`);
    options.out(`${lines} to submit in ${plan.jobs.length} job(s), estimated $${cost.toFixed(3)} at batch prices (half the standard price)\n`);
  }
  return { exitCode: hasErrors ? EXIT.error : EXIT.ok };
}

interface Driven {
  job: JobRecord;
  error?: string;
}

/** Drive each job as far as it goes; one job's failure is reported and the others go on. */
async function driveAll(ctx: BatchContext, jobs: JobRecord[], options: DriveOptions): Promise<Driven[]> {
  return Promise.all(
    jobs.map(async (job): Promise<Driven> => {
      // One driver per job at a time: two must never both create it.
      let lock: BuildLock;
      try {
        lock = BuildLock.acquire(ctx.jobs.path(job.id, "driver.pid"), (m) => ctx.note(`chargen: warning: ${m}`));
      } catch (e) {
        return { job, error: asChargenError(e).message };
      }
      try {
        return { job: await drive(ctx, ctx.jobs.job(job.id), options) };
      } catch (e) {
        const error = asChargenError(e);
        ctx.note(`batch ${job.id}: ${error.message}`);
        return { job: ctx.jobs.job(job.id), error: error.message };
      } finally {
        lock.release();
      }
    }),
  );
}

function report(options: Pick<BatchCommandOptions, "json" | "out">, driven: Driven[], summary: string): void {
  if (options.json) {
    options.out(JSON.stringify({ jobs: driven.map((d) => ({ ...d.job, error: d.error ?? null })) }, null, 2) + "\n");
    return;
  }
  for (const d of driven) options.out(jobLine(d.job, Date.now()) + (d.error ? `  error: ${d.error}` : "") + "\n");
  options.out(summary + "\n");
}

async function context(options: BatchCommandOptions): Promise<BatchContext> {
  const { rules } = await loadRules(options.root);
  return batchContext(options.root, options.env, rules, (l) => options.err(l + "\n"));
}

/** `chargen batch collect [JOB]`: poll, then collect and apply every finished job (or one). */
export async function batchCollect(options: BatchCommandOptions & { job?: string; wait: boolean }): Promise<number> {
  const ctx = await context(options);
  const jobs = options.job ? [ctx.jobs.job(options.job)] : ctx.jobs.jobs().filter((j) => j.state !== "applied");
  const driven = await driveAll(ctx, jobs, { wait: options.wait, collect: true, pollMs: options.pollMs, build: { env: options.env, force: false, jobs: 8 } });
  const applied = driven.filter((d) => d.job.state === "applied").length;
  report(options, driven, `${applied} of ${driven.length} job(s) applied`);
  const failedLines = driven.some((d) => (ctx.jobs.report(d.job.id)?.failed.length ?? 0) > 0);
  return driven.some((d) => d.error) || applied < driven.length || failedLines ? EXIT.failed : EXIT.ok;
}

/** `chargen batch cancel JOB`. */
export async function batchCancel(options: BatchCommandOptions & { job: string }): Promise<number> {
  const ctx = await context(options);
  ctx.jobs.job(options.job); // a job that is not there: said before anything is made for it
  const lock = BuildLock.acquire(ctx.jobs.path(options.job, "driver.pid"), (m) => options.err(`chargen: warning: ${m}\n`));
  try {
    const job = await cancel(ctx, ctx.jobs.job(options.job));
    report(options, [{ job }], atProvider(job.state) ? `cancelling ${job.id}: chargen batch collect ${job.id} collects its partial results` : `${job.id} is ${job.state}`);
    return EXIT.ok;
  } finally {
    lock.release();
  }
}

/** `chargen batch status [--json]`: poll each unfinished job once, then show them all. */
export async function batchStatus(options: BatchCommandOptions): Promise<number> {
  const ctx = await context(options);
  const unfinished = ctx.jobs.jobs().filter((j) => inFlight(j.state));
  await driveAll(ctx, unfinished.filter((j) => atProvider(j.state)), { wait: false, collect: false, pollMs: options.pollMs, build: { env: options.env, force: false, jobs: 1 } });
  return batchList(options, ctx);
}

/** `chargen batch list`: every job from the records, no provider call. */
export async function batchList(options: BatchCommandOptions, given?: BatchContext): Promise<number> {
  const ctx = given ?? (await context(options));
  const jobs = ctx.jobs.jobs();
  if (options.json) {
    options.out(JSON.stringify({ jobs: jobs.map((j) => ({ ...j, report: ctx.jobs.report(j.id) ?? null })) }, null, 2) + "\n");
    return EXIT.ok;
  }
  if (!jobs.length) options.out("no batch jobs\n");
  for (const j of jobs) options.out(jobLine(j, Date.now()) + "\n");
  return EXIT.ok;
}

/** One job on one line: id, state, done/total, age, estimated and actual cost. */
function jobLine(job: JobRecord, now: number): string {
  const since = Date.parse(job.submittedAt ?? job.history[0]!.at);
  const age = formatAge(now - since);
  const done = job.counts ? `${job.counts.done}/${job.counts.total}${job.counts.failed ? ` (${job.counts.failed} failed)` : ""}` : `${job.lines} images`;
  const actual = job.actualCostUsd === undefined ? "" : `, actual $${job.actualCostUsd.toFixed(3)}`;
  return `${job.id}  ${job.state.padEnd(9)} ${job.provider}/${job.model}  ${done}  ${age}  est. $${job.estimatedCostUsd.toFixed(3)}${actual}${job.remote ? `  (${job.remote.name})` : ""}`;
}

function formatAge(ms: number): string {
  const m = Math.max(0, Math.round(ms / 60_000));
  return m < 60 ? `${m}m` : m < 48 * 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m` : `${Math.floor(m / 1440)}d`;
}
