import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { afterEach, describe, expect, it } from "vitest";
import { startGeminiBatchFake, type BatchFake } from "./fakes/batch-fake.js";
import { bookWorkspace, chapterFile, chapterState, chapterYaml, CHAPTERS, imageTarget, proposed, redrawnSince } from "./support/book.js";
import { buildJson, chargen, edit, exampleWorkspace } from "./support/cli.js";
import { providerEnv, SECRET } from "./support/e2e-providers.js";

describe("a book read into images, in one build", () => {
  it("text -> elements -> each chapter's specifications -> their images; a second build makes 0 calls", async () => {
    const ws = await bookWorkspace();
    const first = await buildJson(ws);
    expect(first.stderr).not.toMatch(/warning|error/);
    expect(first.code).toBe(0);
    expect(first.report.diagnostics).toEqual([]);
    const images = CHAPTERS.flatMap((c) => chapterYaml(ws, c).images.map((e) => imageTarget(c, e)));
    expect(images.length).toBeGreaterThanOrEqual(3);
    // Each reading once and each image once: a chapter's specification after the elements of that chapter and the earlier ones, its images after it.
    const elementReadings = CHAPTERS.map((c) => `chapters/${c}/elements`);
    const readings = CHAPTERS.map((c) => `chapters/${c}/scene-specs`);
    expect([...first.calls].sort()).toEqual([...elementReadings, ...readings, ...images].sort());
    CHAPTERS.forEach((c, i) => {
      for (const earlier of elementReadings.slice(0, i + 1)) expect(first.calls.indexOf(readings[i]!)).toBeGreaterThan(first.calls.indexOf(earlier));
    });
    for (const c of CHAPTERS) {
      const read = first.calls.indexOf(`chapters/${c}/scene-specs`);
      for (const id of images.filter((i) => i.startsWith(`chapters/${c}/`))) expect(first.calls.indexOf(id)).toBeGreaterThan(read);
    }
    for (const c of CHAPTERS) {
      for (const e of chapterYaml(ws, c).images) {
        expect(e.image_inventory?.[0]?.path).toBe(`images/${e.custom_id}.png`);
        expect(readFileSync(join(ws, "chapters", c, "images", `${e.custom_id}.png`)).subarray(1, 4).toString()).toBe("PNG");
      }
    }
    const elements = parse(readFileSync(join(ws, "story", "elements.yaml"), "utf8")) as { characters: unknown[]; places: unknown[] };
    expect(elements.characters.length + elements.places.length).toBeGreaterThan(0);

    const second = await buildJson(ws);
    expect(second.code).toBe(0);
    expect(second.calls).toEqual([]);
    expect(second.report.summary).toMatchObject({ built: 0, providerCalls: 0 });
  });

  it("editing a paragraph of chapter 2 re-reads chapter 2 only and draws only the images whose entries (or the elements they depict) changed; reverting it costs nothing", async () => {
    const ws = await bookWorkspace();
    expect((await buildJson(ws)).code).toBe(0);

    const before = chapterState(ws, "ch02-the-drowned-marker");
    const content = join(ws, "chapters", "ch02-the-drowned-marker", "content.md");
    const original = readFileSync(content, "utf8");
    edit(content, "Gulls wheeled over the mudflats.", "Gulls wheeled over the mudflats, crying.");
    const edited = await buildJson(ws);
    expect(edited.code).toBe(0);
    // Chapter 2's readings only (its elements, then its specification: the other chapters' elements did not change), then the images of its entries that changed.
    expect(edited.calls.slice(0, 2)).toEqual(["chapters/ch02-the-drowned-marker/elements", "chapters/ch02-the-drowned-marker/scene-specs"]);
    expect(edited.calls.slice(2).sort()).toEqual(redrawnSince(ws, before));

    // Back to the text as it was: both readings come from the cache, the entries come back unchanged, and no image is drawn again.
    writeFileSync(content, original);
    const reverted = await buildJson(ws);
    expect(reverted.code).toBe(0);
    expect(reverted.calls).toEqual([]);
    expect(new Map(proposed(ws, "ch02-the-drowned-marker"))).toEqual(before.entries);
  });

  it("an author's edit to a generated entry survives the next reading of its chapter, and its image is redrawn from the edit", async () => {
    const ws = await bookWorkspace();
    expect((await buildJson(ws)).code).toBe(0);
    const chapter = "ch03-lamplight";
    const entry = chapterYaml(ws, chapter).images[0]!;
    const file = chapterFile(ws, chapter);
    const text = readFileSync(file, "utf8");
    const mine = "The keeper's daughter at the great lamp, her face lit gold from below.";
    writeFileSync(file, text.replace(/^(    prompt_used: ).*$/m, `$1"${mine}"`));
    edit(join(ws, "chapters", chapter, "content.md"), "She lit the great lamp", "At last she lit the great lamp");
    const next = await buildJson(ws);
    expect(next.code).toBe(0);
    expect(next.calls).toContain(`chapters/${chapter}/scene-specs`);
    const kept = chapterYaml(ws, chapter).images.find((e) => e.custom_id === entry.custom_id)!;
    expect(kept.prompt_used).toBe(mine);
    expect(next.report.targets.find((t: { id: string }) => t.id === imageTarget(chapter, entry))).toMatchObject({ status: "built" });
  });

  it("-n before anything is read: the readings with their cost, and each chapter's images said to be unknown until its specification is read", async () => {
    const ws = await bookWorkspace();
    const dry = await chargen(ws, ["build", "-n"]);
    expect(dry.code).toBe(0);
    for (const c of CHAPTERS) expect(dry.stdout).toContain(`chapters/${c}: images not known until its specification is read\n`);
    for (const c of CHAPTERS) expect(dry.stdout).toContain(`stale    chapters/${c}/elements`);
  });
});

