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
 * To keep these rules and change one setting, a workspace's rules file can spread them:
 *   import builtIn from "chargen/rules";  export default { ...builtIn, defaults: { ...builtIn.defaults, provider: "placeholder" } };
 */
import { chapterImages, characterAppearance, characterScenes, DEFAULT_KIND_STYLES, defineRules, describeImages, locationImages, styleGlue } from "./src/index.js";

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
  // The project's theme reference images (the look of the book): where there are any, every image
  // gets the first two (sorted) as style references, after its portraits and places. false: none.
  themeReferences: "theme-reference/*.{png,jpg,jpeg,webp}",
  maxThemeReferences: 2,
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
    chapterImages({ style, maxReferencesPerCharacter: 2, placeReference: true }),
    // Each scene gets the character's reference portrait. Every rule records a finished image where
    // MemoryQuill's readers look for it (an image_inventory record, status "approved": the publishing
    // step uploads only those; `inventoryStatus` changes it) and logs a run in the entity's imagery.runs.yaml.
    characterScenes({ style, defaults: { size: "1024x1536", aspectRatio: "2:3" } }),
    locationImages({ style, maxReferencesPerCharacter: 1, visualAnchor: true }),
    // Analysis targets (a vision model reads images into the YAML; `defaults.read` routes them):
    // every image_inventory record lacking a title, description, alt text or tags gets them, only
    // those fields, never over an author's value. `chargen build -n` counts them and their cost
    // first. Remove a line to switch one off; options: instructions (with version), mediaResolution.
    describeImages(),
    // Each generated image of a character checked against their visual_consistency lines right after
    // it is made, recorded as its canon_analysis; a mismatch is a warning (--check --explain shows
    // it), never a failure. Off by default: one more (vision) call per character image. Uncomment:
    // canonCheck(),
    // A character without an appearance gets one from their profile (image-ideas.yaml) and reference
    // portrait, written where the strict reader wants it; every prompt that reads it is built after
    // it, in the same build. An author's appearance is never replaced.
    characterAppearance(),
  ],

  // Every target goes where the earlier MemoryQuill tool sent it: that tool made every image of a
  // workspace's history with Gemini 3 Pro Image, whatever the files' provider and model fields say
  // (they name dall-e-3, imagen-3, workers-ai models their author never used). Routing as it did
  // keeps adopted images fresh. `routing: "files"` honours those fields instead (then the mapping
  // below serves the ids that are retired or that chargen cannot call); `--provider` and
  // `--model` win either way. There is no silent fallback: the offline placeholder is used only
  // where chosen (`--provider placeholder`, or a workspace's own rules).
  routing: "rules",
  defaults: { provider: "google", model: "gemini-3-pro-image-preview", format: "png", read: { provider: "google", model: "gemini-2.5-flash" } },

  // Retired or unserviceable models -> current ones, resolved at plan time (never a paid or
  // failed call): dall-e-3 and dall-e-2 were retired on 2026-05-12 and gpt-image-1 on 2026-10-23;
  // imagen-3 answers only the predict endpoint, which chargen does not call.
  modelMap: {
    "dall-e-3": "gpt-image-1.5",
    "dall-e-2": "gpt-image-1-mini",
    "gpt-image-1": "gpt-image-1.5",
    "imagen-3": "gemini-3-pro-image-preview",
  },

  // A reference that resolves to nothing (a creature with no character folder, a renamed
  // inventory id) or to a missing file: the target builds without it, as the earlier MemoryQuill
  // tool did, and a warning names the file, line, image id and reference. "fail" fails the target
  // instead, rather than pay for an image without that likeness.
  missingReferences: "warn",

  providers: {
    placeholder: { maxInFlight: 8 },
  },
});
