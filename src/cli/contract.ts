/**
 * The CLI contract, declared once per command: its options (with how each value is read), its
 * arguments, and what it runs. Parsing, usage errors and help are all generated from these
 * declarations, so every command accepts exactly what its help says, and nothing else.
 *
 * node:util's parseArgs reads the tokens (non-strict, so that this module words every error in
 * one line itself); no CLI library: commander and the like print and exit on their own terms,
 * and the contract here is small.
 */
import { util } from "../core/builtins.js";
import { ChargenError } from "../core/errors.js";

const { parseArgs } = util;

export interface OptionSpec<T> {
  /** One-letter alias, e.g. "j" for `-j`. */
  short?: string;
  /** The value's placeholder in help (`N`, `USD`); absent for a flag. */
  value?: string;
  help: string;
  /** Read the value's text; throws `usageError` when it is not one. Flags have none. */
  parse?: (text: string) => T | Promise<T>;
}

// The value types of a command's options: a flag is a boolean, a valued option what its parse returns.
type AnyOption = OptionSpec<any>;
export type OptionValues<O extends Record<string, AnyOption>> = { [K in keyof O]?: O[K] extends OptionSpec<infer T> ? T : never };

export interface CommandSpec<O extends Record<string, AnyOption> = Record<string, AnyOption>> {
  name: string;
  /** The arguments as help shows them: `[PATTERN...]`, `ID`. */
  args?: string;
  summary: string;
  /** How many positional arguments it takes. */
  arity: { min: number; max: number };
  options: O;
  run(values: OptionValues<O> & GlobalValues, args: string[]): Promise<number>;
}

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  dir: { short: "C", value: "DIR", help: "the workspace folder (default: .)", parse: (text: string) => text },
  help: { short: "h", help: "this command's options" },
} satisfies Record<string, AnyOption>;
export type GlobalValues = OptionValues<typeof GLOBAL_OPTIONS>;

/** Declare a command; the identity function is there for the type inference of its options. */
export const command = <O extends Record<string, AnyOption>>(spec: CommandSpec<O>): CommandSpec<O> => spec;
export const flag = (help: string, short?: string): OptionSpec<boolean> => ({ help, ...(short ? { short } : {}) });
export const valued = <T>(value: string, help: string, parse: (text: string) => T | Promise<T>, short?: string): OptionSpec<T> => ({
  value,
  help,
  parse,
  ...(short ? { short } : {}),
});

export const usageError = (message: string) => new ChargenError("user", message, { code: "USAGE" });
export const isUsageError = (e: unknown): e is ChargenError => e instanceof ChargenError && e.details.code === "USAGE";

/** The command a command line names: its first argument that is not an option or an option's value. */
export function commandName(argv: string[], commands: readonly CommandSpec[]): { name: string | undefined; rest: string[] } {
  // Every option of every command, so that `chargen -j 4 build` finds "build", not "4".
  const options = Object.fromEntries(
    [GLOBAL_OPTIONS, ...commands.map((c) => c.options)].flatMap((o) => Object.entries(o as Record<string, AnyOption>)).map(([name, spec]) => [name, toParseArgs(spec)]),
  );
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const first = tokens.find((t) => t.kind === "positional" || t.kind === "option-terminator");
  if (first?.kind !== "positional") return { name: undefined, rest: argv };
  return { name: first.value, rest: argv.filter((_, i) => i !== first.index) };
}

/** The values and arguments of one command's line; anything it does not declare is a usage error. */
export async function parseCommand<O extends Record<string, AnyOption>>(spec: CommandSpec<O>, argv: string[]): Promise<{ values: OptionValues<O> & GlobalValues; args: string[] }> {
  const declared: Record<string, AnyOption> = { ...GLOBAL_OPTIONS, ...spec.options };
  const options = Object.fromEntries(Object.entries(declared).map(([name, o]) => [name, toParseArgs(o)]));
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const values: Record<string, unknown> = {};
  const args: string[] = [];
  for (const token of tokens) {
    if (token.kind === "positional") args.push(token.value);
    if (token.kind !== "option") continue;
    const option = declared[token.name];
    if (!option) throw usageError(`unknown option ${token.rawName}`);
    if (!option.parse) {
      if (token.value !== undefined) throw usageError(`${token.rawName} takes no value`);
      values[token.name] = true;
    } else if (token.value === undefined) {
      throw usageError(`${token.rawName} needs a value (${option.value})`);
    } else {
      values[token.name] = await option.parse(token.value);
    }
  }
  if (!values.help) {
    const { min, max } = spec.arity;
    if (args.length < min) throw usageError(`needs ${spec.args ?? "an argument"}`);
    if (args.length > max) throw usageError(`takes ${max === 0 ? "no arguments" : `at most ${max} argument${max === 1 ? "" : "s"}`}, got ${args.length}`);
  }
  return { values: values as OptionValues<O> & GlobalValues, args };
}

const toParseArgs = (o: AnyOption) => ({ type: o.parse ? ("string" as const) : ("boolean" as const), ...(o.short ? { short: o.short } : {}) });

/** `chargen help COMMAND` and `chargen COMMAND --help`: its usage line, summary and every option. */
export function commandHelp(spec: CommandSpec): string {
  const rows = [...Object.entries(spec.options), ...Object.entries(GLOBAL_OPTIONS)].map(([name, o]: [string, AnyOption]) => {
    const names = `${o.short ? `-${o.short}, ` : "    "}--${name}${o.value ? ` ${o.value}` : ""}`;
    return `  ${names.padEnd(24)} ${o.help}`;
  });
  return `Usage: chargen ${spec.name}${spec.args ? ` ${spec.args}` : ""} [OPTIONS]\n${spec.summary}\n\nOptions:\n${rows.join("\n")}\n`;
}

/** `chargen --help`: every command in one line each. */
export function overviewHelp(commands: readonly CommandSpec[], intro: string, outro: string): string {
  const rows = commands.map((c) => `  ${`chargen ${c.name}${c.args ? ` ${c.args}` : ""}`.padEnd(30)} ${c.summary}`);
  return `${intro}\n\nUsage:\n${rows.join("\n")}\n\n${outro}`;
}
