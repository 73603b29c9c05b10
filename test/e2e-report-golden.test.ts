import { afterEach, describe, expect, it } from "vitest";
import { golden } from "./fixtures/rules/harness.js";
import { buildJson } from "./support/cli.js";
import { cleanUp, providerEnv, startFake } from "./support/e2e-providers.js";
import { renamingWorkspace } from "./support/rounds.js";

afterEach(cleanUp);

/**
 * The shape of `build --json`, whole: a change of the report (a field added, renamed or moved)
 * changes this file (UPDATE_GOLDEN=1 rewrites it; README's JSON report section then changes too).
 * Two rounds, a data target's answer, a refused picture and what the pictures cost; the duration,
 * the one thing that varies, is 0.
 */
describe("build --json", () => {
  it("prints the report the golden file holds", async () => {
    const fake = await startFake("google");
    fake.inject({ kind: "safety", where: "prompt" });
    const r = await buildJson(renamingWorkspace(), ["-j", "1"], providerEnv("google", fake));
    expect(r.code).toBe(1);
    const { actual, expected } = golden("build-json", `${JSON.stringify({ ...r.report, summary: { ...r.report.summary, durationMs: 0 } }, null, 2)}\n`);
    expect(actual).toBe(expected);
  });
});
