#!/usr/bin/env node
/**
 * The floor for a cold plan: read and parse every chapter YAML of a workspace with the parser
 * chargen uses (yaml's parseDocument, same options), and nothing else.
 * Usage: node bench/parse-only.mjs WORKSPACE
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LineCounter, parseDocument } from "yaml";

const root = process.argv[2] ?? "bench/work/ws";
let files = 0;
let errors = 0;
for (const dir of readdirSync(join(root, "chapters")).sort()) {
  const text = readFileSync(join(root, "chapters", dir, "imagery.yaml"), "utf8");
  const doc = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false, uniqueKeys: false });
  files++;
  errors += doc.errors.length;
}
console.log(`parsed ${files} files, ${errors} errors`);
