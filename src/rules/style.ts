import { posix } from "node:path";
import { isMap, isScalar, type Node } from "yaml";
import type { RuleContext, SourceFile } from "./api.js";
import { part, type PromptIR, type PromptPart } from "../model/prompt-ir.js";
import { get, str } from "../yaml/access.js";
import { negativeTerms, prose } from "./rule-kit.js";
import type { ReferenceInput } from "../model/target.js";
import { characterParts, entrySections, referenceSection, sectionPart, type CharacterIdentity, type ReferenceMode, type SectionOptions } from "./sections.js";

/**
 * The style glue: everything a prompt gets that is not in the entry itself, and how the sections
 * of a prompt are put together (see sections.ts). It lives in one place so that every rule speaks
 * with one voice, and each piece is its own Prompt IR part ("style", "art-direction"), so that
 * `--explain` names what changed and a change to one mood's style makes stale exactly the targets
 * of that mood.
 */

/** What a target is, for its style string: a character scene, a location view (exterior when its category says so), a story scene. */
export type StyleKind = "character" | "location" | "exterior" | "scene";

export interface StyleOptions {
  /**
   * A fast-glob pattern for the project art direction (mood to style, medium, base negative
   * prompt); the first match in sorted order is used. `false`: none. Found and read through the
   * rule context, so adding, removing or editing it re-plans, and only the targets whose injected
   * text changed become stale.
   */
  artDirection?: string | false;
  /** Style string per kind, appended to compiled prompts. Replaces the defaults per kind given. */
  kinds?: Partial<Record<StyleKind, string>>;
  /** Negative terms added per kind (after the base). */
  kindNegatives?: Partial<Record<StyleKind, string>>;
  /** Inject the art direction's `mood_style_mapping` entry for the target's mood (artist references). Default true. */
  moodStyles?: boolean;
  /** Inject the art direction's `medium_simulation` (primary, texture, finish). Default true. */
  medium?: boolean;
  /** Inject the art direction's `aesthetic_philosophy`. Default true. */
  philosophy?: boolean;
  /**
   * Surround a ready `prompt_used` with the other sections too (characters, lighting, palette,
   * mood, thesis, art direction, style, references). Default true: the author's text stays
   * verbatim at the core. False: it is sent alone, with its own negative prompt.
   */
  onPromptUsed?: boolean;
  /** Default negative terms, merged with the art direction's `negative_prompt_base` and the entry's own. */
  negative?: string;
  /** Switch sections off or re-word them: `{ mood: false, lighting: (t) => t.replace("Lighting", "Light") }`. */
  sections?: SectionOptions;
  /**
   * A fast-glob pattern for the project's theme reference images, the look every image shares
   * (MemoryQuill keeps them in `theme-reference/`; its art direction calls them style refs).
   * Where there are any, every target attaches the first `maxThemeReferences` (sorted) after its
   * identity and continuity references, role `style`, and its prompt says to take only the
   * rendering from them. Found through the rule context: adding one re-plans. `false`: none.
   */
  themeReferences?: string | false;
  /** At most this many theme references per target. Default 2. */
  maxThemeReferences?: number;
}

export const DEFAULT_ART_DIRECTION = "core/*art-direction*.yaml";
export const DEFAULT_THEME_REFERENCES = "theme-reference/*.{png,jpg,jpeg,webp}";

/** Deliberately generic: a project's look belongs in its art direction file, not here. */
export const DEFAULT_KIND_STYLES: Record<StyleKind, string> = {
  character: "character illustration, expressive face with consistent defining features, worn practical costume, motivated light, medium shot",
  location: "environment and architecture, wide establishing composition, motivated practical light sources, tactile material detail, storytelling composition",
  exterior: "exterior landscape and architecture, clear silhouettes against the sky, atmospheric depth, weather and time of day made visible, cinematic composition",
  scene: "storytelling moment, emotional lighting, atmospheric depth, clear focal point on faces and gesture",
};

export const DEFAULT_NEGATIVE = "text, watermark, signature, logo, distorted anatomy, extra fingers, duplicated faces";

