import { describe, expect, it } from "vitest";
import { referenceBudget } from "../src/graph/budget.js";
import type { ModelSettings, ReferenceInput, TargetSpec } from "../src/model/target.js";
import { referenceSection, referencesOverLimit, withoutReferences } from "../src/rules/sections.js";
import type { RuleSet } from "../src/rules/api.js";

const ref = (path: string, role: string): ReferenceInput => ({ path, role, label: path.toUpperCase() });
const settings = (provider: string, model: string) => ({ provider, model, format: "png", n: 1 }) as unknown as ModelSettings;

describe("reference images per request", () => {
  it("is a catalog fact per model (Gemini 14, OpenAI images.edit 16), which the rules may lower per provider or model", () => {
    const rules = { rules: [] } as RuleSet;
    expect(referenceBudget(settings("google", "gemini-3-pro-image-preview"), rules)).toBe(14);
    expect(referenceBudget(settings("google", "gemini-2.5-flash-image"), rules)).toBe(14);
    expect(referenceBudget(settings("openai", "gpt-image-1.5"), rules)).toBe(16);
    expect(referenceBudget(settings("placeholder", "placeholder-1"), rules)).toBeUndefined();
    const lowered = { rules: [], providers: { google: { maxReferenceImages: 6, models: { "gemini-2.5-flash-image": { maxReferenceImages: 3 } } } } } as RuleSet;
    expect(referenceBudget(settings("google", "gemini-3-pro-image-preview"), lowered)).toBe(6);
    expect(referenceBudget(settings("google", "gemini-2.5-flash-image"), lowered)).toBe(3);
    // It lowers the published limit, never raises it.
    const raised = { rules: [], providers: { google: { maxReferenceImages: 20 }, placeholder: { maxReferenceImages: 5 } } } as RuleSet;
    expect(referenceBudget(settings("google", "gemini-3-pro-image-preview"), raised)).toBe(14);
    expect(referenceBudget(settings("placeholder", "placeholder-1"), raised)).toBe(5);
  });

  it("leaves out style first, then the place, then further images of a character, then (last) who is depicted; later before earlier", () => {
    const refs = [ref("a1", "character:a"), ref("a2", "character:a"), ref("style", "style"), ref("b1", "character:b"), ref("place", "location:x"), ref("b2", "character:b")];
    const out = (limit: number) => referencesOverLimit(refs, limit).map((i) => refs[i]!.path);
    expect(out(6)).toEqual([]);
    expect(out(5)).toEqual(["style"]);
    expect(out(4)).toEqual(["style", "place"]);
    expect(out(3)).toEqual(["style", "place", "b2"]);
    expect(out(2)).toEqual(["a2", "style", "place", "b2"]);
    expect(out(1)).toEqual(["a2", "style", "b1", "place", "b2"]);
  });

  it("renumbers the references section for what is sent; a section the rules worded otherwise goes", () => {
    const refs = [ref("a1", "character:a"), ref("style", "style"), ref("b1", "character:b")];
    const spec = (wording?: (t: string) => string): TargetSpec => {
      const section = referenceSection(wording ? { references: wording } : {}, "scene", refs, new Map());
      return { id: "t", rule: "r", source: { file: "f.yaml", line: 1, column: 1 }, references: section.references, requested: {}, output: "t.png", prompt: { compiler: "c", parts: [{ role: "scenario", text: "A quay." }, ...section.parts], negative: [] } };
    };
    const fitted = withoutReferences(spec(), [1]);
    expect(fitted.references.map((r) => r.path)).toEqual(["a1", "b1"]);
    expect(fitted.prompt.parts[1]!.text.split("\n")[0]).toBe("Reference images attached, in order: image 1, A1; image 2, B1.");
    // The style reference left out, the word on style references goes with it.
    expect(fitted.prompt.parts[1]!.text.split("\n").slice(1)).toEqual(spec().prompt.parts[1]!.text.split("\n").slice(1, 2));
    const worded = withoutReferences(spec(() => "Use the pictures."), [1]);
    expect(worded.prompt.parts.map((p) => p.role)).toEqual(["scenario"]);
    expect(withoutReferences(spec(), [])).toEqual(spec());
  });

  it("makes the section again from the references kept: one the boundary refused, or two sharing a path, change nothing else", () => {
    const refs = [ref("a1", "character:a"), ref("outside", "character:x"), ref("same", "character:b"), ref("same", "location:b"), ref("style", "style")];
    const section = referenceSection({}, "scene", refs, new Map());
    // The boundary took "outside" out of the references after the rule listed it (analyzer.ts withinWorkspace).
    const spec: TargetSpec = {
      id: "t", rule: "r", source: { file: "f.yaml", line: 1, column: 1 }, references: section.references.filter((r) => r.path !== "outside"), requested: {}, output: "t.png",
      prompt: { compiler: "c", parts: [{ role: "scenario", text: "A quay." }, ...section.parts], negative: [] },
    };
    const fitted = withoutReferences(spec, [2, 3]);
    expect(fitted.references.map((r) => [r.path, r.role])).toEqual([["a1", "character:a"], ["same", "character:b"]]);
    const lines = fitted.prompt.parts[1]!.text.split("\n");
    expect(lines[0]).toBe("Reference images attached, in order: image 1, A1; image 2, SAME.");
    // No style reference is sent now: no word on style references either.
    expect(lines.slice(1)).toEqual([section.parts[0]!.text.split("\n")[1]]);
  });
});
