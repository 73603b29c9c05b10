import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { pngBytes } from "./fakes/fake-server.js";
import { buildJson, chargen, lockOf } from "./support/cli.js";
import { cleanUp, generations, providerEnv, startFake } from "./support/e2e-providers.js";
import { scratchDir } from "./support/tmp.js";

afterEach(cleanUp);

/** Eight depicted characters with two images each, a place and two style references: 19 images for one scene; and a scene of 14. */
const CROWD = [
  ...Array.from({ length: 8 }, (_, c) => [1, 2].map((n) => ({ path: `refs/c${c + 1}-${n}.png`, role: `character:c${c + 1}`, label: `C${c + 1}: image ${n}` }))).flatMap((pair) => pair),
  { path: "refs/harbour.png", role: "location:harbour", label: "Harbour: overview" },
  { path: "refs/style-1.png", role: "style", label: "style one" },
  { path: "refs/style-2.png", role: "style", label: "style two" },
];
const FEW = CROWD.slice(0, 12).concat(CROWD.slice(16, 18));

/** With `harbourMade`, the place overview is no file but the output of a target of its own, planned first. */
function crowdWorkspace(harbourMade = false): string {
  const ws = scratchDir("chargen-refs-");
  mkdirSync(join(ws, "refs"));
  CROWD.forEach((r, i) => (harbourMade && r.path === "refs/harbour.png") || writeFileSync(join(ws, r.path), pngBytes(4, 4, i + 1)));
  const harbour = harbourMade
    ? `ctx.emit({ id: "places/harbour", rule: "scenes", source: { file: file.path, line: 1, column: 1 }, references: [], requested: {},
        prompt: { compiler: "scenes/1", parts: [{ role: "scenario", text: "The harbour overview." }], negative: [] }, output: "refs/harbour.png" });`
    : "";
  writeFileSync(join(ws, "scenes.yaml"), "scenes: [crowd, few]\n");
  writeFileSync(
    join(ws, "chargen.rules.ts"),
    `import { referenceSection } from "chargen";
const refs = { crowd: ${JSON.stringify(CROWD)}, few: ${JSON.stringify(FEW)} };
const scenes = {
  name: "scenes",
  sources: ["scenes.yaml"],
  plan(file, ctx) {
    ${harbour}
    for (const name of file.doc.toJSON().scenes) {
      const section = referenceSection({}, "scene", refs[name], new Map());
      ctx.emit({ id: "scenes/" + name, rule: "scenes", source: { file: file.path, line: 1, column: 1 }, references: section.references, requested: {},
        prompt: { compiler: "scenes/1", parts: [{ role: "scenario", text: "The " + name + " on the quay." }, ...section.parts], negative: [] }, output: "scenes/" + name + ".png" });
    }
  },
};
export default { rules: [scenes], routing: "rules", defaults: { provider: "google", model: "gemini-3-pro-image-preview" }, providers: { google: { maxInFlight: 1, perMinute: 1000 } } };
`,
  );
  return ws;
}

/** The images and the references list of the request the fake got for a scene. */
function sent(fake: Awaited<ReturnType<typeof startFake>>, scene: string) {
  const request = generations(fake).find((g) => JSON.stringify(g.body).includes(`The ${scene} on the quay.`))!;
  const parts = (request.body as { contents: { parts: { text?: string; inlineData?: unknown; fileData?: unknown }[] }[] }).contents[0]!.parts;
  const text = parts.map((p) => p.text ?? "").join("\n");
  return { images: parts.filter((p) => p.inlineData || p.fileData).length, list: /Reference images attached, in order: ([^\n]*)\./.exec(text)![1] };
}

