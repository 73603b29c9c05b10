import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// One scratch folder per test process, removed when it exits: CI disks can be small.
const base = mkdtempSync(join(tmpdir(), "chargen-test-"));
process.on("exit", () => rmSync(base, { recursive: true, force: true }));

/** A new empty folder for a test's workspace. */
export function scratchDir(prefix: string): string {
  return mkdtempSync(join(base, prefix));
}
