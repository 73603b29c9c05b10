/**
 * Analysis targets end to end through the CLI with the placeholder: records lacking a title,
 * description, alt text or tags get exactly those, once; an author's words are kept; a
 * regenerated image makes exactly its analysis stale, an identical one does not.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { buildJson, chargen, edit, exampleWorkspace, lockOf, statuses } from "./support/cli.js";
import { contractViolation } from "../src/rules/memoryquill-contract.js";

const NELL = "characters/nell-farrow/imagery.yaml";
const OSRIC = "characters/osric-vane/imagery.yaml";
const DESCRIBE = "characters/*/describe/**";
const NELL_PORTRAIT = "characters/nell-farrow/describe/nell-farrow-portrait";
const OSRIC_SKETCHES = ["characters/osric-vane/describe/osric-sketch-1", "characters/osric-vane/describe/osric-sketch-2"];

/**
 * The example with three records to describe: Nell's portrait without its description, and two
 * imported sketches of Osric with no content at all (copies of his portrait, then made distinct).
 */
function workspace(): string {
  const ws = exampleWorkspace();
  edit(join(ws, NELL), /\n\s+description: "Simple colour-block reference for Nell[^\n]*/, "");
  for (const n of [1, 2]) {
    const image = join(ws, `characters/osric-vane/images/sketch-${n}.png`);
    copyFileSync(join(ws, "characters/osric-vane/images/portrait.png"), image);
    writeFileSync(image, Buffer.concat([readFileSync(image), Buffer.from(`sketch ${n}`)]));
  }
  writeFileSync(
    join(ws, OSRIC),
    readFileSync(join(ws, OSRIC), "utf8") +
      [1, 2].map((n) => `  - id: "osric-sketch-${n}"\n    path: "images/sketch-${n}.png"\n    type: "imported"\n    status: "approved"\n    provenance:\n      source: "manual"\n      created_at: "2025-02-0${n}T09:00:00.000Z"\n`).join(""),
  );
  return ws;
}

const describeCalls = (calls: string[]) => calls.filter((c) => c.includes("/describe/")).sort();
const inventory = (ws: string, file: string) => parse(readFileSync(join(ws, file), "utf8")).image_inventory as Record<string, any>[];
const record = (ws: string, file: string, id: string) => inventory(ws, file).find((r) => r.id === id)!;

/** Whether every line of `before` is in `after`, in order: the file gained lines and lost none. */
function onlyAdded(before: string, after: string): boolean {
  const lines = after.split("\n");
  let at = 0;
  for (const line of before.split("\n")) {
    at = lines.indexOf(line, at);
    if (at < 0) return false;
    at++;
  }
  return true;
}

describe("analysis targets: describe inventory records", () => {
  let ws: string;
  let before: Map<string, string>;
  beforeAll(() => {
    ws = workspace();
    before = new Map([NELL, OSRIC].map((f) => [f, readFileSync(join(ws, f), "utf8")]));
  });

  it("the dry run lists each analysis target with its estimate before anything is spent", async () => {
    const dry = await chargen(ws, ["build", "-n", DESCRIBE]);
    expect(dry.code).toBe(0);
    for (const id of [NELL_PORTRAIT, ...OSRIC_SKETCHES]) expect(dry.stdout).toMatch(new RegExp(`stale +${id}  \\$0\\.000\\n +never built`));
    expect(dry.stdout).toContain("analysis: 3 data targets to read, estimated $0.00\n");
    expect(dry.stdout).toMatch(/0 fresh, 3 stale; estimated \$0\.00/);
  });

  it("a first build describes exactly the three records, fills only their missing fields, and changes nothing else", async () => {
    const first = await buildJson(ws, [DESCRIBE]);
    expect(first.code).toBe(0);
    expect(describeCalls(first.calls)).toEqual([NELL_PORTRAIT, ...OSRIC_SKETCHES].sort());
    const nell = record(ws, NELL, "nell-farrow-portrait");
    // The author's fields as they were; the missing one filled, and what chargen wrote recorded.
    expect(nell.content.title).toBe("Reference Portrait");
    expect(nell.content.tags).toEqual(["portrait", "reference"]);
    expect(nell.content.description).toEqual(expect.any(String));
    expect(Object.keys(nell.analysis.written)).toEqual(["description"]);
    // The JSON report carries each answer's fields.
    expect(first.report.targets.find((t: { id: string }) => t.id === NELL_PORTRAIT).answer.description).toBe(nell.content.description);
    for (const id of ["osric-sketch-1", "osric-sketch-2"]) {
      const r = record(ws, OSRIC, id);
      expect(Object.keys(r.content).sort()).toEqual(["alt_text", "description", "tags", "title"]);
      expect(r.content.tags.length).toBeGreaterThanOrEqual(1);
    }
    for (const f of [NELL, OSRIC]) {
      const text = readFileSync(join(ws, f), "utf8");
      expect(onlyAdded(before.get(f)!, text), f).toBe(true);
      expect(contractViolation(f, parse(text))).toBeUndefined();
    }
    // No answer is a file in the author's tree; the lock records each.
    expect(lockOf(ws).get(NELL_PORTRAIT)?.output).toBe(`answer:${NELL_PORTRAIT}`);
  });

  it("show prints a data target's request (instructions, schema, images, key, estimate) and its answer", async () => {
    const shown = await chargen(ws, ["show", NELL_PORTRAIT]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`${NELL_PORTRAIT}  (fresh)\n  provider  placeholder  model placeholder-1\n  key       ${lockOf(ws).get(NELL_PORTRAIT)!.key}\n  cost      ~$0.0000 to read\n`);
    expect(shown.stdout).toContain("  read      describe/1, schema image_description, media resolution medium\n  --- instructions\n    You describe one image");
    expect(shown.stdout).toMatch(/\n {4}1\. characters\/nell-farrow\/images\/portrait\.png {2}subject {2}[0-9a-f]{16}\n/);
    const json = JSON.parse((await chargen(ws, ["show", "--json", NELL_PORTRAIT])).stdout).targets[0];
    expect(json.read.schema.schema.required).toEqual(["title", "description", "alt_text", "tags"]);
    expect(json.answer.description).toBe(record(ws, NELL, "nell-farrow-portrait").content.description);
  });

  it("a second build makes no call", async () => {
    const second = await buildJson(ws, [DESCRIBE]);
    expect(second.code).toBe(0);
    expect(second.calls).toEqual([]);
    expect(new Set(Object.values(statuses(second.report)))).toEqual(new Set(["fresh"]));
  });

  it("a changed image is described again, once, and the author's edit of a written field is kept", async () => {
    const file = join(ws, OSRIC);
    const written = record(ws, OSRIC, "osric-sketch-1").content;
    writeFileSync(file, readFileSync(file, "utf8").replace(JSON.stringify(written.description), '"Osric at the ledger, in the author\'s words"'));
    const image = join(ws, "characters/osric-vane/images/sketch-1.png");
    writeFileSync(image, Buffer.concat([readFileSync(image), Buffer.from("retouched")]));
    const again = await buildJson(ws, [DESCRIBE]);
    expect(again.code).toBe(0);
    expect(describeCalls(again.calls)).toEqual([OSRIC_SKETCHES[0]]);
    expect(again.report.targets.find((t: { id: string }) => t.id === OSRIC_SKETCHES[0]).reasons).toEqual(["reference characters/osric-vane/images/sketch-1.png changed"]);
    const now = record(ws, OSRIC, "osric-sketch-1");
    expect(now.content.description).toBe("Osric at the ledger, in the author's words");
    expect(now.analysis.written.description).toBeUndefined();
    expect(Object.keys(now.analysis.written).sort()).toEqual(["alt_text", "tags", "title"]);
  });
});

describe("analysis targets: Git LFS pointers", () => {
  it("an image that is a pointer (not pulled) is left out like an absent one: one warning, and --check and the build stay green", async () => {
    const ws = workspace();
    const oid = "a".repeat(64);
    writeFileSync(join(ws, "characters/osric-vane/images/sketch-1.png"), `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize 48213\n`);
    const dry = await chargen(ws, ["build", "-n", DESCRIBE]);
    expect(dry.code).toBe(0);
    expect([...dry.stdout.matchAll(/^stale +(\S+)/gm)].map((m) => m[1]).sort()).toEqual([NELL_PORTRAIT, OSRIC_SKETCHES[1]]);
    const warnings = dry.stderr.split("\n").filter((l) => l.includes("Git LFS pointer"));
    expect(warnings).toEqual(["characters/osric-vane/images/sketch-1.png: warning: this image is a Git LFS pointer (not pulled): analysis targets leave it out until `git lfs pull`"]);
    const built = await buildJson(ws, [DESCRIBE]);
    expect(built.code).toBe(0);
    expect(describeCalls(built.calls)).toEqual([NELL_PORTRAIT, OSRIC_SKETCHES[1]]);
    expect((await chargen(ws, ["build", "--check", DESCRIBE])).code).toBe(0);
  });
});

describe("analysis targets: --provider naming a provider that cannot read", () => {
  it("sends the images there and keeps the rules' read route for data targets, with one warning line", async () => {
    const ws = workspace();
    rmSync(join(ws, "chargen.rules.ts"));
    const dry = await chargen(ws, ["build", "-n", "--json", "--provider", "workers-ai"]);
    expect(dry.code).toBe(0);
    const targets = JSON.parse(dry.stdout).targets as { id: string; provider: string }[];
    const reads = targets.filter((t) => t.id.includes("/describe/"));
    expect(reads.map((t) => t.id).sort()).toEqual([NELL_PORTRAIT, ...OSRIC_SKETCHES]);
    expect(new Set(reads.map((t) => t.provider))).toEqual(new Set(["google"]));
    expect(new Set(targets.filter((t) => !t.id.includes("/describe/")).map((t) => t.provider))).toEqual(new Set(["workers-ai"]));
    const said = (JSON.parse(dry.stdout).diagnostics as { message: string }[]).filter((d) => d.message.includes("reads no images"));
    expect(said.map((d) => d.message)).toEqual(["--provider workers-ai reads no images or texts: data targets keep the rules' read route"]);
  });
});

describe("analysis targets: an analysis of a generated image", () => {
  it("is stale exactly when its image is regenerated, and restored free when the image is restored", async () => {
    const ws = exampleWorkspace();
    const scene = "characters/nell-farrow/trimming-the-wick";
    const analysis = "characters/nell-farrow/describe/trimming-the-wick";
    expect((await buildJson(ws)).code).toBe(0);
    // An author clears the generated record's description: it gets one from its image.
    edit(join(ws, NELL), /(\n {6}description: "Nell balances[^\n]*)/, "");
    const described = await buildJson(ws);
    expect(described.code).toBe(0);
    expect(described.calls).toEqual([analysis]);

    const ideas = join(ws, "characters/nell-farrow/image-ideas.yaml");
    const original = readFileSync(ideas, "utf8");
    edit(ideas, "to trim a guttering wick", "to trim a sputtering wick");
    const regenerated = await buildJson(ws);
    expect(regenerated.code).toBe(0);
    expect(regenerated.calls.sort()).toEqual([analysis, scene].sort());

    writeFileSync(ideas, original);
    const restored = await buildJson(ws);
    expect(restored.code).toBe(0);
    expect(restored.calls).toEqual([]);
    expect(statuses(restored.report)[analysis]).toBe("cached");
  });
});

describe("analysis targets: the canon check", () => {
  it("checks each character image right after it is made, records canon_analysis, and shows a mismatch as a warning only", async () => {
    const ws = exampleWorkspace();
    // The built-in rules have it off (one more call per character image): switched on here.
    writeFileSync(
      join(ws, "chargen.rules.ts"),
      readFileSync(join(ws, "chargen.rules.ts"), "utf8")
        .replace('import { defineRules } from "chargen";', 'import { canonCheck, defineRules } from "chargen";')
        .replace("  ...builtIn,\n", "  ...builtIn,\n  rules: [...builtIn.rules, canonCheck()],\n"),
    );
    const first = await buildJson(ws);
    expect(first.code).toBe(0);
    const scenes = first.calls.filter((c) => /^characters\/[^/]+\/[^/]+$/.test(c)).map((c) => c.replace(/\/([^/]+)$/, "/canon/$1"));
    expect(scenes.length).toBe(5);
    expect(first.calls.filter((c) => c.includes("/canon/")).sort()).toEqual(scenes.sort());
    const records = [NELL, OSRIC].flatMap((f) => inventory(ws, f).filter((r) => r.type === "generated"));
    expect(records.map((r) => typeof r.canon_analysis.matches_description)).toEqual(Array(5).fill("boolean"));
    for (const f of [NELL, OSRIC]) expect(contractViolation(f, parse(readFileSync(join(ws, f), "utf8")))).toBeUndefined();
    expect((await buildJson(ws)).calls).toEqual([]);

    const check = await chargen(ws, ["build", "--check", "--explain"]);
    expect(check.code).toBe(0);
    const mismatches = records.filter((r) => r.canon_analysis.matches_description === false).map((r) => r.id).sort();
    const warned = [...check.stderr.matchAll(/warning: canon check: (\S+) does not match/g)].map((m) => m[1]).sort();
    // The placeholder's answers are fixed by their keys: some of them are mismatches.
    expect(mismatches.length).toBeGreaterThan(0);
    expect(warned).toEqual(mismatches);
  });
});

describe("analysis targets: a character's appearance", () => {
  it("is written from the profile and portrait before every prompt that reads it, which is built once, on it", async () => {
    const ws = exampleWorkspace();
    edit(join(ws, NELL), /\nappearance: [^\n]*/, "");
    const first = await buildJson(ws);
    expect(first.code).toBe(0);
    const appearance = "characters/nell-farrow/profile/appearance";
    // Every target once: the appearance first, then (planned again on it) the prompts that read it.
    expect(new Set(first.calls).size).toBe(first.calls.length);
    expect(first.report.summary.built).toBe(first.calls.length);
    const written = parse(readFileSync(join(ws, NELL), "utf8"));
    expect(written.appearance).toEqual(expect.any(String));
    expect(written.appearance_analysis.target_id).toBe(appearance);
    expect(contractViolation(NELL, written)).toBeUndefined();
    const readers = [...lockOf(ws)].filter(([, e]) => "character:nell-farrow" in e.inputs.prompt).map(([id]) => id).sort();
    expect(readers.length).toBeGreaterThan(0);
    for (const id of readers) expect(first.calls.indexOf(id)).toBeGreaterThan(first.calls.indexOf(appearance));
    expect(first.calls.indexOf(appearance)).toBeGreaterThanOrEqual(0);
    expect((await buildJson(ws)).calls).toEqual([]);

    // The author rewrites it: theirs now; exactly the prompts that read it are stale, and the appearance target is gone.
    edit(join(ws, NELL), /\nappearance: "[^\n]*/, '\nappearance: "Nell, as her author sees her: copper hair, mustard oilskin."');
    const dry = await chargen(ws, ["build", "-n"]);
    const stale = [...dry.stdout.matchAll(/^stale +(\S+)/gm)].map((m) => m[1]).sort();
    expect(stale).toEqual(readers);
    const rebuilt = await buildJson(ws);
    expect(rebuilt.calls.sort()).toEqual(readers);
    expect(parse(readFileSync(join(ws, NELL), "utf8")).appearance).toBe("Nell, as her author sees her: copper hair, mustard oilskin.");
  });
});

describe("analysis targets: their instructions' versions", () => {
  /** The example's rules, with the describe and appearance instructions at these versions. */
  const rulesAt = (describe: string, appearance: string) => `import builtIn from "chargen/rules";
import { characterAppearance, defineRules, describeImages } from "chargen";
export default defineRules({
  ...builtIn,
  routing: "rules",
  defaults: { ...builtIn.defaults, provider: "placeholder", model: "placeholder-1", read: { provider: "placeholder", model: "placeholder-1" } },
  rules: builtIn.rules.map((r) => (r.name === "describe-images" ? describeImages({ version: "${describe}" }) : r.name === "character-appearance" ? characterAppearance({ version: "${appearance}" }) : r)),
});
`;
  const dryRun = async (ws: string) => {
    const r = await chargen(ws, ["build", "-n", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as { targets: { id: string; status: string; reasons: string[]; estimatedCostUsd: number | null }[]; analysis: { dataTargets: number } };
  };
  const notFresh = (report: Awaited<ReturnType<typeof dryRun>>) => report.targets.filter((t) => t.status !== "fresh");

  it("a new describe version makes exactly the describe targets stale; a new appearance version, the appearance and, re-planned after it, its readers", async () => {
    const ws = workspace();
    edit(join(ws, NELL), /\nappearance: [^\n]*/, "");
    writeFileSync(join(ws, "chargen.rules.ts"), rulesAt("describe/1", "appearance/1"));
    expect((await buildJson(ws)).code).toBe(0);
    expect(notFresh(await dryRun(ws))).toEqual([]);
    const appearance = "characters/nell-farrow/profile/appearance";
    const readers = [...lockOf(ws)].filter(([, e]) => "character:nell-farrow" in e.inputs.prompt).map(([id]) => id).sort();
    expect(readers.length).toBeGreaterThan(0);

    writeFileSync(join(ws, "chargen.rules.ts"), rulesAt("describe/2", "appearance/1"));
    const described = await dryRun(ws);
    expect(notFresh(described).map((t) => t.id).sort()).toEqual([NELL_PORTRAIT, ...OSRIC_SKETCHES].sort());
    expect(described.analysis.dataTargets).toBe(3);

    writeFileSync(join(ws, "chargen.rules.ts"), rulesAt("describe/1", "appearance/2"));
    const appeared = await dryRun(ws);
    expect(notFresh(appeared).map((t) => t.id).sort()).toEqual([appearance, ...readers].sort());
    for (const t of notFresh(appeared).filter((t) => t.id !== appearance)) {
      expect(t.status).toBe("stale");
      expect(t.reasons).toEqual([`re-planned after ${appearance}`]);
      // Counted as rebuilt: its estimate is in the total.
      expect(t.estimatedCostUsd).not.toBeNull();
    }
    expect(appeared.analysis.dataTargets).toBe(1);
    const text = await chargen(ws, ["build", "-n"]);
    for (const id of readers) expect(text.stdout).toMatch(new RegExp(`stale +${id}  \\$\\d+\\.\\d{3}\\n +re-planned after ${appearance}\\n`));
    expect(text.stdout).toContain("analysis: 1 data target to read");
  });
});

describe("chargen catalog", () => {
  it("lists exactly the unrecorded images; --write adds a valid record for each and changes no other byte", async () => {
    const ws = exampleWorkspace();
    const found = ["characters/nell-farrow/images/found-1.png", "characters/nell-farrow/images/found-2.png", "chapters/ch01-the-grey-tide/images/found-3.png"];
    mkdirSync(join(ws, "chapters/ch01-the-grey-tide/images"), { recursive: true });
    found.forEach((f, i) => writeFileSync(join(ws, f), Buffer.concat([readFileSync(join(ws, "characters/osric-vane/images/portrait.png")), Buffer.from(`found ${i}`)])));
    const listed = await chargen(ws, ["catalog"]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toBe(found.map((f) => `${f}\t${f.split("/").slice(0, 2).join("/")}/imagery.yaml\n`).sort().join(""));

    const files = [NELL, "chapters/ch01-the-grey-tide/imagery.yaml"];
    const before = files.map((f) => readFileSync(join(ws, f), "utf8"));
    const log = join(ws, ".calls.log");
    const written = await chargen(ws, ["catalog", "--write"], { env: { CHARGEN_PLACEHOLDER_CALL_LOG: log } });
    // The chapter's image matches none of its images (the placeholder's answer): ingestion reads a
    // chapter's records only under an image entry, so it stays unrecorded, said by name.
    expect(written.code).toBe(1);
    expect(written.stdout).toContain("2 of 3 recorded; 3 provider calls\n");
    expect(written.stdout).toContain(`not recorded ${found[2]}\n`);
    expect(written.stderr).toContain(`${found[2]} matches none of the chapter's images, and ingestion reads a chapter's records only under an image entry: record it there by hand`);
    files.forEach((f, i) => {
      const text = readFileSync(join(ws, f), "utf8");
      expect(onlyAdded(before[i]!, text), f).toBe(true);
      // As valid to the strict reader as before (the example's chapter files use image types it does not know).
      expect(contractViolation(f, parse(text))).toBe(contractViolation(f, parse(before[i]!)));
    });
    expect(contractViolation(NELL, parse(readFileSync(join(ws, NELL), "utf8")))).toBeUndefined();
    expect(readFileSync(join(ws, files[1]!), "utf8")).toBe(before[1]);
    const nell = inventory(ws, NELL).filter((r) => r.id.startsWith("found-"));
    expect(nell.map((r) => [r.id, r.path, r.type, r.status])).toEqual([
      ["found-1", "images/found-1.png", "imported", "draft"],
      ["found-2", "images/found-2.png", "imported", "draft"],
    ]);
    for (const r of nell) expect(typeof r.catalog.confidence).toBe("number");
    expect((await chargen(ws, ["catalog"])).stdout).toBe(`${found[2]}\tchapters/ch01-the-grey-tide/imagery.yaml\n`);
    // Nothing is described twice: a second --write pays for nothing (the chapter's answer is restored).
    expect((await chargen(ws, ["catalog", "--write"], { env: { CHARGEN_PLACEHOLDER_CALL_LOG: log } })).stdout).toContain("0 of 1 recorded; 0 provider calls\n");
  });

  it("-n says what --write would describe and its estimate, and writes nothing; --json with --write is a JSON report", async () => {
    const ws = exampleWorkspace();
    const image = "characters/nell-farrow/images/found-1.png";
    writeFileSync(join(ws, image), Buffer.concat([readFileSync(join(ws, "characters/osric-vane/images/portrait.png")), Buffer.from("found")]));
    const before = readFileSync(join(ws, NELL), "utf8");
    const log = join(ws, ".calls.log");
    const dry = await chargen(ws, ["catalog", "-n"], { env: { CHARGEN_PLACEHOLDER_CALL_LOG: log } });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toBe(`stale    ${image}  $0.000\n         would be described\n1 image to describe (placeholder/placeholder-1), estimated $0.00; dry run: nothing written\n`);
    expect(readFileSync(join(ws, NELL), "utf8")).toBe(before);
    expect(existsSync(log)).toBe(false);
    expect(existsSync(join(ws, "chargen.lock"))).toBe(false);

    const written = await chargen(ws, ["catalog", "--write", "--json"], { env: { CHARGEN_PLACEHOLDER_CALL_LOG: log } });
    expect(written.code).toBe(0);
    const report = JSON.parse(written.stdout);
    expect(report.command).toBe("catalog");
    expect(report.images).toEqual([expect.objectContaining({ path: image, entityFile: NELL, status: "recorded" })]);
    expect(report.summary).toEqual({ providerCalls: 1, exitCode: 0 });
  });

  it("--write takes the build lock: it refuses while a build runs", async () => {
    const ws = exampleWorkspace();
    writeFileSync(join(ws, "characters/nell-farrow/images/found-1.png"), readFileSync(join(ws, "characters/osric-vane/images/portrait.png")));
    mkdirSync(join(ws, ".chargen"), { recursive: true });
    // This test's own process: alive, and older than the lock.
    writeFileSync(join(ws, ".chargen/build.pid"), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() }));
    const r = await chargen(ws, ["catalog", "--write"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/another chargen build is running in this workspace \(pid \d+/);
  });
});

describe("analysis targets: a rehearsal", () => {
  it("--provider placeholder where the rules route reads to a real provider writes nothing into the records", async () => {
    const ws = workspace();
    // The built-in rules: reads go to Google.
    rmSync(join(ws, "chargen.rules.ts"));
    const texts = [NELL, OSRIC].map((f) => readFileSync(join(ws, f), "utf8"));
    const rehearsal = await buildJson(ws, ["--provider", "placeholder", DESCRIBE]);
    expect(rehearsal.code).toBe(0);
    expect(describeCalls(rehearsal.calls)).toEqual([NELL_PORTRAIT, ...OSRIC_SKETCHES].sort());
    expect([NELL, OSRIC].map((f) => readFileSync(join(ws, f), "utf8"))).toEqual(texts);
  });

  it("catalog --write --provider placeholder there records nothing, and says so", async () => {
    const ws = exampleWorkspace();
    rmSync(join(ws, "chargen.rules.ts"));
    const image = "characters/nell-farrow/images/found-1.png";
    writeFileSync(join(ws, image), readFileSync(join(ws, "characters/osric-vane/images/portrait.png")));
    const before = readFileSync(join(ws, NELL), "utf8");
    const r = await chargen(ws, ["catalog", "--write", "--provider", "placeholder"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`not recorded (rehearsal) ${image}\n`);
    expect(r.stdout).toContain("0 of 1 recorded; 1 not recorded (rehearsal); 1 provider call\n");
    expect(readFileSync(join(ws, NELL), "utf8")).toBe(before);
  });
});
