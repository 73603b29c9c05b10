import { isMap, isScalar, isSeq, type Node } from "yaml";
import type { Rule } from "./api.js";
import { keepingContract } from "./memoryquill-contract.js";
import { part, type PromptPart } from "./prompt-ir.js";
import { depictedReferences } from "./references.js";
import {
  appendRecord,
  avoided,
  describeStructure,
  entriesAt,
  fillOutputFields,
  flatten,
  generationDefaults,
  imageExtension,
  inventoryRecord,
  labelled,
  mistyped,
  prose,
  refuseUnsafeName,
  requestedFrom,
  type RecordContent,
} from "./rule-kit.js";
import { logRun } from "./runs-log.js";
import { gluePrompt, styleGlue, type StyleGlue } from "./style.js";
import { get, items, js, shapeOf, str, strings } from "./yaml-access.js";

export interface ChapterImageOptions {
  /** Reference images per depicted character (approved first). Default 2. */
  maxReferencesPerCharacter?: number;
  /**
   * Open every chapter image's prompt (ready or compiled) with a short consistency block: the
   * chapter's `visual_thesis` and `color_palette`. Default false: `prompt_used` is sent as written.
   */
  consistency?: boolean;
  /** The style glue shared by all rules (see `styleGlue`). Default: `styleGlue()`. */
  style?: StyleGlue;
  /** `status` of the `image_inventory` record a generated image gets. Default "approved": the publishing step uploads only those. */
  inventoryStatus?: "approved" | "draft" | "archived" | "rejected";
}

const RULE = "chapter-images";

/** Bump when the chapter prompt rendering changes: every chapter image becomes stale, and says why. */
const COMPILER = "chapter-image/2";

/**
 * Chapter imagery: `chapters/<slug>/imagery.yaml`, one target per `images[]` entry, id
 * `chapters/<slug>/<custom_id>`, output `chapters/<slug>/images/<custom_id>.<format>`.
 */
export function chapterImages(options: ChapterImageOptions = {}): Rule {
  const maxRefs = options.maxReferencesPerCharacter ?? 2;
  const style = options.style ?? styleGlue();
  return {
    name: RULE,
    sources: ["chapters/*/imagery.yaml"],
    plan(file, ctx) {
      const root = file.doc.contents;
      const folder = file.path.split("/")[1]!;
      const meta = get(root, "metadata");
      const slug = str(meta, "slug") ?? folder;
      if (refuseUnsafeName(file, ctx, get(meta, "slug"), "metadata.slug", slug)) return;
      const defaults = generationDefaults(root);
      const characters = new Map(
        items(root, "characters").flatMap((c, i) => {
          const ref = str(c, "ref") ?? "";
          return ref && refuseUnsafeName(file, ctx, get(c, "ref"), `characters[${i}].ref`, ref) ? [] : [[ref, c] as const];
        }),
      );
      const moments = new Map(items(root, "moments").map((m) => [str(m, "id") ?? "", m]));
      const lead = options.consistency ? consistencyBlock(meta) : [];
      entriesAt(file, ctx, root, "images", "image entries").forEach((entry, index) => {
        const at = file.position(entry);
        if (!isMap(entry)) {
          ctx.report({ severity: "error", ...at, message: `images[${index}] is ${shapeOf(entry)}, not an image entry` });
          return;
        }
        if (mistyped(file, ctx, [[entry, `images[${index}]`], [defaults, "generation_defaults"]])) return;
        const customId = str(entry, "custom_id");
        if (!customId) {
          ctx.report({ severity: "error", ...at, message: `images[${index}]: missing required field custom_id` });
          return;
        }
        if (refuseUnsafeName(file, ctx, get(entry, "custom_id"), `images[${index}].custom_id`, customId)) return;
        const id = `chapters/${slug}/${customId}`;
        const prompt = gluePrompt(ctx, style, {
          compiler: COMPILER,
          kind: "scene",
          mood: style.moodKey(ctx, [str(entry, "scene_mood")]),
          given: str(entry, "prompt_used"),
          negative: str(entry, "negative_prompt"),
          lead,
          compile: () => ({
            parts: [...describeStructure(entry), ...part("characters", characterStates(entry, characters))],
            negative: [...avoided(entry), ...strings(defaults, "negative_prompts")],
          }),
        });
        if (!prompt) {
          ctx.report({ severity: "error", ...at, targetId: id, message: `image ${customId}: no prompt_used, and no visual_description to compile one from` });
          return;
        }
        const refs = depictedReferences(ctx, { file, imageId: customId, targetId: id }, get(entry, "depicts_characters"), maxRefs, {
          idsOf: (c) => strings(characters.get(c), "reference_images"),
        });
        const requested = requestedFrom(defaults, entry);
        ctx.emit({
          id,
          rule: RULE,
          source: { file: file.path, ...at },
          prompt,
          references: refs.references,
          ...(refs.unresolved.length ? { unresolved: refs.unresolved } : {}),
          ...(refs.unlisted.length ? { unlisted: refs.unlisted } : {}),
          requested,
          output: `chapters/${folder}/images/${customId}.${imageExtension(requested, ctx.rules)}`,
          writeBack: { customId, record: recordContent(entry, customId, moments) } satisfies ChapterWriteBack,
        });
      });
    },
    writeBack({ outcome, edit }) {
      const file = outcome.target.source.file;
      const { customId, record } = outcome.target.writeBack as unknown as ChapterWriteBack;
      const editor = edit(file);
      const index = items(editor.doc.contents, "images").findIndex((n) => str(n, "custom_id") === customId);
      // Ingestion reads only the entry's image_inventory; the entry-level fields are for the author.
      if (index >= 0) {
        keepingContract(editor, () => {
          fillOutputFields(editor, ["images", index], outcome, file);
          appendRecord(editor, ["images", index, "image_inventory"], inventoryRecord(outcome, file, record, options.inventoryStatus ?? "approved"));
        });
      }
      const folder = file.split("/")[1]!;
      logRun(edit(`chapters/${folder}/imagery.runs.yaml`), { type: "chapter", slug: folder }, outcome, { rule: RULE, source_file: file, custom_id: customId });
    },
  };
}

