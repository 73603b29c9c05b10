#!/usr/bin/env node
/**
 * Peak RSS of a full placeholder build, 500 targets vs 2,000 (the goal: the larger under 250 MB
 * and at most 1.3x the smaller). Each repetition builds a fresh copy of a synthetic workspace
 * (bench/gen-workspace.mjs, 50 or 200 chapters of 10 images, 250 characters) under
 * /usr/bin/time -v, with the Node flags and variables of chargen's own entry (its shebang), as `npx chargen` runs.
 *
 * Usage: npm run build && node bench/rss.mjs [--reps 3] [--chargen dist/src/cli.js] [--plain]
 *   --plain   run `node cli.js` without the shebang's flags and variables (as `node dist/src/cli.js` does)
 *   --chargen another build, side by side: a copy of its dist/ with package.json and node_modules beside
 *             it, as chargen finds its version there (mkdir old && cp -a dist package.json old/ &&
 *             ln -s $PWD/node_modules old/; --chargen old/dist/src/cli.js)
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    chargen: { type: "string", default: "dist/src/cli.js" },
    plain: { type: "boolean", default: false },
  },
});
const REPS = Number(values.reps);
const CLI = resolve(values.chargen);
const WORK = resolve("bench/work");
// "#!/usr/bin/env -S NAME=value node --flag ..." -> ["--flag", ...] and { NAME: "value" }
const SHEBANG = values.plain ? [] : readFileSync(CLI, "utf8").split("\n", 1)[0].split(/\s+/);
const NODE_FLAGS = SHEBANG.filter((w) => w.startsWith("--"));
const NODE_ENV = Object.fromEntries(SHEBANG.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split("=", 2)));

function workspace(targets) {
  const dir = join(WORK, `rss-${targets}`);
  if (!existsSync(dir)) {
    const made = spawnSync(process.execPath, ["bench/gen-workspace.mjs", "--out", dir, "--chapters", String(targets / 10)], { stdio: "ignore" });
    if (made.status !== 0) throw new Error(`gen-workspace failed for ${targets} targets`);
  }
  return dir;
}

/** One full build of a fresh copy: peak RSS in MB and wall seconds. */
function build(source) {
  const ws = source + ".run";
  rmSync(ws, { recursive: true, force: true });
  cpSync(source, ws, { recursive: true });
  const args = ["-v", process.execPath, ...NODE_FLAGS, CLI, "build", "--provider", "placeholder", "-C", ws];
  const r = spawnSync("/usr/bin/time", args, { encoding: "utf8", env: { ...process.env, ...NODE_ENV, CHARGEN_PLACEHOLDER_LATENCY_MS: "0" }, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`build of ${ws} exited ${r.status}\n${r.stderr.slice(-2000)}`);
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1]);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(r.stderr);
  const seconds = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  rmSync(ws, { recursive: true, force: true });
  return { rssMb: rssKb / 1024, seconds };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

const sizes = [500, 2000];
const samples = Object.fromEntries(sizes.map((n) => [n, []]));
const sources = Object.fromEntries(sizes.map((n) => [n, workspace(n)]));
for (let i = 0; i < REPS; i++) {
  // Alternate which size goes first, so that the machine's load weighs on both alike.
  for (const n of i % 2 ? [...sizes].reverse() : sizes) samples[n].push(build(sources[n]));
}
console.log(`${Object.entries(NODE_ENV).map(([k, v]) => `${k}=${v} `).join("")}node ${NODE_FLAGS.join(" ")} (${process.version}), ${REPS} repetitions`);
for (const n of sizes) {
  const rss = samples[n].map((s) => s.rssMb);
  console.log(`${String(n).padStart(5)} targets: peak RSS median ${median(rss).toFixed(0)} MB [${rss.map((x) => x.toFixed(0)).join(", ")}], wall median ${median(samples[n].map((s) => s.seconds)).toFixed(1)} s`);
}
const ratio = median(samples[2000].map((s) => s.rssMb)) / median(samples[500].map((s) => s.rssMb));
console.log(`ratio 2,000 / 500: ${ratio.toFixed(2)}`);
