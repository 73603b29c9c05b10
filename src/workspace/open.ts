import { existsSync } from "node:fs";
import { join, matchesGlob } from "node:path";
import fg from "fast-glob";
import { LOCK_FILE, readLock, type Lock } from "../cache/lockfile.js";
import { readJsonCache } from "../cache/json-file.js";
import { StatCache } from "../cache/stat-cache.js";
import { ChargenError, type Diagnostic } from "../core/errors.js";
import { analyze, toRecord, type Analysis, type ParseCacheData, type TargetRecord } from "../graph/analyzer.js";
import { cutDigests, promptBudget, referenceBudget, sectionsToCut, sentLength } from "../graph/budget.js";
import { referencesOverLimit, sectionOf, withoutReferences } from "../rules/sections.js";
import { buildGraph, type Graph } from "../graph/dag.js";
import type { ModelSettings, RequestedSettings, TargetSpec } from "../model/target.js";
import type { RuleSet } from "../rules/api.js";
import { loadRules, RULES_FILES } from "../rules/load.js";
import { providerInfo } from "../providers/catalog.js";
import { resolveReadSettings, resolveSettings, type Resolved } from "../rules/settings.js";
import { ReferenceGuard } from "../core/boundary.js";
import { RealDisk } from "../cache/disk.js";

export const CACHE_DIR = ".chargen";
export const STAT_CACHE = "stat.json";
export const PARSE_CACHE = "plan.json";
const PARSE_CACHE_VERSION = 2;

export interface WorkspaceOptions {
  root: string;
  /** Target id globs; empty means every target. */
  patterns: string[];
  providerOverride?: string;
  modelOverride?: string;
}

/** A workspace analysed: everything planning needs, read through the caches. */
export interface Workspace {
  root: string;
  rules: RuleSet;
  rulesFile: string | undefined;
  /** The workspace's modules the rules file imported (see rules/load.ts). */
  rulesModules: string[];
  disk: RealDisk;
  /** Which reference files may not be read (a symlink out of the workspace, not an image). */
  guard: ReferenceGuard;
  stats: StatCache;
  analysis: Analysis;
  graph: Graph;
  lock: Lock;
  /** The lock file is not as chargen writes it (old format, a merge's duplicates): the next build rewrites it. */
  lockNeedsRewrite: boolean;
  records: Map<string, TargetRecord>;
  settings: Map<string, Resolved | ChargenError>;
  /** Selected ids and everything they reference, in dependency order. */
  selected: string[];
  /** Every target of the workspace is known and selected: no pattern, no file that failed to plan. */
  complete: boolean;
  diagnostics: Diagnostic[];
  /** When planning began: a file changed since then may have been read before its change. */
  openedAtMs: number;
}

