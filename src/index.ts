/** The public API, for `chargen.rules.ts` files: `import { defineRules, chapterImages } from "chargen"`. */
export { defineRules } from "./rules/api.js";
export type { BuildOutcome, ModelLimits, ProviderConfig, Rule, RuleContext, RuleSet, SourceFile, WriteBackContext } from "./rules/api.js";
export { chapterImages, type ChapterImageOptions } from "./rules/chapters.js";
export { characterScenes, type CharacterSceneOptions } from "./rules/characters.js";
export { locationImages, type LocationImageOptions } from "./rules/locations.js";
export { CANON_INSTRUCTIONS, canonCheck, describeImages, DESCRIBE_INSTRUCTIONS, type CanonCheckOptions, type DescribeOptions } from "./rules/analysis.js";
export { APPEARANCE_INSTRUCTIONS, characterAppearance, type AppearanceOptions } from "./rules/appearance.js";
export { ELEMENTS_FILE, sceneSpecs, storyElements, type SceneSpecRuleOptions, type StoryElementsOptions } from "./rules/story.js";
export { answerSchema, dataTarget } from "./rules/data-target.js";
export { locationEntries, type LocationEntry, type LocationEntryKind, type ShapeProblem } from "./rules/location-shapes.js";
export {
  DEFAULT_ART_DIRECTION,
  DEFAULT_KIND_STYLES,
  DEFAULT_NEGATIVE,
  gluePrompt,
  styleGlue,
  withReferences,
  type PromptRecipe,
  type StyleGlue,
  type StyleKind,
  type StyleOptions,
} from "./rules/style.js";
export {
  characterIdentity,
  characterParts,
  chapterPalette,
  entrySections,
  referenceSection,
  SECTION_ORDER,
  TRIM_ORDER,
  type CharacterIdentity,
  type ReferenceMode,
  type SectionName,
  type SectionOptions,
  type SectionWording,
} from "./rules/sections.js";
export { normaliseText, part, renderNegative, renderPrompt, type PromptIR, type PromptPart } from "./model/prompt-ir.js";
export type { GenerationSettings, JsonValue, ModelSettings, ReadPart, ReferenceInput, RequestedSettings, TargetSpec } from "./model/target.js";
export type { Diagnostic } from "./core/errors.js";
export { get, items, js, pick, pickJs, pickNode, pickStrings, str, strings } from "./yaml/access.js";
export { characterInventory, depictedReferences, referencePortrait, resolveCharacterReferences } from "./rules/references.js";
export {
  appendOnce,
  appendRecord,
  avoided,
  describeStructure,
  fillOutputFields,
  generationDefaults,
  inventoryRecord,
  negativeTerms,
  requestedFrom,
  type RecordContent,
} from "./rules/rule-kit.js";
export { contractFor, contractViolation, keepingContract } from "./rules/memoryquill-contract.js";
export { logRun } from "./rules/runs-log.js";
export { SlugScope, slugify } from "./core/slug.js";
