#!/usr/bin/env node
import { enableCompileCache } from "node:module";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import type { BuildOptions } from "./commands/build.js";
import { isChargenError } from "./errors.js";

// V8's code cache on disk: later runs skip compiling chargen and its dependencies.
enableCompileCache?.();

const HELP = `chargen: build story images from YAML specifications, incrementally.

Usage:
  chargen build [PATTERN...]     build stale targets whose ids match the globs (default: all)
      --check                    no provider call, no write: exit 1 if anything is stale
  -n, --dry-run                  what would be built, why, and what it would cost
      --explain                  say which input made each target stale
      --json                     print the plan or report as JSON on stdout
  -j, --jobs N                   generations in flight at once, all providers (default 8)
      --provider NAME            use this provider for every target
      --force                    overwrite outputs that were modified by hand
      --fail-fast                stop scheduling at the first failure
      --max-cost USD             start no generation that would take the spend past USD
  -w, --watch                    build, then rebuild what each save makes stale, until Ctrl-C
      --debounce MS              with --watch: quiet time before a rebuild (default 100)
      --batch                    submit the stale targets to the providers' batch engines (half price)
      --wait                     with --batch: poll until the jobs finish, then collect them
  chargen batch status [--json]  poll and show every batch job: state, done/total, age, cost
  chargen batch collect [JOB]    put the results of finished jobs in place (--wait: until done)
  chargen batch cancel JOB       cancel a job (partial results are still collected)
  chargen batch list             the jobs as recorded, no provider call
  chargen targets [PATTERN...]   list targets (id, output, source line)
  chargen why ID                 why a target is fresh or stale, input by input
  chargen gc [--max-size 1GB] [--max-age 30d]   trim the cache in .chargen/

Options for every command:
  -C, --dir DIR                  the workspace folder (default: .)
  -h, --help, --version

Exit codes: 0 done / all fresh, 1 a target failed or (with --check) is not fresh,
2 usage, configuration or input error, 130 interrupted.
`;

