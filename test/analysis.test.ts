/**
 * Data targets below the CLI: the answer checked against its schema before it is recorded, the
 * hub's reads counted and never sent twice for a bad answer, the placeholder's deterministic answers.
 */
import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { ActionRecord } from "../src/cache/store.js";
import type { Clock } from "../src/core/clock.js";
import { ChargenError, hasCode } from "../src/core/errors.js";
import type { TargetRecord } from "../src/graph/analyzer.js";
import { promptSize } from "../src/graph/budget.js";
import { buildGraph } from "../src/graph/dag.js";
import { Executor, type Application, type ExecutorEffects } from "../src/graph/executor.js";
import { promptDigests } from "../src/model/keys.js";
import { BAD_ANSWER, checkedAnswer, parseAnswer } from "../src/model/read.js";
import type { JsonValue, ModelSettings, TargetSpec } from "../src/model/target.js";
import { ProviderHub } from "../src/providers/hub.js";
import { placeholderAnswer } from "../src/providers/placeholder-answer.js";
import type { DataRequest, DataResult } from "../src/providers/types.js";
import { answerSchema, dataTarget } from "../src/rules/data-target.js";
import type { Resolved } from "../src/rules/settings.js";

const SCHEMA = answerSchema(
  "caption",
  z.object({ title: z.string(), tags: z.array(z.string()), mood: z.enum(["calm", "tense"]), matches: z.boolean(), score: z.number().min(0).max(1) }),
);
const read = { instructions: "Caption the image.", version: "caption/1", texts: [], schema: SCHEMA };
const settings: ModelSettings = { provider: "fake", model: "reader-1", format: "png", n: 1 };
const clock: Clock = { now: () => 0, sleep: async () => {} };

function spec(id: string): TargetSpec {
  return dataTarget({ id, rule: "r", source: { file: "a.yaml", line: 1, column: 1 }, read, images: [{ path: "img.png", role: "subject" }], writeBack: null });
}

function record(s: TargetSpec): TargetRecord {
  return { id: s.id, rule: s.rule, source: s.source, output: s.output, kind: "data", references: s.references, unresolved: [], requested: s.requested, digests: promptDigests(s.prompt), promptSize: promptSize(s.prompt) };
}

/** An executor over in-memory effects whose hub answers each read with `answer` (calling onAnswer as the real hub does). */
function harness(answer: (r: DataRequest) => JsonValue) {
  const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
  const actions: ActionRecord[] = [];
  const applied: Application[] = [];
  const calls: DataRequest[] = [];
  const effects: ExecutorEffects = {
    digest: (p) => (p === "img.png" ? "d:img" : undefined),
    readBytes: () => png,
    size: () => png.length,
    refusal: () => undefined,
    spec: (id) => spec(id),
    store: {
      latest: (key) => actions.findLast((a) => a.key === key),
      find: (key, digest) => actions.find((a) => a.key === key && a.blob === digest),
      readBlob: () => undefined,
      put: (bytes, r) => {
        const action = { ...r, blob: `d:${Buffer.from(bytes).toString()}` };
        actions.push(action);
        return action;
      },
    },
    hub: {
      unsendable: () => undefined,
      generate: async () => {
        throw new Error("a data target generates no image");
      },
      read: async (request, _provider, _queue, onAnswer) => {
        calls.push(request);
        const result: DataResult = { json: answer(request), metadata: {} };
        onAnswer?.(result);
        return result;
      },
    },
    apply: async (app) => void applied.push(app),
    clock,
  };
  const specs = [spec("a")];
  const records = specs.map(record);
  const resolved = new Map<string, Resolved | ChargenError>([["a", { settings, adjustments: [], route: "test" }]]);
  const executor = new Executor({
    graph: buildGraph(records),
    records: new Map(records.map((r) => [r.id, r])),
    settings: resolved,
    lock: new Map(),
    effects,
    options: { force: false, failFast: false, jobs: 1, missingReferences: "fail", price: () => 0 },
  });
  return { actions, applied, calls, run: () => executor.run(["a"]) };
}

