#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=16 --heap-growing-percent=50
// The V8 flags bound a build's peak memory (see BENCHMARKS.md, "Peak memory"): what a build keeps
// alive is small and flat, but by default V8 grows the young generation to 128 MB and lets the old
// one reach several times its live size before collecting, so the peak grew with the build's length.
// The fixed mmap threshold keeps glibc from raising it after each large buffer freed, which left
// later ones in its heap as holes it never gave back: the process grew with the targets built.
// Neither can be set once Node runs.
// The entry stays loadable by older Node versions (no import that they lack): it checks the
// version before anything else is loaded, so that an unsupported Node gets a sentence, not a
// stack trace. Keep MINIMUM_NODE in step with package.json's engines.
const MINIMUM_NODE = [22, 13] as const;

const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < MINIMUM_NODE[0] || (major === MINIMUM_NODE[0] && minor < MINIMUM_NODE[1])) {
  process.stderr.write(
    `chargen: needs Node ${MINIMUM_NODE.join(".")} or newer; this is Node ${process.versions.node} (${process.execPath}).\n` +
      "Run it through npm (npx chargen, npm run ...), which uses the Node that npm ci installed, or install a newer Node.\n",
  );
  process.exitCode = 2;
} else {
  // V8's code cache on disk: later runs skip compiling chargen and its dependencies.
  process.getBuiltinModule("node:module").enableCompileCache?.(); // not import(): see core/builtins.ts
  (await import("./cli/main.js")).run(process.argv.slice(2));
}
