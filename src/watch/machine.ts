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

export function transition(state: WatchState, event: WatchEvent): Transition {
  switch (state) {
    case "watching":
      if (event === "change") return { state: "debouncing", effects: ["start-timer"] };
      if (event === "interrupt") return { state: "stopped", effects: ["exit"] };
      return stay(state);
    case "debouncing":
      if (event === "change") return { state: "debouncing", effects: ["start-timer"] };
      if (event === "quiet") return { state: "running", effects: ["start-run"] };
      if (event === "interrupt") return { state: "stopped", effects: ["exit"] };
      return stay(state);
    case "running":
      if (event === "change") return { state: "queued", effects: ["stop-scheduling"] };
      if (event === "finished") return stay("watching");
      if (event === "interrupt") return { state: "stopping", effects: ["stop-scheduling"] };
      return stay(state);
    case "queued":
      if (event === "finished") return { state: "debouncing", effects: ["start-timer"] };
      if (event === "interrupt") return { state: "stopping", effects: [] };
      return stay(state);
    case "stopping":
      if (event === "finished") return { state: "stopped", effects: ["exit"] };
      if (event === "interrupt") return { state: "stopping", effects: ["abort"] };
      return stay(state);
    case "stopped":
      return stay(state);
  }
}
