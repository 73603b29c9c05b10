import type { Clock } from "../core/clock.js";
import { parseLfsPointer } from "../core/lfs.js";
import type { Lock } from "../cache/lockfile.js";
import type { ActionRecord } from "../cache/store.js";
import { asChargenError, ChargenError, Code, hasCode } from "../core/errors.js";
import { parseSize } from "../providers/aspect.js";
import type { ProviderHub } from "../providers/hub.js";
import type { DataRequest, DataResult, ImageRequest, ImageResult, ReferenceImage } from "../providers/types.js";
import { checkedAnswer } from "../model/read.js";
import { renderNegative, renderPrompt } from "../model/prompt-ir.js";
import type { Resolved } from "../rules/settings.js";
import { specMatches, type TargetRecord } from "./analyzer.js";
import { cutPrompt } from "./budget.js";
import type { Graph } from "./dag.js";
import type { KeyInputs } from "../model/keys.js";
import { Decider, type Decision, type RefState } from "./planner.js";
import { Pool } from "../core/pool.js";
import type { ModelSettings, ReadPart, TargetSpec } from "../model/target.js";
import { ignoreEvents, type EmitBuildEvent, type TargetOutcome } from "../model/events.js";
import { sniffImageType } from "../core/boundary.js";

/** What a provider answered, as the store records it: an image, or a data target's JSON. */
type Answer = Pick<ImageResult, "bytes" | "mimeType" | "costUsd" | "metadata">;

export const JSON_TYPE = "application/json";

/** A target not run because a data target of this build wrote what its prompt reads: the build plans it again. */
export const REPLAN = "REPLAN";

/** The store as the executor uses it. */
export interface ExecutorStore {
  latest(key: string): ActionRecord | undefined;
  find(key: string, digest: string): ActionRecord | undefined;
  readBlob(digest: string): Uint8Array | undefined;
  /** Records what a provider answered, durably, before returning: called the moment the answer arrives. */
  put(bytes: Uint8Array, record: Omit<ActionRecord, "blob">): ActionRecord;
}

/** Everything a finished target needs to be applied to the workspace. */
export interface Application {
  record: TargetRecord;
  settings: ModelSettings;
  key: string;
  inputs: KeyInputs;
  action: ActionRecord;
  /** The output's bytes; undefined when the file on disk already is this output (adoption). */
  bytes: Uint8Array | undefined;
}

/** The executor's effects, supplied by the build command (and replaced in tests). */
export interface ExecutorEffects {
  digest(path: string): string | undefined;
  size(path: string): number | undefined;
  readBytes(path: string): Uint8Array;
  /** Why a reference file may not be read (see core/boundary.ts ReferenceGuard). */
  refusal(path: string): string | undefined;
  spec(id: string): TargetSpec | undefined;
  store: ExecutorStore;
  hub: Pick<ProviderHub, "generate" | "unsendable"> & Partial<Pick<ProviderHub, "read" | "maxInFlight">>;
  /** Write the output, write back into the YAML, record in the lock. */
  apply(app: Application): Promise<void>;
  /** Why a key must not be generated now (a batch job will bring it: "in batch <id>, submitted <time>"), or undefined. */
  inBatch?(key: string): string | undefined;
  /**
   * With it, the build is one pipeline: a target whose prompt a data target of this build rewrote
   * is planned again in place (`plan()`: the workspace planned from the files as they are now),
   * and after the write-back of a data target that `grows` the plan (a chapter's specification),
   * the targets it added start at once. Without it, such a target is skipped with REPLAN and the
   * caller plans a next round.
   */
  live?: { plan(): Promise<LivePlan>; grows(record: TargetRecord): boolean };
  clock: Clock;
}

/** The plan as it stands after a write-back: what the executor adds, or plans a target again from. */
export interface LivePlan {
  graph: Pick<Graph, "deps">;
  records: Map<string, TargetRecord>;
  settings: Map<string, Resolved | ChargenError>;
  selected: readonly string[];
}

