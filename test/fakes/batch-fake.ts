/**
 * Both providers' batch wire formats, on top of the live fakes (same key checks, faults and
 * logs), so that the real SDKs run the whole batch flow on 127.0.0.1:
 *
 * - Gemini: JSONL input through the Files API's resumable upload, `POST
 *   /v1beta/models/{m}:batchGenerateContent`, `GET /v1beta/batches[/{id}]`, `POST
 *   /v1beta/batches/{id}:cancel`, results as a `{key, response}` JSONL file read with `GET
 *   /v1beta/files/{id}:download?alt=media`;
 * - OpenAI: `POST /v1/files` (purpose batch), `POST /v1/batches`, `GET /v1/batches[/{id}]`,
 *   `POST /v1/batches/{id}/cancel`, results as output and error files read with `GET
 *   /v1/files/{id}/content`, in reverse order (a client must match on custom_id).
 *
 * Read lines (a Gemini request for a JSON answer; OpenAI's `/v1/responses`) are answered as the
 * live fakes answer them: a document valid under the line's schema. Their "prompt" (for
 * `failWhen`) is their first text.
 *
 * Scripted behaviour: a job stays running for `runningPolls` gets; chosen lines fail; a job can
 * end expired (Gemini: no results; OpenAI: the first `partial` lines); a create can create the job
 * and then drop the connection (the lost answer). Images are PNGs of the requested shape unless
 * `ignoreAspect`.
 */
import type { ServerResponse } from "node:http";
import { FakeServer, json, pngBytes, type Dialect, type Exchange, type FakeOptions } from "./fake-server.js";
import { dialect as geminiDialect, GEMINI_IMAGE_TOKENS, readAnswer, type SentBody, type Upload } from "./gemini-fake.js";
import { dialect as openaiDialect, OPENAI_OUTPUT_TOKENS, responseObject, type ResponsesBody } from "./openai-fake.js";

export interface BatchBehaviour {
  /** Gets answered "running" before the job is done (default 0). */
  runningPolls: number;
  /** Prompts containing any of these fail with a per-line error. */
  failWhen: string[];
  /** How a job ends once its polls are spent. */
  end: "succeeded" | "expired";
  /** With `end: "expired"` on OpenAI: how many lines were done before it expired. */
  partial: number;
  /** Create the next job, then drop the connection instead of answering. */
  loseCreate: boolean;
  /** Answer every image at 64x64 whatever was asked (batch jobs reported to ignore aspect ratios). */
  ignoreAspect: boolean;
  /**
   * Never answer the next such request (a test kills the client meanwhile): a create before the
   * job exists, a create after it exists, a result download.
   */
  hang?: "create" | "created" | "download";
}

export interface FakeJob {
  id: string;
  displayName?: string;
  model?: string;
  lines: { key: string; prompt: string; ratio?: string; size?: string; read?: SentBody | ResponsesBody }[];
  /** OpenAI: the endpoint the job was created for. */
  endpoint?: string;
  polls: number;
  state: "running" | "succeeded" | "expired" | "cancelled";
  outputFile?: string;
  errorFile?: string;
}

export interface BatchFake extends FakeServer {
  readonly behaviour: BatchBehaviour;
  readonly jobs: FakeJob[];
  /** Job creation requests received (each one a job that may bill). */
  creates(): FakeServer["log"];
  /** Live generation requests received (there must be none in a batch flow). */
  liveCalls(): FakeServer["log"];
  /** Files uploaded through Gemini's Files API (inputs and reference images). */
  uploads?: Map<string, Upload>;
  /** Resolves when a request was left hanging as `behaviour.hang` asked. */
  hung: Promise<void>;
}

/** Whether to leave this request unanswered, as the script says (once). */
function hangs(b: BatchBehaviour, at: NonNullable<BatchBehaviour["hang"]>, hit: () => void): boolean {
  if (b.hang !== at) return false;
  delete b.hang;
  hit();
  return true;
}

const defaults = (): BatchBehaviour => ({ runningPolls: 0, failWhen: [], end: "succeeded", partial: 0, loseCreate: false, ignoreAspect: false });

/** A PNG of the requested shape (64 pixels wide), numbered to tell answers apart. */
function image(line: FakeJob["lines"][number], n: number, behaviour: BatchBehaviour): Buffer {
  if (behaviour.ignoreAspect) return pngBytes(64, 64, n);
  const [w, h] = (line.size?.split("x") ?? line.ratio?.split(":") ?? ["4", "3"]).map(Number) as [number, number];
  return pngBytes(64, Math.max(1, Math.round((64 * h) / w)), n);
}

