/**
 * Gemini through `@google/genai`: `models.generateContent` with image output (`generate`), and
 * with a JSON answer of a given schema (`read`: vision analysis of images, story text).
 *
 * - API version pinned to v1beta: Google's image-generation and Files API documentation, and the
 *   preview image models, live on v1beta, while SDK 3.x defaults to v1 (2.x used v1beta).
 *   Pinning keeps the wire the same whichever SDK version is installed; `apiVersion` overrides.
 * - A timeout on every call (the SDK has none by default) and no SDK retries: the hub retries.
 * - The key comes from GOOGLE_API_KEY (wins) or GEMINI_API_KEY, read at the first request.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import {
  ApiError,
  GoogleGenAI,
  MediaResolution,
  type GenerateContentConfig,
  type GenerateContentResponse,
  type GenerateContentResponseUsageMetadata,
  type HarmBlockThreshold,
  type HarmCategory,
  type Part,
} from "@google/genai";
import { ChargenError } from "../core/errors.js";
import { GOOGLE_KEY_ENV, requireKey } from "./credentials.js";
import { nearestGeminiRatio, takesImageSize } from "./google-models.js";
import { classify, networkCode, parseDuration, redact, type Failure } from "./http-errors.js";
import { costFromTokens, estimateImagePrice, pricesOf, type PriceTable, type TokenUsage } from "./prices.js";
import { promptText } from "./prompt-text.js";
import { toFormat } from "./transcode.js";
import type { DataRequest, DataResult, ImageRequest, ImageResult, Provider, ProviderFactoryOptions, ProviderModule, ReferenceImage, Usage } from "./types.js";
import { parseAnswer } from "../model/read.js";


export interface GoogleConfig {
  baseUrl?: string;
  apiVersion: string;
  timeoutMs: number;
  /** Above this many reference bytes in one request, references go through the Files API (a request is limited to 20 MB). */
  inlineLimitBytes: number;
}

const DEFAULTS: GoogleConfig = { apiVersion: "v1beta", timeoutMs: 180_000, inlineLimitBytes: 15 * 1024 * 1024 };

/** Rules options (`baseUrl`, `apiVersion`, `timeoutMs`, `inlineLimitBytes`); GOOGLE_GEMINI_BASE_URL wins over `baseUrl`. */
export function readGoogleConfig({ env, options }: ProviderFactoryOptions): GoogleConfig {
  const num = (field: string, fallback: number) => {
    const v = options[field];
    if (v === undefined) return fallback;
    if (typeof v !== "number" || !(v > 0)) throw new ChargenError("user", `google provider: ${field} must be a positive number`, { field });
    return v;
  };
  const str = (field: string) => {
    const v = options[field];
    if (v !== undefined && typeof v !== "string") throw new ChargenError("user", `google provider: ${field} must be a string`, { field });
    return v;
  };
  const baseUrl = env.GOOGLE_GEMINI_BASE_URL?.trim() || str("baseUrl");
  return {
    ...(baseUrl ? { baseUrl } : {}),
    apiVersion: str("apiVersion") ?? DEFAULTS.apiVersion,
    timeoutMs: num("timeoutMs", DEFAULTS.timeoutMs),
    inlineLimitBytes: num("inlineLimitBytes", DEFAULTS.inlineLimitBytes),
  };
}

/** Why a candidate ended without an image (or without a whole answer), in words. */
const FINISH_REASONS: Record<string, string> = {
  SAFETY: "blocked by the safety filters",
  PROHIBITED_CONTENT: "blocked as prohibited content",
  BLOCKLIST: "blocked: the prompt contains blocked terms",
  SPII: "blocked: the prompt contains sensitive personal information",
  RECITATION: "blocked as recitation of protected material",
  IMAGE_SAFETY: "the generated image was blocked by the safety filters",
  IMAGE_PROHIBITED_CONTENT: "the generated image was blocked as prohibited content",
  IMAGE_RECITATION: "the generated image was blocked as resembling protected material",
  IMAGE_OTHER: "the model could not generate this image",
  NO_IMAGE: "the model answered without an image",
  MAX_TOKENS: "the output limit was reached before the answer was complete",
  OTHER: "generation stopped for an unspecified reason",
};

