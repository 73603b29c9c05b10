/**
 * A fake Gemini API speaking the wire format @google/genai uses (the shapes of js-genai's
 * recorded image-output exchanges): `POST /{v1,v1beta}/models/{model}:generateContent` and the
 * Files API's resumable upload. A request for a JSON answer (`responseMimeType:
 * "application/json"`) gets the next scripted reply, else a document valid under its schema. Errors are google.rpc error bodies; a 429 carries RetryInfo in
 * the body (Gemini sends no Retry-After header).
 */
import { FakeServer, json, pngBytes, type Dialect, type Exchange, type FakeOptions, type Fault } from "./fake-server.js";
import { answerFor } from "./schema-answer.js";

export const GEMINI_IMAGE_TOKENS = 1290;
/** Usage of a JSON answer: prompt tokens per text part and per image, thinking, and the answer's own tokens. */
export const GEMINI_READ_TOKENS = { perText: 40, perImage: 258, thoughts: 25, answer: 60 };

/** A scripted answer to a JSON request: its text and how the candidate ended. */
export interface ReadReply {
  text: string;
  finishReason?: string;
}

export interface Upload {
  id: string;
  mimeType: string;
  displayName?: string;
  bytes?: Buffer;
}

export interface GeminiFake extends FakeServer {
  readonly uploads: Map<string, Upload>;
  /** The generateContent calls in the log. */
  generations(): FakeServer["log"];
  /** Replies to the next JSON requests, in order. */
  readonly readReplies: ReadReply[];
}

interface SentPart {
  text?: string;
  inlineData?: unknown;
  fileData?: unknown;
}
export interface SentBody {
  contents?: { parts?: SentPart[] }[];
  generationConfig?: { responseMimeType?: string; responseJsonSchema?: Record<string, unknown> };
}

/** The answer to a JSON request, with usage that tells texts, images and thinking apart. */
export function readAnswer(body: SentBody, model: string, served: number, reply: ReadReply | undefined) {
  const parts = body.contents?.[0]?.parts ?? [];
  const images = parts.filter((p) => p.inlineData || p.fileData).length;
  const texts = parts.length - images;
  const text = reply?.text ?? JSON.stringify(answerFor(body.generationConfig?.responseJsonSchema as never));
  const { perText, perImage, thoughts, answer } = GEMINI_READ_TOKENS;
  return {
    candidates: [
      {
        content: { role: "model", parts: [{ text: "Reading the inputs.", thought: true }, { text }] },
        finishReason: reply?.finishReason ?? "STOP",
        index: 0,
      },
    ],
    usageMetadata: {
      promptTokenCount: perText * texts + perImage * images,
      candidatesTokenCount: answer,
      thoughtsTokenCount: thoughts,
      totalTokenCount: perText * texts + perImage * images + answer + thoughts,
      promptTokensDetails: [{ modality: "TEXT", tokenCount: perText * texts }, ...(images ? [{ modality: "IMAGE", tokenCount: perImage * images }] : [])],
    },
    modelVersion: model,
    responseId: `fake-${served}`,
  };
}

const rpcError = (code: number, status: string, message: string, details: unknown[] = []) => ({ error: { code, message, status, details } });

const retryInfo = (ms: number) => ({ "@type": "type.googleapis.com/google.rpc.RetryInfo", retryDelay: `${Math.max(1, Math.ceil(ms / 1000))}s` });

const quotaFailure = (quotaId: string) => ({
  "@type": "type.googleapis.com/google.rpc.QuotaFailure",
  violations: [{ quotaMetric: "generativelanguage.googleapis.com/generate_content_paid_tier_requests", quotaId }],
});

