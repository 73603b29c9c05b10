/**
 * A fake OpenAI Image API under `/v1`: `images/generations` (JSON) and `images/edits`
 * (multipart), answering as GPT image models do (`b64_json` and `usage`), and the Responses API
 * (`POST /v1/responses`) answering a JSON-schema request with the next scripted reply, else a
 * document valid under its schema. Errors are OpenAI's
 * `{error: {message, type, param, code}}` with its rate-limit headers. With a validator, every
 * request is also checked against OpenAI's OpenAPI description (see steady.ts).
 */
import { FakeServer, json, pngBytes, type Dialect, type FakeOptions, type Fault, type LoggedRequest } from "./fake-server.js";
import { answerFor } from "./schema-answer.js";
import type { Validation, Validator } from "./steady.js";

export const OPENAI_OUTPUT_TOKENS = 4160;
/** Usage of a Responses API answer: input tokens per text part and per image; output with its reasoning. */
export const OPENAI_READ_TOKENS = { perText: 30, perImage: 600, output: 80, reasoning: 64 };

/** A scripted Responses API answer: its text, or a refusal, an incomplete answer, a failed response. */
export interface ReadReply {
  text?: string;
  refusal?: string;
  incomplete?: "max_output_tokens" | "content_filter";
  error?: { code: string; message: string };
}

export interface ResponsesBody {
  model?: string;
  input?: { content?: { type: string }[] }[];
  text?: { format?: { schema?: Record<string, unknown> } };
}

/** A Responses API object as the API returns it (no `output_text`: the SDK adds that). */
export function responseObject(body: ResponsesBody, served: number, reply: ReadReply | undefined) {
  const content = body.input?.[0]?.content ?? [];
  const images = content.filter((c) => c.type === "input_image").length;
  const { perText, perImage, output, reasoning } = OPENAI_READ_TOKENS;
  const input = perText * (content.length - images) + perImage * images;
  const text = reply?.text ?? JSON.stringify(answerFor(body.text?.format?.schema as never));
  const part = reply?.refusal ? { type: "refusal", refusal: reply.refusal } : { type: "output_text", text, annotations: [], logprobs: [] };
  return {
    id: `resp_fake_${served}`,
    object: "response",
    created_at: 1764460800,
    status: reply?.error ? "failed" : reply?.incomplete ? "incomplete" : "completed",
    error: reply?.error ?? null,
    incomplete_details: reply?.incomplete ? { reason: reply.incomplete } : null,
    model: body.model,
    output: reply?.error
      ? []
      : [
          { id: `rs_${served}`, type: "reasoning", summary: [] },
          { id: `msg_${served}`, type: "message", role: "assistant", status: reply?.incomplete ? "incomplete" : "completed", content: [part] },
        ],
    usage: {
      input_tokens: input,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: output + reasoning,
      output_tokens_details: { reasoning_tokens: reasoning },
      total_tokens: input + output + reasoning,
    },
  };
}

export interface OpenAIFake extends FakeServer {
  /** Validation results, one per request, in log order (empty without a validator). */
  readonly validations: Map<LoggedRequest, Validation>;
  /** Replies to the next Responses API requests, in order. */
  readonly readReplies: ReadReply[];
}

const error = (message: string, type: string, code: string | null, param: string | null = null) => ({ error: { message, type, param, code } });

function rateLimitHeaders(waitMs: number): Record<string, string> {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return {
    "retry-after": String(seconds),
    "retry-after-ms": String(Math.ceil(waitMs)),
    "x-ratelimit-limit-requests": "5",
    "x-ratelimit-remaining-requests": "0",
    "x-ratelimit-reset-requests": `${seconds}s`,
  };
}

