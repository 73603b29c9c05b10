import { LFS_POINTER_MAX_BYTES, lfsObjectId, parseLfsPointer } from "../core/lfs.js";
import type { Lock, LockEntry } from "../cache/lockfile.js";
import { explainChange, keyOf, sameInputs, type KeyInputs } from "../model/keys.js";
import type { ModelSettings, ReferenceInput } from "../model/target.js";
import type { TargetRecord } from "./analyzer.js";

/**
 * Where a reference's digest comes from: the file on disk, or an upstream target not yet built;
 * or why the file may not be used (see core/boundary.ts).
 */
export type RefState = { digest: string } | { missing: true } | { pendingUpstream: string } | { refused: string };

/** What the decision needs to know about the world; the planner and executor supply it. */
export interface DecisionInput {
  record: TargetRecord;
  settings: ModelSettings;
  refs: Map<string, RefState>;
  lock: LockEntry | undefined;
  /** Digest of the file at the output path now (see `outputDigestOf`), undefined when absent. */
  outputDigest: string | undefined;
  /** Whether `digest` is an output chargen recorded under `key` (its own file, not yet in the lock). */
  produced(key: string, digest: string): boolean;
  /** Whether the store can restore an output for `key` without a provider call. */
  restorable(key: string): boolean;
  force: boolean;
  /** References that resolve to no file are left out ("warn") or fail the target ("fail"). */
  missingReferences: "fail" | "warn";
}

export type Decision =
  | { status: "fresh"; key: string; inputs: KeyInputs; reasons: [] }
  | { status: "stale"; key: string; inputs: KeyInputs; reasons: string[]; restorable: boolean; adopt: boolean }
  | { status: "pending"; reasons: string[] }
  | { status: "modified"; reasons: string[] }
  | { status: "blocked"; reasons: string[] };

/**
 * The heart of incrementality, pure: given a target's inputs, its lock entry and what is on disk,
 * is it fresh, stale (and why), or modified by hand? Shared by `--check`, the dry run and the executor.
 */
export function decide(d: DecisionInput): Decision {
  const missing = d.record.references.filter((r) => "missing" in d.refs.get(r.path)!);
  const pending = d.record.references.map((r) => d.refs.get(r.path)!).find((s) => "pendingUpstream" in s);
  const lockDigestMatches = d.outputDigest !== undefined && d.lock?.outputDigest === d.outputDigest;

  if (pending && "pendingUpstream" in pending) {
    if (d.outputDigest !== undefined && !lockDigestMatches && !d.force) return { status: "modified", reasons: [modifiedReason(d.lock)] };
    return { status: "pending", reasons: [`upstream ${pending.pendingUpstream} is not built yet`] };
  }
  // Never read into a key or a request, whatever the policy for missing references.
  const refused = d.record.references.flatMap((r) => {
    const s = d.refs.get(r.path)!;
    return "refused" in s ? [`reference ${r.path} ${s.refused}`] : [];
  });
  if (refused.length) return { status: "blocked", reasons: refused };
  const missingReasons = [...missing.map((r) => `reference ${r.path} is missing`), ...d.record.unresolved.map((u) => `reference ${u}`)];
  if (missingReasons.length && d.missingReferences === "fail") return { status: "blocked", reasons: missingReasons };
  const inputs = keyInputs(d.record, d.settings, d.refs);
  const key = keyOf(inputs);
  const ours = d.outputDigest !== undefined && (lockDigestMatches || d.produced(key, d.outputDigest));
  // Same inputs under an older key encoding are fresh too: upgrading chargen never costs a regeneration.
  if (d.lock && lockDigestMatches && (d.lock.key === key || sameInputs(d.lock.inputs, inputs))) return { status: "fresh", key, inputs, reasons: [] };
  // A rehearsal never puts a placeholder card where a real, paid image is: that image is as good as
  // fresh for it (--force replaces it all the same).
  if (d.settings.provider === "placeholder" && d.lock && d.lock.provider !== "placeholder" && lockDigestMatches && !d.force) {
    return { status: "fresh", key: d.lock.key, inputs: d.lock.inputs, reasons: [] };
  }
  if (d.outputDigest !== undefined && !ours && !d.force) {
    const reasons = [modifiedReason(d.lock)];
    if (d.lock && d.lock.key !== key) reasons.push(...explainChange(d.lock.inputs, inputs));
    return { status: "modified", reasons };
  }
  const reasons: string[] = [];
  if (!d.lock) reasons.push("never built");
  else {
    if (d.outputDigest === undefined) reasons.push("output missing");
    else if (!lockDigestMatches) reasons.push(ours ? "lock entry out of date" : "output modified (overwritten: --force)");
    if (d.lock.key !== key) reasons.push(...explainChange(d.lock.inputs, inputs));
  }
  for (const r of missingReasons) reasons.push(`${r}: building without it`);
  const adopt = ours && d.outputDigest !== undefined && d.produced(key, d.outputDigest);
  return { status: "stale", key, inputs, reasons, restorable: adopt || d.restorable(key), adopt };
}

/** What deciding a target reads besides the target itself: the same for the plan and the executor. */
export interface DecisionSources {
  lock: Lock;
  disk: DecisionDisk;
  /** Why a reference file may not be read (see core/boundary.ts ReferenceGuard). */
  refusal(path: string): string | undefined;
  /** The store, where there is one: chargen's own outputs not yet in the lock, and what it can restore. */
  store: { find(key: string, digest: string): unknown; latest(key: string): unknown } | undefined;
  force: boolean;
  missingReferences: "fail" | "warn";
}

