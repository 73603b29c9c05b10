/**
 * A MemoryQuill-shaped workspace laid out from a book (`chargen init --from-book`): one folder per
 * chapter, `chapters/chNN-<slug>/`, holding the chapter's text (`content.md`, with the front
 * matter MemoryQuill's own chapters have) and a minimal chapter imagery file with no images yet,
 * which the chapter rule reads and the story rules fill. Pure: the files as paths and texts.
 */
import { stringify } from "yaml";
import type { Book, Chapter } from "./book.js";

export interface LaidOutFile {
  /** Workspace-relative, `/`-separated. */
  path: string;
  text: string;
}

/** The chapter folder's name: `ch01-the-grey-tide` (three digits from the 100th chapter on). */
export function chapterFolder(chapter: Chapter, total: number): string {
  // A workspace's own chapter folders are numbered already ("ch01-ash-and-compass"): renumbered, not numbered twice.
  return `ch${String(chapter.number).padStart(total >= 100 ? 3 : 2, "0")}-${chapter.slug.replace(/^ch\d+-(?=.)/, "")}`;
}

export function layoutWorkspace(book: Book): LaidOutFile[] {
  return book.chapters.flatMap((chapter) => {
    const folder = chapterFolder(chapter, book.chapters.length);
    const front = stringify({ title: chapter.title, chapter_number: chapter.number, chapter_slug: folder, source: chapter.source }, { lineWidth: 0 });
    const imagery = stringify(
      { metadata: { entity_type: "chapter-imagery", slug: folder, chapter_number: chapter.number, chapter_title: chapter.title }, images: [] },
      { lineWidth: 0 },
    );
    return [
      { path: `chapters/${folder}/content.md`, text: `---\n${front}---\n\n${chapter.text}` },
      { path: `chapters/${folder}/imagery.yaml`, text: `# Image specifications of this chapter: chargen's story rules write images[] from content.md.\n${imagery}` },
    ];
  });
}
