#!/usr/bin/env node
/**
 * Batch mode at scale (issue 12): staging and submitting 10,000 targets, then collecting and
 * applying 10,000 results, against the Gemini batch fake of test/fakes on 127.0.0.1 (started in
 * this process; chargen runs as a child under `/usr/bin/time -v` for its peak RSS). For
 * comparison, the live build's apply rate: the same workspace built live with the placeholder
 * provider (no network, no latency), so both rates are chargen's own work.
 *
 * Usage: node bench/batch.mjs [--chapters 1000] [--out bench/work/batch]
 */
import { spawn } from "node:child_process";
import { cpSync, rmSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { createJiti } from "jiti";

const { values } = parseArgs({ options: { chapters: { type: "string", default: "1000" }, out: { type: "string", default: "bench/work/batch" } } });
const OUT = resolve(values.out);
const CLI = resolve("dist/src/cli.js");
const KEY = "bench-key";

function timed(args, env, cwd) {
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const child = spawn("/usr/bin/time", ["-v", process.execPath, CLI, ...args], { cwd, env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: "1", ...env } });
    let err = "";
    child.stderr.on("data", (d) => (err += d));
    child.stdout.resume();
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1] ?? NaN);
      if (code !== 0) console.error(err.split("\n").slice(-30).join("\n"));
      done({ ms, rssMb: rssKb / 1024, code });
    });
  });
}

rmSync(OUT, { recursive: true, force: true });
const gen = spawn(process.execPath, [resolve("bench/gen-workspace.mjs"), "--out", join(OUT, "batch"), "--chapters", values.chapters], { stdio: "inherit" });
await new Promise((r) => gen.on("close", r));
cpSync(join(OUT, "batch"), join(OUT, "live"), { recursive: true });

const jiti = createJiti(import.meta.url);
const { startGeminiBatchFake } = await jiti.import(resolve("test/fakes/batch-fake.ts"));
const fake = await startGeminiBatchFake({ apiKey: KEY });
const env = { GOOGLE_GEMINI_BASE_URL: fake.url, GEMINI_API_KEY: KEY, CHARGEN_BATCH_POLL_MS: "50" };

const ws = join(OUT, "batch");
const submit = await timed(["build", "--batch", "--provider", "google"], env, ws);
const lines = fake.jobs.reduce((n, j) => n + j.lines.length, 0);
const collect = await timed(["batch", "collect"], env, ws);
await fake.stop();
const live = await timed(["build"], {}, join(OUT, "live"));

const row = (name, r, n) => `| ${name} | ${(r.ms / 1000).toFixed(1)} s | ${r.rssMb.toFixed(0)} MB | ${(n / (r.ms / 1000)).toFixed(0)} targets/s | exit ${r.code} |`;
console.log(`\n${cpus().length} cores (${cpus()[0]?.model ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GB, Node ${process.version}; ${lines} lines in ${fake.jobs.length} job(s)\n`);
console.log("| step | wall | peak RSS | rate | |\n|---|---|---|---|---|");
console.log(row("`build --batch` (plan, stage, upload, create)", submit, lines));
console.log(row("`batch collect` (poll, download, verify, store, apply)", collect, lines));
console.log(row("live `build` (placeholder: generate, store, apply)", live, lines));
