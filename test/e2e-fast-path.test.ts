import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, cpSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { buildJson, chargen, CH1, CLI, edit, exampleWorkspace, IMG1, ROOT } from "./support/cli.js";
import { scratchDir } from "./support/tmp.js";

/** Age every file and folder (not the cache), as if the workspace had been built long ago. */
function age(ws: string): void {
  const old = new Date(Date.now() - 3_600_000);
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (name === ".chargen") continue;
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      utimesSync(p, old, old);
    }
  };
  walk(ws);
  utimesSync(ws, old, old);
}

const STATS = { CHARGEN_DEBUG: "stats" };
const NO_WORK = "[stats] yaml.parsed=0 file.hashed=0 provider.loaded=0";

/**
 * Whether `build --check` replayed the record: a plan, even one that parses nothing (its caches
 * are warm), records it again, with the time it was taken.
 */
async function replays(ws: string, cli = CLI): Promise<boolean> {
  const record = () => readFileSync(join(ws, ".chargen", "fresh.json"), "utf8");
  const before = record();
  expect(check(ws, cli).status).toBe(0);
  return record() === before;
}

/** `chargen build --check` with the chargen at `cli`. */
const check = (ws: string, cli: string) => spawnSync(process.execPath, [cli, "build", "--check"], { cwd: ws, env: { PATH: process.env.PATH ?? "", NO_COLOR: "1" } });

