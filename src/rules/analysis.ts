/**
 * Built-in analysis rules for the MemoryQuill layout: data targets (see TargetSpec.read) whose
 * answers a vision model writes back into the YAML. Each fills only what is missing, and never
 * writes over an author's value: the fields it wrote are recorded, by digest, in the record's
 * `analysis` block, so that a re-run (its image regenerated, its instructions changed) updates
 * them and leaves whatever the author has edited since.
 */
import { posix } from "node:path";
import { isMap, isSeq, type Node } from "yaml";
import { z } from "zod";
import { resolveInside, unsafePath } from "../core/boundary.js";
import { digestText } from "../core/hash.js";
import type { JsonValue, ReadPart } from "../model/target.js";
import type { YamlEditor, YamlPath } from "../yaml/edit.js";
import { get, str, strings } from "../yaml/access.js";
import type { BuildOutcome, Rule, WriteBackContext } from "./api.js";
import { sceneOutputs } from "./characters.js";
import { answerSchema, dataTarget } from "./data-target.js";
import { keepingContract } from "./memoryquill-contract.js";

const DESCRIPTION = z.object({
  title: z.string().describe("A short title for the image, 3 to 8 words, no quotes"),
  description: z.string().describe("Two or three sentences: who and what is shown, where, the mood and light"),
  alt_text: z.string().describe("One sentence for a screen reader: what is visible, plainly, under 150 characters"),
  tags: z.array(z.string()).describe("3 to 8 lowercase tags: subjects, setting, mood"),
});

/** The record fields a description fills, as the contract names them (content.*). */
const CONTENT_FIELDS = ["title", "description", "alt_text", "tags"] as const;
type ContentField = (typeof CONTENT_FIELDS)[number];

export const DESCRIBE_INSTRUCTIONS = `You describe one image of an illustrated story for the story's image catalogue.
Look only at the image. Name what is visible: figures (by appearance, not by guessed names), their pose and action, the setting, light and mood.
Write plainly, in the present tense, without opinions about quality and without mentioning that it is an image or an illustration.`;

export interface DescribeOptions {
  /** YAML files whose `image_inventory` records are described. Default: every MemoryQuill imagery file. */
  sources?: string[];
  /** The instructions sent with each image; change `version` with them to re-describe everything. */
  instructions?: string;
  version?: string;
  /** Gemini's media resolution for the images. Default "medium". */
  mediaResolution?: ReadPart["mediaResolution"];
}

const DESCRIBE_RULE = "describe-images";

interface DescribeWriteBack {
  file: string;
  /** The list holding the record, and the record's id and path there (found again by them, not by index). */
  list: YamlPath;
  recordId: string;
  recordPath: string;
}

/**
 * Describe every `image_inventory` record (generated or imported) that lacks a title, a
 * description, alt text or tags: one data target per record, id `<entity folder>/describe/<record id>`,
 * reading the record's image; the write-back fills the missing `content` fields only. A record
 * whose image file is not in the workspace (or a placeholder card) is not described.
 */
