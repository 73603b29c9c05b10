/**
 * Read lines (DataRequest) in both batch engines: the line written, the job created for it, and
 * its result line read into a DataResult at the batch rate, through the real SDKs and the batch
 * fakes on 127.0.0.1.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { BatchEngine, DataLineRequest, EngineOptions, LineRequest } from "../src/batch/engine.js";
import { GeminiEngine } from "../src/batch/gemini.js";
import { OpenAIEngine } from "../src/batch/openai.js";
import { pngBytes } from "./fakes/fake-server.js";
import { startGeminiBatchFake, startOpenAIBatchFake, type BatchFake } from "./fakes/batch-fake.js";
import { GEMINI_READ_TOKENS } from "./fakes/gemini-fake.js";
import { OPENAI_READ_TOKENS } from "./fakes/openai-fake.js";
import { DESCRIPTION_SCHEMA, FAKE_KEY, dataRequest, jpegReference } from "./support/providers-fixtures.js";

const { signal: _signal, ...base } = dataRequest();
const read = (key: string, overrides: Partial<DataLineRequest> = {}): DataLineRequest => ({ ...base, key, ...overrides });
const uploads = () => {
  const files = new Map<string, { name: string; uri: string; mimeType: string; expiresAt?: string }>();
  return { get: (d: string) => files.get(d), set: async (d: string, f: { name: string; uri: string; mimeType: string }) => void files.set(d, f) };
};
const options = (env: NodeJS.ProcessEnv): EngineOptions => ({ env, options: {}, uploads: uploads(), now: () => Date.parse("2026-11-30T00:00:00Z") });

let fake: BatchFake | undefined;
let dir: string | undefined;
afterEach(async () => {
  await fake?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  fake = dir = undefined;
});

/** Writes the lines, runs the job to its end and reads every result line. */
async function runJob(engine: BatchEngine, model: string, requests: DataLineRequest[]) {
  dir = mkdtempSync(join(tmpdir(), "chargen-data-lines-"));
  const input = join(dir, "input.jsonl");
  // One at a time, as batch-run writes them: staging is cached per digest between lines.
  const lines: string[] = [];
  for (const r of requests) lines.push(await engine.dataLine(r));
  writeFileSync(input, lines.join("\n") + "\n");
  const file = await engine.uploadInput(input, "chargen-test");
  let job = await engine.create(model, file, "chargen-test", "data");
  while (job.state === "pending" || job.state === "running") job = await engine.get(job.name);
  expect(job.state).toBe("succeeded");
  const results = [];
  for (const [i, f] of job.resultFiles.entries()) {
    const out = join(dir, `out-${i}.jsonl`);
    await engine.download(f, out);
    const asked = (key: string) => requests.find((r) => r.key === key);
    for (const text of readFileSync(out, "utf8").split("\n").filter(Boolean)) results.push(engine.result(text, asked));
  }
  return { lines: lines.map((l) => JSON.parse(l) as Record<string, unknown>), results };
}

describe("Gemini batch: read lines", () => {
  it("writes a {key, request} line with the live read's config, images staged through the Files API once; reads results as data at half price", async () => {
    fake = await startGeminiBatchFake({ apiKey: FAKE_KEY }, { failWhen: ["Profile of Nobody"] });
    const engine = new GeminiEngine(options({ GEMINI_API_KEY: FAKE_KEY, GOOGLE_GEMINI_BASE_URL: fake.url }));
    const requests = [
      read("k1", { mediaResolution: "medium" }),
      read("k2", { images: [base.images[0]!, jpegReference()] }),
      read("k3", { texts: [{ label: "Profile of Nobody", text: "..." }] }),
    ];
    const { lines, results } = await runJob(engine, "gemini-2.5-flash", requests);

    // The portrait went up once for three lines, the JPEG once; then the input file.
    expect([...fake.uploads!.values()].map((u) => u.mimeType)).toEqual(["image/png", "image/jpeg", "jsonl"]);
    expect(lines[0]).toEqual({
      key: "k1",
      request: {
        systemInstruction: { parts: [{ text: "Describe the image for the story's inventory." }] },
        contents: [
          {
            role: "user",
            parts: [
              { text: "Profile of Veyra Thornwake:\n\nA lighthouse keeper with a brass lantern." },
              { text: "Image 1: Veyra Thornwake: identity portrait" },
              { fileData: { fileUri: `${fake.url}/v1beta/files/f1`, mimeType: "image/png" } },
            ],
          },
        ],
        generationConfig: { responseMimeType: "application/json", responseJsonSchema: DESCRIPTION_SCHEMA.schema, mediaResolution: "MEDIA_RESOLUTION_MEDIUM" },
      },
    });
    expect(fake.creates()[0]!.path).toBe("/v1beta/models/gemini-2.5-flash:batchGenerateContent");
    expect(fake.liveCalls()).toHaveLength(0);

    const byKey = Object.fromEntries(results.map((r) => [r.key, r]));
    expect(byKey.k1!.data!.json).toEqual({ title: "fake title", alt_text: "fake alt_text", tags: ["fake tags"] });
    expect(byKey.k1!.result).toBeUndefined();
    const { perText, perImage, thoughts, answer } = GEMINI_READ_TOKENS;
    expect(byKey.k1!.data!.costUsd).toBeCloseTo(((2 * perText + perImage) * 0.3 + (answer + thoughts) * 2.5) / 1e6 / 2, 6);
    expect(byKey.k2!.data!.usage).toEqual({ inputTokens: 3 * perText + 2 * perImage, outputTokens: answer + thoughts, imageTokens: 2 * perImage });
    expect(byKey.k3!.error?.details.code).toBe("INVALID_ARGUMENT");
  });

  it("reads a result line that is not JSON, or cut off, as that line's typed error", () => {
    const engine = new GeminiEngine(options({}));
    const asked = (key: string) => (key === "k1" ? read("k1") : undefined);
    const answer = (text: string, finishReason = "STOP") => JSON.stringify({ key: "k1", response: { candidates: [{ content: { parts: [{ text }] }, finishReason }] } });
    expect(engine.result(answer("Sure! Here it is."), asked).error?.details.code).toBe("NOT_JSON");
    expect(engine.result(answer('{"title": "Th', "MAX_TOKENS"), asked).error?.details.code).toBe("MAX_TOKENS");
    expect(engine.result(answer('{"title": "T"}'), asked).data?.json).toEqual({ title: "T" });
  });

  it("keeps image lines as they were: an image line's result is an image", () => {
    const engine = new GeminiEngine(options({}));
    const image: LineRequest = { targetId: "t", key: "k1", prompt: "a lighthouse", negativePrompt: "", model: "gemini-2.5-flash-image", format: "png", references: [] };
    const text = JSON.stringify({ key: "k1", response: { candidates: [{ content: { parts: [{ inlineData: { mimeType: "image/png", data: pngBytes(8, 6).toString("base64") } }] }, finishReason: "STOP" }] } });
    const out = engine.result(text, () => image);
    expect(out.data).toBeUndefined();
    expect(out.result?.mimeType).toBe("image/png");
  });
});

