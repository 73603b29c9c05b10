/**
 * EPUB books, through @lingo-reader/epub-parser (maintained, typed, Node and browser, EPUB 2 and
 * 3; zip by jszip) for the container, package and spine, and node-html-markdown (no DOM needed)
 * for each spine document's XHTML -> markdown. Chapters come in spine order; front and back
 * matter is recognised by the spine (`linear="no"`, the navigation document), the package's
 * guide, the documents' `epub:type`, and then by title, and is reported, not read.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { initEpubFile, type EpubFile } from "@lingo-reader/epub-parser";
import JSZip from "jszip";
import { NodeHtmlMarkdown } from "node-html-markdown";
import { ChargenError } from "../core/errors.js";
import { firstHeading, matterKind, numberChapters, plainInline, type Book, type ChapterDraft, type Skipped } from "./book.js";

/** `epub:type` (and guide) values of documents that are not story (EPUB 3 Structural Semantics). */
const MATTER_TYPES = new Set([
  "cover",
  "titlepage",
  "title-page",
  "halftitlepage",
  "copyright-page",
  "copyright",
  "toc",
  "landmarks",
  "loi",
  "lot",
  "dedication",
  "epigraph",
  "acknowledgments",
  "acknowledgements",
  "foreword",
  "preface",
  "afterword",
  "colophon",
  "imprint",
  "contributors",
  "other-credits",
  "seriespage",
  "index",
  "glossary",
  "bibliography",
  "appendix",
  "endnotes",
  "rearnotes",
  "footnotes",
]);
/** `epub:type` values that say a document is story, whatever else it carries. */
const STORY_TYPES = new Set(["chapter", "bodymatter", "prologue", "epilogue", "part", "volume", "division"]);

const markdown = new NodeHtmlMarkdown({ ignore: ["img", "svg", "image", "script", "style", "audio", "video"] });

export async function readEpub(path: string): Promise<Book> {
  const name = basename(path);
  // The parser copies images and stylesheets to a folder of its own: a temporary one, removed after.
  const resources = mkdtempSync(join(tmpdir(), "chargen-epub-"));
  let epub: EpubFile | undefined;
  try {
    try {
      // The parser never settles on a zip its jszip cannot open (the rejection escapes it): the
      // same jszip opens it here first, where a failure is an error of this book.
      const bytes = new Uint8Array(readFileSync(path));
      await JSZip.loadAsync(bytes);
      epub = await initEpubFile(bytes, resources);
    } catch (e) {
      throw new ChargenError("user", `${path}: not an EPUB chargen can read (${e instanceof Error ? e.message : String(e)})`, { file: path }, { cause: e });
    }
    const tocTitles = new Map<string, string>();
    const walk = (points: ReturnType<EpubFile["getToc"]>) =>
      points.forEach((p) => {
        if (!tocTitles.has(p.id) && p.label.trim()) tocTitles.set(p.id, p.label.trim());
        walk(p.children ?? []);
      });
    walk(epub.getToc() ?? []);
    const guideTypes = new Map((epub.getGuide() ?? []).map((g) => [g.href.replace(/#.*$/, ""), g.type.toLowerCase()]));

    const drafts: ChapterDraft[] = [];
    const skipped: Skipped[] = [];
    for (const item of epub.getSpine()) {
      const inside = item.href.replace(/^epub:/, "");
      const source = `${name}#${inside}`;
      const { html } = await epub.loadChapter(item.id);
      const text = markdown.translate(html);
      const title = tocTitles.get(item.id) ?? firstHeading(text) ?? htmlTitle(html);
      const skip = (reason: string) => skipped.push({ source, title: title ?? basename(inside), reason });
      const types = epubTypes(html);
      const typedMatter = [...types].find((t) => MATTER_TYPES.has(t));
      const guideType = guideTypes.get(item.href) ?? guideTypes.get(inside);
      if (item.properties?.split(/\s+/).includes("nav")) skip("front matter (the navigation document)");
      else if (item.linear === "no") skip("outside the reading order (linear=\"no\")");
      else if (typedMatter && ![...types].some((t) => STORY_TYPES.has(t))) skip(`front or back matter (epub:type ${typedMatter})`);
      else if (guideType && MATTER_TYPES.has(guideType.replace(/^title-page$/, "titlepage"))) skip(`front or back matter (guide: ${guideType})`);
      else if (title && matterKind(title)) skip(`front or back matter (${matterKind(title)})`);
      else if (!/\p{L}/u.test(text.replace(/^#{1,6} .*$/gm, ""))) skip("no text (an image or a title page)");
      else drafts.push({ title: title ?? `Chapter ${drafts.length + 1}`, text, source });
    }
    return { ...(epub.getMetadata()?.title ? { title: epub.getMetadata().title } : {}), chapters: numberChapters(drafts), elements: [], skipped };
  } finally {
    epub?.destroy();
    rmSync(resources, { recursive: true, force: true });
  }
}

/**
 * The `epub:type` tokens of a document's outermost element (its body's first tag): what the whole
 * document is. Nested ones (an epigraph or a footnote inside a chapter) do not count.
 */
function epubTypes(html: string): Set<string> {
  const firstTag = /^\s*<[^>]*>/.exec(html)?.[0] ?? "";
  const types = /epub:type\s*=\s*["']([^"']*)["']/.exec(firstTag)?.[1] ?? "";
  return new Set(types.toLowerCase().split(/\s+/).filter(Boolean));
}

/** The first heading element's text, when the markdown had none (a heading inside a table, say). */
function htmlTitle(html: string): string | undefined {
  const inner = /<h[1-3][^>]*>([\s\S]*?)<\/h[1-3]>/i.exec(html)?.[1];
  const text = inner && plainInline(inner.replace(/<[^>]+>/g, " "));
  return text || undefined;
}