export interface StyleGlue {
  readonly onPromptUsed: boolean;
  /** The rules' section switches and wordings. */
  readonly sections: SectionOptions;
  /** The art direction (for the target's mood key, see `moodKey`) and the kind's style: the last sections of a prompt. */
  parts(ctx: RuleContext, kind: StyleKind, mood: string | undefined): PromptPart[];
  /** Negative terms for a prompt of `kind`: the defaults, the art direction's base, then the kind's. */
  negative(ctx: RuleContext, kind: StyleKind): string[];
  /**
   * The art direction's `mood_style_mapping` key for free-text candidates, first match wins: a
   * candidate equal to a key ("somber"), else one holding a key as a word ("quiet, somber vigil").
   * Callers pass the most deliberate field first (`scene_mood`, then a scene's tags, then its
   * free-text mood). Undefined when nothing matches: the target gets no mood style, not a guess.
   */
  moodKey(ctx: RuleContext, candidates: (string | undefined)[]): string | undefined;
  /** The project's theme reference images, as style references (see `StyleOptions.themeReferences`). */
  themeReferences(ctx: RuleContext): ReferenceInput[];
}

export function styleGlue(options: StyleOptions = {}): StyleGlue {
  const kinds = { ...DEFAULT_KIND_STYLES, ...options.kinds };
  const pattern = options.artDirection === false ? undefined : (options.artDirection ?? DEFAULT_ART_DIRECTION);
  const moodStyles = options.moodStyles ?? true;
  const medium = options.medium ?? true;
  const philosophy = options.philosophy ?? true;
  const sections = options.sections ?? {};
  const themes = options.themeReferences === false ? undefined : (options.themeReferences ?? DEFAULT_THEME_REFERENCES);
  const maxThemes = options.maxThemeReferences ?? 2;

  const artDirection = (ctx: RuleContext): SourceFile | undefined => {
    const path = pattern === undefined ? undefined : ctx.glob(pattern)[0];
    return path === undefined ? undefined : ctx.readYaml(path);
  };
  const moods = (ctx: RuleContext) => get(artDirection(ctx)?.doc.contents, "mood_style_mapping");

  return {
    onPromptUsed: options.onPromptUsed ?? true,
    sections,
    parts(ctx, kind, mood) {
      const root = artDirection(ctx)?.doc.contents;
      const lines: string[] = [];
      const aesthetic = philosophy ? prose(str(root, "aesthetic_philosophy")) : undefined;
      if (aesthetic) lines.push(`Art direction: ${aesthetic}`);
      if (medium) {
        const m = get(root, "medium_simulation");
        const text = ["primary", "texture", "finish"].map((k) => str(m, k)).filter(Boolean).join("; ");
        if (text) lines.push(`Medium: ${text}.`);
      }
      if (moodStyles && mood) {
        // Only this mood's entry: another mood's edit must not touch this target's key.
        const entry = get(moods(ctx), mood);
        const refs = [str(entry, "primary"), str(entry, "secondary")].filter(Boolean).join("; ");
        const notes = str(entry, "notes");
        if (refs || notes) lines.push(`Style (${mood} mood): ${[refs, notes].filter(Boolean).join(". ")}.`);
      }
      return [...sectionPart(sections, "art-direction", lines.length ? lines.join("\n") : undefined), ...sectionPart(sections, "style", kinds[kind])];
    },
    negative(ctx, kind) {
      const base = str(artDirection(ctx)?.doc.contents, "negative_prompt_base");
      return negativeTerms(options.negative ?? DEFAULT_NEGATIVE, base, options.kindNegatives?.[kind]);
    },
    moodKey(ctx, texts) {
      const map = moods(ctx);
      const keys = moodKeys(map);
      for (const text of texts) {
        const t = text?.toLowerCase().trim();
        if (!t) continue;
        const exact = keys.find((k) => k.toLowerCase() === t);
        if (exact) return exact;
        const words = t.split(/[^a-z]+/);
        const hit = keys.find((k) => words.includes(k.toLowerCase()));
        if (hit) return hit;
      }
      return undefined;
    },
    themeReferences(ctx) {
      const paths = themes === undefined ? [] : ctx.glob(themes).slice(0, maxThemes);
      return paths.map((path) => ({ path, role: "style", label: `${posix.basename(path)}: style reference (palette, light and rendering only)` }));
    },
  };
}

