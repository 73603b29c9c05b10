/**
 * OpenAI through the `openai` SDK: GPT image models by `images.generate` for a prompt alone,
 * `images.edit` with the reference images (each sent with its real content type); reads (images
 * and texts into one JSON document) by the Responses API with a strict JSON schema format.
 *
 * The SDK's own retries are off (`maxRetries: 0`): the hub's one policy retries, so a 429 is
 * never retried twice over. A timeout bounds every call. The key comes from OPENAI_API_KEY,
 * read at the first request; OPENAI_BASE_URL (or the rules' `baseURL`) points it elsewhere.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, toFile } from "openai";
import type { ImageEditParamsNonStreaming, ImageGenerateParamsNonStreaming, ImagesResponse } from "openai/resources/images";
import type { Response as ModelResponse, ResponseCreateParamsNonStreaming, ResponseInputContent } from "openai/resources/responses/responses";
import { ChargenError } from "../core/errors.js";
import { OPENAI_KEY_ENV, requireKey } from "./credentials.js";
import { classify, headerGetter, networkCode, redact, retryAfterFromHeaders, type Failure } from "./http-errors.js";
import { costFromTokens, estimateImagePrice, pricesOf, type PriceTable } from "./prices.js";
import { OPENAI_REFERENCE_LIMIT } from "./openai-models.js";
import { promptText } from "./prompt-text.js";
import type { DataRequest, DataResult, ImageRequest, ImageResult, Provider, ProviderFactoryOptions, ProviderModule, Usage } from "./types.js";
import { parseAnswer } from "../model/read.js";

export interface OpenAIConfig {
  baseURL?: string;
  timeoutMs: number;
}

/** Rules options (`baseURL`, `timeoutMs`); OPENAI_BASE_URL wins over `baseURL`. */
export function readOpenAIConfig({ env, options }: ProviderFactoryOptions): OpenAIConfig {
  const timeout = options.timeoutMs ?? 300_000;
  if (typeof timeout !== "number" || !(timeout > 0)) throw new ChargenError("user", "openai provider: timeoutMs must be a positive number", { field: "timeoutMs" });
  const fromRules = options.baseURL;
  if (fromRules !== undefined && typeof fromRules !== "string") throw new ChargenError("user", "openai provider: baseURL must be a string", { field: "baseURL" });
  const baseURL = env.OPENAI_BASE_URL?.trim() || fromRules;
  return { ...(baseURL ? { baseURL } : {}), timeoutMs: timeout };
}

const LEGACY_QUALITY: Record<string, string> = { hd: "high", standard: "medium" };
type Quality = NonNullable<ImageGenerateParamsNonStreaming["quality"]>;

const EXTENSION: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif" };

export class OpenAIProvider implements Provider {
  readonly name = "openai";
  private client: { key: string; sdk: OpenAI } | undefined;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly config: OpenAIConfig,
    private readonly prices: PriceTable,
  ) {}

  async generate(request: ImageRequest): Promise<ImageResult> {
    const key = requireKey("openai", this.env, OPENAI_KEY_ENV);
    if (request.references.length > OPENAI_REFERENCE_LIMIT) {
      throw new ChargenError("target", `openai: at most ${OPENAI_REFERENCE_LIMIT} reference images per request, this target has ${request.references.length}`, {
        code: "TOO_MANY_REFERENCES",
      });
    }
    const sdk = this.sdk(key);
    const common = generationParams(request);
    const options = { signal: request.signal };
    try {
      let response: ImagesResponse;
      if (request.references.length === 0) {
        const params: ImageGenerateParamsNonStreaming = common;
        response = await sdk.images.generate(params, options);
      } else {
        const image = await Promise.all(
          request.references.map((r, i) => toFile(r.bytes, `reference-${i + 1}.${EXTENSION[r.mimeType] ?? "png"}`, { type: r.mimeType })),
        );
        // An array, even of one: the SDK sends it as repeated `image[]` parts.
        const params: ImageEditParamsNonStreaming = { ...common, quality: common.quality as ImageEditParamsNonStreaming["quality"], image };
        response = await sdk.images.edit(params, options);
      }
      return readImage(response, request, this.prices);
    } catch (e) {
      throw toChargenError(e, request.signal, key);
    }
  }

  async read(request: DataRequest): Promise<DataResult> {
    const key = requireKey("openai", this.env, OPENAI_KEY_ENV);
    try {
      const response = await this.sdk(key).responses.create(readParams(request), { signal: request.signal });
      return readData(response, request, this.prices);
    } catch (e) {
      throw toChargenError(e, request.signal, key);
    }
  }

  private sdk(key: string): OpenAI {
    if (this.client?.key !== key) {
      this.client = {
        key,
        sdk: new OpenAI({
          apiKey: key,
          // null means the public API; undefined would let the SDK read process.env itself.
          baseURL: this.config.baseURL ?? null,
          timeout: this.config.timeoutMs,
          maxRetries: 0,
          organization: this.env.OPENAI_ORG_ID ?? null,
          project: this.env.OPENAI_PROJECT_ID ?? null,
        }),
      };
    }
    return this.client.sdk;
  }
}

