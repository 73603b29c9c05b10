import { describe, expect, it, vi } from "vitest";
import { ChargenError, Code } from "../src/core/errors.js";
import { transition, type WatchEvent, type WatchState } from "../src/watch/machine.js";
import { Watcher } from "../src/watch/watcher.js";

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
    expect(run("stopped", ["change", "interrupt"]).effects).toEqual([]);
  });

  it("a transition that cannot happen is a bug: it throws an internal error naming the event and the state", () => {
    const impossible: [WatchState, WatchEvent][] = [
      ["watching", "quiet"],
      ["watching", "finished"],
      ["debouncing", "finished"],
      ["running", "quiet"],
      ["queued", "quiet"],
      ["stopping", "quiet"],
      ["stopped", "quiet"],
      ["stopped", "finished"],
    ];
    for (const [state, event] of impossible) {
      let thrown: unknown;
      try {
        transition(state, event);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(ChargenError);
      expect((thrown as ChargenError).kind).toBe("internal");
      expect((thrown as ChargenError).details.code).toBe(Code.bug);
      expect((thrown as ChargenError).message).toContain(`the watcher got "${event}" while ${state}`);
    }
  });
});

describe("the watcher around the machine", () => {
  it("builds at once; a change during the build stops scheduling and queues one more build; Ctrl-C ends it", async () => {
    const calls: string[] = [];
    const builds: (() => void)[] = [];
    const watcher = new Watcher({
      debounceMs: 0,
      build: () => {
        calls.push("build");
        return new Promise<void>((resolve) => builds.push(resolve));
      },
      stopScheduling: () => calls.push("stop-scheduling"),
      abort: () => calls.push("abort"),
    });
    const stopped = watcher.run();
    expect(watcher.state).toBe("running");
    watcher.change();
    watcher.change();
    expect(watcher.state).toBe("queued");
    builds.shift()!();
    await vi.waitUntil(() => watcher.state === "running");
    watcher.interrupt();
    watcher.interrupt();
    builds.shift()!();
    await stopped;
    expect(watcher.state).toBe("stopped");
    expect(calls).toEqual(["build", "stop-scheduling", "build", "stop-scheduling", "abort"]);
  });
});
