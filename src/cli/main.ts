/**
 * chargen's commands, each declared with its options (src/cli/contract.ts): a new command or
 * option is an entry here, and its parsing, usage errors and help follow from the declaration.
 */
import { resolve } from "node:path";
import type { BuildOptions } from "../commands/build.js";
import { fs } from "../core/builtins.js";
import { isChargenError } from "../core/errors.js";
import { printable } from "../report/escape.js";
import { onStopSignals, quietOutput, type Write } from "../core/signals.js";
import { PROVIDER_NAMES } from "../providers/names.js";
import { command, commandHelp, commandName, flag, isUsageError, overviewHelp, parseCommand, usageError, valued, type CommandSpec, type GlobalValues } from "./contract.js";

const { statSync, writeSync } = fs;

const out = quietOutput("stdout");
const err = quietOutput("stderr");

/**
 * Output written straight to the file descriptor, for a command that writes alone and last (a
 * replay: a few lines after everything else): no stream to make, a few milliseconds of a no-op
 * check. A descriptor that would block (a full pipe left non-blocking by whoever shares it) gets
 * the rest through the stream; Windows consoles always do (they take UTF-16, not bytes).
 */
export function direct(fd: number, stream: Write): (text: string) => void {
  if (process.platform === "win32") return stream;
  let closed = false;
  let streamed = false;
  return (text) => {
    if (closed) return;
    if (streamed) return stream(text);
    const bytes = Buffer.from(text);
    let done = 0;
    try {
      while (done < bytes.length) done += writeSync(fd, bytes, done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EPIPE") closed = true;
      else if (code === "EAGAIN") {
        streamed = true;
        stream(bytes.subarray(done));
      } else throw e;
    }
  };
}

// Value readers: each names its option and says what it takes, on one line.
const wholeNumber = (option: string, min: number) => (text: string) => {
  if (!/^\d+$/.test(text) || Number(text) < min) throw usageError(`${option} takes a whole number of at least ${min}, got "${text}"`);
  return Number(text);
};
const amount = (option: string, what: string) => (text: string) => {
  if (!/^\d+(\.\d+)?$|^\.\d+$/.test(text.trim())) throw usageError(`${option} takes ${what} (a number, 0 or more), got "${text}"`);
  return Number(text);
};
const providerName = (text: string) => {
  if (!(PROVIDER_NAMES as readonly string[]).includes(text)) throw usageError(`--provider: unknown provider "${text}" (known: ${PROVIDER_NAMES.join(", ")})`);
  return text;
};
/** gc's own readers of sizes and ages, their errors as usage errors. */
const gcValue = (reader: "parseSize" | "parseAge") => async (text: string) => {
  const read = (await import("../commands/gc.js"))[reader];
  try {
    return read(text);
  } catch (e) {
    throw isChargenError(e) ? usageError(e.message) : e;
  }
};

const json = flag("print the result as JSON on stdout");
const provider = valued("NAME", "use this provider for every target (its default model)", providerName);
const model = valued("NAME", "use this model for every target (with --provider: of that provider)", (text: string) => text);

/** The workspace folder -C names (default: here); a file there is a usage error, not a crash later. */
function workspaceRoot(values: GlobalValues): string {
  const root = resolve(values.dir ?? ".");
  if (statSync(root, { throwIfNoEntry: false })?.isDirectory() === false) throw usageError(`-C ${values.dir ?? "."}: not a folder (give the workspace folder)`);
  return root;
}

/** What every workspace command starts from. */
const common = (values: GlobalValues & { json?: boolean; provider?: string; model?: string }) => ({
  root: workspaceRoot(values),
  json: values.json ?? false,
  out,
  err,
  ...(values.provider ? { providerOverride: values.provider } : {}),
  ...(values.model ? { modelOverride: values.model } : {}),
});

const build = command({
  name: "build",
  args: "[PATTERN...]",
  summary: "build stale targets whose ids match the globs (default: all)",
  arity: { min: 0, max: Infinity },
  options: {
    check: flag("decide from the lock and the files only; no provider call, no write; exit 1 if anything is stale"),
    "dry-run": flag("what would be built, why, and what it would cost; no write", "n"),
    explain: flag("say which input made each target stale"),
    json: flag("print the plan (with --check / --dry-run) or the report as JSON on stdout"),
    jobs: valued("N", "generations in flight at once, across providers (default 8)", wholeNumber("-j, --jobs", 1), "j"),
    provider,
    model,
    force: flag("overwrite outputs that were modified by hand"),
    "fail-fast": flag("stop scheduling new work at the first failure"),
    "max-cost": valued("USD", "start no generation that would take the spend past USD", amount("--max-cost", "an amount in USD")),
    watch: flag("build, then rebuild what each save makes stale, until Ctrl-C", "w"),
    debounce: valued("MS", "with --watch: quiet time before a rebuild (default 100)", amount("--debounce", "milliseconds")),
    "no-adopt": flag("do not first adopt the images the YAML already records"),
    batch: flag("submit the stale targets to the providers' batch engines (half price)"),
    wait: flag("with --batch: poll until the jobs finish, then collect them"),
  },
  async run(values, patterns) {
    const startedAt = Date.now();
    if (values.check && values["dry-run"]) throw usageError("--check and --dry-run do not go together");
    if (values.watch && (values.check || values["dry-run"] || values.json)) throw usageError("--watch builds: it does not go with --check, --dry-run or --json");
    const options: BuildOptions = {
      ...common(values),
      patterns,
      mode: values.check ? "check" : values["dry-run"] ? "dry-run" : "build",
      explain: values.explain ?? false,
      jobs: values.jobs ?? 8,
      force: values.force ?? false,
      failFast: values["fail-fast"] ?? false,
      noAdopt: values["no-adopt"] ?? false,
      ...(values["max-cost"] === undefined ? {} : { maxCostUsd: values["max-cost"] }),
      env: process.env,
      githubActions: process.env.GITHUB_ACTIONS === "true",
      progress: async () => {
        const { PlainProgress, TtyProgress } = await import("../report/progress.js");
        const plainOutput = !process.stderr.isTTY || process.env.CI === "true" || values.explain;
        return plainOutput ? new PlainProgress((l) => err(l + "\n"), values.explain ?? false) : TtyProgress.create();
      },
      onInterrupt: onStopSignals,
    };
    if (values.wait && !values.batch) throw usageError("--wait goes with --batch");
    if (values.batch) {
      if (values.check || values.watch) throw usageError("--batch does not go with --check or --watch");
      const { buildBatch, pollInterval } = await import("../commands/batch.js");
      return buildBatch({ ...options, wait: values.wait ?? false, pollMs: pollInterval(process.env) });
    }
    if (values.watch) return (await import("../commands/watch.js")).watch({ ...options, debounceMs: values.debounce ?? 100 });
    const replayed = await (await import("../commands/fast-path.js")).fastPath({ ...options, out: direct(1, out), err: direct(2, err) }, startedAt);
    return replayed ?? (await import("../commands/build.js")).runBuild(options);
  },
});

const targets = command({
  name: "targets",
  args: "[PATTERN...]",
  summary: "list targets: id, output, source file and line (--json: with references)",
  arity: { min: 0, max: Infinity },
  options: { json, provider, model },
  async run(values, patterns) {
    return (await import("../commands/inspect.js")).listTargets({ ...common(values), patterns });
  },
});

const why = command({
  name: "why",
  args: "ID",
  summary: "why one target is fresh or stale, input by input, its key, and its route",
  arity: { min: 1, max: 1 },
  options: { json, provider, model },
  async run(values, [id]) {
    return (await import("../commands/inspect.js")).why({ ...common(values), patterns: [], id: id! });
  },
});

/** `adopt` and `accept` record outputs in the lock without a provider call; they differ in which. */
const recorder = (name: "adopt" | "accept", summary: string) =>
  command({
    name,
    args: "[PATTERN...]",
    summary,
    arity: { min: 0, max: Infinity },
    // Adoption keys recorded images as the rules route them: a recorded image is never a rehearsal's.
    options: { json, "dry-run": flag("what would be recorded; nothing is written", "n"), ...(name === "accept" ? { provider, model } : {}) },
    async run(values, patterns) {
      return (await import("../commands/adopt.js")).adoptOrAccept(name, { ...common(values), patterns, dryRun: values["dry-run"] ?? false });
    },
  });
const adopt = recorder("adopt", "record the images the YAML already records as the outputs of targets with no lock entry: no provider call, no YAML write");
const accept = recorder("accept", "record the current outputs of stale targets as fresh under today's inputs, without regenerating");

const batch = command({
  name: "batch",
  args: "status|collect|cancel|list [JOB]",
  summary: "the batch jobs: status (poll once), collect [JOB] (put results in place), cancel JOB, list (as recorded)",
  arity: { min: 1, max: 2 },
  // A job is collected and applied under the --provider / --model it was submitted with.
  options: { json, wait: flag("with collect: poll until the jobs finish") },
  async run(values, [sub, job]) {
    const commands = await import("../commands/batch.js");
    const options = { ...common(values), env: process.env, pollMs: commands.pollInterval(process.env) };
    switch (sub) {
      case "status":
      case "list":
        if (job) throw usageError(`chargen batch ${sub} takes no job id`);
        return sub === "status" ? commands.batchStatus(options) : commands.batchList(options);
      case "collect":
        return commands.batchCollect({ ...options, wait: values.wait ?? false, ...(job ? { job } : {}) });
      case "cancel":
        if (!job) throw usageError("chargen batch cancel takes a job id (chargen batch list shows them)");
        return commands.batchCancel({ ...options, job });
      default:
        throw usageError(`unknown batch command "${sub}" (status, collect, cancel, list)`);
    }
  },
});

const show = command({
  name: "show",
  args: "ID...",
  summary: "exactly what would be sent, before paying for it: settings, prompt by section, negative, references, key, estimated cost",
  arity: { min: 1, max: Infinity },
  options: { json, provider, model },
  async run(values, ids) {
    return (await import("../commands/show.js")).show({ ...common(values), patterns: ids, ids });
  },
});

const catalog = command({
  name: "catalog",
  args: "[PATTERN...]",
  summary: "image files under entity folders that no record names; --write records them, described and matched to a scene idea",
  arity: { min: 0, max: Infinity },
  options: {
    write: flag("describe each (an analysis target) and append a record for it to its entity's imagery.yaml"),
    "dry-run": flag("what --write would describe, and what it would cost; no provider call, no write", "n"),
    "max-cost": valued("USD", "with --write: start no read that would take the spend past USD", amount("--max-cost", "an amount in USD")),
    json,
    provider,
  },
  async run(values, patterns) {
    if (values["max-cost"] !== undefined && !values.write) throw usageError("--max-cost goes with --write");
    return (await import("../commands/catalog.js")).catalog({
      ...common(values),
      patterns,
      write: values.write ?? false,
      dryRun: values["dry-run"] ?? false,
      ...(values["max-cost"] === undefined ? {} : { maxCostUsd: values["max-cost"] }),
      env: process.env,
    });
  },
});

const gc = command({
  name: "gc",
  summary: "trim the local cache in .chargen/ (outputs the lock names are always kept)",
  arity: { min: 0, max: 0 },
  options: {
    "max-size": valued("SIZE", "keep the store under this size (default 1GB)", gcValue("parseSize")),
    "max-age": valued("AGE", "drop outputs older than this, e.g. 30d, 12h (default 30d)", gcValue("parseAge")),
  },
  async run(values) {
    const { gc: trim, parseAge, parseSize } = await import("../commands/gc.js");
    return trim({ root: workspaceRoot(values), out, maxBytes: values["max-size"] ?? parseSize("1GB"), maxAgeMs: values["max-age"] ?? parseAge("30d") });
  },
});

const init = command({
  name: "init",
  args: "--from-book FILE [DIR]",
  summary: "lay out a workspace from a book (an .epub, or a folder of .md / .txt chapters): one folder per chapter",
  arity: { min: 0, max: 1 },
  options: {
    "from-book": valued("FILE", "the book to lay out (required)", (text: string) => text),
    "dry-run": flag("print the files it would write; nothing is written", "n"),
  },
  async run(values, [dir]) {
    const from = values["from-book"];
    if (from === undefined) throw usageError("needs --from-book FILE (an .epub file, or a folder of chapters)");
    const root = resolve(dir ?? values.dir ?? ".");
    if (statSync(root, { throwIfNoEntry: false })?.isDirectory() === false) throw usageError(`${dir ?? values.dir}: not a folder (give the workspace folder)`);
    return (await import("../commands/init.js")).initFromBook({ from, root, dryRun: values["dry-run"] ?? false, out });
  },
});

const help = command({
  name: "help",
  args: "[COMMAND]",
  summary: "this overview, or one command's options",
  arity: { min: 0, max: 1 },
  options: {},
  async run(_values, [name]) {
    if (name === undefined) {
      out(overview());
      return 0;
    }
    const spec = COMMANDS.find((c) => c.name === name);
    if (!spec) throw usageError(unknownCommand(name));
    out(commandHelp(spec));
    return 0;
  },
});

// Each command has its own option types; the list only needs their shared shape.
const COMMANDS: readonly CommandSpec<any>[] = [build, adopt, accept, batch, targets, why, show, catalog, gc, init, help];

const unknownCommand = (name: string) => `unknown command "${name}" (commands: ${COMMANDS.map((c) => c.name).join(", ")})`;

const overview = () =>
  overviewHelp(
    COMMANDS,
    "chargen: build story images from YAML specifications, incrementally.",
    `Run chargen help COMMAND (or chargen COMMAND --help) for a command's options.
Every command takes -C, --dir DIR (the workspace folder; default: .). chargen --version prints the version.

Exit codes: 0 done / all fresh, 1 a target failed or (with --check) is not fresh,
2 usage, configuration or input error, 130 interrupted (Ctrl-C), 129 hang-up, 143 SIGTERM.
`,
  );

/** Run a command line; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  const { name, rest } = commandName(argv, COMMANDS);
  if (name === undefined) {
    if (rest.includes("--version")) out(`${(await import("../core/version.js")).VERSION}\n`);
    else if (rest.includes("--help") || rest.includes("-h")) out(overview());
    else return usage("no command given");
    return 0;
  }
  const spec = COMMANDS.find((c) => c.name === name);
  if (!spec) return usage(unknownCommand(name));
  try {
    const { values, args } = await parseCommand(spec, rest);
    if (!values.help) return await spec.run(values, args);
    out(commandHelp(spec));
    return 0;
  } catch (e) {
    if (isUsageError(e)) return usage(e.message, spec);
    throw e;
  }
}

/** A usage error: one line saying what is wrong, then the usage of the command it concerns. */
function usage(message: string, spec?: CommandSpec): number {
  err(`chargen${spec ? ` ${spec.name}` : ""}: ${printable(message)}\n\n${spec ? commandHelp(spec) : overview()}`);
  return 2;
}

/** What the process ends with: the command's exit code, or a failure it did not turn into one. */
export function run(argv: string[]): void {
  main(argv).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      if (isChargenError(e) && e.kind === "user") {
        // A user error's message names its file itself; `details` carry it for the JSON and annotations.
        err(`chargen: ${printable(e.message)}\n`);
      } else {
        err(`chargen: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
      }
      process.exitCode = 2;
    },
  );
}
