import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readBook } from "../src/story/sources.js";
import { applySceneSpecs } from "../src/story/write-back.js";
import { YamlEditor } from "../src/yaml/edit.js";
import { buildJson, chargen } from "./support/cli.js";
import { sampleEpub } from "./support/epub.js";
import { scratchDir } from "./support/tmp.js";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => f.split("\\").join("/"))
    .sort();
}

describe("chargen init --from-book", () => {
  it("lays out an EPUB: one folder per chapter in spine order, content.md and a chapter YAML with no images; prints what it skipped", async () => {
    const dir = scratchDir("chargen-init-");
    writeFileSync(join(dir, "book.epub"), sampleEpub());
    const r = await chargen(dir, ["init", "--from-book", "book.epub", "story"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'skipped book.epub#OEBPS/cover.xhtml "cover.xhtml": front or back matter (epub:type cover)',
        'skipped book.epub#OEBPS/title.xhtml "Title Page": front or back matter (title page)',
        'skipped book.epub#OEBPS/copyright.xhtml "copyright.xhtml": front or back matter (epub:type copyright-page)',
        'skipped book.epub#OEBPS/notes.xhtml "notes.xhtml": outside the reading order (linear="no")',
        'skipped book.epub#OEBPS/ack.xhtml "Acknowledgements": front or back matter (acknowledgements)',
        'skipped book.epub#OEBPS/author.xhtml "About the Author": front or back matter (about the author)',
        "laid out 3 chapters, 6 parts skipped in story: 8 files",
        "",
      ].join("\n"),
    );
    const story = join(dir, "story");
    expect(filesUnder(story)).toEqual([
      "chapters/ch01-the-grey-tide/content.md",
      "chapters/ch01-the-grey-tide/imagery.yaml",
      "chapters/ch02-the-drowned-marker/content.md",
      "chapters/ch02-the-drowned-marker/imagery.yaml",
      "chapters/ch03-lamplight/content.md",
      "chapters/ch03-lamplight/imagery.yaml",
      "chargen.rules.ts",
      "story/elements.yaml",
    ]);
    expect(readFileSync(join(story, "chapters/ch01-the-grey-tide/content.md"), "utf8")).toBe(
      [
        "---",
        'title: "Chapter 1: The Grey Tide"',
        "chapter_number: 1",
        "chapter_slug: ch01-the-grey-tide",
        "source: book.epub#OEBPS/ch1.xhtml",
        "---",
        "",
        "# The Grey Tide",
        "",
        "Fog came in _early_ that year.",
        "",
        "Nell rowed out.",
        "",
      ].join("\n"),
    );
    expect(readFileSync(join(story, "chapters/ch03-lamplight/imagery.yaml"), "utf8")).toBe(
      [
        "# Image specifications of this chapter: chargen's story rules write images[] from content.md.",
        "metadata:",
        "  entity_type: chapter-imagery",
        "  slug: ch03-lamplight",
        "  chapter_number: 3",
        '  chapter_title: "Chapter 3: Lamplight"',
        "images: []",
        "",
      ].join("\n"),
    );
    // Read back as a workspace, every chapter is the same text (same digest) and title.
    const book = await readBook(join(dir, "book.epub"));
    const laidOut = await readBook(story);
    expect(laidOut.chapters.map((c) => [c.title, c.digest])).toEqual(book.chapters.map((c) => [c.title, c.digest]));
    // The laid-out workspace's rules read it: each chapter's elements and specification to read, no image known yet, no diagnostic.
    const plan = await chargen(story, ["build", "--dry-run", "--json"]);
    expect(plan.code).toBe(0);
    const report = JSON.parse(plan.stdout) as { targets: { id: string; status: string }[]; diagnostics: unknown[] };
    expect(report.diagnostics).toEqual([]);
    expect(report.targets.map((t) => [t.id, t.status])).toEqual([
      ["chapters/ch01-the-grey-tide/elements", "stale"],
      ["chapters/ch02-the-drowned-marker/elements", "stale"],
      ["chapters/ch03-lamplight/elements", "stale"],
      ["chapters/ch01-the-grey-tide/scene-specs", "stale"],
      ["chapters/ch02-the-drowned-marker/scene-specs", "stale"],
      ["chapters/ch03-lamplight/scene-specs", "stale"],
    ]);
  });

  it("a folder of markdown chapters, with -n: prints the files it would write and writes none", async () => {
    const dir = scratchDir("chargen-init-");
    mkdirSync(join(dir, "book"));
    writeFileSync(join(dir, "book", "02-second.md"), "# Second Tide\n\nWater.\n");
    writeFileSync(join(dir, "book", "01-first.md"), "# First Tide\n\nFog.\n");
    writeFileSync(join(dir, "book", "99-about-the-author.md"), "# About the Author\n\nShe writes.\n");
    const dry = await chargen(dir, ["init", "-n", "--from-book", "book"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(
      [
        'skipped 99-about-the-author.md "About the Author": front or back matter (about the author)',
        "would write chargen.rules.ts",
        "would write story/elements.yaml",
        "would write chapters/ch01-first-tide/content.md",
        "would write chapters/ch01-first-tide/imagery.yaml",
        "would write chapters/ch02-second-tide/content.md",
        "would write chapters/ch02-second-tide/imagery.yaml",
        "would lay out 2 chapters, 1 part skipped in . (nothing written)",
        "",
      ].join("\n"),
    );
    expect(filesUnder(dir)).toEqual(["book/01-first.md", "book/02-second.md", "book/99-about-the-author.md"]);

    const real = await chargen(dir, ["init", "--from-book", "book"]);
    expect(real.code).toBe(0);
    expect(filesUnder(dir).filter((f) => f.startsWith("chapters/"))).toEqual([
      "chapters/ch01-first-tide/content.md",
      "chapters/ch01-first-tide/imagery.yaml",
      "chapters/ch02-second-tide/content.md",
      "chapters/ch02-second-tide/imagery.yaml",
    ]);
  });

  it("refuses to overwrite: one existing file and nothing is written, exit 2 with the file named", async () => {
    const dir = scratchDir("chargen-init-");
    writeFileSync(join(dir, "book.epub"), sampleEpub());
    mkdirSync(join(dir, "chapters", "ch02-the-drowned-marker"), { recursive: true });
    writeFileSync(join(dir, "chapters", "ch02-the-drowned-marker", "imagery.yaml"), "# mine\n");
    const r = await chargen(dir, ["init", "--from-book", "book.epub"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("chargen: chapters/ch02-the-drowned-marker/imagery.yaml: already exists; init --from-book writes only new files, so nothing was written\n");
    expect(filesUnder(dir)).toEqual(["book.epub", "chapters/ch02-the-drowned-marker/imagery.yaml"]);
    expect(readFileSync(join(dir, "chapters", "ch02-the-drowned-marker", "imagery.yaml"), "utf8")).toBe("# mine\n");
  });

  it("usage: --from-book is required; a book that is not one is an input error naming it", async () => {
    const dir = scratchDir("chargen-init-");
    const missing = await chargen(dir, ["init"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.split("\n")[0]).toBe("chargen init: needs --from-book FILE (an .epub file, or a folder of chapters)");
    writeFileSync(join(dir, "notes.pdf"), "%PDF-1.4");
    const wrong = await chargen(dir, ["init", "--from-book", "notes.pdf"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toBe("chargen: notes.pdf: not a book chargen reads (an .epub file, or a folder of .md / .txt chapters)\n");
  });

  it("a specification written into a laid-out chapter is image targets: built once, the second build makes 0 calls, an edited entry is the author's and rebuilds only its image", async () => {
    const dir = scratchDir("chargen-init-");
    mkdirSync(join(dir, "book"));
    writeFileSync(join(dir, "book", "01-first.md"), "# First Tide\n\nFog over the jetty.\n");
    expect((await chargen(dir, ["init", "--from-book", "book"])).code).toBe(0);
    writeFileSync(join(dir, "chargen.rules.ts"), 'import builtIn from "chargen/rules";\nexport default { ...builtIn, defaults: { ...builtIn.defaults, provider: "placeholder", model: "placeholder-1" } };\n');
    const file = "chapters/ch01-first-tide/imagery.yaml";
    const entry = (moment: string) => ({
      moment,
      narrative_beat: "Fog comes in.",
      image_type: "hero" as const,
      scene_mood: "ominous" as const,
      mood_rationale: "Fog threatens.",
      aspect_ratio: "16:9",
      visual_description: "A jetty in fog.",
      composition_notes: "Low horizon.",
      visual_hook: "A lamp.",
      depicts_characters: [],
      character_states: [],
      location: null,
      zone: null,
      lighting: { primary_source: "dusk", quality: "soft", direction: "behind", color_temperature: "cool", shadow_depth: "deep", atmospheric: "fog" },
      palette: { dominant: ["pewter"], accent: ["amber"], avoid: [] },
      prompt_used: `${moment}: a wooden jetty in rolling fog at dusk, one lamp.`,
      negative_prompt: "text",
      tags: [],
    });
    const specs = { images: [entry("Fog at the jetty"), entry("The lamp")] };
    const write = () => {
      const editor = YamlEditor.parse(readFileSync(join(dir, file), "utf8"), file);
      const outcomes = applySceneSpecs(editor, "ch01-first-tide", specs);
      writeFileSync(join(dir, file), editor.toString());
      return outcomes.map((o) => `${o.id} ${o.status}`);
    };
    expect(write()).toEqual(["ch01-first-tide-fog-at-the-jetty added", "ch01-first-tide-the-lamp added"]);
    const first = await buildJson(dir);
    expect(first.code).toBe(0);
    expect(first.calls.sort()).toEqual(["chapters/ch01-first-tide/ch01-first-tide-fog-at-the-jetty", "chapters/ch01-first-tide/ch01-first-tide-the-lamp"]);

    // The image write-back filled the entries' output fields: the same answer again is no change.
    expect(write()).toEqual(["ch01-first-tide-fog-at-the-jetty unchanged", "ch01-first-tide-the-lamp unchanged"]);
    expect((await buildJson(dir)).calls).toEqual([]);

    // The author edits one prompt: that entry is theirs from now on, and only its image is rebuilt.
    writeFileSync(join(dir, file), readFileSync(join(dir, file), "utf8").replace("The lamp: a wooden jetty", "The lamp: a brass lamp on a wooden jetty"));
    expect(write()).toEqual(["ch01-first-tide-fog-at-the-jetty unchanged", "ch01-first-tide-the-lamp modified"]);
    expect((await buildJson(dir)).calls).toEqual(["chapters/ch01-first-tide/ch01-first-tide-the-lamp"]);
    expect(readFileSync(join(dir, file), "utf8")).toContain("The lamp: a brass lamp on a wooden jetty");
  });
});
