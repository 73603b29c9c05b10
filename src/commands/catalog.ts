import { readFileSync } from "node:fs";
import { join, matchesGlob } from "node:path";
import fg from "fast-glob";
import { realClock } from "../core/clock.js";
import { EXIT } from "../core/exit.js";
import { toRecord } from "../graph/analyzer.js";
import { buildGraph } from "../graph/dag.js";
import { Executor } from "../graph/executor.js";
import type { TargetSpec } from "../model/target.js";
import { ProviderHub } from "../providers/hub.js";
import { printable } from "../report/escape.js";
import { missingReferencesPolicy } from "../rules/api.js";
import { CATALOG_PATTERN, catalogRule, catalogTarget, entityFileOf, recordedPaths, sceneIdeas } from "../rules/catalog.js";
import { resolveReadSettings, type Resolved } from "../rules/settings.js";
import { Applier } from "../workspace/applier.js";
import { openSession } from "./build.js";
import type { InspectOptions } from "./inspect.js";
import { openWorkspace } from "../workspace/open.js";
import { targetPrice } from "../workspace/plan.js";

export interface CatalogOptions extends InspectOptions {
  write: boolean;
  env: NodeJS.ProcessEnv;
}

/**
 * `chargen catalog [PATTERN...]`: the image files under entity folders that no record names (nor
 * any target makes). With `--write`, each is described and matched to its entity's scene ideas by a
 * data target (keyed and cached like any), and a record for it is appended to the entity's imagery file.
 */
export async function catalog(options: CatalogOptions): Promise<number> {
  const ws = await openWorkspace({ ...options, patterns: [] });
  const made = new Set([...ws.records.values()].map((r) => r.output));
  const texts = new Map<string, string | undefined>();
  const text = (path: string) => {
    if (!texts.has(path)) texts.set(path, ws.disk.digest(path) === undefined ? undefined : readFileSync(join(ws.root, path), "utf8"));
    return texts.get(path);
  };
  const named = new Map<string, Set<string>>();
  const unrecorded = fg
    .sync(CATALOG_PATTERN, { cwd: ws.root, onlyFiles: true, ignore: [".chargen/**"] })
    .sort()
    .filter((p) => !options.patterns.length || options.patterns.some((g) => matchesGlob(p, g)))
    .filter((p) => {
      const file = entityFileOf(p);
      if (!named.has(file)) named.set(file, recordedPaths(file, text(file) ?? ""));
      return !named.get(file)!.has(p) && !made.has(p);
    });
  if (!options.write) {
    if (options.json) options.out(JSON.stringify({ unrecorded: unrecorded.map((path) => ({ path, entityFile: entityFileOf(path) })) }, null, 2) + "\n");
    else for (const p of unrecorded) options.out(`${printable(p)}\t${printable(entityFileOf(p))}\n`);
    return EXIT.ok;
  }

  const specs = new Map<string, TargetSpec>();
  for (const image of unrecorded) {
    const file = entityFileOf(image);
    // No imagery file to record it in: said, not created (a character's needs its appearance).
    if (text(file) === undefined) {
      options.err(`chargen: ${printable(image)}: ${printable(file)} does not exist; not recorded\n`);
      continue;
    }
    const spec = catalogTarget(image, sceneIdeas(file, text(file), text(file.replace(/imagery\.yaml$/, "image-ideas.yaml"))));
    specs.set(spec.id, spec);
  }
  const records = [...specs.values()].map(toRecord);
  const resolved = resolveReadSettings(ws.rules, { provider: options.providerOverride });
  const session = openSession(ws.root, realClock);
  const rules = { ...ws.rules, rules: [catalogRule()] };
  const applier = new Applier({ root: ws.root, rules, disk: ws.disk, lock: ws.lock, spec: (id) => specs.get(id) });
  const hub = new ProviderHub({ rules: ws.rules, env: options.env, clock: session.clock });
  const executor = new Executor({
    graph: buildGraph(records),
    records: new Map(records.map((r) => [r.id, r])),
    settings: new Map<string, Resolved>(records.map((r) => [r.id, resolved])),
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
    options: { force: false, failFast: false, jobs: 8, missingReferences: missingReferencesPolicy(ws.rules), price: () => undefined, readPrice: (s, record) => targetPrice(record, s, ws.rules) },
  });
  const outcomes = await executor.run(records.map((r) => r.id));
  await applier.flushLock();
  for (const o of outcomes) options.out(`${o.status.padEnd(8)} ${printable(o.id.replace(/^catalog\//, ""))}${o.reasons.length ? `\n${o.reasons.map((r) => `         ${printable(r)}\n`).join("")}` : "\n"}`);
  for (const w of applier.warnings) options.err(`chargen: warning: ${printable(w.message)}\n`);
  const calls = Object.values(hub.callCounts()).reduce((a, b) => a + b, 0);
  const done = outcomes.filter((o) => o.status === "built" || o.status === "cached").length;
  options.out(`${done} of ${outcomes.length} recorded; ${calls} provider call${calls === 1 ? "" : "s"}\n`);
  return done === outcomes.length && applier.warnings.length === 0 ? EXIT.ok : EXIT.failed;
}
