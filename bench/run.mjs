#!/usr/bin/env node
/**
 * chargen vs ninja (and vs the bare YAML parser) on one synthetic workspace, side by side in one
 * run: commands alternate within each repetition, and medians are reported, because the machine
 * is shared and noisy. Every command runs under `/usr/bin/time -v` for its peak RSS.
 *
 * Usage: npm run bench -- [--reps 7] [--reuse] [--chargen dist/src/cli.js --commit SHA] [--ws bench/work/ws]
 *   --reuse    keep an existing, built workspace (skip generating and the 10,000-image build)
 *   --chargen  the cli.js to measure, e.g. a snapshot made by bench/snapshot.sh (then --commit names it)
 *   --rows     which measurements to take, e.g. "a0,a" (default all: a0,a,b,c)
 * chargen runs with the Node flags and variables of its entry's shebang, as `npx chargen` runs it.
 */
import { spawnSync, execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "7" },
    reuse: { type: "boolean", default: false },
    chargen: { type: "string", default: "dist/src/cli.js" },
    ws: { type: "string", default: "bench/work/ws" },
    out: { type: "string", default: "bench/results.json" },
    commit: { type: "string" }, // the commit a --chargen snapshot was built from, for results.json
    rows: { type: "string", default: "a0,a,b,c" },
  },
});
const REPS = Number(values.reps);
const WS = resolve(values.ws);
const CLI = resolve(values.chargen);
const NODE = process.execPath;
const ROWS = new Set(values.rows.split(","));
// "#!/usr/bin/env -S NAME=value node --flag ..." -> ["--flag", ...] and { NAME: "value" }
const SHEBANG = readFileSync(CLI, "utf8").split("\n", 1)[0].split(/\s+/);
const NODE_FLAGS = SHEBANG.filter((w) => w.startsWith("--"));
const NODE_ENV = Object.fromEntries(SHEBANG.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split("=", 2)));
const CACHE = join(WS, ".chargen");
// chargen's private caches (not the store): a check may refresh them, so every repetition starts
// from a saved copy, and each measurement is of one well-defined state.
const CACHE_FILES = ["stat.json", "plan.json", "fresh.json"];
const AFTER_BUILD = WS + ".after-build"; // the caches as the initial build left them

function saveCaches(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const f of CACHE_FILES) if (existsSync(join(CACHE, f))) copyFileSync(join(CACHE, f), join(dir, f));
}
function restoreCaches(dir) {
  for (const f of CACHE_FILES) {
    rmSync(join(CACHE, f), { force: true });
    if (existsSync(join(dir, f))) copyFileSync(join(dir, f), join(CACHE, f));
  }
}

/** Run a command under /usr/bin/time -v: wall ms (measured here), peak RSS in MB, exit code, output. */
function run(cmd, args, env = process.env) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync("/usr/bin/time", ["-v", cmd, ...args], { encoding: "utf8", env, maxBuffer: 1 << 28 });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  return { ms, rssMb: rssKb / 1024, code: r.status, out: r.stdout, err: r.stderr };
}

// The placeholder by choice: the built-in rules route a MemoryQuill workspace to Gemini.
const chargen = (...args) => run(NODE, [...NODE_FLAGS, CLI, ...args, "--provider", "placeholder", "-C", WS], { ...process.env, ...NODE_ENV });
const ninja = (...args) => run("ninja", ["-C", WS, ...args]);
const parseOnly = () => run(NODE, [resolve("bench/parse-only.mjs"), WS]);

function expect(result, code, what) {
  if (result.code !== code) {
    console.error(`${what}: exit ${result.code}, expected ${code}\n${result.out.slice(-2000)}\n${result.err.slice(-2000)}`);
    process.exit(1);
  }
  return result;
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1], samples: xs };
};

