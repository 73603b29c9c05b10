/**
 * What the fakes answer a structured-output request with, when no reply is scripted: the smallest
 * document valid under the request's JSON Schema (every property, one item per array, the first
 * enum value), so that a read through a real SDK against a fake yields a schema-valid answer.
 */
type Schema = { type?: string | string[]; properties?: Record<string, Schema>; items?: Schema; enum?: unknown[]; anyOf?: Schema[]; minItems?: number; minimum?: number; const?: unknown };

export function answerFor(schema: Schema | undefined, name = "value"): unknown {
  if (!schema) return null;
  if (schema.const !== undefined) return schema.const;
  if (schema.enum?.length) return schema.enum[0];
  if (schema.anyOf?.length) return answerFor(schema.anyOf[0], name);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "object":
      return Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, answerFor(s, k)]));
    case "array":
      return Array.from({ length: Math.max(1, schema.minItems ?? 0) }, () => answerFor(schema.items, name));
    case "string":
      return `fake ${name}`;
    case "integer":
    case "number":
      return schema.minimum ?? 1;
    case "boolean":
      return true;
    default:
      return null;
  }
}
