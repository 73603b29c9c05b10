/**
 * The placeholder's answer to a read: a JSON document of the requested schema, derived from the
 * request's key (which hashes the images' bytes, the texts and the schema) and the path of each
 * field, so that the same request always gets the same answer and everything runs offline. With
 * texts to read, strings are phrases of those texts, so that a story-text target reads like its chapter.
 */
import type { JsonValue } from "../model/target.js";
import { hash32 } from "./placeholder-image.js";
import type { DataRequest } from "./types.js";

type Schema = Record<string, JsonValue>;

const WORDS = ["lantern", "harbour", "tide", "stone", "ember", "mist", "rope", "gull", "slate", "copper", "reed", "salt", "beacon", "shadow", "oak", "glass"];

export function placeholderAnswer(request: Pick<DataRequest, "key" | "texts" | "schema">): JsonValue {
  const phrases = request.texts.flatMap((t) => t.text.split(/(?<=[.!?])\s+|\n+/).map((p) => p.trim()).filter((p) => p.length > 0));
  const pick = (path: string, n: number) => hash32(`${request.key}\u0000${path}`) % n;

  const value = (schema: Schema, path: string, name: string): JsonValue => {
    if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[pick(path, schema.enum.length)]!;
    if ("const" in schema) return schema.const!;
    const options = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
    if (Array.isArray(options)) return value(options.find((o) => o.type !== "null") ?? options[0]!, path, name);
    const type = Array.isArray(schema.type) ? (schema.type.find((t) => t !== "null") as string) : (schema.type as string | undefined);
    switch (type) {
      case "object": {
        const properties = (schema.properties ?? {}) as Record<string, Schema>;
        return Object.fromEntries(Object.entries(properties).map(([k, s]) => [k, value(s, `${path}.${k}`, k)]));
      }
      case "array": {
        const min = typeof schema.minItems === "number" ? schema.minItems : 1;
        const max = typeof schema.maxItems === "number" ? schema.maxItems : Math.max(min, 3);
        const count = min + pick(`${path}#n`, Math.max(1, max - min + 1));
        return Array.from({ length: count }, (_, i) => value((schema.items ?? {}) as Schema, `${path}[${i}]`, name));
      }
      case "boolean":
        return pick(path, 2) === 1;
      case "integer":
      case "number": {
        const lo = typeof schema.minimum === "number" ? schema.minimum : 0;
        const hi = typeof schema.maximum === "number" ? schema.maximum : type === "integer" ? 100 : 1;
        const n = lo + ((hi - lo) * pick(path, 1001)) / 1000;
        return type === "integer" ? Math.round(n) : Math.round(n * 1000) / 1000;
      }
      case "null":
        return null;
      default:
        if (phrases.length) return phrases[pick(path, phrases.length)]!;
        return `${name.replace(/_/g, " ")}: ${WORDS[pick(path, WORDS.length)]} ${WORDS[pick(`${path}+`, WORDS.length)]} (placeholder)`;
    }
  };
  return value(request.schema.schema, "$", request.schema.name);
}
