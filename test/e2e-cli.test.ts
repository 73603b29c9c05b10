import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CH1, chargen, CLI, edit, exampleWorkspace, ROOT } from "./support/cli.js";

/** One line saying what is wrong, then the usage of the command concerned. */
function expectUsageError(r: { code: number | null; stderr: string; stdout: string }, command: string, message: string | RegExp): void {
  expect(r.code).toBe(2);
  expect(r.stdout).toBe("");
  const [first, blank, usage] = r.stderr.split("\n");
  if (typeof message === "string") expect(first).toBe(`chargen ${command}: ${message}`);
  else expect(first).toMatch(message);
  expect(blank).toBe("");
  expect(usage).toMatch(new RegExp(`^Usage: chargen ${command}\\b`));
}

describe("one CLI contract for every command", () => {
  it("an option the command does not take, a malformed value or a missing argument exits 2 with the command's usage", async () => {
    const ws = exampleWorkspace();
    const cases: [string[], string, string][] = [
      [["targets", "--max-cost", "abc"], "targets", "unknown option --max-cost"],
      [["gc", "--jobs", "0"], "gc", "unknown option --jobs"],
      [["targets", "--force"], "targets", "unknown option --force"],
      [["build", "--max-cost", ""], "build", '--max-cost takes an amount in USD (a number, 0 or more), got ""'],
      [["build", "--max-cost", "-1"], "build", '--max-cost takes an amount in USD (a number, 0 or more), got "-1"'],
      [["build", "-j", "-2"], "build", '-j, --jobs takes a whole number of at least 1, got "-2"'],
      [["build", "--jobs"], "build", "--jobs needs a value (N)"],
      [["build", "--check", "--dry-run"], "build", "--check and --dry-run do not go together"],
      [["why"], "why", "needs ID"],
      [["gc", "extra"], "gc", "takes no arguments, got 1"],
      [["help", "frobnicate"], "help", 'unknown command "frobnicate" (commands: build, adopt, accept, batch, targets, why, show, catalog, gc, init, help)'],
    ];
    for (const [args, command, message] of cases) expectUsageError(await chargen(ws, args), command, message);
    const unknown = await chargen(ws, ["frobnicate"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^chargen: unknown command "frobnicate" \(commands: build, adopt, accept, batch, targets, why, show, catalog, gc, init, help\)\n\nchargen: .*\n\nUsage:\n/);
  });

  it("--provider nosuch is one usage error naming the known providers, before any target is planned", async () => {
    const ws = exampleWorkspace();
    const r = await chargen(ws, ["build", "--provider", "nosuch"]);
    expectUsageError(r, "build", '--provider: unknown provider "nosuch" (known: placeholder, google, openai, workers-ai)');
    expect(r.stderr.match(/nosuch/g)).toHaveLength(1);
  });

  it("help comes from the same declarations: chargen help build is chargen build --help", async () => {
    const ws = exampleWorkspace();
    const help = await chargen(ws, ["help", "build"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: chargen build \[PATTERN\.\.\.\] \[OPTIONS\]\n/);
    for (const option of ["--check", "-n, --dry-run", "-j, --jobs N", "--max-cost USD", "-C, --dir DIR"]) expect(help.stdout).toContain(option);
    expect((await chargen(ws, ["build", "--help"])).stdout).toBe(help.stdout);
    const overview = await chargen(ws, ["--help"]);
    expect(overview.code).toBe(0);
    for (const name of ["build", "targets", "why", "gc", "help"]) expect(overview.stdout).toMatch(new RegExp(`^  chargen ${name}\\b`, "m"));
    expect((await chargen(ws, [])).code).toBe(2);
  });

  it("a closed stdout ends the command quietly (chargen targets | head -1)", async () => {
    const ws = exampleWorkspace();
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, "targets"], { cwd: ws, stdio: ["ignore", "pipe", "pipe"] });
      // The reader goes away before chargen writes its first line.
      child.stdout.destroy();
      let stderr = "";
      child.stderr.on("data", (d) => (stderr += d));
      child.on("close", (code) => resolve({ code, stderr }));
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("an unsupported Node (the machines' Node 20) exits 2 naming the Node it needs", () => {
    // /usr/bin/node is the system's Node 20 on these machines; npm's Node is the project's own.
    const old = spawnSync("/usr/bin/node", ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim();
    expect(Number(old.split(".")[0])).toBeLessThan(22);
    const r = spawnSync("/usr/bin/node", [CLI, "build"], { encoding: "utf8" });
    const engines = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { engines: { node: string } }).engines.node;
    expect(r.stderr).toMatch(new RegExp(`^chargen: needs Node ${engines.replace(">=", "").replace(".", "\\.")} or newer; this is Node 20\\.`));
    expect(r.stderr).not.toContain("    at ");
    expect(r.status).toBe(2);
  });

  it("an id with a newline, a workflow command and an escape sequence prints inert: no injected line, no raw escape", async () => {
    const ws = exampleWorkspace();
    const hostile = 'ch01-x\\n::add-mask::leak\\x1b[31mred';
    edit(join(ws, CH1, "imagery.yaml"), '- custom_id: "ch01-the-grey-tide-img-03"', `- custom_id: "${hostile}"`);
    const runs = [
      await chargen(ws, ["build", "--check"], { env: { GITHUB_ACTIONS: "true" } }),
      await chargen(ws, ["targets"]),
      await chargen(ws, ["build"]),
    ];
    for (const r of runs) {
      const printed = r.stdout + r.stderr;
      expect(printed).not.toContain("\u001b");
      for (const line of printed.split("\n")) expect(line).not.toMatch(/^::(?!warning file=)/);
    }
    // The boundary refuses such an id: its diagnostic shows it escaped.
    expect(runs.map((r) => r.stdout + r.stderr).join("")).toContain('custom_id "ch01-x\\n::add-mask::leak\\u001b[31mred" is not a safe file name');
  });
});
