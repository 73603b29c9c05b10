import { isMap, isScalar, isSeq, type Node, type YAMLMap } from "yaml";

/** Small readers over yaml nodes that tolerate the shapes real files have (null, missing, wrong type). */

export function get(node: unknown, key: string): Node | undefined {
  return isMap(node) ? ((node as YAMLMap).get(key, true) as Node | undefined) : undefined;
}

export function str(node: unknown, key: string): string | undefined {
  const v = get(node, key);
  if (!isScalar(v) || v.value === null || v.value === undefined) return undefined;
  const s = String(v.value).trim();
  return s === "" ? undefined : s;
}

/** The node under `key` when it is a list or map where text belongs: str() reads it as absent, a caller reports it. */
export function notText(node: unknown, key: string): Node | undefined {
  const v = get(node, key);
  return isMap(v) || isSeq(v) ? v : undefined;
}

export function items(node: unknown, key: string): Node[] {
  const v = get(node, key);
  return isSeq(v) ? (v.items as Node[]) : [];
}

export function strings(node: unknown, key: string): string[] {
  return items(node, key)
    .map((n) => (isScalar(n) && n.value !== null ? String(n.value).trim() : ""))
    .filter(Boolean);
}

/** Plain JS of a node, for structured fields rendered into prompts. */
export function js(node: unknown, key: string): unknown {
  return plain(get(node, key));
}

/** A node as plain JS. (`toJS` needs the document; `toJSON` does not, and prompts need no aliases resolved.) */
function plain(node: Node | undefined): unknown {
  return node && typeof (node as { toJSON?: unknown }).toJSON === "function" ? (node as unknown as { toJSON(): unknown }).toJSON() : undefined;
}

/*
 * Lookups over several nodes in turn, for entries whose fields may sit on the entry itself or in
 * a nested spec (`image_spec`), under several historical names (`slug` / `zone_id` / `zone_slug`).
 * The first node holding any of the keys wins, so a nested spec overrides its entry.
 */

/** The first present, non-null node among `keys`, looked up in each of `nodes` in turn. */
export function pickNode(nodes: readonly unknown[], ...keys: string[]): Node | undefined {
  for (const node of nodes) {
    for (const key of keys) {
      const v = get(node, key);
      if (v !== undefined && !(isScalar(v) && (v.value === null || v.value === ""))) return v;
    }
  }
  return undefined;
}

/** The first non-empty string among `keys`, looked up in each of `nodes` in turn. */
export function pick(nodes: readonly unknown[], ...keys: string[]): string | undefined {
  for (const node of nodes) {
    for (const key of keys) {
      const s = str(node, key);
      if (s !== undefined) return s;
    }
  }
  return undefined;
}

/** A list of strings (or one string) under the first of `keys` present in `nodes`. */
export function pickStrings(nodes: readonly unknown[], ...keys: string[]): string[] {
  const v = pickNode(nodes, ...keys);
  if (isSeq(v)) return (v.items as Node[]).map((n) => (isScalar(n) && n.value !== null ? String(n.value).trim() : "")).filter(Boolean);
  if (isScalar(v) && v.value !== null) return [String(v.value).trim()].filter(Boolean);
  return [];
}

/** Plain JS of the first node found, for structured fields rendered into prompts. */
export function pickJs(nodes: readonly unknown[], ...keys: string[]): unknown {
  return plain(pickNode(nodes, ...keys));
}

/**
 * The items of the list at `key`, and the node found there instead when it is not a list (a map,
 * a string): the caller names it in a diagnostic. Missing or null is simply empty.
 */
export function listAt(node: unknown, key: string): { items: Node[]; wrong?: Node } {
  const v = get(node, key);
  if (isSeq(v)) return { items: v.items as Node[] };
  if (v === undefined || (isScalar(v) && v.value === null)) return { items: [] };
  return { items: [], wrong: v };
}

/** How a node that is not the expected map reads in a message: "a string", "a list", "null". */
export function shapeOf(node: unknown): string {
  if (node === undefined) return "missing";
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) return node.value === null ? "null" : `a ${typeof node.value} (${JSON.stringify(String(node.value).slice(0, 40))})`;
  return "an alias or unknown node";
}
