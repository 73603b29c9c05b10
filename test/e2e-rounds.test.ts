import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { BuildEvent } from "../src/model/events.js";
import { JsonReporter } from "../src/report/json-reporter.js";
import { buildJson } from "./support/cli.js";
import { cleanUp, generations, providerEnv, startFake } from "./support/e2e-providers.js";
import { scratchDir } from "./support/tmp.js";

afterEach(cleanUp);

/**
 * A rule of the workspace's own whose reading renames the pictures its write-back comes before:
 * `pictures/rename` (a read, on the placeholder, free) answers a suffix and writes it into
 * pictures.yaml, and each picture's id carries that suffix. The pictures come after the reading
 * (`after`), so the build plans them again once it is written; the old ids are gone from that
 * plan, and nothing adds the new ones (only a chapter's specification grows a running build):
 * the build's next round plans the files as they are now and builds them. `pictures/keep` comes
 * after the reading too, under an id the reading does not change: planned again in place.
 */
function renamingWorkspace(googlePrices = ""): string {
  const ws = scratchDir("chargen-rounds-");
  writeFileSync(join(ws, "pictures.yaml"), "pictures: [alpha, gamma]\n");
  writeFileSync(
    join(ws, "chargen.rules.ts"),
    `import { dataTarget } from "chargen";
const at = (file) => ({ file: file.path, line: 1, column: 1 });
const pictures = {
  name: "pictures",
  sources: ["pictures.yaml"],
  plan(file, ctx) {
    const doc = file.doc.toJSON();
    const suffix = doc.suffix ?? "";
    ctx.emit(dataTarget({ id: "pictures/rename", rule: "pictures", source: at(file), images: [], writeBack: {},
      read: { instructions: "Pick a suffix.", version: "1", texts: [{ label: "names", text: "alpha, gamma" }],
        schema: { name: "suffix", schema: { type: "object", properties: { suffix: { type: "string", enum: ["-2"] } }, required: ["suffix"] } } } }));
    for (const name of [...doc.pictures.map((p) => p + suffix), "keep"]) {
      ctx.emit({ id: "pictures/" + name, rule: "pictures", source: at(file), references: [], requested: {}, after: ["pictures/rename"],
        prompt: { compiler: "pictures/1", parts: [{ role: "scenario", text: "A picture of " + name }], negative: [] }, output: "pictures/" + name + ".png" });
    }
  },
  writeBack({ outcome, edit }) {
    if (outcome.answer) edit(outcome.target.source.file).set([], "suffix", outcome.answer.suffix);
  },
};
export default {
  rules: [pictures],
  routing: "rules",
  defaults: { provider: "google", model: "gemini-2.5-flash-image", read: { provider: "placeholder", model: "placeholder-1" } },
  // The reading is free and priced (an unpriced one would not start under --max-cost).
  prices: { placeholder: { "placeholder-1": { image: {}, tokens: { textInput: 0, imageInput: 0, textOutput: 0, imageOutput: 0 } } }, ${googlePrices} },
  providers: { google: { maxInFlight: 1, perMinute: 1000 } },
};
`,
  );
  return ws;
}

const statusesOf = (report: { targets: { id: string; status: string }[] }) => report.targets.map((t) => [t.id, t.status]);

