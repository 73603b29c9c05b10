import { z } from "zod";
import { dataOutput, readPrompt } from "../model/read.js";
import type { JsonValue, ReadPart, ReferenceInput, SourceLocation, TargetSpec } from "../model/target.js";

/** The JSON Schema providers are held to, from one zod definition (without `$schema`, which neither takes). */
export function answerSchema(name: string, schema: z.ZodType): ReadPart["schema"] {
  const { $schema: _, ...json } = z.toJSONSchema(schema) as Record<string, JsonValue>;
  return { name, schema: json };
}

/** A data target of a rule: its prompt is its read part, its output no file. */
export function dataTarget(t: { id: string; rule: string; source: SourceLocation; read: ReadPart; images: ReferenceInput[]; writeBack: JsonValue }): TargetSpec {
  return { id: t.id, rule: t.rule, source: t.source, prompt: readPrompt(t.read), references: t.images, requested: {}, output: dataOutput(t.id), read: t.read, writeBack: t.writeBack };
}
