import type { Clock } from "../core/clock.js";
import { count } from "../core/debug.js";
import { asChargenError, ChargenError, Code } from "../core/errors.js";
import { Pool } from "../core/pool.js";
import { ignoreEvents, type EmitBuildEvent } from "../model/events.js";
import { priceTable, providerInfo } from "./catalog.js";
import { missingCredentials, NO_API_KEY } from "./credentials.js";
import type { DataRequest, DataResult, ImageRequest, ImageResult, Provider, ProviderSettings } from "./types.js";

/** The error code of a read sent to a provider that reads nothing. */
export const NOT_A_READER = "NOT_A_READER";

export interface RetryPolicy {
  /** Attempts for 5xx, timeouts and resets. */
  maxAttempts: number;
  /** Attempts for 429s: a rate limit slows the build down, it does not fail it. */
  maxRateLimitedAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** A longer wait asked for by a provider stops it for the build instead. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, maxRateLimitedAttempts: 30, baseDelayMs: 1_000, maxDelayMs: 60_000, maxRetryAfterMs: 300_000 };

export interface HubSetup {
  rules: ProviderSettings;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  /** Where retries and provider stops are told. */
  emit?: EmitBuildEvent;
  /** Pools outlive a build in watch mode, so that back-to-back builds share one rate window. */
  pools?: Map<string, Pool>;
  retry?: RetryPolicy;
  /** For the backoff's jitter. */
  random?: () => number;
  /** Providers stopped by this build's earlier rounds (shared: a round stops them for the next ones too). */
  stopped?: Map<string, ChargenError>;
}

/**
 * Providers for one build: created on first use (a build that sends nothing loads no SDK), one
 * pool per provider and model, one retry policy (the SDKs' own retries are off), and the
 * provider-level stop: after a `provider` error nothing more is sent to that provider.
 */
export class ProviderHub {
  private readonly instances = new Map<string, Promise<Provider>>();
  private readonly stopped: Map<string, ChargenError>;
  /** Aborted when a provider is stopped: what waits for its pool is skipped at once. */
  private readonly stopSignals = new Map<string, AbortController>();
  private readonly attempts = new Map<string, number>();

  private readonly rules: ProviderSettings;
  private readonly env: NodeJS.ProcessEnv;
  private readonly clock: Clock;
  private readonly emit: EmitBuildEvent;
  private readonly pools: Map<string, Pool>;
  private readonly retry: RetryPolicy;
  private readonly random: () => number;

  constructor(setup: HubSetup) {
    ({ rules: this.rules, env: this.env, clock: this.clock } = setup);
    this.emit = setup.emit ?? ignoreEvents;
    this.pools = setup.pools ?? new Map();
    this.retry = setup.retry ?? DEFAULT_RETRY;
    this.random = setup.random ?? Math.random;
    this.stopped = setup.stopped ?? new Map();
  }

  /** Why this provider was stopped, if it was. */
  stoppedReason(provider: string): ChargenError | undefined {
    return this.stopped.get(provider);
  }

  /** Providers a target needed whose key is not set: the one message the build reports for each. */
  missingKeys(): { provider: string; error: ChargenError }[] {
    return [...this.stopped].filter(([, e]) => e.details.code === NO_API_KEY).map(([provider, error]) => ({ provider, error }));
  }

  /** Provider calls made in this build (attempts, retries included), per provider. */
  callCounts(): Record<string, number> {
    return Object.fromEntries(this.attempts);
  }

  /**
   * Send `request`, retrying as the policy says. `queue` aborts waiting for a slot (Ctrl-C stops
   * scheduling); `request.signal` aborts a request in flight (a second Ctrl-C). `onAnswer` is
   * called synchronously with the answer, before the slot is released or anything else runs.
   */
  async generate(request: ImageRequest, providerName: string, queue: AbortSignal, onAnswer?: (result: ImageResult) => void): Promise<ImageResult> {
    return this.send(request, providerName, queue, (provider) => provider.generate(request), onAnswer);
  }

  /**
   * Send a read (a data target's request) as `generate` sends an image: the same pools, retries,
   * provider stop and call counts. A provider that reads nothing fails the target, sending nothing.
   */
  async read(request: DataRequest, providerName: string, queue: AbortSignal, onAnswer?: (result: DataResult) => void): Promise<DataResult> {
    this.requireCredentials(providerName);
    if (!(await this.provider(providerName)).read) {
      throw new ChargenError("target", `${providerName} reads no images or texts here: route data targets elsewhere (defaults.read in chargen.rules.ts)`, { code: NOT_A_READER });
    }
    return this.send(request, providerName, queue, (provider) => provider.read!(request), onAnswer);
  }

