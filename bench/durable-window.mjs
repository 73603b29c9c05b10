#!/usr/bin/env node
// The answer -> durable window: from the moment a provider's answer is in chargen's hands (the
// placeholder's call log, written as it answers) to the moment its blob and journal line are in
// the kernel ("recorded": a kill -9 inside that window pays for the generation twice) and then
// fsynced ("durable": the same against a power cut). CHARGEN_DEBUG=durable prints both.
// Measured under load: -j 8, no simulated latency (the placeholder renders synchronously, so the
// event loop is always busy), on the example (1024 px images) and on a generated ~300-target
// workspace, with two busy-looping processes competing for the CPU.
// Usage: npm run build && node bench/durable-window.mjs [--reps 3] [--no-load]
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { reps: { type: "string", default: "3" }, "no-load": { type: "boolean", default: false } } });
const root = join(import.meta.dirname, "..");
const work = join(root, "bench", "work", "durable-window");
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
const generated = join(work, "generated");
execFileSync(process.execPath, [join(root, "bench", "gen-workspace.mjs"), "--out", generated, "--chapters", "30", "--images", "10", "--characters", "20"], { stdio: "ignore" });

const hogs = values["no-load"] ? [] : [0, 1].map(() => spawn(process.execPath, ["-e", "for(;;){}"], { stdio: "ignore" }));

function measure(source, name, rep) {
  const ws = join(work, `${name}-${rep}`);
  cpSync(source, ws, { recursive: true });
  const log = join(ws, ".calls.log");
  const run = spawnSync(process.execPath, [join(root, "dist", "src", "cli.js"), "build", "-j", "8"], {
    cwd: ws,
    env: { ...process.env, CHARGEN_PLACEHOLDER_CALL_LOG: log, CHARGEN_PLACEHOLDER_LATENCY_MS: "0", CHARGEN_DEBUG: "durable", NO_COLOR: "1", CI: "true" },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  if (run.status !== 0) throw new Error(`${name}: exit ${run.status}\n${run.stderr}`);
  const answered = new Map(readFileSync(log, "utf8").trim().split("\n").map((l) => l.split("\t")).map((f) => [f[0], Number(f[4])]));
  const windows = { recorded: [], durable: [] };
  for (const [, stage, id, at] of run.stderr.matchAll(/^\[(recorded|durable)\] (\S+)\t([\d.]+)$/gm)) windows[stage].push(Number(at) - answered.get(id));
  for (const stage of STAGES) if (windows[stage].length !== answered.size) throw new Error(`${name}: ${answered.size} answers but ${windows[stage].length} ${stage} records`);
  return windows;
}

// recorded: in the kernel (a kill -9 loses nothing from then on); durable: fsynced (nor does a power cut).
const STAGES = ["recorded", "durable"];
const ms = (v) => Math.round(v * 1000) / 1000;
const stats = (list) => {
  list.sort((a, b) => a - b);
  return { medianMs: ms(list[Math.floor(list.length / 2)]), p99Ms: ms(list[Math.floor(list.length * 0.99)]), worstMs: ms(list.at(-1)) };
};

const results = {};
try {
  for (const [name, source] of [["example", join(root, "examples", "lantern-keepers")], ["generated-300", generated]]) {
    const all = { recorded: [], durable: [] };
    for (let rep = 0; rep < Number(values.reps); rep++) {
      const windows = measure(source, name, rep);
      for (const stage of STAGES) all[stage].push(...windows[stage]);
    }
    results[name] = { generations: all.recorded.length, recorded: stats(all.recorded), durable: stats(all.durable) };
    for (const stage of STAGES) {
      const r = results[name][stage];
      console.log(`${name}: ${all[stage].length} generations, answer -> ${stage}: median ${r.medianMs} ms, p99 ${r.p99Ms} ms, worst ${r.worstMs} ms`);
    }
  }
} finally {
  for (const h of hogs) h.kill();
}
writeFileSync(join(root, "bench", values["no-load"] ? "durable-window-no-load.json" : "durable-window.json"), JSON.stringify({ load: values["no-load"] ? "none" : "two busy-looping processes", jobs: 8, ...results }, null, 2) + "\n");
