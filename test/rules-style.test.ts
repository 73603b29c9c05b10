import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Analysis } from "../src/graph/analyzer.js";
import { outputsByStem, resolveUnlisted } from "../src/graph/unlisted.js";
import { defineRules, locationImages, styleGlue } from "../src/index.js";
import { copyWorkspace, plan, readFile, spec, writeFile } from "./fixtures/rules/harness.js";

const ART = "core/09-project-art-direction.yaml";
const digests = (a: Analysis) => new Map(a.targets.map((t) => [t.id, t.digests]));

/** Targets whose prompt digests differ between two plans of the same workspace. */
function changed(before: Analysis, after: Analysis): string[] {
  const now = digests(after);
  return before.targets.filter((t) => JSON.stringify(t.digests) !== JSON.stringify(now.get(t.id))).map((t) => t.id).sort();
}

describe("style glue", () => {
  it("changing one mood's style makes stale exactly the compiled targets of that mood", () => {
    const root = copyWorkspace();
    const before = plan(root);
    writeFile(root, ART, readFile(root, ART).replace('primary: "grey wash studies"', 'primary: "charcoal fog studies"'));
    // Re-plan through the parse cache: only the art direction changed, and every rule read it through ctx.
    const after = plan(root, undefined, before.cache);

    // The three compiled targets whose mood is somber (a chapter scene_mood, a character scene's
    // mood text "Somber focus ...", the old mill's overview); prompt_used targets are never glued.
    expect(changed(before, after)).toEqual([
      "chapters/ch01-the-salt-road/ch01-img-02",
      "characters/mara-quill/the-chart-table",
      "locations/old-mill/overview",
    ]);
    for (const id of changed(before, after)) {
      const was = before.targets.find((t) => t.id === id)!.digests.prompt;
      const now = after.targets.find((t) => t.id === id)!.digests.prompt;
      // Only the injected art-direction part changed: --explain says "art-direction prompt changed".
      expect(Object.keys(was).filter((role) => was[role] !== now[role])).toEqual(["art-direction"]);
    }
    expect(after.targets).toHaveLength(before.targets.length);
  });

  it("gives each target only its own mood's style", () => {
    const analysis = plan(copyWorkspace());
    for (const t of analysis.targets) {
      const parts = spec(analysis, t.id).prompt.parts.filter((p) => p.role === "art-direction");
      expect(parts.length, t.id).toBeLessThanOrEqual(1);
      for (const p of parts) expect((p.text.match(/\((\w+) mood\)/g) ?? []).length, t.id).toBeLessThanOrEqual(1);
    }
    const chart = spec(analysis, "characters/mara-quill/the-chart-table").prompt.parts.find((p) => p.role === "art-direction");
    expect(chart?.text).toBe(
      "Medium: watercolour over graphite; cold-press paper grain; soft edges, no gloss.\nStyle (somber mood): grey wash studies; mourning etchings. Lots of empty paper around a small figure.",
    );
  });

  it("surrounds a ready prompt_used with the sections, unless the rules say onPromptUsed: false", () => {
    const id = "locations/gull-market/overview";
    const glued = spec(plan(copyWorkspace()), id).prompt;
    expect(glued.parts.map((p) => p.role)).toEqual(["prompt", "mood", "art-direction", "style"]);
    expect(glued.negative).toEqual(["text", "watermark", "signature", "logo", "distorted anatomy", "extra fingers", "duplicated faces", "photograph", "3D render", "neon colours"]);
    const plain = spec(plan(copyWorkspace(), defineRules({ rules: [locationImages({ style: styleGlue({ onPromptUsed: false }) })] })), id).prompt;
    expect(plain.parts.map((p) => p.role)).toEqual(["prompt"]);
    expect(plain.negative).toEqual(["text", "watermark"]);
  });

  it("takes per-kind style strings from one place, and works with no art direction at all", () => {
    const style = styleGlue({ artDirection: false, kinds: { exterior: "wide harbour view" }, negative: "blurry" });
    const analysis = plan(copyWorkspace(), defineRules({ rules: [locationImages({ style })] }));
    const fishRow = spec(analysis, "locations/gull-market/zones/fish-row").prompt;
    expect(fishRow.parts.filter((p) => ["style", "medium", "art-direction"].includes(p.role))).toEqual([{ role: "style", text: "wide harbour view" }]);
    expect(fishRow.negative).toEqual(["blurry", "sunshine", "modern signage"]);
  });

  it("re-plans when the art direction appears later (its absence was a tracked read)", () => {
    const root = copyWorkspace();
    const art = readFile(root, ART);
    rmSync(join(root, ART));
    const without = plan(root);
    writeFile(root, ART, art);
    const withArt = plan(root, undefined, without.cache);
    expect(changed(without, withArt)).toContain("locations/old-mill/overview");
  });

  it("finds the art direction by pattern (core/*art-direction*.yaml), whatever its number", () => {
    const root = copyWorkspace();
    const art = readFile(root, ART);
    const before = plan(root);
    rmSync(join(root, ART));
    writeFile(root, "core/12-house-art-direction.yaml", art);
    const renamed = plan(root, undefined, before.cache);
    expect(changed(before, renamed)).toEqual([]);
    expect(spec(renamed, "locations/old-mill/overview").prompt.parts.some((p) => p.role === "art-direction")).toBe(true);
  });
});

