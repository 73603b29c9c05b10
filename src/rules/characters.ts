import { isMap, isSeq, type Node } from "yaml";
import type { RequestedSettings } from "../graph/target.js";
import type { YamlEditor } from "../workspace/yaml-edit.js";
import type { BuildOutcome, Rule } from "./api.js";
import { part } from "./prompt-ir.js";
import { characterImageryFile, depictedReferences, depictedSlug, resolveCharacterReferences } from "./references.js";
import { entriesAt, generationDefaults, imageExtension, labelled, records, relativeTo, requestedFrom } from "./rule-kit.js";
import { logRun } from "./runs-log.js";
import { characterIdentity } from "./sections.js";
import { SlugScope, slugify } from "./slug.js";
import { gluePrompt, styleGlue, withReferences, type StyleGlue } from "./style.js";
import { get, items, shapeOf, str, strings } from "./yaml-access.js";

export interface CharacterSceneOptions {
  /** The style glue shared by all rules (see `styleGlue`). Default: `styleGlue()`. */
  style?: StyleGlue;
  /** Reference images per other character a scene `depicts_characters`. Default 1. */
  maxReferencesPerCharacter?: number;
  /** Size and aspect when neither the scene nor the file says. Default 1024x1536, 2:3 (portrait). */
  defaults?: Pick<RequestedSettings, "size" | "aspectRatio">;
  /**
   * `status` of the `image_inventory` entry a generated scene gets. Default "draft": not
   * "approved", so a new image never silently becomes the reference portrait of other images.
   */
  inventoryStatus?: string;
  /** Log every generation to `characters/<slug>/imagery.runs.yaml`. Default true. */
  runsLog?: boolean;
}

/** Bump when the character scene rendering changes. */
const COMPILER = "character-scene/2";
const RULE = "character-scenes";

interface SceneWriteBack {
  slug: string;
  scene: string;
  title: string;
  tags: string[];
}

/**
 * Character scenes: each `characters/<slug>/image-ideas.yaml` `scenes[]` entry is a target, id
 * `characters/<slug>/<slug of the title>` (stable when scenes are reordered), output
 * `characters/<slug>/images/<scene-slug>.<format>`, with the character's reference portrait.
 */