function moodKeys(map: unknown): string[] {
  if (!isMap(map)) return [];
  return map.items.map((p) => (isScalar(p.key) ? String(p.key.value) : "")).filter(Boolean);
}

export interface PromptRecipe {
  /** Prompt compiler version, per kind ("location-image/1"): bump it when rendering changes. */
  compiler: string;
  kind: StyleKind;
  /** The art direction's mood key (see `StyleGlue.moodKey`). */
  mood: string | undefined;
  /** The entry's ready prompt (`prompt_used`), sent verbatim as the scenario. */
  given: string | undefined;
  /** The entry's own negative prompt. */
  negative: string | undefined;
  /** The scenario compiled from structured fields, when there is no ready one; negatives from them. */
  compile(): { parts: PromptPart[]; negative?: string[] };
  /** The entry's nodes (entry over nested spec) holding composition, lighting, palette. */
  fields?: readonly (Node | undefined)[];
  /** The mood as the entry words it, and why (`mood_rationale`). */
  moodText?: { mood?: string | undefined; rationale?: string | undefined };
  /** The palette to use when the entry has none (a chapter's own). */
  fallbackPalette?: string;
  /** The characters the image depicts, with their identity text. */
  characters?: CharacterIdentity[];
  /** Parts about other figures (a chapter's states of people not depicted by slug, a location's unnamed figures). */
  figures?: PromptPart[];
  /** A chapter's visual thesis ("visual-thesis") or a location's essence ("essence"). */
  theme?: { section: "visual-thesis" | "essence"; text: string | undefined };
  /** Negative terms every prompt of this entry gets (the file's `generation_defaults.negative_prompts`, palette `avoid`). */
  negatives?: string[];
}

/**
 * The Prompt IR of one entry, in the fixed section order (see sections.ts): the scenario (the
 * ready prompt verbatim, or the compiled one), the depicted characters, composition, lighting,
 * palette, mood, thesis or essence, art direction, the kind's style; the references section is
 * added once the references are known (`withReferences`). Negatives: the defaults, the art
 * direction's base, the kind's, the entry's own, merged and deduplicated. Undefined when the
 * entry gives nothing to make a prompt from.
 */
export function gluePrompt(ctx: RuleContext, glue: StyleGlue, r: PromptRecipe): PromptIR | undefined {
  if (r.given && !glue.onPromptUsed) return { compiler: r.compiler, parts: part("prompt", r.given), negative: negativeTerms(r.negative) };
  const body = r.given ? { parts: part("prompt", r.given) } : r.compile();
  if (!body.parts.length) return undefined;
  const options = glue.sections;
  const fields = entrySections(options, r.fields ?? [], r.moodText ?? {}, r.fallbackPalette);
  return {
    compiler: r.compiler,
    parts: [
      ...body.parts,
      ...characterParts(options, r.characters ?? []),
      ...(options.characters === false ? [] : (r.figures ?? [])),
      ...fields.composition,
      ...fields.lighting,
      ...fields.palette,
      ...fields.mood,
      ...(r.theme ? sectionPart(options, r.theme.section, r.theme.text) : []),
      ...glue.parts(ctx, r.kind, r.mood),
    ],
    negative: negativeTerms(...glue.negative(ctx, r.kind), r.negative, ...(r.negatives ?? []), ...(body.negative ?? [])),
  };
}

/**
 * The references section added to a prompt once its references are known, and the references
 * with their labels (what each one is, for providers that label each image): `references`, then
 * the project's theme references (style only, after identity and continuity). `names`: character
 * slug -> name, for the labels.
 */
export function withReferences(
  ctx: RuleContext,
  prompt: PromptIR,
  glue: StyleGlue,
  mode: ReferenceMode,
  references: ReferenceInput[],
  names: ReadonlyMap<string, string>,
): { prompt: PromptIR; references: ReferenceInput[] } {
  const section = referenceSection(glue.sections, mode, [...references, ...glue.themeReferences(ctx)], names);
  return { prompt: { ...prompt, parts: [...prompt.parts, ...section.parts] }, references: section.references };
}
