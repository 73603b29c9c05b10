import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { lfsObjectId } from "../core/lfs.js";
import type { LockEntry } from "../cache/lockfile.js";
import type { PlannedTarget } from "../workspace/plan.js";
import { fitToModel, type Workspace } from "../workspace/open.js";
import { ChargenError, Code } from "../core/errors.js";
import type { TargetRecord } from "../graph/analyzer.js";
import { keyOf } from "../model/keys.js";
import { keyInputs, outputDigestOf, RecordedOutputs, referenceStates } from "../graph/planner.js";
import type { ModelSettings } from "../model/target.js";
import { resolveSettings } from "../rules/settings.js";
import { History } from "./history.js";

/** What adoption or acceptance made of one target. */
export interface Verdict {
  id: string;
  status: "adopted" | "accepted" | "stale" | "failed";
  reasons: string[];
  /** The lock entry to record (adopted and accepted only). */
  entry?: LockEntry;
  /** Stale because its recorded image was made for another scenario, or other inputs. */
  recordOutdated?: true;
  /** Why it was refused (a user error: the command exits 2). */
  refused?: ChargenError;
}

const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Adoption: every selected target with no lock entry whose YAML already records a generated
 * image whose file is present gets that file as its output under today's key, with no provider
 * call and no new record. A record whose prompt no longer holds today's scenario makes the target
 * stale instead. Targets with nothing recorded are "stale" with the reason "no recorded image".
 */
export function adoptHistory(ws: Workspace, now: Date = new Date()): Verdict[] {
  const history = new History(
    {
      exists: (p) => ws.disk.digest(p) !== undefined,
      readText: (p) => (existsSync(join(ws.root, p)) ? readFileSync(join(ws.root, p), "utf8") : undefined),
    },
    ws.rules.defaults?.provider === "placeholder",
  );
  const recorded = new RecordedOutputs(ws.lock);
  const verdicts: Verdict[] = [];
  // As planned, before fitting to a model: `--provider`/`--model` fitted ws.records to another one.
  const planned = new Map(ws.analysis.targets.map((t) => [t.id, t]));
  // File by file, so that History keeps only a few parsed files; verdicts in the selection's order.
  const order = new Map([...ws.selected].map((id, i) => [id, i]));
  const byFile = [...ws.selected].sort((a, b) => byCodeUnit(ws.records.get(a)!.source.file, ws.records.get(b)!.source.file) || order.get(a)! - order.get(b)!);
  for (const id of byFile) {
    // A rehearsal's card in the lock (the placeholder, where the rules route elsewhere) is no output
    // to keep: a recorded real image still takes its place. Any other entry is the target's output.
    const entry = ws.lock.get(id);
    if (entry && entry.provider !== "placeholder") continue;
    const settings = routedSettings(ws, ws.records.get(id)!);
    if (!settings || (entry && settings.provider === "placeholder")) continue;
    // Keyed as the build the rules route it to will key it (its references and prompt fitted to that
    // model), whatever this one was asked to use: else that build would pay for it again.
    const asPlanned = planned.get(id)!;
    const record = asPlanned.kind === "data" ? asPlanned : fitToModel(asPlanned, settings, ws.rules, ws.analysis).record;
    const { key, inputs } = keyNow(ws, recorded, record, settings);
    const found = history.verdict(record, key);
    if (!found) {
      verdicts.push({ id, status: "stale", reasons: ["no recorded image"] });
      continue;
    }
    const from = `recorded in ${found.image.from} (${found.image.path})`;
    if (found.status === "stale") {
      verdicts.push({ id, status: "stale", reasons: [found.reason, from], recordOutdated: true });
      continue;
    }
    const bytes = ws.disk.readBytes(found.image.path);
    verdicts.push({
      id,
      status: "adopted",
      reasons: [from],
      entry: {
        key,
        output: found.image.path,
        outputDigest: ws.disk.digest(found.image.path)!,
        // A pointer stands for its content: its oid is the image's SHA-256.
        outputSha256: lfsObjectId(bytes),
        provider: found.image.provider ?? settings.provider,
        model: found.image.model ?? settings.model,
        builtAt: found.image.at ?? now.toISOString(),
        origin: `adopted: ${from}`,
        inputs,
      },
    });
  }
  return verdicts.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
}

/**
 * Acceptance: every selected target that is stale or modified and has an output on disk is
 * recorded as fresh under today's inputs, without regenerating (a typo fixed in a prompt, a
 * prompt-compiler upgrade). The reasons say what it was stale for.
 */
