import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { writeAtomic } from "../core/atomic.js";
import { ChargenError } from "../core/errors.js";
import { printable } from "../report/escape.js";
import { layoutWorkspace } from "../story/layout.js";
import { readBook } from "../story/sources.js";

export interface InitOptions {
  /** The book: an .epub file or a folder of chapters. */
  from: string;
  /** The workspace folder to lay out (created when absent). */
  root: string;
  dryRun: boolean;
  out: (text: string) => void;
}

/**
 * `chargen init --from-book FILE [DIR]`: a workspace laid out from a book, one folder per chapter.
 * Writes only new files: if any would replace one, nothing is written (a user error, exit 2).
 */
export async function initFromBook(options: InitOptions): Promise<number> {
  const book = await readBook(options.from);
  const say = (line: string) => options.out(printable(line) + "\n");
  for (const s of book.skipped) say(`skipped ${s.source} "${s.title}": ${s.reason}`);
  if (!book.chapters.length) throw new ChargenError("user", `${options.from}: no chapters found in this book`, { file: options.from });
  const files = layoutWorkspace(book);
  const inside = relative(process.cwd(), options.root);
  const where = inside.startsWith("..") ? options.root : inside || ".";
  const existing = files.filter((f) => existsSync(join(options.root, f.path)));
  if (existing.length) {
    const first = join(where, existing[0]!.path);
    const more = existing.length > 1 ? ` (and ${existing.length - 1} more)` : "";
    throw new ChargenError("user", `${first}: already exists${more}; init --from-book writes only new files, so nothing was written`, { file: first });
  }
  for (const f of files) {
    if (options.dryRun) say(`would write ${f.path}`);
    else await writeAtomic(join(options.root, f.path), f.text);
  }
  const summary = `${book.chapters.length} chapter${book.chapters.length === 1 ? "" : "s"}${book.skipped.length ? `, ${book.skipped.length} part${book.skipped.length === 1 ? "" : "s"} skipped` : ""}`;
  say(options.dryRun ? `would lay out ${summary} in ${where} (nothing written)` : `laid out ${summary} in ${where}: ${files.length} files`);
  return 0;
}