export async function openWorkspace(options: WorkspaceOptions): Promise<Workspace> {
  const openedAtMs = Date.now();
  const { root } = options;
  if (!existsSync(root)) throw new ChargenError("user", `workspace folder ${root} does not exist`);
  const loaded = await loadRules(root);
  const stats = StatCache.load(join(root, CACHE_DIR, STAT_CACHE));
  const disk = new RealDisk(root, stats);
  const previous = readJsonCache<ParseCacheData>(join(root, CACHE_DIR, PARSE_CACHE), PARSE_CACHE_VERSION);
  const analysis = analyze(loaded.rules, disk, previous, loaded.fingerprint);
  const { lock, rewrite: lockNeedsRewrite, conflicted } = readLock(join(root, LOCK_FILE), (output) => disk.digest(output));
  const records = new Map(analysis.targets.map((t) => [t.id, t]));
  /** What resolving and fitting each target says. */
  const resolving: Diagnostic[] = [];

  const settings = new Map<string, Resolved | ChargenError>();
  const reported = new Set<string>();
  const overrides = { provider: options.providerOverride, model: options.modelOverride };
  // Resolved once per requested settings (the analyzer shares equal ones), and shared by the targets asking for them.
  const resolvedFor = new Map<RequestedSettings, { resolved: Resolved } | { thrown: unknown }>();
  const resolve = (requested: RequestedSettings): Resolved => {
    let outcome = resolvedFor.get(requested);
    if (!outcome) {
      try {
        outcome = { resolved: resolveSettings(requested, loaded.rules, overrides) };
      } catch (e) {
        outcome = { thrown: e };
      }
      resolvedFor.set(requested, outcome);
    }
    if ("thrown" in outcome) throw outcome.thrown;
    return outcome.resolved;
  };
  let readSettings: Resolved | undefined;
  for (const t of analysis.targets) {
    try {
      if (t.kind === "data") {
        const resolved = (readSettings ??= resolveReadSettings(loaded.rules, overrides));
        settings.set(t.id, resolved);
        // Said once per build: every data target reads on the same route.
        for (const adjustment of resolved.adjustments) {
          if (reported.has(adjustment)) continue;
          reported.add(adjustment);
          resolving.push({ severity: "warning", file: t.source.file, line: t.source.line, column: t.source.column, message: adjustment });
        }
        continue;
      }
      const resolved = resolve(t.requested);
      settings.set(t.id, resolved);
      const fit = fitToModel(t, resolved.settings, loaded.rules, analysis);
      const adjustments = fit.blind ? [...resolved.adjustments, "reference images not sent (its models generate from the prompt alone)"] : resolved.adjustments;
      records.set(t.id, fit.record);
      for (const message of fit.messages) {
        resolving.push({ severity: "warning", file: t.source.file, line: t.source.line, column: t.source.column, targetId: t.id, message });
      }
      // Normalisation is reported, once per file and adjustment: never silent.
      for (const adjustment of adjustments) {
        const once = `${t.source.file}\n${adjustment}`;
        if (reported.has(once)) continue;
        reported.add(once);
        resolving.push({ severity: "warning", file: t.source.file, line: t.source.line, column: t.source.column, targetId: t.id, message: `${resolved.settings.provider}/${resolved.settings.model}: ${adjustment}` });
      }
    } catch (e) {
      const error = e as ChargenError;
      settings.set(t.id, error);
      // One diagnostic per file and message: a retired model is usually asked for file-wide.
      const once = `${t.source.file}\n${error.message}`;
      if (!reported.has(once)) {
        reported.add(once);
        resolving.push({ severity: "error", file: t.source.file, line: t.source.line, column: t.source.column, targetId: t.id, message: error.message });
      }
    }
  }

  // Edges from what is sent: a reference left out (fitReferences) is no dependency.
  const graph = buildGraph([...records.values()]);
  const diagnostics = [...analysis.diagnostics, ...graph.diagnostics];
  if (conflicted) {
    diagnostics.push({ severity: "warning", file: LOCK_FILE, message: "has git conflict markers: the entries of both sides are used; a build rewrites it without them (then git add it)" });
  }
  diagnostics.push(...resolving);
  const wanted = options.patterns.length ? graph.order.filter((id) => options.patterns.some((p) => matchesGlob(id, p) || id === p)) : graph.order;
  if (options.patterns.length && wanted.length === 0) {
    throw new ChargenError("user", `no target matches ${options.patterns.map((p) => JSON.stringify(p)).join(" ")} (try: chargen targets)`);
  }
  const selected = withDependencies(graph, wanted);

  const complete = options.patterns.length === 0 && !diagnostics.some((d) => d.severity === "error");
  return { root, rules: loaded.rules, rulesFile: loaded.file, rulesModules: loaded.modules, disk, guard: new ReferenceGuard(root), stats, analysis, graph, lock, lockNeedsRewrite, records, settings, selected, diagnostics, complete, openedAtMs };
}

