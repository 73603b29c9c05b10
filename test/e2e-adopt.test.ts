import { readLock } from "../src/cache/lockfile.js";
import { cpSync, mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../src/core/lfs.js";
import { buildJson, chargen, EXAMPLE, IMG2, ROOT, snapshot, statuses, edit, exampleWorkspace } from "./support/cli.js";
import { scratchDir } from "./support/tmp.js";

/** Recorded history end to end: `chargen adopt`, the build that adopts first, `accept`, and Git LFS pointers. */

const FIXTURE = join(ROOT, "test", "fixtures", "adopt");
const CH = "chapters/ch01-the-ember-ferry";
const ADA = "characters/ada-brine";
const WHARF = "locations/cinder-wharf";

/** The image files the fixture's records name, present in the workspace (the records naming other files are history whose files are gone). */
const RECORDED_IMAGES: Record<string, string> = {
  [`${CH}/ch01-img-01`]: `${CH}/images/ch01-img-01-1766000000001.png`,
  [`${CH}/ch01-img-04`]: `${CH}/images/ch01-img-04-1765000000000.png`,
  [`${ADA}/poling-through-embers`]: `${ADA}/images/ada-brine-poling-through-embers-1766000000020-2025-12-02.jpg`,
  [`${ADA}/mending-the-rope-close-up`]: `${ADA}/images/ada-brine-mending-the-rope-close-up--01-1766000000010.png`,
  [`${WHARF}/overview`]: `${WHARF}/images/cinder-wharf-overview-1766000000030.png`,
  [`${WHARF}/zones/ash-steps`]: `${WHARF}/images/ash-steps-1765500000000.png`,
  [`${WHARF}/zones/toll-house/toll-ledger`]: `${WHARF}/images/toll-house__toll-ledger-1766000000040-2025-12-03.png`,
};
/** Recorded, present, but made from a prompt that does not hold today's prompt_used. */
const OUTDATED = `${CH}/ch01-img-03`;
const OUTDATED_IMAGE = `${CH}/images/ch01-img-03-1766000000003-2025-12-01.png`;
const UNRECORDED = [`${CH}/ch01-img-02`, `${ADA}/counting-coins`, `${WHARF}/zones/toll-house/toll-bell`, `${WHARF}/beats/first-crossing`];
const ADOPTED = Object.keys(RECORDED_IMAGES).sort();
const PLACEHOLDER = ["--provider", "placeholder"];

const imageBytes = (name: string) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(`recorded image ${name}`)]);
const pointerTo = (content: Uint8Array) => `version https://git-lfs.github.com/spec/v1\noid sha256:${sha256Hex(content)}\nsize ${content.byteLength}\n`;

/** A copy of the fixture with the recorded image files and the reference portrait in place. */
function historyWorkspace(): string {
  const ws = scratchDir("chargen-adopt-");
  cpSync(FIXTURE, ws, { recursive: true });
  for (const path of [...Object.values(RECORDED_IMAGES), OUTDATED_IMAGE]) write(ws, path, imageBytes(path));
  write(ws, `${ADA}/images/portrait.png`, readFileSync(join(EXAMPLE, "characters/nell-farrow/images/portrait.png")));
  // The built-in rules less the analysis targets (its records lack descriptions, as real ones do):
  // these tests are about images; e2e-analysis.test.ts is about those.
  write(ws, "chargen.rules.ts", 'import builtIn from "chargen/rules";\nexport default { ...builtIn, rules: builtIn.rules.filter((r) => r.name !== "describe-images") };\n');
  return ws;
}

function write(ws: string, path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(join(ws, path)), { recursive: true });
  writeFileSync(join(ws, path), data);
}

const lockOf = (ws: string) => Object.fromEntries(readLock(join(ws, "chargen.lock")).lock);
const idsWith = (report: { targets: { id: string; status: string }[] }, status: string) => report.targets.filter((t) => t.status === status).map((t) => t.id).sort();

async function adoptJson(ws: string, args: string[] = []) {
  const r = await chargen(ws, ["adopt", "--json", ...args]);
  return { ...r, report: JSON.parse(r.stdout) };
}

/** Whether every line of `before` is still in `after`, in order: records were appended to, never changed. */
function keepsEveryLine(before: string, after: string): boolean {
  const lines = after.split("\n");
  let at = 0;
  for (const line of before.split("\n")) {
    while (at < lines.length && lines[at] !== line) at++;
    if (at++ >= lines.length) return false;
  }
  return true;
}

