import { posix } from "node:path";
import type { ModelSettings } from "../graph/target.js";
import type { YamlEditor } from "../workspace/yaml-edit.js";
import type { BuildOutcome } from "./api.js";
import { appendOnce, providerMetadata } from "./rule-kit.js";
import { str } from "./yaml-access.js";

/**
 * `imagery.runs.yaml`, the append-only log of generations beside an entity, in the shape the
 * MemoryQuill files already have (`entity_type`, `entity_slug`, `runs[]`). Paths are
 * workspace-relative: the author's logs held absolute paths of one machine.
 */
export function logRun(editor: YamlEditor, entity: { type: string; slug: string }, outcome: BuildOutcome, targetMetadata: Record<string, unknown>): void {
  if (editor.doc.contents === null || editor.doc.contents === undefined) {
    // A new log: start it in the existing shape.
    editor.set([], "entity_type", entity.type);
    editor.set([], "entity_slug", entity.slug);
  }
  const { target, key } = outcome;
  // `ir_hash` holds the target's key (prompt IR, settings and reference digests): one run per key.
  appendOnce(editor, ["runs"], runEntry(outcome, targetMetadata), (n) => str(n, "target_id") === target.id && str(n, "ir_hash") === key);
}

function runEntry(outcome: BuildOutcome, targetMetadata: Record<string, unknown>): Record<string, unknown> {
  const { target, settings, key } = outcome;
  return {
    run_id: `${outcome.generatedAt.replace(/[-:]|\.\d+/g, "")}-${key.slice(0, 12)}`,
    target_id: target.id,
    timestamp: outcome.generatedAt,
    file_name: posix.basename(outcome.output),
    file_path: outcome.output,
    provider: settings.provider,
    model: settings.model,
    ir_hash: key,
    prompt_used: outcome.prompt,
    negative_prompt_used: outcome.negativePrompt,
    reference_images: outcome.references.map((r) => ({ asset_id: r.assetId ?? null, path: r.path, role: r.role })),
    constraints: constraints(settings),
    provider_metadata: providerMetadata(outcome),
    target_metadata: targetMetadata,
  };
}

function constraints(s: ModelSettings): Record<string, string> {
  const out: Record<string, string> = {};
  if (s.aspectRatio) out.aspect_ratio = s.aspectRatio;
  if (s.size) out.size = s.size;
  const [w, h] = (s.size ?? "").split("x").map(Number);
  if (w && h) out.orientation = w > h ? "landscape" : w < h ? "portrait" : "square";
  if (s.quality) out.quality = s.quality;
  return out;
}