/** Moves a job on by one get, as the script says. */
function tick(job: FakeJob, behaviour: BatchBehaviour, finish: (job: FakeJob) => void): void {
  if (job.state !== "running") return;
  if (job.polls++ < behaviour.runningPolls) return;
  job.state = behaviour.end;
  finish(job);
}

const dropAfterCreate = (x: Exchange) => {
  x.entry.answer = "dropped";
  x.req.socket.destroy();
};

function withBatches(base: Dialect, routes: (x: Exchange, fake: FakeServer) => Promise<boolean> | boolean): Dialect {
  return { ...base, route: async (x, fake) => (await routes(x, fake)) || base.route(x, fake) };
}

export async function startGeminiBatchFake(options: FakeOptions, behaviour: Partial<BatchBehaviour> = {}): Promise<BatchFake> {
  const b = { ...defaults(), ...behaviour };
  const uploads = new Map<string, Upload>();
  const files = new Map<string, Buffer>();
  const jobs: FakeJob[] = [];
  const STATE = { running: "BATCH_STATE_RUNNING", succeeded: "BATCH_STATE_SUCCEEDED", expired: "BATCH_STATE_EXPIRED", cancelled: "BATCH_STATE_CANCELLED" };
  const operation = (job: FakeJob) => ({
    name: `batches/${job.id}`,
    metadata: {
      "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
      model: `models/${job.model}`,
      displayName: job.displayName,
      state: job.polls === 0 && job.state === "running" ? "BATCH_STATE_PENDING" : STATE[job.state],
      createTime: "2026-11-29T23:00:00Z",
      ...(job.outputFile ? { output: { responsesFile: job.outputFile } } : {}),
    },
    ...(job.state === "succeeded" ? { done: true } : {}),
  });
  const finish = (job: FakeJob) => {
    if (job.state !== "succeeded") return;
    const out = job.lines.map((line, i) =>
      b.failWhen.some((w) => line.prompt.includes(w))
        ? { key: line.key, error: { code: 400, message: "The prompt was blocked by the safety filters.", status: "INVALID_ARGUMENT" } }
        : line.read
          ? { key: line.key, response: readAnswer(line.read as SentBody, job.model ?? "", i + 1, undefined) }
          : {
            key: line.key,
            response: {
              candidates: [{ content: { role: "model", parts: [{ inlineData: { mimeType: "image/png", data: image(line, i, b).toString("base64") } }] }, finishReason: "STOP", index: 0 }],
              usageMetadata: { promptTokenCount: 20, candidatesTokenCount: GEMINI_IMAGE_TOKENS, totalTokenCount: 20 + GEMINI_IMAGE_TOKENS, candidatesTokensDetails: [{ modality: "IMAGE", tokenCount: GEMINI_IMAGE_TOKENS }] },
              modelVersion: job.model,
            },
          },
    );
    const id = `out-${job.id}`;
    files.set(id, Buffer.from(out.map((l) => JSON.stringify(l)).join("\n") + "\n"));
    job.outputFile = `files/${id}`;
  };
  let hit!: () => void;
  const hung = new Promise<void>((r) => (hit = r));
  const routes = (x: Exchange): boolean => {
    const { req, res, url, entry } = x;
    const create = /^\/v1beta\/models\/([^/:]+):batchGenerateContent$/.exec(url.pathname);
    if (req.method === "POST" && create) {
      if (hangs(b, "create", hit)) return true;
      const batch = (entry.body as { batch?: { displayName?: string; inputConfig?: { fileName?: string } } }).batch ?? {};
      const input = uploads.get((batch.inputConfig?.fileName ?? "").replace(/^files\//, ""));
      if (!input?.bytes) return json(res, 400, { error: { code: 400, message: "input file not found", status: "INVALID_ARGUMENT" } }), true;
      const lines = input.bytes.toString("utf8").split("\n").filter(Boolean).map((l) => {
        const { key, request } = JSON.parse(l) as {
          key: string;
          request: { contents: { parts: { text?: string }[] }[]; generationConfig?: { imageConfig?: { aspectRatio?: string }; responseMimeType?: string } };
        };
        const read = request.generationConfig?.responseMimeType === "application/json";
        return {
          key,
          prompt: request.contents[0]!.parts[0]!.text ?? "",
          ...(request.generationConfig?.imageConfig?.aspectRatio ? { ratio: request.generationConfig.imageConfig.aspectRatio } : {}),
          ...(read ? { read: request as SentBody } : {}),
        };
      });
      const job: FakeJob = { id: `b${jobs.length + 1}`, ...(batch.displayName ? { displayName: batch.displayName } : {}), model: decodeURIComponent(create[1]!), lines, polls: 0, state: "running" };
      jobs.push(job);
      if (hangs(b, "created", hit)) return true;
      if (b.loseCreate) {
        b.loseCreate = false;
        dropAfterCreate(x);
        return true;
      }
      return json(res, 200, operation(job)), true;
    }
    const one = /^\/v1beta\/batches\/([^/:]+)(:cancel)?$/.exec(url.pathname);
    if (one) {
      const job = jobs.find((j) => j.id === one[1]);
      if (!job) return json(res, 404, { error: { code: 404, message: "not found", status: "NOT_FOUND" } }), true;
      if (one[2] && req.method === "POST") {
        if (job.state === "running") job.state = "cancelled";
        return json(res, 200, {}), true;
      }
      tick(job, b, finish);
      return json(res, 200, operation(job)), true;
    }
    if (req.method === "GET" && url.pathname === "/v1beta/batches") return json(res, 200, { operations: jobs.map(operation) }), true;
    const download = /^\/v1beta\/files\/([^/:]+):download$/.exec(url.pathname);
    if (req.method === "GET" && download) {
      if (hangs(b, "download", hit)) return true;
      const bytes = files.get(download[1]!);
      if (!bytes) return json(res, 404, { error: { code: 404, message: "no such file", status: "NOT_FOUND" } }), true;
      return send(res, bytes), true;
    }
    return false;
  };
  const fake = (await new FakeServer(options, withBatches(geminiDialect(uploads), routes)).start()) as BatchFake;
  return Object.assign(fake, {
    behaviour: b,
    jobs,
    hung,
    uploads,
    creates: () => fake.log.filter((e) => e.path.endsWith(":batchGenerateContent")),
    liveCalls: () => fake.log.filter((e) => e.path.endsWith(":generateContent")),
  });
}

export async function startOpenAIBatchFake(options: FakeOptions, behaviour: Partial<BatchBehaviour> = {}): Promise<BatchFake> {
  const b = { ...defaults(), ...behaviour };
  const files = new Map<string, Buffer>();
  const jobs: FakeJob[] = [];
  const STATUS = { running: "in_progress", succeeded: "completed", expired: "expired", cancelled: "cancelled" };
  const metadata = new Map<string, Record<string, string>>();
  const batch = (job: FakeJob) => {
    const failed = job.outputFile ? job.lines.filter((l) => b.failWhen.some((w) => l.prompt.includes(w))).length : 0;
    return {
      id: job.id,
      object: "batch",
      endpoint: job.endpoint ?? "/v1/images/generations",
      input_file_id: `file-in-${job.id}`,
      completion_window: "24h",
      status: job.polls === 0 && job.state === "running" ? "validating" : STATUS[job.state],
      created_at: 1_764_457_200,
      metadata: metadata.get(job.id) ?? null,
      ...(job.outputFile ? { output_file_id: job.outputFile } : {}),
      ...(job.errorFile ? { error_file_id: job.errorFile } : {}),
      request_counts: { total: job.lines.length, completed: job.outputFile ? job.lines.length - failed : 0, failed },
    };
  };
  const finish = (job: FakeJob) => {
    const done = job.state === "succeeded" ? job.lines : job.lines.slice(0, b.partial);
    const ok: string[] = [];
    const bad: string[] = [];
    done.forEach((line, i) => {
      if (b.failWhen.some((w) => line.prompt.includes(w))) {
        bad.push(JSON.stringify({ id: `req-${i}`, custom_id: line.key, response: { status_code: 400, request_id: `r${i}`, body: { error: { message: "Your request was rejected by the safety system.", code: "moderation_blocked" } } }, error: null }));
      } else if (line.read) {
        ok.push(JSON.stringify({ id: `req-${i}`, custom_id: line.key, response: { status_code: 200, request_id: `r${i}`, body: responseObject(line.read as ResponsesBody, i + 1, undefined) }, error: null }));
      } else {
        const body = { created: 1, data: [{ b64_json: image(line, i, b).toString("base64") }], output_format: "png", usage: { input_tokens: 30, input_tokens_details: { text_tokens: 30, image_tokens: 0 }, output_tokens: OPENAI_OUTPUT_TOKENS } };
        ok.push(JSON.stringify({ id: `req-${i}`, custom_id: line.key, response: { status_code: 200, request_id: `r${i}`, body }, error: null }));
      }
    });
    // Output order may differ from input order.
    files.set(`file-out-${job.id}`, Buffer.from(ok.reverse().join("\n") + "\n"));
    job.outputFile = `file-out-${job.id}`;
    if (bad.length) {
      files.set(`file-err-${job.id}`, Buffer.from(bad.join("\n") + "\n"));
      job.errorFile = `file-err-${job.id}`;
    }
  };
  let hit!: () => void;
  const hung = new Promise<void>((r) => (hit = r));
  const routes = async (x: Exchange): Promise<boolean> => {
    const { req, res, url, entry } = x;
    if (req.method === "POST" && url.pathname === "/v1/files") {
      const form = await new Request("http://fake/", { method: "POST", headers: { "content-type": entry.headers["content-type"]! }, body: entry.raw }).formData();
      const file = form.get("file") as File;
      const id = `file-${files.size + 1}`;
      files.set(id, Buffer.from(await file.arrayBuffer()));
      return json(res, 200, { id, object: "file", bytes: file.size, created_at: 1, filename: file.name, purpose: String(form.get("purpose")), status: "processed" }), true;
    }
    if (req.method === "POST" && url.pathname === "/v1/batches") {
      if (hangs(b, "create", hit)) return true;
      const body = entry.body as { input_file_id: string; endpoint: string; metadata?: Record<string, string> };
      const input = files.get(body.input_file_id);
      if (!input) return json(res, 400, { error: { message: "no such file", type: "invalid_request_error", code: null, param: "input_file_id" } }), true;
      const lines = input.toString("utf8").split("\n").filter(Boolean).map((l) => {
        const { custom_id, url, body } = JSON.parse(l) as { custom_id: string; url: string; body: { prompt?: string; size?: string } & ResponsesBody };
        if (url === "/v1/responses") {
          const first = (body.input?.[0]?.content ?? []).find((c) => c.type === "input_text") as { text?: string } | undefined;
          return { key: custom_id, prompt: first?.text ?? "", read: body as ResponsesBody };
        }
        return { key: custom_id, prompt: body.prompt ?? "", ...(body.size ? { size: body.size } : {}) };
      });
      const job: FakeJob = { id: `batch_${jobs.length + 1}`, endpoint: body.endpoint, lines, polls: 0, state: "running" };
      jobs.push(job);
      if (body.metadata) metadata.set(job.id, body.metadata);
      if (hangs(b, "created", hit)) return true;
      if (b.loseCreate) {
        b.loseCreate = false;
        dropAfterCreate(x);
        return true;
      }
      return json(res, 200, batch(job)), true;
    }
    if (req.method === "GET" && url.pathname === "/v1/batches") return json(res, 200, { object: "list", data: [...jobs].reverse().map(batch), has_more: false }), true;
    const one = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(url.pathname);
    if (one) {
      const job = jobs.find((j) => j.id === one[1]);
      if (!job) return json(res, 404, { error: { message: "not found", type: "invalid_request_error", code: null, param: null } }), true;
      if (one[2] && req.method === "POST") {
        if (job.state === "running") {
          job.state = "cancelled";
          finish(job);
        }
        return json(res, 200, batch(job)), true;
      }
      tick(job, b, finish);
      return json(res, 200, batch(job)), true;
    }
    const content = /^\/v1\/files\/([^/]+)\/content$/.exec(url.pathname);
    if (req.method === "GET" && content) {
      if (hangs(b, "download", hit)) return true;
      const bytes = files.get(content[1]!);
      if (!bytes) return json(res, 404, { error: { message: "no such file", type: "invalid_request_error", code: null, param: null } }), true;
      return send(res, bytes), true;
    }
    return false;
  };
  const fake = (await new FakeServer(options, withBatches(openaiDialect(undefined, new Map()), routes)).start()) as BatchFake;
  return Object.assign(fake, {
    behaviour: b,
    jobs,
    hung,
    creates: () => fake.log.filter((e) => e.method === "POST" && e.path === "/v1/batches"),
    liveCalls: () => fake.log.filter((e) => e.path.startsWith("/v1/images/") || e.path === "/v1/responses"),
  });
}

function send(res: ServerResponse, bytes: Buffer): void {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length });
  res.end(bytes);
}
