import type { Document, Node } from "yaml";
import type { Diagnostic } from "../core/errors.js";
import type { GenerationSettings, JsonValue, ModelSettings, ReferenceInput, TargetSpec } from "../model/target.js";
import type { PriceOverrides } from "../providers/prices.js";
import type { ImageFormat, ProviderConfig, ProviderSettings } from "../providers/types.js";

export type { ModelLimits, ProviderConfig } from "../providers/types.js";
import type { YamlEditor } from "../yaml/edit.js";

/** A parsed workspace YAML file, as a rule sees it. */
export interface SourceFile {
  /** Workspace-relative path. */
  path: string;
  text: string;
  doc: Document.Parsed;
  /** 1-based line and column of a node of this file's document. */
  position(node: Node | null | undefined): { line: number; column: number };
}

export interface RuleContext {
  emit(target: TargetSpec): void;
  /** Report a problem; `file` defaults to the source being planned. */
  report(diagnostic: Omit<Diagnostic, "file"> & { file?: string }): void;
  /** Read another workspace YAML file (cached per build). A change to it re-plans this source. */
  readYaml(path: string): SourceFile | undefined;
  /** Read another workspace file as text (a chapter's content.md), undefined when absent. A change to it re-plans this source. */
  readText(path: string): string | undefined;
  /** Whether a workspace file exists. Its appearance or removal re-plans this source. */
  exists(path: string): boolean;
  /**
   * Whether a workspace file is there with its content: false when absent, and when it is a Git LFS
   * pointer (a checkout without `git lfs pull`), which a model cannot read. Re-plans like `exists`.
   */
  isPulled(path: string): boolean;
  /** Workspace files matching a fast-glob pattern, sorted. A change to the matches re-plans this source. */
  glob(pattern: string): string[];
  /** The rule set's settings (reference policy and so on). */
  readonly rules: RuleSet;
}

/** What a finished target hands to its rule's write-back. */
export interface BuildOutcome {
  target: TargetSpec;
  settings: ModelSettings;
  key: string;
  /** Workspace-relative output path and the digest of its bytes. */
  output: string;
  outputDigest: string;
  generatedAt: string;
  prompt: string;
  negativePrompt: string;
  references: (ReferenceInput & { digest: string })[];
  costUsd?: number;
  metadata: Record<string, unknown>;
  /**
   * A placeholder card made as a rehearsal (`--provider placeholder` where the rules route to a
   * real provider): recorded as a draft placeholder, never as the image its entry stands for.
   */
  rehearsal: boolean;
  /** A data target's answer, checked against its schema: what its write-back puts into the YAML. */
  answer?: JsonValue;
}

export interface WriteBackContext {
  outcome: BuildOutcome;
  /** Open a workspace YAML file for comment-preserving edits; all edits are written atomically afterwards. */
  edit(path: string): YamlEditor;
}

export interface Rule {
  name: string;
  /** fast-glob patterns, relative to the workspace root, of the YAML files this rule reads. */
  sources: string[];
  /** Emit the targets of one source file. Pure apart from `ctx` reads: results are cached. */
  plan(file: SourceFile, ctx: RuleContext): void;
  /** Record a finished target in the YAML. Runs after the image is safely on disk. */
  writeBack?(ctx: WriteBackContext): void;
}

export interface RuleSet extends ProviderSettings {
  rules: Rule[];
  /**
   * Where targets go when the YAML does not say (or, with `routing: "rules"`, whatever it says).
   * There is no built-in fallback: a target with no provider from anywhere is an error, so that
   * nothing goes to the offline placeholder unless it is chosen.
   */
  defaults?: {
    provider?: string;
    model?: string;
    format?: ImageFormat;
    quality?: string;
    generation?: GenerationSettings;
    /**
     * Where data targets (image analysis, story text) go: a vision or text model, not the image
     * model. Its provider defaults to `provider`, its model to that provider's reading model
     * (google: gemini-2.5-flash). `--provider` wins; `--model` names an image model and leaves these alone.
     */
    read?: { provider?: string; model?: string };
  };
  /**
   * Who chooses each target's provider and model: "files" (the default) honours the entry's and its
   * file's `provider` / `model` fields, then `defaults`; "rules" sends every target to `defaults`
   * and ignores those fields (the built-in MemoryQuill rules: the files name providers their
   * author never used). `--provider` and `--model` win either way.
   */
  routing?: "rules" | "files";
  providers?: Record<string, ProviderConfig>;
  /** Retired or renamed model ids to current ones: `{"dall-e-3": "gpt-image-1.5"}`. */
  modelMap?: Record<string, string>;
  /** Overrides of the price table, per provider and model (see src/providers/prices.ts). */
  prices?: PriceOverrides;
  /**
   * What to do with a reference that resolves to nothing or to a missing file:
   * "fail" fails the target, "warn" (the default) builds without it and says so.
   */
  missingReferences?: "fail" | "warn";
}

/**
 * The reference policy of a rule set. By default a target builds without what resolves to
 * nothing (a creature with no character folder, a renamed inventory id), as the workspaces'
 * earlier tool did: each such reference is a warning, and the author decides.
 */
export function missingReferencesPolicy(rules: RuleSet): "fail" | "warn" {
  return rules.missingReferences ?? "warn";
}

/** Identity, for type checking and editor help in `chargen.rules.ts`. */
export function defineRules(rules: RuleSet): RuleSet {
  return rules;
}
