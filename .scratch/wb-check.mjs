import fg from "fast-glob";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { contractViolation } from "/work/wt-writeback/dist/src/rules/memoryquill-contract.js";
const root = process.argv[2];
for (const f of fg.sync("**/*.yaml", { cwd: root }).sort()) {
  let data; try { data = parse(readFileSync(`${root}/${f}`, "utf8")); } catch (e) { console.log(f, "UNPARSABLE"); continue; }
  console.log(f, contractViolation(f, data) ?? "ok");
}
