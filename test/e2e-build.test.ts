import { cpSync, existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { buildJson, chargen, CH1, edit, EXAMPLE, exampleWorkspace, IMG1, IMG2, lockOf, snapshot, statuses } from "./support/cli.js";
import { scratchDir } from "./support/tmp.js";

const yamlOf = (ws: string) => join(ws, CH1, "imagery.yaml");

/** Ids of the targets that reference `path`, from `chargen targets --json`. */
async function dependentsOf(ws: string, path: string): Promise<string[]> {
  const r = await chargen(ws, ["targets", "--json"]);
  const { targets } = JSON.parse(r.stdout) as { targets: { id: string; references: string[] }[] };
  return targets.filter((t) => t.references.includes(path)).map((t) => t.id).sort();
}

describe("chargen build, end to end on the example workspace", () => {
  it("builds every target once, then nothing, and a second build changes no byte", async () => {
    const ws = exampleWorkspace();
    const first = await buildJson(ws);
    expect(first.code).toBe(0);
    const total = first.report.summary.total;
    expect(total).toBeGreaterThanOrEqual(5);
    expect(first.calls.sort()).toEqual(first.report.targets.map((t: { id: string }) => t.id).sort());
    expect(new Set(Object.values(statuses(first.report)))).toEqual(new Set(["built"]));
    expect(first.report.summary.providerCalls).toBe(total);

    const before = snapshot(ws);
    const second = await buildJson(ws);
    expect(second.code).toBe(0);
    expect(second.calls).toEqual([]);
    expect(second.report.summary.fresh).toBe(total);
    expect(second.report.summary.providerCalls).toBe(0);
    expect(snapshot(ws)).toEqual(before);
    // The lock records every target.
    expect([...lockOf(ws).keys()].sort()).toEqual(first.report.targets.map((t: { id: string }) => t.id).sort());
    expect(readFileSync(join(ws, ".gitignore"), "utf8")).toContain(".chargen/");
  });

  it("keeps every comment of every YAML file it writes back into", async () => {
    const ws = exampleWorkspace();
    const comments = (text: string) => text.split("\n").filter((l) => /(^|\s)#/.test(l) && !l.includes('"#')).map((l) => l.slice(l.search(/(^|\s)#/)).trim());
    const before = new Map([...snapshot(ws)].filter(([p]) => p.endsWith(".yaml")).map(([p, b]) => [p, comments(b.toString())]));
    await buildJson(ws);
    let changed = 0;
    for (const [path, bytes] of snapshot(ws)) {
      if (!before.has(path)) continue;
      if (bytes.toString() !== readFileSync(join(EXAMPLE, path), "utf8")) changed++;
      expect(comments(bytes.toString()), path).toEqual(before.get(path));
    }
    expect(changed).toBeGreaterThanOrEqual(5); // the write-backs really happened
  });

  it("a no-op build parses no YAML, hashes no file and loads no provider", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    // Age every file (as if built long ago), so none is "racily clean" and the first rebuild learns every stamp.
    const old = new Date(Date.now() - 3_600_000);
    for (const path of snapshot(ws).keys()) utimesSync(join(ws, path), old, old);
    await chargen(ws, ["build"]);
    const stats = async (args: string[]) => (await chargen(ws, args, { env: { CHARGEN_DEBUG: "stats" } })).stderr.match(/\[stats\] .*/)?.[0];
    expect(await stats(["build"])).toBe("[stats] yaml.parsed=0 file.hashed=0 provider.loaded=0");
    expect(await stats(["build", "--check"])).toBe("[stats] yaml.parsed=0 file.hashed=0 provider.loaded=0");
  });

  it("drops the lock entry of a target whose entry was deleted, unless a broken file might hide it", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    const lockIds = () => [...lockOf(ws).keys()];
    const file = yamlOf(ws);
    const text = readFileSync(file, "utf8");
    const start = text.indexOf('  - custom_id: "ch01-the-grey-tide-img-03"');
    writeFileSync(file, text.slice(0, start).trimEnd() + "\n");
    // A subset build and a build with a broken file keep it...
    await buildJson(ws, ["chapters/ch02-*/**"]);
    expect(lockIds()).toContain(`${CH1}/ch01-the-grey-tide-img-03`);
    edit(join(ws, "chapters/ch02-the-drowned-marker/imagery.yaml"), /^images:/m, "images: [oops");
    expect((await buildJson(ws)).code).toBe(2);
    expect(lockIds()).toContain(`${CH1}/ch01-the-grey-tide-img-03`);
    // ...a full, clean one drops it.
    edit(join(ws, "chapters/ch02-the-drowned-marker/imagery.yaml"), "images: [oops", "images:");
    expect((await buildJson(ws)).code).toBe(0);
    expect(lockIds()).not.toContain(`${CH1}/ch01-the-grey-tide-img-03`);
    expect(lockIds()).toHaveLength(JSON.parse((await chargen(ws, ["targets", "--json"])).stdout).targets.length);
  });

  it("rebuilds exactly the target whose prompt changed, and says why", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    edit(yamlOf(ws), "a tall white-bearded keeper", "a stooped white-bearded keeper");
    const check = await chargen(ws, ["build", "--check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`stale    ${IMG2}\n         prompt changed\n`);
    expect(check.stdout.match(/^stale/gm)).toHaveLength(1);

    const r = await buildJson(ws);
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([IMG2]);
    const t = r.report.targets.find((x: { id: string }) => x.id === IMG2);
    expect(t.status).toBe("built");
    expect(t.reasons).toEqual(["prompt changed"]);
  });

  it("rebuilds nothing for a comment, indentation, quoting or tags edit", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    const file = yamlOf(ws);
    edit(file, /^images:\n/m, "# a new comment above the images\nimages:\n");
    edit(file, '    mood_rationale: |', '    mood_rationale: |  # why this mood');
    edit(file, /      - "fog"\n/, '      - "mist"\n      - "new-tag"\n');
    edit(file, '"ch01-the-grey-tide-moment-01"', "'ch01-the-grey-tide-moment-01'");
    // Re-indent the whole document by two more spaces per level.
    const doc = parseDocument(readFileSync(file, "utf8"));
    writeFileSync(file, doc.toString({ indent: 4, lineWidth: 0 }));
    const r = await buildJson(ws);
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([]);
    expect(r.report.summary.fresh).toBe(r.report.summary.total);
  });

  it("a changed reference portrait rebuilds exactly its dependents", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    const portrait = "characters/osric-vane/images/portrait.png";
    const dependents = await dependentsOf(ws, portrait);
    expect(dependents.length).toBeGreaterThanOrEqual(3);
    const bytes = readFileSync(join(ws, portrait));
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff; // a different file, same size
    writeFileSync(join(ws, portrait), bytes);
    const r = await buildJson(ws);
    expect(r.calls.sort()).toEqual(dependents);
    for (const id of dependents) {
      expect(r.report.targets.find((t: { id: string }) => t.id === id).reasons).toEqual([`reference ${portrait} changed`]);
    }
  });

  it("reverting a prompt edit restores the earlier image from the cache with no provider call", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    const output = join(ws, CH1, "images", "ch01-the-grey-tide-img-02.png");
    const original = readFileSync(output);
    const text = readFileSync(yamlOf(ws), "utf8");
    edit(yamlOf(ws), "a tall white-bearded keeper", "a stooped white-bearded keeper");
    expect((await buildJson(ws)).calls).toEqual([IMG2]);
    expect(readFileSync(output).equals(original)).toBe(false);
    writeFileSync(yamlOf(ws), text); // the author reverts (write-back fields included)
    const r = await buildJson(ws);
    expect(r.calls).toEqual([]);
    expect(statuses(r.report)[IMG2]).toBe("cached");
    expect(readFileSync(output).equals(original)).toBe(true);
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0);
  });

  it("never overwrites a hand-modified output without --force", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    const output = join(ws, CH1, "images", "ch01-the-grey-tide-img-01.png");
    writeFileSync(output, "my own painting");
    const check = await chargen(ws, ["build", "--check"]);
    expect(check.code).toBe(1);
    expect(check.stdout).toContain(`modified ${IMG1}\n         output modified since chargen wrote it (rebuild with --force)`);
    const r = await buildJson(ws);
    expect(r.code).toBe(1);
    expect(r.calls).toEqual([]);
    expect(statuses(r.report)[IMG1]).toBe("modified");
    expect(readFileSync(output, "utf8")).toBe("my own painting");
    // --force puts chargen's image back: the one it made for this key is in the store.
    const forced = await buildJson(ws, ["--force"]);
    expect(forced.code).toBe(0);
    expect(forced.calls).toEqual([]);
    expect(statuses(forced.report)[IMG1]).toBe("cached");
    expect(readFileSync(output, "utf8")).not.toBe("my own painting");
  });

  it("--check: 0 fresh, 1 output missing, 2 unparseable YAML; works on a fresh clone without .chargen", async () => {
    const ws = exampleWorkspace();
    expect((await chargen(ws, ["build", "--check"])).code).toBe(1);
    await buildJson(ws);
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0);

    // A clone: the lock and outputs travel, the cache does not.
    const clone = scratchDir("chargen-clone-");
    cpSync(ws, clone, { recursive: true, filter: (src) => !src.includes(".chargen") });
    expect(existsSync(join(clone, ".chargen"))).toBe(false);
    const cloned = await chargen(clone, ["build", "--check"]);
    expect(cloned.code).toBe(0);
    expect(existsSync(join(clone, ".chargen"))).toBe(false);

    rmSync(join(clone, CH1, "images", "ch01-the-grey-tide-img-01.png"));
    const missing = await chargen(clone, ["build", "--check"], { env: { GITHUB_ACTIONS: "true" } });
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain(`stale    ${IMG1}\n         output missing\n`);
    expect(missing.stdout).toMatch(new RegExp(`^::warning file=${CH1}/imagery.yaml,line=\\d+::${IMG1} is stale: output missing$`, "m"));
    const line = Number(/line=(\d+)/.exec(missing.stdout)![1]);
    expect(readFileSync(join(clone, CH1, "imagery.yaml"), "utf8").split("\n")[line - 1]).toContain('custom_id: "ch01-the-grey-tide-img-01"');

    edit(join(clone, "chapters/ch02-the-drowned-marker/imagery.yaml"), /^images:/m, "images: [broken");
    const broken = await chargen(clone, ["build", "--check"]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/chapters\/ch02-the-drowned-marker\/imagery\.yaml:\d+:\d+: error: YAML does not parse/);
  });

  it("a YAML that does not parse is an error naming file, line and column; every other file still builds", async () => {
    const ws = exampleWorkspace();
    const file = "chapters/ch02-the-drowned-marker/imagery.yaml";
    const text = readFileSync(join(ws, file), "utf8");
    const lines = text.split("\n");
    const at = lines.findIndex((l) => l.startsWith("  chapter_title:"));
    lines[at] = '  chapter_title: "The Drowned Marker", "extra"';
    writeFileSync(join(ws, file), lines.join("\n"));
    const r = await buildJson(ws);
    expect(r.code).toBe(2);
    const d = r.report.diagnostics.filter((x: { severity: string }) => x.severity === "error");
    expect(d).toHaveLength(1);
    expect(d[0]).toMatchObject({ file, line: at + 1 });
    expect(r.report.targets.some((t: { id: string }) => t.id.startsWith("chapters/ch02"))).toBe(false);
    expect(r.calls.filter((id) => id.startsWith(CH1))).toHaveLength(3);
    expect(r.report.summary.failed).toBe(0);
  });

  it("a missing required field names the entry and the field; a dangling reference names its id", async () => {
    const ws = exampleWorkspace();
    edit(yamlOf(ws), '  - custom_id: "ch01-the-grey-tide-img-03"\n', "  - custom_idx: \"ch01-the-grey-tide-img-03\"\n");
    edit(yamlOf(ws), '      - "osric-vane-portrait"', '      - "osric-vane-portrait-2"');
    const r = await buildJson(ws, ["--dry-run"]);
    expect(r.code).toBe(2);
    const messages = r.report.diagnostics.map((d: { file: string; line: number; message: string }) => `${d.file}:${d.line}: ${d.message}`);
    expect(messages.some((m: string) => /imagery\.yaml:\d+: images\[2\]: missing required field custom_id/.test(m))).toBe(true);
    expect(messages.some((m: string) => m.includes('reference "osric-vane-portrait-2" (character osric-vane) resolves to nothing'))).toBe(true);
    // By default a target builds without what resolves to nothing (see e2e-references.test.ts).
    expect(statuses(r.report)[IMG1]).toBe("stale");
  });

  it("--dry-run and --check write nothing", async () => {
    const ws = exampleWorkspace();
    const before = snapshot(ws, () => false);
    const dry = await chargen(ws, ["build", "--dry-run"]);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/never built/);
    expect(dry.stdout).toMatch(/estimated \$0\.00/);
    expect((await chargen(ws, ["build", "--check"])).code).toBe(1);
    expect(snapshot(ws, () => false)).toEqual(before);
  });

  it("the JSON report has the documented shape", async () => {
    const ws = exampleWorkspace();
    const r = await buildJson(ws);
    const t = r.report.targets.find((x: { id: string }) => x.id === IMG1);
    expect(t).toEqual({
      id: IMG1,
      status: "built",
      reasons: ["never built"],
      output: `${CH1}/images/ch01-the-grey-tide-img-01.png`,
      source: { file: `${CH1}/imagery.yaml`, line: expect.any(Number) },
      provider: "placeholder",
      model: "placeholder-1",
      estimatedCostUsd: 0,
      costUsd: 0,
      error: null,
    });
    expect(Object.keys(r.report.summary).sort()).toEqual(
      ["accepted", "adopted", "built", "cached", "costUsd", "durationMs", "errors", "estimatedCostUsd", "exitCode", "failed", "fresh", "modified", "pending", "providerCalls", "skipped", "stale", "total", "warnings"].sort(),
    );
  });
});
