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
