import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildJson, callLog, chargen, CH1, edit, exampleWorkspace, IMG1, IMG2, statuses } from "./support/cli.js";

// The default rules' provider is not the point here: every build names the offline one.
const PLACEHOLDER = ["--provider", "placeholder"];
const CH1_FILE = `${CH1}/imagery.yaml`;
const NELL = "characters/nell-farrow/images/portrait.png";
const OSRIC = "characters/osric-vane/images/portrait.png";

/** 1-based line of the first line of `file` that is exactly `text` after `after` (a line number). */
function lineOf(ws: string, file: string, text: string, after = 0): number {
  const lines = readFileSync(join(ws, file), "utf8").split("\n");
  const i = lines.findIndex((l, n) => n >= after && l === text);
  expect(i, `${file} has no line ${text}`).toBeGreaterThanOrEqual(0);
  return i + 1;
}

/**
 * Chapter 1 with the three kinds of reference that resolve to nothing: image 1 also depicts a
 * raven with no character folder; Osric's reference id was renamed, and his other reference
 * names an inventory entry whose file is missing. Images 1 and 2 depict Osric.
 */
function danglingReferences(ws: string): { warnings: string[] } {
  edit(join(ws, CH1_FILE), '      - "osric-vane"\n    character_states:', '      - "osric-vane"\n      - "the-raven"\n    character_states:');
  edit(join(ws, CH1_FILE), '      - "osric-vane-portrait"', '      - "osric-vane-portrait-old"\n      - "osric-at-the-rail"');
  edit(
    join(ws, "characters/osric-vane/imagery.yaml"),
    /^image_inventory:\n/m,
    'image_inventory:\n  - id: "osric-at-the-rail"\n    path: "images/at-the-rail.png"\n    status: "approved"\n',
  );
  const { img1Osric, img2Osric } = depictedOsric(ws);
  const raven = lineOf(ws, CH1_FILE, '      - "the-raven"');
  const missingFile = (image: string, line: number) =>
    `${CH1_FILE}:${line}: ${image}: image ${image.split("/")[2]}: reference "osric-at-the-rail" (character osric-vane) is characters/osric-vane/images/at-the-rail.png, which does not exist`;
  const renamed = (image: string, line: number) =>
    `${CH1_FILE}:${line}: ${image}: image ${image.split("/")[2]}: reference "osric-vane-portrait-old" (character osric-vane) resolves to nothing: not an image_inventory id in characters/osric-vane/imagery.yaml`;
  return {
    warnings: [
      missingFile(IMG1, img1Osric),
      `${CH1_FILE}:${raven}: ${IMG1}: image ch01-the-grey-tide-img-01: the reference portrait of character the-raven resolves to nothing: there is no characters/the-raven/imagery.yaml, and there is no characters/the-raven/images/portrait.png`,
      missingFile(IMG2, img2Osric),
      // An id no inventory lists is said once every target is known (none makes it).
      renamed(IMG1, img1Osric),
      renamed(IMG2, img2Osric),
    ],
  };
}

/** The lines of Osric's items in chapter 1's images 1 and 2 `depicts_characters`. */
function depictedOsric(ws: string): { img1Osric: number; img2Osric: number } {
  const depicts = lineOf(ws, CH1_FILE, "    depicts_characters:");
  const img1Osric = lineOf(ws, CH1_FILE, '      - "osric-vane"', depicts);
  return { img1Osric, img2Osric: lineOf(ws, CH1_FILE, '      - "osric-vane"', lineOf(ws, CH1_FILE, "    depicts_characters:", img1Osric)) };
}

type Diagnostic = { severity: string; file: string; line: number; targetId: string; message: string };
const warningsOf = (report: { diagnostics: Diagnostic[] }) =>
  report.diagnostics.filter((d) => d.severity === "warning").map((d) => `${d.file}:${d.line}: ${d.targetId}: ${d.message}`);

