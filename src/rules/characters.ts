import { isMap, isSeq, type Node } from "yaml";
import type { RequestedSettings } from "../model/target.js";
import type { YamlEditor } from "../yaml/edit.js";
import { unsafeName } from "../core/boundary.js";
import type { BuildOutcome, Rule, RuleContext } from "./api.js";
import { part } from "../model/prompt-ir.js";
import { characterImageryFile, depictedReferences, depictedSlug, resolveCharacterReferences } from "./references.js";
import { keepingContract } from "./memoryquill-contract.js";
import { appendRecord, entriesAt, generationDefaults, imageExtension, inventoryRecord, labelled, mistyped, prose, refuseUnsafeName, requestedFrom, type RecordContent } from "./rule-kit.js";
import { logRun } from "./runs-log.js";
import { appearanceEdges, characterIdentity } from "./sections.js";
import { SlugScope, slugify } from "../core/slug.js";
import { gluePrompt, styleGlue, withReferences, type StyleGlue } from "./style.js";
import { get, items, pickStrings, shapeOf, str, strings } from "../yaml/access.js";

export interface CharacterSceneOptions {
  /** The style glue shared by all rules (see `styleGlue`). Default: `styleGlue()`. */
  style?: StyleGlue;
  /** Reference images per other character a scene `depicts_characters`. Default 1. */
  maxReferencesPerCharacter?: number;
  /** Size and aspect when neither the scene nor the file says. Default 1024x1536, 2:3 (portrait). */
  defaults?: Pick<RequestedSettings, "size" | "aspectRatio">;
  /**
   * `status` of the `image_inventory` record a generated scene gets. Default "approved": the
   * publishing step uploads only those. (A generated scene never becomes a character's
   * reference portrait: see `referencePortrait`.)
   */
  inventoryStatus?: "approved" | "draft" | "archived" | "rejected";
  /** Log every generation to `characters/<slug>/imagery.runs.yaml`. Default true. */
  runsLog?: boolean;
}

/** Bump when the character scene rendering changes. */
const COMPILER = "character-scene/2";
const RULE = "character-scenes";

interface SceneWriteBack {
  slug: string;
  title: string;
  /** Written as the appearance of a character imagery file the write-back has to start. */
  summary: string | null;
  record: RecordContent;
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
        if (mistyped(file, ctx, [[scene, `scenes[${index}]`], [defaults, "generation_defaults"]])) return;
        const title = str(scene, "title");
        const base = slugify(title);
        if (!title || !base) {
          ctx.report({ severity: "error", ...at, message: `scenes[${index}]: no title to make its target id from` });
          return;
        }
        if (refuseUnsafeName(file, ctx, get(scene, "title"), `scenes[${index}].title, as an id,`, base)) return;
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
          .filter((s, i, all): s is string => typeof s === "string" && s !== slug && all.indexOf(s) === i && unsafeName(s) === undefined)
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
        const sceneText = str(scene, "scene");
        const setting = str(scene, "setting");
        const writeBack: SceneWriteBack = {
          slug,
          title,
          summary: summary ?? null,
          record: {
            title,
            description: prose(sceneText) ?? title,
            altText: `${name}: ${title}${setting ? `, ${prose(setting)}` : ""}`,
            tags: strings(scene, "tags"),
          },
        };
        const unresolved = [...portrait.unresolved, ...others.unresolved];
        const names = new Map([subject, ...companions].map((c) => [c.slug, c.name]));
        const { prompt, references } = withReferences(ctx, planned, style, "character", [...portrait.references, ...others.references], names);
        ctx.emit({
          id,
          rule: RULE,
          source: { file: file.path, ...at },
          prompt,
          references,
          ...(unresolved.length ? { unresolved } : {}),
          requested,
          output: `characters/${slug}/images/${sceneSlug}.${imageExtension(requested, ctx.rules)}`,
          ...appearanceEdges([subject, ...companions]),
          writeBack: { ...writeBack },
        });
      });
    },
    writeBack({ outcome, edit }) {
      const data = outcome.target.writeBack as unknown as SceneWriteBack;
      recordInInventory(edit(characterImageryFile(data.slug)), data, outcome, options.inventoryStatus ?? "approved");
      if (options.runsLog ?? true) {
        // `chapter`, as the earlier tool wrote every character log (the readers know no other value but `location`).
        logRun(edit(`characters/${data.slug}/imagery.runs.yaml`), { type: "chapter", slug: data.slug }, outcome, {
          rule: RULE,
          source_file: outcome.target.source.file,
          scene_title: data.title,
          tags: data.record.tags,
        });
      }
    },
  };
}

/**
 * The ids the scenes of `characters/<slug>/image-ideas.yaml` get (their outputs' file names
 * without extension, the ids their write-backs list), as `plan` gives them: what a chapter may name
 * before those write-backs happen. Empty when the rule set has no character scene rule.
 */
export function sceneIds(ctx: RuleContext, slug: string): Set<string> {
  const ids = new Set<string>();
  if (!ctx.rules.rules.some((r) => r.name === RULE)) return ids;
  const scope = new SlugScope();
  for (const scene of items(ctx.readYaml(`characters/${slug}/image-ideas.yaml`)?.doc.contents, "scenes")) {
    const base = isMap(scene) ? slugify(str(scene, "title")) : undefined;
    if (base) ids.add(scope.claim(base).id);
  }
  return ids;
}

/**
 * The images the scenes of `characters/<slug>/image-ideas.yaml` make (workspace paths), as `plan`
 * names them: what another rule may read once they are built (a graph edge to each scene). Empty
 * when the rule set has no character scene rule.
 */
export function sceneOutputs(ctx: RuleContext, slug: string): string[] {
  if (!ctx.rules.rules.some((r) => r.name === RULE)) return [];
  const root = ctx.readYaml(`characters/${slug}/image-ideas.yaml`)?.doc.contents;
  const defaults = generationDefaults(root);
  const scope = new SlugScope();
  return items(root, "scenes").flatMap((scene) => {
    const base = isMap(scene) ? slugify(str(scene, "title")) : undefined;
    if (!base) return [];
    return [`characters/${slug}/images/${scope.claim(base).id}.${imageExtension(requestedFrom(defaults, scene, scene), ctx.rules)}`];
  });
}

/** The scene's record in the character's `image_inventory`, where ingestion reads it; the file is started if the character has none. */
function recordInInventory(editor: YamlEditor, data: SceneWriteBack, outcome: BuildOutcome, status: string): void {
  keepingContract(editor, () => {
    if (editor.doc.contents === null || editor.doc.contents === undefined) {
      editor.set([], "entity_type", "character");
      editor.set([], "slug", data.slug);
      editor.set([], "appearance", data.summary ?? "");
    }
    appendRecord(editor, ["image_inventory"], inventoryRecord(outcome, characterImageryFile(data.slug), data.record, status));
  });
}
