import type { ImageRequest } from "./types.js";

/** Neither Gemini nor OpenAI takes a negative prompt: it travels in the text, as an instruction. */
export function promptText(request: Pick<ImageRequest, "prompt" | "negativePrompt">): string {
  const avoid = request.negativePrompt.trim();
  return avoid ? `${request.prompt}\n\nAvoid: ${avoid}` : request.prompt;
}
