/**
 * A fake OpenAI Image API under `/v1`: `images/generations` (JSON) and `images/edits`
 * (multipart), answering as GPT image models do (`b64_json` and `usage`). Errors are OpenAI's
 * `{error: {message, type, param, code}}` with its rate-limit headers. With a validator, every
 * request is also checked against OpenAI's OpenAPI description (see steady.ts).
 */
import { FakeServer, json, pngBytes, type Dialect, type FakeOptions, type Fault, type LoggedRequest } from "./fake-server.js";
import type { Validation, Validator } from "./steady.js";

export const OPENAI_OUTPUT_TOKENS = 4160;

export interface OpenAIFake extends FakeServer {
  /** Validation results, one per request, in log order (empty without a validator). */
  readonly validations: Map<LoggedRequest, Validation>;
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

export function dialect(validator: Validator | undefined, validations: Map<LoggedRequest, Validation>): Dialect {
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
  const fake = (await new FakeServer(options, dialect(options.validator, validations)).start()) as OpenAIFake;
  Object.assign(fake, { validations });
  return fake;
}
