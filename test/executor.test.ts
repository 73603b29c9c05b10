import { describe, expect, it } from "vitest";
import type { Clock } from "../src/core/clock.js";
import type { ActionRecord } from "../src/cache/store.js";
import { ChargenError, Code } from "../src/core/errors.js";
import type { TargetRecord } from "../src/graph/analyzer.js";
import { buildGraph } from "../src/graph/dag.js";
import { Executor, type Application, type ExecutorEffects } from "../src/graph/executor.js";
import { promptSize } from "../src/graph/budget.js";
import { promptDigests } from "../src/model/keys.js";
import type { ModelSettings, TargetSpec } from "../src/model/target.js";
import type { ImageRequest, ImageResult } from "../src/providers/types.js";
import { part } from "../src/model/prompt-ir.js";
import type { Resolved } from "../src/rules/settings.js";

const settings: ModelSettings = { provider: "fake", model: "fake-1", format: "png", n: 1 };

function spec(id: string, references: string[] = []): TargetSpec {
  return {
    id,
    rule: "r",
    source: { file: "a.yaml", line: 1, column: 1 },
    prompt: { parts: part("scenario", `draw ${id}`), negative: [], compiler: "test/1" },
    references: references.map((path) => ({ path, role: "ref" })),
    requested: {},
    output: `out/${id}.png`,
  };
}

function record(s: TargetSpec): TargetRecord {
  return { id: s.id, rule: s.rule, source: s.source, output: s.output, references: s.references, unresolved: [], requested: s.requested, digests: promptDigests(s.prompt), promptSize: promptSize(s.prompt) };
}

const clock: Clock = { now: () => 0, sleep: async () => {} };

/** An executor over in-memory effects; `generate` decides what the provider does per target. */
function harness(specs: TargetSpec[], generate: (r: ImageRequest) => Promise<ImageResult>, options: { failFast?: boolean; jobs?: number; settings?: ModelSettings } = {}) {
  const files = new Map<string, Uint8Array>();
  const actions: ActionRecord[] = [];
  const applied: string[] = [];
  const calls: string[] = [];
  const effects: ExecutorEffects = {
    digest: (p) => (files.has(p) ? `d:${Buffer.from(files.get(p)!).toString("hex")}` : undefined),
    readBytes: (p) => files.get(p)!,
    size: (p) => files.get(p)?.length,
    refusal: () => undefined,
    spec: (id) => specs.find((s) => s.id === id),
    store: {
      latest: (key) => actions.findLast((a) => a.key === key),
      find: (key, digest) => actions.find((a) => a.key === key && a.blob === digest),
      readBlob: () => undefined,
      put: (bytes, r) => {
        const action = { ...r, blob: `d:${Buffer.from(bytes).toString("hex")}` };
        actions.push(action);
        return action;
      },
    },
    hub: {
      unsendable: () => undefined,
      generate: async (request) => {
        calls.push(request.targetId);
        return generate(request);
      },
    },
    apply: async (app: Application) => {
      files.set(app.record.output, app.bytes!);
      applied.push(app.record.id);
    },
    clock,
  };
  const records = specs.map(record);
  const resolved = new Map<string, Resolved | ChargenError>(specs.map((s) => [s.id, { settings: options.settings ?? settings, adjustments: [], route: "test" }]));
  const executor = new Executor({
    graph: buildGraph(records),
    records: new Map(records.map((r) => [r.id, r])),
    settings: resolved,
    lock: new Map(),
    effects,
    options: { force: false, failFast: options.failFast ?? false, jobs: options.jobs ?? 1, missingReferences: "fail", price: () => 0 },
  });
  return { executor, calls, applied, run: () => executor.run(specs.map((s) => s.id)) };
}

const image = (text: string): ImageResult => ({ bytes: new TextEncoder().encode(text), mimeType: "image/png", metadata: {} });

describe("executor: failures are decided by kind and code, never by message", () => {
  it("an unexpected exception is an internal failure that names where it happened and stops scheduling", async () => {
    const h = harness([spec("a"), spec("b"), spec("c")], async (r) => {
      if (r.targetId === "a") throw new TypeError("cannot read properties of undefined");
      return image(r.targetId);
    });
    const outcomes = await h.run();
    const a = outcomes.find((o) => o.id === "a")!;
    expect(a.status).toBe("failed");
    expect(a.error?.kind).toBe("internal");
    expect(a.error?.details.code).toBe(Code.bug);
    expect(a.reasons[0]).toMatch(/^internal error \(a bug in chargen, please report it\): cannot read properties of undefined \(at .*executor\.test\.ts/);
    // One job at a time: b and c had not started, and a bug stops the build from starting more.
    expect(h.calls).toEqual(["a"]);
    expect(outcomes.filter((o) => o.status === "skipped").map((o) => o.id)).toEqual(["b", "c"]);
  });

  it("an ordinary target failure does not stop the others", async () => {
    const h = harness([spec("a"), spec("b")], async (r) => {
      if (r.targetId === "a") throw new ChargenError("target", "blocked by a safety filter", { code: "SAFETY" });
      return image(r.targetId);
    });
    const outcomes = await h.run();
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([
      ["a", "failed"],
      ["b", "built"],
    ]);
    expect(h.applied).toEqual(["b"]);
  });

  it("a request not sent because its provider stopped is skipped, whatever its message says", async () => {
    const h = harness([spec("a"), spec("b")], async (r) => {
      if (r.targetId === "a") throw new ChargenError("provider", "quota exhausted", { code: "billing_hard_limit_reached" });
      throw new ChargenError("provider", "the provider said no earlier", { code: Code.notSent });
    });
    const outcomes = await h.run();
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([
      ["a", "failed"],
      ["b", "skipped"],
    ]);
  });

  it("a message that merely reads 'interrupted' or 'not sent:' is a failure, not a skip", async () => {
    const h = harness([spec("a"), spec("b")], async (r) => {
      throw new ChargenError(r.targetId === "a" ? "target" : "provider", r.targetId === "a" ? "interrupted" : "not sent: by a proxy");
    });
    const outcomes = await h.run();
    expect(outcomes.map((o) => o.status)).toEqual(["failed", "failed"]);
  });

  it("stop() skips what has not started; the target in flight finishes and is applied", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const h = harness([spec("a"), spec("b")], async (r) => {
      await gate;
      return image(r.targetId);
    });
    const running = h.run();
    await new Promise((r) => setTimeout(r, 0));
    h.executor.stop();
    release();
    const outcomes = await running;
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([
      ["a", "built"],
      ["b", "skipped"],
    ]);
    expect(h.calls).toEqual(["a"]);
  });

  it("a dependent waits for its upstream and is skipped when the upstream fails", async () => {
    const up = spec("up");
    const down = spec("down", [up.output]);
    const h = harness([down, up], async (r) => {
      if (r.targetId === "up") throw new ChargenError("target", "rejected", { code: "BAD_REQUEST" });
      return image(r.targetId);
    });
    const outcomes = await h.run();
    expect(outcomes.find((o) => o.id === "down")).toMatchObject({ status: "skipped", reasons: ["upstream up failed"] });
    expect(h.calls).toEqual(["up"]);
  });
});

describe("executor: requests", () => {
  it("a size written with spaces reaches the provider as pixels (one size parser for all)", async () => {
    const sizes: unknown[] = [];
    const h = harness(
      [spec("a")],
      async (r) => {
        sizes.push(r.size);
        return image("a");
      },
      { settings: { ...settings, size: "1024 x 1536" } },
    );
    await h.run();
    expect(sizes).toEqual([{ width: 1024, height: 1536 }]);
  });
});