describe("theme reference images", () => {
  const STYLE_ONLY = "Style references show only the look to match: palette, light, brushwork and finish. Take no people, place, objects or composition from them.";
  const themed = () => {
    const root = copyWorkspace();
    // The first two in sorted order are used; a file that is not an image is not one of them.
    for (const name of ["hearth.png", "forest.jpg", "zz-harbour.png"]) writeFile(root, `theme-reference/${name}`, `image ${name}`);
    writeFile(root, "theme-reference/notes.txt", "where these came from");
    return root;
  };
  const style = (label: string) => ({ path: `theme-reference/${label}`, role: "style", label: `${label}: style reference (palette, light and rendering only)` });
  const referencesText = (s: ReturnType<typeof spec>) => s.prompt.parts.find((p) => p.role === "references")!.text;

  it("are style references of every target, after its identity and continuity references, and the prompt says to take only the look from them", () => {
    const root = themed();
    const before = plan(copyWorkspace());
    const a = plan(root);

    const chapter = spec(a, "chapters/ch01-the-salt-road/ch01-img-02");
    const own = spec(before, chapter.id).references;
    expect(own.length).toBeGreaterThan(0);
    expect(chapter.references).toEqual([...own, style("forest.jpg"), style("hearth.png")]);
    const n = own.length;
    expect(referencesText(chapter)).toContain(`image ${n + 1}, forest.jpg: style reference (palette, light and rendering only); image ${n + 2}, hearth.png: style reference`);
    // The scene's own instruction for its portraits, then the one for style.
    expect(referencesText(chapter)).toContain("Each portrait fixes one named character");
    expect(referencesText(chapter).endsWith(STYLE_ONLY)).toBe(true);

    const scene = spec(a, "characters/mara-quill/the-chart-table");
    expect(scene.references.at(0)).toEqual(spec(before, scene.id).references.at(0));
    expect(scene.references.slice(-2)).toEqual([style("forest.jpg"), style("hearth.png")]);

    // An image with no other reference: only the word on style, not the instruction for a place's references.
    const overview = spec(a, "locations/old-mill/overview");
    expect(spec(before, overview.id).references).toEqual([]);
    expect(overview.references).toEqual([style("forest.jpg"), style("hearth.png")]);
    expect(referencesText(overview)).toBe(
      `Reference images attached, in order: image 1, forest.jpg: style reference (palette, light and rendering only); image 2, hearth.png: style reference (palette, light and rendering only).\n${STYLE_ONLY}`,
    );
  });

  it("are a tracked read: adding one re-plans; without any, or with themeReferences: false, nothing changes", () => {
    const root = copyWorkspace();
    const before = plan(root);
    writeFile(root, "theme-reference/hearth.png", "image");
    const after = plan(root, undefined, before.cache);
    expect(spec(after, "locations/old-mill/overview").references).toEqual([style("hearth.png")]);
    const off = defineRules({ rules: [locationImages({ style: styleGlue({ themeReferences: false }) })] });
    expect(spec(plan(root, off), "locations/old-mill/overview").references).toEqual([]);
  });

  it("a resolved unlisted reference goes before them, where the prompt numbers it", () => {
    const target = {
      output: "chapters/c/images/c-1.png",
      references: [{ path: "characters/mara-quill/images/portrait.png", role: "character:mara-quill" }, style("hearth.png")],
      unlisted: [{ id: "the-chart-table", folder: "characters/mara-quill", role: "character:mara-quill", label: "Mara Quill: identity (the-chart-table)", unresolved: "", diagnostic: { severity: "warning" as const, file: "x", message: "" } }],
    };
    const resolved = resolveUnlisted(target, outputsByStem([{ output: "characters/mara-quill/images/the-chart-table.png" }]));
    expect(resolved.references.map((r) => r.path)).toEqual(["characters/mara-quill/images/portrait.png", "characters/mara-quill/images/the-chart-table.png", "theme-reference/hearth.png"]);
  });
});
