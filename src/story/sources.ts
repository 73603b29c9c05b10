/**
 * Where books come from: a MemoryQuill workspace (`chapters/<slug>/content.md`, with character
 * `profile.md` and location `description.md` as element sources), a folder of markdown or plain
 * text chapters (in natural order of their names), or an EPUB (see ./epub.ts).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { ChargenError } from "../core/errors.js";
import { digestText } from "../core/hash.js";
import { unsafeName } from "../core/boundary.js";
import {
  firstHeading,
  frontText,
  matterKind,
  naturalOrder,
  normaliseText,
  numberChapters,
  splitFrontMatter,
  type Book,
  type ChapterDraft,
  type ElementSource,
  type Skipped,
} from "./book.js";
import { readEpub } from "./epub.js";

/** Chapter files of a plain folder. */
const CHAPTER_FILE = /\.(md|markdown|txt)$/i;

/**
 * The book at `path`: an EPUB file, a MemoryQuill workspace (a folder with `chapters/<slug>/content.md`),
 * or a folder of chapter files. Throws a `user` ChargenError naming the path when it is none of them.
 */
export async function readBook(path: string): Promise<Book> {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new ChargenError("user", `${path}: no such file or folder`, { file: path });
  if (stat.isFile()) {
    if (extname(path).toLowerCase() === ".epub" || isZip(path)) return readEpub(path);
    throw new ChargenError("user", `${path}: not a book chargen reads (an .epub file, or a folder of .md / .txt chapters)`, { file: path });
  }
  return workspaceChapterFolders(path).length ? readWorkspace(path) : readChapterFolder(path);
}

function isZip(path: string): boolean {
  const head = readFileSync(path).subarray(0, 4);
  return head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

const folders = (dir: string) =>
  (readdirSync(dir, { withFileTypes: true, encoding: "utf8" }) ?? [])
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort(naturalOrder);

function workspaceChapterFolders(root: string): string[] {
  const chapters = join(root, "chapters");
  if (!statSync(chapters, { throwIfNoEntry: false })?.isDirectory()) return [];
  return folders(chapters).filter((f) => statSync(join(chapters, f, "content.md"), { throwIfNoEntry: false })?.isFile());
}

/** A MemoryQuill workspace: each chapter folder's `content.md`, in natural order of the folders; its folder name is its slug. */
export function readWorkspace(root: string): Book {
  const skipped: Skipped[] = [];
  const drafts: ChapterDraft[] = [];
  for (const folder of workspaceChapterFolders(root)) {
    const source = `chapters/${folder}/content.md`;
    if (unsafeName(folder) !== undefined) {
      skipped.push({ source, title: folder, reason: `the folder name is not a safe name (${unsafeName(folder)})` });
      continue;
    }
    drafts.push(workspaceChapter(folder, readFileSync(join(root, source), "utf8")));
  }
  return { chapters: numberChapters(drafts), elements: [...readElements(root, "character"), ...readElements(root, "location")], skipped };
}

/** `characters/<slug>/profile.md` or `locations/<slug>/description.md`, one element each. */
function readElements(root: string, kind: ElementSource["kind"]): ElementSource[] {
  const dir = join(root, `${kind}s`);
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) return [];
  return folders(dir).flatMap((slug) => {
    const source = elementFile(kind, slug);
    if (unsafeName(slug) !== undefined || !statSync(join(root, source), { throwIfNoEntry: false })?.isFile()) return [];
    return [elementSource(kind, slug, readFileSync(join(root, source), "utf8"))];
  });
}

/** The file of an element's canon text in a workspace: a character's `profile.md`, a location's `description.md`. */
export const elementFile = (kind: ElementSource["kind"], slug: string): string => `${kind}s/${slug}/${kind === "character" ? "profile.md" : "description.md"}`;

/** A workspace chapter, `chapters/<folder>/content.md`: its title from the front matter, else its first heading, else its folder. */
export function workspaceChapter(folder: string, text: string): ChapterDraft {
  const { front, body } = splitFrontMatter(text);
  return { title: frontText(front, "title") ?? firstHeading(body) ?? folder, text: body, source: `chapters/${folder}/content.md`, slug: folder };
}

/** An element's canon text (see elementFile) as an element source. */
export function elementSource(kind: ElementSource["kind"], slug: string, text: string): ElementSource {
  const { front, body } = splitFrontMatter(text);
  // "Borin Stonehand – Profile", "Azure Pavilion – Physical Description": the name is before the dash.
  const name = frontText(front, "name") ?? firstHeading(body)?.split(/\s+[–—-]\s+/)[0] ?? slug;
  const normalised = normaliseText(body);
  return { kind, slug, name, text: normalised, digest: digestText(normalised), source: elementFile(kind, slug) };
}

/** A folder of `.md`, `.markdown` or `.txt` chapters, in natural order of their file names. */
export function readChapterFolder(dir: string): Book {
  const skipped: Skipped[] = [];
  const drafts: ChapterDraft[] = [];
  const files = readdirSync(dir, { withFileTypes: true, encoding: "utf8" })
    .filter((e) => e.isFile() && CHAPTER_FILE.test(e.name))
    .map((e) => e.name)
    .sort(naturalOrder);
  for (const name of files) {
    const { front, body } = splitFrontMatter(readFileSync(join(dir, name), "utf8"));
    const title = frontText(front, "title") ?? firstHeading(body) ?? (name.toLowerCase().endsWith(".txt") ? textTitle(body) : undefined) ?? titleFromFileName(name);
    const matter = matterKind(title) ?? matterKind(titleFromFileName(name));
    if (/^readme\b/i.test(name)) skipped.push({ source: name, title, reason: "not a chapter (a README)" });
    else if (matter) skipped.push({ source: name, title, reason: `front or back matter (${matter})` });
    else if (!/\p{L}/u.test(body.replace(title, ""))) skipped.push({ source: name, title, reason: "no text" });
    else drafts.push({ title, text: body, source: name });
  }
  return { chapters: numberChapters(drafts), elements: [], skipped };
}

/** A plain-text chapter's title: its first line, when that is short and not a sentence. */
function textTitle(body: string): string | undefined {
  const first = body.split("\n").find((l) => l.trim())?.trim();
  return first && first.length <= 80 && !/[.,;:!?"”]$/.test(first) ? first : undefined;
}

/** "03-the-grey-tide.md" -> "The grey tide"; "chapter-3.txt" -> "Chapter 3". */
export function titleFromFileName(name: string): string {
  const stem = basename(name, extname(name));
  const words = stem.replace(/^\d+[\s._-]*/, "").replace(/[._-]+/g, " ").trim() || stem;
  return words.charAt(0).toUpperCase() + words.slice(1);
}
