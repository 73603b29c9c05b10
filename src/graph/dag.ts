import type { Diagnostic } from "../core/errors.js";
import type { TargetRecord } from "./analyzer.js";

export interface Graph {
  /** Target id -> ids of the targets whose outputs it uses as references. */
  deps: Map<string, string[]>;
  /** Targets in an order where each comes after everything it depends on. */
  order: string[];
  diagnostics: Diagnostic[];
  /** Ids excluded from the build: in a cycle, or sharing an output path with an earlier target. */
  broken: Set<string>;
}

/**
 * A reference whose path is another target's output becomes an edge: no rule declares edges,
 * they follow from the files. Cycles and shared output paths are diagnostics naming the targets.
 */
export function buildGraph(targets: readonly TargetRecord[]): Graph {
  const diagnostics: Diagnostic[] = [];
  const broken = new Set<string>();
  const producer = new Map<string, TargetRecord>();
  for (const t of targets) {
    const other = producer.get(t.output);
    if (other) {
      broken.add(t.id);
      diagnostics.push({
        severity: "error",
        file: t.source.file,
        line: t.source.line,
        targetId: t.id,
        message: `target "${t.id}" writes ${t.output}, which target "${other.id}" (${other.source.file}:${other.source.line}) writes too`,
      });
    } else producer.set(t.output, t);
  }
  const byId = new Map(targets.map((t) => [t.id, t]));
  const deps = new Map<string, string[]>();
  for (const t of targets) {
    if (broken.has(t.id)) continue;
    const ds = t.references.map((r) => producer.get(r.path)?.id).filter((id): id is string => id !== undefined);
    // A data target whose answer goes into what this target's prompt reads comes first too.
    for (const id of t.after ?? []) if (byId.has(id) && !broken.has(id)) ds.push(id);
    deps.set(t.id, [...new Set(ds)]);
  }

  // Depth-first topological sort; a back edge is a cycle.
  const order: string[] = [];
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (id: string): void => {
    const s = state.get(id);
    if (s === "done") return;
    if (s === "visiting") {
      const cycle = path.slice(path.indexOf(id));
      for (const c of cycle) broken.add(c);
      const t = byId.get(id)!;
      diagnostics.push({
        severity: "error",
        file: t.source.file,
        line: t.source.line,
        targetId: id,
        message: `reference cycle: ${[...cycle, id].join(" -> ")}`,
      });
      return;
    }
    state.set(id, "visiting");
    path.push(id);
    for (const d of deps.get(id) ?? []) visit(d);
    path.pop();
    state.set(id, "done");
    order.push(id);
  };
  for (const t of targets) if (deps.has(t.id)) visit(t.id);
  return { deps, order: order.filter((id) => !broken.has(id)), diagnostics, broken };
}
