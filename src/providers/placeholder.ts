/**
 * The offline provider: draws a recognisable card instead of calling a model, so builds, tests and
 * benchmarks run without keys or money. Latency and failures can be simulated, deterministically.
 */
import { appendFileSync } from "node:fs";
import { realClock, type Clock } from "../core/clock.js";
import { preciseNow } from "../core/debug.js";
import { ChargenError, Code, type ErrorKind } from "../core/errors.js";
import { mimeOf } from "../model/target.js";
import { MAX_IMAGE_SIDE } from "./aspect.js";
import { hash32, renderPlaceholder } from "./placeholder-image.js";
import { placeholderAnswer } from "./placeholder-answer.js";
import type { DataRequest, DataResult, ImageRequest, ImageResult, Provider, ProviderFactoryOptions, ProviderModule } from "./types.js";

export type FailureKind = Extract<ErrorKind, "retryable" | "target" | "provider">;

export interface PlaceholderConfig {
  /** Simulated latency: fixed, or drawn per attempt from [min, max]. */
  latencyMs: [number, number];
  /** Share of attempts that fail, 0..1. */
  failureRate: number;
  failureKind: FailureKind;
}

const LONG_SIDE = 1024;

/** Rules options, with the CHARGEN_PLACEHOLDER_* environment variables taking precedence. */
export function readConfig({ env, options }: ProviderFactoryOptions): PlaceholderConfig {
  const envLatency = env.CHARGEN_PLACEHOLDER_LATENCY_MS;
  const envRate = env.CHARGEN_PLACEHOLDER_FAILURE_RATE;
  const latencyMs =
    envLatency !== undefined && envLatency.trim() !== ""
      ? parseLatency(envNumbers(envLatency), "CHARGEN_PLACEHOLDER_LATENCY_MS")
      : parseLatency(options.latencyMs ?? 0, "latencyMs");
  const failureRate =
    envRate !== undefined && envRate.trim() !== ""
      ? parseRate(Number(envRate), "CHARGEN_PLACEHOLDER_FAILURE_RATE")
      : parseRate(options.failureRate ?? 0, "failureRate");
  const kind = options.failureKind ?? "retryable";
  if (kind !== "retryable" && kind !== "target" && kind !== "provider") {
    throw userError("failureKind", `must be "retryable", "target" or "provider", got ${JSON.stringify(kind)}`);
  }
  return { latencyMs, failureRate, failureKind: kind };
}

/** "50", "20,80" or "20-80". */
const envNumbers = (text: string) => text.split(/[,-]/).map((s) => (s.trim() === "" ? Number.NaN : Number(s)));

function parseLatency(value: unknown, field: string): [number, number] {
  const pair = Array.isArray(value) ? value : [value, value];
  const [min, max] = pair.length === 1 ? [pair[0], pair[0]] : pair;
  const ok = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;
  if (pair.length > 2 || !ok(min) || !ok(max) || min > max) {
    throw userError(field, `must be a number of milliseconds or [min, max], got ${JSON.stringify(value)}`);
  }
  return [min, max];
}

