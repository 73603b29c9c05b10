import { describe, expect, it } from "vitest";
import { plan, workspaceWith } from "./fixtures/rules/harness.js";

/** What the rules make of hostile ids: `line message` of each diagnostic of `file`, and the ids planned. */
function planned(files: Record<string, string>, file: string) {
  const analysis = plan(workspaceWith(files));
  return {
    diagnostics: analysis.diagnostics.filter((d) => d.file === file).map((d) => `${d.line} ${d.severity} ${d.message}`),
    ids: analysis.targets.map((t) => t.id),
  };
}

describe("the rules at the workspace boundary", () => {
  it("chapters: an unsafe metadata.slug drops the file; an unsafe characters[].ref is reported and never read", () => {
    const slug = planned({ "chapters/c/imagery.yaml": 'metadata:\n  slug: "../c"\nimages:\n  - {custom_id: a, prompt_used: x}\n' }, "chapters/c/imagery.yaml");
    expect(slug).toEqual({ diagnostics: ['2 error metadata.slug "../c" is not a safe file name: it contains a path separator'], ids: [] });

    const ref = planned(
      {
        "chapters/c/imagery.yaml": 'characters:\n  - ref: "../../outside"\n    reference_images: [p]\nimages:\n  - custom_id: a\n    prompt_used: x\n    depicts_characters: ["../../outside"]\n',
      },
      "chapters/c/imagery.yaml",
    );
    expect(ref.diagnostics).toEqual([
      '2 error characters[0].ref "../../outside" is not a safe file name: it contains a path separator',
      '7 error image a: depicts_characters[0] "../../outside" is not a safe file name: it contains a path separator',
    ]);
    expect(ref.ids).toEqual(["chapters/c/a"]);
  });

  it("characters and locations: an id slug too long for a file name is an error for that entry alone", () => {
    const long = "word ".repeat(50);
    const scenes = planned(
      { "characters/ada/image-ideas.yaml": `character: {name: Ada}\nscenes:\n  - {title: "${long}", scene: x}\n  - {title: Short, scene: y}\n` },
      "characters/ada/image-ideas.yaml",
    );
    expect(scenes.diagnostics.filter((d) => d.includes("error"))).toEqual([
      `3 error scenes[0].title, as an id, "${"word-".repeat(49)}word" is not a safe file name: it is 249 bytes long, over the limit of 200`,
    ]);
    // Ada has no appearance yet: the built-in rules write one from her profile (its own target).
    expect(scenes.ids).toEqual(["characters/ada/short", "characters/ada/profile/appearance"]);

    const zones = planned(
      { "locations/l/imagery.yaml": `zones:\n  - {slug: "${long}", prompt_used: x}\n  - {slug: ok, prompt_used: y}\n` },
      "locations/l/imagery.yaml",
    );
    expect(zones.diagnostics.filter((d) => d.includes("error"))).toEqual([
      `2 error zones[0]: its id "${"word-".repeat(8)}…" is not a safe file name: it is 249 bytes long, over the limit of 200`,
    ]);
    expect(zones.ids).toEqual(["locations/l/zones/ok"]);
  });

  it("an inventory path is resolved against its character folder; one that leaves the workspace is an error at its line", () => {
    const r = planned(
      {
        "characters/ada/imagery.yaml": 'image_inventory:\n  - id: p\n    path: "../../../etc/passwd"\n    is_reference_portrait: true\n',
        "characters/ada/image-ideas.yaml": "character: {name: Ada}\nscenes:\n  - {title: One, scene: x}\n",
      },
      "characters/ada/imagery.yaml",
    );
    expect(r.diagnostics).toEqual(['3 error image_inventory "p": path "../../../etc/passwd" is refused: it leaves the workspace']);
    const analysis = plan(workspaceWith({ "characters/ada/imagery.yaml": 'image_inventory:\n  - {id: p, path: "../bea/images/p.png", is_reference_portrait: true}\n', "characters/ada/image-ideas.yaml": "character: {name: Ada}\nscenes:\n  - {title: One, scene: x}\n" }));
    expect(analysis.targets[0]!.references.map((x) => x.path)).toEqual(["characters/bea/images/p.png"]);
  });
});