/** Reasons in an error's google.rpc.ErrorInfo that no retry in this build can fix. */
const STOP_REASONS = new Set(["API_KEY_INVALID", "API_KEY_SERVICE_BLOCKED", "SERVICE_DISABLED", "BILLING_DISABLED", "CONSUMER_SUSPENDED"]);

const MAX_TEXT = 300;
const clip = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);
const targetError = (message: string, code: string) => new ChargenError("target", `google: ${message}`, { code });

export class GoogleProvider implements Provider {
  readonly name = "google";
  private client: { key: string; sdk: GoogleGenAI } | undefined;
  /** Uploaded references by content digest: a character sheet used by many targets goes up once. */
  private readonly uploads = new Map<string, Promise<{ fileUri: string; mimeType: string }>>();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly config: GoogleConfig,
    private readonly prices: PriceTable,
  ) {}

  async generate(request: ImageRequest): Promise<ImageResult> {
    const key = requireKey("google", this.env, GOOGLE_KEY_ENV);
    const sdk = this.sdk(key);
    try {
      const response = await sdk.models.generateContent({
        model: request.model,
        contents: [{ role: "user", parts: await this.parts(sdk, request) }],
        config: {
          responseModalities: ["IMAGE"],
          imageConfig: imageConfig(request),
          ...generationConfig(request),
          abortSignal: request.signal,
        },
      });
      return readImage(response, request, this.prices);
    } catch (e) {
      throw toChargenError(e, request.signal, key);
    }
  }

  private sdk(key: string): GoogleGenAI {
    if (this.client?.key !== key) {
      this.client = {
        key,
        sdk: new GoogleGenAI({
          // Explicit, so that GOOGLE_GENAI_USE_VERTEXAI or GOOGLE_GENAI_API_VERSION in the shell cannot redirect it.
          vertexai: false,
          apiKey: key,
          apiVersion: this.config.apiVersion,
          httpOptions: { timeout: this.config.timeoutMs, ...(this.config.baseUrl ? { baseUrl: this.config.baseUrl } : {}) },
        }),
      };
    }
    return this.client.sdk;
  }

  async read(request: DataRequest): Promise<DataResult> {
    const key = requireKey("google", this.env, GOOGLE_KEY_ENV);
    const sdk = this.sdk(key);
    try {
      const response = await sdk.models.generateContent({
        model: request.model,
        contents: [{ role: "user", parts: await dataParts(request, this.imagePart(sdk, request.images)) }],
        config: { systemInstruction: request.instructions, ...dataConfig(request), abortSignal: request.signal },
      });
      return readData(response, request, this.prices);
    } catch (e) {
      throw toChargenError(e, request.signal, key);
    }
  }

  /** The prompt, then each reference labelled with its role: inline, or as uploaded files when large. */
  private async parts(sdk: GoogleGenAI, request: ImageRequest): Promise<Part[]> {
    const parts: Part[] = [{ text: promptText(request) }];
    const imagePart = this.imagePart(sdk, request.references);
    for (const [i, ref] of request.references.entries()) {
      // The same numbering and words as the prompt's references section.
      parts.push({ text: `Reference image ${i + 1}: ${ref.label ?? ref.role}` });
      parts.push(await imagePart(ref));
    }
    return parts;
  }

  /** How each of these images travels: inline, or all as uploaded files when together they are too large for one request. */
  private imagePart(sdk: GoogleGenAI, images: ReferenceImage[]): (ref: ReferenceImage) => Promise<Part> {
    const total = images.reduce((n, r) => n + r.bytes.byteLength, 0);
    if (total > this.config.inlineLimitBytes) return async (ref) => ({ fileData: await this.uploaded(sdk, ref) });
    return async (ref) => ({ inlineData: { mimeType: ref.mimeType, data: Buffer.from(ref.bytes).toString("base64") } });
  }

  private uploaded(sdk: GoogleGenAI, ref: ReferenceImage): Promise<{ fileUri: string; mimeType: string }> {
    const digest = createHash("sha256").update(ref.bytes).digest("hex");
    let pending = this.uploads.get(digest);
    if (!pending) {
      pending = sdk.files
        .upload({
          file: new Blob([Buffer.from(ref.bytes)], { type: ref.mimeType }),
          config: { mimeType: ref.mimeType, displayName: basename(ref.path) },
        })
        .then((file) => {
          if (!file.uri || file.state === "FAILED") throw targetError(`upload of ${ref.path} failed (state ${file.state ?? "unknown"})`, "UPLOAD_FAILED");
          return { fileUri: file.uri, mimeType: file.mimeType ?? ref.mimeType };
        });
      // A failed upload is retried by the next attempt, not remembered.
      pending.catch(() => this.uploads.delete(digest));
      this.uploads.set(digest, pending);
    }
    return pending;
  }
}

