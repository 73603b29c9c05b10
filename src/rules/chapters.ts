import { isMap, type Node } from "yaml";
import type { ReferenceInput, TargetSpec } from "../graph/target.js";
import type { Rule, RuleContext, SourceFile } from "./api.js";
import { part, type PromptIR } from "./prompt-ir.js";
import { resolveCharacterReferences } from "./references.js";
import { get, items, str, strings } from "./yaml-access.js";
import { applyGenerationFields, describeStructure, imageFormat, requestedFrom } from "./rule-kit.js";

export interface ChapterImageOptions {
  /** Reference images per depicted character (approved first). Default 2. */
  maxReferencesPerCharacter?: number;
}

/** Bump when the chapter prompt rendering changes: every chapter image becomes stale, and says why. */
const COMPILER = "chapter-image/1";

/**
 * Chapter imagery: `chapters/<slug>/imagery.yaml`, one target per `images[]` entry, id
 * `chapters/<slug>/<custom_id>`, output `chapters/<slug>/images/<custom_id>.<format>`.
 */
export function chapterImages(options: ChapterImageOptions = {}): Rule {
  const maxRefs = options.maxReferencesPerCharacter ?? 2;
  return {
    name: "chapter-images",
    sources: ["chapters/*/imagery.yaml"],
    plan(file, ctx) {
      const root = file.doc.contents;
      const folder = file.path.split("/")[1]!;
      const meta = get(root, "metadata");
      const slug = str(meta, "slug") ?? folder;
      const defaults = get(meta, "generation_defaults");
      const characters = new Map(items(root, "characters").map((c) => [str(c, "ref") ?? "", c]));
      items(root, "images").forEach((entry, index) => {
        const at = file.position(entry);
        const customId = str(entry, "custom_id");
        if (!isMap(entry) || !customId) {
          ctx.report({ severity: "error", ...at, message: `images[${index}]: missing required field custom_id` });
          return;
        }
        const id = `chapters/${slug}/${customId}`;
        const prompt = chapterPrompt(entry);
        if (!prompt) {
          ctx.report({ severity: "error", ...at, targetId: id, message: `image ${customId}: missing required field prompt_used (or visual_description to compile one from)` });
          return;
        }
        const refs = characterReferences(ctx, file, entry, characters, customId, maxRefs);
        const target: TargetSpec = {
          id,
          rule: "chapter-images",
          source: { file: file.path, ...at },
          prompt,
          references: refs.references,
          ...(refs.unresolved.length ? { unresolved: refs.unresolved } : {}),
          requested: requestedFrom(defaults, entry),
          output: `chapters/${folder}/images/${customId}.${imageFormat(entry, defaults, ctx.rules)}`,
          writeBack: { customId },
        };
        ctx.emit(target);
      });
    },
    writeBack({ outcome, edit }) {
      const editor = edit(outcome.target.source.file);
      const customId = (outcome.target.writeBack as { customId: string }).customId;
      const index = items(editor.doc.contents, "images").findIndex((n) => str(n, "custom_id") === customId);
      if (index < 0) return; // the entry was removed while it was being generated
      applyGenerationFields(editor, ["images", index], outcome, outcome.target.source.file);
    },
  };
}

function chapterPrompt(entry: Node): PromptIR | undefined {
  const negative = str(entry, "negative_prompt");
  const given = str(entry, "prompt_used");
  const parts = given ? part("prompt", given) : describeStructure(entry);
  if (!parts.length) return undefined;
  return { compiler: COMPILER, parts, negative: negative ? [part("negative", negative)[0]!.text] : [] };
}

function characterReferences(
  ctx: RuleContext,
  file: SourceFile,
  entry: Node,
  characters: Map<string, Node>,
  imageId: string,
  max: number,
): { references: ReferenceInput[]; unresolved: string[] } {
  const references: ReferenceInput[] = [];
  const unresolved: string[] = [];
  const depicts = get(entry, "depicts_characters");
  const at = file.position(depicts ?? entry);
  for (const slug of strings(entry, "depicts_characters")) {
    const declared = characters.get(slug);
    const ids = declared ? strings(declared, "reference_images") : [];
    const r = resolveCharacterReferences(ctx, slug, ids, max, { node: depicts, ...at, imageId });
    references.push(...r.references);
    unresolved.push(...r.unresolved);
  }
  return { references, unresolved };
}
