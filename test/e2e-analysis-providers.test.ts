/**
 * Analysis targets through each real SDK against its fake: the records that lack descriptions get
 * them, one request each, none the second time; an answer that does not match its schema fails
 * its target, quoted, is recorded nowhere, and is asked again only by a later build.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { buildJson, chargen, edit, lockOf } from "./support/cli.js";
import { cleanUp, providerEnv, scratchExample, startFake } from "./support/e2e-providers.js";
import type { FakeServer } from "./fakes/fake-server.js";
import { contractViolation } from "../src/rules/memoryquill-contract.js";

const OSRIC = "characters/osric-vane/imagery.yaml";
const DESCRIBE = "characters/*/describe/**";
const SKETCHES = [1, 2, 3].map((n) => `characters/osric-vane/describe/osric-sketch-${n}`);
const READ_MODEL = { google: "gemini-2.5-flash", openai: "gpt-5-mini" } as const;

/** The example with three imported sketches of Osric lacking all content, and reads routed to `provider`. */
function workspace(provider: "google" | "openai"): string {
  const ws = scratchExample();
  for (const n of [1, 2, 3]) {
    const image = join(ws, `characters/osric-vane/images/sketch-${n}.png`);
    copyFileSync(join(ws, "characters/osric-vane/images/portrait.png"), image);
    writeFileSync(image, Buffer.concat([readFileSync(image), Buffer.from(`sketch ${n}`)]));
  }
  writeFileSync(
    join(ws, OSRIC),
    readFileSync(join(ws, OSRIC), "utf8") +
      [1, 2, 3].map((n) => `  - id: "osric-sketch-${n}"\n    path: "images/sketch-${n}.png"\n    type: "imported"\n    status: "approved"\n    provenance:\n      source: "manual"\n      created_at: "2025-02-0${n}T09:00:00.000Z"\n`).join(""),
  );
  edit(join(ws, "chargen.rules.ts"), 'read: { provider: "placeholder", model: "placeholder-1" }', `read: { provider: "${provider}", model: "${READ_MODEL[provider]}" }, providers: { ${provider}: { maxInFlight: 4, perMinute: 600 } }`);
  return ws;
}

const reads = (fake: FakeServer) => fake.calls().filter((c) => c.path.endsWith(":generateContent") || c.path === "/v1/responses");
const sketch = (ws: string, n: number) => (parse(readFileSync(join(ws, OSRIC), "utf8")).image_inventory as { id: string; content?: Record<string, unknown> }[]).find((r) => r.id === `osric-sketch-${n}`)!;

describe.each(["google", "openai"] as const)("analysis targets through %s against its fake", (provider) => {
  afterEach(cleanUp);

  it("describes each record with one request, writes a valid record, and asks nothing the second time", async () => {
    const ws = workspace(provider);
    const fake = await startFake(provider);
    const first = await buildJson(ws, [DESCRIBE], providerEnv(provider, fake));
    expect(first.code).toBe(0);
    expect(reads(fake)).toHaveLength(3);
    expect(first.report.targets.map((t: { id: string; status: string }) => [t.id, t.status]).sort()).toEqual(SKETCHES.map((id) => [id, "built"]));
    for (const n of [1, 2, 3]) expect(Object.keys(sketch(ws, n).content!).sort()).toEqual(["alt_text", "description", "tags", "title"]);
    expect(contractViolation(OSRIC, parse(readFileSync(join(ws, OSRIC), "utf8")))).toBeUndefined();
    expect(lockOf(ws).get(SKETCHES[0]!)).toMatchObject({ provider, model: READ_MODEL[provider] });

    const second = await buildJson(ws, [DESCRIBE], providerEnv(provider, fake));
    expect(second.code).toBe(0);
    expect(reads(fake)).toHaveLength(3);
  });

  it("an answer that does not match the schema fails its target, quoted, recorded nowhere; a later build asks again", async () => {
    const ws = workspace(provider);
    const fake = (await startFake(provider)) as FakeServer & { readReplies: { text: string }[] };
    // One request at a time, so that the first target asked gets the bad answer.
    edit(join(ws, "chargen.rules.ts"), `${provider}: { maxInFlight: 4,`, `${provider}: { maxInFlight: 1,`);
    fake.readReplies.push({ text: JSON.stringify({ title: "A sketch", description: "Osric.", alt_text: "Osric", tags: "not a list" }) });
    const before = readFileSync(join(ws, OSRIC), "utf8");
    const first = await buildJson(ws, [DESCRIBE, "-j", "1"], providerEnv(provider, fake));
    expect(first.code).toBe(1);
    expect(reads(fake)).toHaveLength(3);
    const failed = first.report.targets.filter((t: { status: string }) => t.status === "failed");
    expect(failed).toHaveLength(1);
    expect(failed[0].error).toMatchObject({ kind: "target", code: "BAD_ANSWER" });
    expect(failed[0].error.message).toMatch(/^answer does not match schema image_description: tags: .*; it said \{"title":"A sketch".*"tags":"not a list"\}$/);
    const n = SKETCHES.indexOf(failed[0].id) + 1;
    expect(sketch(ws, n).content).toBeUndefined();
    expect(lockOf(ws).has(failed[0].id)).toBe(false);
    expect(readFileSync(join(ws, OSRIC), "utf8").length).toBeGreaterThan(before.length);

    const again = await buildJson(ws, [DESCRIBE], providerEnv(provider, fake));
    expect(again.code).toBe(0);
    expect(reads(fake)).toHaveLength(4);
    expect(Object.keys(sketch(ws, n).content!).sort()).toEqual(["alt_text", "description", "tags", "title"]);
  });
});

describe("chargen catalog --write against the google fake", () => {
  afterEach(cleanUp);
  const FOUND = "characters/nell-farrow/images/found-1.png";

  function catalogWorkspace(): string {
    const ws = workspace("google");
    copyFileSync(join(ws, "characters/osric-vane/images/portrait.png"), join(ws, FOUND));
    return ws;
  }

  it("--max-cost keeps it from spending past the amount: nothing sent, nothing recorded", async () => {
    const ws = catalogWorkspace();
    const fake = await startFake("google");
    const before = readFileSync(join(ws, "characters/nell-farrow/imagery.yaml"), "utf8");
    const r = await chargen(ws, ["catalog", "--write", "--max-cost", "0"], { env: providerEnv("google", fake) });
    expect(r.code).toBe(1);
    expect(reads(fake)).toHaveLength(0);
    expect(r.stdout).toMatch(/^skipped {2}characters\/nell-farrow\/images\/found-1\.png\n {9}.*not started: --max-cost 0 would be passed/m);
    expect(r.stdout).toContain("0 of 1 recorded; 0 provider calls\n");
    expect(readFileSync(join(ws, "characters/nell-farrow/imagery.yaml"), "utf8")).toBe(before);
  });

  it("a missing key is build's configuration error: exit 2, naming the variable, nothing sent", async () => {
    const ws = catalogWorkspace();
    const fake = await startFake("google");
    const r = await chargen(ws, ["catalog", "--write"], { env: providerEnv("google", fake, "") });
    expect(r.code).toBe(2);
    expect(reads(fake)).toHaveLength(0);
    expect(r.stderr).toContain("google: no API key: set GOOGLE_API_KEY or GEMINI_API_KEY");
  });
});
