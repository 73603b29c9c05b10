import { readFileSync } from "node:fs";
import { join } from "node:path";
import { digestBytes } from "../core/hash.js";
import { lfsObjectId, sha256Hex } from "../core/lfs.js";
import { formatLock, LOCK_FILE, type Lock } from "../cache/lockfile.js";
import { asChargenError, ChargenError, type Diagnostic } from "../core/errors.js";
import type { Application } from "../graph/executor.js";
import type { JsonValue, TargetSpec } from "../model/target.js";
import type { BuildOutcome, RuleSet } from "../rules/api.js";
import { cutPrompt } from "../graph/budget.js";
import { renderNegative, renderPrompt } from "../model/prompt-ir.js";
import { writeAtomic } from "../core/atomic.js";
import type { RealDisk } from "../cache/disk.js";
import { YamlEditor } from "../yaml/edit.js";
import { ignoreEvents, type EmitBuildEvent } from "../model/events.js";

/** The provider the rules route a target of this kind to, when nothing overrides them. */
const routedProvider = (rules: RuleSet, kind: "data" | undefined) => (kind === "data" ? (rules.defaults?.read?.provider ?? rules.defaults?.provider) : rules.defaults?.provider);

type WriteBackFn = NonNullable<RuleSet["rules"][number]["writeBack"]>;

interface PendingWriteBack {
  writeBack: WriteBackFn;
  outcome: BuildOutcome;
  done: () => void;
}

export interface ApplierSetup {
  root: string;
  rules: RuleSet;
  disk: RealDisk;
  lock: Lock;
  /** The target's spec as the workspace reads it now. */
  spec: (id: string) => TargetSpec | undefined;
  /** Flush the lock at most this often while building (and always at the end). */
  lockIntervalMs?: number;
  /** Where chargen's writes are told (the watcher tells them from the author's by their digest). */
  emit?: EmitBuildEvent;
}

/**
 * Applies finished targets to the workspace, in this order: the output file (tmp + rename), the
 * rule's YAML write-back (comment-preserving, atomic), the lock entry. By then the generation is
 * already durable in the store, so a crash anywhere here loses nothing: the next build finds the
 * output (or restores it) and applies again. Write-backs run in one queue, never concurrently:
 * two targets of one YAML file must not read-modify-write it at the same time.
 */
export class Applier {
  private readonly pending: PendingWriteBack[] = [];
  private draining = false;
  private lockTimer: ReturnType<typeof setTimeout> | undefined;
  private lockWrite: Promise<void> = Promise.resolve();
  private lockDirty = false;
  readonly warnings: Diagnostic[] = [];

  private readonly root: string;
  private readonly rules: RuleSet;
  private readonly disk: RealDisk;
  private readonly lock: Lock;
  private readonly spec: (id: string) => TargetSpec | undefined;
  private readonly lockIntervalMs: number;
  private readonly emit: EmitBuildEvent;

  constructor(setup: ApplierSetup) {
    ({ root: this.root, rules: this.rules, disk: this.disk, lock: this.lock, spec: this.spec } = setup);
    this.lockIntervalMs = setup.lockIntervalMs ?? 1_000;
    this.emit = setup.emit ?? ignoreEvents;
  }

  /** Digest of what chargen last wrote to each YAML file in this build. */
  private readonly written = new Map<string, string>();

  async apply(app: Application): Promise<void> {
    const { record, action } = app;
    // A data target's answer goes into the YAML through the write-back, never into a file.
    if (app.bytes && record.kind !== "data") {
      this.emit({ type: "written", path: record.output, digest: action.blob });
      await writeAtomic(join(this.root, record.output), app.bytes);
      this.disk.wrote(record.output, action.blob);
    }
    const spec = this.spec(record.id);
    const rule = this.rules.rules.find((r) => r.name === record.rule);
    if (spec && rule?.writeBack) {
      // The prompt as sent: without the sections its length budget cut.
      const sent = cutPrompt(spec.prompt, record.cut ?? []);
      const outcome: BuildOutcome = {
        target: spec,
        settings: app.settings,
        key: app.key,
        output: record.output,
        outputDigest: action.blob,
        generatedAt: action.at,
        rehearsal: app.settings.provider === "placeholder" && routedProvider(this.rules, record.kind) !== "placeholder",
        ...(record.kind === "data" ? { answer: this.answer(app) } : {}),
        prompt: renderPrompt(sent),
        negativePrompt: renderNegative(sent),
        references: spec.references.filter((r) => r.path in app.inputs.refs).map((r) => ({ ...r, digest: app.inputs.refs[r.path]! })),
        ...(action.costUsd === undefined ? {} : { costUsd: action.costUsd }),
        metadata: action.metadata,
      };
      const writeBack = rule.writeBack.bind(rule);
      await this.writeBack(writeBack, outcome);
    }
    this.lock.set(record.id, {
      key: app.key,
      output: record.output,
      outputDigest: action.blob,
      ...(app.bytes ? { outputSha256: sha256Hex(app.bytes) } : record.kind === "data" ? {} : { outputSha256: lfsObjectId(this.disk.readBytes(record.output)) }),
      provider: action.provider,
      model: action.model,
      builtAt: action.at,
      ...(action.costUsd === undefined ? {} : { costUsd: action.costUsd }),
      inputs: app.inputs,
    });
    this.scheduleLockWrite();
  }

