import { z } from "zod";
import { ChargenError } from "../core/errors.js";
import type { YamlEditor } from "../yaml/edit.js";
import { IMAGE_TYPES, SCENE_MOODS } from "../story/instructions.js";

/**
 * What MemoryQuill's own strict reader accepts (its `imagery-schema.ts`, as
 * ../shared/notes/memoryquill-contract.md §A.2, A.5 and A.6 describe it): every object lets
 * unknown keys through, as the original's do. A write-back must never turn a file this accepts
 * into one it rejects: the author's other tools would then lose the whole entity.
 */

const text = z.string();
const optionalText = text.optional();
const map = z.record(z.string(), z.unknown());

export const inventoryEntrySchema = z.looseObject({
  id: text,
  path: text,
  type: z.enum(["imported", "generated", "edited", "placeholder"]),
  status: z.enum(["approved", "draft", "archived", "rejected"]),
  prompt_spec_slug: optionalText,
  is_reference_portrait: z.boolean().optional(),
  image_type: z.enum(["portrait", "full-body", "action", "scene", "mood", "collaborative"]).optional(),
  image_subtype: optionalText,
  content: z.looseObject({
    title: text,
    description: text,
    alt_text: text,
    tags: z.array(text).default([]),
    suggested_filename: optionalText,
    composition_notes: optionalText,
    narrative_significance: optionalText,
    symbolic_elements: optionalText,
  }),
  lighting: map.optional(),
  palette: map.optional(),
  canon_analysis: z.looseObject({ matches_description: z.boolean(), verified_features: z.array(text).optional(), notes: optionalText }).optional(),
  provenance: z.looseObject({ source: z.enum(["manual", "imported", "generated"]), created_at: text, original_filename: optionalText }),
  generation: z
    .looseObject({
      target_id: optionalText,
      ir_hash: optionalText,
      prompt_used: optionalText,
      negative_prompt_used: optionalText,
      model: optionalText,
      provider: optionalText,
      constraints: z
        .looseObject({ aspect_ratio: optionalText, size: optionalText, orientation: z.enum(["landscape", "portrait", "square"]).optional(), quality: optionalText })
        .optional(),
      provider_metadata: map.optional(),
      target_metadata: map.optional(),
    })
    .optional(),
});

export const characterFileSchema = z.looseObject({
  entity_type: z.literal("character"),
  slug: text,
  appearance: text,
  prompts: z.array(z.unknown()).default([]),
  image_inventory: z.array(inventoryEntrySchema).default([]),
});

const nullableText = text.nullable().optional();

export const chapterFileSchema = z.looseObject({
  metadata: z.looseObject({ entity_type: z.literal("chapter-imagery"), slug: text, chapter_number: z.number(), chapter_title: text }),
  images: z
    .array(
      z.looseObject({
        custom_id: text,
        image_type: z.enum(IMAGE_TYPES),
        scene_mood: z.enum(SCENE_MOODS).optional(),
        generated_at: nullableText,
        file_name: nullableText,
        file_path: nullableText,
        provider: nullableText,
        model: nullableText,
        provider_metadata: map.nullable().optional(),
        // The strict reader accepts anything here; ingestion is what reads it (see `ingestedImages`).
        image_inventory: z.any().optional(),
      }),
    )
    .default([]),
});

export const locationFileSchema = z.looseObject({
  metadata: z.looseObject({ entity_type: z.literal("location-imagery"), slug: text, name: text }).optional(),
  location_visual_anchor: z.looseObject({ materials: z.record(z.string(), text).optional() }).optional(),
  overview: z.looseObject({ slug: text, image_inventory: z.any().optional() }),
  zones: z
    .array(
      z.looseObject({
        name: text,
        slug: text,
        image_inventory: z.any().optional(),
        images: z.array(z.looseObject({ image_slug: text, description: text, image_inventory: z.any().optional() })).optional(),
      }),
    )
    .optional(),
});

/** `imagery.runs.yaml` (§A.6): no reader validates it, but the original's types say this much. */
export const runsLogSchema = z.looseObject({
  entity_type: z.enum(["chapter", "location"]),
  entity_slug: text,
  runs: z
    .array(
      z.looseObject({
        run_id: text,
        target_id: text,
        timestamp: text,
        file_name: text,
        file_path: text,
        provider: text,
        model: text,
        prompt_used: optionalText,
        negative_prompt_used: optionalText,
        reference_images: z
          .array(z.looseObject({ asset_id: text.nullable(), path: text, role: text }))
          .optional(),
        constraints: map.optional(),
        provider_metadata: map.optional(),
        target_metadata: map.optional(),
      }),
    )
    .default([]),
});

/** The contract a workspace-relative YAML path is held to, if any. */
export function contractFor(path: string): z.ZodType | undefined {
  if (/^characters\/[^/]+\/imagery\.yaml$/.test(path)) return characterFileSchema;
  if (/^chapters\/[^/]+\/imagery\.yaml$/.test(path)) return chapterFileSchema;
  if (/^locations\/[^/]+\/imagery\.yaml$/.test(path)) return locationFileSchema;
  if (/^(characters|chapters|locations)\/[^/]+\/imagery\.runs\.yaml$/.test(path)) return runsLogSchema;
  return undefined;
}

/** The first reason `data` breaks the contract of `path`, or undefined when it meets it (or has none). */
export function contractViolation(path: string, data: unknown): string | undefined {
  const result = contractFor(path)?.safeParse(data);
  if (!result || result.success) return undefined;
  const issue = result.error.issues[0]!;
  return `${issue.path.length ? issue.path.join(".") : "the document"}: ${issue.message}`;
}

/**
 * Make `change` to `editor`, refusing it when the file met its contract before and would not
 * after: the error fails the write-back, and the applier discards its edits. A file that was
 * already outside the contract (most real location files are) is not made the write-back's problem.
 */
export function keepingContract(editor: YamlEditor, change: () => void): void {
  // A file the write-back starts (a first runs log) must meet the contract from its first record.
  const fresh = editor.doc.contents === null || editor.doc.contents === undefined;
  const before = fresh ? undefined : contractViolation(editor.file, editor.doc.toJS());
  change();
  if (before !== undefined) return;
  const after = contractViolation(editor.file, editor.doc.toJS());
  if (after !== undefined) {
    throw new ChargenError("target", `${editor.file}: the record would make this file invalid to MemoryQuill's strict reader (${after}); it is not written`, {
      file: editor.file,
    });
  }
}
