import { join, matchesGlob } from "node:path";
import { Store } from "../cache/store.js";
import { ChargenError } from "../core/errors.js";
import { cutPrompt } from "../graph/budget.js";
import type { JsonValue, ModelSettings, ReadPart } from "../model/target.js";
import { recordedAnswer } from "../report/target.js";
import { promptText } from "../providers/prompt-text.js";
import { renderNegative, renderPrompt } from "../model/prompt-ir.js";
import { printDiagnosticsOf, type InspectOptions } from "./inspect.js";
import { planWorkspace, targetPrice } from "../workspace/plan.js";
import { CACHE_DIR, openWorkspace, sentSpec } from "../workspace/open.js";

/**
 * `chargen show ID...`: exactly what a build would send for each target, before paying for it:
 * provider, model and settings, the prompt section by section, the negative, each reference
 * (path, role, what the prompt calls it, digest), the key and the estimated cost.
 */
export async function show(options: InspectOptions & { ids: string[] }): Promise<number> {
  const ws = await openWorkspace({ ...options, patterns: options.ids });
  const wanted = ws.selected.filter((id) => options.ids.some((p) => p === id || matchesGlob(id, p)));
  printDiagnosticsOf(ws, wanted, options);
  const store = new Store(join(ws.root, CACHE_DIR));
  const planned = new Map(planWorkspace(ws, store, false).map((p) => [p.id, p]));
  const shown = wanted.map((id) => {
    const record = ws.records.get(id)!;
    const spec = sentSpec(ws, id);
    if (!spec) throw new ChargenError("internal", `no spec for planned target ${id}`);
    const resolved = ws.settings.get(id)!;
    const prompt = cutPrompt(spec.prompt, record.cut ?? []);
    const decision = planned.get(id)!.decision;
    const settings = resolved instanceof ChargenError ? null : resolved.settings;
    return {
      id,
      status: decision.status,
      reasons: decision.reasons,
      provider: settings?.provider ?? null,
      model: settings?.model ?? null,
      settings,
      settingsError: resolved instanceof ChargenError ? resolved.message : null,
      compiler: prompt.compiler,
      sections: prompt.parts.map((p) => ({ role: p.role, text: p.text })),
      cut: record.cut ?? [],
      negative: prompt.negative,
      // What the provider receives as its text: sections joined by blank lines, then the negative.
      sent: promptText({ prompt: renderPrompt(prompt), negativePrompt: renderNegative(prompt) }),
      references: spec.references.map((r, i) => ({ index: i + 1, path: r.path, role: r.role, label: r.label ?? null, digest: ws.disk.digest(r.path) ?? null })),
      key: "key" in decision ? decision.key : null,
      estimatedCostUsd: settings ? (targetPrice(record, settings, ws.rules) ?? null) : null,
      // A data target: what the model is asked to read, and the answer recorded for it (when there is one).
      ...(spec.read ? { read: spec.read, answer: recordedAnswer(ws, store, id) ?? null } : {}),
    };
  });
  if (options.json) {
    options.out(JSON.stringify({ targets: shown }, null, 2) + "\n");
    return 0;
  }
  for (const t of shown) {
    const s = t.settings;
    options.out(`${t.id}  (${t.status}${t.reasons.length ? `: ${t.reasons.join("; ")}` : ""})\n`);
    // A read has no image settings: its provider and model are all there is.
    options.out(s ? `  provider  ${s.provider}  model ${s.model}\n${t.read ? "" : `  settings  ${settingsLine(s)}\n`}` : `  settings  ${t.settingsError}\n`);
    options.out(`  key       ${t.key ?? "(known once its upstream targets are built)"}\n`);
    options.out(`  cost      ${t.estimatedCostUsd === null ? "unknown" : `~$${t.estimatedCostUsd.toFixed(4)}`} to ${t.read ? "read" : "generate"}\n`);
    if (t.read) {
      printRead(t.read, t.references, t.answer ?? null, options.out);
      continue;
    }
    options.out(`  prompt    ${t.sent.length} characters, ${t.compiler}${t.cut.length ? `; cut to fit: ${t.cut.join(", ")}` : ""}\n`);
    for (const section of t.sections) options.out(`  --- ${section.role}\n${indent(section.text)}\n`);
    options.out(`  --- negative\n${indent(t.negative.join(", ") || "(none)")}\n`);
    if (t.references.length) {
      options.out("  references\n");
      for (const r of t.references) options.out(`    ${r.index}. ${r.path}  ${r.role}${r.label ? `  "${r.label}"` : ""}  ${r.digest ? r.digest : "(not on disk yet)"}\n`);
    }
    options.out("\n");
  }
  return 0;
}

/** A data target's request: instructions, texts, the answer's schema, the images; then its recorded answer. */
function printRead(read: ReadPart, images: { index: number; path: string; role: string; digest: string | null }[], answer: JsonValue | null, out: (text: string) => void): void {
  out(`  read      ${read.version}, schema ${read.schema.name}${read.mediaResolution ? `, media resolution ${read.mediaResolution}` : ""}\n`);
  out(`  --- instructions\n${indent(read.instructions)}\n`);
  for (const t of read.texts) out(`  --- text: ${t.label}\n${indent(t.text)}\n`);
  out(`  --- schema\n${indent(JSON.stringify(read.schema.schema, null, 2))}\n`);
  if (images.length) {
    out("  images\n");
    for (const r of images) out(`    ${r.index}. ${r.path}  ${r.role}  ${r.digest ?? "(not on disk yet)"}\n`);
  }
  out(`  --- answer\n${indent(answer === null ? "(none recorded)" : JSON.stringify(answer, null, 2))}\n\n`);
}

function settingsLine({ size, aspectRatio, quality, format, n }: ModelSettings): string {
  return [size && `size ${size}`, aspectRatio && `aspect ${aspectRatio}`, quality && `quality ${quality}`, `format ${format}`, `n ${n}`].filter(Boolean).join(", ");
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}
