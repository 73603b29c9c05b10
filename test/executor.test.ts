import { describe, expect, it, vi } from "vitest";
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

/** The executor's clock, stopped: time moves only when something sleeps on it. */
class FakeClock implements Clock {
  constructor(private t = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
  }
}

/** What outlives one executor: the workspace's files and the store's records (a crash keeps both). */
interface World {
  files: Map<string, Uint8Array>;
  actions: ActionRecord[];
}

const newWorld = (): World => ({ files: new Map(), actions: [] });

interface HarnessOptions {
  failFast?: boolean;
  jobs?: number;
  settings?: ModelSettings;
  world?: World;
  maxCostUsd?: number;
  price?: (settings: ModelSettings) => number | undefined;
  /** The spec as the executor reads it again before sending (default: the planned one). */
  specNow?: (id: string) => TargetSpec | undefined;
  /** Why the provider takes nothing more (a stopped provider), asked before each send. */
  unsendable?: () => ChargenError | undefined;
  /** Per target, its model (default: `settings`). */
  settingsOf?: (id: string) => ModelSettings;
  /** How many requests a model takes at once (its gate). */
  maxInFlight?: (provider: string, model: string) => number | undefined;
}

/** An executor over in-memory effects; `generate` decides what the provider does per target. */
function harness(specs: TargetSpec[], generate: (r: ImageRequest) => Promise<ImageResult>, options: HarnessOptions = {}) {
  const { files, actions } = options.world ?? newWorld();
  const applied: Application[] = [];
  const calls: string[] = [];
  const effects: ExecutorEffects = {
    digest: (p) => (files.has(p) ? `d:${Buffer.from(files.get(p)!).toString("hex")}` : undefined),
    readBytes: (p) => files.get(p)!,
    size: (p) => files.get(p)?.length,
    refusal: () => undefined,
    spec: options.specNow ?? ((id) => specs.find((s) => s.id === id)),
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
      unsendable: () => options.unsendable?.(),
      ...(options.maxInFlight ? { maxInFlight: options.maxInFlight } : {}),
      generate: async (request, _provider, _queue, onAnswer) => {
        calls.push(request.targetId);
        const answer = await generate(request);
        onAnswer?.(answer);
        return answer;
      },
    },
    apply: async (app: Application) => {
      if (app.bytes) files.set(app.record.output, app.bytes);
      applied.push(app);
    },
    clock: new FakeClock(),
  };
  const records = specs.map(record);
  const resolved = new Map<string, Resolved | ChargenError>(specs.map((s) => [s.id, { settings: options.settingsOf?.(s.id) ?? options.settings ?? settings, adjustments: [], route: "test" }]));
  const executor = new Executor({
    graph: buildGraph(records),
    records: new Map(records.map((r) => [r.id, r])),
    settings: resolved,
    lock: new Map(),
    effects,
    options: {
      force: false,
      failFast: options.failFast ?? false,
      jobs: options.jobs ?? 1,
      missingReferences: "fail",
      ...(options.maxCostUsd === undefined ? {} : { maxCostUsd: options.maxCostUsd }),
      price: options.price ?? (() => 0),
    },
  });
  return {
    executor,
    calls,
    actions,
    applied: () => applied.map((a) => a.record.id),
    applications: applied,
    run: () => executor.run(specs.map((s) => s.id)),
  };
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
    expect(h.applied()).toEqual(["b"]);
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

/** `n` targets a, b, c ... with no references between them. */
const specsNamed = (...ids: string[]) => ids.map((id) => spec(id));
const statuses = (outcomes: { id: string; status: string }[]) => outcomes.map((o) => [o.id, o.status]);

/** A provider whose answers wait until the test lets them go, in the order asked. */
function gatedProvider() {
  const waiting: { id: string; release: () => void }[] = [];
  const generate = (r: ImageRequest) => new Promise<ImageResult>((resolve) => waiting.push({ id: r.targetId, release: () => resolve(image(r.targetId)) }));
  return { generate, waiting };
}