/** `ids` and every target they depend on, in dependency order: Make's rule, building a target builds what it uses. */
export function withDependencies(graph: Graph, ids: Iterable<string>): string[] {
  const closure = new Set<string>();
  const add = (id: string) => {
    if (closure.has(id)) return;
    closure.add(id);
    for (const d of graph.deps.get(id) ?? []) add(d);
  };
  for (const id of ids) add(id);
  return graph.order.filter((id) => closure.has(id));
}

export const parseCacheVersion = PARSE_CACHE_VERSION;

/** Where a target goes and why ("google/gemini-3-pro-image-preview: provider and model from the rules' defaults; ..."). */
export function routeOf(ws: Pick<Workspace, "settings">, id: string): string | undefined {
  const resolved = ws.settings.get(id);
  return resolved && !(resolved instanceof ChargenError) ? resolved.route : undefined;
}

/**
 * A target's record (as planned) as the model of `settings` takes it: the reference images it takes
 * (none for a model that generates from the prompt alone: `blind`), the prompt within its length
 * budget; with the warnings that fitting says.
 */
export function fitToModel(t: TargetRecord, settings: ModelSettings, rules: RuleSet, analysis: Analysis): { record: TargetRecord; blind: boolean; messages: string[] } {
  const blind = t.references.length > 0 && !providerInfo(settings.provider)!.references;
  // Images a model never sees are neither keyed nor waited for: a changed one must not pay for the same request again.
  const fitted = fitReferences(t, settings, rules, analysis, blind ? 0 : referenceBudget(settings, rules));
  const trimmed = fitBudget(fitted?.record ?? t, settings, rules, blind);
  return { record: trimmed?.record ?? fitted?.record ?? t, blind, messages: [blind ? undefined : fitted?.message, trimmed?.message].filter((m) => m !== undefined) };
}

/**
 * A target's record with no more reference images than `limit` (what its model takes, see
 * `referenceBudget`; 0 for a model that takes none): past that, the lowest-priority ones
 * (rules/sections.ts referencesOverLimit) are left out of what is sent, keyed and listed in its
 * prompt, and the warning names them. Undefined when all are sent.
 */
function fitReferences(t: TargetRecord, settings: ModelSettings, rules: RuleSet, analysis: Analysis, limit: number | undefined): { record: TargetRecord; message: string } | undefined {
  if (limit === undefined || t.references.length <= limit) return undefined;
  const dropped = referencesOverLimit(t.references, limit);
  const record = analysis.fitted(t, limit, (spec) => ({ ...toRecord(withoutReferences(spec, dropped)), dropped }));
  // Gone while planning (its file changed): the executor finds it changed and sends nothing.
  if (!record) return undefined;
  return {
    record,
    message: `${t.id}: ${t.references.length} reference images, over the ${limit} ${settings.provider}/${settings.model} takes: left out ${dropped.map((i) => t.references[i]!.label ?? t.references[i]!.path).join("; ")}`,
  };
}

/** A target's spec as it is sent: without the references its model does not take (see fitReferences). */
export function sentSpec(ws: Pick<Workspace, "analysis" | "records">, id: string): TargetSpec | undefined {
  const spec = ws.analysis.spec(id);
  const dropped = ws.records.get(id)?.dropped;
  return spec && dropped ? withoutReferences(spec, dropped) : spec;
}

/**
 * A target's record as its model takes it: for a model that takes no images (`blind`), without the
 * references section (words about images it never sees); over the model's length budget, with
 * sections cut and the warning that says so. Undefined when the record is sent as it is.
 */
