import { z } from "zod";
import { ChargenError } from "../core/errors.js";
import { canonicalJson } from "../core/hash.js";
import { part, type PromptIR } from "./prompt-ir.js";
import type { JsonValue, ReadPart } from "./target.js";

/**
 * A data target's read part as a Prompt IR: instructions, schema, media resolution and each text
 * are parts of their own, so that the key hashes them and `--explain` names what changed
 * ("instructions changed", "text Profile of Nell Farrow changed"); the instructions' version is
 * the compiler's.
 */
export function readPrompt(read: ReadPart): PromptIR {
  return {
    compiler: `read/${read.version}`,
    parts: [
      ...part("instructions", read.instructions),
      { role: "schema", text: canonicalJson(read.schema) },
      ...(read.mediaResolution ? [{ role: "media-resolution", text: read.mediaResolution }] : []),
      ...read.texts.flatMap((t) => part(`text:${t.label}`, t.text)),
    ],
    negative: [],
  };
}

/** Where a data target's answer is said to go: no file (it goes into the YAML); unique, and no image's name. */
export const dataOutput = (id: string): string => `answer:${id}`;

/**
 * A model's answer text as JSON; an empty or non-JSON answer is the target's failure, made by the
 * provider's `fail` (which names the provider) and quoting the text through its `clip`.
 */
export function parseAnswer(text: string, fail: (message: string, code: string) => ChargenError, clip: (text: string) => string): JsonValue {
  if (!text) throw fail("the answer is empty", "EMPTY_ANSWER");
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw fail(`the answer is not JSON: "${clip(text)}"`, "NOT_JSON");
  }
}

/** The error code of an answer that does not match its schema: the target fails, nothing is recorded. */
export const BAD_ANSWER = "BAD_ANSWER";

const validators = new Map<string, z.ZodType>();

/**
 * `json` checked against a read's schema, as the bytes to store; a mismatch is a target error
 * quoting the answer (clipped), so that it is recorded nowhere and never applied.
 */
export function checkedAnswer(schema: ReadPart["schema"], json: JsonValue): Uint8Array {
  const text = canonicalJson(schema);
  let validator = validators.get(text);
  if (!validator) validators.set(text, (validator = z.fromJSONSchema(schema.schema as Parameters<typeof z.fromJSONSchema>[0])));
  const result = validator.safeParse(json);
  const serialised = JSON.stringify(json) ?? "undefined";
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const where = issue.path.length ? issue.path.join(".") : "the answer";
    const clipped = serialised.length > 200 ? `${serialised.slice(0, 200)}…` : serialised;
    throw new ChargenError("target", `answer does not match schema ${schema.name}: ${where}: ${issue.message}; it said ${clipped}`, { code: BAD_ANSWER });
  }
  return new TextEncoder().encode(serialised);
}
