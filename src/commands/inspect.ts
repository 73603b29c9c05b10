import { join } from "node:path";
import { Store } from "../cache/store.js";
import { ChargenError, formatDiagnostic, type Diagnostic } from "../core/errors.js";
import { printable } from "../report/escape.js";
import { planWorkspace } from "../workspace/plan.js";
import { CACHE_DIR, openWorkspace, routeOf, type Workspace } from "../workspace/open.js";

export interface InspectOptions {
  root: string;
  patterns: string[];
  json: boolean;
  providerOverride?: string;
  modelOverride?: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

/**
 * The diagnostics of the targets asked for, on stderr: those naming one of `ids`, and those of
 * their source files that name no target (a broken entry, a file that does not parse). With no
 * pattern, every diagnostic: a broken file must not silently hide targets.
 */
export function printDiagnosticsOf(ws: Workspace, ids: readonly string[], options: Pick<InspectOptions, "err" | "patterns">): void {
  const wanted = new Set(ids);
  const files = new Set(ids.map((id) => ws.records.get(id)!.source.file));
  const mine = (d: Diagnostic) => (d.targetId ? wanted.has(d.targetId) : files.has(d.file));
  for (const d of ws.diagnostics) if (!options.patterns.length || mine(d)) options.err(printable(formatDiagnostic(d)) + "\n");
}

/** `chargen targets [PATTERN...]`: every target with its output and source line. */
export async function listTargets(options: InspectOptions): Promise<number> {
  const ws = await openWorkspace(options);
  printDiagnosticsOf(ws, ws.selected, options);
  const rows = ws.selected.map((id) => {
    const r = ws.records.get(id)!;
    return { id, output: r.output, source: `${r.source.file}:${r.source.line}`, references: r.references.map((x) => x.path) };
  });
  if (options.json) options.out(JSON.stringify({ targets: rows }, null, 2) + "\n");
  else for (const r of rows) options.out(`${printable(r.id)}\t${printable(r.output)}\t${printable(r.source)}\n`);
  return 0;
}

/** `chargen why ID`: the decision for one target, every reason, and the inputs it was keyed on. */
export async function why(options: InspectOptions & { id: string }): Promise<number> {
  const ws = await openWorkspace({ ...options, patterns: [options.id] });
  if (!ws.records.has(options.id)) throw new ChargenError("user", `no target with id ${options.id} (try: chargen targets)`);
  printDiagnosticsOf(ws, [options.id], { ...options, patterns: [options.id] });
  const store = new Store(join(ws.root, CACHE_DIR));
  const planned = planWorkspace(ws, store, false).find((p) => p.id === options.id)!;
  const record = ws.records.get(options.id)!;
  const lock = ws.lock.get(options.id);
  const d = planned.decision;
  const result = {
    id: options.id,
    status: d.status,
    reasons: d.reasons,
    source: record.source,
    // An adopted image keeps its own file.
    output: lock?.output ?? record.output,
    key: "key" in d ? d.key : null,
    inputs: "inputs" in d ? d.inputs : null,
    lock: lock ?? null,
    restorable: d.status === "stale" ? d.restorable : false,
    route: routeOf(ws, options.id) ?? null,
  };
  if (options.json) {
    options.out(JSON.stringify(result, null, 2) + "\n");
    return 0;
  }
  options.out(`${printable(options.id)}: ${d.status}\n`);
  for (const r of d.reasons) options.out(`  - ${printable(r)}\n`);
  options.out(`  source:  ${printable(record.source.file)}:${record.source.line}\n  output:  ${printable(result.output)}\n`);
  if (result.route) options.out(`  route:   ${printable(result.route)}\n`);
  if (result.key) options.out(`  key:     ${result.key}${lock ? ` (lock: ${lock.key}, built ${lock.builtAt} by ${lock.provider}/${lock.model})` : " (not in the lock)"}\n`);
  if (result.restorable) options.out("  an output for this key is in the cache: the next build restores it for free\n");
  return 0;
}
