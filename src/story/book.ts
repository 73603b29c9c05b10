/**
 * A book as chargen reads it: chapters in reading order, each with a safe slug, a title, its text
 * and a digest of that text, plus the element sources a MemoryQuill workspace keeps beside them
 * (character profiles, location descriptions). What a source left out is listed with the reason.
 */
import { parse as parseYaml } from "yaml";
import { unsafeName } from "../core/boundary.js";
import { digestText } from "../core/hash.js";
import { SlugScope, slugify } from "../core/slug.js";

export interface Chapter {
  /** 1-based position in reading order. */
  number: number;
  /** A safe file name (core/boundary.ts), unique within the book. */
  slug: string;
  title: string;
  /** The chapter's text, markdown, without front matter. */
  text: string;
  /** digestText(text): what a reading of this chapter is keyed on. */
  digest: string;
  /** Where it came from: a workspace-relative path, a file name, or `book.epub#OEBPS/ch1.xhtml`. */
  source: string;
}

/** A text that describes a story element (a character's profile, a location's description). */
export interface ElementSource {
  kind: "character" | "location";
  slug: string;
  name: string;
  text: string;
  digest: string;
  source: string;
}

/** A part of the book that is not a chapter: front or back matter, or a page with no text. */
export interface Skipped {
  source: string;
  title: string;
  reason: string;
}

export interface Book {
  title?: string;
  chapters: Chapter[];
  elements: ElementSource[];
  skipped: Skipped[];
}

/** A chapter's text before it is numbered and given a unique slug. */
export interface ChapterDraft {
  title: string;
  text: string;
  source: string;
  /** A slug the source chose itself (a workspace's chapter folder); else one is made from the title. */
  slug?: string;
}

/**
 * Titles of front and back matter, whole (case and punctuation aside): they are not story.
 * "Prologue", "Epilogue" and "Interlude" are story and are kept.
 */
const MATTER_TITLES: [RegExp, string][] = [
  [/^cover( page| image)?$/, "cover"],
  [/^(half[ -]?)?title( page)?$/, "title page"],
  [/^copyright( page| notice)?$/, "copyright"],
  [/^(table of )?contents$|^toc$/, "contents"],
  [/^dedication$/, "dedication"],
  [/^epigraph$/, "epigraph"],
  [/^acknowledge?ments?$/, "acknowledgements"],
  [/^about the authors?$|^about the illustrators?$/, "about the author"],
  [/^(also by|other (books|titles) by|books by|by the same author)\b/, "also by"],
  [/^praise for\b/, "praise"],
  [/^(foreword|preface)$/, "foreword"],
  [/^(afterword|authors? note|a note (from|on) the (author|text))$/, "afterword"],
  [/^(colophon|imprint|credits)$/, "colophon"],
  [/^(index|glossary|bibliography|endnotes|notes|appendix( [a-z0-9]+)?)$/, "reference matter"],
];

/** Which kind of front or back matter a title names, or undefined when it may be a chapter. */
export function matterKind(title: string): string | undefined {
  const plain = title
    .toLowerCase()
    .replace(/[’']/g, "")
    .replace(/[^a-z0-9]+/g, " ")
    .trim();
  return MATTER_TITLES.find(([pattern]) => pattern.test(plain))?.[1];
}

/** Chapters numbered in order, each with a unique safe slug and the digest of its text. */
export function numberChapters(drafts: ChapterDraft[]): Chapter[] {
  const scope = new SlugScope();
  return drafts.map((draft, i) => {
    const number = i + 1;
    const wanted = draft.slug && unsafeName(draft.slug) === undefined ? draft.slug : titleSlug(draft.title, number);
    const text = normaliseText(draft.text);
    return { number, slug: scope.claim(wanted).id, title: draft.title, text, digest: digestText(text), source: draft.source };
  });
}

/** "Chapter 1: The Grey Tide" -> "the-grey-tide" (its folder is numbered already); "Chapter 1" -> "chapter-1". */
function titleSlug(title: string, number: number): string {
  const bare = title.replace(/^(chapter\s+\S+\s*[:.–—-]|\d+[.:)])\s*/i, "");
  return (slugify(bare) ?? slugify(title))?.slice(0, 80).replace(/-+$/, "") ?? `chapter-${number}`;
}

/** Line ends as `\n`, no trailing spaces, one final line break: the same text digests the same from any source. */
export function normaliseText(text: string): string {
  return (
    text
      .replace(/\r\n?/g, "\n")
      .replace(/[ \t]+$/gm, "")
      .replace(/\n{3,}/g, "\n\n")
      .trim() + "\n"
  );
}

/** A markdown file's front matter (a YAML map, or {}) and its body. Front matter that does not parse is left in the body. */
export function splitFrontMatter(text: string): { front: Record<string, unknown>; body: string } {
  const match = /^---\r?\n([\s\S]*?)\r?\n---[ \t]*(\r?\n|$)/.exec(text);
  if (!match) return { front: {}, body: text };
  try {
    const front: unknown = parseYaml(match[1]!);
    return { front: front && typeof front === "object" && !Array.isArray(front) ? (front as Record<string, unknown>) : {}, body: text.slice(match[0].length) };
  } catch {
    return { front: {}, body: text };
  }
}

/** The text of the first markdown heading (`# Title`, `## Title`), or undefined. */
export function firstHeading(markdown: string): string | undefined {
  const heading = /^#{1,3}[ \t]+(.+?)[ \t#]*$/m.exec(markdown)?.[1];
  return heading ? plainInline(heading) : undefined;
}

/** Inline markdown as plain text: emphasis, links and escapes removed. */
export function plainInline(text: string): string {
  return text
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[*_`]+/g, "")
    .replace(/\\([\\`*_{}[\]()#+\-.!])/g, "$1")
    .replace(/\s+/g, " ")
    .trim();
}

/** The string value of a front-matter field, or undefined. */
export function frontText(front: Record<string, unknown>, key: string): string | undefined {
  const value = front[key];
  return typeof value === "string" && value.trim() ? value.trim() : typeof value === "number" ? String(value) : undefined;
}

/** Natural order of names: "ch2" before "ch10". */
export const naturalOrder = new Intl.Collator("en", { numeric: true, sensitivity: "base" }).compare;
