import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { buildJson, chargen, CH1, edit, exampleWorkspace, IMG1, lockOf } from "./support/cli.js";
import { cleanUp, generations, providerEnv, scratchExample, startFake, withDefaultRules } from "./support/e2e-providers.js";

/**
 * Prompt sections end to end: an edit to one story fact makes stale exactly the images whose
 * prompt carries it, with the reason naming the section.
 */

interface CheckedTarget {
  id: string;
  status: string;
  reasons: string[];
}

async function check(ws: string): Promise<CheckedTarget[]> {
  const r = await chargen(ws, ["build", "--check", "--json"]);
  return (JSON.parse(r.stdout) as { targets: CheckedTarget[] }).targets.filter((t) => t.status !== "fresh");
}

/** Ids of the targets that reference `path`, from `chargen targets --json`: the images that depict a character reference their portrait. */
async function referencing(ws: string, path: string): Promise<string[]> {
  const r = await chargen(ws, ["targets", "--json"]);
  const { targets } = JSON.parse(r.stdout) as { targets: { id: string; references: string[] }[] };
  return targets.filter((t) => t.references.includes(path)).map((t) => t.id).sort();
}

describe("prompt sections, end to end on the example workspace", () => {
  it("editing only a chapter's visual_thesis makes exactly that chapter's images stale, naming the thesis", async () => {
    const ws = exampleWorkspace();
    expect((await buildJson(ws)).code).toBe(0);
    const all = JSON.parse((await chargen(ws, ["targets", "--json"])).stdout).targets.map((t: { id: string }) => t.id);
    edit(join(ws, CH1, "imagery.yaml"), "only as strong as the person", "only as strong as the hands");
    const stale = await check(ws);
    const chapter = all.filter((id: string) => id.startsWith(`${CH1}/`)).sort();
    expect(chapter.length).toBeGreaterThanOrEqual(3);
    expect(stale.map((t) => t.id).sort()).toEqual(chapter);
    for (const t of stale) expect(t.reasons).toEqual(["visual thesis changed"]);
  });

  it("editing a character's appearance makes exactly the images depicting them stale, naming the character", async () => {
    const ws = exampleWorkspace();
    expect((await buildJson(ws)).code).toBe(0);
    const depicting = await referencing(ws, "characters/osric-vane/images/portrait.png");
    // Chapter images, his own scenes and Nell's scene with him as her companion.
    expect(depicting).toContain("characters/nell-farrow/the-handover");
    expect(depicting.some((id) => id.startsWith("chapters/"))).toBe(true);
    edit(join(ws, "characters/osric-vane/imagery.yaml"), "a close-cropped white beard", "a close-cropped iron-grey beard");
    const stale = await check(ws);
    expect(stale.map((t) => t.id).sort()).toEqual(depicting);
    for (const t of stale) expect(t.reasons).toEqual(["character osric-vane changed"]);

    // Building rebuilds exactly those.
    const r = await buildJson(ws);
    expect(r.calls.sort()).toEqual(depicting);
  });
});

const HANDOVER = "characters/nell-farrow/the-handover";

interface Shown {
  id: string;
  provider: string;
  model: string;
  settings: { size?: string; aspectRatio?: string; format: string };
  sections: { role: string; text: string }[];
  cut: string[];
  negative: string[];
  sent: string;
  references: { index: number; path: string; role: string; label: string; digest: string | null }[];
  key: string | null;
  estimatedCostUsd: number | null;
}

async function show(ws: string, args: string[]): Promise<{ code: number | null; targets: Shown[]; stderr: string }> {
  const r = await chargen(ws, ["show", "--json", ...args]);
  return { code: r.code, stderr: r.stderr, targets: r.stdout ? (JSON.parse(r.stdout) as { targets: Shown[] }).targets : [] };
}

