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
  const v = get(node, key);
  return v && typeof (v as { toJS?: unknown }).toJS === "function" ? (v as unknown as { toJS(): unknown }).toJS() : undefined;
}
