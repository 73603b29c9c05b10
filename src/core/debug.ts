import { quietOutput } from "./signals.js";

/**
 * `CHARGEN_DEBUG=stats` prints, on exit, how much work a command did (YAML files parsed, files
 * hashed, provider modules loaded): how a no-op build is shown, and tested, to do none of it.
 */
const topics = process.env.CHARGEN_DEBUG?.split(",") ?? [];
const enabled = topics.includes("stats");
const counters = new Map<string, number>();
// Quietly, like every other output, when stderr's reader has gone (`2>&1 | head -0`).
const write = quietOutput("stderr");

export function count(name: string): void {
  if (enabled) counters.set(name, (counters.get(name) ?? 0) + 1);
}

if (enabled) {
  process.on("exit", () => {
    const names = ["yaml.parsed", "file.hashed", "provider.loaded"];
    write(`[stats] ${names.map((n) => `${n}=${counters.get(n) ?? 0}`).join(" ")}\n`);
  });
}

/** Milliseconds since the epoch, to the microsecond. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

/**
 * `CHARGEN_DEBUG=durable` prints when each generation's record reached the kernel (`recorded`: a
 * kill -9 can no longer lose it) and the disk (`durable`: nor can a power cut), to the
 * microsecond, for bench/durable-window.mjs (which pairs them with the placeholder's answer time).
 */
export const traceDurable = topics.includes("durable")
  ? (stage: "recorded" | "durable", targetId: string): void => write(`[${stage}] ${targetId}\t${preciseNow().toFixed(3)}\n`)
  : (): void => {};

/**
 * `CHARGEN_DEBUG=events` prints each event of a build's stream as one JSON line (`[event] {...}`),
 * as every reporter read it (an error as its kind, details and message): the JSON report can be
 * checked against the stream it was made from.
 */
export const traceEvent = topics.includes("events")
  ? (event: object): void => write(`[event] ${JSON.stringify(event, (_key, v: unknown) => (v instanceof Error ? { ...v, message: v.message } : v))}\n`)
  : (): void => {};
