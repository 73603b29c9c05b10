import { describe, expect, it } from "vitest";
import { command, commandHelp, commandName, flag, isUsageError, parseCommand, usageError, valued } from "../src/cli/contract.js";

// A command as a later one is declared: a few lines, and parsing and help follow.
const even = (text: string) => {
  if (!/^\d+$/.test(text) || Number(text) % 2) throw usageError(`--pairs takes an even number, got "${text}"`);
  return Number(text);
};
const adopt = command({
  name: "adopt",
  args: "[PATTERN...]",
  summary: "record outputs already on disk",
  arity: { min: 0, max: 2 },
  options: { batch: flag("in batches", "b"), pairs: valued("N", "how many pairs", even) },
  run: async () => 0,
});

async function usageMessage(argv: string[]): Promise<string> {
  try {
    await parseCommand(adopt, argv);
  } catch (e) {
    if (isUsageError(e)) return e.message;
    throw e;
  }
  return "no error";
}

describe("the CLI contract", () => {
  it("reads a command's declared options, typed, with the global ones", async () => {
    const { values, args } = await parseCommand(adopt, ["x/*", "-b", "--pairs=4", "-C", "ws"]);
    expect(values).toEqual({ batch: true, pairs: 4, dir: "ws" });
    expect(args).toEqual(["x/*"]);
  });

  it("an undeclared option, a malformed or missing value, a wrong argument count: one line each", async () => {
    expect(await usageMessage(["--force"])).toBe("unknown option --force");
    expect(await usageMessage(["--pairs", "3"])).toBe('--pairs takes an even number, got "3"');
    expect(await usageMessage(["--pairs"])).toBe("--pairs needs a value (N)");
    expect(await usageMessage(["--batch=yes"])).toBe("--batch takes no value");
    expect(await usageMessage(["a", "b", "c"])).toBe("takes at most 2 arguments, got 3");
  });

  it("finds the command whatever options come first, and writes help from the declarations", () => {
    expect(commandName(["--pairs", "2", "adopt", "x"], [adopt])).toEqual({ name: "adopt", rest: ["--pairs", "2", "x"] });
    expect(commandName(["-C", "ws"], [adopt]).name).toBeUndefined();
    const help = commandHelp(adopt);
    expect(help).toContain("Usage: chargen adopt [PATTERN...] [OPTIONS]\n");
    expect(help).toMatch(/^ {2}-b, --batch +in batches$/m);
    expect(help).toMatch(/^ {6}--pairs N +how many pairs$/m);
    expect(help).toMatch(/^ {2}-C, --dir DIR/m);
  });
});
