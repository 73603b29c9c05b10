import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { slugify } from "../src/index.js";
import { copyWorkspace, plan, readFile, spec, workspaceWith, writeFile } from "./fixtures/rules/harness.js";

const IDEAS = "characters/mara-quill/image-ideas.yaml";

describe("character scenes", () => {
  it("plans one target per scene, id from its title, the character's reference portrait first", () => {
    const analysis = plan(copyWorkspace());
    const scenes = analysis.targets.filter((t) => t.rule === "character-scenes");
    expect(scenes.map((t) => t.id)).toEqual([
      "characters/mara-quill/soundings-at-dawn",
      "characters/mara-quill/the-chart-table",
      "characters/mara-quill/soundings-at-dawn-2",
    ]);
    const table = spec(analysis, "characters/mara-quill/the-chart-table");
    expect(table.output).toBe("characters/mara-quill/images/the-chart-table.png");
    expect(table.prompt.compiler).toBe("character-scene/2");
    // The flagged portrait, not the earlier approved sketch; then the other depicted character's.
    expect(table.references.map((r) => r.assetId)).toEqual(["mara-quill-portrait", "tobin-reed-portrait"]);
    expect(table.requested).toEqual({ size: "1024x1536", aspectRatio: "2:3" });
  });

  it("numbers a duplicate title and says so", () => {
    const analysis = plan(copyWorkspace());
    const d = analysis.diagnostics.find((x) => x.targetId === "characters/mara-quill/soundings-at-dawn-2");
    expect(d).toMatchObject({ severity: "warning", file: IDEAS, line: 27 });
    expect(d!.message).toContain('scenes[2] "Soundings at Dawn" has the same id as an earlier scene');
  });

  it("keeps ids and prompts when scenes are reordered", () => {
    const root = copyWorkspace();
    const before = plan(root);
    const data = parse(readFile(root, IDEAS));
    data.scenes = [data.scenes[1], data.scenes[0], data.scenes[2]];
    writeFile(root, IDEAS, stringify(data));
    const after = plan(root);
    const digests = (a: typeof before) => Object.fromEntries(a.targets.filter((t) => t.rule === "character-scenes").map((t) => [t.id, t.digests]));
    expect(digests(after)).toEqual(digests(before));
  });

  it("falls back to the first approved image no tool generated when no portrait is flagged, and reports a character with none", () => {
    const root = workspaceWith({
      "characters/ada/image-ideas.yaml": "character: {name: Ada}\nscenes:\n  - title: At the Window\n    scene: Ada at a window.\n",
      "characters/ada/imagery.yaml":
        "image_inventory:\n  - {id: a-draft, path: images/d.png, status: draft}\n  - {id: a-scene, path: images/scene.png, type: generated, status: approved}\n  - {id: a-ok, path: images/ok.png, status: approved}\n",
      "characters/ada/images/ok.png": "png",
      "characters/bo/image-ideas.yaml": "character: {name: Bo}\nscenes:\n  - title: Alone\n    scene: Bo alone.\n  - just text\n  - scene: no title here\n",
    });
    const a = plan(root);
    expect(spec(a, "characters/ada/at-the-window").references.map((r) => r.assetId)).toEqual(["a-ok"]);
    const bo = a.targets.find((t) => t.id === "characters/bo/alone")!;
    expect(bo.unresolved).toEqual(["portrait of character bo: there is no characters/bo/imagery.yaml, and there is no characters/bo/images/portrait.png"]);
    expect(a.diagnostics.filter((d) => d.file === "characters/bo/image-ideas.yaml").map((d) => `${d.line} ${d.severity} ${d.message}`)).toEqual([
      "3 warning image characters/bo/alone: the reference portrait of character bo resolves to nothing: there is no characters/bo/imagery.yaml, and there is no characters/bo/images/portrait.png",
      '5 error scenes[1] is a string ("just text"), not a scene',
      "6 error scenes[2]: no title to make its target id from",
    ]);
  });

  it("with no portrait in an inventory, or no inventory, takes the conventional images/portrait.png, as the earlier tool did", () => {
    const root = workspaceWith({
      "characters/cy/image-ideas.yaml": "character: {name: Cy}\nscenes:\n  - title: Alone\n    scene: Cy alone.\n",
      "characters/cy/images/portrait.png": "png",
      "characters/di/image-ideas.yaml": "character: {name: Di}\nscenes:\n  - title: Alone\n    scene: Di alone.\n",
      "characters/di/imagery.yaml": "image_inventory:\n  - {id: di-draft, path: images/d.png, status: draft}\n",
      "characters/di/images/portrait.png": "png",
    });
    const a = plan(root);
    expect(a.diagnostics).toEqual([]);
    expect(spec(a, "characters/cy/alone").references).toEqual([{ path: "characters/cy/images/portrait.png", role: "character:cy", label: "Cy: identity portrait" }]);
    expect(spec(a, "characters/di/alone").references).toEqual([{ path: "characters/di/images/portrait.png", role: "character:di", label: "Di: identity portrait" }]);
  });
});

describe("slugify", () => {
  it.each([
    ["Mercy and Judgment (Close-up)", "mercy-and-judgment-close-up"],
    ["Cid's Private Vantage", "cids-private-vantage"],
    ["Faerûn Nights", "faerun-nights"],
    ["  --  ", undefined],
  ])("%s -> %s", (title, slug) => expect(slugify(title)).toBe(slug));
});