/** A copy of this chargen (its dist/, package.json and dependencies) in a folder of its own, built long ago. */
function installedCopy(): string {
  const dir = scratchDir("chargen-install-");
  cpSync(join(ROOT, "dist"), join(dir, "dist"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(dir, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  age(join(dir, "dist"));
  return join(dir, "dist", "src", "cli.js");
}

/** chargen's built-in rules as a workspace's own file (placeholder provider), with `from` replaced by `to`. */
function builtInRulesWith(ws: string, from: string, to: string): void {
  const file = join(ws, "chargen.rules.ts");
  cpSync(join(ROOT, "chargen.rules.ts"), file);
  edit(file, /"\.\/src\/index\.js"/g, '"chargen"');
  edit(file, /^  defaults: \{.*\},$/m, '  defaults: { provider: "placeholder", model: "placeholder-1", format: "png", read: { provider: "placeholder", model: "placeholder-1" } },');
  edit(file, from, to);
}

/** Built, aged, and checked once so that the no-op record exists. */
async function recorded(prepare: (ws: string) => void = () => {}): Promise<string> {
  const ws = exampleWorkspace();
  prepare(ws);
  await buildJson(ws);
  age(ws);
  const first = await chargen(ws, ["build", "--check"]);
  expect(first.code, first.stderr).toBe(0);
  return ws;
}

describe("the no-op fast path", () => {
  it("replays an all-fresh plan without planning, for check, dry run and build", async () => {
    const ws = await recorded();
    for (const args of [["build", "--check"], ["build", "--dry-run"], ["build"]]) {
      const r = await chargen(ws, args, { env: STATS });
      expect(r.code, args.join(" ")).toBe(0);
      expect(r.stderr).toContain(NO_WORK);
      expect(r.stdout).toMatch(/^(14 fresh, 0 stale|0 built, 0 restored from cache, 14 fresh, 0 failed)/);
    }
  });

  it("loads only the modules a replay needs, --provider too (not the catalog, the workspace, the planner or fs.promises)", async () => {
    const ws = await recorded();
    const traced = { NODE_OPTIONS: `--import=${pathToFileURL(join(ROOT, "test", "support", "loaded-modules.mjs")).href}` };
    expect((await chargen(ws, ["build", "--check", "--provider", "placeholder"])).code).toBe(0); // records under this option
    const r = await chargen(ws, ["build", "--check", "--provider", "placeholder"], { env: traced });
    expect(r.code).toBe(0);
    const loaded = /\[modules\] (.*)/.exec(r.stderr)?.[1]?.split(" ").sort();
    expect(loaded).toEqual(
      [
        "cli.js",
        "cli/main.js",
        "cli/contract.js",
        "commands/fast-path.js",
        "cache/fresh-stamp.js",
        "core/builtins.js",
        "cache/racy.js",
        "core/errors.js",
        "core/signals.js",
        "core/version.js",
        "providers/names.js",
        "report/escape.js",
        "report/report.js",
      ].sort(),
    );
    // `import from "node:fs"` would load it (core/builtins.ts): a tenth of the replay's time.
    expect(r.stderr).toContain("[fs.promises] no");
  });

  it("still replays when unrelated files appear (a folder or a note at the workspace root)", async () => {
    const ws = await recorded();
    mkdirSync(join(ws, "drafts"));
    writeFileSync(join(ws, "NOTES.md"), "ideas\n");
    expect(await replays(ws)).toBe(true);
  });

  it("still replays when a file no glob names appears in a folder a glob lists (a note next to a chapter's imagery.yaml)", async () => {
    const ws = await recorded();
    writeFileSync(join(ws, CH1, "notes.md"), "ideas\n");
    mkdirSync(join(ws, CH1, "drafts"));
    expect(await replays(ws)).toBe(true);
  });

  it("is refused when the file a glob names appears in a folder that had none, or disappears", async () => {
    const ws = exampleWorkspace();
    mkdirSync(join(ws, "chapters", "ch03-draft"));
    writeFileSync(join(ws, "chapters", "ch03-draft", "notes.md"), "ideas\n");
    await buildJson(ws);
    age(ws);
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0);
    expect(await replays(ws)).toBe(true);
    writeFileSync(join(ws, "chapters", "ch03-draft", "imagery.yaml"), 'metadata:\n  slug: "ch03-draft"\nimages:\n  - custom_id: "ch03-img-01"\n    prompt_used: "A new harbour at dawn."\n');
    const added = await chargen(ws, ["build", "--check"]);
    expect(added.code).toBe(1);
    expect(added.stdout).toMatch(/never built/);

    rmSync(join(ws, "chapters", "ch03-draft", "imagery.yaml"));
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0); // records again, without the draft
    rmSync(join(ws, CH1, "imagery.yaml"));
    // A replay would say "14 fresh": the chapter's targets are gone from the plan.
    const removed = await chargen(ws, ["build", "--check"]);
    expect(removed.stdout).toMatch(/^\d+ fresh, 0 stale/);
    expect(removed.stdout).not.toMatch(/^14 fresh/);
  });

  it("is refused when chargen's code changes (a module rewritten or added) and by another copy of chargen", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    age(ws);
    const cli = installedCopy();
    expect(check(ws, cli).status).toBe(0); // records for this copy
    expect(await replays(ws, cli)).toBe(true);

    const module = join(cli, "..", "core", "errors.js");
    writeFileSync(module, readFileSync(module)); // same bytes, rebuilt now
    utimesSync(module, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(await replays(ws, cli)).toBe(false);
    expect(await replays(ws, cli)).toBe(true);

    writeFileSync(join(cli, "..", "core", "new-module.js"), "export {};\n");
    utimesSync(join(cli, "..", "core"), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(await replays(ws, cli)).toBe(false);
    expect(await replays(ws, cli)).toBe(true);

    expect(await replays(ws, installedCopy())).toBe(false);
  });

  it("is refused when a source, a reference, an output, the lock or the rules change", async () => {
    const cases: [string, (ws: string) => void, number, RegExp][] = [
      ["prompt edited", (ws) => edit(join(ws, CH1, "imagery.yaml"), "a tall white-bearded keeper", "a short keeper"), 1, /prompt changed/],
      ["output deleted", (ws) => rmSync(join(ws, CH1, "images", "ch01-the-grey-tide-img-01.png")), 1, /output missing/],
      ["reference replaced", (ws) => cpSync(join(ws, "characters/nell-farrow/images/portrait.png"), join(ws, "characters/osric-vane/images/portrait.png")), 1, /reference characters\/osric-vane\/images\/portrait\.png changed/],
      ["lock entry removed", (ws) => edit(join(ws, "chargen.lock"), `"${IMG1}"`, '"nothing/here"'), 1, /never built|chargen did not write it/],
      [
        "new chapter file",
        (ws) => {
          mkdirSync(join(ws, "chapters", "ch03-new"));
          writeFileSync(join(ws, "chapters", "ch03-new", "imagery.yaml"), 'metadata:\n  slug: "ch03-new"\nimages:\n  - custom_id: "ch03-img-01"\n    prompt_used: "A new harbour at dawn."\n');
        },
        1,
        /never built/,
      ],
      ["rules file added", (ws) => writeFileSync(join(ws, "chargen.rules.ts"), 'import { defineRules } from "chargen";\nexport default defineRules({ rules: [] });\n'), 0, /^0 fresh, 0 stale/],
    ];
    for (const [what, change, code, expected] of cases) {
      const ws = await recorded();
      change(ws);
      // A replay always says "14 fresh" and exits 0: the code and the reason show it was refused.
      const r = await chargen(ws, ["build", "--check"]);
      expect(r.code, what).toBe(code);
      expect(r.stdout, what).toMatch(expected);
    }
  });

  it("is refused when a file appears that a glob's literal-looking name matches as a pattern (`art(1).yaml` matches `art1.yaml`)", async () => {
    const ws = await recorded((ws) => {
      builtInRulesWith(ws, '"core/*art-direction*.yaml"', '"core/*/art(1).yaml"');
      mkdirSync(join(ws, "core", "x"));
    });
    expect(await replays(ws)).toBe(true);
    cpSync(join(ws, "core", "09-project-art-direction.yaml"), join(ws, "core", "x", "art1.yaml"));
    const r = await chargen(ws, ["build", "--check"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/art direction added/);
  });

  it("is refused when a file appears in a subfolder of a glob ending in `**`", async () => {
    const ws = await recorded((ws) => {
      builtInRulesWith(ws, '"theme-reference/*.{png,jpg,jpeg,webp}"', '"theme-reference/**"');
      mkdirSync(join(ws, "theme-reference", "looks"), { recursive: true });
    });
    expect(await replays(ws)).toBe(true);
    cpSync(join(ws, "characters/nell-farrow/images/portrait.png"), join(ws, "theme-reference", "looks", "portrait.png"));
    const r = await chargen(ws, ["build", "--check"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/theme-reference\/looks\/portrait\.png/);
  });

  it("is refused after a plan during which a source changed (the record is taken as of the plan's start)", async () => {
    // The plan of the first chapter waits, after its YAML was read, until the test has edited it.
    const ws = await recorded((ws) => {
      writeFileSync(
        join(ws, "chargen.rules.ts"),
        `import builtIn from "chargen/rules";
import { defineRules } from "chargen";
import { existsSync, writeFileSync } from "node:fs";
const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
export default defineRules({
  ...builtIn,
  routing: "rules",
  defaults: { ...builtIn.defaults, provider: "placeholder", model: "placeholder-1", read: { provider: "placeholder", model: "placeholder-1" } },
  rules: builtIn.rules.map((r) => ({ ...r, plan(file, ctx) {
    const signal = process.env.PAUSE_PLAN;
    if (signal && JSON.stringify(file).includes("ch01-the-grey-tide")) {
      writeFileSync(signal + ".planning", "");
      while (!existsSync(signal + ".edited")) pause(10);
      pause(300); // a plan that goes on well after the edit
    }
    return r.plan(file, ctx);
  } })),
});
`,
      );
    });
    // Neither replayed nor answered from the parse cache: the chapter is planned again.
    for (const cache of ["fresh.json", "plan.json"]) rmSync(join(ws, ".chargen", cache));
    const signal = join(ws, "pause");
    const slow = spawn(process.execPath, [CLI, "build", "--check"], { cwd: ws, env: { PATH: process.env.PATH ?? "", NO_COLOR: "1", PAUSE_PLAN: signal }, stdio: "ignore" });
    const exited = new Promise<number | null>((resolve) => slow.on("exit", resolve));
    while (!existsSync(signal + ".planning")) await new Promise((r) => setTimeout(r, 10));
    edit(join(ws, CH1, "imagery.yaml"), "a tall white-bearded keeper", "a short keeper");
    writeFileSync(signal + ".edited", "");
    expect(await exited).toBe(0); // planned from the text before the edit
    const r = await chargen(ws, ["build", "--check"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/prompt changed/);
  });

  it("is refused, and the targets re-planned, when a module the rules file imports changes", async () => {
    const ws = await recorded((ws) => {
      builtInRulesWith(ws, "  kinds: DEFAULT_KIND_STYLES,", "  kinds: { ...DEFAULT_KIND_STYLES, scene: SCENE_STYLE },");
      edit(join(ws, "chargen.rules.ts"), /^import /m, 'import { SCENE_STYLE } from "./rules/helpers";\nimport ');
      mkdirSync(join(ws, "rules"));
      writeFileSync(join(ws, "rules", "helpers.ts"), 'export const SCENE_STYLE = "painted in oils";\n');
    });
    expect(await replays(ws)).toBe(true);
    edit(join(ws, "rules", "helpers.ts"), "oils", "ink");
    const r = await chargen(ws, ["build", "--check"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^stale +chapters\//m);
  });
});
