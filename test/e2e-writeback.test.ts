import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fg from "fast-glob";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { buildJson, edit, EXAMPLE } from "./support/cli.js";
import { changedRecords, contractStates, ingestedImages } from "./support/memoryquill.js";
import { scratchDir } from "./support/tmp.js";
import { contractFor } from "../src/rules/memoryquill-contract.js";
import { REAL_WORLD } from "./fixtures/rules/harness.js";

/** A workspace of every kind, valid to MemoryQuill's strict reader, with an earlier runs log and a hand record. */
const FIXTURE = join(import.meta.dirname, "fixtures", "contract");
const PLACEHOLDER = ["--provider", "placeholder"];

const CHAPTER = "chapters/ch01-the-ferry-bell/imagery.yaml";
const IMG1 = "chapters/ch01-the-ferry-bell/ch01-img-01";
const KINDS = [
  IMG1,
  "chapters/ch01-the-ferry-bell/ch01-img-02",
  "characters/ivo-marsh/rope-and-bell",
  "characters/ivo-marsh/slack-water",
  "locations/ferry-landing/overview",
  "locations/ferry-landing/zones/bell-post",
  "locations/ferry-landing/zones/toll-hut/toll-window",
  "locations/ferry-landing/beats/last-crossing",
];

/**
 * A copy of `from` whose rules (the example's) choose the placeholder as the workspace's provider:
 * its images are then the workspace's own, recorded as real ones (with `--provider placeholder`
 * alone it would be a rehearsal, recorded as draft placeholder cards: see e2e-adopt.test.ts).
 */
function copy(from: string): string {
  const dir = scratchDir("chargen-writeback-");
  cpSync(from, dir, { recursive: true });
  cpSync(join(EXAMPLE, "chargen.rules.ts"), join(dir, "chargen.rules.ts"));
  return dir;
}

function yamlTexts(root: string): Map<string, string> {
  return new Map(fg.sync("**/*.yaml", { cwd: root, ignore: [".chargen/**"] }).map((f) => [f, readFileSync(join(root, f), "utf8")]));
}

const runsOf = (root: string, entity: string) => parse(readFileSync(join(root, entity, "imagery.runs.yaml"), "utf8")).runs as { target_id: string }[];
const entityOf = (id: string) => id.split("/").slice(0, 2).join("/");

describe("the test's stand-ins for MemoryQuill's readers", () => {
  it("changedRecords names what changed among values that were set, and allows appends and filled-in empties", () => {
    expect(changedRecords("a: 1 # x\nb: [x]\nc: null\nd: {}\n", "a: 1 # x\nb: [x, y]\nc: 3\nd: {k: v}\n")).toEqual([]);
    expect(changedRecords('a: "1"\nb: [x, z]\n', "a: 1\nb: [y, z]\n")).toEqual([".a", ".b[0]"]);
  });

  it("ingestedImages applies the publishing step's filters: approved characters only, no placeholders, files that exist", () => {
    const ws = scratchDir("chargen-ingest-");
    const record = (id: string, extra: string) => `  - {id: ${id}, path: images/${id}.png${extra}}\n`;
    mkdirSync(join(ws, "characters/ada/images"), { recursive: true });
    for (const f of ["ok", "draft", "none", "ph"]) writeFileSync(join(ws, `characters/ada/images/${f}.png`), "x");
    writeFileSync(
      join(ws, "characters/ada/imagery.yaml"),
      "image_inventory:\n" + record("ok", ", status: approved") + record("draft", ", status: draft") + record("none", "") + record("ph", ", status: approved, type: placeholder") + record("gone", ", status: approved"),
    );
    expect([...ingestedImages(ws)]).toEqual(["characters/ada/images/ok.png"]);
  });
});

