import { describe, expect, it } from "vitest";
import { History } from "../src/adopt/history.js";
import type { TargetRecord } from "../src/graph/analyzer.js";

/** History reading on an in-memory workspace: which files a record may name. */
function historyOf(files: Record<string, string>) {
  const asked: string[] = [];
  const history = new History({
    exists: (p) => (asked.push(p), p in files),
    readText: (p) => files[p],
  });
  return { history, asked };
}

const chapterTarget = (customId: string): TargetRecord => ({
  id: `chapters/ch01/${customId}`,
  rule: "chapter-images",
  source: { file: "chapters/ch01/imagery.yaml", line: 3, column: 5 },
  output: `chapters/ch01/images/${customId}.png`,
  references: [],
  unresolved: [],
  requested: {},
  digests: { compiler: "c", prompt: {}, negative: "" },
  promptSize: { parts: [], negative: 0 },
});

describe("recorded image paths", () => {
  it("never look outside the workspace, whatever a record says", () => {
    const { history, asked } = historyOf({
      "chapters/ch01/imagery.yaml": `images:\n  - custom_id: "img-01"\n    file_name: "../../../../etc/passwd"\n    file_path: "../../../../etc/passwd"\n`,
    });
    expect(history.verdict(chapterTarget("img-01"), "k")).toBeUndefined();
    expect(asked).toEqual(["chapters/ch01/images/passwd"]);
  });

  it("find an absolute path of another machine, Windows or POSIX, by its name under the entity's images", () => {
    const { history } = historyOf({
      "chapters/ch01/imagery.yaml": `images:\n  - custom_id: "img-01"\n    file_path: 'C:\\Users\\author\\story\\chapters\\ch01\\images\\img-01-1766000000000.png'\n`,
      "chapters/ch01/images/img-01-1766000000000.png": "png",
    });
    expect(history.verdict(chapterTarget("img-01"), "k")).toMatchObject({ status: "adopted", image: { path: "chapters/ch01/images/img-01-1766000000000.png" } });
  });
});

describe("parsed files", () => {
  it("are each read once while targets are visited file by file, and let go once others follow", () => {
    const files: Record<string, string> = {};
    const target = (chapter: string): TargetRecord => ({ ...chapterTarget("img-01"), id: `chapters/${chapter}/img-01`, source: { file: `chapters/${chapter}/imagery.yaml`, line: 2, column: 5 } });
    const chapters = ["ch01", "ch02", "ch03", "ch04"];
    for (const c of chapters) files[`chapters/${c}/imagery.yaml`] = `images:\n  - custom_id: "img-01"\n`;
    const read: string[] = [];
    const history = new History({ exists: (p) => p in files, readText: (p) => (read.push(p), files[p]) });
    for (const c of chapters) for (let i = 0; i < 3; i++) history.verdict(target(c), "k");
    expect(read.filter((p) => p.endsWith("imagery.yaml"))).toEqual(chapters.map((c) => `chapters/${c}/imagery.yaml`));
    // Two entities later (each with its runs log), the first is parsed again: it was not kept.
    history.verdict(target("ch01"), "k");
    expect(read.filter((p) => p === "chapters/ch01/imagery.yaml")).toHaveLength(2);
  });
});