describe("data targets in the executor", () => {
  it("sends the read part and the image, stores the answer as JSON, and applies it", async () => {
    const h = harness((r) => placeholderAnswer(r));
    const [outcome] = await h.run();
    expect(outcome!.status).toBe("built");
    expect(h.calls).toHaveLength(1);
    expect(h.calls[0]!).toMatchObject({ targetId: "a", model: "reader-1", instructions: "Caption the image.", schema: SCHEMA });
    expect(h.calls[0]!.images.map((i) => [i.path, i.mimeType])).toEqual([["img.png", "image/png"]]);
    expect(h.actions).toHaveLength(1);
    expect(h.actions[0]!.mimeType).toBe("application/json");
    expect(JSON.parse(Buffer.from(h.applied[0]!.bytes!).toString())).toEqual(placeholderAnswer(h.calls[0]!));
  });

  it("an answer that does not match the schema fails the target with the answer quoted, and is recorded nowhere", async () => {
    const h = harness(() => ({ title: "A quay", tags: "not a list", mood: "calm", matches: true, score: 0.5 }));
    const [outcome] = await h.run();
    expect(outcome!.status).toBe("failed");
    expect(hasCode(outcome!.error, BAD_ANSWER)).toBe(true);
    expect(outcome!.reasons[0]).toMatch(/^answer does not match schema caption: tags: .*; it said \{"title":"A quay","tags":"not a list"/);
    expect(h.calls).toHaveLength(1);
    expect(h.actions).toEqual([]);
    expect(h.applied).toEqual([]);
  });
});

describe("parseAnswer, every provider's answer text as JSON", () => {
  const fail = (message: string, code: string) => new ChargenError("target", `fake: ${message}`, { code });
  it("parses JSON, and fails an empty or non-JSON answer with the provider's error, quoting it clipped", () => {
    expect(parseAnswer('{"a":[1]}', fail, (t) => t)).toEqual({ a: [1] });
    const thrown = (text: string) => {
      try {
        parseAnswer(text, fail, (t) => t.slice(0, 4));
      } catch (e) {
        return e as ChargenError;
      }
      throw new Error("no failure");
    };
    expect([thrown("").message, thrown("").details.code]).toEqual(["fake: the answer is empty", "EMPTY_ANSWER"]);
    expect([thrown("Sure! {}").message, thrown("Sure! {}").details.code]).toEqual(['fake: the answer is not JSON: "Sure"', "NOT_JSON"]);
  });
});

describe("ProviderHub.read", () => {
  const request = (targetId: string, key: string): DataRequest => ({ targetId, key, model: "placeholder-1", instructions: "x", texts: [], images: [], schema: SCHEMA, signal: new AbortController().signal });

  it("reads through the provider's pool and counts each call like a generation", async () => {
    const hub = new ProviderHub({ rules: {}, env: {}, clock });
    const answers = await Promise.all([hub.read(request("a", "k1"), "placeholder", new AbortController().signal), hub.read(request("b", "k2"), "placeholder", new AbortController().signal)]);
    expect(answers.map((a) => checkedAnswer(read.schema, a.json).length > 0)).toEqual([true, true]);
    expect(hub.callCounts()).toEqual({ placeholder: 2 });
  });

  it("an answer refused when it is recorded is never sent again", async () => {
    const hub = new ProviderHub({ rules: {}, env: {}, clock });
    const refuse = () => {
      throw new ChargenError("target", "answer does not match", { code: BAD_ANSWER });
    };
    await expect(hub.read(request("a", "k1"), "placeholder", new AbortController().signal, refuse)).rejects.toMatchObject({ details: { code: BAD_ANSWER } });
    expect(hub.callCounts()).toEqual({ placeholder: 1 });
  });
});

describe("the placeholder's answers", () => {
  it("are deterministic per key, follow the schema, and quote the texts they were given", () => {
    const base = { key: "k1", texts: [], schema: SCHEMA };
    const a = placeholderAnswer(base);
    expect(placeholderAnswer(base)).toEqual(a);
    expect(() => checkedAnswer(read.schema, a)).not.toThrow();
    expect(placeholderAnswer({ ...base, key: "k2" })).not.toEqual(a);
    const chapter = "The fog came in at dusk. Nell lit the first marker. Osric watched from the gallery.";
    const quoted = placeholderAnswer({ ...base, texts: [{ label: "Chapter 1", text: chapter }] }) as { title: string; tags: string[] };
    for (const phrase of [quoted.title, ...quoted.tags]) expect(chapter).toContain(phrase);
  });
});
