import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { bookWorkspace, chapterState, redrawnSince } from "./support/book.js";
import { buildJson, calls, chargen, CH1, CLI, edit, exampleWorkspace, IMG2 } from "./support/cli.js";
import { cleanUp, generations, providerEnv, startFake } from "./support/e2e-providers.js";
import { renamingWorkspace } from "./support/rounds.js";

interface Watching {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  runs: () => number;
  waitForRuns(n: number): Promise<void>;
  /** How many times the watcher has become idle (its `[watch] idle` lines). */
  idles: () => number;
  /** Wait until the watcher has become idle more than `mark` times: nothing left that could start a run. */
  idleAfter(mark: number): Promise<void>;
  stop(): Promise<number | null>;
}

const running: ChildProcess[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) c.kill("SIGKILL");
  await cleanUp();
});

function startWatch(ws: string, args: string[] = [], env: Record<string, string> = {}): Watching {
  const child = spawn(process.execPath, [CLI, "build", "--watch", "--debounce", "50", ...args], {
    cwd: ws,
    env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", CHARGEN_DEBUG: "watch", CHARGEN_PLACEHOLDER_CALL_LOG: join(ws, ".calls.log"), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.push(child);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const runs = () => (out.match(/^watch: run \d+/gm) ?? []).length;
  const idles = () => (err.match(/^\[watch\] idle$/gm) ?? []).length;
  const waitUntil = async (done: () => boolean, what: string) => {
    const until = Date.now() + 30_000;
    while (!done()) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}; stdout:\n${out}\nstderr:\n${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return {
    child,
    out: () => out,
    err: () => err,
    runs,
    waitForRuns: (n) => waitUntil(() => runs() >= n, `run ${n}`),
    idles,
    idleAfter: (mark) => waitUntil(() => idles() > mark, `idle ${mark + 1}`),
    stop() {
      return new Promise((resolve) => {
        child.on("exit", (code) => resolve(code));
        child.kill("SIGINT");
      });
    },
  };
}

/** Wait until the call log holds `n` completed generations and the watcher is idle again (idle more than `mark` times): then no other call is coming. */
async function waitForCalls(w: Watching, mark: number, log: string, n: number): Promise<string[]> {
  const until = Date.now() + 20_000;
  while (calls(log).length < n) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${n} calls; have ${calls(log).join(", ")}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  await w.idleAfter(mark);
  return calls(log);
}
const yamlFile = (ws: string) => join(ws, CH1, "imagery.yaml");

describe("chargen build --watch", () => {
  it("a run has rounds as a build does: what a write-back renamed is built in the same run, each picture sent once", async () => {
    const fake = await startFake("google");
    const ws = renamingWorkspace();
    const w = startWatch(ws, ["-j", "1"], providerEnv("google", fake));
    await w.waitForRuns(1);
    await w.idleAfter(0);
    expect(w.out()).toMatch(/^watch: run 1: 4 built, 0 restored from cache, 0 fresh, 0 failed/m);
    expect(generations(fake).map((g) => JSON.stringify(g.body).match(/A picture of ([\w-]+)/)![1])).toEqual(["keep", "alpha-2", "gamma-2"]);
    expect(w.runs()).toBe(1);
    expect(await w.stop()).toBe(130);
  });

  it("an edited prompt regenerates exactly that target once; a comment edit regenerates nothing; own write-backs start no run", async () => {
    const ws = exampleWorkspace();
    const w = startWatch(ws);
    await w.waitForRuns(1);
    const initial = calls(join(ws, ".calls.log")).length;
    await w.idleAfter(0); // the initial build wrote back into YAML files: that must not start a run
    expect(w.runs()).toBe(1);

    const mark = w.idles();
    edit(yamlFile(ws), "a tall white-bearded keeper", "a tall grey-bearded keeper");
    await w.waitForRuns(2);
    expect(calls(join(ws, ".calls.log")).slice(initial)).toEqual([IMG2]);
    await w.idleAfter(mark);
    expect(w.runs()).toBe(2); // its write-back started nothing

    edit(yamlFile(ws), /^images:/m, "# images, reviewed\nimages:");
    await w.waitForRuns(3);
    expect(calls(join(ws, ".calls.log")).slice(initial)).toEqual([IMG2]);
    expect(await w.stop()).toBe(130);
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0);
  });

  it("five quick saves give one plan and one regeneration", async () => {
    const ws = exampleWorkspace();
    // chokidar throttles a path to one change per ~50 ms: the debounce must outlast that.
    const w = startWatch(ws, ["--debounce", "150"]);
    await w.waitForRuns(1);
    await w.idleAfter(0);
    const initial = calls(join(ws, ".calls.log")).length;
    const mark = w.idles();
    for (let i = 1; i <= 5; i++) {
      edit(yamlFile(ws), /a tall [a-z0-9-]*-?bearded keeper/, `a tall v${i}-bearded keeper`);
      await new Promise((r) => setTimeout(r, 10));
    }
    await w.waitForRuns(2);
    await w.idleAfter(mark);
    expect(w.runs()).toBe(2);
    expect(calls(join(ws, ".calls.log")).slice(initial)).toEqual([IMG2]);
    await w.stop();
  });

  it("an edit while the target is generating: the paid result is kept, then the new version is built (2 calls)", async () => {
    const ws = exampleWorkspace();
    const log = join(ws, ".calls.log");
    // The place its moment is set in first (it references that zone's image): the watch then builds IMG2 alone.
    expect((await buildJson(ws, ["locations/heron-point-light/zones/lamp-gallery"])).calls).toEqual(["locations/heron-point-light/overview", "locations/heron-point-light/zones/lamp-gallery"]);
    const before = calls(log).length;
    const w = startWatch(ws, [IMG2], { CHARGEN_PLACEHOLDER_LATENCY_MS: "700" });
    await w.waitForRuns(1);
    expect(calls(log).slice(before)).toEqual([IMG2]);
    edit(yamlFile(ws), "a tall white-bearded keeper", "a tall grey-bearded keeper");
    // Wait until the second generation is in flight, then edit again.
    const until = Date.now() + 10_000;
    while (!w.err().includes(`[0/1] generating ${IMG2}`) || w.err().split(`generating ${IMG2}`).length < 3) {
      if (Date.now() > until) throw new Error(w.err());
      await new Promise((r) => setTimeout(r, 10));
    }
    const mark = w.idles();
    edit(yamlFile(ws), "a tall grey-bearded keeper", "a tall red-bearded keeper");
    await w.waitForRuns(3);
    await w.idleAfter(mark);
    expect(calls(log).slice(before)).toEqual([IMG2, IMG2, IMG2]); // initial build, the in-flight one, the last edit
    expect(await w.stop()).toBe(130);
    expect((await chargen(ws, ["build", "--check", IMG2])).code).toBe(0); // image and lock match the last edit
    const store = readFileSync(join(ws, ".chargen", "actions.jsonl"), "utf8").trim().split("\n");
    expect(store).toHaveLength(6); // its header, the two place images, and the in-flight result is in the cache too
  });

  it("broken YAML shows its error and keeps watching; the fix rebuilds; a new entry builds; a replaced reference rebuilds its dependents", async () => {
    const ws = exampleWorkspace();
    const log = join(ws, ".calls.log");
    const w = startWatch(ws);
    await w.waitForRuns(1);
    await w.idleAfter(0);
    const initial = calls(log).length;
    const good = readFileSync(yamlFile(ws), "utf8");
    let mark = w.idles();
    writeFileSync(yamlFile(ws), good.replace(/^images:/m, "images: [oops"));
    await w.waitForRuns(2);
    expect(w.err()).toMatch(new RegExp(`${CH1}/imagery.yaml:\\d+:\\d+: error: YAML does not parse`));
    await w.idleAfter(mark);
    mark = w.idles();
    writeFileSync(yamlFile(ws), good.replace("a tall white-bearded keeper", "a tall black-bearded keeper"));
    expect((await waitForCalls(w, mark, log, initial + 1)).slice(initial)).toEqual([IMG2]);

    // A new image entry: the last entry copied under a new custom_id, with a prompt of its own
    // (an identical prompt would be restored from the cache, for free).
    const text = readFileSync(yamlFile(ws), "utf8");
    const last = text.slice(text.indexOf('  - custom_id: "ch01-the-grey-tide-img-03"'));
    const entry = last.replaceAll("ch01-the-grey-tide-img-03", "ch01-the-grey-tide-img-04").replace("prompt_used: |\n", "prompt_used: |\n      At first light, seen from the lamp gallery.\n");
    mark = w.idles();
    writeFileSync(yamlFile(ws), text.trimEnd() + "\n\n" + entry);
    expect((await waitForCalls(w, mark, log, initial + 2)).slice(initial + 1)).toEqual([`${CH1}/ch01-the-grey-tide-img-04`]);

    const portrait = join(ws, "characters/osric-vane/images/portrait.png");
    const deps = JSON.parse((await chargen(ws, ["targets", "--json"])).stdout).targets.filter((t: { references: string[] }) =>
      t.references.includes("characters/osric-vane/images/portrait.png"),
    ).length;
    const bytes = readFileSync(portrait);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff;
    mark = w.idles();
    writeFileSync(portrait, bytes);
    expect((await waitForCalls(w, mark, log, initial + 2 + deps)).slice(initial + 2)).toHaveLength(deps);
    await w.stop();
  });

  it("the story rules: an edit to a chapter's text reads that chapter's elements and specification, and draws its changed entries, in the same run", async () => {
    const ws = await bookWorkspace();
    const log = join(ws, ".calls.log");
    const w = startWatch(ws);
    await w.waitForRuns(1);
    await w.idleAfter(0);
    const initial = calls(log).length;
    const runs = w.runs();
    const chapter = "ch02-the-drowned-marker";
    const before = chapterState(ws, chapter);
    const mark = w.idles();
    edit(join(ws, "chapters", chapter, "content.md"), "Gulls wheeled over the mudflats.", "Gulls wheeled over the mudflats, crying.");
    await w.waitForRuns(runs + 1);
    await w.idleAfter(mark);
    const made = calls(log).slice(initial);
    expect(made.slice(0, 2)).toEqual([`chapters/${chapter}/elements`, `chapters/${chapter}/scene-specs`]);
    expect(made.slice(2).sort()).toEqual(redrawnSince(ws, before));
    // One run: the images of what the reading wrote joined it; the reading's own write-backs started none.
    expect(w.runs()).toBe(runs + 1);
    await w.stop();
  });
});
