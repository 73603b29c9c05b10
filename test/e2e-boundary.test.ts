/**
 * The workspace boundary, end to end through the CLI (issue 8, items 1, 2, 9, 10, 12, 13): hostile
 * ids and paths in a copy of the example that sits in a sandbox folder next to an `outside` folder
 * they aim at. Nothing may be written outside the workspace, nothing outside read into the lock or
 * a request, and every bad entry is a diagnostic (exit 2) while the rest still builds.
 */
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { digestBytes } from "../src/core/hash.js";
import { buildJson, chargen, CH1, edit, exampleWorkspace, IMG1, IMG2, IMG3, ROOT, statuses } from "./support/cli.js";
import { cleanUp, generations, providerEnv, startFake, withDefaultRules } from "./support/e2e-providers.js";
import { scratchDir } from "./support/tmp.js";

interface Sandbox {
  base: string;
  ws: string;
  outside: string;
}

/** `base/ws`, a copy of the example, and `base/outside`, which hostile paths aim at. */
function sandbox(): Sandbox {
  const base = scratchDir("chargen-boundary-");
  const ws = join(base, "ws");
  cpSync(exampleWorkspace(), ws, { recursive: true });
  const outside = join(base, "outside");
  mkdirSync(outside);
  return { base, ws, outside };
}

/** Every path under `dir`, folders included, relative to it. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

const CH1_YAML = `${CH1}/imagery.yaml`;
const NELL = "characters/nell-farrow/imagery.yaml";
const OSRIC = "characters/osric-vane/imagery.yaml";

/** 1-based line of the first line of `file` (in `ws`) that contains `text`. */
function lineOf(ws: string, file: string, text: string): number {
  const index = readFileSync(join(ws, file), "utf8").split("\n").findIndex((l) => l.includes(text));
  expect(index, `${file} has no line with ${text}`).toBeGreaterThanOrEqual(0);
  return index + 1;
}

/** Replace the `custom_id` of the example's third chapter-1 image with `yaml` (a YAML scalar). */
function setThirdCustomId(ws: string, yaml: string): void {
  edit(join(ws, CH1_YAML), '  - custom_id: "ch01-the-grey-tide-img-03"', `  - custom_id: ${yaml}`);
}

/** The example's target count, from a pristine copy. */
async function exampleTotal(): Promise<number> {
  const r = await chargen(exampleWorkspace(), ["targets", "--json"]);
  return JSON.parse(r.stdout).targets.length;
}