export function describeImages(options: DescribeOptions = {}): Rule {
  const read: ReadPart = {
    instructions: options.instructions ?? DESCRIBE_INSTRUCTIONS,
    version: options.version ?? "describe/1",
    texts: [],
    schema: answerSchema("image_description", DESCRIPTION),
    mediaResolution: options.mediaResolution ?? "medium",
  };
  return {
    name: DESCRIBE_RULE,
    sources: options.sources ?? ["characters/*/imagery.yaml", "chapters/*/imagery.yaml", "locations/*/imagery.yaml"],
    plan(file, ctx) {
      const folder = posix.dirname(file.path);
      const seen = new Set<string>();
      for (const { list, node } of inventoryRecords(file.doc.contents, [])) {
        const recordId = str(node, "id");
        const recordPath = str(node, "path");
        if (!recordId || !recordPath || str(node, "type") === "placeholder") continue;
        const id = `${folder}/describe/${recordId}`;
        const ours = str(get(node, "analysis"), "target_id") === id;
        if (!ours && missingContent(node).length === 0) continue;
        const image = resolveInside(folder, recordPath);
        // Not described blind: a record whose file is absent (not made yet) or an LFS pointer (not pulled) waits for it.
        if (image.refused || seen.has(id) || !ctx.isPulled(image.path)) continue;
        seen.add(id);
        const title = str(get(node, "content"), "title");
        ctx.emit(
          dataTarget({
            id,
            rule: DESCRIBE_RULE,
            source: { file: file.path, ...file.position(node) },
            read,
            images: [{ path: image.path, role: "subject", assetId: recordId, label: title ?? "the image to describe" }],
            writeBack: { file: file.path, list: [...list], recordId, recordPath } satisfies DescribeWriteBack,
          }),
        );
      }
    },
    writeBack(ctx) {
      const found = recordToWrite(ctx);
      if (!found) return;
      const { outcome } = ctx;
      const { editor, at } = found;
      const answer = found.answer as Record<ContentField, JsonValue>;
      const node = editor.doc.getIn(at, true);
      const written = ownFields(node);
      const fill = missingContent(node).concat(CONTENT_FIELDS.filter((f) => written[f] !== undefined && written[f] === valueDigest(get(get(node, "content"), f)?.toJSON())));
      const fields = [...new Set(fill)].filter((f) => answer[f] !== undefined);
      if (!fields.length) return;
      keepingContract(editor, () => {
        const content = get(node, "content");
        const values = Object.fromEntries(fields.map((f) => [f, answer[f]]));
        if (isMap(content)) editor.setAll([...at, "content"], values);
        else editor.set(at, "content", values);
        // What chargen owns from now on: what it wrote now (a field the author edited since is theirs).
        editor.set(at, "analysis", analysisBlock(outcome, Object.fromEntries(fields.map((f) => [f, valueDigest(answer[f])]))));
      });
    },
  };
}

/** Which content fields a record lacks (absent, empty text, or no tags). */
function missingContent(record: unknown): ContentField[] {
  const content = get(record, "content");
  return CONTENT_FIELDS.filter((f) => (f === "tags" ? strings(content, f).length === 0 : str(content, f) === undefined));
}

/** The fields chargen wrote into this record, by digest of what it wrote. */
function ownFields(record: unknown): Record<string, string> {
  const written = get(get(record, "analysis"), "written");
  return isMap(written) ? (written.toJSON() as Record<string, string>) : {};
}

const valueDigest = (value: unknown) => digestText(JSON.stringify(value ?? null));

/** What chargen records of the analysis that wrote a record's fields: which target, under which key, and what it wrote. */
function analysisBlock(outcome: BuildOutcome, written: Record<string, string>): Record<string, unknown> {
  return {
    target_id: outcome.target.id,
    ir_hash: outcome.key,
    provider: outcome.settings.provider,
    model: outcome.settings.model,
    analyzed_at: outcome.generatedAt,
    written,
  };
}

/** Every record of every `image_inventory` list in a document, wherever the layout puts them. */
function* inventoryRecords(node: unknown, path: YamlPath): Generator<{ list: YamlPath; node: Node }> {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = String((pair.key as { value?: unknown } | null)?.value ?? "");
      if (key === "image_inventory" && isSeq(pair.value)) {
        for (const item of pair.value.items as Node[]) if (isMap(item)) yield { list: [...path, key], node: item };
      } else yield* inventoryRecords(pair.value, [...path, key]);
    }
  } else if (isSeq(node)) {
    for (const [index, item] of node.items.entries()) yield* inventoryRecords(item, [...path, index]);
  }
}

/** The record's path in the file as it is now: by id and path in its list (the author may have reordered it). */
/** The record an analysis answer goes into, opened for editing; none for a rehearsal (its words stand for no real image) or a record gone since. */
function recordToWrite({ outcome, edit }: WriteBackContext): { editor: YamlEditor; at: YamlPath; answer: Record<string, JsonValue> } | undefined {
  if (outcome.rehearsal || !outcome.answer) return undefined;
  const data = outcome.target.writeBack as unknown as DescribeWriteBack;
  const editor = edit(data.file);
  const at = findRecord(editor, data);
  return at ? { editor, at, answer: outcome.answer as Record<string, JsonValue> } : undefined;
}

function findRecord(editor: YamlEditor, data: DescribeWriteBack): YamlPath | undefined {
  const list = editor.doc.getIn(data.list, true);
  if (!isSeq(list)) return undefined;
  const index = (list.items as Node[]).findIndex((n) => str(n, "id") === data.recordId && str(n, "path") === data.recordPath);
  return index < 0 ? undefined : [...data.list, index];
}

