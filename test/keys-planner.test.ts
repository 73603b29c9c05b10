import { describe, expect, it } from "vitest";
import type { LockEntry } from "../src/cache/lockfile.js";
import type { TargetRecord } from "../src/graph/analyzer.js";
import { promptSize } from "../src/graph/budget.js";
import { buildGraph } from "../src/graph/dag.js";
import { explainChange, keyOf, promptDigests, type KeyInputs } from "../src/model/keys.js";
import { decide, keyInputs, type DecisionInput, type RefState } from "../src/graph/planner.js";
import type { ModelSettings } from "../src/model/target.js";
import { canonicalJson } from "../src/core/hash.js";

const settings: ModelSettings = { provider: "placeholder", model: "placeholder-1", format: "png", n: 1, size: "1024x1024" };
const ir = (text: string, negative = "blurry") => ({ compiler: "test/1", parts: [{ role: "prompt", text }], negative: [negative] });

function record(id: string, refs: string[] = [], text = "a lighthouse"): TargetRecord {
  return {
    id,
    rule: "test",
    source: { file: "f.yaml", line: 1, column: 1 },
    output: `${id}.png`,
    references: refs.map((path) => ({ path, role: "character:x" })),
    unresolved: [],
    requested: {},
    digests: promptDigests(ir(text)),
    promptSize: promptSize(ir(text)),
  };
}

const refsOf = (entries: Record<string, RefState>) => new Map(Object.entries(entries));

function input(overrides: Partial<DecisionInput>): DecisionInput {
  return {
    record: record("a"),
    settings,
    refs: new Map(),
    lock: undefined,
    outputDigest: undefined,
    produced: () => false,
    restorable: () => false,
    force: false,
    missingReferences: "fail",
    ...overrides,
  };
}

function lockFor(d: DecisionInput, outputDigest: string): LockEntry {
  const inputs = keyInputs(d.record, d.settings, d.refs);
  return { key: keyOf(inputs), output: d.record.output, outputDigest, provider: "placeholder", model: "placeholder-1", builtAt: "t", inputs };
}

describe("keys", () => {
  it("do not depend on field order or on whitespace the IR normalises away", () => {
    const a: KeyInputs = { compiler: "c", prompt: { prompt: "1" }, negative: "n", settings, refs: { "x.png": "d1", "y.png": "d2" } };
    const b = JSON.parse(JSON.stringify({ refs: { "y.png": "d2", "x.png": "d1" }, settings: { ...settings }, negative: "n", prompt: { prompt: "1" }, compiler: "c" }));
    expect(keyOf(b)).toBe(keyOf(a));
    expect(canonicalJson({ b: 1, a: { d: 2, c: undefined } })).toBe('{"a":{"d":2},"b":1}');
  });

  it("explain every changed input by name", () => {
    const before: KeyInputs = { compiler: "c/1", prompt: promptDigests(ir("a")).prompt, negative: "n", settings, refs: { "p.png": "1", "q.png": "2" } };
    const now: KeyInputs = {
      compiler: "c/2",
      prompt: promptDigests(ir("b")).prompt,
      negative: "m",
      settings: { ...settings, model: "m2", size: "1536x1024" },
      refs: { "p.png": "9", "r.png": "3" },
    };
    expect(explainChange(before, now)).toEqual([
      "prompt compiler c/1 -> c/2",
      "prompt changed",
      "negative prompt changed",
      "model placeholder-1 -> m2",
      "size 1024x1024 -> 1536x1024",
      "reference p.png changed",
      "reference q.png removed",
      "reference r.png added",
    ]);
  });
});

