import { join, matchesGlob } from "node:path";
import fg from "fast-glob";
import { adoptHistory } from "../adopt/adopt.js";
import { realClock } from "../core/clock.js";
import { formatDiagnostic, type Diagnostic } from "../core/errors.js";
import { EXIT } from "../core/exit.js";
import { toRecord, type TargetRecord } from "../graph/analyzer.js";
import { buildGraph } from "../graph/dag.js";
import { Executor } from "../graph/executor.js";
import type { TargetSpec } from "../model/target.js";
import { ProviderHub } from "../providers/hub.js";
import { printable } from "../report/escape.js";
import { missingReferencesPolicy } from "../rules/api.js";
import { CATALOG_PATTERN, catalogRule, catalogTarget, entityFileOf, recordedPaths, sceneIdeas } from "../rules/catalog.js";
import { resolveReadSettings, type Resolved } from "../rules/settings.js";
import { Applier } from "../workspace/applier.js";
import { BUILD_PID, BuildLock } from "../workspace/build-lock.js";
import { missingKeyDiagnostics, openSession } from "./build.js";
import type { InspectOptions } from "./inspect.js";
import { CACHE_DIR, openWorkspace, type Workspace } from "../workspace/open.js";
import { targetPrice } from "../workspace/plan.js";

export interface CatalogOptions extends InspectOptions {
  write: boolean;
  /** `-n`: what `--write` would describe, with the estimate; no provider call, no write. */
  dryRun: boolean;
  maxCostUsd?: number;
  env: NodeJS.ProcessEnv;
}

/** What catalog did (or, with -n, would do) with one unrecorded image. */
interface CatalogImage {
  path: string;
  entityFile: string;
  status: string;
  reasons: string[];
  estimatedCostUsd: number | null;
}

/**
 * `chargen catalog [PATTERN...]`: the image files under entity folders that no record names (nor
 * any target makes, nor the lock records as an output: an adopted image). With `--write`, each is
 * described and matched to its entity's scene ideas by a data target (keyed and cached like any),
 * and a record for it is appended to the entity's imagery file; `-n` says what that would spend.
 */
export async function catalog(options: CatalogOptions): Promise<number> {
  const writing = options.write && !options.dryRun;
  // Held before the lock is read, as build does: a build running meanwhile is not overwritten.
  const buildLock = writing ? BuildLock.acquire(join(options.root, CACHE_DIR, BUILD_PID), (m) => options.err(`chargen: warning: ${m}\n`)) : undefined;
  try {
    const ws = await openWorkspace({ ...options, patterns: [] });
    const unrecorded = unrecordedImages(ws, options.patterns);
    if (!options.write && !options.dryRun) {
      if (options.json) options.out(JSON.stringify({ unrecorded: unrecorded.map((path) => ({ path, entityFile: entityFileOf(path) })) }, null, 2) + "\n");
      else for (const p of unrecorded) options.out(`${printable(p)}\t${printable(entityFileOf(p))}\n`);
      return EXIT.ok;
    }
    return await describeUnrecorded(ws, unrecorded, options);
  } finally {
    buildLock?.release();
  }
}

/**
 * The images under entity folders that no record names, no target makes, and neither the lock nor
 * the workspace's history (what `adopt` would record) has as a target's output.
 */
function unrecordedImages(ws: Workspace, patterns: string[]): string[] {
  const adoptable = adoptHistory(ws).flatMap((v) => (v.entry ? [v.entry.output] : []));
  const made = new Set([...[...ws.records.values()].map((r) => r.output), ...[...ws.lock.values()].map((e) => e.output), ...adoptable]);
  const named = new Map<string, Set<string>>();
  return fg
    .sync(CATALOG_PATTERN, { cwd: ws.root, onlyFiles: true, ignore: [".chargen/**"] })
    .sort()
    .filter((p) => !patterns.length || patterns.some((g) => matchesGlob(p, g)))
    .filter((p) => {
      const file = entityFileOf(p);
      if (!named.has(file)) named.set(file, recordedPaths(file, readText(ws, file) ?? ""));
      return !named.get(file)!.has(p) && !made.has(p);
    });
}

const readText = (ws: Workspace, path: string) => (ws.disk.digest(path) === undefined ? undefined : ws.disk.readText(path));