describe("chargen adopt: the images the workspace already records", () => {
  it("adopt -n says what it would record, per kind, and writes nothing", async () => {
    const ws = historyWorkspace();
    const before = snapshot(ws);
    const r = await adoptJson(ws, ["-n"]);
    expect(r.code).toBe(0);
    expect(r.report.command).toBe("adopt");
    expect(idsWith(r.report, "adopted")).toEqual(ADOPTED);
    for (const t of r.report.targets.filter((x: { status: string }) => x.status === "adopted")) expect(t.output).toBe(RECORDED_IMAGES[t.id]);
    expect(idsWith(r.report, "stale")).toEqual([OUTDATED, ...UNRECORDED].sort());
    const outdated = r.report.targets.filter((t: { reasons: string[] }) => t.reasons[0] === "scenario changed since the recorded image");
    expect(outdated.map((t: { id: string }) => t.id)).toEqual([OUTDATED]);
    expect(outdated[0].reasons[1]).toBe(`recorded in ${CH}/imagery.runs.yaml:4 (${OUTDATED_IMAGE})`);
    expect(r.report.summary.providerCalls).toBe(0);
    expect(snapshot(ws, () => false)).toEqual(before); // not even .chargen/
  });

  it("adopt records each file as its target's output with no provider call; the build then generates only what has no image, and the next builds nothing", async () => {
    const ws = historyWorkspace();
    const yamlBefore = new Map([...snapshot(ws)].filter(([p]) => p.endsWith(".yaml")));
    const adopted = await adoptJson(ws);
    expect(adopted.code).toBe(0);
    expect(adopted.report.summary).toMatchObject({ adopted: ADOPTED.length, providerCalls: 0 });
    const t = adopted.report.targets.find((x: { id: string }) => x.id === `${ADA}/poling-through-embers`);
    // The last run's file is gone: the run before it, whose file is here, is the image.
    expect(t.reasons).toEqual([`recorded in ${ADA}/imagery.runs.yaml:4 (${RECORDED_IMAGES[t.id]})`]);
    expect(t.output).toBe(RECORDED_IMAGES[t.id]);
    const lock = lockOf(ws);
    expect(Object.keys(lock).sort()).toEqual(ADOPTED);
    for (const [id, path] of Object.entries(RECORDED_IMAGES)) {
      expect(lock[id]!.output).toBe(path); // the file keeps its own path: nothing is copied
      expect(lock[id]!.outputSha256).toBe(sha256Hex(imageBytes(path)));
      expect(lock[id]!.origin).toMatch(new RegExp(`^adopted: recorded in .*\\(${path}\\)$`));
    }
    const why = JSON.parse((await chargen(ws, ["why", "--json", ...PLACEHOLDER, `${CH}/ch01-img-04`])).stdout);
    expect(why).toMatchObject({ status: "fresh", output: RECORDED_IMAGES[`${CH}/ch01-img-04`] });
    // Adoption writes no record.
    for (const [path, bytes] of yamlBefore) expect(readFileSync(join(ws, path)), path).toEqual(bytes);

    const build = await buildJson(ws, PLACEHOLDER);
    expect(build.code).toBe(0);
    expect(build.calls.sort()).toEqual([OUTDATED, ...UNRECORDED].sort());
    expect(idsWith(build.report, "fresh")).toEqual(ADOPTED);
    const outdated = build.report.targets.find((x: { id: string }) => x.id === OUTDATED);
    expect(outdated.status).toBe("built");
    expect(outdated.reasons[0]).toBe("scenario changed since the recorded image");
    // Every record that was there is still there, byte for byte; new ones are appended.
    for (const [path, bytes] of yamlBefore) expect(keepsEveryLine(bytes.toString(), readFileSync(join(ws, path), "utf8")), path).toBe(true);
    for (const path of [...Object.values(RECORDED_IMAGES), OUTDATED_IMAGE]) expect(readFileSync(join(ws, path))).toEqual(imageBytes(path));

    const again = await buildJson(ws, PLACEHOLDER);
    expect(again.calls).toEqual([]);
    expect(again.report.summary).toMatchObject({ built: 0, fresh: ADOPTED.length + 1 + UNRECORDED.length });
    expect((await chargen(ws, ["build", "--check", ...PLACEHOLDER])).code).toBe(0);
  });

  it("a plain build adopts first and says so; build -n previews it; --no-adopt pays for everything", async () => {
    const ws = historyWorkspace();
    const preview = await buildJson(ws, ["-n", ...PLACEHOLDER]);
    expect(preview.code).toBe(0);
    expect(idsWith(preview.report, "adopted")).toEqual(ADOPTED);
    expect(preview.report.targets.find((x: { id: string }) => x.id === OUTDATED).reasons).toContain("scenario changed since the recorded image");
    expect(preview.calls).toEqual([]);

    const build = await buildJson(ws, PLACEHOLDER);
    expect(build.code).toBe(0);
    expect(build.stderr).toContain(`adopted ${ADOPTED.length} images the workspace already records`);
    expect(statuses(build.report)).toMatchObject(Object.fromEntries(ADOPTED.map((id) => [id, "adopted"])));
    expect(build.calls.sort()).toEqual([OUTDATED, ...UNRECORDED].sort());
    expect(build.report.summary.providerCalls).toBe(1 + UNRECORDED.length);

    const optOut = historyWorkspace();
    const paid = await buildJson(optOut, ["--no-adopt", ...PLACEHOLDER]);
    expect(paid.code).toBe(0);
    expect(paid.calls).toHaveLength(ADOPTED.length + 1 + UNRECORDED.length);
    expect(paid.stderr).not.toContain("adopted");
  });

  it("an image a rehearsal adopted is fresh for the models the rules route to: keyed with the prompt fitted to theirs, not the placeholder's", async () => {
    const ws = historyWorkspace();
    // The rules' models take 120 characters: today's prompts are cut for them; the placeholder takes them whole.
    const budget = "{ maxPromptChars: 120 }";
    write(ws, "chargen.rules.ts", `import builtIn from "chargen/rules";\nexport default { ...builtIn, rules: builtIn.rules.filter((r) => r.name !== "describe-images"), providers: { google: ${budget}, openai: ${budget} } };\n`);
    const rehearsal = await buildJson(ws, PLACEHOLDER);
    expect(rehearsal.code).toBe(0);
    expect(idsWith(rehearsal.report, "adopted")).toEqual(ADOPTED);

    const plain = await buildJson(ws, ["-n"]);
    expect(plain.report.diagnostics.filter((d: { message: string }) => d.message.includes("over the 120 of google/")).length).toBeGreaterThan(0);
    expect(Object.fromEntries(ADOPTED.map((id) => [id, statuses(plain.report)[id]]))).toEqual(Object.fromEntries(ADOPTED.map((id) => [id, "fresh"])));
  });

  it("a character scene whose recorded prompt lacks today's scene description is stale, not adopted", async () => {
    const ws = historyWorkspace();
    edit(join(ws, ADA, "image-ideas.yaml"), "as sparks drift past the bow", "as ash falls on the deck");
    const r = await adoptJson(ws, ["-n"]);
    const scene = r.report.targets.find((t: { id: string }) => t.id === `${ADA}/poling-through-embers`);
    expect(scene.status).toBe("stale");
    expect(scene.reasons[0]).toBe("scenario changed since the recorded image");
    expect(idsWith(r.report, "adopted")).toEqual(ADOPTED.filter((id) => id !== scene.id));
  });

  it("a dry run's adoption stays in memory: a no-op replay never hides it from the next build", async () => {
    const ws = historyWorkspace();
    // The wharf's views reference its overview (continuity), so selecting them builds it too, as a
    // placeholder card: the recorded real overview then takes the card's place in the lock.
    const overview = `${WHARF}/overview`;
    expect(ADOPTED).toContain(overview);
    const adopted = ADOPTED;
    expect((await buildJson(ws, ["--no-adopt", ...PLACEHOLDER, OUTDATED, ...UNRECORDED])).calls.sort()).toEqual([OUTDATED, ...UNRECORDED, overview].sort());
    // Age every file, so that the dry run's stamps could be replayed.
    const old = new Date(Date.now() - 3_600_000);
    for (const path of snapshot(ws, () => false).keys()) utimesSync(join(ws, path), old, old);
    expect((await chargen(ws, ["build", "-n", ...PLACEHOLDER])).stdout).toContain(`${adopted.length} adopted, `);
    const build = await chargen(ws, ["build", ...PLACEHOLDER]);
    expect(build.code).toBe(0);
    expect(build.stderr).toContain(`adopted ${adopted.length} images`);
    expect(Object.keys(lockOf(ws))).toHaveLength(ADOPTED.length + 1 + UNRECORDED.length);
  });

  it("adopts chargen's own records by our ids, but not one made under other inputs", async () => {
    const ws = historyWorkspace();
    // Rules that route to the placeholder, as the example's do: its cards are then this workspace's
    // images (elsewhere a card is never history: see the next test).
    cpSync(join(EXAMPLE, "chargen.rules.ts"), join(ws, "chargen.rules.ts"));
    await buildJson(ws);
    rmSync(join(ws, "chargen.lock"));
    edit(join(ws, CH, "imagery.yaml"), "Close on the pilot's scorched gloves", "Close on the pilot's blistered gloves");
    const r = await adoptJson(ws, ["-n"]);
    expect(statuses(r.report)[UNRECORDED[1]!]).toBe("adopted"); // a character scene chargen built, found by its runs log
    const changed = r.report.targets.find((x: { id: string }) => x.id === UNRECORDED[0]);
    expect(changed.status).toBe("stale");
    expect(changed.reasons[0]).toBe("inputs changed since chargen recorded the image");
    // chargen's record of the image it rebuilt is newer than the earlier tool's outdated one.
    expect(statuses(r.report)[OUTDATED]).toBe("adopted");
  });
});