/** N repetitions of two commands, alternating which goes first; `before`/`after` set up each repetition. */
function sideBySide(name, a, b, { before = () => {}, after = () => {} } = {}) {
  const runs = { a: [], b: [] };
  for (let i = 0; i < REPS; i++) {
    before();
    const order = i % 2 ? ["b", "a"] : ["a", "b"];
    for (const k of order) runs[k].push(k === "a" ? a() : b());
    after();
    process.stderr.write(`  ${name}: ${i + 1}/${REPS}\r`);
  }
  process.stderr.write("\n");
  return {
    chargen: { ms: stats(runs.a.map((r) => r.ms)), rssMb: stats(runs.a.map((r) => r.rssMb)) },
    baseline: { ms: stats(runs.b.map((r) => r.ms)), rssMb: stats(runs.b.map((r) => r.rssMb)) },
  };
}

// --- Set-up: a workspace that both tools have fully built -------------------------------------
const setup = {};
if (!values.reuse || !existsSync(join(WS, "chargen.lock"))) {
  rmSync(AFTER_BUILD, { recursive: true, force: true });
  execFileSync(NODE, [resolve("bench/gen-workspace.mjs"), "--out", WS], { stdio: "inherit" });
  console.error("building 10,000 placeholder images with chargen (this takes minutes)...");
  setup.initialBuild = expect(chargen("build"), 0, "initial chargen build");
  setup.ninjaBuild = expect(ninja(), 0, "initial ninja build");
  saveCaches(AFTER_BUILD); // so that --reuse can measure (a0) again
}
expect(ninja(), 0, "ninja build"); // up to date even after an earlier run's edit (mtimes)
const edited = join(WS, "chapters", readdirSync(join(WS, "chapters")).sort()[499], "imagery.yaml"); // for (c)
const original = readFileSync(edited, "utf8");
if (!/no work to do/.test(ninja("-n").out)) throw new Error("ninja -n has work to do after a build");

const afterBuild = existsSync(AFTER_BUILD);
if (afterBuild) console.error("(a0) the first no-op check after the initial build (its caches as the build left them)");
const checkAfterBuild = afterBuild && ROWS.has("a0")
  ? sideBySide("a0", () => expect(chargen("build", "--check"), 0, "check"), () => ninja("-n"), { before: () => restoreCaches(AFTER_BUILD) })
  : undefined;

if (afterBuild) restoreCaches(AFTER_BUILD);
setup.noopBuild = expect(chargen("build"), 0, "no-op chargen build"); // refreshes the caches
const WARM = WS + ".warm";
saveCaches(WARM);
if (ROWS.has("a")) console.error("(a) no-op check, caches warm (after a no-op build)");
const noop = !ROWS.has("a") ? undefined : sideBySide("a", () => expect(chargen("build", "--check"), 0, "check"), () => ninja("-n"), { before: () => restoreCaches(WARM) });

if (ROWS.has("b")) console.error("(b) cold plan (.chargen/ moved away) vs parsing the 1,000 chapter files");
const cold = !ROWS.has("b") ? undefined : sideBySide("b", () => expect(chargen("build", "--dry-run"), 0, "dry run"), () => expect(parseOnly(), 0, "parse only"), {
  before: () => renameSync(CACHE, CACHE + ".saved"),
  after: () => (rmSync(CACHE, { recursive: true, force: true }), renameSync(CACHE + ".saved", CACHE)),
});

if (ROWS.has("c")) console.error("(c) one prompt edited in one chapter file, then check (ninja: the same file touched)");
const oneEdit = !ROWS.has("c") ? undefined : sideBySide(
  "c",
  () => {
    const r = expect(chargen("build", "--check"), 1, "check after an edit");
    if (!/9999 fresh, 1 stale/.test(r.out)) throw new Error(`expected exactly one stale target:\n${r.out}`);
    return r;
  },
  () => ninja("-n"),
  {
    before: () => (restoreCaches(WARM), writeFileSync(edited, original.replace(/(prompt_used: \|\n\s+)/, "$1Edited for the benchmark. "))),
    after: () => writeFileSync(edited, original),
  },
);
restoreCaches(WARM);
expect(ninja(), 0, "ninja build after the edits");