describe("chargen show", () => {
  it("prints exactly what would be sent: settings, every section, the negative, each reference, the key and the cost", async () => {
    const ws = exampleWorkspace();
    const { code, targets } = await show(ws, [IMG1]);
    expect(code).toBe(0);
    expect(targets.map((t) => t.id)).toEqual([IMG1]);
    const t = targets[0]!;
    expect([t.provider, t.model, t.estimatedCostUsd]).toEqual(["placeholder", "placeholder-1", 0]);
    expect(t.sections.map((x) => x.role)).toEqual(["prompt", "character:nell-farrow", "character:osric-vane", "composition", "lighting", "palette", "mood", "visual-thesis", "art-direction", "style", "references"]);
    expect(t.sent).toBe(`${t.sections.map((x) => x.text).join("\n\n")}\n\nAvoid: ${t.negative.join(", ")}`);
    expect(t.references.map((r) => [r.index, r.path, r.role, r.label])).toEqual([
      [1, "characters/nell-farrow/images/portrait.png", "character:nell-farrow", "Nell Farrow: identity portrait"],
      [2, "characters/osric-vane/images/portrait.png", "character:osric-vane", "Osric Vane: identity portrait"],
      // The moment is set in a zone of the lighthouse: that zone's image keeps the place continuous.
      [3, "locations/heron-point-light/images/zones/marker-channel.png", "location:heron-point-light", "Heron Point Light, Marker Channel: the place of this scene"],
    ]);
    // The zone's image is not built yet: its digest, and so the key, are not known before it is.
    expect(t.references.map((r) => r.digest === null)).toEqual([false, false, true]);
    for (const r of t.references.slice(0, 2)) expect(r.digest).toMatch(/^[0-9a-f]{16}$/);
    expect(t.key).toBeNull();
    expect((await buildJson(ws, ["locations/heron-point-light/zones/marker-channel"])).code).toBe(0);
    const built = (await show(ws, [IMG1])).targets[0]!;
    for (const r of built.references) expect(r.digest).toMatch(/^[0-9a-f]{16}$/);
    // The key is the one `why` reports and a build records.
    const why = JSON.parse((await chargen(ws, ["why", "--json", IMG1])).stdout);
    expect(built.key).toBe(why.key);
    await buildJson(ws);
    expect(lockOf(ws).get(IMG1)!.key).toBe(built.key);

    // Another provider: its model, settings as normalised for it, and a real price.
    const openai = (await show(ws, ["--provider", "openai", IMG1])).targets[0]!;
    expect([openai.provider, openai.model]).toEqual(["openai", "gpt-image-1.5"]);
    expect(openai.estimatedCostUsd).toBeGreaterThan(0);
  });

  it("prints only the diagnostics of the targets asked for, as targets and why do", async () => {
    const ws = exampleWorkspace();
    // A dangling reference in chapter 2 is a diagnostic of that chapter's target only.
    const ch2 = join(ws, "chapters/ch02-the-drowned-marker/imagery.yaml");
    edit(ch2, /reference_images:\n(\s+)- "nell-farrow-portrait"/, 'reference_images:\n$1- "nell-farrow-nowhere"');
    const all = await chargen(ws, ["targets"]);
    expect(all.stderr).toContain("nell-farrow-nowhere");
    for (const args of [["show", IMG1], ["targets", `${CH1}/*`], ["why", IMG1]]) {
      const r = await chargen(ws, args);
      expect(r.stderr, args.join(" ")).not.toContain("nell-farrow-nowhere");
    }
    // A pattern lists the targets it matches and what they depend on (the places of their scenes).
    const ch2Targets = JSON.parse((await chargen(ws, ["targets", "--json", "chapters/ch02-*/*"])).stdout).targets as { id: string }[];
    const r = await chargen(ws, ["why", ch2Targets.find((t) => t.id.startsWith("chapters/ch02-"))!.id]);
    expect(r.stderr).toContain("nell-farrow-nowhere");
  });
});

