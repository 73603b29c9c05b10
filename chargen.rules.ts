/**
 * chargen's default rules, used by every workspace that has no `chargen.rules.ts` of its own,
 * and the documented example of the rules API. Copy it into a workspace to change it; there,
 * import from "chargen" instead of "./src/index.js".
 *
 * The built-in rules read the MemoryQuill layout:
 *   chapters/<slug>/imagery.yaml          images[]            -> chapters/<slug>/<custom_id>
 *   characters/<slug>/image-ideas.yaml    scenes[]            -> characters/<slug>/<scene-slug>
 *   locations/<slug>/imagery.yaml         overview, zones[], beat_images[]
 *   locations/<slug>/location-imagery.yaml (older: overview, parts[])
 *                                         -> locations/<slug>/overview, .../zones/<zone>[/<image>], .../beats/<beat>
 * A rule is `{ name, sources, plan(file, ctx), writeBack?(ctx) }`: see src/rules/api.ts to write your own.
 */
import { chapterImages, characterScenes, DEFAULT_KIND_STYLES, defineRules, locationImages, styleGlue } from "./src/index.js";

// The style glue, in one place for every rule: how a prompt is put together. Every prompt is
// the author's scenario (a ready `prompt_used`, verbatim, or one compiled from the entry's fields)
// followed by sections, each a Prompt IR part of its own (so that --explain names what changed):
//   characters (each depicted character's appearance, visual consistency lines and state in
//   this image), composition, lighting, palette, mood (and its rationale), visual-thesis (a
//   chapter's) or essence (a location's), art-direction (the project's philosophy, medium and the
//   style for the image's mood), style (per kind), references (what each attached image is and
//   how to use it). The negative prompt merges the defaults, the art direction's base and the
//   entry's own.
const style = styleGlue({
  // The project art direction: the first file (sorted) matching this pattern.
  artDirection: "core/*art-direction*.yaml",
  // Per-kind style strings: character (scenes), location, exterior (a location entry whose
  // category says exterior), scene (chapter images). Deliberately generic: a project's own look
  // belongs in its art direction. Override any of them here, e.g. { ...DEFAULT_KIND_STYLES, exterior: "..." }.
  kinds: DEFAULT_KIND_STYLES,
  moodStyles: true,
  medium: true,
  philosophy: true,
  // false: a ready prompt_used is sent alone, exactly as written.
  onPromptUsed: true,
  // Switch a section off (false) or re-word it (a function of its default text), e.g.
  // { mood: false, lighting: (text) => text.replace("Lighting:", "Light:") }.
  sections: {},
});

export default defineRules({
  rules: [
    // Each chapter image gets the portraits of the characters it depicts (at most 2 each).
    // placeReference: true also gives it the image of the location zone it is set in (a graph
    // edge: the zone's image, and its overview, are then built before the chapter image).
    chapterImages({ style, maxReferencesPerCharacter: 2, placeReference: false }),
    // Each scene gets the character's reference portrait; its image is recorded in the character's
    // image_inventory (status "draft") and in characters/<slug>/imagery.runs.yaml.
    characterScenes({ style, defaults: { size: "1024x1536", aspectRatio: "2:3" }, inventoryStatus: "draft" }),
    locationImages({ style, maxReferencesPerCharacter: 1, visualAnchor: true }),
  ],

  // When neither an entry nor its file's generation_defaults say: the offline placeholder,
  // so that nothing is ever paid for by accident.
  defaults: { provider: "placeholder", format: "png" },

  // Retired or renamed models -> current ones. The MemoryQuill chapter files ask for dall-e-3,
  // retired on 2026-05-12.
  modelMap: {
    "dall-e-3": "gpt-image-1.5",
    "dall-e-2": "gpt-image-1-mini",
    "gpt-image-1": "gpt-image-1.5",
  },

  // A reference that resolves to nothing (or to a missing file) fails its target rather than
  // paying for an image without the character's likeness. "warn" builds without it and says so.
  // Either way every such reference is a diagnostic naming the file, line, image id and reference id.
  missingReferences: "fail",

  providers: {
    placeholder: { maxInFlight: 8 },
  },
});
