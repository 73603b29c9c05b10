/** MemoryQuill's readers, as far as tests need them (../shared/notes/memoryquill-contract.md §A). */
import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import fg from "fast-glob";
import { isMap, isScalar, isSeq, parse, parseDocument, type Node } from "yaml";
import { contractViolation } from "../../src/rules/memoryquill-contract.js";

type Data = Record<string, unknown>;
const list = (v: unknown): Data[] => (Array.isArray(v) ? v.filter((x): x is Data => !!x && typeof x === "object") : []);

/**
 * The workspace-relative image files the publishing step would upload, read as its
 * `normalizeImagery` reads (§A.3): only `imagery.yaml` files; chapter `images[].image_inventory`,
 * character `image_inventory` (status must be approved), location overview, zone and nested zone
 * image inventories; status absent or approved, type in its list, a non-empty path, a file there.
 */
export function ingestedImages(root: string): Set<string> {
  const out = new Set<string>();
  const take = (folder: string, records: Data[], strict: boolean) => {
    for (const r of records) {
      const okStatus = strict ? r.status === "approved" : r.status === undefined || r.status === "approved";
      const types = strict ? ["generated", "imported", "edited"] : ["generated", "imported", "edited", "placeholder"];
      const okType = r.type === undefined || types.includes(String(r.type));
      if (!okStatus || !okType || typeof r.path !== "string" || !r.path) continue;
      const path = posix.join(folder, r.path);
      if (existsSync(join(root, path))) out.add(path);
    }
  };
  for (const file of fg.sync("{chapters,characters,locations}/*/imagery.yaml", { cwd: root })) {
    let data: Data;
    try {
      data = (parse(readFileSync(join(root, file), "utf8")) ?? {}) as Data;
    } catch {
      continue; // ingestion skips what does not parse
    }
    const folder = posix.dirname(file);
    if (file.startsWith("chapters/")) for (const image of list(data.images)) take(folder, list(image.image_inventory), false);
    else if (file.startsWith("characters/")) take(folder, list(data.image_inventory), true);
    else {
      take(folder, list((data.overview as Data | undefined)?.image_inventory), false);
      for (const zone of list(data.zones)) {
        take(folder, list(zone.image_inventory), false);
        for (const image of list(zone.images)) take(folder, list(image.image_inventory), false);
      }
    }
  }
  return out;
}

/** Every workspace YAML file (path -> its contract violation, or "ok"; "unparsable" when it does not parse). */
export function contractStates(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const file of fg.sync("**/*.yaml", { cwd: root, ignore: [".chargen/**"] }).sort()) {
    const doc = parseDocument(readFileSync(join(root, file), "utf8"));
    out.set(file, doc.errors.length ? "unparsable" : (contractViolation(file, doc.toJS()) ?? "ok"));
  }
  return out;
}

/**
 * Where `after` differs from `before` in anything `before` already held: every scalar that was
 * set (not null, not "") must keep its exact text, every list its items and every map its keys.
 * Appended records and filled-in empty fields are allowed; nothing else. Returns the paths that changed.
 */
export function changedRecords(before: string, after: string): string[] {
  const a = parseDocument(before);
  const b = parseDocument(after);
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (isMap(x)) {
      if (!isMap(y)) return void out.push(path);
      for (const pair of x.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : "?";
        walk(pair.value, y.get(key, true), `${path}.${key}`);
      }
    } else if (isSeq(x)) {
      if (!isSeq(y)) return void out.push(path);
      x.items.forEach((item, i) => walk(item, y.items[i], `${path}[${i}]`));
    } else if (isScalar(x) && x.value !== null && x.value !== "") {
      const text = (t: string, n: unknown) => (isScalar(n) && (n as Node).range ? t.slice((n as Node).range![0], (n as Node).range![1]) : undefined);
      if (text(before, x) !== text(after, y)) out.push(path);
    }
  };
  walk(a.contents, b.contents, "");
  return out;
}