const CANON = z.object({
  matches_description: z.boolean().describe("Whether the character in the image matches every consistency line"),
  verified_features: z.array(z.string()).describe("The consistency lines the image clearly shows, quoted"),
  notes: z.string().describe("What differs from the lines, or what could not be seen; empty when all match"),
});

export const CANON_INSTRUCTIONS = `You check one image of a story's character against the character's visual consistency lines.
For each line, decide whether the image clearly shows it. Be strict about face, hair, age, build and signature clothing or props; ignore pose, light and setting.`;

export interface CanonCheckOptions {
  instructions?: string;
  version?: string;
  mediaResolution?: ReadPart["mediaResolution"];
}

const CANON_RULE = "canon-check";

/**
 * A canon check of every generated image in a character's inventory against the character's
 * `visual_consistency` lines (image-ideas.yaml): id `characters/<slug>/canon/<record id>`, recorded
 * as the record's `canon_analysis { matches_description, verified_features, notes }` (only where the
 * record has none, or chargen wrote it). A recorded mismatch is a warning at the record, never a failure.
 */
export function canonCheck(options: CanonCheckOptions = {}): Rule {
  return {
    name: CANON_RULE,
    sources: ["characters/*/imagery.yaml"],
    plan(file, ctx) {
      const folder = posix.dirname(file.path);
      const slug = folder.split("/")[1]!;
      const ideas = ctx.readYaml(`${folder}/image-ideas.yaml`)?.doc.contents;
      const character = get(ideas, "character");
      const name = str(character, "name") ?? slug;
      const lines = [...strings(ideas, "visual_consistency"), ...strings(character, "visual_consistency")];
      const read: ReadPart = {
        instructions: options.instructions ?? CANON_INSTRUCTIONS,
        version: options.version ?? "canon/1",
        texts: [{ label: `Visual consistency of ${name}`, text: lines.join("\n") }],
        schema: answerSchema("canon_analysis", CANON),
        mediaResolution: options.mediaResolution ?? "medium",
      };
      const records = [...inventoryRecords(file.doc.contents, [])].filter(({ node }) => str(node, "id") && str(node, "path"));
      const recordAt = (path: string) => records.find(({ node }) => resolveInside(folder, str(node, "path")!).path === path);
      // Generated images already recorded, and those this build's scenes make (checked right after them: a graph edge).
      const images = new Set([...records.filter(({ node }) => str(node, "type") === "generated").map(({ node }) => resolveInside(folder, str(node, "path")!).path), ...sceneOutputs(ctx, slug)]);
      for (const path of images) {
        const at = recordAt(path);
        const recordId = at ? str(at.node, "id")! : posix.parse(path).name;
        const id = `${folder}/canon/${recordId}`;
        const canon = get(at?.node, "canon_analysis");
        if (get(canon, "matches_description")?.toJSON() === false) {
          const notes = str(canon, "notes");
          ctx.report({ severity: "warning", ...file.position(at!.node), targetId: id, message: `canon check: ${recordId} does not match ${name}'s visual consistency lines${notes ? `: ${notes}` : ""}` });
        }
        // Not over an author's own canon_analysis; none without lines to check against.
        if (!lines.length || (canon !== undefined && str(canon, "target_id") !== id) || unsafePath(path)) continue;
        // A recorded image must be there to be read; a scene's image is made before its check runs.
        if (at && !ctx.isPulled(path)) continue;
        const recordPath = at ? str(at.node, "path")! : posix.relative(folder, path);
        ctx.emit(
          dataTarget({
            id,
            rule: CANON_RULE,
            source: { file: file.path, ...(at ? file.position(at.node) : { line: 1, column: 1 }) },
            read,
            images: [{ path, role: "subject", assetId: recordId, label: `${name}: ${str(get(at?.node, "content"), "title") ?? recordId}` }],
            writeBack: { file: file.path, list: ["image_inventory"], recordId, recordPath } satisfies DescribeWriteBack,
          }),
        );
      }
    },
    writeBack(ctx) {
      const found = recordToWrite(ctx);
      if (!found) return;
      const { outcome } = ctx;
      const { editor, at, answer } = found;
      keepingContract(editor, () =>
        editor.set(at, "canon_analysis", { ...answer, target_id: outcome.target.id, ir_hash: outcome.key, provider: outcome.settings.provider, model: outcome.settings.model, analyzed_at: outcome.generatedAt }),
      );
    },
  };
}
