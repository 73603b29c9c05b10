/**
 * Cloudflare Workers AI text-to-image models over its REST API, with plain fetch:
 * `POST {base}/accounts/{account}/ai/run/{model}` with a JSON body and a bearer token.
 *
 * Plain fetch rather than the `cloudflare` SDK: one endpoint, a body per model, and answers in
 * two shapes (the image bytes for Stable Diffusion, `{result: {image: base64}}` for FLUX) that
 * the SDK would hand back as a raw Response anyway; the SDK's retries would also have to be
 * turned off for the hub's. The token (CLOUDFLARE_API_TOKEN) and the account id
 * (CLOUDFLARE_ACCOUNT_ID) are read at the first request; CLOUDFLARE_API_BASE_URL (or the rules'
 * `baseUrl`) points it elsewhere.
 */
import { ChargenError } from "../core/errors.js";
import { requireKey, WORKERS_AI_ACCOUNT_ENV, WORKERS_AI_TOKEN_ENV } from "./credentials.js";
import { classify, headerGetter, networkCode, redact, retryAfterFromHeaders, type Failure } from "./http-errors.js";
import { estimateImagePrice, pricesOf, type PriceTable } from "./prices.js";
import { promptText } from "./prompt-text.js";
import { toFormat } from "./transcode.js";
import { WORKERS_AI_ALIASES, WORKERS_AI_MODELS, type WorkersAiModel } from "./workers-ai-models.js";
import type { ImageRequest, ImageResult, Provider, ProviderFactoryOptions, ProviderModule } from "./types.js";

const PUBLIC_API = "https://api.cloudflare.com/client/v4";

export interface WorkersAiConfig {
  baseUrl: string;
  timeoutMs: number;
  /** Diffusion steps per model id, over each model's own default (more steps: slower, dearer, finer). */
  steps: Record<string, number>;
  /** Guidance per model id (how closely the image follows the prompt), over each model's own default. */
  guidance: Record<string, number>;
}

/** Rules options (`baseUrl`, `timeoutMs`, `steps`, `guidance`); CLOUDFLARE_API_BASE_URL wins over `baseUrl`. */
export function readWorkersAiConfig({ env, options }: ProviderFactoryOptions): WorkersAiConfig {
  const fail = (field: string, want: string): never => {
    throw new ChargenError("user", `workers-ai provider: ${field} must be ${want}`, { field });
  };
  const timeout = options.timeoutMs ?? 120_000;
  if (typeof timeout !== "number" || !(timeout > 0)) fail("timeoutMs", "a positive number");
  const fromRules = options.baseUrl;
  if (fromRules !== undefined && typeof fromRules !== "string") fail("baseUrl", "a string");
  const perModel = (field: string): Record<string, number> => {
    const v = options[field] ?? {};
    if (typeof v !== "object" || Array.isArray(v) || !Object.values(v as object).every((n) => typeof n === "number" && n > 0)) {
      fail(field, "a map of model id to a positive number");
    }
    return v as Record<string, number>;
  };
  const baseUrl = env.CLOUDFLARE_API_BASE_URL?.trim() || (fromRules as string | undefined) || PUBLIC_API;
  return { baseUrl: baseUrl.replace(/\/+$/, ""), timeoutMs: timeout as number, steps: perModel("steps"), guidance: perModel("guidance") };
}

interface CloudflareEnvelope {
  success?: boolean;
  result?: { image?: unknown } | null;
  errors?: { code?: number; message?: string }[];
}

/** Cloudflare's "you have used up your daily free allocation of 10,000 neurons": no retry today helps. */
const DAILY_ALLOCATION_USED = 4006;