describe("pipelined", () => {
  it("a chapter's images start as soon as its specification is written, while a later chapter is still being read", async () => {
    const ws = await bookWorkspace();
    const log = join(ws, ".calls.log");
    // Two at a time, each call taking 500 ms: chapters 1 and 2 are read together, chapter 3 when one of them is done.
    const r = await chargen(ws, ["build", "-j", "2"], { env: { CHARGEN_PLACEHOLDER_CALL_LOG: log, CHARGEN_PLACEHOLDER_LATENCY_MS: "500" } });
    expect(r.code).toBe(0);
    // One round: the images were added to the running build, not planned in a next one.
    expect(r.stderr.match(/targets to build$/gm)).toHaveLength(1);
    expect(r.stderr).toMatch(/^chargen: \d+ more targets? to build, from what a reading wrote$/m);
    const lines = readFileSync(log, "utf8")
      .trim()
      .split("\n")
      .map((l) => l.split("\t"))
      .map(([id, , started, , answered]) => ({ id: id!, started: Number(started), answered: Number(answered) }));
    const lastReading = Math.max(...lines.filter((l) => l.id.endsWith("/scene-specs")).map((l) => l.answered));
    const firstImage = Math.min(...lines.filter((l) => !l.id.endsWith("/scene-specs") && !l.id.endsWith("/elements")).map((l) => l.started));
    expect(firstImage).toBeLessThan(lastReading);
  });
});

describe("the story rules are opt-in", () => {
  it("the built-in rules plan no story target in a MemoryQuill workspace, even with chapter texts beside its specifications", async () => {
    const ws = exampleWorkspace();
    writeFileSync(join(ws, "chapters", "ch01-the-grey-tide", "content.md"), "---\ntitle: The Grey Tide\n---\n\nFog came in early.\n");
    mkdirSync(join(ws, "story"));
    writeFileSync(join(ws, "story", "elements.yaml"), "characters: []\nplaces: []\n");
    const plan = await chargen(ws, ["build", "--dry-run", "--json"]);
    expect(plan.code).toBe(0);
    const ids = (JSON.parse(plan.stdout) as { targets: { id: string }[] }).targets.map((t) => t.id);
    expect(ids.length).toBeGreaterThan(0);
    expect(ids.filter((id) => id === "story/elements" || id.endsWith("/scene-specs"))).toEqual([]);
  });

  it("turned on in a MemoryQuill workspace's rules, a chapter whose specifications the author wrote is not read; one with none is", async () => {
    const ws = exampleWorkspace();
    for (const c of ["ch01-the-grey-tide", "ch02-the-drowned-marker"]) writeFileSync(join(ws, "chapters", c, "content.md"), `---\ntitle: ${c}\n---\n\nFog came in early.\n`);
    mkdirSync(join(ws, "chapters", "ch09-new"));
    writeFileSync(join(ws, "chapters", "ch09-new", "content.md"), "---\ntitle: New\nchapter_number: 9\n---\n\nThe tide turned.\n");
    writeFileSync(join(ws, "chapters", "ch09-new", "imagery.yaml"), "metadata:\n  slug: ch09-new\nimages: []\n");
    const rules = readFileSync(join(ws, "chargen.rules.ts"), "utf8")
      .replace('import { defineRules } from "chargen";', 'import { defineRules, sceneSpecs } from "chargen";')
      .replace("...builtIn,", "...builtIn,\n  rules: [...builtIn.rules, sceneSpecs()],");
    writeFileSync(join(ws, "chargen.rules.ts"), rules);
    const plan = await chargen(ws, ["build", "--dry-run", "--json"]);
    expect(plan.code).toBe(0);
    const ids = (JSON.parse(plan.stdout) as { targets: { id: string }[] }).targets.map((t) => t.id);
    expect(ids.filter((id) => id.endsWith("/scene-specs"))).toEqual(["chapters/ch09-new/scene-specs"]);
  });
});

