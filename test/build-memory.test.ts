import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { expect, test, vi } from "vitest";
import { runBuild, type BuildOptions } from "../src/commands/build.js";
import { inProcessBuild } from "./support/build-options.js";
import { exampleWorkspace } from "./support/cli.js";

// What the build's memory holds is seen through a forced full collection and weak references.
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Every workspace the build opens; at each opening, whether every one opened before it could be collected. */
const opened = vi.hoisted(() => ({ workspaces: [] as WeakRef<object>[], earlierReleased: [] as boolean[] }));
vi.mock("../src/workspace/open.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/workspace/open.js")>();
  return {
    ...real,
    openWorkspace: async (options: Parameters<typeof real.openWorkspace>[0]) => {
      gc();
      opened.earlierReleased.push(opened.workspaces.every((ws) => ws.deref() === undefined));
      const ws = await real.openWorkspace(options);
      opened.workspaces.push(new WeakRef(ws));
      return ws;
    },
  };
});

/** A JSON build of a copy of the example workspace. */
const buildOptions = (overrides: Partial<BuildOptions>): BuildOptions => inProcessBuild(exampleWorkspace(), overrides);

test("the settling re-plan opens its workspace once the build's is released (the peak holds one plan, not two)", async () => {
  const out: string[] = [];
  expect(await runBuild(buildOptions({ out: (text) => out.push(text) }))).toBe(0);
  const report = JSON.parse(out.join(""));
  expect(report.summary.built).toBeGreaterThan(0);
  // The build's own (and the re-plans it ran while it went), then the settling one, last.
  expect(opened.workspaces.length).toBeGreaterThanOrEqual(2);
  expect(opened.earlierReleased.at(-1)).toBe(true);
});

/** The build's plan (planWorkspace with a store; the settle plans without one). */
const plans = vi.hoisted(() => ({ build: [] as WeakRef<object>[] }));
vi.mock("../src/workspace/plan.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/workspace/plan.js")>();
  return {
    ...real,
    planWorkspace: (...args: Parameters<typeof real.planWorkspace>) => {
      const planned = real.planWorkspace(...args);
      if (args[1] !== undefined) plans.build.push(new WeakRef(planned));
      return planned;
    },
  };
});

test("the plan (a decision with its key inputs per target) is released while the targets run", async () => {
  const released: boolean[] = [];
  const options = buildOptions({
    json: false,
    // A built target ends after the provider's await, while the build waits on the execution.
    progress: async () => ({
      emit: (event) => {
        if (event.type !== "done" || event.outcome.status !== "built") return;
        gc();
        released.push(plans.build.every((plan) => plan.deref() === undefined));
      },
      end: async () => {},
    }),
  });
  expect(await runBuild(options)).toBe(0);
  expect(plans.build.length).toBeGreaterThan(0);
  expect(released.length).toBeGreaterThan(0);
  expect(released.every(Boolean)).toBe(true);
});