async function describeUnrecorded(ws: Workspace, unrecorded: string[], options: CatalogOptions): Promise<number> {
  const specs = new Map<string, TargetSpec>();
  for (const image of unrecorded) {
    const file = entityFileOf(image);
    const text = readText(ws, file);
    // No imagery file to record it in: said, not created (a character's needs its appearance).
    if (text === undefined) {
      options.err(`chargen: ${printable(image)}: ${printable(file)} does not exist; not recorded\n`);
      continue;
    }
    const spec = catalogTarget(image, sceneIdeas(file, text, readText(ws, file.replace(/imagery\.yaml$/, "image-ideas.yaml"))));
    specs.set(spec.id, spec);
  }
  const records = [...specs.values()].map(toRecord);
  const resolved = resolveReadSettings(ws.rules, { provider: options.providerOverride });
  const diagnostics: Diagnostic[] = resolved.adjustments.map((message) => ({ severity: "warning", file: ws.rulesFile ?? "chargen.rules.ts", message }));
  const imageOf = (id: string) => id.replace(/^catalog\//, "");
  const estimate = (record: TargetRecord) => targetPrice(record, resolved.settings, ws.rules) ?? null;

  if (options.dryRun) {
    const images: CatalogImage[] = records.map((r) => ({ path: imageOf(r.id), entityFile: r.source.file, status: "stale", reasons: ["would be described"], estimatedCostUsd: estimate(r) }));
    const usd = images.reduce((n, i) => n + (i.estimatedCostUsd ?? 0), 0);
    const unknown = images.filter((i) => i.estimatedCostUsd === null).length;
    const summary = `${images.length} image${images.length === 1 ? "" : "s"} to describe (${resolved.settings.provider}/${resolved.settings.model}), estimated $${usd.toFixed(2)}${unknown ? ` (${unknown} of unknown cost)` : ""}; dry run: nothing written`;
    return finish(options, diagnostics, images, { estimatedCostUsd: usd, providerCalls: 0, exitCode: EXIT.ok }, summary);
  }

  const session = openSession(ws.root, realClock);
  const rules = { ...ws.rules, rules: [catalogRule()] };
  const applier = new Applier({ root: ws.root, rules, disk: ws.disk, lock: ws.lock, spec: (id) => specs.get(id) });
  const hub = new ProviderHub({ rules: ws.rules, env: options.env, clock: session.clock });
  const settings = new Map<string, Resolved>(records.map((r) => [r.id, resolved]));
  const byId = new Map(records.map((r) => [r.id, r]));
  const executor = new Executor({
    graph: buildGraph(records),
    records: byId,
    settings,
    // Decided as never built: an image still unrecorded has no answer applied (one already paid for is restored from the store).
    lock: new Map(),
    effects: {
      digest: (p) => ws.disk.digest(p),
      size: (p) => ws.disk.size(p),
      readBytes: (p) => ws.disk.readBytes(p),
      refusal: (p) => ws.guard.refusal(p),
      spec: (id) => specs.get(id),
      store: session.store,
      hub,
      apply: (app) => applier.apply(app),
      clock: session.clock,
    },
    options: {
      force: false,
      failFast: false,
      jobs: 8,
      missingReferences: missingReferencesPolicy(ws.rules),
      ...(options.maxCostUsd === undefined ? {} : { maxCostUsd: options.maxCostUsd }),
      price: () => undefined,
      readPrice: (s, record) => targetPrice(record, s, ws.rules),
    },
  });
  const outcomes = await executor.run(records.map((r) => r.id));
  await applier.flushLock();
  diagnostics.push(...applier.warnings, ...missingKeyDiagnostics(ws, hub, outcomes, { settings, records: byId }));
  // A rehearsal's answer stands for no real image: nothing of it goes into a record (see catalogRule).
  const rehearsal = resolved.settings.provider === "placeholder" && isRehearsal(ws);
  const unwritten = new Set(applier.warnings.map((w) => w.targetId));
  const images: CatalogImage[] = outcomes.map((o) => {
    const done = o.status === "built" || o.status === "cached";
    const status = !done ? o.status : rehearsal ? "not recorded (rehearsal)" : unwritten.has(o.id) ? "not recorded" : "recorded";
    return { path: imageOf(o.id), entityFile: byId.get(o.id)!.source.file, status, reasons: o.reasons, estimatedCostUsd: estimate(byId.get(o.id)!) };
  });
  const count = (status: string) => images.filter((i) => i.status === status).length;
  const calls = Object.values(hub.callCounts()).reduce((a, b) => a + b, 0);
  const settled = count("recorded") + count("not recorded (rehearsal)") === images.length;
  const exitCode = diagnostics.some((d) => d.severity === "error") ? EXIT.error : settled && applier.warnings.length === 0 ? EXIT.ok : EXIT.failed;
  const summary = `${count("recorded")} of ${images.length} recorded${rehearsal ? `; ${count("not recorded (rehearsal)")} not recorded (rehearsal)` : ""}; ${calls} provider call${calls === 1 ? "" : "s"}`;
  return finish(options, diagnostics, images, { providerCalls: calls, exitCode }, summary);
}

/** The placeholder answers where the rules route reads to a real provider. */
function isRehearsal(ws: Workspace): boolean {
  try {
    return resolveReadSettings(ws.rules).settings.provider !== "placeholder";
  } catch {
    return true;
  }
}

/** The report, as JSON or as lines, and the exit code. */
function finish(options: CatalogOptions, diagnostics: Diagnostic[], images: CatalogImage[], summary: { estimatedCostUsd?: number; providerCalls: number; exitCode: number }, line: string): number {
  if (options.json) {
    options.out(JSON.stringify({ command: options.dryRun ? "catalog-dry-run" : "catalog", images, diagnostics, summary }, null, 2) + "\n");
    return summary.exitCode;
  }
  for (const d of diagnostics) options.err(printable(formatDiagnostic(d)) + "\n");
  for (const i of images) {
    const cost = options.dryRun ? `  ${i.estimatedCostUsd === null ? "cost unknown" : `$${i.estimatedCostUsd.toFixed(3)}`}` : "";
    options.out(`${i.status.padEnd(8)} ${printable(i.path)}${cost}\n${i.reasons.map((r) => `         ${printable(r)}\n`).join("")}`);
  }
  options.out(line + "\n");
  return summary.exitCode;
}
