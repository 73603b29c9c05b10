import { spawnSync } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildJson, chargen, CH1, edit, exampleWorkspace, lockOf } from "./support/cli.js";

// Two targets from different YAML files whose lock lines are next to each other (ids sorted).
const IMG3 = `${CH1}/ch01-the-grey-tide-img-03`;
const CH2 = "chapters/ch02-the-drowned-marker";
const CH2_IMG1 = `${CH2}/ch02-the-drowned-marker-img-01`;
const editIMG3 = (ws: string, words: string) => edit(join(ws, CH1, "imagery.yaml"), "rows a small wooden skiff past", `${words} past`);
const editCH2_IMG1 = (ws: string) => edit(join(ws, CH2, "imagery.yaml"), /clings to a leaning tarred stilt/g, "hangs from a leaning tarred stilt");

function git(cwd: string, ...args: string[]): { status: number | null; out: string } {
  const env = { ...process.env, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.com", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.com", GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: "/dev/null" };
  const r = spawnSync("git", args, { cwd, env, encoding: "utf8" });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** The example in a git repository on branch `main`, optionally built and committed first; then a branch `theirs`. */
async function repo(builtBase: boolean): Promise<string> {
  const ws = exampleWorkspace();
  git(ws, "init", "-q", "-b", "main");
  appendFileSync(join(ws, ".git", "info", "exclude"), ".calls.log\n");
  if (builtBase) expect((await buildJson(ws)).code).toBe(0);
  git(ws, "add", "-A");
  git(ws, "commit", "-q", "-m", "base");
  git(ws, "branch", "theirs");
  return ws;
}

/** Commit what chargen built on `branch`. */
function commitOn(ws: string, branch: string): void {
  git(ws, "add", "-A");
  expect(git(ws, "commit", "-q", "-m", `build on ${branch}`).status).toBe(0);
}

const lockLines = (ws: string) => readFileSync(join(ws, "chargen.lock"), "utf8").split("\n").filter(Boolean);

describe("chargen.lock merges in git without conflicts (real git merge)", () => {
  it("two people build adjacent targets from a base with no lock: both entries are kept", async () => {
    const ws = await repo(false);
    expect((await buildJson(ws, [IMG3])).code).toBe(0);
    commitOn(ws, "main");
    git(ws, "checkout", "-q", "theirs");
    expect((await buildJson(ws, [CH2_IMG1])).code).toBe(0);
    commitOn(ws, "theirs");
    git(ws, "checkout", "-q", "main");
    const merge = git(ws, "merge", "--no-edit", "theirs");
    expect(merge.out).not.toContain("CONFLICT");
    expect(merge.status).toBe(0);
    expect(readFileSync(join(ws, ".gitattributes"), "utf8")).toContain("chargen.lock merge=union\n");
    // Both moments are set in the same zone: each side built it and its overview too, the same bytes under the same key.
    expect([...lockOf(ws).keys()].sort()).toEqual([IMG3, CH2_IMG1, "locations/heron-point-light/overview", "locations/heron-point-light/zones/marker-channel"]);
    const check = await chargen(ws, ["build", "--check", IMG3, CH2_IMG1]);
    expect(check.stdout).not.toMatch(/^(modified|stale)/m);
    expect(check.code).toBe(0);
  });

  it("two people rebuild adjacent targets of a committed lock: clean merge, nothing paid again, the lock rewritten sorted", async () => {
    const ws = await repo(true);
    const before = lockLines(ws);
    editIMG3(ws, "rows a small boat");
    expect((await buildJson(ws)).calls).toEqual([IMG3]);
    commitOn(ws, "main");
    git(ws, "checkout", "-q", "theirs");
    editCH2_IMG1(ws);
    expect((await buildJson(ws)).calls).toEqual([CH2_IMG1]);
    commitOn(ws, "theirs");
    git(ws, "checkout", "-q", "main");
    const merge = git(ws, "merge", "--no-edit", "theirs");
    expect(merge.out).not.toContain("CONFLICT");
    expect(merge.status).toBe(0);
    // Adjacent edits: the union keeps old and new lines of both; the files on disk decide.
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0);
    const after = await buildJson(ws);
    expect(after.calls).toEqual([]);
    expect(after.report.summary.fresh).toBe(after.report.summary.total);
    const lines = lockLines(ws);
    expect(lines).toHaveLength(before.length);
    expect(lines.slice(1)).toEqual([...lines.slice(1)].sort());
  });

  it("two people rebuild the same target: the lock merges, and the entry of the image kept wins", async () => {
    const ws = await repo(true);
    editIMG3(ws, "rows a skiff (ours)");
    expect((await buildJson(ws)).calls).toEqual([IMG3]);
    commitOn(ws, "main");
    git(ws, "checkout", "-q", "theirs");
    editIMG3(ws, "rows a skiff (theirs)");
    expect((await buildJson(ws)).calls).toEqual([IMG3]);
    commitOn(ws, "theirs");
    git(ws, "checkout", "-q", "main");
    const merge = git(ws, "merge", "--no-edit", "theirs");
    // The YAML and the image conflict (a person's choice); the lock does not.
    expect(merge.status).not.toBe(0);
    expect(merge.out).not.toMatch(/CONFLICT.*chargen\.lock/);
    expect(readFileSync(join(ws, "chargen.lock"), "utf8")).not.toMatch(/^(<<<<<<<|>>>>>>>)/m);
    // Ours is the older of the two entries: only the file on disk can tell that it wins.
    git(ws, "checkout", "--ours", "--", `${CH1}/imagery.yaml`, `${CH1}/images/ch01-the-grey-tide-img-03.png`);
    const check = await chargen(ws, ["build", "--check"]);
    expect(check.stdout).not.toContain(IMG3);
    expect(check.code).toBe(0);
    expect((await buildJson(ws)).calls).toEqual([]);
  });

  it("without the union attribute the lock conflicts, and chargen reads both sides' entries, never one side's", async () => {
    const ws = await repo(true);
    // Highest precedence: as if the workspace's .gitattributes did not say merge=union.
    appendFileSync(join(ws, ".git", "info", "attributes"), "chargen.lock merge=text\n");
    editIMG3(ws, "rows a small boat");
    expect((await buildJson(ws)).calls).toEqual([IMG3]);
    commitOn(ws, "main");
    git(ws, "checkout", "-q", "theirs");
    editCH2_IMG1(ws);
    expect((await buildJson(ws)).calls).toEqual([CH2_IMG1]);
    commitOn(ws, "theirs");
    git(ws, "checkout", "-q", "main");
    expect(git(ws, "merge", "--no-edit", "theirs").out).toMatch(/CONFLICT \(content\): Merge conflict in chargen\.lock/);
    const check = await chargen(ws, ["build", "--check"]);
    expect(check.stderr).toContain("chargen.lock: warning: has git conflict markers: the entries of both sides are used");
    expect(check.code).toBe(0);
    const rebuilt = await buildJson(ws);
    expect(rebuilt.calls).toEqual([]);
    expect(readFileSync(join(ws, "chargen.lock"), "utf8")).not.toMatch(/^(<<<<<<<|=======|>>>>>>>)/m);
    expect((await chargen(ws, ["build", "--check"])).stderr).not.toContain("conflict");
  });

  it("an old-format lock (version 1, one JSON document) is read, and rewritten in lines by the next build", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    const lock = lockOf(ws);
    writeFileSync(join(ws, "chargen.lock"), JSON.stringify({ version: 1, targets: Object.fromEntries(lock) }, null, 2) + "\n");
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0);
    const rebuilt = await buildJson(ws);
    expect(rebuilt.calls).toEqual([]);
    expect(lockLines(ws)[0]).toMatch(/^# chargen\.lock version 2/);
    expect(lockLines(ws)).toHaveLength(lock.size + 1);
    expect(lockOf(ws)).toEqual(lock);
  });
});
