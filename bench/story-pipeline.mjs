// A book read into images in one build, pipelined: 20 chapters laid out by `init --from-book`,
// the placeholder reading and drawing with a fixed latency, the reading model two calls at a time
// and the image model one (text twice as fast as images: the 10 and 5 per minute, scaled
// to 2 and 1 per latency). Reports the makespan next to the sequential schedule (every reading,
// then every image) and the lower bound max(text work, image work) + the first chapter's text
// time (its elements and its specification), from the calls the build made (each call's work as
// it took it: the latency plus the placeholder's own time to answer and draw).
// Usage: npm run build && node bench/story-pipeline.mjs [chapters=20] [latencyMs=1000] [jobs=8, the default]
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const chapters = Number(process.argv[2] ?? 20);
const latency = Number(process.argv[3] ?? 1000);
const jobs = Number(process.argv[4] ?? 8);
const work = join(root, "bench", "work", "story-pipeline");
rmSync(work, { recursive: true, force: true });
mkdirSync(join(work, "book"), { recursive: true });
const sentences = ["Fog came in early that year.", "Nell rowed out past the jetty.", "The lighthouse stood dark on the point.", "Tobias waited on the quay.", "Gulls wheeled over the mudflats."];
for (let i = 1; i <= chapters; i++) {
  const text = Array.from({ length: 6 }, (_, j) => `${sentences[(i + j) % sentences.length]} Line ${j} of chapter ${i}.`).join("\n\n");
  writeFileSync(join(work, "book", `${String(i).padStart(2, "0")}-chapter.md`), `# Chapter ${i}\n\n${text}\n`);
}
const cli = join(root, "dist", "src", "cli.js");
const run = (args, env = {}) => spawnSync(process.execPath, [cli, ...args], { cwd: join(work, "ws"), env: { ...process.env, NO_COLOR: "1", ...env }, encoding: "utf8" });
spawnSync(process.execPath, [cli, "init", "--from-book", "book", "ws"], { cwd: work, encoding: "utf8" });
const rules = join(work, "ws", "chargen.rules.ts");
writeFileSync(
  rules,
  readFileSync(rules, "utf8")
    .replace(
      "defaults: { ...builtIn.defaults }",
      `defaults: { ...builtIn.defaults, provider: "placeholder", model: "placeholder-1", read: { provider: "placeholder", model: "placeholder-reader" } },
  providers: { placeholder: { maxInFlight: 32, options: { latencyMs: ${latency} }, models: { "placeholder-reader": { maxInFlight: 2 }, "placeholder-1": { maxInFlight: 1 } } } }`,
    ),
);
const log = join(work, "calls.log");
const started = Date.now();
const r = run(["build", "-j", String(jobs)], { CHARGEN_PLACEHOLDER_CALL_LOG: log });
const wall = Date.now() - started;
if (r.status !== 0) throw new Error(`build exited ${r.status}: ${r.stderr}`);
const calls = readFileSync(log, "utf8")
  .trim()
  .split("\n")
  .map((l) => l.split("\t"))
  .map(([id, , start, , end]) => ({ id, start: Number(start), end: Number(end) }));
const readings = calls.filter((c) => c.id.endsWith("/scene-specs") || c.id.endsWith("/elements"));
const images = calls.filter((c) => !readings.includes(c));
const t0 = Math.min(...calls.map((c) => c.start));
const makespan = Math.max(...calls.map((c) => c.end)) - t0;
// Work as the calls took it (the latency, and the placeholder's own time to answer and draw).
const took = (list) => list.reduce((n, c) => n + (c.end - c.start), 0);
const textWork = took(readings) / 2;
const imageWork = took(images);
const firstChapter = readings.filter((c) => c.id.startsWith("chapters/ch01-"));
const bound = Math.max(textWork, imageWork) + took(firstChapter);
const sequential = textWork + imageWork;
const firstImage = Math.min(...images.map((c) => c.start)) - t0;
const lastReading = Math.max(...readings.map((c) => c.end)) - t0;
const result = {
  chapters,
  latencyMs: latency,
  jobs,
  readings: readings.length,
  images: images.length,
  makespanMs: Math.round(makespan),
  sequentialMs: Math.round(sequential),
  lowerBoundMs: Math.round(bound),
  ratioToSequential: Number((makespan / sequential).toFixed(3)),
  ratioToBound: Number((makespan / bound).toFixed(3)),
  firstImageStartsMs: Math.round(firstImage),
  lastReadingEndsMs: Math.round(lastReading),
  wallMs: wall,
};
console.log(JSON.stringify(result, null, 2));
