import { ChargenError } from "../core/errors.js";
import { classify, redact, type Failure } from "../providers/http-errors.js";
import { atBatchRate } from "../providers/prices.js";
import type { DataRequest, DataResult, ImageRequest, ImageResult, ProviderFactoryOptions } from "../providers/types.js";
import type { RemoteState } from "./machine.js";

/** One request as a batch line carries it: everything but the abort signal. */
export type LineRequest = Omit<ImageRequest, "signal">;

/** One read (images and texts into JSON) as a batch line carries it. */
export type DataLineRequest = Omit<DataRequest, "signal">;

/** What a job carries: image lines or read lines, never both (an OpenAI batch has one endpoint). */
export type LineKind = "image" | "data";

export const isDataLine = (request: LineRequest | DataLineRequest): request is DataLineRequest => "schema" in request;

/** A job as the provider reports it. */
export interface RemoteJob {
  /** The provider's id (`batches/…` on Gemini, `batch_…` on OpenAI). */
  name: string;
  state: RemoteState;
  /** Result files to read (outputs, then errors), once there are any. */
  resultFiles: string[];
  /** Lines done and failed, when the provider says (Gemini's SDK drops them). */
  counts?: { total: number; done: number; failed: number };
}

/** One result line: the image of `key` (an image line), its answer (a read line), or why there is none. */
export interface LineResult {
  key: string;
  result?: ImageResult;
  data?: DataResult;
  error?: ChargenError;
}

/** Limits of one job, from the provider's documentation. */
export interface EngineLimits {
  maxLines: number;
  maxInputBytes: number;
}

/**
 * A provider's batch engine, as small as the state machine needs it. Every call may throw a
 * ChargenError; none retries on its own (the driver resumes from the recorded state instead).
 */
export interface BatchEngine {
  readonly provider: string;
  readonly limits: EngineLimits;
  /** Throws the provider's missing-key error: checked before a job is recorded, so that none is left behind unsent. */
  checkKey(): void;
  /** Why this request cannot travel in a batch line (it is then left for a live build), or undefined. */
  refusal(request: LineRequest): string | undefined;
  /** The JSONL line (no newline) for a request; references are staged (uploaded once per digest) first. */
  line(request: LineRequest): Promise<string>;
  /** The JSONL line (no newline) for a read, with the same request body as the live `read()`; images staged as references are. */
  dataLine(request: DataLineRequest): Promise<string>;
  /** Upload the input JSONL; the provider's file name. */
  uploadInput(path: string, displayName: string): Promise<string>;
  /** Start a job of `kind` lines (image by default): OpenAI sends them to that kind's endpoint. */
  create(model: string, inputFile: string, displayName: string, kind?: LineKind): Promise<RemoteJob>;
  /** The job created under `displayName`, if one was (a create whose answer was lost). */
  find(displayName: string): Promise<RemoteJob | undefined>;
  get(name: string): Promise<RemoteJob>;
  cancel(name: string): Promise<void>;
  /** Stream a result file to `path`. */
  download(file: string, path: string): Promise<void>;
  /**
   * Read one line of a result file; `request` gives what was asked under its key. A read line
   * (`isDataLine`) comes back as `data`, an image line as `result`, each at the batch rate.
   */
  result(line: string, request: (key: string) => LineRequest | DataLineRequest | undefined): LineResult;
}

/** What an engine is made from: the provider's factory options (key, base URL, prices) and the reference-upload cache. */
export interface EngineOptions extends ProviderFactoryOptions {
  uploads: UploadCache;
  now(): number;
}

/** Reference files uploaded to a provider, by content digest, with when they expire. */
export interface UploadCache {
  get(digest: string): { name: string; uri: string; mimeType: string; expiresAt?: string } | undefined;
  set(digest: string, file: { name: string; uri: string; mimeType: string; expiresAt?: string }): Promise<void>;
}

/**
 * A result line's answer read by the live provider's own reader, priced at the batch rate; what
 * that reader throws becomes the line's error.
 */
export function readLine(provider: string, key: string, request: LineRequest | DataLineRequest, readImage: (request: LineRequest) => ImageResult, readData: (request: DataLineRequest) => DataResult): LineResult {
  try {
    if (isDataLine(request)) {
      const data = readData(request);
      const costUsd = atBatchRate(provider, data.costUsd);
      return { key, data: { ...data, ...(costUsd === undefined ? {} : { costUsd }) } };
    }
    const result = readImage(request);
    const costUsd = atBatchRate(provider, result.costUsd);
    return { key, result: { ...result, ...(costUsd === undefined ? {} : { costUsd }) } };
  } catch (e) {
    return { key, error: e instanceof ChargenError ? e : new ChargenError("target", `${provider}: ${String(e)}`, { code: "BAD_RESULT" }) };
  }
}

/**
 * One SDK call of an engine: a failure typed into chargen's kinds by the provider's own mapping
 * (the live provider's), anything unrecognised retryable, and the key redacted from every message.
 */
export async function engineCall<T>(provider: string, secrets: readonly (string | undefined)[], failureOf: (e: unknown) => Failure | undefined, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof ChargenError) throw e;
    const failure = failureOf(e);
    throw failure ? classify(failure, secrets) : new ChargenError("retryable", redact(`${provider}: ${e instanceof Error ? e.message : String(e)}`, secrets), { code: "UNEXPECTED" });
  }
}