export interface ExecutorOptions {
  force: boolean;
  failFast: boolean;
  /** Generations in flight across all providers. */
  jobs: number;
  missingReferences: "fail" | "warn";
  /** Stop starting generations before the projected spend would pass this (USD). */
  maxCostUsd?: number;
  /** What this build's earlier rounds spent and learnt, counted against `maxCostUsd`; this run adds to it. */
  spending?: Spending;
  /** Outcomes of this build's earlier rounds that stand: not run again (what depends on a failed one is skipped). */
  settled?: ReadonlyMap<string, TargetOutcome>;
  /** Estimated price of one generation with these settings; undefined when unknown. */
  price(settings: ModelSettings): number | undefined;
  /** Estimated price of one read (a data target); undefined when unknown. */
  readPrice?(settings: ModelSettings, record: TargetRecord): number | undefined;
}

/**
 * Money a build spent, and per provider/model how far actual costs ran over the price table's
 * estimate (input tokens, references): later estimates are scaled by it, so `--max-cost` learns as
 * the build goes. A build's rounds share one.
 */
export interface Spending {
  usd: number;
  overrun: Map<string, number>;
}

export const newSpending = (): Spending => ({ usd: 0, overrun: new Map() });

/** What an executor runs (the analysed workspace), with what effects and policy. */
export interface ExecutorSetup {
  graph: Graph;
  records: Map<string, TargetRecord>;
  settings: Map<string, Resolved | ChargenError>;
  lock: Lock;
  effects: ExecutorEffects;
  options: ExecutorOptions;
  /** Where the executor says what it starts and how each target ends. */
  emit?: EmitBuildEvent;
}

/**
 * Runs the targets of a graph, each at most once (its promise is kept, as Wireit does), a target
 * only after the targets whose outputs it references. A target's life:
 *
 *   waiting -> deciding -> fresh | modified | failed (blocked)
 *                       -> restoring -> cached
 *                       -> generating -> recording (store + journal, durable) -> applying -> built
 *   any not yet generating -> skipped (upstream failed, provider stopped, fail-fast, Ctrl-C)
 *
 * Keys are decided when a target's turn comes, from the outputs its upstream targets actually
 * produced: a regenerated portrait makes its dependents stale, an identical one does not.
 */
export class Executor {
  private readonly outcomes = new Map<string, Promise<TargetOutcome>>();
  private readonly scheduling = new AbortController();
  private readonly inFlight = new AbortController();
  private readonly jobs: Pool;
  /** Per provider and model (see modelGate). */
  private readonly modelGates = new Map<string, Pool>();
  /** Per target, its depth in the graph (see depth): a model's gate lets the deeper pass first. */
  private readonly depths = new Map<string, number>();
  /**
   * Targets between starting work and being applied: a result waits with its image bytes for the
   * one-at-a-time write-back, so without this bound a fast provider (or a big restore) would hold
   * every image of the build in memory at once.
   */
  private readonly pipeline: Pool;
  /** Money spent so far (and what costs ran over), and estimates of what is in flight: what `--max-cost` is checked against. */
  private readonly spending: Spending;
  private inFlightUsd = 0;
  private readonly decider: Decider;
  /** The plan after the latest data target's write-back, opened once per write-back (see plan). */
  private livePlan: Promise<LivePlan> | undefined;
  /** Targets added while the build ran, in the order they were added. */
  private readonly added: string[] = [];
  /** Per target planned again: the data targets whose writes its new plan has seen. */
  private readonly replannedAfter = new Map<string, Set<string>>();

  private readonly graph: Graph;
  private readonly records: Map<string, TargetRecord>;
  private readonly settings: Map<string, Resolved | ChargenError>;
  private readonly effects: ExecutorEffects;
  private readonly options: ExecutorOptions;
  private readonly emit: EmitBuildEvent;

  constructor(setup: ExecutorSetup) {
    ({ graph: this.graph, records: this.records, settings: this.settings, effects: this.effects, options: this.options } = setup);
    this.emit = setup.emit ?? ignoreEvents;
    this.spending = this.options.spending ?? newSpending();
    for (const [id, o] of this.options.settled ?? []) this.outcomes.set(id, Promise.resolve(o));
    this.decider = new Decider({
      lock: setup.lock,
      disk: this.effects,
      refusal: (p) => this.effects.refusal(p),
      store: this.effects.store,
      force: this.options.force,
      missingReferences: this.options.missingReferences,
    });
    this.jobs = new Pool({ maxInFlight: Math.max(1, this.options.jobs), perMinute: Infinity }, this.effects.clock);
    this.pipeline = new Pool({ maxInFlight: 2 * Math.max(1, this.options.jobs), perMinute: Infinity }, this.effects.clock);
  }

