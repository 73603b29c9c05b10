import { spawn } from "node:child_process";
import { cpSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { expect } from "vitest";
import { readLock, type Lock } from "../../src/cache/lockfile.js";
import { scratchDir } from "./tmp.js";

/** End-to-end tests run the compiled CLI (npm test builds it first) with the project's Node. */
export const ROOT = join(import.meta.dirname, "..", "..");
export const CLI = join(ROOT, "dist", "src", "cli.js");
export const EXAMPLE = join(ROOT, "examples", "lantern-keepers");

/** A fresh copy of the example workspace in a temporary folder. */
export function exampleWorkspace(): string {
  const dir = scratchDir("chargen-e2e-");
  // Never a cache or lock someone left in the example by building it in place.
  cpSync(EXAMPLE, dir, { recursive: true, filter: (src) => !/[/\\](\.chargen|chargen\.lock|\.calls\.log)$/.test(src) });
  return dir;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string>;
  /** Called with the child once started (to kill it mid-build). */
  onSpawn?: (child: ReturnType<typeof spawn>) => void;
}

/** Run `chargen ARGS` in `cwd`, with a clean environment: no provider keys, no CI, no colour. */
export function chargen(cwd: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", NO_COLOR: "1", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    options.onSpawn?.(child);
  });
}

/** `chargen build --json` parsed, with the placeholder's completed generations counted through its call log. */
export async function buildJson(cwd: string, args: string[] = [], env: Record<string, string> = {}) {
  const log = join(cwd, ".calls.log");
  const before = calls(log).length;
  const result = await chargen(cwd, ["build", "--json", ...args], { env: { CHARGEN_PLACEHOLDER_CALL_LOG: log, ...env } });
  const report = result.stdout ? JSON.parse(result.stdout) : undefined;
  return { ...result, report, calls: calls(log).slice(before) };
}

/** Target ids of completed placeholder generations recorded in a call log. */
export function calls(log: string): string[] {
  return callLog(log).map((c) => c.id);
}

/** Completed placeholder generations recorded in a call log: target id and the reference paths sent. */
export function callLog(log: string): { id: string; references: string[] }[] {
  if (!existsSync(log)) return [];
  return readFileSync(log, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const [id, , , references] = l.split("\t");
      return { id: id!, references: references ? references.split(",") : [] };
    });
}

/** Every file under `dir` (relative path -> bytes), for byte-level comparisons. */
export function snapshot(dir: string, skip: (rel: string) => boolean = (r) => r.startsWith(".chargen") || r === ".calls.log"): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const rel = relative(dir, p);
      if (skip(rel)) continue;
      if (statSync(p).isDirectory()) walk(p);
      else out.set(rel, readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

export const statuses = (report: { targets: { id: string; status: string }[] }) => Object.fromEntries(report.targets.map((t) => [t.id, t.status]));

export const CH1 = "chapters/ch01-the-grey-tide";
export const IMG1 = `${CH1}/ch01-the-grey-tide-img-01`;
export const IMG2 = `${CH1}/ch01-the-grey-tide-img-02`;
export const IMG3 = `${CH1}/ch01-the-grey-tide-img-03`;

/** Replace text in a file, failing the test when the text to replace is not there. */
export function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, "utf8");
  const next = text.replace(from, to);
  expect(next, `${file} has no ${String(from)}`).not.toBe(text);
  writeFileSync(file, next);
}

/** The workspace's `chargen.lock` as chargen reads it. */
export function lockOf(ws: string): Lock {
  return readLock(join(ws, "chargen.lock")).lock;
}