async function main(argv: string[]): Promise<number> {
  const startedAt = Date.now();
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      check: { type: "boolean" },
      "dry-run": { type: "boolean", short: "n" },
      explain: { type: "boolean" },
      json: { type: "boolean" },
      jobs: { type: "string", short: "j" },
      provider: { type: "string" },
      force: { type: "boolean" },
      "fail-fast": { type: "boolean" },
      "max-cost": { type: "string" },
      watch: { type: "boolean", short: "w" },
      batch: { type: "boolean" },
      wait: { type: "boolean" },
      debounce: { type: "string" },
      dir: { type: "string", short: "C" },
      "max-size": { type: "string" },
      "max-age": { type: "string" },
      help: { type: "boolean", short: "h" },
      version: { type: "boolean" },
    },
  });
  const out = (t: string) => void process.stdout.write(t);
  const err = (t: string) => void process.stderr.write(t);
  if (values.version) {
    out(`${(await import("./version.js")).VERSION}\n`);
    return 0;
  }
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    (values.help ? out : err)(HELP);
    return values.help ? 0 : 2;
  }
  const root = resolve(values.dir ?? ".");
  const common = { root, json: values.json ?? false, out, err, ...(values.provider ? { providerOverride: values.provider } : {}) };
  switch (command) {
    case "build": {
      if (values.check && values["dry-run"]) return usage("--check and --dry-run do not go together");
      const jobs = values.jobs === undefined ? 8 : Number(values.jobs);
      if (!Number.isInteger(jobs) || jobs < 1) return usage(`-j takes a whole number of at least 1, got "${values.jobs}"`);
      const maxCost = values["max-cost"] === undefined ? undefined : Number(values["max-cost"]);
      if (maxCost !== undefined && !(maxCost >= 0)) return usage(`--max-cost takes an amount in USD, got "${values["max-cost"]}"`);
      if (values.watch && (values.check || values["dry-run"] || values.json)) return usage("--watch builds: it does not go with --check, --dry-run or --json");
      const debounceMs = values.debounce === undefined ? 100 : Number(values.debounce);
      if (!(debounceMs >= 0)) return usage(`--debounce takes milliseconds, got "${values.debounce}"`);
      const plainOutput = !process.stderr.isTTY || process.env.CI === "true" || values.explain;
      const build: BuildOptions = {
        ...common,
        patterns: rest,
        mode: values.check ? "check" : values["dry-run"] ? "dry-run" : "build",
        explain: values.explain ?? false,
        jobs,
        force: values.force ?? false,
        failFast: values["fail-fast"] ?? false,
        ...(maxCost === undefined ? {} : { maxCostUsd: maxCost }),
        env: process.env,
        githubActions: process.env.GITHUB_ACTIONS === "true",
        err,
        progress: async () => {
          const { PlainProgress, TtyProgress } = await import("./report/progress.js");
          return plainOutput ? new PlainProgress((l) => err(l + "\n"), values.explain ?? false) : TtyProgress.create();
        },
        onInterrupt: (handler) => {
          process.on("SIGINT", handler);
          process.on("SIGTERM", handler);
          return () => {
            process.off("SIGINT", handler);
            process.off("SIGTERM", handler);
          };
        },
      };
      if (values.wait && !values.batch) return usage("--wait goes with --batch");
      if (values.batch) {
        if (values.check || values.watch) return usage("--batch does not go with --check or --watch");
        const { buildBatch, pollInterval } = await import("./batch/commands.js");
        return buildBatch({ ...build, wait: values.wait ?? false, pollMs: pollInterval(process.env) });
      }
      if (values.watch) return (await import("./commands/watch.js")).watch({ ...build, debounceMs });
      const replayed = (await import("./commands/fast-path.js")).fastPath(build, startedAt);
      return replayed ?? (await import("./commands/build.js")).runBuild(build);
    }
    case "batch": {
      const [sub, job, ...extra] = rest;
      const batch = await import("./batch/commands.js");
      const options = { ...common, env: process.env, pollMs: batch.pollInterval(process.env) };
      if (extra.length) return usage(`chargen batch ${sub} takes at most one job id`);
      switch (sub) {
        case "status":
          return batch.batchStatus(options);
        case "list":
          return batch.batchList(options);
        case "collect":
          return batch.batchCollect({ ...options, wait: values.wait ?? false, ...(job ? { job } : {}) });
        case "cancel":
          if (!job) return usage("chargen batch cancel takes a job id (chargen batch list shows them)");
          return batch.batchCancel({ ...options, job });
        default:
          return usage(`unknown batch command "${sub ?? ""}" (status, collect, cancel, list)`);
      }
    }
    case "targets":
      return (await import("./commands/inspect.js")).listTargets({ ...common, patterns: rest });
    case "why": {
      if (rest.length !== 1) return usage("chargen why takes one target id");
      return (await import("./commands/inspect.js")).why({ ...common, patterns: [], id: rest[0]! });
    }
    case "gc": {
      const { gc, parseAge, parseSize } = await import("./commands/gc.js");
      return gc({ root, out, maxBytes: parseSize(values["max-size"] ?? "1GB"), maxAgeMs: parseAge(values["max-age"] ?? "30d") });
    }
    default:
      return usage(`unknown command "${command}"`);
  }
}

function usage(message: string): number {
  process.stderr.write(`chargen: ${message}\nRun chargen --help for usage.\n`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    if (isChargenError(e) && e.kind === "user") {
      const where = e.details.file ? `${e.details.file}${e.details.line ? `:${e.details.line}` : ""}: ` : "";
      process.stderr.write(`chargen: ${where && !e.message.startsWith(e.details.file ?? "\0") ? where : ""}${e.message}\n`);
      process.exitCode = 2;
    } else if (e instanceof TypeError && (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      process.exitCode = usage(e.message);
    } else {
      process.stderr.write(`chargen: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      process.exitCode = 2;
    }
  },
);