describe("decide", () => {
  it("never built, then fresh once the lock and the output agree", () => {
    const d = input({});
    expect(decide(d)).toMatchObject({ status: "stale", reasons: ["never built"], restorable: false });
    const built = { ...d, lock: lockFor(d, "out1"), outputDigest: "out1" };
    expect(decide(built).status).toBe("fresh");
  });

  it("a lock entry written under an older key encoding is fresh when its inputs are the same", () => {
    const d = input({});
    const lock = { ...lockFor(d, "out1"), key: "old-format-key" };
    expect(decide({ ...d, lock, outputDigest: "out1" }).status).toBe("fresh");
    const edited = input({ record: record("a", [], "another prompt"), lock, outputDigest: "out1" });
    expect(decide(edited)).toMatchObject({ status: "stale", reasons: ["prompt changed"] });
  });

  it("an edited prompt is stale with its reason; a restorable key costs nothing", () => {
    const d = input({});
    const lock = lockFor(d, "out1");
    const edited = input({ record: record("a", [], "a lighthouse at night"), lock, outputDigest: "out1", restorable: () => true });
    expect(decide(edited)).toMatchObject({ status: "stale", reasons: ["prompt changed"], restorable: true });
  });

  it("a hand-modified output is modified (not stale) unless forced", () => {
    const d = input({});
    const lock = lockFor(d, "out1");
    expect(decide({ ...d, lock, outputDigest: "hand" })).toMatchObject({ status: "modified" });
    expect(decide({ ...d, lock: undefined, outputDigest: "hand" }).reasons[0]).toMatch(/chargen did not write it/);
    expect(decide({ ...d, lock, outputDigest: "hand", force: true })).toMatchObject({ status: "stale" });
  });

  it("adopts an output chargen made for this key but never recorded in the lock (crash before the lock)", () => {
    const d = input({ produced: (_k, digest) => digest === "mine" });
    expect(decide({ ...d, outputDigest: "mine" })).toMatchObject({ status: "stale", adopt: true, restorable: true });
  });

  it("waits for an upstream target, and fails or warns on missing references as configured", () => {
    const r = record("b", ["portrait.png"]);
    expect(decide(input({ record: r, refs: refsOf({ "portrait.png": { pendingUpstream: "a" } }) }))).toMatchObject({ status: "pending" });
    const missing = refsOf({ "portrait.png": { missing: true } });
    expect(decide(input({ record: r, refs: missing }))).toMatchObject({ status: "blocked", reasons: ["reference portrait.png is missing"] });
    const warned = decide(input({ record: r, refs: missing, missingReferences: "warn" }));
    expect(warned).toMatchObject({ status: "stale", reasons: ["never built", "reference portrait.png is missing: building without it"] });
  });

  it("blocks a target on a refused reference whatever the missing-references policy, and keys nothing", () => {
    const r = record("b", ["portrait.png"]);
    const refused = refsOf({ "portrait.png": { refused: "is refused: it is not a PNG, JPEG, WebP or GIF image" } });
    for (const missingReferences of ["fail", "warn"] as const) {
      expect(decide(input({ record: r, refs: refused, missingReferences }))).toEqual({
        status: "blocked",
        reasons: ["reference portrait.png is refused: it is not a PNG, JPEG, WebP or GIF image"],
      });
    }
  });

  it("keys a dependent on the digest of the upstream output actually produced (early cutoff)", () => {
    const r = record("b", ["a.png"]);
    const first = input({ record: r, refs: refsOf({ "a.png": { digest: "v1" } }) });
    const lock = lockFor(first, "outB");
    expect(decide({ ...first, lock, outputDigest: "outB" }).status).toBe("fresh");
    // Upstream regenerated to identical bytes: still fresh. Different bytes: stale, naming the reference.
    expect(decide(input({ record: r, refs: refsOf({ "a.png": { digest: "v1" } }), lock, outputDigest: "outB" })).status).toBe("fresh");
    expect(decide(input({ record: r, refs: refsOf({ "a.png": { digest: "v2" } }), lock, outputDigest: "outB" }))).toMatchObject({
      status: "stale",
      reasons: ["reference a.png changed"],
    });
  });
});

describe("graph", () => {
  it("orders upstream first, from references that are other targets' outputs", () => {
    const g = buildGraph([record("c", ["b.png"]), record("b", ["a.png", "static.png"]), record("a")]);
    expect(g.order).toEqual(["a", "b", "c"]);
    expect(g.deps.get("b")).toEqual(["a"]);
    expect(g.diagnostics).toEqual([]);
  });

  it("reports cycles and shared outputs, naming the targets, and builds the rest", () => {
    const shared = { ...record("d"), output: "a.png" };
    const g = buildGraph([record("a", ["b.png"]), record("b", ["a.png"]), record("c"), shared]);
    expect(g.order).toEqual(["c"]);
    expect(g.diagnostics.map((d) => d.message)).toEqual([
      'target "d" writes a.png, which target "a" (f.yaml:1) writes too',
      "reference cycle: a -> b -> a",
    ]);
  });
});