export function dialect(validator: Validator | undefined, validations: Map<LoggedRequest, Validation>, readReplies: ReadReply[] = []): Dialect {
  let served = 0;
  return {
    counts: () => true,

    authorised({ req, res, entry }, fake) {
      if (validator) {
        // Validate before anything else, so that faulted requests are checked too.
        const pending = validator.validate(entry.method, entry.path, entry.headers["content-type"], entry.raw).then((v) => validations.set(entry, v));
        pendingValidations.add(pending);
        void pending.finally(() => pendingValidations.delete(pending));
      }
      if (req.headers.authorization === `Bearer ${fake.options.apiKey}`) return true;
      json(res, 401, error("Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", "invalid_api_key"));
      return false;
    },

    overLimit({ res }, waitMs) {
      json(res, 429, error("Rate limit reached for images per minute. Please try again later.", "requests", "rate_limit_exceeded"), rateLimitHeaders(waitMs));
    },

    fault({ res }, fault: Fault) {
      switch (fault.kind) {
        case "rate-limit":
          return json(res, 429, error("Rate limit reached for images per minute.", "requests", "rate_limit_exceeded"), rateLimitHeaders(fault.retryAfterMs ?? 12_000));
        case "status":
          return json(res, fault.status, error(fault.message ?? "The server had an error while processing your request. Sorry about that!", "server_error", null));
        case "safety":
          return json(
            res,
            400,
            error("Your request was rejected by the safety system. safety_violations=[violence].", "image_generation_user_error", "moderation_blocked"),
          );
        case "empty":
          return json(res, 200, { created: 1, data: [] });
        case "billing":
          return json(res, 400, error("Billing hard limit has been reached.", "billing_limit_user_error", "billing_hard_limit_reached"));
        case "quota":
          return json(
            res,
            429,
            error("You exceeded your current quota, please check your plan and billing details.", "insufficient_quota", "insufficient_quota"),
            rateLimitHeaders(1000),
          );
        case "drop":
          return;
      }
    },

    route({ req, res, url, entry }) {
      if (req.method === "POST" && url.pathname === "/v1/responses") {
        served++;
        json(res, 200, responseObject(entry.body as ResponsesBody, served, readReplies.shift()), { "x-request-id": `req_fake_${served}` });
        return true;
      }
      const generations = url.pathname === "/v1/images/generations";
      if (req.method !== "POST" || (!generations && url.pathname !== "/v1/images/edits")) return false;
      served++;
      const field = (name: string) =>
        generations ? (entry.body as Record<string, unknown> | undefined)?.[name] : entry.parts?.find((p) => p.name === name)?.value;
      const images = entry.parts?.filter((p) => p.name === "image[]" || p.name === "image").length ?? 0;
      const format = String(field("output_format") ?? "png");
      json(
        res,
        200,
        {
          created: Math.floor(Date.now() / 1000),
          data: [{ b64_json: pngBytes(64, 48, served).toString("base64") }],
          background: "opaque",
          output_format: format,
          quality: String(field("quality") ?? "medium"),
          size: String(field("size") ?? "1024x1024"),
          usage: {
            input_tokens: 30 + 323 * images,
            input_tokens_details: { text_tokens: 30, image_tokens: 323 * images },
            output_tokens: OPENAI_OUTPUT_TOKENS,
            total_tokens: 30 + 323 * images + OPENAI_OUTPUT_TOKENS,
          },
        },
        { "x-request-id": `req_fake_${served}` },
      );
      return true;
    },
  };
}

const pendingValidations = new Set<Promise<unknown>>();

/** Waits until every forwarded request has been validated. */
export async function settled(): Promise<void> {
  while (pendingValidations.size) await Promise.all([...pendingValidations]);
}

export async function startOpenAIFake(options: FakeOptions & { validator?: Validator }): Promise<OpenAIFake> {
  const validations = new Map<LoggedRequest, Validation>();
  const readReplies: ReadReply[] = [];
  const fake = (await new FakeServer(options, dialect(options.validator, validations, readReplies)).start()) as OpenAIFake;
  Object.assign(fake, { validations, readReplies });
  return fake;
}
