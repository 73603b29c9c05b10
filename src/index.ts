/** The public API, for `chargen.rules.ts` files: `import { defineRules, chapterImages } from "chargen"`. */
export { defineRules } from "./rules/api.js";
export type { BuildOutcome, ModelLimits, ProviderConfig, Rule, RuleContext, RuleSet, SourceFile, WriteBackContext } from "./rules/api.js";
export { chapterImages, type ChapterImageOptions } from "./rules/chapters.js";
export { normaliseText, part, renderNegative, renderPrompt, type PromptIR, type PromptPart } from "./rules/prompt-ir.js";
export type { ModelSettings, ReferenceInput, RequestedSettings, TargetSpec } from "./graph/target.js";
export type { Diagnostic } from "./errors.js";
export { get, items, js, str, strings } from "./rules/yaml-access.js";
export { characterInventory, referencePortrait, resolveCharacterReferences } from "./rules/references.js";
export { applyGenerationFields, describeStructure, requestedFrom } from "./rules/rule-kit.js";
