import fg from "fast-glob";
import { asChargenError, type Diagnostic } from "../core/errors.js";
import type { Rule, RuleContext, RuleSet, SourceFile } from "../rules/api.js";
import { parseSource } from "../rules/source.js";
import { canonicalJson, digestText } from "../core/hash.js";
import { unsafePath } from "../core/boundary.js";
import { Interner } from "../core/intern.js";
import { LFS_POINTER_MAX_BYTES, parseLfsPointer } from "../core/lfs.js";
import type { Disk } from "../cache/disk.js";
import { cutDigests, promptSize, type PromptSize } from "./budget.js";
import { promptDigests, type PromptDigests } from "../model/keys.js";
import type { ReferenceInput, RequestedSettings, SourceLocation, TargetSpec, UnlistedReference } from "../model/target.js";
import { outputsByStem, resolveUnlisted } from "./unlisted.js";

/** A target as planning needs it: the spec without the prompt text, which only a build needs. */
export interface TargetRecord {
  id: string;
  rule: string;
  source: SourceLocation;
  output: string;
  /** A data target (see TargetSpec.read): its answer goes into the YAML, not into `output`. */
  kind?: "data";
  /** As in TargetSpec. */
  after?: string[];
  /** A data target's media resolution (what its estimate prices images at). */
  mediaResolution?: "low" | "medium" | "high";
  references: ReferenceInput[];
  unresolved: string[];
  /** Resolved by the analyzer: the records it returns have none (see graph/unlisted.ts). */
  unlisted?: UnlistedReference[];
  requested: RequestedSettings;
  digests: PromptDigests;
  /** Characters per prompt part, for the length budget (decided once settings are resolved). */
  promptSize: PromptSize;
  /** Sections cut to fit the model's length budget (see budget.ts); absent when nothing was cut. */
  cut?: string[];
  /** References left out, past what the model takes (their positions in the references as planned; see workspace/open.ts); absent when all are sent. */
  dropped?: number[];
}

/** What one rule made of one source file, valid while the file and everything it read are unchanged. */
export interface FileAnalysis {
  digest: string;
  /** Files the rule read while planning, with their digests (null: did not exist); `glob:<pattern>` for globs. */
  deps: Record<string, string | null>;
  targets: TargetRecord[];
  diagnostics: Diagnostic[];
  /** Files `isPulled` found to be Git LFS pointers: said once per build, as a count. */
  pointers?: string[];
  /** Records fitted to a model's limit of reference images (see Analysis.fitted), by target id and limit, with what they were fitted from. */
  fitted?: Record<string, { from: string; record: TargetRecord }>;
}

export interface ParseCacheData {
  fingerprint: string;
  files: Record<string, FileAnalysis>;
}

export interface Analysis {
  targets: TargetRecord[];
  diagnostics: Diagnostic[];
  /** Every file the plan read: sources, files rules read, for the watcher. */
  files: string[];
  /** Every glob the plan ran (rules' sources, rules' ctx.glob): new matches would change it. */
  globs: string[];
  /** The full spec of a target, re-parsing its source file when the plan came from the cache. */
  spec(id: string): TargetSpec | undefined;
  /**
   * `record` fitted by `fit` (given its spec) to at most `limit` reference images: kept with its
   * file's analysis in the parse cache, so that a plan on a warm cache runs no rule to fit it again.
   * Undefined when its spec is gone (its file changed).
   */
  fitted(record: TargetRecord, limit: number, fit: (spec: TargetSpec) => TargetRecord): TargetRecord | undefined;
  /** The parse cache to save for the next build. */
  cache: ParseCacheData;
  /** Whether the cache differs from the one read (a file was re-planned, added or removed). */
  cacheChanged: boolean;
}

const IGNORE = ["**/node_modules/**", ".chargen/**", ".git/**"];
const GLOB_DEP = "glob:";
/** Source files whose full specs stay in memory (most recently planned). */
const SPEC_FILES_KEPT = 32;
/** Files rules read for many sources that stay parsed once the plan is made (most recently read). */
const SHARED_FILES_KEPT = 64;

/**
 * Sources -> targets. Runs each rule on each of its source files, unless the file and every
 * file the rule read for it are unchanged since the last build (by digest, through the stat cache),
 * in which case the cached records are used and no YAML is parsed.
 */
