import type { Store } from "../cache/store.js";
import { ChargenError } from "../core/errors.js";
import { Decider, type Decision } from "../graph/planner.js";
import { estimatePrice, estimateReadPrice } from "../providers/catalog.js";
import { readShape } from "../graph/budget.js";
import type { TargetRecord } from "../graph/analyzer.js";
import type { ModelSettings } from "../model/target.js";
import type { ProviderSettings } from "../providers/types.js";
import { missingReferencesPolicy } from "../rules/api.js";
import type { Workspace } from "./open.js";

export interface PlannedTarget {
  id: string;
  decision: Decision | { status: "error"; reasons: string[] };
  /** Estimated spend for this target in this build (0 when restorable or fresh). */
  estimatedCostUsd: number | undefined;
}

/**
 * Decide every selected target from the lock and the files (and the store, when there is one):
 * the plan `--check`, `--dry-run` and `--explain` print. A target whose reference is produced by
 * a target that will be rebuilt is "pending": its key is known only once the upstream is built.
 */
export function planWorkspace(ws: Workspace, store: Pick<Store, "find" | "latest"> | undefined, force: boolean): PlannedTarget[] {
  const producerOf = new Map([...ws.records.values()].map((r) => [r.output, r.id]));
  const rebuilt = new Set<string>();
  const decider = new Decider({ lock: ws.lock, disk: ws.disk, refusal: (p) => ws.guard.refusal(p), store, force, missingReferences: missingReferencesPolicy(ws.rules) });
  const planned: PlannedTarget[] = [];
  for (const id of ws.selected) {
    const record = ws.records.get(id)!;
    const resolved = ws.settings.get(id)!;
    if (resolved instanceof ChargenError) {
      planned.push({ id, decision: { status: "error", reasons: [resolved.message] }, estimatedCostUsd: undefined });
      continue;
    }
    const { decision } = decider.decide(record, resolved.settings, (p) => {
      const up = producerOf.get(p);
      return up && rebuilt.has(up) ? up : undefined;
    });
    if (decision.status === "stale" || decision.status === "pending") rebuilt.add(id);
    const paid = (decision.status === "stale" && !decision.restorable) || decision.status === "pending";
    const price = targetPrice(record, resolved.settings, ws.rules);
    planned.push({ id, decision, estimatedCostUsd: paid ? price : 0 });
  }
  return planned;
}

/** Estimated price of building a target once: an image's, or a data target's read. */
export function targetPrice(record: TargetRecord, settings: ModelSettings, rules: ProviderSettings): number | undefined {
  return record.kind === "data" ? estimateReadPrice(settings, readShape(record), rules) : estimatePrice(settings, rules);
}