export function acceptOutputs(ws: Workspace, decisions: Map<string, PlannedTarget["decision"]>, now: Date = new Date()): Verdict[] {
  const recorded = new RecordedOutputs(ws.lock);
  const verdicts: Verdict[] = [];
  // File by file, so that History keeps only a few parsed files; verdicts in the selection's order.
  const order = new Map([...ws.selected].map((id, i) => [id, i]));
  const byFile = [...ws.selected].sort((a, b) => byCodeUnit(ws.records.get(a)!.source.file, ws.records.get(b)!.source.file) || order.get(a)! - order.get(b)!);
  for (const id of byFile) {
    const decision = decisions.get(id)!;
    if (decision.status === "fresh") continue;
    const record = ws.records.get(id)!;
    const settings = settingsOf(ws, id);
    const lock = ws.lock.get(id);
    const refused = notAcceptable(ws, record, lock);
    if (refused) {
      verdicts.push({ id, status: "failed", reasons: [refused.message], refused });
      continue;
    }
    const output = lock?.output ?? record.output;
    const digest = outputDigestOf(record, lock, ws.disk);
    if (!settings || decision.status === "blocked" || decision.status === "error") {
      verdicts.push({ id, status: "failed", reasons: decision.reasons });
      continue;
    }
    // Pending: its key waits for an upstream target to be built.
    if (decision.status === "pending" || digest === undefined) {
      verdicts.push({ id, status: "stale", reasons: digest === undefined ? [...decision.reasons, `${output} is missing: nothing to accept`] : decision.reasons });
      continue;
    }
    const { key, inputs } = keyNow(ws, recorded, record, settings);
    const sameFile = lock !== undefined && lock.outputDigest === digest && lock.outputSha256 !== undefined;
    verdicts.push({
      id,
      status: "accepted",
      reasons: decision.reasons,
      entry: {
        key,
        output,
        outputDigest: digest,
        outputSha256: sameFile ? lock.outputSha256 : lfsObjectId(ws.disk.readBytes(output)),
        provider: lock?.provider ?? settings.provider,
        model: lock?.model ?? settings.model,
        builtAt: lock?.builtAt ?? now.toISOString(),
        ...(lock?.costUsd === undefined ? {} : { costUsd: lock.costUsd }),
        origin: `accepted: ${decision.reasons.join("; ")}`,
        inputs,
      },
    });
  }
  return verdicts;
}

/**
 * Why a target's output cannot be accepted: a data target's answer lives in the YAML its write-back
 * never wrote, and a rehearsal's card (the placeholder, where the rules route elsewhere) is not the image.
 */
function notAcceptable(ws: Workspace, record: TargetRecord, lock: LockEntry | undefined): ChargenError | undefined {
  const refuse = (why: string) => new ChargenError("user", `cannot accept ${record.id}: ${why}`, { code: Code.notAcceptable, file: record.source.file, line: record.source.line });
  if (record.kind === "data") return refuse("it is a data target, whose answer goes into the YAML only when it is read: build it");
  if (lock?.provider === "placeholder" && routedSettings(ws, record)?.provider !== "placeholder") {
    return refuse(`its output ${lock.output} is a placeholder rehearsal card, not the image: build it with the provider the rules route it to`);
  }
  return undefined;
}

/** The settings this command resolved for a target (with `--provider` / `--model`). */
function settingsOf(ws: Workspace, id: string): ModelSettings | undefined {
  const resolved = ws.settings.get(id);
  return resolved && !(resolved instanceof ChargenError) ? resolved.settings : undefined;
}

/**
 * The settings the rules route a target to, whatever `--provider` / `--model` say: a recorded image
 * was made by the workspace's history, and a rehearsal with the placeholder must not key it as a card.
 */
function routedSettings(ws: Workspace, record: TargetRecord): ModelSettings | undefined {
  try {
    return resolveSettings(record.requested, ws.rules).settings;
  } catch {
    return undefined;
  }
}

/** Today's key of a target, from its YAML and the reference files on disk. */
function keyNow(ws: Workspace, recorded: RecordedOutputs, record: TargetRecord, settings: ModelSettings) {
  const refs = referenceStates(record.references, (p) => recorded.referenceDigest(p, ws.disk), () => undefined, (p) => ws.guard.refusal(p));
  const inputs = keyInputs(record, settings, refs);
  return { key: keyOf(inputs), inputs };
}
