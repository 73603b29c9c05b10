import { transition, type WatchEffect, type WatchEvent, type WatchState } from "./machine.js";

/** What the watcher asks of whoever runs it. */
export interface WatchDriver {
  debounceMs: number;
  /** One build; its promise settles when the build is over (errors are the driver's to report). */
  build(): Promise<void>;
  /** A change or Ctrl-C during a build: what is in flight finishes and is recorded, nothing new starts. */
  stopScheduling(): void;
  /** A second Ctrl-C: abort what is in flight too. */
  abort(): void;
  /** Called after every event the watcher handled. */
  handled?(): void;
}

/**
 * The pure machine (machine.ts) with its state and its debounce timer: events go in (a relevant
 * change, Ctrl-C), effects come out to the driver. An event the machine cannot take throws.
 */
export class Watcher {
  private current: WatchState = "debouncing";
  private timer: ReturnType<typeof setTimeout> | undefined;
  private exit!: () => void;
  private readonly exited = new Promise<void>((resolve) => (this.exit = resolve));

  constructor(private readonly driver: WatchDriver) {}

  get state(): WatchState {
    return this.current;
  }

  /** Build at once, then on every change, until stopped; resolves once stopped. */
  run(): Promise<void> {
    this.dispatch("quiet");
    return this.exited;
  }

  change(): void {
    this.dispatch("change");
  }

  interrupt(): void {
    this.dispatch("interrupt");
  }

  private dispatch(event: WatchEvent): void {
    const next = transition(this.current, event);
    this.current = next.state;
    for (const effect of next.effects) this.perform(effect);
    this.driver.handled?.();
  }

  private perform(effect: WatchEffect): void {
    switch (effect) {
      case "start-timer":
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.dispatch("quiet"), this.driver.debounceMs);
        return;
      case "start-run":
        void this.driver.build().finally(() => this.dispatch("finished"));
        return;
      case "stop-scheduling":
        this.driver.stopScheduling();
        return;
      case "abort":
        this.driver.abort();
        return;
      case "exit":
        clearTimeout(this.timer);
        this.exit();
        return;
    }
  }
}