  /** Stop scheduling: what is in flight finishes and is recorded; the rest is skipped. */
  stop(): void {
    this.scheduling.abort(new ChargenError("target", "interrupted", { code: Code.interrupted }));
  }

  /** Abort requests in flight too (a second Ctrl-C). */
  abort(): void {
    this.stop();
    this.inFlight.abort(new ChargenError("target", "aborted", { code: Code.aborted }));
  }

  get stopping(): boolean {
    return this.scheduling.signal.aborted;
  }

  /** Run `ids` (and whatever they reference) and return every outcome. */
  async run(ids: readonly string[]): Promise<TargetOutcome[]> {
    const outcomes = await Promise.all(ids.map((id) => this.outcome(id)));
    // Targets write-backs added while these ran (started already), and what those added in turn.
    for (let seen = 0; seen < this.added.length; ) {
      const batch = this.added.slice(seen);
      seen = this.added.length;
      outcomes.push(...(await Promise.all(batch.map((id) => this.outcome(id)))));
    }
    return outcomes;
  }

  /** The current plan: opened anew after each data target's write-back, shared until the next. */
  private plan(live: NonNullable<ExecutorEffects["live"]>): Promise<LivePlan> {
    return (this.livePlan ??= live.plan());
  }

  /** After a write-back that grows the plan: the targets the plan has now and this build had not, started at once. */
  private async grow(live: NonNullable<ExecutorEffects["live"]>): Promise<void> {
    const plan = await this.plan(live);
    this.include(plan, plan.selected);
  }

  /**
   * Take a target's record, settings and edges from a newer plan; `ids` this build has not seen
   * (and the unseen targets they depend on) are added to it and started.
   */
  private include(plan: LivePlan, ids: readonly string[], replaced?: string): void {
    const fresh: string[] = [];
    const take = (id: string) => {
      const record = plan.records.get(id);
      if ((this.records.has(id) && id !== replaced) || !record) return;
      this.records.set(id, record);
      this.settings.set(id, plan.settings.get(id)!);
      this.graph.deps.set(id, plan.graph.deps.get(id) ?? []);
      if (id !== replaced) fresh.push(id);
      for (const d of this.graph.deps.get(id)!) take(d);
    };
    ids.forEach(take);
    if (!fresh.length) return;
    this.added.push(...fresh);
    this.emit({ type: "added", ids: fresh });
    for (const id of fresh) void this.outcome(id);
  }

  private outcome(id: string): Promise<TargetOutcome> {
    let p = this.outcomes.get(id);
    if (!p) {
      p = this.runTarget(id).then(
        (o) => o,
        (e) => {
          const error = asChargenError(e);
          // A bug must not pass as one more failed target: stop starting work, and say where.
          if (error.kind === "internal") this.stop();
          return { id, status: "failed" as const, reasons: [error.message], error };
        },
      );
      p.then((outcome) => this.emit({ type: "done", outcome }));
      this.outcomes.set(id, p);
    }
    return p;
  }