describe("executor: admission", () => {
  it("targets queued at their model's gate hold no place in the pipeline: another model's target starts meanwhile", async () => {
    const provider = gatedProvider();
    // Two jobs, so a pipeline of four: five targets of a model that takes one at a time, then one of another model.
    const ids = ["a1", "a2", "a3", "a4", "a5", "b"];
    const h = harness(specsNamed(...ids), provider.generate, {
      jobs: 2,
      settingsOf: (id) => ({ ...settings, model: id.startsWith("a") ? "one-at-a-time" : "other" }),
      maxInFlight: (_provider, model) => (model === "one-at-a-time" ? 1 : undefined),
    });
    const running = h.run();
    await vi.waitUntil(() => provider.waiting.length === 2);
    expect(h.calls).toEqual(["a1", "b"]);
    for (let released = 0; released < ids.length; released++) {
      await vi.waitUntil(() => provider.waiting.length > 0);
      provider.waiting.shift()!.release();
    }
    expect(statuses(await running)).toEqual(ids.map((id) => [id, "built"]));
    expect(h.calls).toEqual(["a1", "b", "a2", "a3", "a4", "a5"]);
  });
});

describe("executor: --max-cost", () => {
  it("a provider that charges more than estimated raises the estimates: nothing more starts once the projection passes the limit", async () => {
    // Estimated $1 each, but the first costs $3: the next one is projected at 3 + 3 > 4, not 3 + 1.
    const h = harness(specsNamed("a", "b", "c", "d"), async (r) => ({ ...image(r.targetId), costUsd: 3 }), { maxCostUsd: 4, price: () => 1 });
    const outcomes = await h.run();
    expect(statuses(outcomes)).toEqual([
      ["a", "built"],
      ["b", "skipped"],
      ["c", "skipped"],
      ["d", "skipped"],
    ]);
    expect(outcomes[0]!.costUsd).toBe(3);
    expect(outcomes[1]!.reasons).toEqual(["not started: --max-cost 4 would be passed (spent $3.0000, in flight ~$0.0000, this one ~$3.0000)"]);
    expect(h.calls).toEqual(["a"]);
  });

  it("estimates in flight count too: with two jobs, the third waits out the limit and is not started", async () => {
    const provider = gatedProvider();
    const h = harness(specsNamed("a", "b", "c"), provider.generate, { maxCostUsd: 2, price: () => 1, jobs: 2 });
    const running = h.run();
    await vi.waitUntil(() => provider.waiting.length === 2);
    for (const w of provider.waiting) w.release();
    const outcomes = await running;
    expect(statuses(outcomes)).toEqual([
      ["a", "built"],
      ["b", "built"],
      ["c", "skipped"],
    ]);
    expect(h.calls).toEqual(["a", "b"]);
  });

  it("a target whose price is unknown is not started under --max-cost", async () => {
    const h = harness(specsNamed("a"), async (r) => image(r.targetId), { maxCostUsd: 10, price: () => undefined });
    const [a] = await h.run();
    expect(a).toMatchObject({ status: "skipped", reasons: ["not started: its cost is unknown and --max-cost 10 is set"] });
    expect(h.calls).toEqual([]);
  });
});

describe("executor: fail-fast", () => {
  it("the first failure skips everything not started; nothing more reaches the provider", async () => {
    const h = harness(
      specsNamed("a", "b", "c"),
      async (r) => {
        if (r.targetId === "a") throw new ChargenError("target", "blocked by a safety filter", { code: "SAFETY" });
        return image(r.targetId);
      },
      { failFast: true },
    );
    const outcomes = await h.run();
    expect(outcomes.map((o) => [o.id, o.status, o.reasons])).toEqual([
      ["a", "failed", ["blocked by a safety filter"]],
      ["b", "skipped", ["interrupted before it started"]],
      ["c", "skipped", ["interrupted before it started"]],
    ]);
    expect(h.calls).toEqual(["a"]);
    expect(h.applied()).toEqual([]);
  });

  it("without it, the others are built", async () => {
    const h = harness(specsNamed("a", "b", "c"), async (r) => {
      if (r.targetId === "a") throw new ChargenError("target", "blocked by a safety filter", { code: "SAFETY" });
      return image(r.targetId);
    });
    expect(statuses(await h.run())).toEqual([
      ["a", "failed"],
      ["b", "built"],
      ["c", "built"],
    ]);
    expect(h.calls).toEqual(["a", "b", "c"]);
  });
});

