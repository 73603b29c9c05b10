import { digestText, digestValue } from "../cache/hash.js";
import { renderNegative, type PromptIR } from "../rules/prompt-ir.js";
import type { ModelSettings } from "./target.js";

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

export function keyOf(inputs: KeyInputs): string {
  return digestValue(inputs);
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
    const label = role === "prompt" ? "prompt" : `${role} prompt`;
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
  const paths = [...new Set([...Object.keys(before.refs), ...Object.keys(now.refs)])].sort();
  for (const path of paths) {
    if (!(path in before.refs)) reasons.push(`reference ${path} added`);
    else if (!(path in now.refs)) reasons.push(`reference ${path} removed`);
    else if (before.refs[path] !== now.refs[path]) reasons.push(`reference ${path} changed`);
  }
  // Same inputs, different key: only a change in how keys are computed does that.
  return reasons.length ? reasons : ["key format changed"];
}