  private async runTarget(id: string): Promise<TargetOutcome> {
    const record = this.records.get(id)!;
    const ups = await Promise.all((this.graph.deps.get(id) ?? []).map((d) => this.outcome(d)));
    const badUpstream = ups.find((u) => u.status === "failed" || u.status === "skipped");
    if (badUpstream) return { id, status: "skipped", reasons: [`upstream ${badUpstream.id} ${badUpstream.status}`] };
    // Its prompt was compiled before this data target wrote what it reads: planned again, never sent stale.
    const seen = this.replannedAfter.get(id);
    const wrote = ups.filter((u) => record.after?.includes(u.id) && (u.status === "built" || u.status === "cached") && !seen?.has(u.id));
    if (wrote.length) {
      const live = this.effects.live;
      const again = live ? await this.plan(live) : undefined;
      if (!again?.records.has(id)) {
        const error = new ChargenError("target", `${wrote[0]!.id} wrote what its prompt reads: planned again`, { code: REPLAN });
        return { id, status: "skipped", reasons: [error.message], error };
      }
      this.replannedAfter.set(id, new Set([...(seen ?? []), ...wrote.map((u) => u.id)]));
      this.include(again, [id], id);
      return this.runTarget(id);
    }

    const resolved = this.settings.get(id)!;
    if (resolved instanceof ChargenError) return { id, status: "failed", reasons: [resolved.message], error: resolved };
    const { decision, refs } = this.decider.decide(record, resolved.settings);
    const { store } = this.effects;
    switch (decision.status) {
      case "fresh":
        return { id, status: "fresh", reasons: [] };
      case "modified":
        return { id, status: "modified", reasons: decision.reasons };
      case "blocked":
      case "pending":
        return { id, status: "failed", reasons: decision.reasons };
    }
    if (this.stopping) return { id, status: "skipped", reasons: ["interrupted before it started"] };

    const { key, inputs } = decision;
    const app = { record, settings: resolved.settings, key, inputs };
    // The file on disk is an output chargen made under this key (a crash came before the lock): keep it.
    const own = decision.adopt ? store.find(key, this.effects.digest(record.output) ?? "") : undefined;
    if (own) {
      await this.effects.apply({ ...app, action: own, bytes: undefined });
      return { id, status: "cached", reasons: decision.reasons };
    }
    const outcome = await this.restoreOrGenerate(id, record, resolved.settings, decision, refs);
    const live = this.effects.live;
    if (live && record.kind === "data" && (outcome.status === "built" || outcome.status === "cached")) {
      // Its write-back changed the files: the next plan is read from them.
      this.livePlan = undefined;
      // It may have written what plans more targets (a chapter's specification): they start now.
      if (live.grows(record)) await this.grow(live);
    }
    return outcome;
  }

  private async restoreOrGenerate(
    id: string,
    record: TargetRecord,
    settings: ModelSettings,
    decision: Extract<Decision, { status: "stale" }>,
    refs: Map<string, RefState>,
  ): Promise<TargetOutcome> {
    const { store } = this.effects;
    const { key, inputs } = decision;
    const app = { record, settings, key, inputs };
    const previous = store.latest(key);
    if (previous) {
      if (!(await this.enterPipeline())) return { id, status: "skipped", reasons: ["interrupted before it started"] };
      try {
        const bytes = store.readBlob(previous.blob);
        if (bytes) {
          this.emit({ type: "started", id, action: "restoring" });
          await this.effects.apply({ ...app, action: previous, bytes });
          return { id, status: "cached", reasons: decision.reasons };
        }
      } finally {
        this.pipeline.release();
      }
    }

    // Paid for already, in a provider's batch job: its result is collected, not bought twice.
    const batch = this.effects.inBatch?.(key);
    if (batch) return { id, status: "pending", reasons: [batch] };
    // A model's queue waits at its own gate, holding no build-wide slot nor a place in the
    // pipeline: a chapter's images start while twenty readings wait for a reading model that takes
    // two at a time. The deeper a target in the graph, the sooner it passes: a chapter's
    // specification, whose images wait for it, before the next chapter's elements.
    const gate = this.modelGate(settings);
    let gated = false;
    let piped = false;
    try {
      await gate?.acquire(this.scheduling.signal, this.depth(id));
      gated = !!gate;
      await this.pipeline.acquire(this.scheduling.signal);
      piped = true;
      await this.jobs.acquire(this.scheduling.signal);
    } catch {
      if (gated) gate!.release();
      if (piped) this.pipeline.release();
      return { id, status: "skipped", reasons: ["interrupted before it started"] };
    }
    try {
      // Read once it may go, not while it waits at its gate: what waits holds no spec (memory stays flat).
      const spec = this.effects.spec(id);
      // Its YAML changed since the plan: what would be sent is not what the key says. Next build.
      if (!spec || !specMatches(record, spec)) {
        this.jobs.release();
        gate?.release();
        return { id, status: "skipped", reasons: [`${record.source.file} changed during the build; it is planned again next time`] };
      }
      return await this.generate(app, spec, decision, refs, gate);
    } finally {
      this.pipeline.release();
    }
  }

  /** How many targets the longest chain of what a target comes after has (0: none). */
  private depth(id: string): number {
    let depth = this.depths.get(id);
    if (depth === undefined) {
      depth = (this.graph.deps.get(id) ?? []).reduce((n, d) => Math.max(n, 1 + this.depth(d)), 0);
      this.depths.set(id, depth);
    }
    return depth;
  }

  /** Whether a place in the pipeline was taken (false: the build is stopping). */
  private async enterPipeline(): Promise<boolean> {
    try {
      await this.pipeline.acquire(this.scheduling.signal);
      return true;
    } catch {
      return false;
    }
  }