export function dialect(uploads: Map<string, Upload>, readReplies: ReadReply[] = []): Dialect {
  let served = 0;
  return {
    counts: (x) => !x.url.pathname.startsWith("/upload/"),

    authorised({ req, res }, fake) {
      if (req.headers["x-goog-api-key"] === fake.options.apiKey) return true;
      json(
        res,
        400,
        rpcError(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", [
          { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "API_KEY_INVALID", domain: "googleapis.com" },
        ]),
      );
      return false;
    },

    overLimit({ res }, waitMs) {
      json(
        res,
        429,
        rpcError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.", [
          quotaFailure("GenerateRequestsPerMinutePerProjectPerModel"),
          retryInfo(waitMs),
        ]),
      );
    },

    fault({ res }, fault: Fault) {
      switch (fault.kind) {
        case "rate-limit":
          return json(
            res,
            429,
            rpcError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.", [
              quotaFailure("GenerateRequestsPerMinutePerProjectPerModel"),
              retryInfo(fault.retryAfterMs ?? 47_000),
            ]),
          );
        case "status":
          return json(res, fault.status, rpcError(fault.status, fault.status === 503 ? "UNAVAILABLE" : "INTERNAL", "The model is overloaded. Please try again later."));
        case "safety":
          return fault.where === "prompt"
            ? json(res, 200, { promptFeedback: { blockReason: "SAFETY" }, usageMetadata: { promptTokenCount: 12, totalTokenCount: 12 } })
            : json(res, 200, { candidates: [{ content: { role: "model", parts: [] }, finishReason: "IMAGE_SAFETY", index: 0 }] });
        case "empty":
          return json(res, 200, {
            candidates: [{ content: { role: "model", parts: [{ text: "I can describe the scene, but here is no picture." }] }, finishReason: "STOP", index: 0 }],
          });
        case "billing":
        case "quota":
          return json(
            res,
            429,
            rpcError(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota, please check your plan and billing details.", [
              quotaFailure("GenerateRequestsPerDayPerProjectPerModel"),
              retryInfo(30_000),
            ]),
          );
        case "drop":
          return;
      }
    },

    async route(x: Exchange, fake) {
      const { req, res, url, entry } = x;
      const generate = /^\/(v1|v1beta)\/models\/([^/:]+):generateContent$/.exec(url.pathname);
      if (req.method === "POST" && generate) {
        served++;
        const model = decodeURIComponent(generate[2]!);
        const body = entry.body as SentBody | undefined;
        if (body?.generationConfig?.responseMimeType === "application/json") return json(res, 200, readAnswer(body, model, served, readReplies.shift())), true;
        const refs = (body?.contents?.[0]?.parts ?? []).filter((p) => p.inlineData || p.fileData).length;
        return (
          json(res, 200, {
            candidates: [
              {
                content: {
                  role: "model",
                  parts: [
                    // Gemini 3 models show their thinking, images included: a client must skip these.
                    { text: "Planning the composition.", thought: true },
                    { inlineData: { mimeType: "image/png", data: pngBytes(8, 8, 99).toString("base64") }, thought: true },
                    { inlineData: { mimeType: "image/png", data: pngBytes(64, 48, served).toString("base64") } },
                  ],
                },
                finishReason: "STOP",
                index: 0,
              },
            ],
            usageMetadata: {
              promptTokenCount: 20 + 258 * refs,
              candidatesTokenCount: GEMINI_IMAGE_TOKENS,
              totalTokenCount: 20 + 258 * refs + GEMINI_IMAGE_TOKENS,
              promptTokensDetails: [{ modality: "TEXT", tokenCount: 20 }, ...(refs ? [{ modality: "IMAGE", tokenCount: 258 * refs }] : [])],
              candidatesTokensDetails: [{ modality: "IMAGE", tokenCount: GEMINI_IMAGE_TOKENS }],
            },
            modelVersion: model,
            responseId: `fake-${served}`,
          }),
          true
        );
      }
      const upload = /^\/upload\/(v1|v1beta)\/files$/.exec(url.pathname);
      if (req.method === "POST" && upload) {
        const command = String(req.headers["x-goog-upload-command"] ?? "");
        if (command === "start") {
          const id = `f${uploads.size + 1}`;
          const file = (entry.body as { file?: { mimeType?: string; displayName?: string } } | undefined)?.file;
          uploads.set(id, { id, mimeType: file?.mimeType ?? String(req.headers["x-goog-upload-header-content-type"]), ...(file?.displayName ? { displayName: file.displayName } : {}) });
          res.writeHead(200, {
            "x-goog-upload-url": `${fake.url}/upload/${upload[1]}/files?upload_id=${id}&upload_protocol=resumable`,
            "x-goog-upload-status": "active",
            "content-type": "application/json",
          });
          res.end("{}");
          return true;
        }
        const u = uploads.get(url.searchParams.get("upload_id") ?? "");
        if (!u || !command.includes("upload")) return json(res, 400, rpcError(400, "INVALID_ARGUMENT", "bad upload")), true;
        // The SDK sends files over 8 MiB in chunks: every one but the last says "upload" alone.
        u.bytes = u.bytes ? Buffer.concat([u.bytes, entry.raw]) : entry.raw;
        if (!command.includes("finalize")) {
          res.writeHead(200, { "x-goog-upload-status": "active", "content-type": "application/json" });
          res.end("{}");
          return true;
        }
        json(
          res,
          200,
          {
            file: {
              name: `files/${u.id}`,
              ...(u.displayName ? { displayName: u.displayName } : {}),
              mimeType: u.mimeType,
              sizeBytes: String(u.bytes.length),
              uri: `${fake.url}/${upload[1]}/files/${u.id}`,
              state: "ACTIVE",
            },
          },
          { "x-goog-upload-status": "final" },
        );
        return true;
      }
      return false;
    },
  };
}

export async function startGeminiFake(options: FakeOptions): Promise<GeminiFake> {
  const uploads = new Map<string, Upload>();
  const readReplies: ReadReply[] = [];
  const fake = (await new FakeServer(options, dialect(uploads, readReplies)).start()) as GeminiFake;
  Object.assign(fake, {
    uploads,
    readReplies,
    generations: () => fake.log.filter((e) => e.path.endsWith(":generateContent")),
  });
  return fake;
}
