/**
 * Cataloguing: image files under an entity's folder that no record names. Each becomes a data
 * target that describes the image and says which of the entity's scene ideas it most likely shows
 * (with a confidence); its write-back appends a record for it, never over an existing one.
 */
import { posix } from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";
import { z } from "zod";
import type { JsonValue, TargetSpec } from "../model/target.js";
import { items, str } from "../yaml/access.js";
import type { Rule } from "./api.js";
import { answerSchema, dataTarget } from "./data-target.js";
import { keepingContract } from "./memoryquill-contract.js";
import { appendRecord } from "./rule-kit.js";
import { slugify } from "../core/slug.js";
import { ChargenError } from "../core/errors.js";

export const CATALOG_RULE = "catalog";

/** Where an entity's images are recorded: `characters/<slug>/imagery.yaml` and the like. */
export const entityFileOf = (image: string) => `${image.split("/").slice(0, 2).join("/")}/imagery.yaml`;

/** The images under entity folders, for `fast-glob`. */
export const CATALOG_PATTERN = "{characters,chapters,locations}/*/**/*.{png,jpg,jpeg,webp,gif,PNG,JPG,JPEG,WEBP,GIF}";

/** Every workspace path an entity's imagery file names as an image: inventory records' `path`, entries' `file_path`. */
export function recordedPaths(entityFile: string, text: string): Set<string> {
  const folder = posix.dirname(entityFile);
  const named = new Set<string>();
  const walk = (node: unknown): void => {
    if (isMap(node)) {
      for (const key of ["path", "file_path"]) {
        const p = str(node, key);
        if (p) named.add(posix.normalize(posix.join(folder, p)));
      }
      for (const pair of node.items) walk(pair.value);
    } else if (isSeq(node)) for (const item of node.items) walk(item);
  };
  walk(parseDocument(text).contents);
  return named;
}

/** What an image may show: the entity's scene ideas, by an id a record can name (`prompt_spec_slug`) and a title. */
export interface SceneIdea {
  id: string;
  title: string;
}

/** A character's scenes (image-ideas.yaml) or a chapter's images (imagery.yaml `images[]`). */
export function sceneIdeas(entityFile: string, imagery: string | undefined, ideas: string | undefined): SceneIdea[] {
  if (entityFile.startsWith("characters/") && ideas) {
    return items(parseDocument(ideas).contents, "scenes").flatMap((s) => {
      const title = str(s, "title");
      const id = slugify(title);
      return title && id ? [{ id, title }] : [];
    });
  }
  if (entityFile.startsWith("chapters/") && imagery) {
    return items(parseDocument(imagery).contents, "images").flatMap((e) => {
      const id = str(e, "custom_id");
      const title = str(e, "title") ?? str(e, "visual_description")?.split(/(?<=\.)\s/)[0];
      return id ? [{ id, title: title ?? id }] : [];
    });
  }
  return [];
}

const NONE = "none";

interface CatalogWriteBack {
  entityFile: string;
  /** Relative to the entity folder, as the record says it. */
  path: string;
  ideas: SceneIdea[];
}

/** The data target describing one unrecorded image and matching it to the entity's scene ideas. */
export function catalogTarget(image: string, ideas: SceneIdea[]): TargetSpec {
  const entityFile = entityFileOf(image);
  const schema = z.object({
    title: z.string().describe("A short title for the image, 3 to 8 words"),
    description: z.string().describe("Two or three sentences: who and what is shown, where, the mood and light"),
    alt_text: z.string().describe("One sentence for a screen reader, under 150 characters"),
    tags: z.array(z.string()).describe("3 to 8 lowercase tags"),
    scene: z.enum([NONE, ...new Set(ideas.map((i) => i.title))]).describe("The scene idea this image most likely shows, or none"),
    confidence: z.number().min(0).max(1).describe("How sure the match is, from 0 to 1"),
  });
  return dataTarget({
    id: `catalog/${image}`,
    rule: CATALOG_RULE,
    source: { file: entityFile, line: 1, column: 1 },
    read: {
      instructions: CATALOG_INSTRUCTIONS,
      version: "catalog/1",
      texts: ideas.length ? [{ label: "Scene ideas", text: ideas.map((i) => i.title).join("\n") }] : [],
      schema: answerSchema("catalog_entry", schema),
      mediaResolution: "medium",
    },
    images: [{ path: image, role: "subject", label: "the image to catalogue" }],
    writeBack: { entityFile, path: posix.relative(posix.dirname(entityFile), image), ideas: ideas.map((i) => ({ ...i })) } satisfies CatalogWriteBack as unknown as JsonValue,
  });
}

export const CATALOG_INSTRUCTIONS = `You catalogue one image of an illustrated story: describe what is visible, plainly, and say which of the listed scene ideas it most likely shows (or none), with how sure you are.`;

/**
 * The catalog's rule: only its write-back (the targets come from `chargen catalog --write`). A
 * record is appended as an imported draft (the author reviews the match before it is published),
 * under the matched chapter image when there is one, never over an existing record.
 */
export function catalogRule(): Rule {
  return {
    name: CATALOG_RULE,
    sources: [],
    plan() {},
    writeBack({ outcome, edit }) {
      if (outcome.rehearsal || !outcome.answer) return;
      const data = outcome.target.writeBack as unknown as CatalogWriteBack;
      const answer = outcome.answer as { title: string; description: string; alt_text: string; tags: string[]; scene: string; confidence: number };
      const match = data.ideas.find((i) => i.title === answer.scene);
      const editor = edit(data.entityFile);
      const fileName = posix.basename(data.path);
      const record = {
        id: fileName.replace(/\.[^.]+$/, ""),
        path: data.path,
        type: "imported",
        status: "draft",
        ...(match ? { prompt_spec_slug: match.id } : {}),
        content: { title: answer.title, description: answer.description, alt_text: answer.alt_text, tags: answer.tags },
        provenance: { source: "imported", created_at: outcome.generatedAt, original_filename: fileName },
        catalog: {
          scene: match ? match.title : null,
          confidence: answer.confidence,
          target_id: outcome.target.id,
          ir_hash: outcome.key,
          provider: outcome.settings.provider,
          model: outcome.settings.model,
        },
      };
      if (!data.entityFile.startsWith("chapters/")) {
        keepingContract(editor, () => appendRecord(editor, ["image_inventory"], record));
        return;
      }
      // A chapter's records live under the image entry they belong to: ingestion ignores a
      // top-level image_inventory in a chapter (contract A.3), so an image matching none stays unrecorded.
      const entry = match ? items(editor.doc.contents, "images").findIndex((e) => str(e, "custom_id") === match.id) : -1;
      if (entry < 0) {
        throw new ChargenError("target", `${posix.join(posix.dirname(data.entityFile), data.path)} matches none of the chapter's images, and ingestion reads a chapter's records only under an image entry: record it there by hand`, {
          file: data.entityFile,
        });
      }
      keepingContract(editor, () => appendRecord(editor, ["images", entry, "image_inventory"], record));
    },
  };
}