  /** Send one target (holding its gate, a job slot and a place in the pipeline: its references are read in it) and apply its answer. */
  private async generate(
    app: { record: TargetRecord; settings: ModelSettings; key: string; inputs: Extract<Decision, { status: "stale" }>["inputs"] },
    spec: NonNullable<ReturnType<ExecutorEffects["spec"]>>,
    decision: Extract<Decision, { status: "stale" }>,
    refs: Map<string, RefState>,
    gate: Pool | undefined,
  ): Promise<TargetOutcome> {
    const { store } = this.effects;
    const { record, settings, key } = app;
    const id = record.id;
    const release = () => {
      this.jobs.release();
      gate?.release();
    };
    let references: ReferenceImage[];
    try {
      references = this.referenceImages(spec, refs);
    } catch (e) {
      release();
      const error = asChargenError(e);
      return { id, status: "failed", reasons: [error.message], error };
    }
    // Known before starting: nothing reaches a stopped provider, or one whose key is not set.
    const refused = this.effects.hub.unsendable(settings.provider);
    if (refused) {
      release();
      return { id, status: "skipped", reasons: [refused.message], error: refused };
    }
    const model = `${settings.provider}/${settings.model}`;
    const base = record.kind === "data" ? this.options.readPrice?.(settings, record) : this.options.price(settings);
    const estimate = base === undefined ? undefined : base * (this.spending.overrun.get(model) ?? 1);
    const overBudget = this.overBudget(estimate);
    if (overBudget) {
      release();
      return { id, status: "skipped", reasons: [overBudget] };
    }
    this.inFlightUsd += estimate ?? 0;
    let result: Answer;
    let recorded: ActionRecord | undefined;
    // Paid for: recorded before anything else runs, and durable before anything touches the workspace.
    const recordAnswer = (answer: Answer) =>
      (recorded = store.put(answer.bytes, {
        key,
        targetId: id,
        mimeType: answer.mimeType,
        provider: settings.provider,
        model: settings.model,
        at: new Date(this.effects.clock.now()).toISOString(),
        ...(answer.costUsd === undefined ? {} : { costUsd: answer.costUsd }),
        metadata: answer.metadata,
      }));
    try {
      this.emit({ type: "started", id, action: "generating" });
      result = spec.read
        ? await this.read(spec, spec.read, settings, key, references, recordAnswer)
        : await this.effects.hub.generate(this.request(spec, record.cut ?? [], settings, key, references), settings.provider, this.scheduling.signal, recordAnswer);
    } catch (e) {
      const error = asChargenError(e);
      if (hasCode(error, Code.interrupted)) return { id, status: "skipped", reasons: ["interrupted before it started"] };
      if (hasCode(error, Code.notSent)) return { id, status: "skipped", reasons: [error.message], error };
      if (this.options.failFast || error.kind === "internal") this.stop();
      return { id, status: "failed", reasons: [error.message], error };
    } finally {
      release();
      this.inFlightUsd -= estimate ?? 0;
      this.emit({ type: "generated", id });
    }
    this.spending.usd += result.costUsd ?? estimate ?? 0;
    if (result.costUsd !== undefined && base) this.spending.overrun.set(model, Math.max(this.spending.overrun.get(model) ?? 1, result.costUsd / base));
    const action = recorded ?? recordAnswer(result);
    await this.effects.apply({ ...app, action, bytes: result.bytes });
    return { id, status: "built", reasons: decision.reasons, ...(result.costUsd === undefined ? {} : { costUsd: result.costUsd }) };
  }

  /** The gate of a provider's model: at most as many of its targets hold job slots as it takes requests at once. */
  private modelGate(settings: ModelSettings): Pool | undefined {
    const id = `${settings.provider}/${settings.model}`;
    let gate = this.modelGates.get(id);
    if (!gate) {
      const max = this.effects.hub.maxInFlight?.(settings.provider, settings.model);
      if (max === undefined) return undefined;
      this.modelGates.set(id, (gate = new Pool({ maxInFlight: max, perMinute: Infinity }, this.effects.clock)));
    }
    return gate;
  }