describe("a placeholder rehearsal never stands for a real image", () => {
  it("its cards are recorded as drafts, never adopted where the rules route to a real provider, and never replace a real image", async () => {
    const ws = historyWorkspace();
    const rehearsal = await buildJson(ws, PLACEHOLDER);
    expect(rehearsal.code).toBe(0);
    // The adopted images stay: a card never replaces a real image.
    for (const path of Object.values(RECORDED_IMAGES)) expect(readFileSync(join(ws, path))).toEqual(imageBytes(path));
    const scene = readFileSync(join(ws, `${ADA}/imagery.yaml`), "utf8");
    expect(scene).toMatch(/type: "?placeholder"?\n\s+status: "?draft"?/);
    expect(scene).not.toMatch(/provider: "?placeholder"?[\s\S]*status: "?approved"?/);
    // Without the lock, adoption finds chargen's own records, but a card is no history here.
    rmSync(join(ws, "chargen.lock"));
    const r = await adoptJson(ws, ["-n"]);
    for (const id of UNRECORDED) expect(statuses(r.report)[id]).toBe("stale");
    for (const id of ADOPTED) expect(statuses(r.report)[id]).toBe("adopted");
  });
});

describe("chargen accept: today's inputs, the current outputs", () => {
  it("records a stale target's output as fresh without regenerating; -n writes nothing", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    edit(join(ws, "chapters/ch01-the-grey-tide/imagery.yaml"), "a tall white-bearded keeper", "a tall, white-bearded keeper");
    const before = snapshot(ws);
    const preview = await chargen(ws, ["accept", "-n", "--json"]);
    const planned = JSON.parse(preview.stdout);
    expect(planned.targets).toEqual([expect.objectContaining({ id: IMG2, status: "accepted", reasons: ["prompt changed"] })]);
    expect(snapshot(ws)).toEqual(before);

    const r = await chargen(ws, ["accept"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`accepted ${IMG2}\n         prompt changed\n`);
    expect(lockOf(ws)[IMG2]!.origin).toBe("accepted: prompt changed");
    expect((await chargen(ws, ["build", "--check"])).code).toBe(0);
    const build = await buildJson(ws);
    expect(build.calls).toEqual([]);
  });
});

