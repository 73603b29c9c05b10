import type { Clock } from "./clock.js";

export interface PoolLimits {
  maxInFlight: number;
  perMinute: number;
}

interface Waiter {
  priority: number;
  grant: () => void;
  reject: (reason: unknown) => void;
}

/**
 * A provider quota needs both of Ninja's pool (at most N in flight) and Shake's throttle (at
 * most R started in any window of a minute). `pauseUntil` lets a 429 slow the whole pool down
 * rather than each request hammering on its own. Grants go to the highest priority waiting, first
 * come, first served among equals.
 */
export class Pool {
  private inFlight = 0;
  private readonly starts: number[] = [];
  private pausedUntil = 0;
  private readonly queue: Waiter[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly limits: PoolLimits,
    private readonly clock: Clock,
    private readonly windowMs = 60_000,
  ) {}

  acquire(signal?: AbortSignal, priority = 0): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const waiter: Waiter = {
        priority,
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const before = this.queue.findIndex((w) => w.priority < priority);
      this.queue.splice(before < 0 ? this.queue.length : before, 0, waiter);
      this.pump();
    });
  }

  release(): void {
    this.inFlight--;
    this.pump();
  }

  /** No request starts before `time` (a provider asked us to back off). */
  pauseUntil(time: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, time);
    this.pump();
  }

  get waiting(): number {
    return this.queue.length;
  }

  private pump(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    while (this.queue.length && this.inFlight < this.limits.maxInFlight) {
      const now = this.clock.now();
      while (this.starts.length && this.starts[0]! <= now - this.windowMs) this.starts.shift();
      const wakeAt = Math.max(this.pausedUntil, this.starts.length >= this.limits.perMinute ? this.starts[0]! + this.windowMs : 0);
      if (wakeAt > now) {
        this.timer = setTimeout(() => this.pump(), wakeAt - now);
        return;
      }
      this.inFlight++;
      this.starts.push(now);
      this.queue.shift()!.grant();
    }
  }
}
