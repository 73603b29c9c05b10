import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { RealDisk } from "../src/cache/disk.js";
import { StatCache } from "../src/cache/stat-cache.js";
import { analyze } from "../src/graph/analyzer.js";
import type { RuleSet, SourceFile } from "../src/rules/api.js";
import { CACHE_DIR, openWorkspace, PARSE_CACHE, parseCacheVersion } from "../src/workspace/open.js";
import { adoptHistory } from "../src/adopt/adopt.js";
import { writeJsonCache } from "../src/cache/json-file.js";
import { exampleWorkspace } from "./support/cli.js";
import { scratchDir } from "./support/tmp.js";

// What the plan keeps alive is seen through a forced full collection and weak references.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

describe("what a plan holds per target", () => {
  it("equal references, requested settings and their resolution are one shared, frozen object", async () => {
    const ws = await openWorkspace({ root: exampleWorkspace(), patterns: [] });
    const images = [...ws.records.values()].filter((r) => r.kind !== "data");
    // Two targets showing the same image (a character's portrait) as a reference.
    const byPath = new Map<string, object[]>();
    for (const r of images) for (const ref of r.references) byPath.set(ref.path, [...(byPath.get(ref.path) ?? []), ref]);
    const repeated = [...byPath.values()].find((refs) => refs.length > 1)!;
    expect(repeated).toBeDefined();
    expect(new Set(repeated).size).toBe(1);
    expect(Object.isFrozen(repeated[0])).toBe(true);

    const [a, b] = images.filter((r) => JSON.stringify(r.requested) === JSON.stringify(images[0]!.requested));
    expect(b).toBeDefined();
    expect(a!.requested).toBe(b!.requested);
    expect(ws.settings.get(a!.id)).toBe(ws.settings.get(b!.id));
    expect(() => {
      (a!.requested as { model?: string }).model = "changed";
    }).toThrow(TypeError);
  });

  it("once planned, keeps the 64 files read most recently for many sources, and parses a released one again when a spec needs it", async () => {
    const root = scratchDir("chargen-plan-");
    const shared = Array.from({ length: 70 }, (_, i) => `shared/s${String(i).padStart(2, "0")}.yaml`);
    mkdirSync(join(root, "shared"));
    mkdirSync(join(root, "sources"));
    for (const path of shared) writeFileSync(join(root, path), `title: ${path}\n`);
    // Source i reads shared file i: the first six are read earliest.
    shared.forEach((_, i) => writeFileSync(join(root, `sources/${String(i).padStart(2, "0")}.yaml`), `reads: ${i}\n`));

    const documents = new Map<string, WeakRef<SourceFile>>();
    const rules: RuleSet = {
      rules: [
        {
          name: "reader",
          sources: ["sources/*.yaml"],
          plan(file, ctx) {
            const path = shared[Number(file.doc.get("reads"))]!;
            const read = ctx.readYaml(path);
            if (read) documents.set(path, new WeakRef(read));
            ctx.emit({
              id: `t/${file.path}`,
              rule: "reader",
              source: { file: file.path, line: 1, column: 1 },
              prompt: { compiler: "test/1", parts: [{ role: "prompt", text: String(read?.doc.get("title")) }], negative: [] },
              references: [],
              requested: { provider: "placeholder" },
              output: `out/${file.path}.png`,
            });
          },
        },
      ],
    };
    const analysis = analyze(rules, new RealDisk(root, StatCache.load(join(root, "stat.json"))), undefined, "test");
    // A weak reference keeps its target until the current job ends.
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    const released = shared.filter((path) => documents.get(path)!.deref() === undefined);
    expect(released).toEqual(shared.slice(0, 6));

    // The spec of a target past the 32 files whose specs are kept reads its released file again.
    expect(analysis.spec("t/sources/00.yaml")?.prompt.parts[0]?.text).toBe("shared/s00.yaml");
    expect(documents.get(shared[0]!)!.deref()).toBeDefined();
  });
});

describe("fitting kept in the parse cache", () => {
  it("a build for another model and its adoption, keyed for the routed one, each keep their fitting: the second plan re-runs no rule", async () => {
    const root = exampleWorkspace();
    writeFileSync(
      join(root, "chargen.rules.ts"),
      'import builtIn from "chargen/rules";\nexport default { ...builtIn, defaults: { ...builtIn.defaults, provider: "google" }, providers: { google: { maxReferenceImages: 1 }, openai: { maxReferenceImages: 2 } } };\n',
    );
    const changed: boolean[] = [];
    for (let run = 0; run < 2; run++) {
      const ws = await openWorkspace({ root, patterns: [], providerOverride: "openai" });
      adoptHistory(ws, new Date(0));
      changed.push(ws.analysis.cacheChanged);
      await writeJsonCache(join(root, CACHE_DIR, PARSE_CACHE), parseCacheVersion, ws.analysis.cache);
    }
    expect(changed).toEqual([true, false]);
  });
});