/** The JSON body of a generation (live, or one line of a batch) without reference images. */
export function generationParams(request: Omit<ImageRequest, "signal" | "references">) {
  return {
    model: request.model,
    prompt: promptText(request),
    n: 1,
    output_format: request.format,
    ...(request.size ? { size: `${request.size.width}x${request.size.height}` } : {}),
    ...(request.quality ? { quality: (LEGACY_QUALITY[request.quality] ?? request.quality) as Quality } : {}),
  };
}

export function readImage(response: ImagesResponse & { _request_id?: string | null }, request: Pick<ImageRequest, "model" | "format" | "size" | "quality">, prices: PriceTable): ImageResult {
  const first = response.data?.[0];
  if (!first?.b64_json) {
    throw new ChargenError("target", "openai: no image in the response", { code: "NO_IMAGE" });
  }
  const format = response.output_format === "png" || response.output_format === "jpeg" || response.output_format === "webp" ? response.output_format : request.format;
  const { usage, costUsd } = cost(response, request, prices);
  return {
    bytes: Buffer.from(first.b64_json, "base64"),
    mimeType: `image/${format}`,
    usage,
    ...(costUsd === undefined ? {} : { costUsd }),
    metadata: {
      provider: "openai",
      model: request.model,
      ...(response._request_id ? { requestId: response._request_id } : {}),
      ...(response.size ? { size: response.size } : {}),
      ...(response.quality ? { quality: response.quality } : {}),
      ...(first.revised_prompt ? { revisedPrompt: first.revised_prompt } : {}),
    },
  };
}

/** The usage's tokens priced by the table; the table's per-image estimate when there is no usage. */
function cost(response: ImagesResponse, request: Pick<ImageRequest, "model" | "format" | "size" | "quality">, prices: PriceTable): { usage: Usage; costUsd?: number } {
  const u = response.usage;
  if (u) {
    const imageInput = u.input_tokens_details?.image_tokens ?? 0;
    const textInput = u.input_tokens_details?.text_tokens ?? u.input_tokens - imageInput;
    const imageOutput = u.output_tokens_details?.image_tokens ?? u.output_tokens;
    const textOutput = u.output_tokens_details?.text_tokens ?? u.output_tokens - imageOutput;
    const usage: Usage = { inputTokens: u.input_tokens, outputTokens: u.output_tokens, imageTokens: imageOutput };
    const costUsd = costFromTokens("openai", request.model, { textInput, imageInput, textOutput, imageOutput }, prices);
    if (costUsd !== undefined) return { usage, costUsd };
  }
  const costUsd = estimateImagePrice(
    {
      provider: "openai",
      model: request.model,
      format: request.format,
      n: 1,
      ...(request.size ? { size: `${request.size.width}x${request.size.height}` } : {}),
      ...(request.quality ? { quality: LEGACY_QUALITY[request.quality] ?? request.quality } : {}),
    },
    prices,
  );
  return { usage: {}, ...(costUsd === undefined ? {} : { costUsd }) };
}

/**
 * The JSON body of a read (live, or one line of a batch): the instructions, one user message of
 * each text after its label and each image (a data URL) after a label saying what it is, and the
 * schema as a strict json_schema format.
 */
export function readParams(request: Omit<DataRequest, "signal">): ResponseCreateParamsNonStreaming {
  const content: ResponseInputContent[] = request.texts.map((t) => ({ type: "input_text", text: `${t.label}:\n\n${t.text}` }));
  for (const [i, image] of request.images.entries()) {
    content.push(
      { type: "input_text", text: `Image ${i + 1}: ${image.label ?? image.role}` },
      { type: "input_image", image_url: `data:${image.mimeType};base64,${Buffer.from(image.bytes).toString("base64")}`, detail: "auto" },
    );
  }
  return {
    model: request.model,
    instructions: request.instructions,
    input: [{ role: "user", content }],
    text: { format: { type: "json_schema", name: request.schema.name, schema: request.schema.schema, strict: true } },
    // Nothing kept on OpenAI's side: a read is not a conversation to continue.
    store: false,
  };
}

