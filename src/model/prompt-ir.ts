/**
 * The Prompt IR: the normalised structure a prompt is rendered from. It is what the key hashes,
 * so it holds only what reaches the provider, in a fixed order, with whitespace normalised.
 */
export interface PromptPart {
  /** What this part is, for explanations: "prompt", "style", "consistency", "character", ... */
  role: string;
  text: string;
  /**
   * A references section as chargen words it, for references used this way (rules/sections.ts
   * referenceSection): made again for the references sent when some are left out. Not an input of
   * the key (the text is).
   */
  referenceMode?: "character" | "scene" | "location";
}

export interface PromptIR {
  /** Version of the compiler that produced the IR; bump it when rendering changes. */
  compiler: string;
  parts: PromptPart[];
  negative: string[];
}

/** Collapse runs of spaces and trim each line, so re-indenting YAML does not change the prompt. */
export function normaliseText(text: string): string {
  return text
    .split(/\r?\n/)
    .map((line) => line.replace(/[ \t]+/g, " ").trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

export function part(role: string, text: unknown): PromptPart[] {
  if (typeof text !== "string" && typeof text !== "number") return [];
  const t = normaliseText(String(text));
  return t ? [{ role, text: t }] : [];
}

export function renderPrompt(ir: PromptIR): string {
  return ir.parts.map((p) => p.text).join("\n\n");
}

export function renderNegative(ir: PromptIR): string {
  return ir.negative.join(", ");
}