function fitBudget(t: TargetRecord, settings: ModelSettings, rules: RuleSet, blind: boolean): { record: TargetRecord; message?: string } | undefined {
  const dropped = blind && t.promptSize.parts.some(([role]) => sectionOf(role) === "references") ? ["references"] : [];
  const sendable = cutDigests(t, dropped);
  const budget = promptBudget(settings, blind ? 0 : t.references.length, rules);
  const before = sentLength(sendable.promptSize);
  if (budget === undefined || before <= budget) return dropped.length ? { record: sendable } : undefined;
  const cut = sectionsToCut(sendable.promptSize, budget);
  const record = cutDigests(t, [...dropped, ...cut]);
  const now = sentLength(record.promptSize);
  const what = cut.length ? `cut ${cut.join(", ")} to ${now}` : "nothing left to cut";
  return {
    record,
    message: `${t.id}: prompt is ${before} characters, over the ${budget} of ${settings.provider}/${settings.model}: ${what}${now > budget ? " (still over: shorten the scenario)" : ""}`,
  };
}

/**
 * Every path a plan of `ws` consulted, present or absent: sources and files rules read,
 * references, outputs, the lock, the rules file candidates and the modules the rules imported, and the folders its globs walked
 * (a new matching file changes its folder's mtime) or, for a glob ending in a plain file name,
 * that file in each folder. What the no-op fast path stamps, in this order: what an author edits
 * first, outputs last, so that a changed source fails a replay early.
 */
export function consultedPaths(ws: Workspace): string[] {
  const paths = new Set<string>([...ws.analysis.files, LOCK_FILE, ...RULES_FILES, ...ws.rulesModules]);
  for (const pattern of ws.analysis.globs) for (const path of globStamps(ws.root, pattern)) paths.add(path);
  for (const r of ws.records.values()) {
    if (r.kind !== "data") paths.add(r.output);
    for (const ref of r.references) paths.add(ref.path);
  }
  // An adopted image keeps its own file.
  for (const e of ws.lock.values()) paths.add(e.output);
  return [...paths];
}

/**
 * A name fast-glob's matcher takes as itself: `isDynamicPattern` passes `(`, `)` and `|`, which
 * the matcher still reads as a group (`x(1).yaml` matches `x1.yaml`), so only plain characters.
 */
const plainlyLiteral = (segment: string) => /^[A-Za-z0-9._ -]+$/.test(segment);

/**
 * What to stamp so that a change in what `pattern` matches fails a replay. A glob's matches change
 * only when a folder it lists changes: the folders holding its wildcard segments and its files
 * (every folder under a `**`, last segment or not). Literal segments are stamped as paths (absent
 * ones too). A literal file name (the `imagery.yaml` of the chapters glob) is stamped itself in each folder, present or
 * absent, without re-planning for every other file added there; not where names are matched
 * without regard to case (darwin, win32): renaming `imagery.yaml` to `Imagery.yaml` leaves the old
 * name's stat unchanged while the glob stops matching, so the folder is stamped.
 */
export function globStamps(root: string, pattern: string, platform: NodeJS.Platform = process.platform): string[] {
  const ignore = [".chargen/**", ".git/**", "**/node_modules/**"];
  const segments = pattern.split("/");
  const stamps: string[] = [];
  // A last `**` lists folders like a middle one; any other last segment names files.
  const listed = segments.at(-1) === "**" ? segments.length : segments.length - 1;
  let folders = ["."];
  let anyDepth = false;
  for (let i = 0; i < listed; i++) {
    const segment = segments[i]!;
    if (plainlyLiteral(segment)) {
      folders = folders.map((f) => (f === "." ? segment : `${f}/${segment}`));
      continue;
    }
    stamps.push(...folders);
    const prefix = segments.slice(0, i + 1).join("/");
    anyDepth = segment === "**";
    const matched = fg.sync(prefix, { cwd: root, onlyDirectories: true, ignore });
    folders = anyDepth ? matched.concat(folders) : matched;
    if (anyDepth) break;
  }
  const name = segments.at(-1)!;
  const nameOnly = !anyDepth && plainlyLiteral(name) && platform !== "darwin" && platform !== "win32";
  for (const f of folders) stamps.push(nameOnly ? (f === "." ? name : `${f}/${name}`) : f);
  return stamps;
}
