/**
 * The Gemini Batch API through `@google/genai`: the input is a JSONL file uploaded through the
 * Files API (file input and file output only: large inline image results are known to be
 * unretrievable), lines `{key, request}`; results come back as a JSONL file of `{key, response}`
 * or `{key, error}` lines. Reference images are uploaded once per digest and re-uploaded when
 * the provider's copy has expired (files live 48 hours).
 */
import { basename } from "node:path";
import { GoogleGenAI, type BatchJob, type GenerateContentResponse, type Part } from "@google/genai";
import { ChargenError } from "../core/errors.js";
import { GOOGLE_KEY_ENV, requireKey } from "../providers/credentials.js";
import { dataConfig, dataParts, googleFailure, imageConfig, readData, readGoogleConfig, readImage, type GoogleConfig } from "../providers/google.js";
import { atBatchRate, pricesOf, type PriceTable } from "../providers/prices.js";
import { promptText } from "../providers/prompt-text.js";
import type { ReferenceImage } from "../providers/types.js";
import { engineCall, readLine, type BatchEngine, type DataLineRequest, type EngineOptions, type LineRequest, type LineResult, type RemoteJob, type UploadCache } from "./engine.js";
import type { RemoteState } from "./machine.js";
import { digestBytes } from "../core/hash.js";

/** A reference uploaded this close to its expiry is uploaded again: the job may wait a day to run. */
const EXPIRY_MARGIN_MS = 25 * 3600_000;
const NEVER = new AbortController().signal;

export class GeminiEngine implements BatchEngine {
  readonly provider = "google";
  // 2 GB per input file; requests per job are bounded by the tier's enqueued tokens, so stay modest.
  readonly limits = { maxLines: 10_000, maxInputBytes: 1_900_000_000 };
  private readonly config: GoogleConfig;
  private readonly prices: PriceTable;
  private readonly uploads: UploadCache;
  private client: GoogleGenAI | undefined;

  constructor(private readonly options: EngineOptions) {
    this.config = readGoogleConfig(options);
    this.prices = pricesOf(options);
    this.uploads = options.uploads;
  }

  checkKey(): void {
    requireKey("google", this.options.env, GOOGLE_KEY_ENV);
  }

  refusal(): string | undefined {
    return undefined;
  }

  async line(request: LineRequest): Promise<string> {
    const parts: Part[] = [{ text: promptText(request) }];
    for (const [i, ref] of request.references.entries()) {
      parts.push({ text: `Reference image ${i + 1} (${ref.role}):` }, { fileData: await this.staged(ref) });
    }
    const body = { contents: [{ role: "user", parts }], generationConfig: { responseModalities: ["IMAGE"], imageConfig: imageConfig(request) } };
    return JSON.stringify({ key: request.key, request: body });
  }

  async dataLine(request: DataLineRequest): Promise<string> {
    const parts = await dataParts(request, async (image) => ({ fileData: await this.staged(image) }));
    const body = { systemInstruction: { parts: [{ text: request.instructions }] }, contents: [{ role: "user", parts }], generationConfig: dataConfig(request) };
    return JSON.stringify({ key: request.key, request: body });
  }

  async uploadInput(path: string, displayName: string): Promise<string> {
    const file = await this.call(() => this.sdk().files.upload({ file: path, config: { mimeType: "jsonl", displayName } }));
    if (!file.name) throw new ChargenError("retryable", "google: the upload of the batch input returned no file name", { code: "UPLOAD_FAILED" });
    return file.name;
  }

  async create(model: string, inputFile: string, displayName: string): Promise<RemoteJob> {
    return remote(await this.call(() => this.sdk().batches.create({ model, src: inputFile, config: { displayName } })));
  }

  async find(displayName: string): Promise<RemoteJob | undefined> {
    return this.call(async () => {
      for await (const job of await this.sdk().batches.list({ config: { pageSize: 100 } })) if (job.displayName === displayName) return remote(job);
      return undefined;
    });
  }

  async get(name: string): Promise<RemoteJob> {
    return remote(await this.call(() => this.sdk().batches.get({ name })));
  }