export function analyze(rules: RuleSet, disk: Disk, previous: ParseCacheData | undefined, fingerprint: string): Analysis {
  const cached = previous?.fingerprint === fingerprint ? previous.files : {};
  const files: Record<string, FileAnalysis> = {};
  // Files rules read for many sources (a character's inventory, the art direction) are parsed once
  // per build; a source file is parsed, planned and let go: 10,000 targets' documents would not fit.
  const shared = new Map<string, SourceFile | Diagnostic | undefined>();
  // Full specs (prompt texts) only a build needs, for the files it touched last.
  const specs = new Map<string, Map<string, TargetSpec>>();
  const keepSpecs = (slot: string, fileSpecs: Map<string, TargetSpec>) => {
    specs.delete(slot);
    specs.set(slot, fileSpecs);
    if (specs.size > SPEC_FILES_KEPT) specs.delete(specs.keys().next().value!);
  };
  const ruleOf = new Map<string, { rule: Rule; file: string }>();
  const interner = new Interner();
  const watched = new Set<string>();
  let replanned = 0;

  const globs = new Map<string, string[]>();
  const glob = (pattern: string): string[] => {
    let matches = globs.get(pattern);
    if (!matches) globs.set(pattern, (matches = fg.sync(pattern, { cwd: disk.root, ignore: IGNORE, onlyFiles: true }).sort()));
    return matches;
  };
  /** What a dependency is now: a file's digest, or for a glob the digest of its matches. */
  const depState = (dep: string): string | null =>
    dep.startsWith(GLOB_DEP) ? digestText(glob(dep.slice(GLOB_DEP.length)).join("\n")) : (disk.digest(dep) ?? null);

  const load = (path: string): SourceFile | Diagnostic | undefined =>
    disk.digest(path) === undefined ? undefined : parseSource(path, disk.readText(path));
  // Whether a file is an LFS pointer, once per build: only a small file's first bytes are read.
  const pointerFiles = new Map<string, boolean>();
  const isPointer = (path: string): boolean => {
    let pointer = pointerFiles.get(path);
    if (pointer === undefined) {
      const size = disk.stamp(path)?.size;
      pointerFiles.set(path, (pointer = size !== undefined && size <= LFS_POINTER_MAX_BYTES && parseLfsPointer(disk.readBytes(path)) !== undefined));
    }
    return pointer;
  };
  // Every shared file is kept while the plan runs; afterwards, a spec asked for again re-runs one rule on one file, which reads a few.
  let sharedKept = Infinity;
  const sharedSource = (path: string): SourceFile | Diagnostic | undefined => {
    const src = shared.has(path) ? shared.get(path) : load(path);
    // Most recently read last: the art direction every spec reads stays.
    shared.delete(path);
    shared.set(path, src);
    trimShared();
    return src;
  };
  const trimShared = () => {
    for (const oldest of shared.keys()) {
      if (shared.size <= sharedKept) break;
      shared.delete(oldest);
    }
  };

  const run = (rule: Rule, path: string, digest: string, forSpecs = false): FileAnalysis => {
    if (!forSpecs) replanned++;
    const result: FileAnalysis = { digest, deps: {}, targets: [], diagnostics: [] };
    const fileSpecs = new Map<string, TargetSpec>();
    const src = shared.has(path) ? shared.get(path) : load(path);
    if (!src || !("doc" in src)) {
      if (src) result.diagnostics.push(src);
      return result;
    }
    // The boundary for every rule, built-in or not: no id, output or file read leaves the workspace.
    const outside = (p: string, what: string): boolean => {
      const why = unsafePath(p);
      if (why) result.diagnostics.push({ severity: "error", file: path, message: `${what} ${JSON.stringify(p)} is refused: ${why}` });
      return why !== undefined;
    };
    const ctx: RuleContext = {
      rules,
      emit(spec) {
        const checked = withinWorkspace(spec, path, result.diagnostics);
        if (!checked) return;
        // A duplicate id keeps the first entry (see below): so must the specs a build reads.
        if (!fileSpecs.has(checked.id)) fileSpecs.set(checked.id, checked);
        result.targets.push(toRecord(checked));
      },
      report(d) {
        result.diagnostics.push({ ...d, file: d.file ?? path });
      },
      readYaml(p) {
        if (outside(p, "a rule read")) return undefined;
        result.deps[p] = disk.digest(p) ?? null;
        const s = sharedSource(p);
        if (s && !("doc" in s)) {
          result.diagnostics.push(s);
          return undefined;
        }
        return s;
      },
      readText(p) {
        if (outside(p, "a rule read")) return undefined;
        result.deps[p] = disk.digest(p) ?? null;
        return result.deps[p] === null ? undefined : disk.readText(p);
      },
      exists(p) {
        if (outside(p, "a rule looked up")) return false;
        result.deps[p] = disk.digest(p) ?? null;
        return result.deps[p] !== null;
      },
      isPulled(p) {
        if (!ctx.exists(p)) return false;
        if (!isPointer(p)) return true;
        (result.pointers ??= []).push(p);
        return false;
      },
      glob(pattern) {
        result.deps[GLOB_DEP + pattern] = depState(GLOB_DEP + pattern);
        return glob(pattern).filter((p) => !unsafePath(p));
      },
    };
    try {
      rule.plan(src, ctx);
    } catch (e) {
      result.diagnostics.push({ severity: "error", file: path, message: `rule "${rule.name}" failed on this file: ${asChargenError(e).message}` });
    }
    keepSpecs(`${rule.name}\u0000${path}`, fileSpecs);
    return result;
  };

  for (const rule of rules.rules) {
    for (const path of fg.sync(rule.sources, { cwd: disk.root, ignore: IGNORE, onlyFiles: true }).sort()) {
      const digest = disk.digest(path);
      if (digest === undefined) continue;
      const slot = `${rule.name}\u0000${path}`;
      const hit = cached[slot];
      const fresh = hit && hit.digest === digest && Object.entries(hit.deps).every(([dep, d]) => depState(dep) === d);
      const analysis = fresh ? hit : run(rule, path, digest);
      analysis.targets = sharing(analysis.targets, interner);
      files[slot] = analysis;
      watched.add(path);
      for (const dep of Object.keys(analysis.deps)) if (!dep.startsWith(GLOB_DEP)) watched.add(dep);
      for (const t of analysis.targets) if (!ruleOf.has(t.id)) ruleOf.set(t.id, { rule, file: path });
    }
  }

  sharedKept = SHARED_FILES_KEPT;
  trimShared();

  // Ids are unique across the workspace; a collision names both entries and keeps the first.
  const firsts = new Map<string, TargetRecord>();
  for (const analysis of Object.values(files)) for (const t of analysis.targets) if (!firsts.has(t.id)) firsts.set(t.id, t);
  // An inventory id may name what another target makes: known only now that every target is.
  const outputs = outputsByStem(firsts.values());
  const targets: TargetRecord[] = [];
  const diagnostics: Diagnostic[] = [];
  const said = new Set<string>();
  // A broken file read by many sources (the art direction) is one problem, said once.
  const say = (d: Diagnostic) => {
    const key = `${d.file}:${d.line}:${d.message}`;
    if (!said.has(key)) diagnostics.push(d);
    said.add(key);
  };
  const seen = new Map<string, TargetRecord>();
  const claimed = new Map<string, TargetRecord>();
  for (const analysis of Object.values(files)) {
    analysis.diagnostics.forEach(say);
    for (const t of analysis.targets) {
      const first = seen.get(t.id);
      if (first) {
        diagnostics.push({
          severity: "error",
          ...locate(t),
          message: `target id "${t.id}" is already used by ${first.source.file}:${first.source.line}; ids must be unique`,
        });
        continue;
      }
      // Two targets writing one file would overwrite each other forever: the first keeps it.
      const owner = claimed.get(t.output);
      if (owner) {
        diagnostics.push({
          severity: "error",
          ...locate(t),
          message: `target ${JSON.stringify(t.id)} writes ${t.output}, which target ${JSON.stringify(owner.id)} (${owner.source.file}:${owner.source.line}) already writes; outputs must be unique`,
        });
        continue;
      }
      seen.set(t.id, t);
      claimed.set(t.output, t);
      targets.push(resolveUnlisted(t, outputs, say));
    }
  }

  const pointers = [...new Set(Object.values(files).flatMap((f) => f.pointers ?? []))].sort();
  if (pointers.length) {
    diagnostics.push({
      severity: "warning",
      file: pointers[0]!,
      message: `${pointers.length === 1 ? "this image is a Git LFS pointer" : `this and ${pointers.length - 1} other images are Git LFS pointers`} (not pulled): analysis targets leave ${pointers.length === 1 ? "it" : "them"} out until \`git lfs pull\``,
    });
  }

  const analysis: Analysis = {
    targets,
    diagnostics,
    files: [...watched].sort(),
    globs: [...new Set([...rules.rules.flatMap((r) => r.sources), ...Object.values(files).flatMap((f) => Object.keys(f.deps).filter((d) => d.startsWith(GLOB_DEP)).map((d) => d.slice(GLOB_DEP.length)))])],
    cache: { fingerprint, files },
    cacheChanged: replanned > 0 || Object.keys(files).length !== Object.keys(cached).length,
    spec(id) {
      const owner = ruleOf.get(id);
      if (!owner) return undefined;
      const slot = `${owner.rule.name}\u0000${owner.file}`;
      if (!specs.has(slot)) run(owner.rule, owner.file, disk.digest(owner.file) ?? "", true);
      const found = specs.get(slot)?.get(id);
      return found && resolveUnlisted(found, outputs);
    },
    fitted(record, limit, fit) {
      const owner = ruleOf.get(record.id);
      const file = owner && files[`${owner.rule.name}\u0000${owner.file}`];
      // Its references are resolved across files (unlisted.ts): fitted anew when they change.
      const from = JSON.stringify([limit, record.references]);
      // Per limit: a build for another model (--provider) and its adoption, keyed for the routed one, each keep theirs.
      const fittedSlot = `${record.id}\u0000${limit}`;
      const kept = file?.fitted?.[fittedSlot];
      if (kept?.from === from) return kept.record;
      const spec = analysis.spec(record.id);
      if (!file || !spec) return undefined;
      const fitted = fit(spec);
      file.fitted = { ...file.fitted, [fittedSlot]: { from, record: fitted } };
      analysis.cacheChanged = true;
      return fitted;
    },
  };
  return analysis;
}

