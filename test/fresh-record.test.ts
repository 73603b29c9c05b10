import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FRESH_FILE, recordFresh, replayFresh } from "../src/cache/fresh-stamp.js";
import { scratchDir } from "./support/tmp.js";

// Now, on no whole second (a file system with sub-second mtimes): chargen's own modules, stamped
// with the workspace's files, are older than the plan.
const PLANNED_FROM = Date.now() - (Date.now() % 1000) + 1_123;
const SAVED = PLANNED_FROM + 1_000;
const result = { total: 1, diagnostics: [] };

/** A workspace with one source whose mtime is `mtimeMs`, and an old record of another plan in place. */
function workspace(mtimeMs: number): string {
  const root = scratchDir("fresh-record");
  mkdirSync(join(root, ".chargen"));
  writeFileSync(join(root, ".chargen", FRESH_FILE), "{}");
  writeFileSync(join(root, "a.yaml"), "a: 1\n");
  utimesSync(join(root, "a.yaml"), mtimeMs / 1000, mtimeMs / 1000);
  return root;
}

describe("recording an all-fresh plan", () => {
  it("records what the plan read when every file is older than the plan, by more than an mtime's lag", async () => {
    // Written by the build 20 ms before its settling plan began: the first check after it replays.
    const root = workspace(PLANNED_FROM - 20);
    await recordFresh(root, ".chargen", "ctx", ["a.yaml"], result, PLANNED_FROM, SAVED);
    expect(replayFresh(root, ".chargen", "ctx")).toEqual(result);
  });

  it.each([
    ["written during the plan", PLANNED_FROM + 300],
    ["written within an mtime's lag of the plan's start", PLANNED_FROM - 5],
  ])("records nothing, and forgets the old record, when a file was %s", async (_, mtimeMs) => {
    const root = workspace(mtimeMs);
    await recordFresh(root, ".chargen", "ctx", ["a.yaml"], result, PLANNED_FROM, SAVED);
    expect(existsSync(join(root, ".chargen", FRESH_FILE))).toBe(false);
    expect(replayFresh(root, ".chargen", "ctx")).toBeUndefined();
  });
});