  async cancel(name: string): Promise<void> {
    await this.call(() => this.sdk().batches.cancel({ name }));
  }

  async download(file: string, path: string): Promise<void> {
    await this.call(() => this.sdk().files.download({ file, downloadPath: path }));
  }

  result(text: string, requestOf: (key: string) => LineRequest | DataLineRequest | undefined): LineResult {
    const line = JSON.parse(text) as { key?: string; response?: GenerateContentResponse; error?: { code?: number; message?: string; status?: string } };
    const key = String(line.key ?? "");
    const request = requestOf(key);
    if (!request) return { key, error: new ChargenError("target", `google: a result for a key this job did not ask for (${key})`, { code: "UNKNOWN_KEY" }) };
    if (line.error || !line.response) {
      const e = line.error ?? {};
      return { key, error: new ChargenError("target", `google: ${e.message ?? "no response"}${e.status ? ` (${e.status})` : ""}`, { code: e.status ?? "NO_RESPONSE" }) };
    }
    const response = line.response;
    return readLine(
      "google",
      key,
      request,
      (r) => readImage(response, r, this.prices),
      (r) => readData(response, r, this.prices),
    );
  }

  /** The reference as a Files API file: the cached upload while it has a day to live, else a new one. */
  private async staged(ref: ReferenceImage): Promise<{ fileUri: string; mimeType: string }> {
    const digest = digestBytes(ref.bytes);
    const cached = this.uploads.get(digest);
    if (cached && (!cached.expiresAt || Date.parse(cached.expiresAt) - this.options.now() > EXPIRY_MARGIN_MS)) return { fileUri: cached.uri, mimeType: cached.mimeType };
    const file = await this.call(() =>
      this.sdk().files.upload({ file: new Blob([Buffer.from(ref.bytes)], { type: ref.mimeType }), config: { mimeType: ref.mimeType, displayName: basename(ref.path) } }),
    );
    if (!file.uri || !file.name) throw new ChargenError("retryable", `google: upload of ${ref.path} failed (state ${file.state ?? "unknown"})`, { code: "UPLOAD_FAILED" });
    const entry = { name: file.name, uri: file.uri, mimeType: file.mimeType ?? ref.mimeType, ...(file.expirationTime ? { expiresAt: file.expirationTime } : {}) };
    await this.uploads.set(digest, entry);
    return { fileUri: entry.uri, mimeType: entry.mimeType };
  }

  private sdk(): GoogleGenAI {
    if (!this.client) {
      const apiKey = requireKey("google", this.options.env, GOOGLE_KEY_ENV);
      this.client = new GoogleGenAI({
        vertexai: false,
        apiKey,
        apiVersion: this.config.apiVersion,
        httpOptions: { timeout: this.config.timeoutMs, ...(this.config.baseUrl ? { baseUrl: this.config.baseUrl } : {}) },
      });
    }
    return this.client;
  }

  private call<T>(f: () => Promise<T>): Promise<T> {
    return engineCall("google", GOOGLE_KEY_ENV.map((n) => this.options.env[n]), (e) => googleFailure(e, NEVER), f);
  }
}

/** The SDK's job states; anything it does not know yet is taken as still running. */
function remoteState(state: string | undefined): RemoteState {
  switch (state) {
    case "JOB_STATE_PENDING":
    case "JOB_STATE_QUEUED":
      return "pending";
    case "JOB_STATE_SUCCEEDED":
    case "JOB_STATE_PARTIALLY_SUCCEEDED":
      return "succeeded";
    case "JOB_STATE_FAILED":
      return "failed";
    case "JOB_STATE_CANCELLED":
      return "cancelled";
    case "JOB_STATE_EXPIRED":
      return "expired";
    default:
      return "running";
  }
}

function remote(job: BatchJob): RemoteJob {
  if (!job.name) throw new ChargenError("retryable", "google: a batch job without a name", { code: "BAD_ANSWER" });
  return { name: job.name, state: remoteState(job.state), resultFiles: job.dest?.fileName ? [job.dest.fileName] : [] };
}
