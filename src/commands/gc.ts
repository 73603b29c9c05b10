import { join } from "node:path";
import { LOCK_FILE, readLock } from "../cache/lockfile.js";
import { Store } from "../cache/store.js";
import { ChargenError } from "../core/errors.js";
import { CACHE_DIR } from "../workspace/open.js";

export interface GcOptions {
  root: string;
  maxBytes: number;
  maxAgeMs: number;
  out: (text: string) => void;
}

/** `chargen gc`: trim the store by age and size; outputs the lock names are always kept. */
export async function gc(options: GcOptions): Promise<number> {
  const store = new Store(join(options.root, CACHE_DIR));
  const keep = new Set([...readLock(join(options.root, LOCK_FILE)).lock.values()].map((e) => e.outputDigest));
  const r = await store.gc({ keep, maxAgeMs: options.maxAgeMs, maxBytes: options.maxBytes, now: Date.now() });
  options.out(`gc: removed ${r.removedBlobs} outputs (${mb(r.freedBytes)}); kept ${r.keptBlobs} (${mb(r.keptBytes)})\n`);
  return 0;
}

const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;

/** "500MB", "2G", "1024" (bytes). */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!m) throw new ChargenError("user", `--max-size: expected a size such as 500MB or 2GB, got "${text}"`);
  const unit = { "": 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return Math.round(Number(m[1]) * unit);
}

/** "30d", "12h", "90m". */
export function parseAge(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([dhm])$/i.exec(text.trim());
  if (!m) throw new ChargenError("user", `--max-age: expected an age such as 30d, 12h or 90m, got "${text}"`);
  const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2]!.toLowerCase() as "d" | "h" | "m"];
  return Math.round(Number(m[1]) * unit);
}