function parseRate(value: unknown, field: string): number {
  if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
    throw userError(field, `must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

const userError = (field: string, message: string) =>
  new ChargenError("user", `placeholder provider: ${field} ${message}`, { field });

/** The pixel size: the request's, else its aspect ratio with a 1024 px long side, else 1024x1024. */
export function imageSize(request: Pick<ImageRequest, "size" | "aspectRatio">): { width: number; height: number } {
  if (request.size) {
    const { width, height } = request.size;
    const ok = (v: number) => Number.isInteger(v) && v >= 1 && v <= MAX_IMAGE_SIDE;
    if (!ok(width) || !ok(height)) {
      throw new ChargenError("target", `placeholder: size ${width}x${height} must be whole pixels from 1 to ${MAX_IMAGE_SIDE}`);
    }
    return { width, height };
  }
  if (request.aspectRatio) {
    const match = /^\s*(\d+(?:\.\d+)?)\s*[:/x]\s*(\d+(?:\.\d+)?)\s*$/i.exec(request.aspectRatio);
    const w = Number(match?.[1]);
    const h = Number(match?.[2]);
    if (!match || !(w > 0) || !(h > 0)) {
      throw new ChargenError("target", `placeholder: aspect ratio "${request.aspectRatio}" is not W:H`);
    }
    return w >= h
      ? { width: LONG_SIDE, height: Math.max(1, Math.round((LONG_SIDE * h) / w)) }
      : { width: Math.max(1, Math.round((LONG_SIDE * w) / h)), height: LONG_SIDE };
  }
  return { width: LONG_SIDE, height: LONG_SIDE };
}

/** A uniform number in [0, 1) fixed by its inputs. */
const dice = (...parts: (string | number)[]) => hash32(parts.join("\u0000")) / 2 ** 32;

/** Waits `ms` on `clock`, rejecting with a target error as soon as `signal` aborts. */
async function sleep(ms: number, signal: AbortSignal, clock: Clock): Promise<void> {
  const aborted = () => new ChargenError("target", "aborted", { code: Code.aborted }, { cause: signal.reason });
  if (signal.aborted) throw aborted();
  // Even with no latency the answer comes through the event loop, as a real provider's does: a
  // render never runs inside the microtasks of another answer, delaying that answer's recording.
  if (ms <= 0) return new Promise((resolve) => setImmediate(resolve));
  try {
    await clock.sleep(ms, signal);
  } catch (e) {
    if (signal.aborted) throw aborted();
    throw e;
  }
}

/**
 * `CHARGEN_PLACEHOLDER_CALL_LOG=file`: one line per completed generation or read ("<target id>\t<key>\t<ms
 * since the epoch when the call started>\t<reference (or read image) paths sent, comma-separated>\t<when it
 * answered, to the microsecond>"), appended synchronously, so that tests can count what a real
 * provider would have charged and was sent, across processes, even when a build is killed; and
 * benchmarks can time a save to the provider call, and an answer to its durable record
 * (bench/durable-window.mjs).
 */
function callLogger(path: string | undefined): CallLog {
  if (!path) return () => {};
  return (request, startedAt) => {
    const images = "references" in request ? request.references : request.images;
    appendFileSync(path, `${request.targetId}\t${request.key}\t${startedAt}\t${images.map((r) => r.path).join(",")}\t${preciseNow().toFixed(3)}\n`);
  };
}

type CallLog = (request: ImageRequest | DataRequest, startedAt: number) => void;

export function createPlaceholderProvider(
  config: PlaceholderConfig,
  logCall: CallLog = () => {},
  clock: Clock = realClock,
): Provider {
  // Attempts per key, so that a retry of a simulated failure rolls new dice and may succeed.
  const attempts = new Map<string, number>();

  /** The configured latency, then a failure at the configured rate: rolled per key and attempt. */
  const simulate = async ({ key, targetId, signal }: { key: string; targetId: string; signal: AbortSignal }) => {
    const attempt = attempts.get(key) ?? 0;
    attempts.set(key, attempt + 1);

    const [min, max] = config.latencyMs;
    await sleep(min + Math.round((max - min) * dice(key, "latency", attempt)), signal, clock);

    if (config.failureRate > 0 && dice(key, "failure", attempt) < config.failureRate) {
      const kind = config.failureKind;
      throw new ChargenError(kind, `placeholder: simulated ${kind} failure for ${targetId} (attempt ${attempt + 1})`, { code: "SIMULATED" });
    }
  };

  return {
    name: "placeholder",

    async generate(request: ImageRequest): Promise<ImageResult> {
      const startedAt = clock.now();
      const { key, format } = request;
      if (format !== "png" && format !== "jpeg") {
        throw new ChargenError(
          "target",
          `placeholder renders png and jpeg; ${format} has no pure-JS encoder here (choose format png or jpeg)`,
        );
      }
      const { width, height } = imageSize(request);
      await simulate(request);

      const bytes = renderPlaceholder(width, height, format, {
        key,
        title: request.targetId,
        prompt: request.prompt,
        referenceCount: request.references.length,
      });
      logCall(request, startedAt);
      return {
        bytes,
        mimeType: mimeOf(format),
        costUsd: 0,
        usage: {},
        metadata: { provider: "placeholder", seed: hash32(key) },
      };
    },

    async read(request: DataRequest): Promise<DataResult> {
      const startedAt = clock.now();
      await simulate(request);
      const json = placeholderAnswer(request);
      logCall(request, startedAt);
      return { json, costUsd: 0, usage: {}, metadata: { provider: "placeholder", seed: hash32(request.key) } };
    },
  };
}

const placeholder: ProviderModule = {
  create: (options) => createPlaceholderProvider(readConfig(options), callLogger(options.env.CHARGEN_PLACEHOLDER_CALL_LOG), options.clock),
};

export default placeholder;
