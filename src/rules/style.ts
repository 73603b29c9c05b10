import { isMap, isScalar } from "yaml";
import type { RuleContext, SourceFile } from "./api.js";
import { part, type PromptIR, type PromptPart } from "./prompt-ir.js";
import { get, str } from "./yaml-access.js";
import { negativeTerms } from "./rule-kit.js";

/**
 * The style glue: everything a compiled prompt gets that is not in the entry itself. It lives in
 * one place so that every rule speaks with one voice, and each piece is its own Prompt IR part
 * ("style", "medium", "art-direction"), so that `--explain` names what changed and a change to
 * one mood's style makes stale exactly the targets of that mood.
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
  /**
   * Also glue style onto entries that carry a ready `prompt_used`. Default false: a prompt the
   * author wrote (or accepted) is sent as written, with its own negative prompt.
   */
  onPromptUsed?: boolean;
  /** Base negative prompt when the art direction has no `negative_prompt_base`. */
  negative?: string;
}

export const DEFAULT_ART_DIRECTION = "core/*art-direction*.yaml";

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
  /** Parts appended to a compiled prompt of `kind` whose mood key (see `moodKey`) is `mood`. */
  parts(ctx: RuleContext, kind: StyleKind, mood: string | undefined): PromptPart[];
  /** Negative terms for a compiled prompt of `kind`: the art direction's base, then the kind's. */
  negative(ctx: RuleContext, kind: StyleKind): string[];
  /**
   * The art direction's `mood_style_mapping` key for free-text candidates, first match wins: a
   * candidate equal to a key ("somber"), else one holding a key as a word ("quiet, somber vigil").
   * Callers pass the most deliberate field first (`scene_mood`, then a scene's tags, then its
   * free-text mood). Undefined when nothing matches: the target gets no mood style, not a guess.
   */
  moodKey(ctx: RuleContext, candidates: (string | undefined)[]): string | undefined;
}

export function styleGlue(options: StyleOptions = {}): StyleGlue {
  const kinds = { ...DEFAULT_KIND_STYLES, ...options.kinds };
  const pattern = options.artDirection === false ? undefined : (options.artDirection ?? DEFAULT_ART_DIRECTION);
  const moodStyles = options.moodStyles ?? true;
  const medium = options.medium ?? true;

  const artDirection = (ctx: RuleContext): SourceFile | undefined => {
    const path = pattern === undefined ? undefined : ctx.glob(pattern)[0];
    return path === undefined ? undefined : ctx.readYaml(path);
  };
  const moods = (ctx: RuleContext) => get(artDirection(ctx)?.doc.contents, "mood_style_mapping");

  return {
    onPromptUsed: options.onPromptUsed ?? false,
    parts(ctx, kind, mood) {
      const root = artDirection(ctx)?.doc.contents;
      const out = [...part("style", kinds[kind])];
      if (medium) {
        const m = get(root, "medium_simulation");
        const text = ["primary", "texture", "finish"].map((k) => str(m, k)).filter(Boolean).join("; ");
        out.push(...part("medium", text ? `Medium: ${text}.` : undefined));
      }
      if (moodStyles && mood) {
        // Only this mood's entry: another mood's edit must not touch this target's key.
        const entry = get(moods(ctx), mood);
        const refs = [str(entry, "primary"), str(entry, "secondary")].filter(Boolean).join("; ");
        const notes = str(entry, "notes");
        if (refs || notes) out.push(...part("art-direction", `Style (${mood} mood): ${[refs, notes].filter(Boolean).join(". ")}.`));
      }
      return out;
    },
    negative(ctx, kind) {
      const base = str(artDirection(ctx)?.doc.contents, "negative_prompt_base") ?? options.negative ?? DEFAULT_NEGATIVE;
      return negativeTerms(base, options.kindNegatives?.[kind]);
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
  /** The entry's ready prompt (`prompt_used`), sent as written. */
  given: string | undefined;
  /** The entry's own negative prompt. */
  negative: string | undefined;
  /** Parts that open every prompt of this entry, ready or compiled (a chapter's consistency block). */
  lead?: PromptPart[];
  /** The prompt compiled from structured fields, when there is no ready one; negatives from them (palette `avoid`). */
  compile(): { parts: PromptPart[]; negative?: string[] };
}

/**
 * The Prompt IR of one entry: its ready prompt, or its compiled one with the style glue after it
 * (subject first, style last, as the art direction templates have it). Undefined when the entry
 * gives nothing to make a prompt from.
 */
export function gluePrompt(ctx: RuleContext, glue: StyleGlue, r: PromptRecipe): PromptIR | undefined {
  const lead = r.lead ?? [];
  if (r.given) {
    const style = glue.onPromptUsed;
    return {
      compiler: r.compiler,
      parts: [...lead, ...part("prompt", r.given), ...(style ? glue.parts(ctx, r.kind, r.mood) : [])],
      negative: negativeTerms(...(style ? glue.negative(ctx, r.kind) : []), r.negative),
    };
  }
  const body = r.compile();
  if (!body.parts.length) return undefined;
  return {
    compiler: r.compiler,
    parts: [...lead, ...body.parts, ...glue.parts(ctx, r.kind, r.mood)],
    negative: negativeTerms(...glue.negative(ctx, r.kind), r.negative, ...(body.negative ?? [])),
  };
}
