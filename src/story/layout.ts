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

/**
 * The workspace's rules: chargen's built-in rules and the story rules, which read the chapters into
 * story elements and specifications (off in the built-in rules: a curated workspace's
 * specifications are the author's).
 */
export const STORY_RULES = `/**
 * This workspace's rules: chargen's built-in rules, and the story rules, which read the chapters'
 * content.md into story/elements.yaml and each chapter's images[] (specifications), whose images
 * the same build then makes. \`chargen build -n\` shows what would be read and its cost first.
 */
import builtIn from "chargen/rules";
import { defineRules, sceneSpecs, storyElements } from "chargen";

export default defineRules({
  ...builtIn,
  rules: [
    ...builtIn.rules,
    // The recurring characters, creatures and places, each with a visual description, into story/elements.yaml.
    storyElements(),
    // Each chapter's images[]: how many images a chapter gets, and of which kinds (kinds: hero, anchor, beat,
    // detail, supporting). Every chapter is read, also one where you added entries of your own (they are kept).
    sceneSpecs({ images: { min: 1, max: 3 }, chapters: "all" }),
  ],
  // Images, and (read) the model that reads the text.
  defaults: { ...builtIn.defaults },
});
`;

/** What the story-elements reading starts from: an elements file with none yet (the author may list their own). */
export const EMPTY_ELEMENTS = `# The story's recurring characters, creatures and places: chargen's story reading writes them from the
# chapters; an entry you edit or add is yours and is never overwritten.
characters: []
places: []
`;

export function layoutWorkspace(book: Book): LaidOutFile[] {
  return [
    { path: "chargen.rules.ts", text: STORY_RULES },
    { path: "story/elements.yaml", text: EMPTY_ELEMENTS },
    ...book.chapters.flatMap((chapter) => {
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
    }),
  ];
}