/** The sampling settings the rules or the YAML set, as generateContent's config fields; none when none is set. */
function generationConfig({ generation: g }: ImageRequest): Pick<GenerateContentConfig, "temperature" | "topP" | "topK" | "seed" | "safetySettings"> {
  if (!g) return {};
  return {
    ...(g.temperature === undefined ? {} : { temperature: g.temperature }),
    ...(g.topP === undefined ? {} : { topP: g.topP }),
    ...(g.topK === undefined ? {} : { topK: g.topK }),
    ...(g.seed === undefined ? {} : { seed: g.seed }),
    ...(g.safetySettings ? { safetySettings: g.safetySettings.map((s) => ({ category: s.category as HarmCategory, threshold: s.threshold as HarmBlockThreshold })) } : {}),
  };
}

export function imageConfig(request: Pick<ImageRequest, "aspectRatio" | "size" | "quality" | "model">): { aspectRatio?: string; imageSize?: string } {
  // Normalisation already turned a size into a ratio; this is for a request that skipped it.
  const aspectRatio = request.aspectRatio ?? (request.size ? nearestGeminiRatio(request.size.width / request.size.height) : undefined);
  const tier = request.quality && /^[124]K$/.test(request.quality) && takesImageSize(request.model) ? request.quality : undefined;
  return { ...(aspectRatio ? { aspectRatio } : {}), ...(tier ? { imageSize: tier } : {}) };
}

export function readImage(response: GenerateContentResponse, request: Pick<ImageRequest, "model" | "format" | "aspectRatio" | "quality">, prices: PriceTable): ImageResult {
  const feedback = response.promptFeedback;
  if (feedback?.blockReason) {
    const why = feedback.blockReasonMessage ? `: ${clip(feedback.blockReasonMessage)}` : "";
    throw targetError(`prompt blocked (${feedback.blockReason})${why}`, feedback.blockReason);
  }
  const candidate = response.candidates?.[0];
  const parts = (candidate?.content?.parts ?? []).filter((p) => !p.thought);
  const image = parts.find((p) => p.inlineData?.data && (p.inlineData.mimeType ?? "").startsWith("image/"));
  const said = clip(parts.map((p) => p.text ?? "").join(" ").replace(/\s+/g, " ").trim());
  const reason = candidate?.finishReason;
  if (!image) {
    const finish = reason && reason !== "STOP" ? reason : undefined;
    const what = finish ? (FINISH_REASONS[finish] ?? `generation ended with ${finish}`) : "no image in the response";
    const detail = [candidate?.finishMessage, said && `the model said: "${said}"`].filter(Boolean).join("; ");
    throw targetError(`${what}${finish ? ` (${finish})` : ""}${detail ? `; ${detail}` : ""}`, finish ?? "NO_IMAGE");
  }
  const converted = toFormat(Buffer.from(image.inlineData!.data!, "base64"), image.inlineData!.mimeType!, request.format);
  const { usage, costUsd } = cost(response, request, prices);
  return {
    bytes: converted.bytes,
    mimeType: converted.mimeType,
    usage,
    ...(costUsd === undefined ? {} : { costUsd }),
    metadata: {
      provider: "google",
      model: response.modelVersion ?? request.model,
      ...(response.responseId ? { responseId: response.responseId } : {}),
      ...(reason ? { finishReason: reason } : {}),
      ...(said ? { text: said } : {}),
    },
  };
}

