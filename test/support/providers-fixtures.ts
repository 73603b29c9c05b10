/** Requests, reference images and helpers shared by the provider tests. */
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { ChargenError } from "../../src/core/errors.js";
import type { DataRequest, ImageRequest, ReferenceImage } from "../../src/providers/types.js";
import { pngBytes } from "../fakes/fake-server.js";

/** Recognisable, so that a test can grep everything for it. */
export const FAKE_KEY = "sk-test-FAKEKEY-0123456789abcdef";

export const pngReference = (path = "refs/veyra.png", role = "character:veyra"): ReferenceImage => ({
  path,
  role,
  bytes: pngBytes(16, 16, 3),
  mimeType: "image/png",
});

export function jpegReference(path = "refs/harbour.jpg", role = "style"): ReferenceImage {
  const width = 16;
  const height = 16;
  const data = Buffer.alloc(width * height * 4, 200);
  return { path, role, bytes: jpeg.encode({ data, width, height }, 80).data, mimeType: "image/jpeg" };
}

export const request = (overrides: Partial<ImageRequest> = {}): ImageRequest => ({
  targetId: "chapters/lantern/portrait",
  key: "9f3ab27c41d0e8aa",
  prompt: "A weathered lighthouse keeper with a brass lantern",
  negativePrompt: "",
  model: "gpt-image-1.5",
  format: "png",
  references: [],
  signal: new AbortController().signal,
  ...overrides,
});

/** The schema of an image description, in the subset both providers' structured outputs take. */
export const DESCRIPTION_SCHEMA: DataRequest["schema"] = {
  name: "image_description",
  schema: {
    type: "object",
    properties: { title: { type: "string" }, alt_text: { type: "string" }, tags: { type: "array", items: { type: "string" } } },
    required: ["title", "alt_text", "tags"],
    additionalProperties: false,
  },
};

export const dataRequest = (overrides: Partial<DataRequest> = {}): DataRequest => ({
  targetId: "characters/veyra/images/portrait.analysis",
  key: "5be0c2d94a17f3e1",
  model: "gemini-2.5-flash",
  instructions: "Describe the image for the story's inventory.",
  texts: [{ label: "Profile of Veyra Thornwake", text: "A lighthouse keeper with a brass lantern." }],
  images: [{ ...pngReference(), label: "Veyra Thornwake: identity portrait" }],
  schema: DESCRIPTION_SCHEMA,
  signal: new AbortController().signal,
  ...overrides,
});

export const decodePng = (bytes: Uint8Array) => PNG.sync.read(Buffer.from(bytes));

/** The ChargenError a promise rejects with (fails the test when it resolves or throws something else). */
export async function rejection(promise: Promise<unknown>): Promise<ChargenError> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof ChargenError) return e;
    throw new Error(`expected a ChargenError, got ${String(e)}`);
  }
  throw new Error("expected a rejection, got a result");
}