export function characterScenes(options: CharacterSceneOptions = {}): Rule {
  const style = options.style ?? styleGlue();
  const maxRefs = options.maxReferencesPerCharacter ?? 1;
  const sizeDefaults = options.defaults ?? { size: "1024x1536", aspectRatio: "2:3" };
  return {
    name: RULE,
    sources: ["characters/*/image-ideas.yaml"],
    plan(file, ctx) {
      const root = file.doc.contents;
      const slug = file.path.split("/")[1]!;
      const character = get(root, "character");
      const name = str(character, "name") ?? slug;
      const own = characterIdentity(ctx, slug, name, root);
      // The summary stands in for an appearance only when the character has none.
      const summary = str(character, "summary");
      const subject = { ...own, ...(own.appearance || !summary ? {} : { appearance: summary }), part: "the subject" };
      const defaults = generationDefaults(root);
      const scope = new SlugScope();
      entriesAt(file, ctx, root, "scenes", "scenes").forEach((scene, index) => {
        const at = file.position(scene);
        if (!isMap(scene)) {
          ctx.report({ severity: "error", ...at, message: `scenes[${index}] is ${shapeOf(scene)}, not a scene` });
          return;
        }
        const title = str(scene, "title");
        const base = slugify(title);
        if (!title || !base) {
          ctx.report({ severity: "error", ...at, message: `scenes[${index}]: no title to make its target id from` });
          return;
        }
        const { id: sceneSlug, duplicateOf } = scope.claim(base);
        const id = `characters/${slug}/${sceneSlug}`;
        if (duplicateOf) {
          ctx.report({
            severity: "warning",
            ...at,
            targetId: id,
            message: `scenes[${index}] "${title}" has the same id as an earlier scene (${duplicateOf}); it is ${sceneSlug} by its position: give it a distinct title so that its id does not depend on order`,
          });
        }
        const mood = str(scene, "mood");
        const depicts = get(scene, "depicts_characters");
        const companions = (isSeq(depicts) ? (depicts.items as Node[]) : [])
          .map(depictedSlug)
          .filter((s, i, all): s is string => typeof s === "string" && s !== slug && all.indexOf(s) === i)
          .map((s) => ({ ...characterIdentity(ctx, s), part: "companion" }));
        const planned = gluePrompt(ctx, style, {
          compiler: COMPILER,
          kind: "character",
          mood: style.moodKey(ctx, [str(scene, "scene_mood"), ...strings(scene, "tags"), mood]),
          given: str(scene, "prompt_used"),
          negative: str(scene, "negative_prompt"),
          compile: () => ({
            parts: [
              ...part("prompt", str(scene, "scene")),
              ...part("pose", labelled("Pose", str(scene, "pose"))),
              ...part("setting", labelled("Setting", str(scene, "setting"))),
            ],
          }),
          fields: [scene],
          moodText: { mood },
          characters: [subject, ...companions],
          negatives: strings(defaults, "negative_prompts"),
        });
        if (!planned) {
          ctx.report({ severity: "error", ...at, targetId: id, message: `scene ${id}: no scene, pose or setting to compile a prompt from` });
          return;
        }
        const site = { file, imageId: id, targetId: id };
        const portrait = resolveCharacterReferences(ctx, slug, [], 1, { ...site, node: scene });
        // Its own portrait is already the first reference.
        const others = depictedReferences(ctx, site, get(scene, "depicts_characters"), maxRefs, { exclude: slug });
        const asked = requestedFrom(defaults, scene, scene);
        // The default frame only when the scene names neither size nor aspect: half of one would contradict the other.
        const requested = asked.size || asked.aspectRatio ? asked : { ...sizeDefaults, ...asked };
        const writeBack: SceneWriteBack = { slug, scene: sceneSlug, title, tags: strings(scene, "tags") };
        const unresolved = [...portrait.unresolved, ...others.unresolved];
        const names = new Map([subject, ...companions].map((c) => [c.slug, c.name]));
        const { prompt, references } = withReferences(planned, style, "character", [...portrait.references, ...others.references], names);
        ctx.emit({
          id,
          rule: RULE,
          source: { file: file.path, ...at },
          prompt,
          references,
          ...(unresolved.length ? { unresolved } : {}),
          requested,
          output: `characters/${slug}/images/${sceneSlug}.${imageExtension(requested, ctx.rules)}`,
          writeBack: { ...writeBack },
        });
      });
    },
    writeBack({ outcome, edit }) {
      const data = outcome.target.writeBack as unknown as SceneWriteBack;
      recordInInventory(edit(characterImageryFile(data.slug)), data, outcome, options.inventoryStatus ?? "draft");
      if (options.runsLog ?? true) {
        logRun(edit(`characters/${data.slug}/imagery.runs.yaml`), { type: "character", slug: data.slug }, outcome, {
          rule: RULE,
          source_file: outcome.target.source.file,
          scene_title: data.title,
          tags: data.tags,
        });
      }
    },
  };
}

/**
 * One `image_inventory` entry per scene target: appended the first time, updated in place when
 * the scene is regenerated (the file at its path was replaced), untouched when it already
 * records this key (a write-back applied again after a crash).
 */
function recordInInventory(editor: YamlEditor, data: SceneWriteBack, outcome: BuildOutcome, status: string): void {
  const file = characterImageryFile(data.slug);
  const path = relativeTo(file, outcome.output);
  if (editor.doc.contents === null || editor.doc.contents === undefined) {
    editor.set([], "entity_type", "character");
    editor.set([], "slug", data.slug);
  }
  const inventory = items(editor.doc.contents, "image_inventory");
  const index = inventory.findIndex((n) => str(get(n, "provenance"), "target_id") === outcome.target.id);
  const provenance = {
    source: "chargen",
    created_at: outcome.generatedAt,
    target_id: outcome.target.id,
    key: outcome.key,
    provider: outcome.settings.provider,
    model: outcome.settings.model,
  };
  if (index >= 0) {
    if (records(inventory[index]!, outcome.target.id, outcome.key, ["provenance"])) return;
    const at = ["image_inventory", index];
    editor.set(at, "path", path);
    editor.set(at, "status", status);
    if (isMap(get(inventory[index], "provenance"))) {
      for (const [k, v] of Object.entries(provenance)) editor.set([...at, "provenance"], k, v);
    } else editor.set(at, "provenance", provenance);
    return;
  }
  const ids = new Set(inventory.map((n) => str(n, "id")));
  let id = `${data.slug}-${data.scene}`;
  for (let n = 2; ids.has(id); n++) id = `${data.slug}-${data.scene}-${n}`;
  editor.append(["image_inventory"], {
    id,
    path,
    type: "generated",
    status,
    content: { title: data.title, ...(data.tags.length ? { tags: data.tags } : {}) },
    provenance,
  });
}