describe("reference images past what the model takes (Gemini: 14)", () => {
  it("sends the 14 that matter most, says which were left out, and keys what it sent", async () => {
    const fake = await startFake("google");
    const ws = crowdWorkspace();
    const env = providerEnv("google", fake);
    const r = await buildJson(ws, [], env);
    expect(r.code).toBe(0);
    expect(r.report.summary).toMatchObject({ built: 2, failed: 0, warnings: 1 });
    // Every character's first image, then the second images in order, until 14: the last two characters' second images, the place and the style go.
    expect(r.report.diagnostics).toEqual([
      {
        severity: "warning",
        file: "scenes.yaml",
        line: 1,
        column: 1,
        targetId: "scenes/crowd",
        message: "scenes/crowd: 19 reference images, over the 14 google/gemini-3-pro-image-preview takes: left out C7: image 2; C8: image 2; Harbour: overview; style one; style two",
      },
    ]);
    const kept = CROWD.filter((c) => !["refs/c7-2.png", "refs/c8-2.png", "refs/harbour.png", "refs/style-1.png", "refs/style-2.png"].includes(c.path));
    expect(sent(fake, "crowd")).toEqual({ images: 14, list: kept.map((c, i) => `image ${i + 1}, ${c.label}`).join("; ") });
    expect(Object.keys(lockOf(ws).get("scenes/crowd")!.inputs.refs).sort()).toEqual(kept.map((c) => c.path).sort());
    // Exactly 14: all sent, nothing said.
    expect(sent(fake, "few")).toEqual({ images: 14, list: FEW.map((c, i) => `image ${i + 1}, ${c.label}`).join("; ") });
    expect(Object.keys(lockOf(ws).get("scenes/few")!.inputs.refs)).toHaveLength(14);

    // What was sent is what is keyed: fresh from then on, and a left-out image changing changes nothing.
    writeFileSync(join(ws, "refs/style-2.png"), pngBytes(4, 4, 99));
    expect((await chargen(ws, ["build", "--check"], { env })).code).toBe(0);
    const again = await buildJson(ws, [], env);
    expect(again.report.summary).toMatchObject({ fresh: 2, providerCalls: 0 });
    expect(generations(fake)).toHaveLength(2);
    // What was fitted is cached with the file's plan: a plan on a warm cache parses nothing, fitting included.
    writeFileSync(join(ws, "refs/c1-2.png"), pngBytes(4, 4, 97));
    const check = await chargen(ws, ["build", "--check"], { env: { ...env, CHARGEN_DEBUG: "stats" } });
    expect(check.code).toBe(1);
    expect(check.stderr).toMatch(/\[stats\] yaml\.parsed=0 /);
    // A kept one changing rebuilds it.
    writeFileSync(join(ws, "refs/c1-1.png"), pngBytes(4, 4, 98));
    expect((await buildJson(ws, [], env)).report.targets.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([
      ["scenes/crowd", "built"],
      ["scenes/few", "built"],
    ]);
  });
});

describe("a reference left out is not a dependency", () => {
  it("its producer failing does not skip the scene, and building the scene alone does not make it", async () => {
    const fake = await startFake("google");
    // The harbour overview is sent first, and refused.
    fake.inject({ kind: "safety", where: "prompt" });
    const ws = crowdWorkspace(true);
    const env = providerEnv("google", fake);
    const r = await buildJson(ws, [], env);
    expect(r.report.targets.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([
      ["places/harbour", "failed"],
      ["scenes/crowd", "built"],
      // It sends the overview (14 images, all taken): that one waits for it.
      ["scenes/few", "skipped"],
    ]);
    expect(generations(fake)).toHaveLength(2);
    expect(r.code).toBe(1);

    const alone = crowdWorkspace(true);
    const selective = await buildJson(alone, ["scenes/crowd"], env);
    expect(selective.report.targets.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([["scenes/crowd", "built"]]);
    expect(generations(fake)).toHaveLength(3);
    expect(selective.code).toBe(0);
  });
});

describe("maxReferenceImages in the rules", () => {
  it("is a positive integer: any other value is a rules error naming the file and the field, and nothing is sent", async () => {
    const fake = await startFake("google");
    const ws = crowdWorkspace();
    const rules = join(ws, "chargen.rules.ts");
    writeFileSync(rules, readFileSync(rules, "utf8").replace("providers: { google: { maxInFlight: 1,", 'providers: { google: { models: { "gemini-3-pro-image-preview": { maxReferenceImages: 2.5 } }, maxInFlight: 1,'));
    const r = await chargen(ws, ["build"], { env: providerEnv("google", fake) });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("chargen.rules.ts: providers.google.models.gemini-3-pro-image-preview.maxReferenceImages must be a positive integer (it is 2.5)");
    expect(generations(fake)).toHaveLength(0);
  });
});