describe("references that resolve to nothing", () => {
  it("by default the target builds without them and says so: file, line, image id and reference, in the report and --check", async () => {
    const ws = exampleWorkspace();
    const { warnings } = danglingReferences(ws);

    const first = await buildJson(ws, PLACEHOLDER);
    expect(first.code).toBe(0); // warnings alone
    expect(warningsOf(first.report)).toEqual(warnings);
    expect(first.report.summary).toMatchObject({ total: 14, built: 14, failed: 0, errors: 0, warnings: 5, providerCalls: 14, exitCode: 0 });
    const reasons = Object.fromEntries(first.report.targets.map((t: { id: string; reasons: string[] }) => [t.id, t.reasons]));
    expect(reasons[IMG1]).toEqual([
      "never built",
      "reference characters/osric-vane/images/at-the-rail.png is missing: building without it",
      "reference portrait of character the-raven: there is no characters/the-raven/imagery.yaml, and there is no characters/the-raven/images/portrait.png: building without it",
      'reference "osric-vane-portrait-old" (character osric-vane): not an image_inventory id in characters/osric-vane/imagery.yaml: building without it',
    ]);
    // What was sent: only the references that exist (and the image of the zone each moment is set in).
    const sent = Object.fromEntries(callLog(join(ws, ".calls.log")).map((c) => [c.id, c.references]));
    expect(sent[IMG1]).toEqual([NELL, "locations/heron-point-light/images/zones/marker-channel.png"]);
    expect(sent[IMG2]).toEqual([NELL, "locations/heron-point-light/images/zones/lamp-gallery.png"]);
    expect(sent["characters/osric-vane/the-ledger-of-lights"]).toEqual([OSRIC]);

    // The check after it: everything fresh (exit 0), and the same warnings, in text and JSON.
    const check = await chargen(ws, ["build", "--check", ...PLACEHOLDER]);
    expect(check.code).toBe(0);
    const textWarnings = check.stderr.split("\n").filter((l) => l.includes(": warning: "));
    expect(textWarnings).toHaveLength(5);
    const { img1Osric } = depictedOsric(ws);
    expect(textWarnings).toContain(
      `${CH1_FILE}:${img1Osric}:9: warning: image ch01-the-grey-tide-img-01: reference "osric-vane-portrait-old" (character osric-vane) resolves to nothing: not an image_inventory id in characters/osric-vane/imagery.yaml`,
    );
    const checkJson = await chargen(ws, ["build", "--check", "--json", ...PLACEHOLDER]);
    expect(checkJson.code).toBe(0);
    const checked = JSON.parse(checkJson.stdout);
    expect(checked.summary).toMatchObject({ fresh: 14, warnings: 5, exitCode: 0 });
    expect(warningsOf(checked).some((w) => w.includes('"osric-vane-portrait-old"'))).toBe(true);

    const again = await buildJson(ws, PLACEHOLDER);
    expect(again.code).toBe(0);
    expect(again.calls).toEqual([]);
    expect(again.report.summary).toMatchObject({ built: 0, fresh: 14, warnings: 5 });
  });

  it('missingReferences: "fail" keeps the strict behaviour: those targets fail, unsent, and the rest builds', async () => {
    const ws = exampleWorkspace();
    danglingReferences(ws);
    writeFileSync(
      join(ws, "chargen.rules.ts"),
      'import { chapterImages, characterScenes, defineRules, locationImages } from "chargen";\n' +
        'export default defineRules({ rules: [chapterImages(), characterScenes(), locationImages()], defaults: { provider: "placeholder" }, missingReferences: "fail" });\n',
    );
    const r = await buildJson(ws);
    expect(r.code).toBe(1);
    const failed = Object.entries(statuses(r.report)).filter(([, s]) => s === "failed").map(([id]) => id);
    expect(failed).toEqual([IMG1, IMG2]);
    expect(r.report.targets.find((t: { id: string }) => t.id === IMG2).reasons).toEqual([
      "reference characters/osric-vane/images/at-the-rail.png is missing",
      'reference "osric-vane-portrait-old" (character osric-vane): not an image_inventory id in characters/osric-vane/imagery.yaml',
    ]);
    expect(r.calls.sort()).toEqual(r.report.targets.map((t: { id: string }) => t.id).filter((id: string) => !failed.includes(id)).sort());
    expect(r.report.summary).toMatchObject({ built: 12, failed: 2, warnings: 5, errors: 0 });

    // --check reports them as failed, an input error: exit 2.
    const check = await chargen(ws, ["build", "--check"]);
    expect(check.code).toBe(2);
    expect(check.stdout).toContain(`failed   ${IMG1}\n         reference characters/osric-vane/images/at-the-rail.png is missing\n`);
  });
});

