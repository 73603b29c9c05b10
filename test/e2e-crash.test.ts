import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { buildJson, calls, chargen, exampleWorkspace, snapshot } from "./support/cli.js";

const journalLines = (ws: string) => {
  const p = join(ws, ".chargen", "actions.jsonl");
  return existsSync(p) ? readFileSync(p, "utf8").split("\n").filter(Boolean).length : 0;
};

async function waitFor(cond: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every YAML under the workspace still parses. */
function allYamlParses(ws: string): void {
  for (const [rel, bytes] of snapshot(ws)) {
    if (rel.endsWith(".yaml")) expect(parseDocument(bytes.toString("utf8")).errors, rel).toEqual([]);
  }
}

describe("interruption and concurrency", () => {
  it("kill -9 mid-build: the rerun pays for nothing twice and leaves no half-written file", async () => {
    const ws = exampleWorkspace();
    const log = join(ws, ".calls.log");
    const env = { CHARGEN_PLACEHOLDER_CALL_LOG: log, CHARGEN_PLACEHOLDER_LATENCY_MS: "250" };
    const killed = await chargen(ws, ["build", "-j", "1"], {
      env,
      onSpawn: (child) => {
        void waitFor(() => journalLines(ws) >= 2).then(() => child.kill("SIGKILL"));
      },
    });
    expect(killed.code).toBe(null);
    const paidBefore = calls(log);
    expect(paidBefore.length).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(ws, ".chargen", "build.pid"))).toBe(true); // left by the dead process

    const rerun = await buildJson(ws, [], env);
    expect(rerun.code).toBe(0);
    const ids = rerun.report.targets.map((t: { id: string }) => t.id).sort();
    // Every target was paid for exactly once across both runs.
    expect([...paidBefore, ...rerun.calls].sort()).toEqual(ids);
    for (const t of rerun.report.targets) expect(["built", "cached", "fresh"]).toContain(t.status);
    expect(JSON.parse(readFileSync(join(ws, "chargen.lock"), "utf8")).targets).toBeTypeOf("object");
    allYamlParses(ws);
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0);
  });

  const stops = [
    { signal: "SIGINT", code: 130, what: "Ctrl-C" },
    { signal: "SIGHUP", code: 129, what: "a closed terminal (SIGHUP)" },
    { signal: "SIGTERM", code: 143, what: "SIGTERM" },
  ] as const;
  it.each(stops)("$what stops scheduling, records what was in flight, exits $code, releases build.pid; the next build sends nothing again", async ({ signal, code }) => {
    const ws = exampleWorkspace();
    const log = join(ws, ".calls.log");
    const env = { CHARGEN_PLACEHOLDER_CALL_LOG: log, CHARGEN_PLACEHOLDER_LATENCY_MS: "400" };
    const r = await chargen(ws, ["build", "-j", "2"], {
      env,
      onSpawn: (child) => {
        // Interrupt once the first two generations are in flight.
        let seen = "";
        let sent = false;
        child.stderr!.on("data", (d) => {
          seen += d;
          if (!sent && (seen.match(/generating/g) ?? []).length >= 2) {
            sent = true;
            child.kill(signal);
          }
        });
      },
    });
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(/interrupted( \(SIG[A-Z]+\))?: letting requests in flight finish/);
    expect(existsSync(join(ws, ".chargen", "build.pid"))).toBe(false);
    const paid = calls(log);
    expect(paid).toHaveLength(2); // the two in flight finished...
    const lock = JSON.parse(readFileSync(join(ws, "chargen.lock"), "utf8"));
    expect(Object.keys(lock.targets).sort()).toEqual([...paid].sort()); // ...and were recorded
    const rest = await buildJson(ws, [], env);
    expect(rest.code).toBe(0);
    expect(rest.calls.filter((id) => paid.includes(id))).toEqual([]);
    expect(rest.calls.length + paid.length).toBe(rest.report.summary.total);
  });

  it.each(stops)("watch mode: $what records what was in flight, exits $code and releases build.pid", async ({ signal, code }) => {
    const ws = exampleWorkspace();
    const log = join(ws, ".calls.log");
    const r = await chargen(ws, ["build", "--watch", "-j", "2"], {
      env: { CHARGEN_PLACEHOLDER_CALL_LOG: log, CHARGEN_PLACEHOLDER_LATENCY_MS: "400" },
      onSpawn: (child) => {
        void waitFor(() => calls(log).length >= 1).then(() => child.kill(signal));
      },
    });
    expect(r.code).toBe(code);
    expect(existsSync(join(ws, ".chargen", "build.pid"))).toBe(false);
    const paid = calls(log);
    const rest = await buildJson(ws, [], { CHARGEN_PLACEHOLDER_LATENCY_MS: "0" });
    expect(rest.calls.filter((id) => paid.includes(id))).toEqual([]);
  });

  it("two builds in one workspace cannot run at once; a lock left by a dead process is taken over", async () => {
    const ws = exampleWorkspace();
    const env = { CHARGEN_PLACEHOLDER_LATENCY_MS: "300" };
    const first = chargen(ws, ["build", "-j", "1"], { env });
    await waitFor(() => existsSync(join(ws, ".chargen", "build.pid")));
    const second = await chargen(ws, ["build"], { env });
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/another chargen build is running in this workspace \(pid \d+/);
    expect((await first).code).toBe(0);
    expect(existsSync(join(ws, ".chargen", "build.pid"))).toBe(false);

    // A dead holder (pid far beyond any live process) is detected at once.
    mkdirSync(join(ws, ".chargen"), { recursive: true });
    writeFileSync(join(ws, ".chargen", "build.pid"), JSON.stringify({ pid: 2 ** 22 + 7, host: (await import("node:os")).hostname(), startedAt: "x" }));
    const third = await chargen(ws, ["build"]);
    expect(third.code).toBe(0);
  });
});
