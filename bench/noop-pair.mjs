#!/usr/bin/env node
/**
 * The no-op `build --check` of two chargen builds (e.g. a commit and the one before it, see
 * bench/snapshot.sh) and `ninja -n`, on the workspace bench/run.mjs built, the three alternating
 * in every repetition (each takes each position in turn). Each chargen replays its own
 * `.chargen/fresh.json` (the record differs between versions: it holds the code stamp), copied
 * into place before each of its runs; record them first with one `build --check` of each.
 * chargen runs with its entry's shebang flags and variables, as `npx chargen` runs it.
 *
 * Usage: node bench/noop-pair.mjs --a OLD/cli.js --a-fresh old-fresh.json --b dist/src/cli.js --b-fresh new-fresh.json [--reps 21] [--ws bench/work/ws] [--cpu]
 *   --cpu   also the CPU time of each run (all its threads, user and system), from `perf stat`
 *           (Linux perf): steadier than wall time when other work shares the cores
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    a: { type: "string" },
    "a-fresh": { type: "string" },
    b: { type: "string", default: "dist/src/cli.js" },
    "b-fresh": { type: "string" },
    reps: { type: "string", default: "21" },
    ws: { type: "string", default: "bench/work/ws" },
    cpu: { type: "boolean", default: false },
  },
});
const WS = resolve(values.ws);

function chargen(cli, fresh) {
  // "#!/usr/bin/env -S NAME=value node --flag ..." -> ["--flag", ...] and { NAME: "value" }
  const shebang = readFileSync(cli, "utf8").split("\n", 1)[0].split(/\s+/);
  const flags = shebang.filter((w) => w.startsWith("--"));
  const env = { ...process.env, ...Object.fromEntries(shebang.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split("=", 2))) };
  return () => {
    copyFileSync(fresh, join(WS, ".chargen", "fresh.json"));
    return { cmd: process.execPath, args: [...flags, resolve(cli), "build", "--check", "--provider", "placeholder", "-C", WS], env };
  };
}
const commands = {
  a: chargen(values.a, values["a-fresh"]),
  b: chargen(values.b, values["b-fresh"]),
  ninja: () => ({ cmd: "ninja", args: ["-C", WS, "-n"], env: process.env }),
};
const names = Object.keys(commands);
const samples = { a: [], b: [], ninja: [] };
const cpu = { a: [], b: [], ninja: [] };
for (let i = 0; i < Number(values.reps); i++) {
  for (const name of names.map((_, j) => names[(i + j) % names.length])) {
    const { cmd, args, env } = commands[name]();
    const [run, runArgs] = values.cpu ? ["perf", ["stat", "-x,", "-e", "task-clock", cmd, ...args]] : [cmd, args];
    const t0 = performance.now();
    const r = spawnSync(run, runArgs, { env, encoding: "utf8" });
    const ms = performance.now() - t0;
    if (values.cpu) cpu[name].push(Number(/^([\d.]+),msec,task-clock/m.exec(r.stderr)?.[1]));
    // A run that planned for real instead of replaying would measure something else.
    if (r.status !== 0 || (name !== "ninja" && !/^\d+ fresh, 0 stale; estimated \$0\.00 \(0\.\ds\)/.test(r.stdout))) throw new Error(`${name}: exit ${r.status}\n${r.stdout}${r.stderr}`);
    samples[name].push(ms);
  }
  process.stderr.write(`  ${i + 1}/${values.reps}\r`);
}
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const range = (xs) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} ms`;
for (const name of names) console.log(`${name.padEnd(5)} median ${median(samples[name]).toFixed(0)} ms (${range(samples[name])})`);
for (const name of ["a", "b"]) {
  const paired = median(samples[name].map((ms, i) => ms / samples.ninja[i]));
  console.log(`${name} / ninja: ratio of medians ${(median(samples[name]) / median(samples.ninja)).toFixed(2)}×, paired ${paired.toFixed(2)}×`);
}
if (values.cpu) {
  for (const name of names) console.log(`${name.padEnd(5)} CPU median ${median(cpu[name]).toFixed(0)} ms (${range(cpu[name])})`);
  for (const name of ["a", "b"]) console.log(`${name} / ninja CPU: paired ${median(cpu[name].map((ms, i) => ms / cpu.ninja[i])).toFixed(2)}×`);
}
