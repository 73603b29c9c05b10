import type { Diagnostic } from "../core/errors.js";
import type { PromptIR } from "./prompt-ir.js";

export type ImageFormat = "png" | "jpeg" | "webp";
export const IMAGE_FORMATS: readonly ImageFormat[] = ["png", "jpeg", "webp"];
const MIME_TYPES: Record<ImageFormat, string> = { png: "image/png", jpeg: "image/jpeg", webp: "image/webp" };
/** The content type of an output format. */
export const mimeOf = (format: ImageFormat): string => MIME_TYPES[format];

/** Model settings as a rule found them in the YAML; the resolver fills gaps from the rules' defaults. */
export interface RequestedSettings {
  provider?: string;
  model?: string;
  /** "WxH" */
  size?: string;
  /** "W:H" */
  aspectRatio?: string;
  quality?: string;
  format?: ImageFormat;
  /** Sampling knobs (Gemini's generateContent config), field by field over the file's and the rules' defaults. */
  generation?: GenerationSettings;
}

/** Gemini's generation settings; a provider that takes none of them drops them, and says so. */
export interface GenerationSettings {
  temperature?: number;
  topP?: number;
  topK?: number;
  seed?: number;
  /** Gemini's `safetySettings`: `{ category: "HARM_CATEGORY_HARASSMENT", threshold: "BLOCK_ONLY_HIGH" }`, ... */
  safetySettings?: { category: string; threshold: string }[];
}

/** Model settings after defaults, model mapping, `--provider` and per-provider normalisation: what the key hashes. */
export interface ModelSettings {
  provider: string;
  model: string;
  size?: string;
  aspectRatio?: string;
  quality?: string;
  format: ImageFormat;
  n: number;
  /** Only when some are set: a target without any keeps the key it had before they existed. */
  generation?: GenerationSettings;
}

export interface ReferenceInput {
  /** Workspace-relative path of the reference image. */
  path: string;
  /** Why it is there ("character:veyra-thornwake", "style"): shown in reasons and passed to providers. */
  role: string;
  /** The id the YAML used for it (an `image_inventory` id), for messages and write-back. */
  assetId?: string;
  /** What it is, in words ("Nell Farrow: identity portrait"): the prompt's references section uses it, and providers label each image with it. */
  label?: string;
}

/**
 * An inventory id its inventory does not list: the image a write-back records under that id, once
 * another target makes it. The analyzer resolves it against every target's output; what no
 * target makes resolves to nothing.
 */
export interface UnlistedReference {
  /** The inventory id: a write-back records an output under its file name without extension. */
  id: string;
  /** The entity folder whose inventory was asked (`characters/<slug>`): only an output below it can be the image. */
  folder: string;
  /** As in ReferenceInput. */
  role: string;
  /** As in ReferenceInput: how the prompt's reference section names it. */
  label?: string;
  /** Why it resolves to nothing when no target makes it: an `unresolved` entry. */
  unresolved: string;
  /** And the warning that says so, at the line that asked for it. */
  diagnostic: Diagnostic;
}

export interface SourceLocation {
  /** Workspace-relative path of the YAML file the target comes from. */
  file: string;
  /** 1-based line and column of the target's entry. */
  line: number;
  column: number;
}

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * What a data target asks a model to read (images and texts in, one JSON document out). Its images
 * are the target's `references`, so an analysis of a generated image depends on that image's target.
 */
export interface ReadPart {
  /** What the model is told to do: the system text. */
  instructions: string;
  /** The instructions' version: bumping it makes every target of the rule stale. */
  version: string;
  /** Texts to read, in order, each with what it is ("Profile of Nell Farrow"). */
  texts: { label: string; text: string }[];
  /** JSON Schema of the answer: what the provider is held to and what the answer is checked against. */
  schema: { name: string; schema: Record<string, JsonValue> };
  /** Gemini's media resolution for the images. */
  mediaResolution?: "low" | "medium" | "high";
}

/** What a rule emits for one image (or, with `read`, one JSON answer). Plain data: parse results are cached between builds. */
export interface TargetSpec {
  /** Stable, path-like, unique across the workspace: `chapters/<slug>/<custom_id>`. */
  id: string;
  /** Name of the rule that emitted it; its `writeBack` applies results. */
  rule: string;
  source: SourceLocation;
  prompt: PromptIR;
  references: ReferenceInput[];
  /** References the rule could not resolve to a file (a dangling id), with why. */
  unresolved?: string[];
  /** Inventory ids not listed yet: another target's output, or unresolved (see UnlistedReference). */
  unlisted?: UnlistedReference[];
  requested: RequestedSettings;
  /** Workspace-relative output path; a data target's is `dataOutput(id)`, a name no file has (its answer goes into the YAML). */
  output: string;
  /**
   * Data targets whose answers this target's prompt reads (a character's appearance): built
   * first; when one of them writes in a build, this target is planned again, not built on the old text.
   */
  after?: string[];
  /** A data target: a model reads its references and these texts into a JSON answer, which the write-back puts into the YAML. */
  read?: ReadPart;
  /** Rule-owned data handed back to the rule's `writeBack` (e.g. how to find the entry again). */
  writeBack?: JsonValue;
}

/** A target's life in one build: an explicit state machine (see graph/executor.ts for transitions). */
export type TargetStatus =
  | "fresh" // key and output match the lock: nothing to do
  | "stale" // needs building (reasons say why)
  | "modified" // the output on disk is not what chargen wrote; left alone without --force
  | "built" // generated by a provider in this build
  | "cached" // restored from the content-addressed store, no provider call
  | "failed" // this build tried and failed
  | "skipped" // not run: its provider was stopped, an upstream failed, fail-fast or Ctrl-C
  | "adopted" // an image the workspace already recorded, taken as its output: no provider call
  | "accepted" // its current output recorded as fresh under today's inputs (chargen accept)
  | "pending"; // not run: an unfinished batch job brings it ("in batch <job>, submitted <time>")
