import { readFileSync } from "node:fs";
import { writeAtomic } from "../core/atomic.js";

/**
 * Cache files under `.chargen/` are versioned JSON. A missing, unreadable or older-format file
 * is an empty cache, never an error: caches only ever save work.
 */
export function readJsonCache<T>(path: string, version: number): T | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as { version?: number; data?: T };
    return parsed.version === version ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function writeJsonCache(path: string, version: number, data: unknown): Promise<void> {
  await writeAtomic(path, JSON.stringify({ version, data }));
}