describe("the prompt length budget", () => {
  it("cuts whole sections, lowest priority first, never the scenario; warns naming the target and the sections; sends and records the trimmed prompt", async () => {
    const ws = exampleWorkspace();
    const full = (await show(ws, [HANDOVER])).targets[0]!;
    const scenario = full.sections.filter((x) => ["prompt", "pose", "setting"].includes(x.role));
    // The built-in rules send to google: like the example's own rules, this one chooses the placeholder.
    // Room for the scenario, the characters and the references, not for the rest.
    const keep = full.sections.filter((x) => !["mood", "art-direction", "style"].includes(x.role));
    const budget = keep.map((x) => x.text.length).reduce((a, b) => a + b) + 2 * (keep.length - 1) + 9 + full.negative.join(", ").length;
    writeFileSync(
      join(ws, "chargen.rules.ts"),
      `import defaults from "${join(import.meta.dirname, "..", "chargen.rules.ts")}";\nexport default { ...defaults, defaults: { ...defaults.defaults, provider: "placeholder", model: "placeholder-1" }, providers: { placeholder: { models: { "placeholder-1": { maxPromptChars: ${budget} } } } } };\n`,
    );
    const { targets, stderr } = await show(ws, [HANDOVER]);
    const t = targets[0]!;
    expect(t.cut).toEqual(["mood", "style", "art-direction"]);
    expect(t.sections.map((x) => x.role)).toEqual(keep.map((x) => x.role));
    expect(t.sections.slice(0, scenario.length)).toEqual(scenario);
    expect(t.sent.length).toBeLessThanOrEqual(budget);
    expect(stderr).toContain(`warning: ${HANDOVER}: prompt is ${full.sent.length} characters, over the ${budget} of placeholder/placeholder-1: cut mood, style, art-direction to ${t.sent.length}`);

    // The build sends and records that prompt, under the key show printed.
    const r = await buildJson(ws, [HANDOVER]);
    expect(r.code).toBe(0);
    expect(r.report.diagnostics.filter((d: { targetId?: string; message: string }) => d.targetId === HANDOVER && /cut mood/.test(d.message))).toHaveLength(1);
    const runs = parse(readFileSync(join(ws, "characters/nell-farrow/imagery.runs.yaml"), "utf8"));
    const run = runs.runs.find((x: { target_id: string }) => x.target_id === HANDOVER);
    expect(`${run.prompt_used}\n\nAvoid: ${run.negative_prompt_used}`).toBe(t.sent);
    expect(lockOf(ws).get(HANDOVER)!.key).toBe(t.key);
    // Fresh on the next check: the trim is decided the same way every time.
    expect((await chargen(ws, ["build", "--check", HANDOVER])).code).toBe(0);
  });
});

describe("what each reference is for, on the wire", () => {
  afterEach(cleanUp);
  // The two portraits, then the image of the zone the moment is set in (built first, in the same build).
  const references = ["characters/nell-farrow/images/portrait.png", "characters/osric-vane/images/portrait.png", "locations/heron-point-light/images/zones/marker-channel.png"];
  const listed =
    "Reference images attached, in order: image 1, Nell Farrow: identity portrait; image 2, Osric Vane: identity portrait; image 3, Heron Point Light, Marker Channel: the place of this scene.";

  it("openai: the edit's prompt names the images in the order they are sent", async () => {
    const ws = scratchExample();
    withDefaultRules(ws, { openai: { maxInFlight: 1, perMinute: 600 } });
    const fake = await startFake("openai");
    expect((await buildJson(ws, ["--provider", "openai", IMG1], providerEnv("openai", fake))).code).toBe(0);
    // The place's overview and zone come first (one in flight): the chapter image is the last request.
    const sent = generations(fake).at(-1);
    expect(sent!.path).toBe("/v1/images/edits");
    expect(sent!.parts!.find((p) => p.name === "prompt")!.value).toContain(listed);
    const images = sent!.parts!.filter((p) => p.name === "image[]");
    expect(images.map((p) => p.size)).toEqual(references.map((p) => readFileSync(join(ws, p)).length));
  });

  it("google: each inline image follows a label saying what it is, in the prompt's order", async () => {
    const ws = scratchExample();
    withDefaultRules(ws, { google: { maxInFlight: 1, perMinute: 600 } });
    const fake = await startFake("google");
    expect((await buildJson(ws, ["--provider", "google", IMG1], providerEnv("google", fake))).code).toBe(0);
    const sent = generations(fake).at(-1);
    const parts = (sent!.body as { contents: { parts: { text?: string; inlineData?: { data: string } }[] }[] }).contents[0]!.parts;
    expect(parts[0]!.text).toContain(listed);
    expect(parts.slice(1).map((p) => p.text ?? Buffer.from(p.inlineData!.data, "base64").length)).toEqual([
      "Reference image 1: Nell Farrow: identity portrait",
      readFileSync(join(ws, references[0]!)).length,
      "Reference image 2: Osric Vane: identity portrait",
      readFileSync(join(ws, references[1]!)).length,
      "Reference image 3: Heron Point Light, Marker Channel: the place of this scene",
      readFileSync(join(ws, references[2]!)).length,
    ]);
  });
});

