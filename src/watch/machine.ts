import { asChargenError } from "../core/errors.js";

/**
 * The watcher's states, as an explicit machine (Wireit's watcher is the model):
 *
 *   watching ──change──▶ debouncing ──change──▶ debouncing (timer restarted)
 *                          │ quiet
 *                          ▼
 *   watching ◀─finished── running ──change──▶ queued ──finished──▶ debouncing
 *                          │                    │
 *                          └──── interrupt ─────┴──▶ stopping ──finished──▶ stopped
 *
 * A change during a run does not abort it: generations in flight are paid for, so they finish
 * and are recorded; the run stops scheduling new ones ("stop-scheduling") and a new plan follows,
 * which builds only what is still stale. A burst of saves gives one plan.
 *
 * The debounce timer fires only while debouncing, and a run finishes only once, while running,
 * queued or stopping: any other "quiet" or "finished" is a bug in the driver, and throws.
 */
export type WatchState = "watching" | "debouncing" | "running" | "queued" | "stopping" | "stopped";

export type WatchEvent = "change" | "quiet" | "finished" | "interrupt";

/** What the machine asks its driver to do. */
export type WatchEffect = "start-timer" | "start-run" | "stop-scheduling" | "abort" | "exit";

export interface Transition {
  state: WatchState;
  effects: WatchEffect[];
}

const stay = (state: WatchState): Transition => ({ state, effects: [] });

const impossible = (state: WatchState, event: WatchEvent): never => {
  // An internal error (Code.bug) that says where it happened.
  throw asChargenError(new Error(`the watcher got "${event}" while ${state}`));
};

export function transition(state: WatchState, event: WatchEvent): Transition {
  switch (state) {
    case "watching":
      if (event === "change") return { state: "debouncing", effects: ["start-timer"] };
      if (event === "interrupt") return { state: "stopped", effects: ["exit"] };
      return impossible(state, event);
    case "debouncing":
      if (event === "change") return { state: "debouncing", effects: ["start-timer"] };
      if (event === "quiet") return { state: "running", effects: ["start-run"] };
      if (event === "interrupt") return { state: "stopped", effects: ["exit"] };
      return impossible(state, event);
    case "running":
      if (event === "change") return { state: "queued", effects: ["stop-scheduling"] };
      if (event === "finished") return stay("watching");
      if (event === "interrupt") return { state: "stopping", effects: ["stop-scheduling"] };
      return impossible(state, event);
    case "queued":
      if (event === "change") return stay(state);
      if (event === "finished") return { state: "debouncing", effects: ["start-timer"] };
      if (event === "interrupt") return { state: "stopping", effects: [] };
      return impossible(state, event);
    case "stopping":
      if (event === "change") return stay(state);
      if (event === "finished") return { state: "stopped", effects: ["exit"] };
      if (event === "interrupt") return { state: "stopping", effects: ["abort"] };
      return impossible(state, event);
    case "stopped":
      // Saves and signals may still arrive while the watcher closes; they change nothing.
      if (event === "change" || event === "interrupt") return stay(state);
      return impossible(state, event);
  }
}