// --- Report ------------------------------------------------------------------------------------
const f = (x) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${x.toFixed(0)} ms`);
const span = (s) => `${f(s.median)} (${f(s.min)}–${f(s.max)})`;
const mb = (s) => `${s.median.toFixed(0)} MB (max ${s.max.toFixed(0)})`;
const rows = [];
const SETUP_LABELS = { initialBuild: "initial `chargen build`, 10,000 images", ninjaBuild: "initial `ninja` build (`touch`)", noopBuild: "no-op `chargen build`" };
const row = (what, baselineName, m, goal) => {
  const ratio = m.chargen.ms.median / m.baseline.ms.median;
  // Less sensitive to a burst of load from elsewhere: the ratio within each repetition, then its median.
  const paired = stats(m.chargen.ms.samples.map((c, i) => c / m.baseline.ms.samples[i])).median;
  rows.push({ what, baselineName, ratio, pairedRatio: paired, goal, met: goal === undefined ? null : ratio <= goal, ...m });
};
if (checkAfterBuild) row("(a0) no-op `build --check` right after the initial build", "`ninja -n`", checkAfterBuild, 1.5);
if (noop) row("(a) no-op `build --check`, caches warm", "`ninja -n`", noop, 1.5);
if (cold) row("(b) cold `build --dry-run` (no `.chargen/`)", "parse 1,000 YAML files", cold, 1.5);
if (oneEdit) row("(c) one-edit `build --check`", "`ninja -n` after touching it", oneEdit, undefined);

const lines = [
  "| measurement | chargen median (min–max) | baseline | baseline median (min–max) | ratio of medians | paired ratio | goal | chargen peak RSS | baseline peak RSS |",
  "|---|---|---|---|---|---|---|---|---|",
  ...rows.map(
    (r) =>
      `| ${r.what} | ${span(r.chargen.ms)} | ${r.baselineName} | ${span(r.baseline.ms)} | ${r.ratio.toFixed(2)}× | ${r.pairedRatio.toFixed(2)}× | ${r.goal ? `≤ ${r.goal}× ${r.met ? "met" : "**not met**"}` : "–"} | ${mb(r.chargen.rssMb)} | ${mb(r.baseline.rssMb)} |`,
  ),
  ...Object.entries(setup).map(([k, r]) => `| ${SETUP_LABELS[k]} (one run) | ${f(r.ms)} | | | | | | ${r.rssMb.toFixed(0)} MB | |`),
];
const peak = Math.max(...rows.map((r) => r.chargen.rssMb.max), ...Object.entries(setup).filter(([k]) => k !== "ninjaBuild").map(([, r]) => r.rssMb));
lines.push("", `(d) peak RSS of any chargen run: ${peak.toFixed(0)} MB (goal < 200 MB: ${peak < 200 ? "met" : "**not met**"})`);
console.log(lines.join("\n"));

const git = (...a) => spawnSync("git", a, { encoding: "utf8" }).stdout.trim();
writeFileSync(
  resolve(values.out),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      // The commit measured: this checkout's (and whether src/ had uncommitted changes), or --commit for a snapshot.
      commit: values.commit ?? git("rev-parse", "HEAD"),
      srcDirty: values.commit ? false : git("status", "--porcelain", "src").length > 0,
      chargen: CLI,
      machine: { nproc: cpus().length, cpu: cpus()[0]?.model, memGb: Math.round(totalmem() / 2 ** 30), node: process.version, ninja: run("ninja", ["--version"]).out.trim() },
      reps: REPS,
      rows,
      setup: Object.fromEntries(Object.entries(setup).map(([k, r]) => [k, { ms: r.ms, rssMb: r.rssMb }])),
      peakRssMb: peak,
    },
    null,
    2,
  ) + "\n",
);