describe("the workspace boundary", () => {
  afterEach(cleanUp);

  it("item 1: a chapter custom_id that climbs out of the workspace writes nothing outside, with or without --force", async () => {
    const { base, ws, outside } = sandbox();
    const total = await exampleTotal();
    const victim = join(outside, "victim.png");
    writeFileSync(victim, "not chargen's");
    setThirdCustomId(ws, '"../../../../outside/victim"');
    for (const args of [[], ["--force"]]) {
      // Write-backs into the entries above move it down after the first build.
      const line = lineOf(ws, CH1_YAML, "outside/victim");
      const r = await buildJson(ws, args);
      expect(r.code).toBe(2);
      expect(r.report.diagnostics).toContainEqual(
        expect.objectContaining({ severity: "error", file: CH1_YAML, line, message: expect.stringMatching(/images\[2\]\.custom_id "\.\.\/.*victim" is not a safe file name: it contains a path separator/) }),
      );
      // Everything else is still built (the first time), or fresh.
      expect(r.report.summary.total).toBe(total - 1);
      expect(r.report.summary.failed).toBe(0);
    }
    expect(readFileSync(victim, "utf8")).toBe("not chargen's");
    expect(tree(base).filter((p) => !p.startsWith("ws"))).toEqual(["outside", "outside/victim.png"]);
  });

  it("item 9: a NUL, a newline or a 300-byte custom_id is a diagnostic for that entry; build, check and dry run go on, again and again", async () => {
    const { ws } = sandbox();
    const total = await exampleTotal();
    setThirdCustomId(ws, '"bad\\0id"');
    edit(join(ws, CH1_YAML), '  - custom_id: "ch01-the-grey-tide-img-02"', `  - custom_id: "${"x".repeat(300)}"`);
    edit(join(ws, "chapters/ch02-the-drowned-marker/imagery.yaml"), '  - custom_id: "ch02-the-drowned-marker-img-02"', '  - custom_id: "two\\nlines"');

    const first = await buildJson(ws);
    expect(first.code).toBe(2);
    const messages = first.report.diagnostics.map((d: { message: string }) => d.message).join("\n");
    expect(messages).toContain("it contains a control character");
    expect(messages).toContain("it is 300 bytes long, over the limit of 200");
    expect(first.report.summary).toMatchObject({ total: total - 3, built: total - 3, failed: 0 });
    expect(first.calls).toHaveLength(total - 3);

    for (const args of [["--check"], ["--dry-run"], []]) {
      const again = await buildJson(ws, args);
      expect(again.code, args.join(" ")).toBe(2);
      expect(again.stderr).not.toMatch(/internal error|ENAMETOOLONG/);
      expect(again.report.summary.fresh, args.join(" ")).toBe(total - 3);
      expect(again.calls).toEqual([]);
    }
  });

  it("item 2: inventory paths outside the workspace and files that are not images are never keyed, locked or sent", async () => {
    const { ws, outside } = sandbox();
    withDefaultRules(ws, { openai: { maxInFlight: 4, perMinute: 600 } });
    const fake = await startFake("openai");
    // A real PNG outside (an image is no excuse), and a text file inside posing as a portrait.
    const secret = Buffer.concat([readFileSync(join(ws, "characters/nell-farrow/images/portrait.png")), Buffer.from("OUTSIDE-SECRET-MARKER")]);
    writeFileSync(join(outside, "secret.png"), secret);
    edit(join(ws, NELL), 'path: "images/portrait.png"', 'path: "../../../outside/secret.png"');
    const passwd = "root:x:0:0:PASSWD-MARKER:/root:/bin/bash\n";
    writeFileSync(join(ws, "characters/osric-vane/images/portrait.png"), passwd);

    const r = await buildJson(ws, ["--provider", "openai"], providerEnv("openai", fake));
    expect(r.code).toBe(2);
    expect(r.report.diagnostics).toContainEqual(
      expect.objectContaining({ severity: "error", file: NELL, line: lineOf(ws, NELL, "outside/secret.png"), message: expect.stringContaining("leaves the workspace") }),
    );
    // Osric's portrait is refused by its bytes: every target that uses it fails, naming the file.
    const byId = new Map(r.report.targets.map((t: { id: string }) => [t.id, t]));
    for (const id of ["characters/osric-vane/the-ledger-of-lights", IMG1, IMG2]) {
      expect(byId.get(id), id).toMatchObject({ status: "failed", reasons: [expect.stringMatching(/^reference characters\/osric-vane\/images\/portrait\.png is refused: it is not a PNG, JPEG, WebP or GIF image$/)] });
    }
    // Nothing of either file went out or into the lock.
    const sent = Buffer.concat(fake.calls().map((e) => e.raw));
    expect(sent.includes("OUTSIDE-SECRET-MARKER")).toBe(false);
    expect(sent.includes("PASSWD-MARKER")).toBe(false);
    expect(generations(fake).length).toBeGreaterThan(0); // the rest was built
    const lock = readFileSync(join(ws, "chargen.lock"), "utf8");
    for (const needle of ["outside", digestBytes(secret), digestBytes(Buffer.from(passwd)), "osric-vane/images/portrait.png"]) expect(lock).not.toContain(needle);
  });

  it("a reference that is a symbolic link out of the workspace is refused, and so is a character slug that climbs out", async () => {
    const { ws, outside } = sandbox();
    const portrait = join(ws, "characters/nell-farrow/images/portrait.png");
    cpSync(portrait, join(outside, "portrait.png"));
    rmSync(portrait);
    symlinkSync(join(outside, "portrait.png"), portrait);
    // A depicted "character" whose folder is outside: its imagery.yaml must not be read.
    mkdirSync(join(outside, "x"), { recursive: true });
    writeFileSync(join(outside, "x", "imagery.yaml"), "image_inventory:\n  - {id: p, path: portrait.png, status: approved}\n");
    edit(join(ws, "chapters/ch02-the-drowned-marker/imagery.yaml"), /depicts_characters:\n {6}- "nell-farrow"/, 'depicts_characters:\n      - "nell-farrow"\n      - "../../outside/x"');

    const r = await buildJson(ws);
    expect(r.code).toBe(2);
    expect(r.report.diagnostics).toContainEqual(expect.objectContaining({ severity: "error", file: "chapters/ch02-the-drowned-marker/imagery.yaml", message: expect.stringContaining('"../../outside/x" is not a safe file name') }));
    for (const id of ["characters/nell-farrow/reading-the-fog", IMG3]) {
      expect(r.report.targets.find((t: { id: string }) => t.id === id)).toMatchObject({
        status: "failed",
        reasons: ["reference characters/nell-farrow/images/portrait.png is refused: a symbolic link leads it out of the workspace"],
      });
    }
    expect(r.calls).not.toContain(IMG3);
    expect(statuses(r.report)["characters/osric-vane/the-ledger-of-lights"]).toBe("built");
  });

  it("item 10 and rules of one's own: two targets writing one file is a diagnostic naming both; outputs and reads outside are refused", async () => {
    const { base, ws } = sandbox();
    // A rule of the workspace's own, next to the default ones: one target per poster, output named by its `file`.
    const defaults = JSON.stringify(join(ROOT, "dist", "chargen.rules.js"));
    writeFileSync(
      join(ws, "chargen.rules.ts"),
      `import base from ${defaults};
const posters = {
  name: "posters",
  sources: ["posters.yaml"],
  plan(file, ctx) {
    ctx.readYaml("../outside/notes.yaml");
    for (const item of file.doc.get("posters").items) {
      const p = item.toJSON();
      const at = file.position(item);
      ctx.emit({ id: "posters/" + p.id, rule: "posters", source: { file: file.path, ...at }, references: [], requested: {},
        prompt: { compiler: "posters/1", parts: [{ role: "prompt", text: p.prompt }], negative: [] }, output: "posters/" + p.file });
    }
  },
};
export default { ...base, defaults: { ...base.defaults, provider: "placeholder", model: "placeholder-1" }, rules: [...base.rules, posters] };
`,
    );
    writeFileSync(
      join(ws, "posters.yaml"),
      ["posters:", '  - {id: dawn, prompt: "Dawn over the flats", file: harbour.png}', '  - {id: dusk, prompt: "Dusk over the flats", file: harbour.png}', '  - {id: away, prompt: "Elsewhere", file: ../../outside/away.png}', ""].join("\n"),
    );
    writeFileSync(join(base, "outside", "notes.yaml"), "secret: OUTSIDE\n");

    const r = await buildJson(ws, ["posters/**"]);
    expect(r.code).toBe(2);
    expect(r.report.diagnostics).toContainEqual(
      expect.objectContaining({
        severity: "error",
        file: "posters.yaml",
        line: 3,
        targetId: "posters/dusk",
        message: 'target "posters/dusk" writes posters/harbour.png, which target "posters/dawn" (posters.yaml:2) already writes; outputs must be unique',
      }),
    );
    expect(r.report.diagnostics).toContainEqual(expect.objectContaining({ file: "posters.yaml", line: 4, message: 'output "posters/../../outside/away.png" of target posters/away is refused: it leaves the workspace' }));
    expect(r.report.diagnostics).toContainEqual(expect.objectContaining({ file: "posters.yaml", message: 'a rule read "../outside/notes.yaml" is refused: it leaves the workspace' }));
    expect(r.report.targets.map((t: { id: string; status: string }) => [t.id, t.status])).toEqual([["posters/dawn", "built"]]);
    expect(tree(join(base, "outside"))).toEqual(["notes.yaml"]);
    // The one that kept the file is fresh from then on: --check does not flip between two writers.
    expect((await chargen(ws, ["build", "--check", "posters/**"])).code).toBe(2);
    expect((await buildJson(ws, ["posters/**"])).report.targets.map((t: { status: string }) => t.status)).toEqual(["fresh"]);
  });

  it("item 12: a duplicate custom_id is an error, and the first entry builds, then is fresh", async () => {
    const { ws } = sandbox();
    const total = await exampleTotal();
    edit(join(ws, CH1_YAML), '  - custom_id: "ch01-the-grey-tide-img-03"', '  - custom_id: "ch01-the-grey-tide-img-02"');
    const line = lineOf(ws, CH1_YAML, 'custom_id: "ch01-the-grey-tide-img-02"');
    const duplicate = readFileSync(join(ws, CH1_YAML), "utf8").split("\n").findIndex((l, i) => i + 1 > line && l.includes('custom_id: "ch01-the-grey-tide-img-02"')) + 1;

    const first = await buildJson(ws);
    expect(first.code).toBe(2);
    expect(first.report.diagnostics).toContainEqual(expect.objectContaining({ file: CH1_YAML, line: duplicate, message: expect.stringContaining(`is already used by ${CH1_YAML}:${line}`) }));
    expect(statuses(first.report)[IMG2]).toBe("built");
    expect(first.report.summary).toMatchObject({ total: total - 1, built: total - 1 });
    const second = await buildJson(ws);
    expect(statuses(second.report)[IMG2]).toBe("fresh");
    expect(second.calls).toEqual([]);
  });

  it("item 13: prompt_used: [1, 2], a size that is not one, a list where a model belongs and an unknown format are errors naming file, line and field", async () => {
    const { ws } = sandbox();
    const total = await exampleTotal();
    const file = join(ws, CH1_YAML);
    const text = readFileSync(file, "utf8");
    // img-01 gets a list for a prompt, img-02 an absurd size, chapter 2's defaults a list for a model.
    const at = text.indexOf('  - custom_id: "ch01-the-grey-tide-img-02"');
    writeFileSync(file, text.slice(0, at).replace('    size: "1792x768"', '    size: "1792x768"\n    prompt_used: [1, 2]') + text.slice(at).replace(/size: "[^"]+"/, 'size: "99999999x-5"'));
    edit(join(ws, "chapters/ch02-the-drowned-marker/imagery.yaml"), 'model: "placeholder-1"', "model: [a, b]");
    edit(join(ws, "locations/heron-point-light/imagery.yaml"), 'slug: "heron-point-light-overview"', 'slug: "heron-point-light-overview"\n  format: "tiff"');

    const r = await buildJson(ws);
    expect(r.code).toBe(2);
    expect(r.report.diagnostics).toContainEqual(
      expect.objectContaining({ severity: "error", file: CH1_YAML, line: lineOf(ws, CH1_YAML, "prompt_used: [1, 2]"), message: "images[0].prompt_used is a list, not text" }),
    );
    expect(r.report.diagnostics).toContainEqual(
      expect.objectContaining({ severity: "error", file: CH1_YAML, targetId: IMG2, message: 'size "99999999x-5" is not WxH in whole pixels from 1 to 8192' }),
    );
    expect(r.report.diagnostics).toContainEqual(
      expect.objectContaining({ severity: "error", file: "chapters/ch02-the-drowned-marker/imagery.yaml", message: "generation_defaults.model is a list, not text" }),
    );
    expect(r.report.diagnostics).toContainEqual(
      expect.objectContaining({ severity: "error", file: "locations/heron-point-light/imagery.yaml", targetId: "locations/heron-point-light/overview", message: 'format "tiff" is not one of png, jpeg, webp' }),
    );
    // None of them was keyed or paid for; everything else was built.
    expect(r.calls).not.toContain(IMG1);
    expect(r.calls).not.toContain(IMG2);
    expect(r.calls.some((id) => id.startsWith("chapters/ch02-"))).toBe(false);
    expect(r.calls).not.toContain("locations/heron-point-light/overview");
    // The overview's views reference its image for continuity (a graph edge): they wait on it, and
    // with it failed they are skipped, not sent either.
    const views = ["zones/lamp-gallery", "zones/marker-channel", "beats/marker-relit"].map((v) => `locations/heron-point-light/${v}`);
    for (const id of views) {
      expect(r.report.targets.find((t: { id: string }) => t.id === id)).toMatchObject({ status: "skipped", reasons: ["upstream locations/heron-point-light/overview failed"] });
    }
    expect(r.calls.some((id) => id.startsWith("locations/heron-point-light/"))).toBe(false);
    // So is the one chapter image left in chapter 1: its moment is set in one of those zones.
    const img3 = "chapters/ch01-the-grey-tide/ch01-the-grey-tide-img-03";
    expect(r.report.targets.find((t: { id: string }) => t.id === img3)).toMatchObject({ status: "skipped", reasons: ["upstream locations/heron-point-light/zones/marker-channel skipped"] });
    expect(r.calls).toHaveLength(total - 5 - views.length - 1);
  });
});