  /** Why starting one more generation would break `--max-cost`, or undefined when it would not. */
  private overBudget(estimate: number | undefined): string | undefined {
    const max = this.options.maxCostUsd;
    if (max === undefined) return undefined;
    if (estimate === undefined) return `not started: its cost is unknown and --max-cost ${max} is set`;
    const projected = this.spending.usd + this.inFlightUsd + estimate;
    if (projected <= max + 1e-9) return undefined;
    return `not started: --max-cost ${max} would be passed (spent $${this.spending.usd.toFixed(4)}, in flight ~$${this.inFlightUsd.toFixed(4)}, this one ~$${estimate.toFixed(4)})`;
  }

  /**
   * A data target's read: its answer checked against the schema before it is recorded (a bad one
   * fails the target, recorded nowhere), then stored as JSON bytes like an image.
   */
  private async read(spec: TargetSpec, read: ReadPart, settings: ModelSettings, key: string, images: ReferenceImage[], recordAnswer: (answer: Answer) => void): Promise<Answer> {
    const hub = this.effects.hub;
    if (!hub.read) throw new ChargenError("internal", "this build's provider hub reads nothing");
    let answer: Answer | undefined;
    const toAnswer = (r: DataResult): Answer => (answer ??= { bytes: checkedAnswer(read.schema, r.json), mimeType: JSON_TYPE, ...(r.costUsd === undefined ? {} : { costUsd: r.costUsd }), metadata: r.metadata });
    await hub.read({ ...dataRequest(spec, read, settings, key, images), signal: this.inFlight.signal }, settings.provider, this.scheduling.signal, (r) => recordAnswer(toAnswer(r)));
    return answer!;
  }

  private referenceImages(spec: TargetSpec, refs: Map<string, RefState>): ReferenceImage[] {
    return referenceImages(spec, refs, (p) => this.effects.readBytes(p));
  }

  private request(spec: TargetSpec, cut: readonly string[], settings: ModelSettings, key: string, references: ReferenceImage[]) {
    return { ...imageRequest(spec, cut, settings, key, references), signal: this.inFlight.signal };
  }
}

/**
 * The reference images to send, read now: those that resolved. An LFS pointer is no image: it is
 * never sent, the target fails with what to do.
 */
export function referenceImages(spec: TargetSpec, refs: Map<string, RefState>, readBytes: (path: string) => Uint8Array): ReferenceImage[] {
  return spec.references
    .filter((r) => "digest" in refs.get(r.path)!)
    .map((r) => {
      const bytes = readBytes(r.path);
      if (parseLfsPointer(bytes)) {
        throw new ChargenError("target", `reference ${r.path} is a Git LFS pointer, not the image: run \`git lfs pull\` to fetch it`, { file: r.path, code: "lfs-pointer" });
      }
      const mimeType = sniffImageType(bytes);
      // Checked when it was keyed; checked again on the bytes sent, which may have changed since.
      if (!mimeType) throw new ChargenError("target", `reference ${r.path} is refused: it is not a PNG, JPEG, WebP or GIF image`, { field: "references" });
      return { path: r.path, role: r.role, ...(r.label ? { label: r.label } : {}), bytes, mimeType };
    });
}

/** What a provider is asked to read for a data target, live or in a batch line. */
export function dataRequest(spec: Pick<TargetSpec, "id">, read: ReadPart, settings: ModelSettings, key: string, images: ReferenceImage[]): Omit<DataRequest, "signal"> {
  return {
    targetId: spec.id,
    key,
    model: settings.model,
    instructions: read.instructions,
    texts: read.texts,
    images,
    schema: read.schema,
    ...(read.mediaResolution ? { mediaResolution: read.mediaResolution } : {}),
  };
}

/** What a provider is asked for a target, live or in a batch line: its prompt (less the sections the budget cut) and its references. */
export function imageRequest(spec: TargetSpec, cut: readonly string[], settings: ModelSettings, key: string, references: ReferenceImage[]): Omit<ImageRequest, "signal"> {
  const prompt = cutPrompt(spec.prompt, cut);
  const size = parseSize(settings.size);
  return {
    targetId: spec.id,
    key,
    prompt: renderPrompt(prompt),
    negativePrompt: renderNegative(prompt),
    model: settings.model,
    ...(size ? { size } : {}),
    ...(settings.aspectRatio ? { aspectRatio: settings.aspectRatio } : {}),
    ...(settings.quality ? { quality: settings.quality } : {}),
    ...(settings.generation ? { generation: settings.generation } : {}),
    format: settings.format,
    references,
  };
}