describe("chargen catalog after adoption", () => {
  it("an adopted output, or one adoption would record, is recorded: catalog does not list it", async () => {
    const ws = historyWorkspace();
    const scene = RECORDED_IMAGES[`${ADA}/poling-through-embers`]!;
    // Named only by the runs log: adoptable, not unrecorded.
    expect((await chargen(ws, ["catalog"])).stdout).not.toContain(scene);
    expect((await chargen(ws, ["adopt"])).code).toBe(0);
    expect(lockOf(ws)[`${ADA}/poling-through-embers`]!.output).toBe(scene);
    expect((await chargen(ws, ["catalog"])).stdout).not.toContain(scene);
  });
});

describe("chargen accept refuses what has no output of its own", () => {
  it("a data target: its answer was never written into the YAML; exit 2, the lock unchanged", async () => {
    const ws = exampleWorkspace();
    const describe = "characters/nell-farrow/describe/nell-farrow-portrait";
    edit(join(ws, "characters/nell-farrow/imagery.yaml"), /\n\s+description: "Simple colour-block reference for Nell[^\n]*/, "");
    await buildJson(ws);
    const portrait = join(ws, "characters/nell-farrow/images/portrait.png");
    writeFileSync(portrait, Buffer.concat([readFileSync(portrait), Buffer.from("retouched")]));
    const before = lockOf(ws)[describe];
    const r = await chargen(ws, ["accept", "--json", describe]);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).targets).toEqual([
      expect.objectContaining({ id: describe, status: "failed", reasons: [`cannot accept ${describe}: it is a data target, whose answer goes into the YAML only when it is read: build it`] }),
    ]);
    expect(lockOf(ws)[describe]).toEqual(before);
  });

  it("a placeholder rehearsal's card where the rules route to a real provider: exit 2, the lock unchanged", async () => {
    const ws = historyWorkspace();
    const target = UNRECORDED[0]!;
    expect((await buildJson(ws, [...PLACEHOLDER, target])).code).toBe(0);
    const card = lockOf(ws)[target]!;
    expect(card.provider).toBe("placeholder");
    const r = await chargen(ws, ["accept", target]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain(`failed   ${target}\n         cannot accept ${target}: its output ${card.output} is a placeholder rehearsal card, not the image: build it with the provider the rules route it to\n`);
    expect(lockOf(ws)[target]).toEqual(card);
  });
});

