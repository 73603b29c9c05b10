// Watch-mode latency: from an author's save to the provider call, over 20 edits, with the
// placeholder provider. Starts `chargen build --watch` on a copy of the example workspace, edits
// one chapter prompt at a time, and reads when the placeholder's generate() started from its call
// log. Usage: npm run build && node bench/watch-latency.mjs [edits=20] [debounceMs=100]
import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const edits = Number(process.argv[2] ?? 20);
const debounceMs = Number(process.argv[3] ?? 100);
const ws = join(root, "bench", "work", "watch-latency");
rmSync(ws, { recursive: true, force: true });
mkdirSync(join(root, "bench", "work"), { recursive: true });
cpSync(join(root, "examples", "lantern-keepers"), ws, { recursive: true, filter: (s) => !s.includes(".chargen") });
const log = join(ws, ".calls.log");
const yaml = join(ws, "chapters", "ch01-the-grey-tide", "imagery.yaml");

const child = spawn(process.execPath, [join(root, "dist", "src", "cli.js"), "build", "--watch", "--debounce", String(debounceMs)], {
  cwd: ws,
  env: { ...process.env, CHARGEN_PLACEHOLDER_CALL_LOG: log, NO_COLOR: "1" },
  stdio: ["ignore", "pipe", "pipe"],
});
let out = "";
child.stdout.on("data", (d) => (out += d));
child.stderr.resume();
const runs = () => (out.match(/^watch: run \d+/gm) ?? []).length;
const lines = () => (existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : []);
const until = async (cond) => {
  const deadline = Date.now() + 30_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 2));
  }
};

await until(() => runs() >= 1);
await new Promise((r) => setTimeout(r, 500)); // let the first build's write-backs settle
const latencies = [];
for (let i = 1; i <= edits; i++) {
  const before = lines().length;
  const runsBefore = runs();
  const text = readFileSync(yaml, "utf8");
  const savedAt = Date.now();
  writeFileSync(yaml, text.replace(/a tall [a-z0-9 -]*?keeper/, `a tall keeper-${i}`));
  await until(() => lines().length > before);
  latencies.push(Number(lines()[before].split("\t")[2]) - savedAt);
  await until(() => runs() > runsBefore);
  await new Promise((r) => setTimeout(r, 200)); // let the write-back settle before the next save
}
child.kill("SIGINT");
latencies.sort((a, b) => a - b);
const median = latencies[Math.floor(latencies.length / 2)];
const worst = latencies.at(-1);
const result = { edits, debounceMs, medianMs: median, worstMs: worst, medianBeyondDebounceMs: median - debounceMs, worstBeyondDebounceMs: worst - debounceMs, all: latencies };
writeFileSync(join(root, "bench", "watch-latency.json"), JSON.stringify(result, null, 2) + "\n");
console.log(`save -> provider call over ${edits} edits (debounce ${debounceMs} ms): median ${median} ms, worst ${worst} ms; beyond the debounce: median ${median - debounceMs} ms, worst ${worst - debounceMs} ms`);
