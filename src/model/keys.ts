import { canonicalJson, digestText } from "../core/hash.js";
import { renderNegative, type PromptIR } from "./prompt-ir.js";
import type { GenerationSettings, ModelSettings } from "./target.js";

/**
 * Everything a target's image depends on, as digests: what the key hashes, and what the lock
 * records so that the next build can say which input changed. Nothing machine-specific goes in:
 * paths are workspace-relative, texts are normalised by the IR.
 */
export interface KeyInputs {
  /** Prompt compiler version. */
  compiler: string;
  /** Digest of each prompt part's text, by role ("prompt", "style", "consistency", ...). */
  prompt: Record<string, string>;
  negative: string;
  settings: ModelSettings;
  /** Reference image path -> digest of its bytes (for a generated reference: of the output actually produced). */
  refs: Record<string, string>;
}

/** The prompt side of the inputs: computed once per parse and cached with the target. */
export interface PromptDigests {
  compiler: string;
  prompt: Record<string, string>;
  negative: string;
}

export function promptDigests(ir: PromptIR): PromptDigests {
  const byRole = new Map<string, string[]>();
  for (const p of ir.parts) byRole.set(p.role, [...(byRole.get(p.role) ?? []), p.text]);
  const prompt: Record<string, string> = {};
  for (const [role, texts] of byRole) prompt[role] = digestText(texts.join("\n\n"));
  // Part order matters to the rendered prompt, so it is an input too.
  prompt["(order)"] = digestText(ir.parts.map((p) => p.role).join("\n"));
  return { compiler: ir.compiler, prompt, negative: digestText(renderNegative(ir)) };
}

/**
 * The key: xxh64 of a canonical encoding of the inputs. Written out field by field in a fixed
 * order (maps sorted) rather than through a generic sorted-JSON walk: this runs for every target
 * of every plan. Bump KEY_FORMAT if the encoding changes.
 */
export function keyOf(inputs: KeyInputs): string {
  const s = inputs.settings;
  const sorted = (m: Record<string, string>) =>
    Object.keys(m)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${JSON.stringify(m[k])}`)
      .join(",");
  return digestText(
    [
      KEY_FORMAT,
      JSON.stringify(inputs.compiler),
      sorted(inputs.prompt),
      JSON.stringify(inputs.negative),
      JSON.stringify([s.provider, s.model, s.size ?? null, s.aspectRatio ?? null, s.quality ?? null, s.format, s.n]),
      sorted(inputs.refs),
      // Appended only when set: targets without generation settings keep the keys they had.
      ...(s.generation ? [canonicalJson(s.generation)] : []),
    ].join("\n"),
  );
}

const KEY_FORMAT = "chargen-key/1";

/** Whether two sets of inputs are the same, whatever key encoding they were recorded under. */
export function sameInputs(a: KeyInputs, b: KeyInputs): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

const SETTING_LABELS: [keyof ModelSettings, string][] = [
  ["provider", "provider"],
  ["model", "model"],
  ["size", "size"],
  ["aspectRatio", "aspect ratio"],
  ["quality", "quality"],
  ["format", "format"],
  ["n", "n"],
];

/** Field by field, why `now` differs from `before`: the words `--explain` prints. */
export function explainChange(before: KeyInputs, now: KeyInputs): string[] {
  const reasons: string[] = [];
  if (before.compiler !== now.compiler) reasons.push(`prompt compiler ${before.compiler} -> ${now.compiler}`);
  const roles = [...new Set([...Object.keys(before.prompt), ...Object.keys(now.prompt)])].sort();
  const orderOnly = roles.every((r) => r === "(order)" || before.prompt[r] === now.prompt[r]);
  for (const role of roles) {
    if (role === "(order)") continue;
    // Sections by name ("lighting changed", "art direction changed", "character nell-farrow changed").
    const label = role.startsWith("character:") ? role.replace(":", " ") : role.replace(/-/g, " ");
    if (!(role in before.prompt)) reasons.push(`${label} added`);
    else if (!(role in now.prompt)) reasons.push(`${label} removed`);
    else if (before.prompt[role] !== now.prompt[role]) reasons.push(`${label} changed`);
  }
  if (orderOnly && before.prompt["(order)"] !== now.prompt["(order)"]) reasons.push("prompt order changed");
  if (before.negative !== now.negative) reasons.push("negative prompt changed");
  for (const [field, label] of SETTING_LABELS) {
    const a = before.settings[field];
    const b = now.settings[field];
    if (a !== b) reasons.push(`${label} ${a ?? "(none)"} -> ${b ?? "(none)"}`);
  }
  const [genBefore, genNow] = [before.settings.generation ?? {}, now.settings.generation ?? {}];
  for (const field of [...new Set([...Object.keys(genBefore), ...Object.keys(genNow)])].sort() as (keyof GenerationSettings)[]) {
    const [a, b] = [genBefore[field], genNow[field]].map((v) => (v === undefined ? "(none)" : typeof v === "object" ? canonicalJson(v) : String(v)));
    if (a !== b) reasons.push(`${field} ${a} -> ${b}`);
  }
  const paths = [...new Set([...Object.keys(before.refs), ...Object.keys(now.refs)])].sort();
  for (const path of paths) {
    if (!(path in before.refs)) reasons.push(`reference ${path} added`);
    else if (!(path in now.refs)) reasons.push(`reference ${path} removed`);
    else if (before.refs[path] !== now.refs[path]) reasons.push(`reference ${path} changed`);
  }
  return reasons;
}
