import { expect, test, vi } from "vitest";
import { runBuild, type BuildOptions } from "../src/commands/build.js";
import { inProcessBuild } from "./support/build-options.js";
import { exampleWorkspace } from "./support/cli.js";

/** Every cache file written, by name, in order; YAML files parsed; and whether the settling re-plan is to fail (as if killed). */
const seen = vi.hoisted(() => ({ written: [] as string[], parsed: 0, failSettle: false }));
vi.mock("../src/core/debug.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/core/debug.js")>();
  return { ...real, count: (name: string) => void (name === "yaml.parsed" && seen.parsed++) };
});
vi.mock("../src/cache/json-file.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/cache/json-file.js")>();
  return {
    ...real,
    writeJsonCache: (path: string, version: number, data: unknown) => {
      seen.written.push(path.split("/").at(-1)!);
      return real.writeJsonCache(path, version, data);
    },
  };
});
vi.mock("../src/workspace/plan.js", async (importOriginal) => {
  const real = await importOriginal<typeof import("../src/workspace/plan.js")>();
  return {
    ...real,
    // The settle is the one plan of a build made without the store.
    planWorkspace: (...args: Parameters<typeof real.planWorkspace>) => {
      if (seen.failSettle && args[1] === undefined) throw new Error("killed in the settle");
      return real.planWorkspace(...args);
    },
  };
});

const buildOptions = (root: string, mode: BuildOptions["mode"] = "build"): BuildOptions => inProcessBuild(root, { mode });

/** `build --check` planning from the caches (no replay of a no-op record): its exit code and how many YAML files it parsed. */
async function check(ws: string): Promise<{ code: number; parsed: number }> {
  seen.parsed = 0;
  const code = await runBuild(buildOptions(ws, "check"));
  return { code, parsed: seen.parsed };
}

test("a build that settles writes the parse cache once, in the settle, and the next check parses nothing", async () => {
  const ws = exampleWorkspace();
  seen.written = [];
  seen.failSettle = false;
  expect(await runBuild(buildOptions(ws))).toBe(0);
  expect(seen.written.filter((name) => name === "plan.json")).toHaveLength(1);
  expect(await check(ws)).toEqual({ code: 0, parsed: 0 });
});

test("a build whose settle never ends leaves caches that plan it correctly: the next check parses again and finds it fresh", async () => {
  const ws = exampleWorkspace();
  seen.written = [];
  seen.failSettle = true;
  await expect(runBuild(buildOptions(ws))).rejects.toThrow("killed in the settle");
  // The build's plan.json was left to the settle: the one on disk is older (here, none).
  expect(seen.written).not.toContain("plan.json");
  const first = await check(ws);
  expect(first.code).toBe(0);
  expect(first.parsed).toBeGreaterThan(0);
  // That check saved what it parsed.
  expect(await check(ws)).toEqual({ code: 0, parsed: 0 });
});