describe("Git LFS: pointers stand for the images they point to", () => {
  it("a pointer checkout of a built workspace is fresh for --check and builds nothing", async () => {
    const ws = exampleWorkspace();
    await buildJson(ws);
    const lock = lockOf(ws);
    for (const entry of Object.values(lock)) {
      const content = readFileSync(join(ws, entry.output));
      expect(entry.outputSha256).toBe(sha256Hex(content));
      writeFileSync(join(ws, entry.output), pointerTo(content));
    }
    const check = await chargen(ws, ["build", "--check"]);
    expect(check.stdout).toMatch(/^\d+ fresh, 0 stale/);
    expect(check.code).toBe(0);
    expect((await buildJson(ws)).calls).toEqual([]);
  });

  it("a reference that is a pointer is never sent: the target fails naming the file and git lfs pull", async () => {
    const ws = exampleWorkspace();
    const portrait = "characters/nell-farrow/images/portrait.png";
    writeFileSync(join(ws, portrait), pointerTo(readFileSync(join(ws, portrait))));
    const r = await buildJson(ws);
    expect(r.code).toBe(1);
    const failed = r.report.targets.filter((t: { status: string }) => t.status === "failed");
    expect(failed.length).toBeGreaterThan(0);
    for (const t of failed) expect(t.reasons).toEqual([`reference ${portrait} is a Git LFS pointer, not the image: run \`git lfs pull\` to fetch it`]);
    expect(r.calls.filter((id: string) => failed.some((t: { id: string }) => t.id === id))).toEqual([]);
    expect(r.report.summary.providerCalls).toBe(r.report.summary.built);
  });

  it("an image adopted as a pointer is the same reference pulled or not: its dependents stay fresh", async () => {
    const ws = historyWorkspace();
    const path = RECORDED_IMAGES[`${ADA}/mending-the-rope-close-up`]!;
    const content = imageBytes(path);
    writeFileSync(join(ws, path), pointerTo(content));
    expect(statuses((await adoptJson(ws)).report)[`${ADA}/mending-the-rope-close-up`]).toBe("adopted");
    writeFileSync(join(ws, path), content); // git lfs pull, then a build that sends it as a reference
    const build = await buildJson(ws, PLACEHOLDER);
    expect(build.calls).toContain(`${CH}/ch01-img-02`);
    expect((await chargen(ws, ["build", "--check", ...PLACEHOLDER])).code).toBe(0);
    writeFileSync(join(ws, path), pointerTo(content)); // a checkout without LFS content
    expect((await chargen(ws, ["build", "--check", ...PLACEHOLDER])).code).toBe(0);
  });

  it("adoption takes a pointer as the recorded image, its oid as the digest; the pulled content is fresh", async () => {
    const ws = historyWorkspace();
    const id = `${WHARF}/overview`;
    const path = RECORDED_IMAGES[id]!;
    const content = imageBytes(path);
    writeFileSync(join(ws, path), pointerTo(content));
    const r = await adoptJson(ws);
    expect(statuses(r.report)[id]).toBe("adopted");
    expect(lockOf(ws)[id]!.outputSha256).toBe(sha256Hex(content));
    await buildJson(ws, PLACEHOLDER);
    expect((await chargen(ws, ["build", "--check", ...PLACEHOLDER])).code).toBe(0);
    writeFileSync(join(ws, path), content); // git lfs pull
    expect((await chargen(ws, ["build", "--check", ...PLACEHOLDER])).code).toBe(0);
  });
});
