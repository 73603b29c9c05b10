import { describe, expect, it } from "vitest";
import { cutDigests, cutPrompt, promptBudget, promptSize, sectionsToCut, sentLength } from "../src/graph/budget.js";
import { promptDigests } from "../src/model/keys.js";
import type { ModelSettings } from "../src/model/target.js";
import { defineRules } from "../src/rules/api.js";
import { promptText } from "../src/providers/prompt-text.js";
import { renderNegative, renderPrompt, type PromptIR } from "../src/model/prompt-ir.js";

const ir: PromptIR = {
  compiler: "t/1",
  parts: [
    { role: "prompt", text: "a keeper on a jetty".repeat(5) },
    { role: "character:nell", text: "Nell: copper hair".repeat(4) },
    { role: "lighting", text: "Lighting: dusk".repeat(3) },
    { role: "mood", text: "Mood: quiet".repeat(3) },
    { role: "style", text: "gouache".repeat(3) },
    { role: "references", text: "image 1, Nell" },
  ],
  negative: ["text", "watermark"],
};
const settings = (provider: string, model: string): ModelSettings => ({ provider, model, format: "png", n: 1 });

describe("prompt length budget", () => {
  it("measures a prompt as providers receive it", () => {
    expect(sentLength(promptSize(ir))).toBe(promptText({ prompt: renderPrompt(ir), negativePrompt: renderNegative(ir) }).length);
  });

  it("cuts whole sections, lowest priority first, and never the scenario", () => {
    const size = promptSize(ir);
    const full = sentLength(size);
    expect(sectionsToCut(size, full)).toEqual([]);
    expect(sectionsToCut(size, full - 1)).toEqual(["mood"]);
    const afterMood = sentLength(promptSize(cutPrompt(ir, ["mood"])));
    expect(sectionsToCut(size, afterMood - 1)).toEqual(["mood", "style"]);
    // However small the budget, the scenario stays.
    const everything = sectionsToCut(size, 10);
    expect(everything).toEqual(["mood", "style", "lighting", "characters", "references"]);
    expect(cutPrompt(ir, everything).parts.map((p) => p.role)).toEqual(["prompt"]);
  });

  it("digests a trimmed record exactly as the trimmed prompt, so the key hashes what is sent", () => {
    const record = { digests: promptDigests(ir), promptSize: promptSize(ir) };
    const cut = cutDigests(record, ["mood", "characters"]);
    const trimmed = cutPrompt(ir, ["mood", "characters"]);
    expect(cut.digests).toEqual(promptDigests(trimmed));
    expect(cut.promptSize).toEqual(promptSize(trimmed));
  });

  it("takes published limits per provider and model, the rules' own first", () => {
    const rules = defineRules({ rules: [] });
    expect(promptBudget(settings("openai", "gpt-image-1.5"), 0, rules)).toBe(32000);
    expect(promptBudget(settings("openai", "dall-e-3"), 0, rules)).toBe(4000);
    expect(promptBudget(settings("google", "gemini-2.5-flash-image"), 0, rules)).toBe(32768 * 3);
    expect(promptBudget(settings("google", "gemini-3-pro-image-preview"), 2, rules)).toBe((65536 - 2 * 1290) * 3);
    // Workers AI: FLUX.1 schnell's input schema caps the prompt (by id or alias); the SD models' set no maximum.
    expect(promptBudget(settings("workers-ai", "@cf/black-forest-labs/flux-1-schnell"), 0, rules)).toBe(2048);
    expect(promptBudget(settings("workers-ai", "flux-schnell"), 0, rules)).toBe(2048);
    expect(promptBudget(settings("workers-ai", "@cf/stabilityai/stable-diffusion-xl-base-1.0"), 0, rules)).toBeUndefined();
    expect(promptBudget(settings("placeholder", "placeholder-1"), 0, rules)).toBeUndefined();
    const own = defineRules({ rules: [], providers: { openai: { maxPromptChars: 4000, models: { "gpt-image-1-mini": { maxPromptChars: 2000 } } } } });
    expect(promptBudget(settings("openai", "gpt-image-1.5"), 0, own)).toBe(4000);
    expect(promptBudget(settings("openai", "gpt-image-1-mini"), 0, own)).toBe(2000);
  });
});
