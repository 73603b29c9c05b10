import { afterEach, beforeEach, describe, expect, it } from "vitest";
import google from "../src/providers/google.js";
import type { Provider } from "../src/providers/types.js";
import { GEMINI_READ_TOKENS, startGeminiFake, type GeminiFake } from "./fakes/gemini-fake.js";
import { DESCRIPTION_SCHEMA, FAKE_KEY, dataRequest, jpegReference, rejection } from "./support/providers-fixtures.js";

let fake: GeminiFake;

beforeEach(async () => {
  fake = await startGeminiFake({ apiKey: FAKE_KEY });
});
afterEach(async () => {
  await fake.stop();
});

const env = (): NodeJS.ProcessEnv => ({ GEMINI_API_KEY: FAKE_KEY, GOOGLE_GEMINI_BASE_URL: fake.url });
const provider = (options: Record<string, unknown> = {}): Provider => google.create({ env: env(), options });

interface SentBody {
  systemInstruction: unknown;
  contents: { role: string; parts: { text?: string; inlineData?: { mimeType: string; data: string }; fileData?: { fileUri: string } }[] }[];
  generationConfig: Record<string, unknown>;
}

const { perText, perImage, thoughts, answer } = GEMINI_READ_TOKENS;

describe("google read() against the fake, through the real SDK", () => {
  it("sends the instructions as the system instruction, labelled texts then labelled images, and a JSON schema; parses the answer", async () => {
    const request = dataRequest({ images: [{ ...dataRequest().images[0]!, label: "Veyra Thornwake: identity portrait" }, jpegReference()], mediaResolution: "low" });
    const result = await provider().read!(request);

    expect(result.json).toEqual({ title: "fake title", alt_text: "fake alt_text", tags: ["fake tags"] });
    const [sent] = fake.log;
    expect(fake.log).toHaveLength(1);
    expect(sent!.path).toBe("/v1beta/models/gemini-2.5-flash:generateContent");
    expect(sent!.headers["x-goog-api-key"]).toBe(FAKE_KEY);
    const body = sent!.body as SentBody;
    expect(body.systemInstruction).toEqual({ role: "user", parts: [{ text: "Describe the image for the story's inventory." }] });
    expect(body.generationConfig).toEqual({ responseMimeType: "application/json", responseJsonSchema: DESCRIPTION_SCHEMA.schema, mediaResolution: "MEDIA_RESOLUTION_LOW" });
    const parts = body.contents[0]!.parts;
    expect(body.contents[0]!.role).toBe("user");
    expect(parts.map((p) => p.text ?? p.inlineData?.mimeType)).toEqual([
      "Profile of Veyra Thornwake:\n\nA lighthouse keeper with a brass lantern.",
      "Image 1: Veyra Thornwake: identity portrait",
      "image/png",
      "Image 2: style",
      "image/jpeg",
    ]);
    expect(Buffer.from(parts[2]!.inlineData!.data, "base64").equals(Buffer.from(request.images[0]!.bytes))).toBe(true);
    expect(Buffer.from(parts[4]!.inlineData!.data, "base64").equals(Buffer.from(request.images[1]!.bytes))).toBe(true);

    // Thinking is billed as output; images are input tokens at gemini-2.5-flash's input rate.
    const input = perText * 3 + perImage * 2;
    expect(result.usage).toEqual({ inputTokens: input, outputTokens: answer + thoughts, imageTokens: perImage * 2 });
    expect(result.costUsd).toBeCloseTo((input * 0.3 + (answer + thoughts) * 2.5) / 1e6, 6);
    expect(result.metadata).toEqual({ provider: "google", model: "gemini-2.5-flash", responseId: "fake-1", finishReason: "STOP" });
  });

  it("sends no media resolution when the request names none, and large images through the Files API", async () => {
    await provider({ inlineLimitBytes: 10 }).read!(dataRequest());
    const body = fake.generations()[0]!.body as SentBody;
    expect(body.generationConfig).not.toHaveProperty("mediaResolution");
    expect(fake.uploads.size).toBe(1);
    expect(body.contents[0]!.parts[2]!.fileData?.fileUri).toBe(`${fake.url}/v1beta/files/f1`);
  });

  it("fails the target, typed, on an answer that is not JSON, quoting it clipped", async () => {
    fake.readReplies.push({ text: `Here is the description: ${"x".repeat(400)}` });
    const e = await rejection(provider().read!(dataRequest()));
    expect(e.kind).toBe("target");
    expect(e.details.code).toBe("NOT_JSON");
    expect(e.message).toContain('the answer is not JSON: "Here is the description: xxx');
    expect(e.message.length).toBeLessThan(400);
  });

  it("fails the target on an empty answer, a cut-off answer and a safety stop, each with its own code", async () => {
    fake.readReplies.push({ text: "" }, { text: '{"title": "The lan', finishReason: "MAX_TOKENS" }, { text: "", finishReason: "SAFETY" });
    const empty = await rejection(provider().read!(dataRequest()));
    const cut = await rejection(provider().read!(dataRequest()));
    const safety = await rejection(provider().read!(dataRequest()));
    expect([empty, cut, safety].map((e) => [e.kind, e.details.code])).toEqual([
      ["target", "EMPTY_ANSWER"],
      ["target", "MAX_TOKENS"],
      ["target", "SAFETY"],
    ]);
    expect(cut.message).toContain('the model said: "{"title": "The lan"');
  });

  it("fails the target on a blocked prompt, and maps HTTP failures as generate does, never showing the key", async () => {
    fake.inject({ kind: "safety", where: "prompt" }, { kind: "rate-limit", retryAfterMs: 3000 }, { kind: "status", status: 500, message: `bad key ${FAKE_KEY}` });
    const blocked = await rejection(provider().read!(dataRequest()));
    expect([blocked.kind, blocked.details.code]).toEqual(["target", "SAFETY"]);
    const limited = await rejection(provider().read!(dataRequest()));
    expect([limited.kind, limited.details.retryAfterMs]).toEqual(["retryable", 3000]);
    const server = await rejection(provider().read!(dataRequest()));
    expect(server.kind).toBe("retryable");
    expect(server.message).not.toContain(FAKE_KEY);
  });

  it("prices a Gemini 3 read by its own rates", async () => {
    const result = await provider().read!(dataRequest({ model: "gemini-3-pro-preview", texts: [] }));
    // One image after its label: no other text.
    expect(result.costUsd).toBeCloseTo(((perText + perImage) * 2 + (answer + thoughts) * 12) / 1e6, 6);
  });
});