  private async send<R>(
    request: { targetId: string; model: string; signal: AbortSignal },
    providerName: string,
    queue: AbortSignal,
    call: (provider: Provider) => Promise<R>,
    onAnswer?: (result: R) => void,
  ): Promise<R> {
    this.requireCredentials(providerName);
    const pool = this.pool(providerName, request.model);
    const provider = await this.provider(providerName);
    let attempt = 0;
    for (;;) {
      this.throwIfStopped(providerName);
      try {
        await pool.acquire(AbortSignal.any([queue, this.stopSignal(providerName).signal]));
      } catch (e) {
        if (!queue.aborted) this.throwIfStopped(providerName);
        throw e;
      }
      attempt++;
      this.attempts.set(providerName, (this.attempts.get(providerName) ?? 0) + 1);
      let error: ChargenError;
      let answer: R | undefined;
      try {
        answer = await call(provider);
        // Paid for: `onAnswer` records it before anything else runs, even what this slot lets go.
        onAnswer?.(answer);
        return answer;
      } catch (e) {
        if (answer) throw e; // recording failed: not the provider's error, and never sent again
        error = this.classify(asChargenError(e));
        if (error.kind === "provider" && !request.signal.aborted) {
          // A request that never left (no key) while another already stopped the provider is "not sent" too.
          if (error.details.code === NO_API_KEY) this.throwIfStopped(providerName);
          // Stop before the slot is handed on: what waits for it must not be sent.
          this.stop(providerName, error);
        }
      } finally {
        pool.release();
      }
      if (request.signal.aborted || error.kind === "provider") throw error;
      const rateLimited = error.details.status === 429;
      const limit = rateLimited ? this.retry.maxRateLimitedAttempts : this.retry.maxAttempts;
      if (error.kind !== "retryable" || attempt >= limit) throw error;
      const delay = error.details.retryAfterMs ?? this.backoff(attempt);
      this.emit({ type: "retry", id: request.targetId, attempt, delayMs: delay, error });
      // A rate limit is about the provider, not this request: hold back the whole pool.
      if (rateLimited) pool.pauseUntil(this.clock.now() + delay);
      else await this.clock.sleep(delay, request.signal);
    }
  }

  /**
   * Why nothing can be sent to this provider in this build (stopped, or its key not set), as the
   * "not sent" error a target ends with; undefined when requests may go. A missing key stops the
   * provider before its SDK is even loaded; the build reports it once (see `missingKeys`).
   */
  unsendable(name: string): ChargenError | undefined {
    const info = providerInfo(name);
    const missing = !this.stopped.has(name) && info ? missingCredentials(name, this.env, [info.keyEnv, info.accountEnv ?? []]) : undefined;
    if (missing) {
      this.stopped.set(name, missing);
      this.stopSignal(name).abort(missing);
    }
    return this.notSent(name);
  }

  private requireCredentials(name: string): void {
    const refused = this.unsendable(name);
    if (refused) throw refused;
  }

  /** A provider that asks for a longer wait than a build can give (a daily quota) is stopped, not waited for. */
  private classify(error: ChargenError): ChargenError {
    const wait = error.details.retryAfterMs ?? 0;
    if (error.kind !== "retryable" || wait <= this.retry.maxRetryAfterMs) return error;
    return new ChargenError("provider", `${error.message} (asked to wait ${Math.round(wait / 1000)} s)`, error.details);
  }

  private stop(provider: string, error: ChargenError): void {
    if (this.stopped.has(provider)) return;
    this.stopped.set(provider, error);
    this.stopSignal(provider).abort(error);
    this.emit({ type: "provider-stopped", provider, error });
  }

  private throwIfStopped(provider: string): void {
    const refused = this.notSent(provider);
    if (refused) throw refused;
  }

  private notSent(provider: string): ChargenError | undefined {
    const stop = this.stopped.get(provider);
    if (!stop) return undefined;
    // A missing key is said once for the whole build, not once per target.
    if (stop.details.code === NO_API_KEY) return new ChargenError("provider", `not sent: no API key for ${provider}`, { ...stop.details, code: Code.notSent });
    return new ChargenError("provider", `not sent: ${provider} was stopped earlier in this build (${stop.message})`, { ...stop.details, code: Code.notSent });
  }

  private stopSignal(provider: string): AbortController {
    let c = this.stopSignals.get(provider);
    if (!c) this.stopSignals.set(provider, (c = new AbortController()));
    return c;
  }

  /** Exponential backoff with full jitter (AWS's advice): spreads retries of a burst apart. */
  private backoff(attempt: number): number {
    const cap = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1));
    return Math.round(cap / 2 + (this.random() * cap) / 2);
  }

  private provider(name: string): Promise<Provider> {
    let p = this.instances.get(name);
    if (!p) {
      const info = providerInfo(name);
      if (!info) throw new ChargenError("user", `unknown provider "${name}"`);
      const options = this.rules.providers?.[name]?.options ?? {};
      count("provider.loaded");
      p = info.load().then((m) => m.create({ env: this.env, options, prices: priceTable(this.rules), clock: this.clock }));
      this.instances.set(name, p);
    }
    return p;
  }

  /** How many requests a provider's model takes at once (its pool's limit); undefined for a provider chargen does not know. */
  maxInFlight(provider: string, model: string): number | undefined {
    return providerInfo(provider) ? this.pool(provider, model).limits.maxInFlight : undefined;
  }

  private pool(provider: string, model: string): Pool {
    const id = `${provider}/${model}`;
    let pool = this.pools.get(id);
    if (!pool) {
      const info = providerInfo(provider)!;
      const config = this.rules.providers?.[provider];
      const perModel = config?.models?.[model];
      pool = new Pool(
        {
          maxInFlight: perModel?.maxInFlight ?? config?.maxInFlight ?? info.limits.maxInFlight,
          perMinute: perModel?.perMinute ?? config?.perMinute ?? info.limits.perMinute,
        },
        this.clock,
        perModel?.windowMs ?? config?.windowMs ?? 60_000,
      );
      this.pools.set(id, pool);
    }
    return pool;
  }
}
