import { posix } from "node:path";
import type { Diagnostic } from "../core/errors.js";
import type { ReferenceInput, UnlistedReference } from "../model/target.js";

/** What resolving needs of a target: a spec and a record alike. */
interface Referencing {
  output: string;
  references: ReferenceInput[];
  unresolved?: string[];
  unlisted?: UnlistedReference[];
}

/** Every target's output by its file name without extension: the id its write-back lists it under. */
export function outputsByStem(targets: Iterable<{ output: string }>): Map<string, string[]> {
  const outputs = new Map<string, string[]>();
  for (const t of targets) {
    const stem = posix.parse(t.output).name;
    outputs.set(stem, [...(outputs.get(stem) ?? []), t.output]);
  }
  return outputs;
}

/**
 * `t` with its unlisted inventory ids resolved. An id that names the output of another target in
 * the inventory's folder is that output: a reference, hence a graph edge, so that target is built
 * first and a second build, finding the id listed by its write-back, sees the same file and builds
 * nothing. Any other id resolves to nothing: an `unresolved` entry, and `report` says so.
 */
export function resolveUnlisted<T extends Referencing>(t: T, outputs: Map<string, string[]>, report: (d: Diagnostic) => void = () => {}): T {
  if (!t.unlisted) return t;
  const { unlisted, ...rest } = t;
  const references = [...t.references];
  const unresolved = [...(t.unresolved ?? [])];
  // Identity before style: the prompt numbers resolved ones ahead of any style reference.
  let at = references.findIndex((r) => r.role === "style");
  if (at < 0) at = references.length;
  for (const u of unlisted) {
    const path = outputs.get(u.id)?.find((o) => o !== t.output && o.startsWith(`${u.folder}/`));
    if (!path) {
      unresolved.push(u.unresolved);
      report(u.diagnostic);
    } else if (!references.some((r) => r.path === path)) references.splice(at++, 0, { path, role: u.role, assetId: u.id, ...(u.label ? { label: u.label } : {}) });
  }
  return { ...rest, references, unresolved } as T;
}
