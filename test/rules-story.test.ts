import { describe, expect, it } from "vitest";
import { chapterImages, defineRules, sceneSpecs, storyElements } from "../src/index.js";
import { plan, spec, workspaceWith, writeFile } from "./fixtures/rules/harness.js";

const rules = defineRules({ rules: [chapterImages(), storyElements(), sceneSpecs()], defaults: { provider: "placeholder" } });

const ELEMENTS = [
  "characters:",
  "  - slug: nell-farrow",
  "    name: Nell Farrow",
  "    kind: character",
  "    appearance: A wiry girl of twelve, salt-stiff braid, oilskin coat two sizes too big.",
  "    visual_consistency: [copper braid, oilskin coat]",
  "    chapters: [ch01-grey-tide]",
  "  - slug: tobias",
  "    name: Tobias",
  "    appearance: An old keeper, white beard.",
  "places: []",
  "",
].join("\n");

function book(): string {
  return workspaceWith({
    "story/elements.yaml": ELEMENTS,
    "chapters/ch01-grey-tide/content.md": "---\ntitle: The Grey Tide\nchapter_number: 1\n---\n\nFog came in early.\n",
    "chapters/ch01-grey-tide/imagery.yaml": "metadata:\n  slug: ch01-grey-tide\nimages: []\n",
    "chapters/ch02-marker/content.md": "---\ntitle: The Marker\nchapter_number: 2\n---\n\nThe stone showed green.\n",
    "chapters/ch02-marker/imagery.yaml": "metadata:\n  slug: ch02-marker\nimages: []\n",
  });
}

describe("story rules", () => {
  it("an elements reading per chapter; one specification per chapter, after the elements readings of its chapter and the earlier ones, reading the chapter and only its own elements", () => {
    const a = plan(book(), rules);
    expect(a.diagnostics).toEqual([]);
    expect(a.targets.map((t) => [t.id, t.after ?? []])).toEqual([
      ["chapters/ch01-grey-tide/elements", []],
      ["chapters/ch02-marker/elements", []],
      ["chapters/ch01-grey-tide/scene-specs", ["chapters/ch01-grey-tide/elements"]],
      ["chapters/ch02-marker/scene-specs", ["chapters/ch01-grey-tide/elements", "chapters/ch02-marker/elements"]],
    ]);
    expect(spec(a, "chapters/ch01-grey-tide/elements").read!.texts.map((t) => t.label)).toEqual(["Chapter 1: The Grey Tide (slug ch01-grey-tide)"]);
    expect(spec(a, "chapters/ch02-marker/elements").read!.texts.map((t) => t.label)).toEqual(["Chapter 2: The Marker (slug ch02-marker)"]);
    const ch1 = spec(a, "chapters/ch01-grey-tide/scene-specs").read!;
    expect(ch1.texts[0]!.text).toBe(
      "- nell-farrow: Nell Farrow, character. A wiry girl of twelve, salt-stiff braid, oilskin coat two sizes too big.\n- tobias: Tobias, character. An old keeper, white beard.\n",
    );
    expect(ch1.texts[1]).toEqual({ label: "Chapter 1: The Grey Tide (slug ch01-grey-tide)", text: "Fog came in early.\n" });
    // Nell is listed in chapter 1 only; Tobias lists no chapter: he is the whole book's.
    expect(spec(a, "chapters/ch02-marker/scene-specs").read!.texts[0]!.text).toBe("- tobias: Tobias, character. An old keeper, white beard.\n");
  });

  it("a chapter the author specified is not read; an entry chargen wrote is an image after its chapter's reading, its prompt carrying the elements' identity", () => {
    const root = book();
    writeFile(
      root,
      "chapters/ch02-marker/imagery.yaml",
      ["metadata:", "  slug: ch02-marker", "images:", "  - custom_id: mine", "    prompt_used: A green stone at low water.", ""].join("\n"),
    );
    writeFile(
      root,
      "chapters/ch01-grey-tide/imagery.yaml",
      [
        "metadata:",
        "  slug: ch01-grey-tide",
        "images:",
        "  - custom_id: ch01-grey-tide-fog",
        "    moment: Fog at the jetty",
        "    prompt_used: A girl rows into the fog.",
        "    depicts_characters: [nell-farrow]",
        "chargen:",
        "  images:",
        "    ch01-grey-tide-fog: 0123456789abcdef",
        "",
      ].join("\n"),
    );
    const a = plan(root, rules);
    expect(a.diagnostics).toEqual([]);
    expect(a.targets.map((t) => [t.id, t.after ?? []])).toEqual([
      ["chapters/ch01-grey-tide/ch01-grey-tide-fog", ["chapters/ch01-grey-tide/elements", "chapters/ch01-grey-tide/scene-specs"]],
      ["chapters/ch02-marker/mine", []],
      ["chapters/ch01-grey-tide/elements", []],
      ["chapters/ch02-marker/elements", []],
      ["chapters/ch01-grey-tide/scene-specs", ["chapters/ch01-grey-tide/elements"]],
    ]);
    const image = spec(a, "chapters/ch01-grey-tide/ch01-grey-tide-fog");
    expect(image.prompt.parts.find((p) => p.role === "character:nell-farrow")?.text).toBe(
      "Character Nell Farrow. Appearance: A wiry girl of twelve, salt-stiff braid, oilskin coat two sizes too big. Always: copper braid; oilskin coat.",
    );
    // No portrait to reference, and nothing said missing: the elements file is all a book has of her.
    expect(image.references).toEqual([]);
    expect((image.writeBack as { record: { title: string } }).record.title).toBe("Fog at the jetty");
  });
});