/** Billed tokens from usageMetadata priced by the table; the table's per-image price when there are none. */
function cost(response: GenerateContentResponse, request: Pick<ImageRequest, "model" | "format" | "aspectRatio" | "quality">, prices: PriceTable): { usage: Usage; costUsd?: number } {
  const meta = response.usageMetadata;
  if (meta?.candidatesTokenCount !== undefined) {
    const { tokens, costUsd } = tokenCost(meta, request.model, prices);
    const usage: Usage = { inputTokens: meta.promptTokenCount ?? 0, outputTokens: meta.candidatesTokenCount, imageTokens: tokens.imageOutput };
    if (costUsd !== undefined) return { usage, costUsd };
  }
  const costUsd = estimateImagePrice(
    {
      provider: "google",
      model: request.model,
      format: request.format,
      n: 1,
      ...(request.aspectRatio ? { aspectRatio: request.aspectRatio } : {}),
      ...(request.quality ? { quality: request.quality } : {}),
    },
    prices,
  );
  return { usage: {}, ...(costUsd === undefined ? {} : { costUsd }) };
}

/** usageMetadata split by modality (thinking is billed as text output), and priced when the table has the model's token rates. */
function tokenCost(meta: GenerateContentResponseUsageMetadata, model: string, prices: PriceTable): { tokens: Required<TokenUsage>; costUsd?: number } {
  const byModality = (list: { modality?: string; tokenCount?: number }[] | undefined, modality: string) =>
    (list ?? []).filter((d) => d.modality === modality).reduce((n, d) => n + (d.tokenCount ?? 0), 0);
  const imageOutput = byModality(meta.candidatesTokensDetails, "IMAGE");
  const imageInput = byModality(meta.promptTokensDetails, "IMAGE");
  const tokens = {
    textInput: (meta.promptTokenCount ?? 0) - imageInput,
    imageInput,
    textOutput: (meta.candidatesTokenCount ?? 0) - imageOutput + (meta.thoughtsTokenCount ?? 0),
    imageOutput,
  };
  const costUsd = costFromTokens("google", model, tokens, prices);
  return costUsd === undefined ? { tokens } : { tokens, costUsd };
}

const MEDIA_RESOLUTION: Record<NonNullable<DataRequest["mediaResolution"]>, MediaResolution> = {
  low: MediaResolution.MEDIA_RESOLUTION_LOW,
  medium: MediaResolution.MEDIA_RESOLUTION_MEDIUM,
  high: MediaResolution.MEDIA_RESOLUTION_HIGH,
};

/**
 * The generation config of a read, the same in the SDK's config and on the wire (a batch line's
 * generationConfig). `responseJsonSchema` takes the JSON Schema as it is, where `responseSchema`
 * wants Google's OpenAPI subset (upper-case types, no additionalProperties).
 */
export function dataConfig(request: Pick<DataRequest, "schema" | "mediaResolution">): Pick<GenerateContentConfig, "responseMimeType" | "responseJsonSchema" | "mediaResolution"> {
  return {
    responseMimeType: "application/json",
    responseJsonSchema: request.schema.schema,
    ...(request.mediaResolution ? { mediaResolution: MEDIA_RESOLUTION[request.mediaResolution] } : {}),
  };
}

/** Each text after its label, then each image after a label saying what it is (numbered as the instructions may refer to them). */
export async function dataParts(request: Pick<DataRequest, "texts" | "images">, imagePart: (ref: ReferenceImage) => Promise<Part>): Promise<Part[]> {
  const parts: Part[] = request.texts.map((t) => ({ text: `${t.label}:\n\n${t.text}` }));
  for (const [i, image] of request.images.entries()) {
    parts.push({ text: `Image ${i + 1}: ${image.label ?? image.role}` }, await imagePart(image));
  }
  return parts;
}