describe("write-back, end to end, as MemoryQuill's readers read it", () => {
  it("records every kind where its reader looks, keeps every file valid and every earlier record as it was, and converges", async () => {
    const ws = copy(FIXTURE);
    const before = yamlTexts(ws);
    expect([...contractStates(ws).values()].every((s) => s === "ok")).toBe(true);

    const first = await buildJson(ws, PLACEHOLDER);
    expect(first.code, first.stderr).toBe(0);
    expect(first.calls.sort()).toEqual([...KINDS].sort());
    const outputs = new Map<string, string>(first.report.targets.map((t: { id: string; output: string }) => [t.id, t.output]));

    // Every YAML file, written or not, meets the contract; every file written has one.
    const after = yamlTexts(ws);
    for (const [file, state] of contractStates(ws)) expect(`${file}: ${state}`).toBe(`${file}: ok`);
    for (const [file, text] of after) if (before.get(file) !== text) expect(contractFor(file), file).toBeDefined();

    // Nothing anyone recorded before changed: only appended records and filled-in empty fields.
    for (const [file, text] of before) expect(changedRecords(text, after.get(file)!), file).toEqual([]);
    expect(after.get(CHAPTER)).toContain('    file_path: "ARCHIVED_IMAGES/ch01-img-02-old.png" # kept by hand\n    provider: "gpt-image-1.5"\n    model: "gpt-image-1.5"\n    provider_metadata: {}\n');
    const earlierLog = before.get("characters/ivo-marsh/imagery.runs.yaml")!;
    expect(after.get("characters/ivo-marsh/imagery.runs.yaml")!.startsWith(earlierLog)).toBe(true);

    // The publishing step sees every built image (beats: nothing reads them; their record is on the beat).
    const seen = ingestedImages(ws);
    for (const id of KINDS.filter((k) => !k.includes("/beats/"))) expect(seen, id).toContain(outputs.get(id));
    const beat = parse(after.get("locations/ferry-landing/imagery.yaml")!).beat_images[0].image_inventory;
    expect(beat).toMatchObject([{ id: "last-crossing", path: "images/beats/last-crossing.png", status: "approved", type: "generated" }]);

    // One run per built target, in its entity's log.
    for (const id of KINDS) expect(runsOf(ws, entityOf(id)).filter((r) => r.target_id === id), id).toHaveLength(1);

    const second = await buildJson(ws, PLACEHOLDER);
    expect(second.code, second.stderr).toBe(0);
    expect(second.calls).toEqual([]);
    expect(second.report.summary.built).toBe(0);
  });

  it("a regeneration at the same output path keeps the image's record and logs another run", async () => {
    const ws = copy(FIXTURE);
    await buildJson(ws, PLACEHOLDER);
    const record = () => parse(readFileSync(join(ws, CHAPTER), "utf8")).images[0].image_inventory;
    const first = record();
    expect(first).toHaveLength(1);
    edit(join(ws, CHAPTER), "hauls a bell rope", "hauls on a bell rope");
    const rebuilt = await buildJson(ws, PLACEHOLDER);
    expect(rebuilt.calls).toEqual([IMG1]);
    expect(record()).toEqual(first);
    expect(runsOf(ws, "chapters/ch01-the-ferry-bell").filter((r) => r.target_id === IMG1)).toHaveLength(2);
  });

  it("a write-back the strict reader would reject is not written, whole, and says why", async () => {
    const ws = copy(FIXTURE);
    const imagery = "characters/ivo-marsh/imagery.yaml";
    const before = readFileSync(join(ws, imagery), "utf8");
    writeFileSync(
      join(ws, "chargen.rules.ts"),
      'import { characterScenes, defineRules } from "chargen";\nexport default defineRules({ rules: [characterScenes({ inventoryStatus: "published" })], defaults: { provider: "placeholder" } });\n',
    );
    const build = await buildJson(ws);
    expect(build.calls.sort()).toEqual(["characters/ivo-marsh/rope-and-bell", "characters/ivo-marsh/slack-water"]);
    const refused = build.report.diagnostics.filter((d: { message: string }) => /not written back/.test(d.message));
    expect(refused.map((d: { file: string; targetId: string }) => [d.file, d.targetId]).sort()).toEqual([
      [imagery, "characters/ivo-marsh/rope-and-bell"],
      [imagery, "characters/ivo-marsh/slack-water"],
    ]);
    expect(refused[0].message).toMatch(/invalid to MemoryQuill's strict reader \(image_inventory\.1\.status/);
    // Not even the part of the edit made before the check (the appended record) reached the file.
    expect(readFileSync(join(ws, imagery), "utf8")).toBe(before);
  });
});

/** The real sample (../shared/real-world): tests read a copy of it, and say so when it is absent. */
const real = existsSync(REAL_WORLD);
if (!real) console.warn(`e2e-writeback: real-world test SKIPPED, no sample at ${REAL_WORLD}`);

describe.skipIf(!real)("write-back on a copy of the real MemoryQuill sample", () => {
  it("keeps every file the strict reader accepted acceptable, and every existing record byte-identical", async () => {
    const ws = copy(REAL_WORLD);
    const before = yamlTexts(ws);
    const valid = [...contractStates(ws)].filter(([, s]) => s === "ok").map(([f]) => f);
    expect(valid.length).toBeGreaterThan(0);

    const build = await buildJson(ws, PLACEHOLDER);
    const built = build.report.targets.filter((t: { status: string }) => t.status === "built");
    expect(built.length).toBeGreaterThan(0);
    expect(build.report.diagnostics.filter((d: { message: string }) => /not written back/.test(d.message))).toEqual([]);

    const states = contractStates(ws);
    for (const file of valid) expect(`${file}: ${states.get(file)}`).toBe(`${file}: ok`);
    const after = yamlTexts(ws);
    for (const [file, text] of before) expect(changedRecords(text, after.get(file)!), file).toEqual([]);
    const seen = ingestedImages(ws);
    for (const t of built.filter((t: { id: string }) => !t.id.includes("/beats/"))) expect(seen, t.id).toContain(t.output);
  }, 300_000); // about 70 full-size placeholder images: slow on a loaded machine
});
