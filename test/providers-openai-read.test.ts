import { afterEach, beforeEach, describe, expect, it } from "vitest";
import openai from "../src/providers/openai.js";
import type { Provider } from "../src/providers/types.js";
import { OPENAI_READ_TOKENS, startOpenAIFake, type OpenAIFake } from "./fakes/openai-fake.js";
import { DESCRIPTION_SCHEMA, FAKE_KEY, dataRequest, jpegReference, rejection } from "./support/providers-fixtures.js";

let fake: OpenAIFake;

beforeEach(async () => {
  fake = await startOpenAIFake({ apiKey: FAKE_KEY });
});
afterEach(async () => {
  await fake.stop();
});

const provider = (): Provider => openai.create({ env: { OPENAI_API_KEY: FAKE_KEY, OPENAI_BASE_URL: `${fake.url}/v1` }, options: {} });
const gpt = (overrides: Parameters<typeof dataRequest>[0] = {}) => dataRequest({ model: "gpt-5-mini", ...overrides });
const { perText, perImage, output, reasoning } = OPENAI_READ_TOKENS;

describe("openai read() against the fake, through the real SDK (Responses API)", () => {
  it("sends the instructions, one user message of labelled texts and data-URL images in order, and a strict JSON schema; parses the answer", async () => {
    const request = gpt({ images: [dataRequest().images[0]!, jpegReference()] });
    const result = await provider().read!(request);

    expect(result.json).toEqual({ title: "fake title", alt_text: "fake alt_text", tags: ["fake tags"] });
    expect(fake.log).toHaveLength(1);
    const [sent] = fake.log;
    expect(sent!.method).toBe("POST");
    expect(sent!.path).toBe("/v1/responses");
    expect(sent!.headers.authorization).toBe(`Bearer ${FAKE_KEY}`);
    const dataUrl = (bytes: Uint8Array, type: string) => `data:${type};base64,${Buffer.from(bytes).toString("base64")}`;
    expect(sent!.body).toEqual({
      model: "gpt-5-mini",
      instructions: "Describe the image for the story's inventory.",
      input: [
        {
          role: "user",
          content: [
            { type: "input_text", text: "Profile of Veyra Thornwake:\n\nA lighthouse keeper with a brass lantern." },
            { type: "input_text", text: "Image 1: Veyra Thornwake: identity portrait" },
            { type: "input_image", image_url: dataUrl(request.images[0]!.bytes, "image/png"), detail: "auto" },
            { type: "input_text", text: "Image 2: style" },
            { type: "input_image", image_url: dataUrl(request.images[1]!.bytes, "image/jpeg"), detail: "auto" },
          ],
        },
      ],
      text: { format: { type: "json_schema", name: "image_description", schema: DESCRIPTION_SCHEMA.schema, strict: true } },
      store: false,
    });

    // Images are input tokens; reasoning is output: gpt-5-mini at $0.25 / $2 per million.
    const input = perText * 3 + perImage * 2;
    expect(result.usage).toEqual({ inputTokens: input, outputTokens: output + reasoning });
    expect(result.costUsd).toBeCloseTo((input * 0.25 + (output + reasoning) * 2) / 1e6, 6);
    expect(result.metadata).toEqual({ provider: "openai", model: "gpt-5-mini", responseId: "resp_fake_1", requestId: "req_fake_1", status: "completed" });
  });

  it("fails the target, typed, on a refusal, an incomplete answer, an empty answer and one that is not JSON", async () => {
    fake.readReplies.push(
      { refusal: "I can't help with that." },
      { text: '{"title": "The lan', incomplete: "max_output_tokens" },
      { text: "" },
      { text: "A lighthouse keeper, seen from the harbour." },
    );
    const errors = [];
    for (let i = 0; i < 4; i++) errors.push(await rejection(provider().read!(gpt())));
    expect(errors.map((e) => [e.kind, e.details.code])).toEqual([
      ["target", "REFUSAL"],
      ["target", "max_output_tokens"],
      ["target", "EMPTY_ANSWER"],
      ["target", "NOT_JSON"],
    ]);
    expect(errors[0]!.message).toContain('"I can\'t help with that."');
    expect(errors[3]!.message).toContain('"A lighthouse keeper, seen from the harbour."');
  });

  it("retries a response that failed on the server, fails the target on one that failed on its input", async () => {
    fake.readReplies.push({ error: { code: "server_error", message: "The server had an error." } }, { error: { code: "invalid_image", message: "Invalid image." } });
    const server = await rejection(provider().read!(gpt()));
    const image = await rejection(provider().read!(gpt()));
    expect([server.kind, server.details.code]).toEqual(["retryable", "server_error"]);
    expect([image.kind, image.details.code]).toEqual(["target", "invalid_image"]);
  });

  it("maps HTTP failures as generate does, never showing the key", async () => {
    fake.inject({ kind: "rate-limit", retryAfterMs: 2000 }, { kind: "billing" }, { kind: "status", status: 500, message: `key ${FAKE_KEY} broke it` });
    const limited = await rejection(provider().read!(gpt()));
    expect([limited.kind, limited.details.retryAfterMs]).toEqual(["retryable", 2000]);
    const billing = await rejection(provider().read!(gpt()));
    expect(billing.kind).toBe("provider");
    const server = await rejection(provider().read!(gpt()));
    expect(server.kind).toBe("retryable");
    expect(server.message).not.toContain(FAKE_KEY);
  });
});