/**
 * `spec` as the boundary allows it, or undefined when its id or output is not a safe workspace
 * path; references outside the workspace are taken out of it and left unresolved, with why.
 * Every refusal is an error diagnostic at the target's entry.
 */
function withinWorkspace(spec: TargetSpec, file: string, diagnostics: Diagnostic[]): TargetSpec | undefined {
  const at = { severity: "error" as const, file, line: spec.source.line, column: spec.source.column };
  const badId = unsafePath(spec.id);
  const badOutput = unsafePath(spec.output);
  if (badId || badOutput) {
    const message = badId ? `target id ${JSON.stringify(spec.id)} is refused: ${badId}` : `output ${JSON.stringify(spec.output)} of target ${spec.id} is refused: ${badOutput}`;
    diagnostics.push({ ...at, ...(badId ? {} : { targetId: spec.id }), message });
    return undefined;
  }
  const refused = spec.references.flatMap((r) => {
    const why = unsafePath(r.path);
    return why ? [`${JSON.stringify(r.path)} is refused: ${why}`] : [];
  });
  if (!refused.length) return spec;
  for (const r of refused) diagnostics.push({ ...at, targetId: spec.id, message: `target ${spec.id}: reference ${r}` });
  return { ...spec, references: spec.references.filter((r) => !unsafePath(r.path)), unresolved: [...(spec.unresolved ?? []), ...refused] };
}

