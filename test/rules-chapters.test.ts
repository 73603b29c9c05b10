import { describe, expect, it } from "vitest";
import { chapterImages, characterScenes, defineRules } from "../src/index.js";
import { copyWorkspace, plan, spec, workspaceWith } from "./fixtures/rules/harness.js";

const CH1 = "chapters/ch01-the-salt-road";
const FILE = `${CH1}/imagery.yaml`;

describe("chapter images", () => {
  const analysis = plan(copyWorkspace());

  it("keeps a ready prompt_used verbatim at the core, the other sections around it", () => {
    const s = spec(analysis, `${CH1}/ch01-img-01`);
    expect(s.prompt.parts[0]).toEqual({ role: "prompt", text: "Watercolour, a chart-maker kneels on a stone quay at dawn,\nlowering a knotted sounding line into misty water." });
    expect(s.prompt.parts.map((p) => p.role)).toEqual(["prompt", "character:mara-quill", "palette", "mood", "visual-thesis", "art-direction", "style", "references"]);
    // The defaults, the art direction's base and the entry's own, deduplicated.
    expect(s.prompt.negative.slice(-4)).toEqual(["photograph", "3D render", "neon colours", "crowds"]);
    // Settings from the file's generation_defaults; the entry's provider/model are output fields.
    expect(s.requested).toEqual({ provider: "openai", model: "dall-e-3", quality: "hd", size: "1792x1024", aspectRatio: "16:9" });
  });

  it("reports every dangling or missing reference at its depicts_characters line, with image and reference ids", () => {
    const refs = analysis.diagnostics.filter((d) => d.file === FILE).map((d) => `${d.line} ${d.targetId} ${d.message}`);
    expect(refs).toEqual([
      `62 ${CH1}/ch01-img-02 image ch01-img-02: reference "tobin-reed-portrait" (character tobin-reed) is characters/tobin-reed/images/portrait.png, which does not exist`,
      `83 ${CH1}/ch01-img-03 image ch01-img-03: the reference portrait of character the-stranger resolves to nothing: there is no characters/the-stranger/imagery.yaml, and there is no characters/the-stranger/images/portrait.png`,
      // An id no inventory lists is said last: only once every target is known is it clear that none makes it.
      `62 ${CH1}/ch01-img-02 image ch01-img-02: reference "tobin-reed-oar-study" (character tobin-reed) resolves to nothing: not an image_inventory id in characters/tobin-reed/imagery.yaml`,
    ]);
    // Dangling ids travel with the target (the engine fails or warns on them per missingReferences);
    // a missing file stays a reference, so the planner can say it is missing (or build it first).
    const img2 = analysis.targets.find((t) => t.id === `${CH1}/ch01-img-02`)!;
    expect(img2.unresolved).toEqual(['"tobin-reed-oar-study" (character tobin-reed): not an image_inventory id in characters/tobin-reed/imagery.yaml']);
    expect(img2.references.map((r) => r.path)).toEqual(["characters/mara-quill/images/portrait.png", "characters/tobin-reed/images/portrait.png"]);
  });

  it("takes at most N references per character, approved first", () => {
    const root = workspaceWith({
      "chapters/c/imagery.yaml": [
        "characters:",
        "  - ref: ada",
        "    reference_images: [ada-draft, ada-one, ada-two]",
        "images:",
        "  - custom_id: c-1",
        "    prompt_used: Ada.",
        "    depicts_characters: [ada]",
        "",
      ].join("\n"),
      "characters/ada/imagery.yaml": [
        "image_inventory:",
        "  - {id: ada-draft, path: images/draft.png, status: draft}",
        "  - {id: ada-one, path: images/one.png, status: approved}",
        "  - {id: ada-two, path: images/two.png, status: approved}",
        "  - {id: ada-gen, path: images/gen.png, status: approved, provenance: {target_id: characters/ada/x}}",
        "",
      ].join("\n"),
      "characters/ada/images/one.png": "1",
      "characters/ada/images/two.png": "2",
    });
    const two = spec(plan(root), "chapters/c/c-1");
    expect(two.references.map((r) => r.assetId)).toEqual(["ada-one", "ada-two"]);
    const one = spec(plan(root, defineRules({ rules: [chapterImages({ maxReferencesPerCharacter: 1 })] })), "chapters/c/c-1");
    expect(one.references.map((r) => r.assetId)).toEqual(["ada-one"]);
  });

  it("does not report a missing file that a target produces (a generated portrait): that is a graph edge", () => {
    const root = workspaceWith({
      "chapters/c/imagery.yaml": "characters:\n  - ref: ada\n    reference_images: [ada-gen]\nimages:\n  - custom_id: c-1\n    prompt_used: Ada.\n    depicts_characters: [ada]\n",
      "characters/ada/imagery.yaml": "image_inventory:\n  - {id: ada-gen, path: images/gen.png, status: approved, provenance: {target_id: characters/ada/gen}}\n",
    });
    const a = plan(root);
    expect(a.diagnostics).toEqual([]);
    expect(spec(a, "chapters/c/c-1").references).toEqual([{ path: "characters/ada/images/gen.png", role: "character:ada", assetId: "ada-gen", label: "Ada: identity portrait" }]);
  });

  it("an id no inventory lists that names another target's output in that character's folder is that output, while there is room", () => {
    const root = workspaceWith({
      "chapters/c/imagery.yaml": [
        "characters:",
        "  - ref: ada",
        "    reference_images: [ada-one, at-the-window, gone-too, at-the-door]",
        "images:",
        "  - custom_id: c-1",
        "    prompt_used: Ada.",
        "    depicts_characters: [ada]",
        "",
      ].join("\n"),
      "characters/ada/imagery.yaml": "image_inventory:\n  - {id: ada-one, path: images/one.png, status: approved}\n",
      "characters/ada/images/one.png": "1",
      "characters/ada/image-ideas.yaml": "character: {name: Ada}\nscenes:\n  - title: At the Window\n    scene: Ada at a window.\n  - title: At the Door\n    scene: Ada at a door.\n",
    });
    const a = plan(root, defineRules({ rules: [chapterImages({ maxReferencesPerCharacter: 3 })] }));
    // Without the scene rule nothing makes it: it resolves to nothing, said with the others.
    expect(a.targets[0]!.references.map((r) => r.assetId)).toEqual(["ada-one"]);
    expect(a.targets[0]!.unresolved).toEqual([
      '"at-the-door" (character ada): not an image_inventory id in characters/ada/imagery.yaml',
      '"at-the-window" (character ada): not an image_inventory id in characters/ada/imagery.yaml',
      '"gone-too" (character ada): not an image_inventory id in characters/ada/imagery.yaml',
    ]);

    const both = plan(root, defineRules({ rules: [chapterImages({ maxReferencesPerCharacter: 3 }), characterScenes()] }));
    const image = both.targets.find((t) => t.id === "chapters/c/c-1")!;
    // Two places left after the listed one: the scene's output, and an id that names nothing; the last id has no room.
    // Each labelled, as a listed one is: the label goes to the provider with the image.
    expect(image.references).toEqual([
      { path: "characters/ada/images/one.png", role: "character:ada", assetId: "ada-one", label: "Ada: identity portrait" },
      { path: "characters/ada/images/at-the-window.png", role: "character:ada", assetId: "at-the-window", label: "Ada: identity portrait" },
    ]);
    // The prompt's references section lists every image sent, in the order sent: the scene's output
    // too, last, where the listed id will stand after its write-back (so the prompt does not change then).
    expect(spec(both, "chapters/c/c-1").prompt.parts.at(-1)).toEqual({
      role: "references",
      referenceMode: "scene",
      text:
        "Reference images attached, in order: image 1, Ada: identity portrait; image 2, Ada: identity portrait.\n" +
        "Each portrait fixes one named character: draw every named person so that they are recognisable from their own portrait, and keep them distinct from one another, never blending two faces into one. " +
        "A place reference fixes architecture and materials; a style reference fixes only the rendering. Poses, actions, costume state, light and framing come from the text above.",
    });
    expect(image.unresolved).toEqual([
      '"at-the-door" (character ada): not an image_inventory id in characters/ada/imagery.yaml',
      '"gone-too" (character ada): not an image_inventory id in characters/ada/imagery.yaml',
    ]);
    expect(spec(both, "chapters/c/c-1").references).toEqual(image.references); // what a build sends is what the key says
    expect(both.diagnostics.filter((d) => d.file === "chapters/c/imagery.yaml").map((d) => d.message)).toEqual([
      'image c-1: reference "at-the-door" (character ada) resolves to nothing: not an image_inventory id in characters/ada/imagery.yaml',
      'image c-1: reference "gone-too" (character ada) resolves to nothing: not an image_inventory id in characters/ada/imagery.yaml',
    ]);
  });

  it("never takes a scene chargen generated as a character's portrait: a build's own write-back must not change its graph", () => {
    const root = workspaceWith({
      "chapters/c/imagery.yaml": "images:\n  - custom_id: c-1\n    prompt_used: Ada.\n    depicts_characters: [ada]\n",
      "characters/ada/imagery.yaml":
        "image_inventory:\n  - {id: scene, path: images/scene.png, status: approved, generation: {target_id: characters/ada/scene}}\n  - {id: ada-old, path: images/old.png, status: approved}\n",
      "characters/ada/images/old.png": "x",
    });
    expect(spec(plan(root), "chapters/c/c-1").references.map((r) => r.assetId)).toEqual(["ada-old"]);
  });

  it("names entries it cannot use", () => {
    const root = workspaceWith({
      "chapters/c/imagery.yaml": "images:\n  - custom_id: c-1\n    scene_mood: somber\n  - no map\n  - visual_description: no id\n",
    });
    expect(plan(root).diagnostics.map((d) => `${d.line} ${d.severity} ${d.message}`)).toEqual([
      "2 error image c-1: no prompt_used, and no visual_description to compile one from",
      '4 error images[1] is a string ("no map"), not an image entry',
      "5 error images[2]: missing required field custom_id",
    ]);
  });
});
