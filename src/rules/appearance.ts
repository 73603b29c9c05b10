/**
 * A character's `appearance` (characters/<slug>/imagery.yaml, where MemoryQuill's strict reader
 * requires it and every prompt of the character reads it), written by a data target from their
 * profile and reference portrait when the file has none. Every target whose prompt reads it comes
 * after it (`after`): one build writes the appearance, then plans those prompts again and builds them.
 */
import { isMap } from "yaml";
import { z } from "zod";
import { digestText } from "../core/hash.js";
import type { JsonValue, ReadPart } from "../model/target.js";
import { get, str } from "../yaml/access.js";
import type { Rule, RuleContext } from "./api.js";
import { answerSchema, dataTarget } from "./data-target.js";
import { keepingContract } from "./memoryquill-contract.js";
import { characterImageryFile, characterInventory, referencePortrait } from "./references.js";
import { flatten } from "./rule-kit.js";

export const APPEARANCE_RULE = "character-appearance";
export const appearanceTargetId = (slug: string) => `characters/${slug}/profile/appearance`;

const APPEARANCE = z.object({
  appearance: z.string().describe("One paragraph, 60 to 120 words: age, build, face, hair, eyes, skin, marks, usual clothing and carried items"),
});

export const APPEARANCE_INSTRUCTIONS = `You write the appearance of a story's character, for an illustrator who must draw them the same way every time.
Use the reference portrait, when there is one, for everything visible, and the profile for the rest. Describe only what can be seen; no personality, no story.`;

export interface AppearanceOptions {
  instructions?: string;
  version?: string;
  mediaResolution?: ReadPart["mediaResolution"];
}

/**
 * The data target that writes this character's appearance when the rule set has the rule and the
 * appearance is not the author's (absent, or what chargen wrote and nobody edited): what a target
 * whose prompt reads the appearance comes after.
 */
export function appearanceFrom(ctx: RuleContext, slug: string): string | undefined {
  if (!ctx.rules.rules.some((r) => r.name === APPEARANCE_RULE)) return undefined;
  const imagery = ctx.readYaml(characterImageryFile(slug))?.doc.contents;
  return appearanceIsOurs(imagery, slug) ? appearanceTargetId(slug) : undefined;
}

/** Whether the appearance is absent, or is what chargen wrote (its digest is the one recorded). */
function appearanceIsOurs(imagery: unknown, slug: string): boolean {
  const appearance = str(imagery, "appearance");
  const mark = get(imagery, "appearance_analysis");
  return appearance === undefined || (str(mark, "target_id") === appearanceTargetId(slug) && str(mark, "written") === digestText(appearance));
}

/**
 * Characters with an `image-ideas.yaml` (the profile: its `character` map, name, summary and any
 * other field, and the visual consistency lines) and no appearance of their own: one data target
 * each, `characters/<slug>/profile/appearance`, reading the profile and the reference portrait.
 */
export function characterAppearance(options: AppearanceOptions = {}): Rule {
  return {
    name: APPEARANCE_RULE,
    sources: ["characters/*/image-ideas.yaml"],
    plan(file, ctx) {
      const slug = file.path.split("/")[1]!;
      const imagery = ctx.readYaml(characterImageryFile(slug))?.doc.contents;
      if (!appearanceIsOurs(imagery, slug)) return;
      const root = file.doc.contents;
      const character = get(root, "character");
      const name = str(character, "name") ?? slug;
      const profile = isMap(character) ? flatten(character.toJSON()) : "";
      const lines = flatten(get(root, "visual_consistency")?.toJSON());
      const texts = [
        ...(profile ? [{ label: `Profile of ${name}`, text: profile }] : []),
        ...(lines ? [{ label: `Visual consistency of ${name}`, text: lines }] : []),
      ];
      const portrait = referencePortrait(characterInventory(ctx, slug) ?? [])?.path ?? `characters/${slug}/images/portrait.png`;
      const images = ctx.isPulled(portrait) ? [{ path: portrait, role: `character:${slug}`, label: `${name}: reference portrait` }] : [];
      if (!texts.length && !images.length) return;
      ctx.emit(
        dataTarget({
          id: appearanceTargetId(slug),
          rule: APPEARANCE_RULE,
          source: { file: file.path, ...file.position(character ?? root) },
          read: {
            instructions: options.instructions ?? APPEARANCE_INSTRUCTIONS,
            version: options.version ?? "appearance/1",
            texts,
            schema: answerSchema("character_appearance", APPEARANCE),
            mediaResolution: options.mediaResolution ?? "medium",
          },
          images,
          writeBack: { slug },
        }),
      );
    },
    writeBack({ outcome, edit }) {
      if (outcome.rehearsal || !outcome.answer) return;
      const { slug } = outcome.target.writeBack as { slug: string };
      const editor = edit(characterImageryFile(slug));
      // The author wrote one meanwhile: theirs stays.
      if (!appearanceIsOurs(editor.doc.contents, slug)) return;
      const appearance = String((outcome.answer as Record<string, JsonValue>).appearance);
      keepingContract(editor, () => {
        if (editor.doc.contents === null || editor.doc.contents === undefined) {
          editor.set([], "entity_type", "character");
          editor.set([], "slug", slug);
        }
        editor.set([], "appearance", appearance);
        editor.set([], "appearance_analysis", {
          target_id: outcome.target.id,
          ir_hash: outcome.key,
          provider: outcome.settings.provider,
          model: outcome.settings.model,
          analyzed_at: outcome.generatedAt,
          written: digestText(appearance),
        });
      });
    },
  };
}

