/**
 * OpenAI's Batch API through the `openai` SDK, for `/v1/images/generations` (images) and
 * `/v1/responses` (reads; a job carries one kind, a batch having one endpoint): the input JSONL is
 * uploaded with purpose "batch", lines `{custom_id, method, url, body}`; results come back in an
 * output file and an error file, in any order, matched on `custom_id` (the target's key).
 * A read's images travel in its line as data URLs, as they do live.
 *
 * Reference images cannot travel: `/v1/images/edits` is accepted as a batch endpoint, but the
 * edit's images are multipart uploads with no JSON form (openai 7.55's `ImageEditParams.image` is
 * only `Uploadable`), and a JSON batch line cannot carry one. Such targets are refused here and
 * left stale, with that reason, for a live `chargen build`: nothing is sent at full price behind
 * the author's back.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import OpenAI, { APIUserAbortError } from "openai";
import type { Batch } from "openai/resources/batches";
import type { ImagesResponse } from "openai/resources/images";
import type { Response as ModelResponse } from "openai/resources/responses/responses";
import { ChargenError } from "../core/errors.js";
import { OPENAI_KEY_ENV, requireKey } from "../providers/credentials.js";
import { generationParams, openaiFailure, readData, readImage, readOpenAIConfig, readParams, type OpenAIConfig } from "../providers/openai.js";
import { atBatchRate, pricesOf, type PriceTable } from "../providers/prices.js";
import { engineCall, readLine, type BatchEngine, type DataLineRequest, type EngineOptions, type LineKind, type LineRequest, type LineResult, type RemoteJob } from "./engine.js";
import type { RemoteState } from "./machine.js";

const ENDPOINT = { image: "/v1/images/generations", data: "/v1/responses" } as const satisfies Record<LineKind, string>;
/** Where chargen's job id travels, so that a create whose answer was lost is found again. */
const NAME_TAG = "chargen_job";

export class OpenAIEngine implements BatchEngine {
  readonly provider = "openai";
  readonly limits = { maxLines: 50_000, maxInputBytes: 200_000_000 };
  private readonly config: OpenAIConfig;
  private readonly prices: PriceTable;
  private client: OpenAI | undefined;

  constructor(private readonly options: EngineOptions) {
    this.config = readOpenAIConfig(options);
    this.prices = pricesOf(options);
  }

  checkKey(): void {
    requireKey("openai", this.options.env, OPENAI_KEY_ENV);
  }

  refusal(request: LineRequest): string | undefined {
    return request.references.length
      ? "openai batches cannot carry reference images (an edit's images have no JSON form): build it live with chargen build"
      : undefined;
  }

  async line(request: LineRequest): Promise<string> {
    return JSON.stringify({ custom_id: request.key, method: "POST", url: ENDPOINT.image, body: generationParams(request) });
  }

  async dataLine(request: DataLineRequest): Promise<string> {
    return JSON.stringify({ custom_id: request.key, method: "POST", url: ENDPOINT.data, body: readParams(request) });
  }

  async uploadInput(path: string): Promise<string> {
    const file = await this.call(() => this.sdk().files.create({ file: createReadStream(path), purpose: "batch" }));
    return file.id;
  }

  async create(_model: string, inputFile: string, displayName: string, kind: LineKind = "image"): Promise<RemoteJob> {
    return remote(
      await this.call(() => this.sdk().batches.create({ input_file_id: inputFile, endpoint: ENDPOINT[kind], completion_window: "24h", metadata: { [NAME_TAG]: displayName } })),
    );
  }

  async find(displayName: string): Promise<RemoteJob | undefined> {
    return this.call(async () => {
      for await (const batch of this.sdk().batches.list({ limit: 100 })) {
        if (batch.metadata?.[NAME_TAG] === displayName) return remote(batch);
      }
      return undefined;
    });
  }

  async get(name: string): Promise<RemoteJob> {
    return remote(await this.call(() => this.sdk().batches.retrieve(name)));
  }

  async cancel(name: string): Promise<void> {
    await this.call(() => this.sdk().batches.cancel(name));
  }

  async download(file: string, path: string): Promise<void> {
    const response = await this.call(() => this.sdk().files.content(file));
    if (!response.body) throw new ChargenError("retryable", `openai: the content of ${file} came back empty`, { code: "EMPTY_FILE" });
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), createWriteStream(path));
  }

  result(text: string, requestOf: (key: string) => LineRequest | DataLineRequest | undefined): LineResult {
    const line = JSON.parse(text) as {
      custom_id?: string;
      response?: { status_code?: number; body?: { error?: { message?: string; code?: string } | null } } | null;
      error?: { code?: string; message?: string } | null;
    };
    const key = String(line.custom_id ?? "");
    const request = requestOf(key);
    if (!request) return { key, error: new ChargenError("target", `openai: a result for a key this job did not ask for (${key})`, { code: "UNKNOWN_KEY" }) };
    const status = line.response?.status_code ?? 0;
    if (line.error || !line.response || status !== 200) {
      const e = line.error ?? line.response?.body?.error ?? {};
      return { key, error: new ChargenError("target", `openai: ${e.message ?? "no response"}${status ? ` (HTTP ${status})` : ""}`, { code: e.code ?? `HTTP_${status}` }) };
    }
    const body = line.response.body!;
    return readLine(
      "openai",
      key,
      request,
      (r) => readImage(body as ImagesResponse, r, this.prices),
      (r) => readData(body as ModelResponse, r, this.prices),
    );
  }

  private sdk(): OpenAI {
    if (!this.client) {
      this.client = new OpenAI({
        apiKey: requireKey("openai", this.options.env, OPENAI_KEY_ENV),
        baseURL: this.config.baseURL ?? null,
        timeout: this.config.timeoutMs,
        maxRetries: 0,
        organization: this.options.env.OPENAI_ORG_ID ?? null,
        project: this.options.env.OPENAI_PROJECT_ID ?? null,
      });
    }
    return this.client;
  }

  private call<T>(f: () => Promise<T>): Promise<T> {
    return engineCall("openai", OPENAI_KEY_ENV.map((n) => this.options.env[n]), (e) => (e instanceof APIUserAbortError ? undefined : openaiFailure(e)), f);
  }
}

function remoteState(status: Batch["status"]): RemoteState {
  switch (status) {
    case "validating":
      return "pending";
    case "completed":
      return "succeeded";
    case "failed":
      return "failed";
    case "cancelled":
      return "cancelled";
    case "expired":
      return "expired";
    default:
      // in_progress, finalizing, cancelling: results are not final yet.
      return "running";
  }
}

function remote(batch: Batch): RemoteJob {
  const counts = batch.request_counts;
  return {
    name: batch.id,
    state: remoteState(batch.status),
    resultFiles: [batch.output_file_id, batch.error_file_id].filter((f): f is string => !!f),
    ...(counts ? { counts: { total: counts.total, done: counts.completed, failed: counts.failed } } : {}),
  };
}