describe("executor: a YAML changed during the build", () => {
  it("a target whose spec no longer matches the plan is not sent: skipped, planned again next time; the others build", async () => {
    const planned = specsNamed("a", "b");
    const edited = { ...planned[0]!, prompt: { ...planned[0]!.prompt, parts: part("scenario", "draw a, edited") } };
    const h = harness(planned, async (r) => image(r.targetId), { specNow: (id) => (id === "a" ? edited : planned[1]) });
    const outcomes = await h.run();
    expect(outcomes.map((o) => [o.id, o.status, o.reasons])).toEqual([
      ["a", "skipped", ["a.yaml changed during the build; it is planned again next time"]],
      ["b", "built", ["never built"]],
    ]);
    expect(h.calls).toEqual(["b"]);
  });

  it("a target removed from its YAML meanwhile is skipped too", async () => {
    const h = harness(specsNamed("a"), async (r) => image(r.targetId), { specNow: () => undefined });
    expect(statuses(await h.run())).toEqual([["a", "skipped"]]);
    expect(h.calls).toEqual([]);
  });
});

describe("executor: adoption after a crash", () => {
  it("an answer in the store and on disk but not in the lock is applied without a provider call", async () => {
    const world = newWorld();
    const first = harness(specsNamed("a"), async (r) => image(r.targetId), { world });
    expect(statuses(await first.run())).toEqual([["a", "built"]]);
    expect(first.calls).toEqual(["a"]);
    // The crash: the output and the store's record survive, the lock entry was never written.
    const again = harness(specsNamed("a"), async () => {
      throw new Error("must not be called");
    }, { world });
    const outcomes = await again.run();
    expect(statuses(outcomes)).toEqual([["a", "cached"]]);
    expect(again.calls).toHaveLength(0);
    // Applied as it is on disk (no bytes to write), under the record the first build made.
    expect(again.applications.map((a) => [a.record.id, a.bytes, a.action])).toEqual([["a", undefined, world.actions[0]]]);
    expect(world.actions).toHaveLength(1);
  });
});

describe("executor: a stopped provider vs Ctrl-C", () => {
  it("a provider stopped by an error: the rest is skipped as not sent, and never reaches it", async () => {
    let stopped: ChargenError | undefined;
    const h = harness(specsNamed("a", "b", "c"), async () => {
      stopped = new ChargenError("provider", "billing limit reached", { code: "billing_hard_limit_reached" });
      throw stopped;
    }, {
      unsendable: () => stopped && new ChargenError("provider", "not sent: fake was stopped earlier in this build (billing limit reached)", { code: Code.notSent }),
    });
    const outcomes = await h.run();
    expect(outcomes.map((o) => [o.id, o.status, o.error?.details.code])).toEqual([
      ["a", "failed", "billing_hard_limit_reached"],
      ["b", "skipped", Code.notSent],
      ["c", "skipped", Code.notSent],
    ]);
    expect(h.calls).toEqual(["a"]);
  });

  it("Ctrl-C: the requests in flight finish and are recorded, nothing new starts", async () => {
    const provider = gatedProvider();
    const h = harness(specsNamed("a", "b", "c", "d"), provider.generate, { jobs: 2 });
    const running = h.run();
    await vi.waitUntil(() => provider.waiting.length === 2);
    h.executor.stop();
    for (const w of provider.waiting) w.release();
    const outcomes = await running;
    expect(outcomes.map((o) => [o.id, o.status, o.reasons])).toEqual([
      ["a", "built", ["never built"]],
      ["b", "built", ["never built"]],
      ["c", "skipped", ["interrupted before it started"]],
      ["d", "skipped", ["interrupted before it started"]],
    ]);
    expect(h.calls).toEqual(["a", "b"]);
    expect(h.actions.map((a) => [a.targetId, a.at])).toEqual([
      ["a", "2026-01-01T00:00:00.000Z"],
      ["b", "2026-01-01T00:00:00.000Z"],
    ]);
    expect(h.applied()).toEqual(["a", "b"]);
  });
});

