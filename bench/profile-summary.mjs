#!/usr/bin/env node
/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by module,
 * and inclusive time of chargen's own functions.
 * Usage: node bench/profile-summary.mjs FILE.cpuprofile [--top 25]
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: "string", default: "25" } } });
const top = Number(values.top);
const profile = JSON.parse(readFileSync(positionals[0], "utf8"));

// Time per sample: the gap to the next one.
const selfUs = new Map();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? 0)));
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const shortUrl = (url) => {
  if (!url) return "(native)";
  const m = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (m) return `npm:${m[1]}`;
  const d = url.match(/dist\/(src\/.*)$/);
  if (d) return d[1];
  return url.replace(/^file:\/\//, "").replace(/^node:/, "node:");
};
const label = (n) => `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;

const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us);
const byFunction = new Map();
const byModule = new Map();
const inclusive = new Map();
for (const [id, us] of selfUs) {
  const n = nodes.get(id);
  add(byFunction, label(n), us);
  add(byModule, shortUrl(n.callFrame.url), us);
  // Inclusive time for chargen's own frames (each counted once per stack).
  const seen = new Set();
  for (let p = id; p !== undefined; p = parent.get(p)) {
    const f = nodes.get(p);
    if (!f.callFrame.url.includes("/dist/src/")) continue;
    const key = label(f);
    if (!seen.has(key)) add(inclusive, key, us), seen.add(key);
  }
}

const ms = (us) => (us / 1000).toFixed(1).padStart(8);
const pct = (us) => ((100 * us) / total).toFixed(1).padStart(5) + "%";
const print = (title, map) => {
  console.log(`\n${title}`);
  for (const [k, us] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${ms(us)} ms ${pct(us)}  ${k}`);
};
console.log(`total sampled: ${(total / 1000).toFixed(0)} ms`);
print("self time by function", byFunction);
print("self time by module", byModule);
print("inclusive time, chargen functions", inclusive);
