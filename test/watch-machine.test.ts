import { describe, expect, it } from "vitest";
import { transition, type WatchEvent, type WatchState } from "../src/watch/machine.js";

/** Run events through the machine from `state`; return the states visited and the effects asked for. */
function run(state: WatchState, events: WatchEvent[]) {
  const states: WatchState[] = [];
  const effects: string[] = [];
  for (const e of events) {
    const t = transition(state, e);
    state = t.state;
    states.push(state);
    effects.push(...t.effects);
  }
  return { states, effects };
}

describe("watch state machine", () => {
  it("a burst of saves gives one run", () => {
    const r = run("watching", ["change", "change", "change", "change", "change", "quiet", "finished"]);
    expect(r.effects.filter((e) => e === "start-run")).toHaveLength(1);
    expect(r.states.at(-1)).toBe("watching");
  });

  it("a change during a run stops scheduling (in-flight work finishes) and queues a new plan", () => {
    const r = run("running", ["change", "change", "finished", "quiet", "finished"]);
    expect(r.states).toEqual(["queued", "queued", "debouncing", "running", "watching"]);
    expect(r.effects).toEqual(["stop-scheduling", "start-timer", "start-run"]);
  });

  it("Ctrl-C: idle exits at once; running stops scheduling, then exits when the run is recorded; twice aborts", () => {
    expect(run("watching", ["interrupt"]).effects).toEqual(["exit"]);
    expect(run("debouncing", ["interrupt"]).effects).toEqual(["exit"]);
    const r = run("running", ["interrupt", "change", "interrupt", "finished"]);
    expect(r.states).toEqual(["stopping", "stopping", "stopping", "stopped"]);
    expect(r.effects).toEqual(["stop-scheduling", "abort", "exit"]);
    expect(run("stopped", ["change", "quiet", "finished", "interrupt"]).effects).toEqual([]);
  });
});
