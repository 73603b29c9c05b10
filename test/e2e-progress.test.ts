import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { CLI, exampleWorkspace } from "./support/cli.js";

/** `chargen ARGS` on a real pseudo-terminal (util-linux `script`), everything it drew. */
function onTerminal(cwd: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; screen: string }> {
  return new Promise((resolve, reject) => {
    const line = [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(" ");
    const child = spawn("script", ["-qec", `stty cols 120 rows 40; ${line}`, "/dev/null"], {
      cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", TERM: "xterm-256color", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let screen = "";
    child.stdout.on("data", (d) => (screen += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, screen }));
  });
}

describe("the terminal progress view", () => {
  it("shows at most -j generations running, one view at a time (no frames stacked)", async () => {
    const ws = exampleWorkspace();
    const r = await onTerminal(ws, ["build", "-j", "2"], { CHARGEN_PLACEHOLDER_LATENCY_MS: "300" });
    expect(r.code).toBe(0);
    const frames = r.screen.split(/(?=\[\d+\/\d+\] building)/).slice(1);
    expect(frames.length).toBeGreaterThan(3);
    for (const frame of frames) {
      const running = Number(/building · (\d+) running/.exec(frame)?.[1] ?? 0);
      expect(running, frame).toBeLessThanOrEqual(2);
      // Each drawing lists what runs once: an output bar that kept earlier views listed more.
      expect(frame.match(/… /g)?.length ?? 0, frame).toBeLessThanOrEqual(2);
    }
    // The example's 14 targets, its companion scene "The Handover" among them.
    expect(r.screen).toContain("[14/14] done");
  });
});
