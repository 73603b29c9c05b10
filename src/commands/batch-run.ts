/**
 * The batch driver: plans like a live build, then moves each job through batch/machine.ts,
 * recording every transition before the next step. Every command resumes a job from its last
 * recorded state; what cost money (a create, a result) is never done or applied twice:
 *
 * - a create is preceded by the `createSent` mark and, on resume, by a look-up of the job under
 *   its display name, which is adopted when found;
 * - results are stored in the action cache (durable) before anything is applied, and applied
 *   through the live build's own executor and applier, which find them there (a restore).
 */
import { randomBytes } from "node:crypto";
import { closeSync, createReadStream, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { digestBytes } from "../core/hash.js";
import { Store } from "../cache/store.js";
import { realClock, type Clock } from "../core/clock.js";
import type { BuildOptions } from "./build.js";
import { planWorkspace, targetPrice } from "../workspace/plan.js";
import { CACHE_DIR, openWorkspace, sentSpec, withDependencies, type Workspace } from "../workspace/open.js";
import { asChargenError, ChargenError } from "../core/errors.js";
import { dataRequest, imageRequest, JSON_TYPE, referenceImages } from "../graph/executor.js";
import { checkedAnswer } from "../model/read.js";
import type { ReferenceImage } from "../providers/types.js";
import type { RefState } from "../graph/planner.js";
import { priceTable } from "../providers/catalog.js";
import { atBatchRate } from "../providers/prices.js";
import { silentProgress } from "../report/progress.js";
import type { RuleSet } from "../rules/api.js";
import { sniffImageType } from "../core/boundary.js";
import { BUILD_PID, BuildLock } from "../workspace/build-lock.js";
import { syncToDisk, writeLinesAtomic } from "../core/atomic.js";
import { isDataLine, type BatchEngine, type DataLineRequest, type LineKind, type LineRequest } from "../batch/engine.js";
import { hasEngine, loadEngine } from "../batch/engines.js";
import { afterPoll, atProvider } from "../batch/machine.js";
import { isPlannedRead, JobStore, type JobRecord, type JobReport, type LineReport, type PlanLine, type PlannedRead } from "../batch/store.js";
import { checkImage } from "../batch/verify.js";

export interface BatchContext {
  root: string;
  env: NodeJS.ProcessEnv;
  rules: RuleSet;
  jobs: JobStore;
  actions: Store;
  clock: Clock;
  /** Progress and notes, one line each (stderr). */
  note(line: string): void;
}

export function batchContext(root: string, env: NodeJS.ProcessEnv, rules: RuleSet, note: (line: string) => void, clock: Clock = realClock): BatchContext {
  const cache = join(root, CACHE_DIR);
  return { root, env, rules, jobs: new JobStore(cache), actions: new Store(cache), clock, note };
}

const engines = new WeakMap<BatchContext, Map<string, Promise<BatchEngine | undefined>>>();

/** The provider's engine, created once per context (its SDK client is reused). */
export function engineFor(ctx: BatchContext, provider: string): Promise<BatchEngine | undefined> {
  let map = engines.get(ctx);
  if (!map) engines.set(ctx, (map = new Map()));
  let engine = map.get(provider);
  if (!engine) {
    const options = ctx.rules.providers?.[provider]?.options ?? {};
    engine = loadEngine(provider, { env: ctx.env, options, prices: priceTable(ctx.rules), uploads: ctx.jobs.uploads(provider), now: () => ctx.clock.now() });
    map.set(provider, engine);
  }
  return engine;
}


const iso = (ctx: BatchContext) => new Date(ctx.clock.now()).toISOString();

// ---------------------------------------------------------------------------------------------
// Planning: which stale targets go into which job

/** A target a batch build does not submit, and why. */
export interface LeftOut {
  id: string;
  reason: string;
  /** Waits for an upstream target in this plan: a next wave can submit it once that one is applied. */
  afterUpstream?: boolean;
  /** Carried by another line of this plan (one key): collecting applies that line's result to it too. */
  carried?: boolean;
}

export interface BatchPlan {
  jobs: { provider: string; model: string; kind: LineKind; lines: PlanLine[] }[];
  left: LeftOut[];
}

/**
 * The live build's plan (same analyzer, same decide(), same keys), cut into jobs: the stale
 * targets that no job already carries, that the provider's engine can take, and that fit
 * `--max-cost` at batch prices, grouped by provider and model within each engine's limits.
 */
export async function planBatch(ctx: BatchContext, ws: Workspace, options: Pick<BuildOptions, "force" | "maxCostUsd">): Promise<BatchPlan> {
  const inFlight = ctx.jobs.inFlightKeys();
  const left: LeftOut[] = [];
  const groups = new Map<string, PlanLine[]>();
  let budget = options.maxCostUsd ?? Infinity;
  const decided = planWorkspace(ws, ctx.actions, options.force);
  const notFresh = new Set(decided.filter((p) => p.decision.status !== "fresh").map((p) => p.id));
  const keyed = new Map<string, string>();
  for (const p of decided) {
    const d = p.decision;
    if (d.status === "fresh") continue;
    if (d.status === "pending" || d.status === "modified" || d.status === "blocked" || d.status === "error") {
      left.push(d.status === "pending" ? { id: p.id, reason: `${d.reasons.join("; ")}: submit it after that one is built`, afterUpstream: true } : { id: p.id, reason: d.reasons.join("; ") });
      continue;
    }
    // Its prompt reads what a stale data target will write (a character's appearance): sent now,
    // it would be paid for on the old text and again on the new one.
    const before = ws.records.get(p.id)!.after?.find((id) => notFresh.has(id));
    if (before) {
      left.push({ id: p.id, reason: `comes after ${before}, which is not fresh: submit it after that one is built`, afterUpstream: true });
      continue;
    }
    if (d.restorable) {
      left.push({ id: p.id, reason: "restorable from the cache for free: chargen build puts it in place" });
      continue;
    }
    const batch = inFlight.get(d.key);
    if (batch) {
      left.push({ id: p.id, reason: batch });
      continue;
    }
    // Two targets with one key ask the same thing: one line is paid, and collecting applies its answer to both.
    const twin = keyed.get(d.key);
    if (twin) {
      left.push({ id: p.id, reason: `the same request as ${twin}: its result is applied to both`, carried: true });
      continue;
    }
    const resolved = ws.settings.get(p.id);
    if (!resolved || resolved instanceof ChargenError) continue; // a stale decision had settings
    const { settings } = resolved;
    const engine = hasEngine(settings.provider) ? await engineFor(ctx, settings.provider) : undefined;
    if (!engine) {
      left.push({ id: p.id, reason: `provider ${settings.provider} has no batch engine: build it live with chargen build` });
      continue;
    }
    const record = ws.records.get(p.id)!;
    const spec = sentSpec(ws, p.id);
    if (!spec) {
      left.push({ id: p.id, reason: `${record.source.file} changed while planning; run again` });
      continue;
    }
    const refs = new Map<string, RefState>(record.references.map((r) => [r.path, d.inputs.refs[r.path] ? { digest: d.inputs.refs[r.path]! } : { missing: true }]));
    let request: LineRequest | DataLineRequest;
    try {
      const images = referenceImages(spec, refs, (path) => ws.disk.readBytes(path));
      request = spec.read ? dataRequest(spec, spec.read, settings, d.key, images) : imageRequest(spec, record.cut ?? [], settings, d.key, images);
    } catch (e) {
      left.push({ id: p.id, reason: asChargenError(e).message });
      continue;
    }
    const refusal = isDataLine(request) ? undefined : engine.refusal(request);
    if (refusal) {
      left.push({ id: p.id, reason: refusal });
      continue;
    }
    const estimate = atBatchRate(settings.provider, targetPrice(record, settings, ws.rules));
    if (options.maxCostUsd !== undefined && (estimate === undefined || estimate > budget + 1e-9)) {
      left.push({ id: p.id, reason: estimate === undefined ? `not submitted: its cost is unknown and --max-cost ${options.maxCostUsd} is set` : `not submitted: --max-cost ${options.maxCostUsd} would be passed` });
      continue;
    }
    budget -= estimate ?? 0;
    const planned = (r: ReferenceImage) => ({ path: r.path, role: r.role, digest: d.inputs.refs[r.path]! });
    const line: PlanLine = {
      key: d.key,
      targetId: p.id,
      settings,
      // A read's images keep what they are (its request labels each), as the live read's do.
      request: isDataLine(request) ? { ...request, images: request.images.map((r) => ({ ...planned(r), ...(r.label ? { label: r.label } : {}) })) } : { ...request, references: request.references.map(planned) },
      estimatedCostUsd: estimate,
    };
    // One kind of line per job: an OpenAI batch has one endpoint.
    const group = `${settings.provider}\n${settings.model}\n${isDataLine(request) ? "data" : "image"}`;
    keyed.set(d.key, p.id);
    const lines = groups.get(group);
    if (lines) lines.push(line);
    else groups.set(group, [line]);
  }
  const jobs: BatchPlan["jobs"] = [];
  for (const [group, lines] of groups) {
    const [provider, model, kind] = group.split("\n") as [string, string, LineKind];
    const { maxLines } = (await engineFor(ctx, provider))!.limits;
    for (let i = 0; i < lines.length; i += maxLines) jobs.push({ provider, model, kind, lines: lines.slice(i, i + maxLines) });
  }
  return { jobs, left };
}

/** Record a planned job: nothing is sent yet. */
export async function recordJob(ctx: BatchContext, planned: BatchPlan["jobs"][number], overrides: JobRecord["overrides"] = {}): Promise<JobRecord> {
  const at = iso(ctx);
  const id = `${at.replace(/[-:]/g, "").replace(/\..*$/, "").replace("T", "-")}-${planned.provider}-${randomBytes(3).toString("hex")}`;
  const job: JobRecord = {
    version: 1,
    id,
    provider: planned.provider,
    model: planned.model,
    state: "planned",
    history: [{ state: "planned", at }],
    displayName: `chargen-${id}`,
    lines: planned.lines.length,
    estimatedCostUsd: round(planned.lines.reduce((n, l) => n + (l.estimatedCostUsd ?? 0), 0)),
    ...(overrides.provider || overrides.model ? { overrides } : {}),
    ...(planned.kind === "data" ? { kind: "data" as const } : {}),
  };
  await ctx.jobs.create(job, planned.lines);
  return job;
}

// ---------------------------------------------------------------------------------------------
// Driving a job

export interface DriveOptions {
  /** Poll until the job is done, then collect and apply; otherwise stop once it is submitted. */
  wait: boolean;
  /** Collect and apply a job the provider has finished. */
  collect: boolean;
  pollMs: number;
  /** Apply collected results to the workspace (the build command's options, for the executor). */
  build: Pick<BuildOptions, "env" | "force" | "jobs">;
}

/** Move `job` as far as it can go now; returns it in its last recorded state. */
export async function drive(ctx: BatchContext, job: JobRecord, options: DriveOptions): Promise<JobRecord> {
  let delay = options.pollMs;
  for (;;) {
    const before = job.state;
    try {
      job = await step(ctx, job, options);
    } catch (e) {
      const error = asChargenError(e);
      // A 429 to a create, a dropped upload: with --wait, try again later from the recorded state.
      if (!options.wait || error.kind !== "retryable") throw error;
      ctx.note(`batch ${job.id}: ${error.message} (trying again later)`);
      job = ctx.jobs.job(job.id);
    }
    if (job.state === "applied") return job;
    if (job.state !== before) {
      delay = options.pollMs;
      continue;
    }
    // No progress: the provider is still at it, or a call failed and is tried again later.
    if (!options.wait) return job;
    await ctx.clock.sleep(delay);
    delay = Math.min(delay * 1.5, 300_000);
  }
}

/** One transition, or none when the job cannot move now. */
async function step(ctx: BatchContext, job: JobRecord, options: DriveOptions): Promise<JobRecord> {
  switch (job.state) {
    case "planned":
      return stage(ctx, job);
    case "staged":
      return submit(ctx, job);
    case "submitted":
    case "running":
      return poll(ctx, job);
    case "succeeded":
    case "failed":
    case "cancelled":
    case "expired":
      return options.collect || options.wait ? collect(ctx, job) : job;
    case "collected":
      return apply(ctx, job, options.build);
    case "applied":
      return job;
  }
}

/** planned -> staged: the input JSONL, written streaming and atomically, uploaded. */
async function stage(ctx: BatchContext, job: JobRecord): Promise<JobRecord> {
  const engine = (await engineFor(ctx, job.provider))!;
  const path = ctx.jobs.path(job.id, "input.jsonl");
  const plan = ctx.jobs.plan(job.id);
  let bytes = 0;
  await writeLinesAtomic(path, (async function* () {
    for (const line of plan) {
      const read = isPlannedRead(line.request);
      const images = [];
      let changed = false;
      for (const r of read ? (line.request as PlannedRead).images : (line.request as Exclude<PlanLine["request"], PlannedRead>).references) {
        const data = readFileSync(join(ctx.root, r.path));
        // The key hashed this digest: a line with other bytes would cache a wrong image under it.
        if (digestBytes(data) !== r.digest) changed = true;
        images.push({ ...r, bytes: data, mimeType: sniffImageType(data) ?? "application/octet-stream" });
      }
      if (changed) {
        ctx.note(`batch ${job.id}: ${line.targetId} left out: a reference changed since it was planned`);
        continue;
      }
      const text = (read ? await engine.dataLine({ ...line.request, images } as DataLineRequest) : await engine.line({ ...line.request, references: images } as LineRequest)) + "\n";
      bytes += Buffer.byteLength(text);
      yield text;
    }
  })());
  if (bytes > engine.limits.maxInputBytes) throw new ChargenError("user", `batch ${job.id}: the input is ${bytes} bytes, over the provider's ${engine.limits.maxInputBytes}`);
  const inputFile = await engine.uploadInput(path, job.displayName);
  return ctx.jobs.advance(job, "staged", iso(ctx), { inputFile });
}

/** staged -> submitted: adopt the job a lost create made, else create it, once. */
async function submit(ctx: BatchContext, job: JobRecord): Promise<JobRecord> {
  const engine = (await engineFor(ctx, job.provider))!;
  let remote = job.createSent ? await engine.find(job.displayName) : undefined;
  if (!remote) {
    job = { ...job, createSent: true };
    await ctx.jobs.save(job);
    try {
      remote = await engine.create(job.model, job.inputFile!, job.displayName, job.kind ?? "image");
    } catch (e) {
      // The answer may be lost while the job exists: look before anyone creates again.
      remote = await engine.find(job.displayName).catch(() => undefined);
      if (!remote) throw e;
    }
  }
  const at = iso(ctx);
  ctx.note(`batch ${job.id}: submitted as ${remote.name} (${job.lines} ${job.kind === "data" ? "reads" : "images"}, ~$${job.estimatedCostUsd.toFixed(3)} at batch price)`);
  return ctx.jobs.advance(job, "submitted", at, { remote: { name: remote.name, resultFiles: remote.resultFiles }, submittedAt: at });
}

async function poll(ctx: BatchContext, job: JobRecord): Promise<JobRecord> {
  const engine = (await engineFor(ctx, job.provider))!;
  let remote;
  try {
    remote = await engine.get(job.remote!.name);
  } catch (e) {
    const error = asChargenError(e);
    if (error.kind !== "retryable") throw error;
    ctx.note(`batch ${job.id}: ${error.message} (asked again later)`);
    return job;
  }
  const state = afterPoll(job.state, remote.state);
  const changes: Partial<JobRecord> = { remote: { name: remote.name, resultFiles: remote.resultFiles }, ...(remote.counts ? { counts: remote.counts } : {}) };
  if (state === job.state) {
    const c = remote.counts;
    if (c && (c.done !== job.counts?.done || c.failed !== job.counts?.failed)) ctx.note(`batch ${job.id}: ${state}, ${c.done}/${c.total} done${c.failed ? `, ${c.failed} failed` : ""}`);
    job = { ...job, ...changes };
    await ctx.jobs.save(job);
    return job;
  }
  ctx.note(`batch ${job.id}: ${state}`);
  return ctx.jobs.advance(job, state, iso(ctx), changes);
}

/**
 * A finished job's results, downloaded (streamed to disk), verified and stored durably in the
 * action cache line by line; lines without a usable result are reported with the provider's
 * reason and their targets stay stale. Resumable: a file already downloaded is not fetched again
 * and a result already stored is not stored twice.
 */
async function collect(ctx: BatchContext, job: JobRecord): Promise<JobRecord> {
  const engine = (await engineFor(ctx, job.provider))!;
  const plan = new Map(ctx.jobs.plan(job.id).map((l) => [l.key, l]));
  const report: JobReport = { collected: [], failed: [], applied: [], notApplied: [], warnings: [] };
  const seen = new Set<string>();
  let actual = 0;
  for (const [i, file] of (job.remote?.resultFiles ?? []).entries()) {
    const path = ctx.jobs.path(job.id, `output-${i + 1}.jsonl`);
    if (!existsSync(path)) {
      await engine.download(file, `${path}.part`);
      // Flushed before it takes its name: a result file is read as whole once it has one.
      await syncToDisk(`${path}.part`);
      renameSync(`${path}.part`, path);
    }
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const text of lines) {
      if (!text.trim()) continue;
      const answer = engine.result(text, (k) => {
        const l = plan.get(k);
        return l && (isPlannedRead(l.request) ? { ...l.request, images: [] } : { ...l.request, references: [] });
      });
      const { key, error } = answer;
      const line = plan.get(key);
      if (!line || seen.has(key)) continue;
      seen.add(key);
      const base = { targetId: line.targetId, key };
      // A read's answer is stored as the live build stores it: checked against its schema, as JSON.
      let result = answer.result;
      let refused: ChargenError | undefined;
      if (answer.data && isPlannedRead(line.request)) {
        try {
          result = { bytes: checkedAnswer(line.request.schema, answer.data.json), mimeType: JSON_TYPE, ...(answer.data.costUsd === undefined ? {} : { costUsd: answer.data.costUsd }), metadata: answer.data.metadata };
        } catch (e) {
          refused = asChargenError(e);
        }
      }
      const failure = error ?? refused;
      const problem = failure?.message ?? (result && !isPlannedRead(line.request) ? checkImage(result.bytes, line.request) : undefined);
      if (!result || problem?.startsWith("not ")) {
        report.failed.push({ ...base, reason: problem ?? "no result", ...(failure?.details.code ? { code: failure.details.code } : {}) });
        continue;
      }
      if (problem) report.warnings.push({ ...base, reason: problem });
      const blob = digestBytes(result.bytes);
      if (!ctx.actions.find(key, blob)) {
        // Durable (blob and journal line fsynced) before the next result is read.
        ctx.actions.put(result.bytes, {
          key,
          targetId: line.targetId,
          mimeType: result.mimeType,
          provider: line.settings.provider,
          model: line.settings.model,
          at: iso(ctx),
          ...(result.costUsd === undefined ? {} : { costUsd: result.costUsd }),
          metadata: { ...result.metadata, batch: job.id, ...(problem ? { warning: problem } : {}) },
        });
      }
      actual += result.costUsd ?? 0;
      report.collected.push({ ...base, ...(result.costUsd === undefined ? {} : { costUsd: result.costUsd }) });
    }
  }
  const why = job.state === "succeeded" ? "no result line for it" : `the job ended ${job.state} before it`;
  for (const line of plan.values()) if (!seen.has(line.key)) report.failed.push({ targetId: line.targetId, key: line.key, reason: why });
  await ctx.jobs.saveReport(job.id, report);
  ctx.note(`batch ${job.id}: collected ${report.collected.length} of ${job.lines}${report.failed.length ? `, ${report.failed.length} failed` : ""}`);
  for (const f of report.failed) ctx.note(`  failed ${f.targetId}: ${f.reason}`);
  for (const w of report.warnings) ctx.note(`  warning ${w.targetId}: ${w.reason}`);
  return ctx.jobs.advance(job, "collected", iso(ctx), { actualCostUsd: round(actual) });
}