describe("the story rules through build --batch", () => {
  const running: BatchFake[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((f) => f.stop()));
  });

  it("each step's readings in one job, the images after them in the next build's job: exact lines per job, no live call", async () => {
    const fake = await startGeminiBatchFake({ apiKey: SECRET });
    running.push(fake);
    const ws = await bookWorkspace();
    edit(join(ws, "chargen.rules.ts"), /defaults: \{[^\n]*\}/, 'defaults: { ...builtIn.defaults, provider: "google", model: "gemini-2.5-flash-image", read: { provider: "google", model: "gemini-2.5-flash" } }');
    const env = { ...providerEnv("google", fake), CHARGEN_BATCH_POLL_MS: "20" };
    const run = (args: string[]) => chargen(ws, args, { env });
    /** What `build --batch -n` would submit: each job's targets, sorted; then submit it (exiting `code`) and collect it. */
    const step = async (code = 0) => {
      const dry = await run(["build", "--batch", "-n"]);
      expect(dry.code, dry.stderr).toBe(0);
      const jobs = Object.fromEntries([...dry.stdout.matchAll(/^job (\S+): [^\n]*\n((?: {2}\S+\n)*)/gm)].map((m) => [m[1], m[2]!.trim().split("\n").map((l) => l.trim()).sort()]));
      const submitted = await run(["build", "--batch"]);
      expect(submitted.code, submitted.stderr).toBe(code);
      waited = submitted.stdout + submitted.stderr;
      const collected = await run(["batch", "collect"]);
      expect(collected.code, collected.stderr).toBe(0);
      return jobs;
    };
    let waited = "";
    const each = (what: string) => CHAPTERS.map((c) => `chapters/${c}/${what}`);
    // The specifications come after the elements: not submitted with them (exit 1, each said), submitted by the next build.
    expect(await step(1)).toEqual({ "google/gemini-2.5-flash": each("elements") });
    expect(waited.match(/^not submitted .*$/gm)).toEqual(
      each("scene-specs").map((id) => `not submitted ${id}: comes after chapters/${CHAPTERS[0]}/elements, which is not fresh: submit it after that one is built`),
    );
    expect(await step()).toEqual({ "google/gemini-2.5-flash": each("scene-specs") });
    const images = CHAPTERS.flatMap((c) => chapterYaml(ws, c).images.map((e) => imageTarget(c, e))).sort();
    expect(images.length).toBeGreaterThanOrEqual(3);
    // The batch fake answers every chapter alike, so images may share one key: one line per key is
    // paid, each other target with that key is said and takes the collected result too.
    const imageJobs = await step();
    expect(Object.keys(imageJobs)).toEqual(["google/gemini-2.5-flash-image"]);
    const sent = imageJobs["google/gemini-2.5-flash-image"]!;
    const twins = (waited.match(/^not submitted (\S+): the same request as \S+: its result is applied to both$/gm) ?? []).map((l) => l.split(" ")[2]!.replace(/:$/, ""));
    expect([...sent, ...twins].sort()).toEqual(images);
    expect(fake.jobs.map((j) => j.lines.length)).toEqual([3, 3, sent.length]);
    expect(fake.liveCalls()).toHaveLength(0);
    const check = await run(["build", "--check"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});