describe("continuity: a location's views reference its overview, and a chapter image the zone it is set in", () => {
  const LOC = "locations/heron-point-light";
  const OVERVIEW = `${LOC}/overview`;
  const ZONE = `${LOC}/zones/lamp-gallery`;

  type Listed = { id: string; output: string; references: string[] };
  async function listed(ws: string): Promise<Listed[]> {
    return JSON.parse((await chargen(ws, ["targets", "--json"])).stdout).targets as Listed[];
  }
  const status = (r: Awaited<ReturnType<typeof buildJson>>, id: string) => r.report.targets.find((t: { id: string }) => t.id === id).status;

  it("a regenerated overview makes its zones and beats stale, and the chapter images set there; one restored from the cache does not", async () => {
    const ws = exampleWorkspace();
    expect((await buildJson(ws)).code).toBe(0);
    const targets = await listed(ws);
    const overviewOutput = targets.find((t) => t.id === OVERVIEW)!.output;
    const views = targets.filter((t) => t.id.startsWith(`${LOC}/`) && t.id !== OVERVIEW);
    expect(views.length).toBeGreaterThanOrEqual(2);
    for (const v of views) expect(v.references, v.id).toContain(overviewOutput);
    // Every chapter moment of the example is set in one of the lighthouse's zones.
    const scenes = targets.filter((t) => t.id.startsWith("chapters/"));
    for (const s of scenes) expect(s.references.some((r) => views.some((v) => v.output === r)), s.id).toBe(true);

    // Removed and restored from the cache: the same bytes, so nothing downstream is stale.
    rmSync(join(ws, overviewOutput));
    const restored = await buildJson(ws);
    expect(restored.calls).toEqual([]);
    expect(status(restored, OVERVIEW)).toBe("cached");
    for (const t of [...views, ...scenes]) expect(status(restored, t.id), t.id).toBe("fresh");

    // Regenerated from an edited prompt: built first, then every view of the place, then the
    // chapter images set in its zones (their zone images are new), and nothing else.
    edit(join(ws, LOC, "imagery.yaml"), "loose ink lines. A crooked", "loose ink lines. A leaning");
    const rebuilt = await buildJson(ws);
    expect(rebuilt.calls[0]).toBe(OVERVIEW);
    expect(rebuilt.calls.sort()).toEqual([OVERVIEW, ...views.map((v) => v.id), ...scenes.map((s) => s.id)].sort());
    for (const v of views) {
      expect(rebuilt.report.targets.find((t: { id: string }) => t.id === v.id).reasons, v.id).toContain(`reference ${overviewOutput} changed`);
    }
  });

  it("a regenerated zone image makes exactly the chapter images set in it stale; one restored from the cache does not", async () => {
    const ws = exampleWorkspace();
    expect((await buildJson(ws)).code).toBe(0);
    const targets = await listed(ws);
    const zoneOutput = targets.find((t) => t.id === ZONE)!.output;
    const setThere = targets.filter((t) => t.id.startsWith("chapters/") && t.references.includes(zoneOutput)).map((t) => t.id);
    // One image in each chapter is set in the lamp gallery.
    expect(setThere.sort()).toEqual(["chapters/ch01-the-grey-tide/ch01-the-grey-tide-img-02", "chapters/ch02-the-drowned-marker/ch02-the-drowned-marker-img-02"]);

    rmSync(join(ws, zoneOutput));
    const restored = await buildJson(ws);
    expect(restored.calls).toEqual([]);
    expect(status(restored, ZONE)).toBe("cached");
    for (const id of setThere) expect(status(restored, id), id).toBe("fresh");

    edit(join(ws, LOC, "imagery.yaml"), "Gouache storybook illustration, quiet interior.", "Gouache storybook illustration, hushed interior.");
    const rebuilt = await buildJson(ws);
    expect(rebuilt.calls[0]).toBe(ZONE);
    expect(rebuilt.calls.sort()).toEqual([ZONE, ...setThere].sort());
    for (const id of setThere) {
      expect(rebuilt.report.targets.find((t: { id: string }) => t.id === id).reasons, id).toEqual([`reference ${zoneOutput} changed`]);
    }
  });
});