const locate = (t: TargetRecord) => ({ file: t.source.file, line: t.source.line, column: t.source.column, targetId: t.id });

/** Whether `spec` (as sent: without the references `record` dropped) is still the target `record` was planned from (its file may change during a build). */
export function specMatches(record: TargetRecord, spec: TargetSpec): boolean {
  const planned = { ...toRecord(spec), ...(record.dropped ? { dropped: record.dropped } : {}) };
  return canonicalJson(cutDigests(planned, record.cut ?? [])) === canonicalJson(record);
}

/**
 * The records with the values other targets carry too (references, settings, digests) shared with
 * them. A function of its own: a closure over the interner in `analyze` would keep it alive as long
 * as the analysis.
 */
function sharing(records: TargetRecord[], interner: Interner): TargetRecord[] {
  return records.map((record) => {
    const { digests, promptSize } = record;
    // The digests are the record's own (made for it, or read from the cache): shared in place.
    for (const role in digests.prompt) digests.prompt[role] = interner.text(digests.prompt[role]!);
    digests.negative = interner.text(digests.negative);
    return {
      ...record,
      references: record.references.map((r) => interner.value(r)),
      requested: interner.value(record.requested),
      promptSize: { parts: promptSize.parts.map((part) => interner.value(part)), negative: promptSize.negative },
    };
  });
}

export function toRecord(spec: TargetSpec): TargetRecord {
  return {
    id: spec.id,
    rule: spec.rule,
    source: spec.source,
    output: spec.output,
    ...(spec.read ? { kind: "data" as const } : {}),
    ...(spec.after?.length ? { after: spec.after } : {}),
    ...(spec.read?.mediaResolution ? { mediaResolution: spec.read.mediaResolution } : {}),
    references: spec.references,
    unresolved: spec.unresolved ?? [],
    ...(spec.unlisted ? { unlisted: spec.unlisted } : {}),
    requested: spec.requested,
    digests: promptDigests(spec.prompt),
    promptSize: promptSize(spec.prompt),
  };
}