/**
 * Collected results into the workspace, exactly as a live build puts them there: the live
 * executor and applier restore them from the action cache (output, write-back, lock). A result
 * whose key is no longer the target's (its YAML changed since submission) stays in the cache
 * only: a revert restores it for free. Nothing here can call a provider.
 */
async function apply(ctx: BatchContext, job: JobRecord, options: DriveOptions["build"]): Promise<JobRecord> {
  const report = ctx.jobs.report(job.id)!;
  const results = new Map(report.collected.map((c) => [c.targetId, c]));
  report.applied = [];
  report.notApplied = [];
  if (results.size) {
    // Under the settings it was planned with, or its keys are not the targets' keys.
    const overrides = { ...(job.overrides?.provider ? { providerOverride: job.overrides.provider } : {}), ...(job.overrides?.model ? { modelOverride: job.overrides.model } : {}) };
    const all = await openWorkspace({ root: ctx.root, patterns: [], ...overrides });
    const current = new Map(planWorkspace(all, ctx.actions, options.force).map((p) => [p.id, p.decision]));
    // A target whose key a collected line carries, though another target's line it was (one key, one paid line), takes its result too.
    const byKey = new Map(report.collected.map((c) => [c.key, c]));
    for (const [id, d] of current) {
      const c = d.status === "stale" && "key" in d ? byKey.get(d.key) : undefined;
      if (c && !results.has(id)) results.set(id, { ...c, targetId: id });
    }
    const wanted: string[] = [];
    for (const [id, c] of results) {
      const d = current.get(id);
      if (d && "key" in d && d.key === c.key) wanted.push(id);
      else report.notApplied.push({ ...c, reason: d ? "its inputs changed since submission: the result is kept in the cache (reverting restores it free)" : "the target no longer exists: the result is kept in the cache" });
    }
    if (wanted.length) {
      const { buildOnce, openSession } = await import("./build.js");
      // The workspace as planned above, narrowed to these targets (and what they use): a partial build.
      const ws = { ...all, selected: withDependencies(all.graph, wanted), complete: false };
      const lock = BuildLock.acquire(join(ctx.root, CACHE_DIR, BUILD_PID), (m) => ctx.note(`chargen: warning: ${m}`));
      try {
        const built = await buildOnce({
          ws,
          options: { ...options, ...overrides, failFast: false, patterns: wanted, inBatch: () => "left stale: collecting a batch applies results only, it generates nothing" },
          session: openSession(ctx.root, ctx.clock),
          progress: silentProgress,
          startedAt: ctx.clock.now(),
        });
        const outcome = new Map(built.targets.map((t) => [t.id, t]));
        for (const id of wanted) {
          const t = outcome.get(id);
          if (t && (t.status === "cached" || t.status === "fresh")) report.applied.push(results.get(id)!);
          else report.notApplied.push({ ...results.get(id)!, reason: t ? `${t.status}: ${t.reasons.join("; ")}` : "not planned" });
        }
      } finally {
        lock.release();
      }
    }
  }
  await ctx.jobs.saveReport(job.id, report);
  ctx.note(`batch ${job.id}: applied ${report.applied.length}${report.notApplied.length ? `, ${report.notApplied.length} kept in the cache only` : ""}`);
  for (const n of report.notApplied) ctx.note(`  not applied ${n.targetId}: ${n.reason}`);
  return ctx.jobs.advance(job, "applied", iso(ctx));
}

/** Cancel a job: before submission it is dropped; at the provider it is cancelled there (partial results are collected). */
export async function cancel(ctx: BatchContext, job: JobRecord): Promise<JobRecord> {
  if (job.state === "planned" || job.state === "staged") {
    const engine = (await engineFor(ctx, job.provider))!;
    const created = job.createSent ? await engine.find(job.displayName) : undefined;
    if (!created) return ctx.jobs.advance(job, "cancelled", iso(ctx));
    job = await ctx.jobs.advance(job, "submitted", iso(ctx), { remote: { name: created.name, resultFiles: created.resultFiles }, submittedAt: iso(ctx) });
  }
  if (!atProvider(job.state)) throw new ChargenError("user", `batch ${job.id} is ${job.state}: there is nothing to cancel`);
  await (await engineFor(ctx, job.provider))!.cancel(job.remote!.name);
  return poll(ctx, job);
}

// ---------------------------------------------------------------------------------------------

export const round = (usd: number) => Math.round(usd * 1e6) / 1e6;
