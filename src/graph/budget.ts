import { digestText } from "../core/hash.js";
import type { RuleSet } from "../rules/api.js";
import type { PromptIR } from "../model/prompt-ir.js";
import { sectionOf, TRIM_ORDER } from "../rules/sections.js";
import type { ModelSettings } from "../model/target.js";
import { providerInfo } from "../providers/catalog.js";

import type { ReadShape } from "../providers/prices.js";
/**
 * A prompt's length budget per provider and model, and trimming to it: whole sections, lowest
 * priority first (sections.ts TRIM_ORDER), never the scenario. What is cut is part of the target's
 * record (its digests lose the cut sections), so the key hashes exactly what is sent.
 */

/** Characters of each part in order, and of the negative: enough to decide a trim without the prompt text. */
export interface PromptSize {
  parts: [role: string, chars: number][];
  negative: number;
}

/** A data target's request as the price table estimates a read: what it reads (instructions, schema, texts), its images (sizes unknown: priced high). */
export function readShape(record: { promptSize: PromptSize; references: readonly unknown[]; mediaResolution?: ReadShape["mediaResolution"] }): ReadShape {
  return {
    textChars: record.promptSize.parts.reduce((n, [, chars]) => n + chars, 0),
    images: record.references.map(() => ({})),
    ...(record.mediaResolution ? { mediaResolution: record.mediaResolution } : {}),
  };
}

export function promptSize(ir: PromptIR): PromptSize {
  return { parts: ir.parts.map((p) => [p.role, p.text.length]), negative: ir.negative.join(", ").length };
}

/** Characters as sent: parts joined by blank lines, then "\n\nAvoid: " and the negative (see providers/prompt-text.ts). */
export function sentLength(size: PromptSize): number {
  const body = size.parts.reduce((n, [, chars]) => n + chars, 0) + 2 * Math.max(0, size.parts.length - 1);
  return body + (size.negative ? 9 + size.negative : 0);
}

/** The budget in characters: the rules' `maxPromptChars` for the model, else the provider's, else the published limit. */
export function promptBudget(settings: ModelSettings, references: number, rules: RuleSet): number | undefined {
  const config = rules.providers?.[settings.provider];
  return config?.models?.[settings.model]?.maxPromptChars ?? config?.maxPromptChars ?? providerInfo(settings.provider)?.promptLimit(settings.model, references);
}

/** Most reference images one request may carry: the published limit, lowered (never raised) by the rules' `maxReferenceImages` for the model, else the provider's. */
export function referenceBudget(settings: ModelSettings, rules: RuleSet): number | undefined {
  const config = rules.providers?.[settings.provider];
  const own = config?.models?.[settings.model]?.maxReferenceImages ?? config?.maxReferenceImages;
  const published = providerInfo(settings.provider)?.referenceLimit?.(settings.model);
  return own === undefined ? published : Math.min(own, published ?? Infinity);
}

/** The sections to cut so that a prompt of `size` fits `budget`, lowest priority first; [] when it fits. */
export function sectionsToCut(size: PromptSize, budget: number): string[] {
  const cut: string[] = [];
  let parts = size.parts;
  for (const section of TRIM_ORDER) {
    if (sentLength({ ...size, parts }) <= budget) break;
    const rest = parts.filter(([role]) => sectionOf(role) !== section);
    if (rest.length === parts.length) continue;
    cut.push(section);
    parts = rest;
  }
  return cut;
}

/** The prompt without the cut sections. */
export function cutPrompt(ir: PromptIR, cut: readonly string[]): PromptIR {
  return cut.length ? { ...ir, parts: ir.parts.filter((p) => !cut.includes(sectionOf(p.role))) } : ir;
}

/** What a trim does to a target's prompt digests and size: the same as digesting the trimmed prompt (keys.ts promptDigests). */
export function cutDigests<T extends { digests: { prompt: Record<string, string> }; promptSize: PromptSize }>(record: T, cut: readonly string[]): T {
  if (!cut.length) return record;
  const kept = record.promptSize.parts.filter(([role]) => !cut.includes(sectionOf(role)));
  const prompt: Record<string, string> = {};
  for (const [role, digest] of Object.entries(record.digests.prompt)) if (role !== "(order)" && !cut.includes(sectionOf(role))) prompt[role] = digest;
  prompt["(order)"] = digestText(kept.map(([role]) => role).join("\n"));
  return { ...record, digests: { ...record.digests, prompt }, promptSize: { ...record.promptSize, parts: kept }, cut: [...cut] };
}