describe("one build converges", () => {
  const SCENE = "characters/osric-vane/the-ledger-of-lights";
  const SCENE_OUTPUT = "characters/osric-vane/images/the-ledger-of-lights.png";

  it("an inventory id that another target's write-back creates is a graph edge: that target first, and a second build builds nothing", async () => {
    const ws = exampleWorkspace();
    // Chapter 1 asks for Osric's scene image by the id its write-back records: its file name.
    edit(join(ws, CH1_FILE), '      - "osric-vane-portrait"', '      - "osric-vane-portrait"\n      - "the-ledger-of-lights"');

    const first = await buildJson(ws, PLACEHOLDER);
    expect(first.code).toBe(0);
    expect(warningsOf(first.report)).toEqual([]);
    expect(first.report.summary).toMatchObject({ built: 14, failed: 0 });
    const log = callLog(join(ws, ".calls.log"));
    const at = (id: string) => log.findIndex((c) => c.id === id);
    for (const image of [IMG1, IMG2]) {
      expect(at(SCENE)).toBeLessThan(at(image));
      expect(log[at(image)]!.references).toContain(SCENE_OUTPUT);
    }

    const second = await buildJson(ws, PLACEHOLDER);
    expect(second.code).toBe(0);
    expect(second.calls).toEqual([]);
    expect(second.report.summary).toMatchObject({ built: 0, cached: 0, fresh: 14, providerCalls: 0 });
    expect((await chargen(ws, ["build", "--check", ...PLACEHOLDER])).code).toBe(0);

    // Once the inventory lists the image under that id (the contract's write-back records it so),
    // it resolves through the inventory to the same file: still nothing to build.
    const inventory = join(ws, "characters/osric-vane/imagery.yaml");
    const entries = (parse(readFileSync(inventory, "utf8")) as { image_inventory: { id: string; path: string }[] }).image_inventory;
    const recorded = entries.find((e) => e.path === "images/the-ledger-of-lights.png")?.id;
    expect(recorded).toBeDefined();
    if (recorded !== "the-ledger-of-lights") edit(inventory, new RegExp(`(id: "?)${recorded}("?)$`, "m"), "$1the-ledger-of-lights$2");
    const third = await buildJson(ws, PLACEHOLDER);
    expect(third.code).toBe(0);
    expect(third.calls).toEqual([]);
    expect(third.report.summary).toMatchObject({ built: 0, fresh: 14 });
  });

  it("a build's own write-back never becomes a character's portrait: with none flagged or approved, the next build builds nothing", async () => {
    const ws = exampleWorkspace();
    // Osric has no identity reference, and finished scenes are recorded approved.
    const imagery = join(ws, "characters/osric-vane/imagery.yaml");
    edit(imagery, "    is_reference_portrait: true\n", "");
    edit(imagery, /status: "approved".*$/m, 'status: "draft"');
    writeFileSync(
      join(ws, "chargen.rules.ts"),
      'import { chapterImages, characterScenes, defineRules, locationImages } from "chargen";\n' +
        'export default defineRules({ rules: [chapterImages(), characterScenes({ inventoryStatus: "approved" }), locationImages()], defaults: { provider: "placeholder" } });\n',
    );
    const first = await buildJson(ws);
    expect(first.code).toBe(0);
    expect(first.report.summary).toMatchObject({ built: 14, failed: 0 });
    expect(readFileSync(imagery, "utf8")).toMatch(/type: "?generated"?\n(.*\n)*? {4}status: "?approved"?/);

    const second = await buildJson(ws);
    expect(second.code).toBe(0);
    expect(second.calls).toEqual([]);
    expect(second.report.summary).toMatchObject({ built: 0, fresh: 14 });
  });

  it("an unlisted id that no target makes is still a reference that resolves to nothing", async () => {
    const ws = exampleWorkspace();
    edit(join(ws, CH1_FILE), '      - "osric-vane-portrait"', '      - "osric-vane-portrait"\n      - "the-ledger-of-light"');
    // The places of the chapter's moments first: until they are, a dry run's reason is only the unbuilt upstream.
    expect((await buildJson(ws, ["locations/*/**", ...PLACEHOLDER])).code).toBe(0);
    const r = await buildJson(ws, ["--dry-run", ...PLACEHOLDER]);
    expect(r.code).toBe(0);
    expect(warningsOf(r.report).filter((w) => w.includes("the-ledger-of-light"))).toHaveLength(2);
    const img1 = r.report.targets.find((t: { id: string }) => t.id === IMG1);
    expect(img1.reasons).toEqual([
      "never built",
      'reference "the-ledger-of-light" (character osric-vane): not an image_inventory id in characters/osric-vane/imagery.yaml: building without it',
    ]);
  });
});