export class WorkersAiProvider implements Provider {
  readonly name = "workers-ai";

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly config: WorkersAiConfig,
    private readonly prices: PriceTable,
  ) {}

  async generate(request: ImageRequest): Promise<ImageResult> {
    const token = requireKey("workers-ai", this.env, WORKERS_AI_TOKEN_ENV);
    const account = requireKey("workers-ai", this.env, WORKERS_AI_ACCOUNT_ENV);
    const model = WORKERS_AI_ALIASES[request.model] ?? request.model;
    const spec = WORKERS_AI_MODELS[model];
    if (!spec) throw new ChargenError("target", `workers-ai: ${model} is not a text-to-image model chargen knows`, { code: "UNKNOWN_MODEL" });
    const body = this.body(request, model, spec);
    const length = (body.prompt as string).length;
    if (spec.maxPrompt && length > spec.maxPrompt) {
      // Refused here rather than by the API: a request known to fail is never sent.
      throw new ChargenError("target", `workers-ai: the prompt is ${length} characters and ${model} takes at most ${spec.maxPrompt}; shorten it or choose another model`, {
        code: "PROMPT_TOO_LONG",
      });
    }
    const url = `${this.config.baseUrl}/accounts/${encodeURIComponent(account)}/ai/run/${model}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.any([request.signal, AbortSignal.timeout(this.config.timeoutMs)]),
      });
    } catch (e) {
      throw toChargenError(e, request.signal, [token, account]);
    }
    const bytes = new Uint8Array(await response.arrayBuffer().catch(() => new ArrayBuffer(0)));
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok) throw classify(failureOf(response, bytes), [token, account]);
    return this.imageResult(bytes, type, request, model, spec);
  }

  /** The model's own fields: a negative prompt where it takes one (else in the text), size, steps, guidance, seed. */
  private body(request: ImageRequest, model: string, spec: WorkersAiModel): Record<string, unknown> {
    const steps = this.config.steps[model];
    const guidance = this.config.guidance[model];
    const seed = request.generation?.seed;
    return {
      prompt: spec.negativePrompt ? request.prompt : promptText(request),
      ...(spec.negativePrompt && request.negativePrompt.trim() ? { negative_prompt: request.negativePrompt } : {}),
      ...(spec.size && request.size ? { width: request.size.width, height: request.size.height } : {}),
      ...(steps ? { [spec.stepsField]: steps } : {}),
      ...(spec.guidance && guidance ? { guidance } : {}),
      ...(seed === undefined ? {} : { seed }),
    };
  }

  private imageResult(bytes: Uint8Array, type: string, request: ImageRequest, model: string, spec: WorkersAiModel): ImageResult {
    let image: Uint8Array;
    let mimeType: string = spec.mimeType;
    if (type.startsWith("image/")) {
      image = bytes;
      mimeType = type.split(";")[0]!.trim();
    } else {
      const body = parseEnvelope(bytes);
      const b64 = body?.result?.image;
      if (typeof b64 !== "string" || !b64) throw new ChargenError("target", "workers-ai: no image in the response", { code: "NO_IMAGE" });
      image = Buffer.from(b64, "base64");
    }
    if (!image.byteLength) throw new ChargenError("target", "workers-ai: an empty image in the response", { code: "NO_IMAGE" });
    const converted = toFormat(image, mimeType, request.format);
    const costUsd = estimateImagePrice(
      { provider: "workers-ai", model, format: request.format, n: 1, ...(request.size ? { size: `${request.size.width}x${request.size.height}` } : {}) },
      this.prices,
    );
    return {
      bytes: converted.bytes,
      mimeType: converted.mimeType,
      ...(costUsd === undefined ? {} : { costUsd }),
      metadata: { provider: "workers-ai", model, ...(request.generation?.seed === undefined ? {} : { seed: request.generation.seed }) },
    };
  }
}

function parseEnvelope(bytes: Uint8Array): CloudflareEnvelope | undefined {
  try {
    return JSON.parse(Buffer.from(bytes).toString("utf8")) as CloudflareEnvelope;
  } catch {
    return undefined;
  }
}

/** An error answer as a Failure: Cloudflare's `{success: false, errors: [{code, message}]}` envelope. */
export function failureOf(response: Pick<Response, "status" | "headers">, bytes: Uint8Array): Failure {
  const body = parseEnvelope(bytes);
  const first = body?.errors?.[0];
  const code = first?.code;
  const retryAfterMs = retryAfterFromHeaders(headerGetter(response.headers), response.status);
  const stop = code === DAILY_ALLOCATION_USED;
  const text = Buffer.from(bytes).toString("utf8");
  return {
    provider: "workers-ai",
    status: response.status,
    ...(code === undefined ? {} : { code: String(code) }),
    message: first?.message ?? (text.trim() || `HTTP ${response.status}`),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(stop ? { stopProvider: true, reason: "the account's daily free allocation of neurons is used up: upgrade to Workers Paid, or wait for tomorrow's" } : {}),
    keyEnv: WORKERS_AI_TOKEN_ENV,
  };
}

function toChargenError(e: unknown, signal: AbortSignal, secrets: string[]): ChargenError {
  if (e instanceof ChargenError) return e;
  if (signal.aborted) return new ChargenError("target", "workers-ai: aborted", { code: "ABORTED" });
  const name = (e as { name?: unknown } | null)?.name;
  const message = e instanceof Error ? e.message : String(e);
  if (name === "TimeoutError") return classify({ provider: "workers-ai", network: "timeout", message }, secrets);
  const code = networkCode(e);
  if (code || (e instanceof TypeError && /fetch failed/i.test(message))) {
    return classify({ provider: "workers-ai", network: "connection", ...(code ? { code } : {}), message }, secrets);
  }
  return new ChargenError("target", redact(`workers-ai: ${message}`, secrets), { code: "UNEXPECTED" });
}

const workersAi: ProviderModule = {
  create: (options) => new WorkersAiProvider(options.env, readWorkersAiConfig(options), pricesOf(options)),
};

export default workersAi;
