import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { digestText } from "../src/core/hash.js";
import { isChargenError } from "../src/core/errors.js";
import { matterKind } from "../src/story/book.js";
import { layoutWorkspace } from "../src/story/layout.js";
import { readBook } from "../src/story/sources.js";
import { sampleEpub } from "./support/epub.js";
import { scratchDir } from "./support/tmp.js";

function folderOf(files: Record<string, string>): string {
  const dir = scratchDir("chargen-book-");
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe("reading a book", () => {
  it("an EPUB: chapters in spine order with their contents titles; cover, title page, copyright, non-linear pages and back matter skipped and said why", async () => {
    const dir = scratchDir("chargen-epub-");
    writeFileSync(join(dir, "book.epub"), sampleEpub());
    const book = await readBook(join(dir, "book.epub"));
    expect(book.title).toBe("The Lamp at Low Water");
    expect(book.chapters.map((c) => [c.number, c.slug, c.title, c.source])).toEqual([
      [1, "the-grey-tide", "Chapter 1: The Grey Tide", "book.epub#OEBPS/ch1.xhtml"],
      [2, "the-drowned-marker", "Chapter 2: The Drowned Marker", "book.epub#OEBPS/ch2.xhtml"],
      [3, "lamplight", "Chapter 3: Lamplight", "book.epub#OEBPS/ch10.xhtml"],
    ]);
    expect(book.chapters[0]!.text).toBe("# The Grey Tide\n\nFog came in _early_ that year.\n\nNell rowed out.\n");
    expect(book.chapters[0]!.digest).toBe(digestText(book.chapters[0]!.text));
    expect(book.skipped).toEqual([
      { source: "book.epub#OEBPS/cover.xhtml", title: "cover.xhtml", reason: "front or back matter (epub:type cover)" },
      { source: "book.epub#OEBPS/title.xhtml", title: "Title Page", reason: "front or back matter (title page)" },
      { source: "book.epub#OEBPS/copyright.xhtml", title: "copyright.xhtml", reason: "front or back matter (epub:type copyright-page)" },
      { source: "book.epub#OEBPS/notes.xhtml", title: "notes.xhtml", reason: 'outside the reading order (linear="no")' },
      { source: "book.epub#OEBPS/ack.xhtml", title: "Acknowledgements", reason: "front or back matter (acknowledgements)" },
      { source: "book.epub#OEBPS/author.xhtml", title: "About the Author", reason: "front or back matter (about the author)" },
    ]);
    // The parser's copies of images and stylesheets go to a temporary folder, removed after.
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith("chargen-epub-") && existsSync(join(tmpdir(), f, "OEBPS_cover.jpg")))).toEqual([]);
  });

  it("a file that is not an EPUB is a user error naming it", async () => {
    const dir = folderOf({ "broken.epub": "PK\u0003\u0004 not really a zip" });
    const error = await readBook(join(dir, "broken.epub")).catch((e: unknown) => e);
    expect(isChargenError(error) && error.kind).toBe("user");
    expect((error as Error).message).toContain("broken.epub: not an EPUB chargen can read");
  });

  it("a folder of markdown and text chapters: natural order of names, titles from front matter, heading, first line or file name", async () => {
    const dir = folderOf({
      "10-finale.md": "# The End\n\nIt ended.\n",
      "2-middle.txt": "The Middle Watch\n\nThey kept watch.\n",
      "1-start.md": "---\ntitle: A Beginning\n---\nFog.\r\n",
      "00-acknowledgements.md": "# Acknowledgements\n\nThanks.\n",
      "README.md": "# How to read this\n\nIn order.\n",
      "3-plain.txt": "No title line here, a sentence.\nMore.\n",
      "notes.json": "{}",
    });
    const book = await readBook(dir);
    expect(book.chapters.map((c) => [c.number, c.slug, c.title, c.source, c.text])).toEqual([
      [1, "a-beginning", "A Beginning", "1-start.md", "Fog.\n"],
      [2, "the-middle-watch", "The Middle Watch", "2-middle.txt", "The Middle Watch\n\nThey kept watch.\n"],
      [3, "plain", "Plain", "3-plain.txt", "No title line here, a sentence.\nMore.\n"],
      [4, "the-end", "The End", "10-finale.md", "# The End\n\nIt ended.\n"],
    ]);
    expect(book.skipped).toEqual([
      { source: "00-acknowledgements.md", title: "Acknowledgements", reason: "front or back matter (acknowledgements)" },
      { source: "README.md", title: "How to read this", reason: "not a chapter (a README)" },
    ]);
  });

  it("a MemoryQuill workspace: chapters/*/content.md by folder, character profiles and location descriptions as element sources", async () => {
    const dir = folderOf({
      "chapters/ch10-later/content.md": "---\ntitle: \"Later\"\nchapter_number: 10\n---\n\n# Chapter 10 – Later\n\nText.\n",
      "chapters/ch02-first/content.md": "# First Light\n\nMorning.\n",
      "chapters/ch03-no-text/imagery.yaml": "images: []\n",
      "characters/nell-farrow/profile.md": '---\nname: "Nell Farrow"\n---\n# Nell Farrow – Profile\n\nCopper hair.\n',
      "characters/osric/profile.md": "# Osric Vane – Profile\n\nTall.\n",
      "characters/no-profile/imagery.yaml": "slug: no-profile\n",
      "locations/harbour/description.md": "# The Harbour – Physical Description\n\nStone quays.\n",
    });
    const book = await readBook(dir);
    expect(book.chapters.map((c) => [c.number, c.slug, c.title, c.source])).toEqual([
      [1, "ch02-first", "First Light", "chapters/ch02-first/content.md"],
      [2, "ch10-later", "Later", "chapters/ch10-later/content.md"],
    ]);
    expect(book.chapters[1]!.text).toBe("# Chapter 10 – Later\n\nText.\n");
    expect(book.elements.map((e) => [e.kind, e.slug, e.name, e.source, e.text])).toEqual([
      ["character", "nell-farrow", "Nell Farrow", "characters/nell-farrow/profile.md", "# Nell Farrow – Profile\n\nCopper hair.\n"],
      ["character", "osric", "Osric Vane", "characters/osric/profile.md", "# Osric Vane – Profile\n\nTall.\n"],
      ["location", "harbour", "The Harbour", "locations/harbour/description.md", "# The Harbour – Physical Description\n\nStone quays.\n"],
    ]);
  });

  it("the real workspace sample reads its chapter and element texts", async (ctx) => {
    const real = join(import.meta.dirname, "..", "..", "shared", "real-world", "story-content");
    if (!existsSync(real)) return ctx.skip("skipped: ../shared/real-world is absent (a fresh clone)");
    const book = await readBook(real);
    expect(book.chapters.map((c) => [c.slug, c.title])).toEqual([["ch01-ash-and-compass", "Ash and Compass"]]);
    expect(book.chapters[0]!.text).toMatch(/^> \[EPIGRAPH\]/);
    // Laid out again (init --from-book on a workspace), its numbered folder is renumbered, not numbered twice.
    expect(layoutWorkspace(book).map((f) => f.path)).toEqual(["chargen.rules.ts", "story/elements.yaml", "chapters/ch01-ash-and-compass/content.md", "chapters/ch01-ash-and-compass/imagery.yaml"]);
    expect(book.elements.map((e) => [e.kind, e.slug, e.name])).toEqual([
      ["character", "borin-stonehand", "Borin Stonehand"],
      ["character", "veyra-thornwake", "Veyra Thornwake"],
      ["location", "azure-pavilion", "Azure Pavilion"],
    ]);
  });

  it("front and back matter titles, and chapter titles that only look like them", () => {
    expect(["Cover", "Table of Contents", "Copyright Page", "Acknowledgments", "About the Author", "Also by Jane Doe", "Title Page", "Dedication", "Author's Note"].map(matterKind)).toEqual([
      "cover",
      "contents",
      "copyright",
      "acknowledgements",
      "about the author",
      "also by",
      "title page",
      "dedication",
      "afterword",
    ]);
    expect(["Prologue", "Epilogue", "The Cover of Night", "Chapter 1: Contents of a Drowned Box", "Notes from the Lighthouse"].map(matterKind)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