/** The first candidate's JSON answer; a blocked, cut-off, empty or non-JSON answer is this target's failure. */
export function readData(response: GenerateContentResponse, request: Pick<DataRequest, "model">, prices: PriceTable): DataResult {
  const feedback = response.promptFeedback;
  if (feedback?.blockReason) {
    const why = feedback.blockReasonMessage ? `: ${clip(feedback.blockReasonMessage)}` : "";
    throw targetError(`prompt blocked (${feedback.blockReason})${why}`, feedback.blockReason);
  }
  const candidate = response.candidates?.[0];
  const text = (candidate?.content?.parts ?? [])
    .filter((p) => !p.thought)
    .map((p) => p.text ?? "")
    .join("")
    .trim();
  const reason = candidate?.finishReason;
  if (reason && reason !== "STOP") {
    const detail = [candidate?.finishMessage, text && `the model said: "${clip(text)}"`].filter(Boolean).join("; ");
    throw targetError(`${FINISH_REASONS[reason] ?? `generation ended with ${reason}`} (${reason})${detail ? `; ${detail}` : ""}`, reason);
  }
  const json = parseAnswer(text, targetError, clip);
  const meta = response.usageMetadata;
  const { tokens, costUsd } = meta ? tokenCost(meta, request.model, prices) : { tokens: undefined, costUsd: undefined };
  return {
    json,
    ...(tokens ? { usage: { inputTokens: tokens.textInput + tokens.imageInput, outputTokens: tokens.textOutput, imageTokens: tokens.imageInput } } : {}),
    ...(costUsd === undefined ? {} : { costUsd }),
    metadata: {
      provider: "google",
      model: response.modelVersion ?? request.model,
      ...(response.responseId ? { responseId: response.responseId } : {}),
      ...(reason ? { finishReason: reason } : {}),
    },
  };
}

interface RpcError {
  code?: number;
  message?: string;
  status?: string;
  details?: { "@type"?: string; reason?: string; retryDelay?: string; violations?: { quotaId?: string }[] }[];
}

/** The SDK's error as a Failure: ApiError's message is the JSON error body. */
export function googleFailure(e: unknown, signal: AbortSignal): Failure | undefined {
  if (e instanceof ApiError) {
    let body: RpcError | undefined;
    try {
      body = (JSON.parse(e.message) as { error?: RpcError }).error;
    } catch {
      body = undefined;
    }
    const detail = (type: string) => body?.details?.find((d) => d["@type"]?.endsWith(`google.rpc.${type}`));
    const reason = detail("ErrorInfo")?.reason;
    const delay = detail("RetryInfo")?.retryDelay;
    // A per-day quota refills tomorrow: retrying within this build only burns attempts.
    const daily = e.status === 429 && (detail("QuotaFailure")?.violations ?? []).some((v) => /PerDay/i.test(v.quotaId ?? ""));
    const retryAfterMs = delay ? parseDuration(delay) : undefined;
    return {
      provider: "google",
      status: e.status,
      ...(reason || body?.status ? { code: reason ?? body?.status } : {}),
      message: body?.message ?? e.message,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      stopProvider: daily || (reason !== undefined && STOP_REASONS.has(reason)) || body?.status === "FAILED_PRECONDITION",
      ...(daily ? { reason: "the daily quota for this model is used up" } : {}),
      keyEnv: GOOGLE_KEY_ENV,
    };
  }
  const name = (e as { name?: unknown } | null)?.name;
  if (name === "AbortError" || name === "TimeoutError") {
    return signal.aborted ? undefined : { provider: "google", network: "timeout", message: String((e as Error).message) };
  }
  const code = networkCode(e);
  if (code || (e instanceof TypeError && /fetch failed/i.test(e.message))) {
    return { provider: "google", network: "connection", ...(code ? { code } : {}), message: String((e as Error).message) };
  }
  return undefined;
}

function toChargenError(e: unknown, signal: AbortSignal, key: string): ChargenError {
  if (e instanceof ChargenError) return e;
  if (signal.aborted) return new ChargenError("target", "google: aborted", { code: "ABORTED" });
  const failure = googleFailure(e, signal);
  if (failure) return classify(failure, [key]);
  const message = e instanceof Error ? e.message : String(e);
  return new ChargenError("target", redact(`google: ${message}`, [key]), { code: "UNEXPECTED" });
}

const google: ProviderModule = {
  create: (options) => new GoogleProvider(options.env, readGoogleConfig(options), pricesOf(options)),
};

export default google;