/** `decide` with its inputs assembled from the sources, one target at a time. */
export class Decider {
  /** The outputs the lock recorded when the decider was made, for references that are LFS pointers. */
  private readonly recorded: RecordedOutputs;

  constructor(private readonly sources: DecisionSources) {
    this.recorded = new RecordedOutputs(sources.lock);
  }

  /** `pendingProducer`: the upstream target that will rebuild a reference first (the plan's guess; the executor knows). */
  decide(record: TargetRecord, settings: ModelSettings, pendingProducer: (path: string) => string | undefined = () => undefined): { decision: Decision; refs: Map<string, RefState> } {
    const { disk, store, lock: entries } = this.sources;
    const refs = referenceStates(record.references, (p) => this.recorded.referenceDigest(p, disk), pendingProducer, (p) => this.sources.refusal(p));
    const lock = entries.get(record.id);
    const decision = decide({
      record,
      settings,
      refs,
      lock,
      outputDigest: outputDigestOf(record, lock, disk),
      produced: (k, d) => store?.find(k, d) !== undefined,
      restorable: (k) => store?.latest(k) !== undefined,
      force: this.sources.force,
      missingReferences: this.sources.missingReferences,
    });
    return { decision, refs };
  }
}

function modifiedReason(lock: LockEntry | undefined): string {
  return lock ? "output modified since chargen wrote it (rebuild with --force)" : "output exists but chargen did not write it (rebuild with --force)";
}

export function keyInputs(record: TargetRecord, settings: ModelSettings, refs: Map<string, RefState>): KeyInputs {
  const digests: Record<string, string> = {};
  for (const r of record.references) {
    const s = refs.get(r.path);
    if (s && "digest" in s) digests[r.path] = s.digest;
  }
  return { ...record.digests, settings, refs: digests };
}

/** Reference states from the disk, given which upstream targets will be rebuilt and which files are refused. */
export function referenceStates(
  refs: readonly ReferenceInput[],
  digestOf: (path: string) => string | undefined,
  pendingProducer: (path: string) => string | undefined,
  refusal: (path: string) => string | undefined,
): Map<string, RefState> {
  const states = new Map<string, RefState>();
  for (const r of refs) {
    const upstream = pendingProducer(r.path);
    const refused = upstream ? undefined : refusal(r.path);
    if (upstream) states.set(r.path, { pendingUpstream: upstream });
    else if (refused) states.set(r.path, { refused });
    else {
      const digest = digestOf(r.path);
      states.set(r.path, digest === undefined ? { missing: true } : { digest });
    }
  }
  return states;
}

/** The file system as decisions read it: digests, sizes (a small file may be an LFS pointer), bytes. */
export interface DecisionDisk {
  digest(path: string): string | undefined;
  size(path: string): number | undefined;
  readBytes(path: string): Uint8Array;
}

/**
 * The digest of a target's output, for `decide`. The output is read at the lock's path where that
 * differs from the spec's (an adopted image keeps its own file). A file whose LFS object id is the
 * SHA-256 the lock recorded is the recorded output: a pointer in a checkout without LFS content,
 * or the content pulled for an image adopted as a pointer. Only a digest mismatch costs a read.
 */
export function outputDigestOf(record: TargetRecord, lock: LockEntry | undefined, disk: DecisionDisk): string | undefined {
  // A data target's answer lives in the YAML (and the store), never in a file: what the lock recorded is there.
  if (record.kind === "data") return lock?.outputDigest;
  const digest = disk.digest(lock?.output ?? record.output);
  if (digest === undefined || !lock?.outputSha256 || digest === lock.outputDigest) return digest;
  return lfsObjectId(disk.readBytes(lock.output)) === lock.outputSha256 ? lock.outputDigest : digest;
}

/**
 * The outputs the lock records, by LFS object id and by path. A reference reads as the recorded
 * output when it is a pointer to one (a checkout without LFS content), or when it is the content
 * of one the lock recorded as a pointer (an image adopted as a pointer, then pulled): checkouts
 * with and without LFS content plan alike.
 */
export class RecordedOutputs {
  private readonly byOid = new Map<string, LockEntry>();
  private readonly byPath = new Map<string, LockEntry>();
  /** SHA-256 by path and fast digest: a file is hashed twice only when it changed. */
  private readonly sha = new Map<string, string>();

  constructor(lock: Lock) {
    for (const e of lock.values()) {
      if (!e.outputSha256) continue;
      this.byOid.set(e.outputSha256, e);
      this.byPath.set(e.output, e);
    }
  }

  referenceDigest(path: string, disk: DecisionDisk): string | undefined {
    const digest = disk.digest(path);
    if (digest === undefined || this.byOid.size === 0) return digest;
    const size = disk.size(path);
    const pointer = size !== undefined && size <= LFS_POINTER_MAX_BYTES ? parseLfsPointer(disk.readBytes(path)) : undefined;
    if (pointer) return this.byOid.get(pointer.oid)?.outputDigest ?? digest;
    const entry = this.byPath.get(path);
    if (!entry || entry.outputDigest === digest) return digest;
    const memo = `${path}\0${digest}`;
    let sha = this.sha.get(memo);
    if (sha === undefined) this.sha.set(memo, (sha = lfsObjectId(disk.readBytes(path))));
    return sha === entry.outputSha256 ? entry.outputDigest : digest;
  }
}