  /** A data target's answer, parsed (it always comes with its bytes: there is no file to adopt). */
  private answer(app: Application): JsonValue {
    if (!app.bytes) throw new ChargenError("internal", `${app.record.id}: a data target applied without its answer`);
    return JSON.parse(new TextDecoder().decode(app.bytes)) as JsonValue;
  }

  private writeBack(writeBack: WriteBackFn, outcome: BuildOutcome): Promise<void> {
    return new Promise((done) => {
      this.pending.push({ writeBack, outcome, done });
      if (!this.draining) void this.drainWriteBacks();
    });
  }

  /**
   * Write-backs wait their turn; whatever queued up meanwhile is applied in one session, each
   * file parsed, checked and written once for all of them (a chapter of ten images finishing
   * together is one write, not ten).
   */
  private async drainWriteBacks(): Promise<void> {
    this.draining = true;
    try {
      while (this.pending.length) {
        const batch = this.pending.splice(0);
        await this.writeBackSession(batch);
        for (const item of batch) item.done();
      }
    } finally {
      // In the same step as the last check of `pending`: a write-back queued by a continuation of
      // `done()` (a restore, all synchronous) must start a new drain, not wait for a finished one.
      this.draining = false;
    }
  }

  private async writeBackSession(batch: PendingWriteBack[]): Promise<void> {
    const editors = new Map<string, YamlEditor>();
    const touched = new Map<string, PendingWriteBack[]>();
    const failed = new Set<PendingWriteBack>();
    const fail = (item: PendingWriteBack, e: unknown) => {
      if (failed.has(item)) return;
      failed.add(item);
      const error = asChargenError(e);
      const { target, output } = item.outcome;
      this.warnings.push({
        severity: "warning",
        file: error.details.file ?? target.source.file,
        ...(error.details.line ? { line: error.details.line } : {}),
        targetId: target.id,
        message: `${target.id} was built (${output}) but not written back: ${error.message}`,
      });
    };
    for (const item of batch) {
      // Each file as it was before this item touched it: a write-back that throws is undone whole.
      const undo = new Map<string, () => void>();
      try {
        item.writeBack({
          outcome: item.outcome,
          edit: (path) => {
            let editor = editors.get(path);
            if (!editor) editors.set(path, (editor = this.open(path)));
            if (!undo.has(path)) {
              touched.set(path, [...(touched.get(path) ?? []), item]);
              undo.set(path, editor.checkpoint());
            }
            return editor;
          },
        });
      } catch (e) {
        for (const restore of undo.values()) restore();
        fail(item, e);
      }
    }
    for (const [path, editor] of editors) {
      try {
        if (!editor.changed) continue;
        const bytes = Buffer.from(editor.toString());
        const digest = digestBytes(bytes);
        this.emit({ type: "written", path, digest });
        this.written.set(path, digest);
        await writeAtomic(join(this.root, path), bytes);
        this.disk.wrote(path, digest);
      } catch (e) {
        for (const item of touched.get(path) ?? []) fail(item, e);
      }
    }
  }

  /** A workspace YAML file, opened for editing as it is on disk now. */
  private open(path: string): YamlEditor {
    let text = "";
    try {
      text = readFileSync(join(this.root, path), "utf8");
    } catch {
      // A file the rule creates (a runs log): starts empty.
    }
    // Not what the plan read nor what chargen last wrote: the author saved it meanwhile.
    // The write-back keeps their edit, and whoever watches must know it happened.
    const expected = this.written.get(path) ?? this.disk.known(path);
    if (expected !== undefined && text && digestBytes(Buffer.from(text)) !== expected) this.emit({ type: "changed-underneath", path });
    return YamlEditor.parse(text, path);
  }

  /** Drop the lock entries of targets that are gone. */
  forget(ids: string[]): void {
    for (const id of ids) this.lock.delete(id);
    if (ids.length) this.scheduleLockWrite();
  }

  /** The lock on disk is not as chargen writes it (old format, a merge's duplicates): write it at the next flush. */
  rewriteLock(): void {
    this.scheduleLockWrite();
  }

  private scheduleLockWrite(): void {
    this.lockDirty = true;
    if (this.lockTimer) return;
    this.lockTimer = setTimeout(() => {
      this.lockTimer = undefined;
      void this.flushLock();
    }, this.lockIntervalMs);
  }

  /** Write the lock now if anything changed; returns when it is on disk. */
  async flushLock(): Promise<void> {
    if (this.lockTimer) {
      clearTimeout(this.lockTimer);
      this.lockTimer = undefined;
    }
    this.lockWrite = this.lockWrite.then(async () => {
      if (!this.lockDirty) return;
      this.lockDirty = false;
      const bytes = formatLock(this.lock);
      this.emit({ type: "written", path: LOCK_FILE, digest: digestBytes(bytes) });
      await writeAtomic(join(this.root, LOCK_FILE), bytes);
    });
    await this.lockWrite;
  }
}