interface ChapterWriteBack {
  customId: string;
  record: RecordContent;
}

/** Title, description and alt text of a chapter image, from its moment and its own fields. */
function recordContent(entry: Node, customId: string, moments: Map<string, Node>): RecordContent {
  const title = str(moments.get(str(entry, "source_moment") ?? ""), "title") ?? customId;
  const description = prose(str(entry, "visual_description")) ?? prose(str(entry, "prompt_used")) ?? title;
  const imageType = str(entry, "image_type");
  return {
    title,
    description,
    altText: prose(str(entry, "visual_hook")) ?? title,
    tags: strings(entry, "tags"),
    ...(imageType ? { imageType } : {}),
    promptSpecSlug: customId,
  };
}

/** "Visual thesis: ... Colour palette: primary #FFBF00 (lantern gold), ...; accent ..." from the chapter metadata. */
function consistencyBlock(meta: Node | undefined): PromptPart[] {
  const palette = get(meta, "color_palette");
  const groups = isMap(palette)
    ? palette.items.flatMap((p) => {
        const colours = isSeq(p.value)
          ? p.value.items.flatMap((c) => (isScalar(c) && c.value !== null ? [c.comment ? `${c.value} (${c.comment.trim()})` : String(c.value)] : []))
          : [];
        return colours.length && isScalar(p.key) ? [`${String(p.key.value).replace(/_/g, " ")} ${colours.join(", ")}`] : [];
      })
    : [];
  const thesis = str(meta, "visual_thesis");
  const text = [thesis ? `Visual thesis: ${thesis}` : "", groups.length ? `Colour palette: ${groups.join("; ")}.` : ""].filter(Boolean).join("\n");
  return part("consistency", text);
}

/** "Characters: Veyra Thornwake: kneeling, lantern held up; ..." with names from the chapter's `characters[]`. */
function characterStates(entry: Node, characters: Map<string, Node>): string | undefined {
  const states = js(entry, "character_states");
  if (!states || typeof states !== "object" || Array.isArray(states)) return labelled("Characters", states);
  const lines = Object.entries(states).flatMap(([key, value]) => {
    const text = flatten(value);
    // Keys are slugs in most files, names ("Tomaq", "others") in a few.
    return text ? [`${str(characters.get(key), "name") ?? key}: ${text.replace(/[.;,]$/, "")}`] : [];
  });
  return lines.length ? `Characters: ${lines.join("; ")}.` : undefined;
}