const MAX_TEXT = 300;
const clip = (s: string) => (s.length > MAX_TEXT ? `${s.slice(0, MAX_TEXT)}…` : s);
const targetError = (message: string, code: string) => new ChargenError("target", `openai: ${message}`, { code });
/** A failed response with these codes may succeed when sent again. */
const TRANSIENT = new Set(["server_error", "rate_limit_exceeded"]);

/**
 * A Responses API answer as JSON (the SDK's `output_text` is not in a batch result line, so the
 * text is read from the output messages); a failed, refused, incomplete, empty or non-JSON answer
 * is a typed failure.
 */
export function readData(response: ModelResponse & { _request_id?: string | null }, request: Pick<DataRequest, "model">, prices: PriceTable): DataResult {
  if (response.error) {
    const { code, message } = response.error;
    throw new ChargenError(TRANSIENT.has(code) ? "retryable" : "target", `openai: ${clip(message)} (${code})`, { code });
  }
  const content = (response.output ?? []).flatMap((item) => (item.type === "message" ? item.content : []));
  const refusal = content.map((c) => (c.type === "refusal" ? c.refusal : "")).join("");
  const text = content.map((c) => (c.type === "output_text" ? c.text : "")).join("").trim();
  if (refusal) throw targetError(`the model refused: "${clip(refusal)}"`, "REFUSAL");
  if (response.status === "incomplete") {
    const reason = response.incomplete_details?.reason ?? "unknown";
    throw targetError(`the answer is incomplete (${reason})${text ? `; the model said: "${clip(text)}"` : ""}`, reason);
  }
  const json = parseAnswer(text, targetError, clip);
  const u = response.usage;
  // Images are input tokens, counted in input_tokens; reasoning is billed as output.
  const costUsd = u ? costFromTokens("openai", request.model, { textInput: u.input_tokens, textOutput: u.output_tokens }, prices) : undefined;
  return {
    json,
    ...(u ? { usage: { inputTokens: u.input_tokens, outputTokens: u.output_tokens } } : {}),
    ...(costUsd === undefined ? {} : { costUsd }),
    metadata: {
      provider: "openai",
      model: response.model ?? request.model,
      responseId: response.id,
      ...(response._request_id ? { requestId: response._request_id } : {}),
      ...(response.status ? { status: response.status } : {}),
    },
  };
}

/** The SDK's error as a Failure. Checked most specific first: the timeout error is a connection error. */
export function openaiFailure(e: unknown): Failure | undefined {
  if (e instanceof APIUserAbortError) return undefined;
  if (e instanceof APIConnectionTimeoutError) return { provider: "openai", network: "timeout", message: e.message };
  if (e instanceof APIConnectionError) {
    const code = networkCode(e);
    return { provider: "openai", network: "connection", ...(code ? { code } : {}), message: e.message };
  }
  if (e instanceof APIError) {
    const body = e.error as { message?: unknown } | undefined;
    const retryAfterMs = retryAfterFromHeaders(headerGetter(e.headers), e.status);
    const code = e.code ?? e.type;
    return {
      provider: "openai",
      ...(e.status === undefined ? {} : { status: e.status }),
      ...(code ? { code } : {}),
      message: typeof body?.message === "string" ? body.message : e.message,
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      keyEnv: OPENAI_KEY_ENV,
    };
  }
  return undefined;
}

function toChargenError(e: unknown, signal: AbortSignal, key: string): ChargenError {
  if (e instanceof ChargenError) return e;
  if (signal.aborted || e instanceof APIUserAbortError) return new ChargenError("target", "openai: aborted", { code: "ABORTED" });
  const failure = openaiFailure(e);
  if (failure) return classify(failure, [key]);
  const message = e instanceof Error ? e.message : String(e);
  return new ChargenError("target", redact(`openai: ${message}`, [key]), { code: "UNEXPECTED" });
}

const openai: ProviderModule = {
  create: (options) => new OpenAIProvider(options.env, readOpenAIConfig(options), pricesOf(options)),
};

export default openai;
