import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { globStamps } from "../src/workspace/open.js";
import { scratchDir } from "./support/tmp.js";

/** chapters/a/imagery.yaml, core/x/, theme-reference/looks/old/. */
function workspace(): string {
  const root = scratchDir("glob-stamps-");
  mkdirSync(join(root, "chapters", "a"), { recursive: true });
  writeFileSync(join(root, "chapters", "a", "imagery.yaml"), "images: []\n");
  mkdirSync(join(root, "core", "x"), { recursive: true });
  mkdirSync(join(root, "theme-reference", "looks", "old"), { recursive: true });
  return root;
}

describe("what the fast path stamps for a glob", () => {
  it("stamps a literal file name in each folder, where names are matched with their case", () => {
    expect(globStamps(workspace(), "chapters/*/imagery.yaml", "linux")).toEqual(["chapters", "chapters/a/imagery.yaml"]);
  });

  it("stamps the folders instead on darwin and win32 (a rename that changes only the case keeps the old name's stat)", () => {
    const root = workspace();
    for (const platform of ["darwin", "win32"] as const) expect(globStamps(root, "chapters/*/imagery.yaml", platform), platform).toEqual(["chapters", "chapters/a"]);
  });

  it("stamps the folders for a name that fast-glob's matcher reads as a pattern though it has no wildcard (`art(1).yaml`)", () => {
    expect(globStamps(workspace(), "core/*/art(1).yaml", "linux")).toEqual(["core", "core/x"]);
  });

  it("stamps every folder under a last `**`, as under a middle one", () => {
    const root = workspace();
    const stamped = (pattern: string) => [...new Set(globStamps(root, pattern, "linux"))].sort();
    expect(stamped("theme-reference/**")).toEqual(["theme-reference", "theme-reference/looks", "theme-reference/looks/old"]);
    expect(stamped("theme-reference/**/*.png")).toEqual(["theme-reference", "theme-reference/looks", "theme-reference/looks/old"]);
  });
});