describe("executor: a second Ctrl-C", () => {
  it("abort() cancels the requests in flight: they fail as aborted, nothing is recorded or applied", async () => {
    const h = harness(specsNamed("a", "b"), (r) => new Promise((_, reject) => r.signal.addEventListener("abort", () => reject(r.signal.reason))), { jobs: 2 });
    const running = h.run();
    await vi.waitUntil(() => h.calls.length === 2);
    h.executor.abort();
    const outcomes = await running;
    expect(outcomes.map((o) => [o.id, o.status, o.error?.details.code])).toEqual([
      ["a", "failed", Code.aborted],
      ["b", "failed", Code.aborted],
    ]);
    expect(h.actions).toEqual([]);
    expect(h.applied()).toEqual([]);
  });
});

describe("executor: a live plan (pipelined build)", () => {
  const readSpec = (id: string, rule: string): TargetSpec => ({
    ...spec(id),
    rule,
    output: `answer:${id}`,
    read: { instructions: "read", version: "t/1", texts: [{ label: "text", text: id }], schema: { name: "answer", schema: { type: "object" } } },
  });
  const drawn = (id: string, prompt: string): TargetSpec => ({ ...spec(id), prompt: { parts: part("scenario", prompt), negative: [], compiler: "test/1" }, after: ["read"] });
  const recordOf = (s: TargetSpec): TargetRecord => ({ ...record(s), ...(s.read ? { kind: "data" as const } : {}), ...(s.after ? { after: s.after } : {}) });

  /** A reading whose write-back rewrites "old"'s prompt and adds "added" (after it): the plan as it is once it is written. */
  function setup(live: boolean) {
    const prompts: Record<string, string> = {};
    const opened: string[] = [];
    let written = false;
    const before = { read: readSpec("read", "specs"), old: drawn("old", "draw old v1") };
    const after = { ...before, old: drawn("old", "draw old v2"), added: drawn("added", "draw added") };
    const specs = () => (written ? after : before) as Record<string, TargetSpec>;
    const plan = (s: Record<string, TargetSpec>) => {
      const records = Object.values(s).map(recordOf);
      return {
        graph: buildGraph(records),
        records: new Map(records.map((r) => [r.id, r])),
        settings: new Map<string, Resolved | ChargenError>(records.map((r) => [r.id, { settings, adjustments: [], route: "test" }])),
        selected: records.map((r) => r.id),
      };
    };
    const first = plan(before);
    const effects: ExecutorEffects = {
      digest: () => undefined,
      readBytes: () => new Uint8Array(),
      size: () => undefined,
      refusal: () => undefined,
      spec: (id) => specs()[id],
      store: { latest: () => undefined, find: () => undefined, readBlob: () => undefined, put: (bytes, r) => ({ ...r, blob: "b" }) },
      hub: {
        unsendable: () => undefined,
        generate: async (request) => {
          prompts[request.targetId] = request.prompt;
          return image(request.targetId);
        },
        read: async (request, _provider, _queue, onAnswer) => {
          const answer = { json: {}, metadata: {} };
          onAnswer?.(answer);
          return answer;
        },
      },
      apply: async (app) => {
        if (app.record.id === "read") written = true;
      },
      ...(live
        ? {
            live: {
              plan: async () => {
                opened.push(written ? "after" : "before");
                return plan(specs());
              },
              grows: (r: TargetRecord) => r.rule === "specs",
            },
          }
        : {}),
      clock: new FakeClock(),
    };
    const executor = new Executor({ ...first, lock: new Map(), effects, options: { force: false, failFast: false, jobs: 2, missingReferences: "fail", price: () => 0 } });
    return { run: () => executor.run(first.selected), prompts, opened };
  }

  it("the targets a write-back adds join the running build, and a target whose prompt it rewrote is sent on the new prompt; the plan is opened once", async () => {
    const h = setup(true);
    const outcomes = await h.run();
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([
      ["read", "built"],
      ["old", "built"],
      ["added", "built"],
    ]);
    expect(h.prompts).toEqual({ old: "draw old v2", added: "draw added" });
    expect(h.opened).toEqual(["after"]);
  });

  it("without one, the rewritten target is skipped with REPLAN and nothing is added: the caller plans a next round", async () => {
    const h = setup(false);
    const outcomes = await h.run();
    expect(outcomes.map((o) => [o.id, o.status, o.error?.details.code])).toEqual([
      ["read", "built", undefined],
      ["old", "skipped", "REPLAN"],
    ]);
    expect(h.prompts).toEqual({});
  });
});