describe("OpenAI batch: read lines", () => {
  it("writes /v1/responses lines with the live read's body, creates the job on that endpoint, reads results as data at half price", async () => {
    fake = await startOpenAIBatchFake({ apiKey: FAKE_KEY });
    const engine = new OpenAIEngine(options({ OPENAI_API_KEY: FAKE_KEY, OPENAI_BASE_URL: `${fake.url}/v1` }));
    const requests = [read("k1", { model: "gpt-5-mini" }), read("k2", { model: "gpt-5-mini", images: [] })];
    const { lines, results } = await runJob(engine, "gpt-5-mini", requests);

    const png = Buffer.from(base.images[0]!.bytes).toString("base64");
    expect(lines[0]).toEqual({
      custom_id: "k1",
      method: "POST",
      url: "/v1/responses",
      body: {
        model: "gpt-5-mini",
        instructions: "Describe the image for the story's inventory.",
        input: [
          {
            role: "user",
            content: [
              { type: "input_text", text: "Profile of Veyra Thornwake:\n\nA lighthouse keeper with a brass lantern." },
              { type: "input_text", text: "Image 1: Veyra Thornwake: identity portrait" },
              { type: "input_image", image_url: `data:image/png;base64,${png}`, detail: "auto" },
            ],
          },
        ],
        text: { format: { type: "json_schema", name: "image_description", schema: DESCRIPTION_SCHEMA.schema, strict: true } },
        store: false,
      },
    });
    expect((fake.creates()[0]!.body as { endpoint: string }).endpoint).toBe("/v1/responses");
    expect(fake.liveCalls()).toHaveLength(0);

    const byKey = Object.fromEntries(results.map((r) => [r.key, r]));
    expect(byKey.k2!.data!.json).toEqual({ title: "fake title", alt_text: "fake alt_text", tags: ["fake tags"] });
    const { perText, perImage, output, reasoning } = OPENAI_READ_TOKENS;
    expect(byKey.k1!.data!.costUsd).toBeCloseTo(((2 * perText + perImage) * 0.25 + (output + reasoning) * 2) / 1e6 / 2, 6);
  });

  it("creates image jobs on the images endpoint as before", async () => {
    fake = await startOpenAIBatchFake({ apiKey: FAKE_KEY });
    const engine = new OpenAIEngine(options({ OPENAI_API_KEY: FAKE_KEY, OPENAI_BASE_URL: `${fake.url}/v1` }));
    dir = mkdtempSync(join(tmpdir(), "chargen-data-lines-"));
    const input = join(dir, "input.jsonl");
    writeFileSync(input, (await engine.line({ targetId: "t", key: "k1", prompt: "a lighthouse", negativePrompt: "", model: "gpt-image-1.5", format: "png", references: [] })) + "\n");
    await engine.create("gpt-image-1.5", await engine.uploadInput(input), "chargen-test");
    expect((fake.creates()[0]!.body as { endpoint: string }).endpoint).toBe("/v1/images/generations");
  });

  it("reads a refusal or an incomplete answer as that line's typed error", () => {
    const engine = new OpenAIEngine(options({}));
    const asked = (key: string) => (key === "k1" ? read("k1", { model: "gpt-5-mini" }) : undefined);
    const line = (body: unknown) => JSON.stringify({ custom_id: "k1", response: { status_code: 200, body }, error: null });
    const refusal = engine.result(line({ id: "r", status: "completed", output: [{ type: "message", content: [{ type: "refusal", refusal: "No." }] }] }), asked);
    expect([refusal.error?.kind, refusal.error?.details.code]).toEqual(["target", "REFUSAL"]);
    const cut = engine.result(line({ id: "r", status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, output: [] }), asked);
    expect(cut.error?.details.code).toBe("max_output_tokens");
  });
});
