import type { BuildOptions } from "../../src/commands/build.js";
import { silentProgress } from "../../src/report/progress.js";

/** A quiet JSON `build` of `root` run in the test's own process (runBuild), with the placeholder answering at once. */
export const inProcessBuild = (root: string, overrides: Partial<BuildOptions> = {}): BuildOptions => ({
  root,
  patterns: [],
  mode: "build",
  explain: false,
  json: true,
  jobs: 4,
  force: false,
  failFast: false,
  env: { CHARGEN_PLACEHOLDER_LATENCY_MS: "0" },
  githubActions: false,
  out: () => {},
  err: () => {},
  progress: async () => silentProgress,
  onInterrupt: () => () => {},
  ...overrides,
});
