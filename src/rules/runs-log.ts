import { posix } from "node:path";
import type { YamlEditor } from "../yaml/edit.js";
import type { BuildOutcome } from "./api.js";
import { keepingContract } from "./memoryquill-contract.js";
import { appendOnce, constraintsOf, providerMetadata } from "./rule-kit.js";
import { str } from "../yaml/access.js";

/**
 * The `entity_type` of a runs log. The MemoryQuill readers know `chapter` and `location`; its
 * earlier tool wrote `chapter` into character logs too, and those logs are what the author has.
 */
export type RunsLogEntity = { type: "chapter" | "location"; slug: string };

/**
 * `imagery.runs.yaml`, the append-only log of generations beside an entity, in the shape the
 * MemoryQuill files already have (contract §A.6: `entity_type`, `entity_slug`, `runs[]`). Paths
 * are workspace-relative: the author's logs held absolute paths of one machine.
 */
export function logRun(editor: YamlEditor, entity: RunsLogEntity, outcome: BuildOutcome, targetMetadata: Record<string, unknown>): void {
  keepingContract(editor, () => {
    if (editor.doc.contents === null || editor.doc.contents === undefined) {
      // A new log: start it in the existing shape.
      editor.set([], "entity_type", entity.type);
      editor.set([], "entity_slug", entity.slug);
    }
    const { target, key } = outcome;
    // `ir_hash` holds the target's key (prompt IR, settings and reference digests): one run per key.
    appendOnce(editor, ["runs"], runEntry(outcome, targetMetadata), (n) => str(n, "target_id") === target.id && str(n, "ir_hash") === key);
  });
}

function runEntry(outcome: BuildOutcome, targetMetadata: Record<string, unknown>): Record<string, unknown> {
  const { target, settings, key } = outcome;
  return {
    // The earlier tool's `run-<epoch ms>-<6 base36>`, the suffix taken from the key so that it is reproducible.
    run_id: `run-${Date.parse(outcome.generatedAt)}-${key.slice(0, 6)}`,
    target_id: target.id,
    timestamp: outcome.generatedAt,
    file_name: posix.basename(outcome.output),
    file_path: outcome.output,
    provider: settings.provider,
    model: settings.model,
    ir_hash: key,
    prompt_used: outcome.prompt,
    negative_prompt_used: outcome.negativePrompt,
    reference_images: outcome.references.map((r) => ({ asset_id: r.assetId ?? null, path: r.path, role: referenceRole(r.role) })),
    constraints: constraintsOf(settings),
    provider_metadata: providerMetadata(outcome),
    target_metadata: targetMetadata,
  };
}

/** Our reference roles (`character:<slug>`, ...) in the log's vocabulary: a character's image is its portrait. */
function referenceRole(role: string): string {
  return role.startsWith("character:") ? "portrait" : role;
}