describe("a build's next round: a write-back renamed targets the running build had planned", () => {
  it("builds them under their new ids in a second round: each target once, one report of both rounds, exit 0", async () => {
    const fake = await startFake("google");
    const ws = renamingWorkspace();
    const r = await buildJson(ws, ["-j", "1"], { ...providerEnv("google", fake), CHARGEN_DEBUG: "events" });
    // Two rounds in one event stream, and the report is what that stream says.
    const events = r.stderr.split("\n").filter((l) => l.startsWith("[event] ")).map((l) => JSON.parse(l.slice(8)) as BuildEvent);
    expect(events.filter((e) => e.type === "planned")).toHaveLength(2);
    const reporter = new JsonReporter("build");
    events.forEach((e) => reporter.log(e));
    expect(r.report).toEqual(reporter.report());
    expect(r.calls).toEqual(["pictures/rename"]);
    const prompts = generations(fake).map((g) => JSON.stringify(g.body).match(/A picture of ([\w-]+)/)![1]);
    expect(prompts).toEqual(["keep", "alpha-2", "gamma-2"]);
    expect(statusesOf(r.report)).toEqual([
      ["pictures/rename", "built"],
      ["pictures/alpha-2", "built"],
      ["pictures/gamma-2", "built"],
      ["pictures/keep", "built"],
    ]);
    expect(r.report.summary).toMatchObject({ built: 4, skipped: 0, providerCalls: 4, exitCode: 0 });
    expect(r.code).toBe(0);
    expect((await buildJson(ws, [], providerEnv("google", fake))).report.summary).toMatchObject({ fresh: 4, providerCalls: 0 });
    expect(generations(fake).length).toBe(3);
  });

  it("--max-cost spans the rounds: the second spends what the first left", async () => {
    const fake = await startFake("google");
    const ws = renamingWorkspace();
    // One picture costs about $0.039: the first round spends one (keep); $0.1 leaves room for one more, not two.
    // The reason names the --max-cost given and what the whole build spent, not what a round had left.
    const r = await buildJson(ws, ["-j", "1", "--max-cost", "0.1"], providerEnv("google", fake));
    expect(generations(fake).length).toBe(2);
    expect(statusesOf(r.report)).toEqual([
      ["pictures/rename", "built"],
      ["pictures/alpha-2", "built"],
      ["pictures/gamma-2", "skipped"],
      ["pictures/keep", "built"],
    ]);
    expect(r.report.targets.find((t: { id: string }) => t.id === "pictures/gamma-2").reasons[0]).toMatch(/^not started: --max-cost 0\.1 would be passed \(spent \$0\.0774, in flight ~\$0\.0000, this one ~\$0\.0390\)$/);
    expect(r.report.summary.costUsd).toBeLessThanOrEqual(0.1);
    expect(r.report.summary).toMatchObject({ built: 3, skipped: 1, providerCalls: 3, exitCode: 1 });
    expect(r.code).toBe(1);
  });

  it("--max-cost spans the rounds with what the first learnt: its actual spend and how far costs ran over the estimate", async () => {
    const fake = await startFake("google");
    // Estimated at $0.01 a picture, each costs about $0.0387 (its tokens): after the first (keep, round one), estimates are
    // scaled by that. $0.06 leaves no room for a second: one at $0.01 would pass it.
    const ws = renamingWorkspace(`google: { "gemini-2.5-flash-image": { image: { "*": 0.01 } } }`);
    const r = await buildJson(ws, ["-j", "1", "--max-cost", "0.06"], providerEnv("google", fake));
    expect(generations(fake).length).toBe(1);
    expect(statusesOf(r.report)).toEqual([
      ["pictures/rename", "built"],
      ["pictures/alpha-2", "skipped"],
      ["pictures/gamma-2", "skipped"],
      ["pictures/keep", "built"],
    ]);
    expect(r.report.targets[1].reasons).toEqual(["not started: --max-cost 0.06 would be passed (spent $0.0387, in flight ~$0.0000, this one ~$0.0387)"]);
    expect(r.code).toBe(1);
  });

  it("a provider stopped in the first round (billing) gets no request in the next", async () => {
    const fake = await startFake("google");
    fake.inject({ kind: "billing" });
    const ws = renamingWorkspace();
    const r = await buildJson(ws, ["-j", "1"], providerEnv("google", fake));
    expect(generations(fake).length).toBe(1);
    expect(statusesOf(r.report)).toEqual([
      ["pictures/rename", "built"],
      ["pictures/alpha-2", "skipped"],
      ["pictures/gamma-2", "skipped"],
      ["pictures/keep", "failed"],
    ]);
    expect(r.report.targets[1].reasons[0]).toMatch(/^not sent: google was stopped earlier in this build/);
    expect(r.code).toBe(1);
  });

  it("--fail-fast: a failure in the first round ends the build there; without it, the next round runs", async () => {
    for (const failFast of [true, false]) {
      const fake = await startFake("google");
      // The first picture sent (keep, planned again in place) is refused.
      fake.inject({ kind: "safety", where: "prompt" });
      const ws = renamingWorkspace();
      const r = await buildJson(ws, ["-j", "1", ...(failFast ? ["--fail-fast"] : [])], providerEnv("google", fake));
      if (failFast) {
        expect(generations(fake).length).toBe(1);
        expect(statusesOf(r.report)).toEqual([
          ["pictures/rename", "built"],
          ["pictures/alpha", "skipped"],
          ["pictures/gamma", "skipped"],
          ["pictures/keep", "failed"],
        ]);
        expect(r.report.targets[1].error.code).toBe("REPLAN");
        expect(r.code).toBe(1);
      } else {
        // The second round sends the renamed pictures only: keep failed in the first, and is reported as it was.
        expect(generations(fake).length).toBe(3);
        expect(statusesOf(r.report)).toEqual([
          ["pictures/rename", "built"],
          ["pictures/alpha-2", "built"],
          ["pictures/gamma-2", "built"],
          ["pictures/keep", "failed"],
        ]);
        expect(r.report.summary).toMatchObject({ built: 3, failed: 1, providerCalls: 4 });
        expect(r.code).toBe(1);
      }
    }
  });
});
