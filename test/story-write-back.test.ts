import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { contractViolation } from "../src/rules/memoryquill-contract.js";
import type { ElementsAnswer, SceneSpecAnswer, SceneSpecEntry } from "../src/story/instructions.js";
import { contentDigest } from "../src/story/owned.js";
import { naturalOrder } from "../src/story/book.js";
import { applyChapterElements, applyElementFiles, applySceneSpecs, IMAGE_OUTPUT_FIELDS, sceneEntries } from "../src/story/write-back.js";
import { YamlEditor } from "../src/yaml/edit.js";

const FILE = "chapters/ch01-the-grey-tide/imagery.yaml";

const CHAPTER = `# The grey tide: the author's notes stay where they are.
metadata:
  entity_type: chapter-imagery
  slug: ch01-the-grey-tide
  chapter_number: 1
  chapter_title: "The Grey Tide"
images:
  - custom_id: my-own-image   # drawn by hand
    image_type: detail
    prompt_used: A brass lamp, close.
`;

function scene(moment: string, overrides: Partial<SceneSpecEntry> = {}): SceneSpecEntry {
  return {
    moment,
    narrative_beat: `${moment}, as told.`,
    image_type: "beat",
    scene_mood: "ominous",
    mood_rationale: "The fog threatens.",
    aspect_ratio: "16:9",
    visual_description: `${moment}: a jetty in fog.`,
    composition_notes: "Low horizon.",
    visual_hook: "The lamp.",
    depicts_characters: ["nell-farrow"],
    character_states: [{ character: "nell-farrow", state: "Leaning forward." }],
    location: "harbour",
    zone: null,
    lighting: { primary_source: "dusk", quality: "soft", direction: "behind", color_temperature: "cool", shadow_depth: "deep", atmospheric: "fog" },
    palette: { dominant: ["pewter", "violet"], accent: ["amber"], avoid: [] },
    prompt_used: `${moment}. Gouache, a jetty in fog at dusk.\nTwo small figures.`,
    negative_prompt: "text, watermark",
    tags: ["fog"],
    ...overrides,
  };
}

const answer = (...images: SceneSpecEntry[]): SceneSpecAnswer => ({ images });

function apply(text: string, a: SceneSpecAnswer) {
  const editor = YamlEditor.parse(text, FILE);
  const outcomes = applySceneSpecs(editor, "ch01-the-grey-tide", a);
  return { text: editor.toString(), outcomes };
}

const imagesOf = (text: string) => (parse(text) as { images: Record<string, unknown>[] }).images;

describe("writing a scene-specification answer into a chapter's images[]", () => {
  const first = answer(scene("Fog at the jetty", { image_type: "hero" }), scene("The drowned marker"));

  it("adds the entries in the contract's chapter shape after the author's, with a ledger of their digests; the file still meets the contract", () => {
    const { text, outcomes } = apply(CHAPTER, first);
    expect(outcomes).toEqual([
      { id: "my-own-image", status: "authored" },
      { id: "ch01-the-grey-tide-fog-at-the-jetty", status: "added" },
      { id: "ch01-the-grey-tide-the-drowned-marker", status: "added" },
    ]);
    expect(text.startsWith(CHAPTER)).toBe(true);
    const images = imagesOf(text);
    expect(images[1]).toEqual({
      custom_id: "ch01-the-grey-tide-fog-at-the-jetty",
      moment: "Fog at the jetty",
      narrative_beat: "Fog at the jetty, as told.",
      image_type: "hero",
      scene_mood: "ominous",
      mood_rationale: "The fog threatens.",
      aspect_ratio: "16:9",
      orientation: "landscape",
      visual_description: "Fog at the jetty: a jetty in fog.",
      composition_notes: "Low horizon.",
      visual_hook: "The lamp.",
      depicts_characters: ["nell-farrow"],
      character_states: { "nell-farrow": "Leaning forward." },
      location: "harbour",
      lighting: { primary_source: "dusk", quality: "soft", direction: "behind", color_temperature: "cool", shadow_depth: "deep", atmospheric: "fog" },
      palette: { dominant: ["pewter", "violet"], accent: ["amber"] },
      prompt_used: "Fog at the jetty. Gouache, a jetty in fog at dusk.\nTwo small figures.",
      negative_prompt: "text, watermark",
      tags: ["fog"],
    });
    expect((parse(text) as { chargen: unknown }).chargen).toEqual({
      images: {
        "ch01-the-grey-tide-fog-at-the-jetty": contentDigest(images[1]!),
        "ch01-the-grey-tide-the-drowned-marker": contentDigest(images[2]!),
      },
    });
    expect(contractViolation(FILE, parse(text))).toBeUndefined();
  });

  it("the same answer again leaves the file byte-identical", () => {
    const once = apply(CHAPTER, first).text;
    const twice = apply(once, first);
    expect(twice.text).toBe(once);
    expect(twice.outcomes.map((o) => o.status)).toEqual(["authored", "unchanged", "unchanged"]);
  });

  it("an entry the author edited is theirs: kept byte for byte and reported modified; an unedited one is updated in place", () => {
    const once = apply(CHAPTER, first).text;
    const edited = once.replace("Fog at the jetty. Gouache", "Fog at the jetty, seen from the water. Gouache");
    const next = apply(edited, answer(scene("Fog at the jetty", { scene_mood: "ethereal" }), scene("The drowned marker", { visual_hook: "The marker's top." })));
    expect(next.outcomes).toEqual([
      { id: "my-own-image", status: "authored" },
      { id: "ch01-the-grey-tide-fog-at-the-jetty", status: "modified", proposed: true },
      { id: "ch01-the-grey-tide-the-drowned-marker", status: "updated" },
    ]);
    const [, mine, updated] = imagesOf(next.text);
    expect(mine).toEqual(imagesOf(edited)[1]);
    expect(updated!.visual_hook).toBe("The marker's top.");
    // Only the changed value and its ledger line changed.
    const changed = next.text.split("\n").filter((line, i) => line !== edited.split("\n")[i]);
    expect(changed).toEqual(["    visual_hook: The marker's top.", expect.stringMatching(/^ {4}ch01-the-grey-tide-the-drowned-marker: [0-9a-f]{16}$/)]);
    // The author's edit survives every later reading.
    expect(apply(next.text, first).outcomes[1]).toEqual({ id: "ch01-the-grey-tide-fog-at-the-jetty", status: "modified", proposed: true });
  });

  it("the image write-back's output fields are not an edit", () => {
    const once = apply(CHAPTER, first).text;
    const editor = YamlEditor.parse(once, FILE);
    editor.setAll(["images", 1], { generated_at: "2026-01-01T00:00:00Z", file_name: "x.png", file_path: "images/x.png", provider: "placeholder", model: "placeholder-1" });
    editor.append(["images", 1, "image_inventory"], { id: "x", path: "images/x.png" });
    const built = editor.toString();
    const again = apply(built, first);
    expect(again.text).toBe(built);
    expect(again.outcomes[1]).toEqual({ id: "ch01-the-grey-tide-fog-at-the-jetty", status: "unchanged" });
    expect(IMAGE_OUTPUT_FIELDS).toContain("image_inventory");
  });

  it("an answer that drops an unedited entry removes it, unless it records an image: then it is kept and its ledger line says dropped", () => {
    const once = apply(CHAPTER, first).text;
    const removed = apply(once, answer(scene("Fog at the jetty", { image_type: "hero" })));
    expect(removed.outcomes.map((o) => `${o.id} ${o.status}`)).toEqual(["my-own-image authored", "ch01-the-grey-tide-fog-at-the-jetty unchanged", "ch01-the-grey-tide-the-drowned-marker removed"]);
    expect(removed.text).toBe(apply(CHAPTER, answer(scene("Fog at the jetty", { image_type: "hero" }))).text);

    const editor = YamlEditor.parse(once, FILE);
    editor.append(["images", 2, "image_inventory"], { id: "marker", path: "images/marker.png" });
    const built = editor.toString();
    const dropped = apply(built, answer(scene("Fog at the jetty", { image_type: "hero" })));
    expect(dropped.outcomes[2]).toEqual({ id: "ch01-the-grey-tide-the-drowned-marker", status: "dropped" });
    expect(imagesOf(dropped.text)).toEqual(imagesOf(built));
    expect(dropped.text).toMatch(/\n {4}ch01-the-grey-tide-the-drowned-marker: dropped [0-9a-f]{16}\n/);
    // Proposed again, it is chargen's again.
    const back = apply(dropped.text, first);
    expect(back.outcomes[2]).toEqual({ id: "ch01-the-grey-tide-the-drowned-marker", status: "unchanged" });
    expect(back.text).toBe(built);
  });

  it("an entry the author deleted is not written again while the answers propose it; an author's entry with a proposed id wins", () => {
    const once = apply(CHAPTER, first).text;
    const editor = YamlEditor.parse(once, FILE);
    editor.removeItem(["images"], 2);
    const deleted = editor.toString();
    const next = apply(deleted, first);
    expect(next.text).toBe(deleted);
    expect(next.outcomes[2]).toEqual({ id: "ch01-the-grey-tide-the-drowned-marker", status: "deleted", proposed: true });
    // No longer proposed: the ledger forgets it.
    const forgotten = apply(deleted, answer(scene("Fog at the jetty", { image_type: "hero" })));
    expect(forgotten.text).not.toContain("the-drowned-marker");

    const mine = CHAPTER.replace("my-own-image", "ch01-the-grey-tide-fog-at-the-jetty");
    const kept = apply(mine, first);
    expect(kept.outcomes[0]).toEqual({ id: "ch01-the-grey-tide-fog-at-the-jetty", status: "authored", proposed: true });
    expect(imagesOf(kept.text).map((e) => e.custom_id)).toEqual(["ch01-the-grey-tide-fog-at-the-jetty", "ch01-the-grey-tide-the-drowned-marker"]);
  });

  it("ids: the chapter folder and the moment's slug, duplicates numbered, within the name limit", () => {
    const ids = sceneEntries("ch02-x", answer(scene("The Lamp"), scene("The lamp!"), scene("", {}), scene("Á".repeat(300)))).map((e) => e.custom_id);
    expect(ids.slice(0, 3)).toEqual(["ch02-x-the-lamp", "ch02-x-the-lamp-2", "ch02-x-image-3"]);
    expect(Buffer.byteLength(ids[3] as string)).toBeLessThanOrEqual(200);
  });
});

describe("writing an elements answer", () => {
  const elements: ElementsAnswer = {
    characters: [
      { name: "Nell Farrow", kind: "character", aliases: ["Nell"], appearance: "Wiry, copper hair.", visual_consistency: ["copper hair"], chapters: ["ch01-the-grey-tide"] },
      { name: "The Fog Hound", kind: "creature", aliases: [], appearance: "A dog of mist.", visual_consistency: [], chapters: [] },
    ],
    places: [{ name: "Low Water Light", aliases: [], description: "A lighthouse on a mudflat.", zones: [{ name: "Lamp room", description: "Brass and glass." }], chapters: ["ch01-the-grey-tide"] }],
  };

  const ch1 = "ch01-the-grey-tide";
  const applyElements = (editor: YamlEditor, answer: ElementsAnswer, chapter = ch1) => applyChapterElements(editor, chapter, answer, naturalOrder);

  it("starts the file, and keeps an author's edit of one element through the next reading", () => {
    const editor = YamlEditor.parse("# Story elements of The Lamp at Low Water\n", "story/elements.yaml");
    const outcomes = applyElements(editor, elements);
    expect(outcomes).toEqual({
      characters: [
        { id: "nell-farrow", status: "added" },
        { id: "the-fog-hound", status: "added" },
      ],
      places: [{ id: "low-water-light", status: "added" }],
    });
    const text = editor.toString();
    const data = parse(text) as Record<string, Record<string, unknown>[]>;
    expect(data.characters![0]).toEqual({ slug: "nell-farrow", name: "Nell Farrow", kind: "character", aliases: ["Nell"], appearance: "Wiry, copper hair.", visual_consistency: ["copper hair"], chapters: ["ch01-the-grey-tide"] });
    // Each element lists the chapter whose reading named it, whatever the answer said.
    expect(data.characters![1]).toEqual({ slug: "the-fog-hound", name: "The Fog Hound", kind: "creature", appearance: "A dog of mist.", chapters: [ch1] });
    expect(data.places![0]).toEqual({ slug: "low-water-light", name: "Low Water Light", description: "A lighthouse on a mudflat.", zones: [{ slug: "lamp-room", name: "Lamp room", description: "Brass and glass." }], chapters: ["ch01-the-grey-tide"] });

    const edited = text.replace("Wiry, copper hair.", "Wiry, copper hair, freckles.");
    const again = YamlEditor.parse(edited, "story/elements.yaml");
    const next = applyElements(again, { ...elements, characters: elements.characters.map((c) => ({ ...c, appearance: c.appearance + " Taller." })) });
    expect(next.characters).toEqual([
      { id: "nell-farrow", status: "modified", proposed: true },
      { id: "the-fog-hound", status: "updated" },
    ]);
    const after = parse(again.toString()) as Record<string, Record<string, unknown>[]>;
    expect(after.characters!.map((c) => c.appearance)).toEqual(["Wiry, copper hair, freckles.", "A dog of mist. Taller."]);
  });

  it("merges the chapters' readings: an element lists each chapter naming it, keeps its first chapter's description, and goes with the last chapter that named it", () => {
    const ch2 = "ch02-the-drowned-marker";
    const ch3 = "ch03-lamplight";
    const nell = (appearance: string) => ({ name: "Nell Farrow", kind: "character" as const, aliases: [], appearance, visual_consistency: [], chapters: [] });
    const only = (...characters: ElementsAnswer["characters"]): ElementsAnswer => ({ characters, places: [] });
    const editor = YamlEditor.parse("characters: []\nplaces: []\n", "story/elements.yaml");
    // Chapter 2's reading comes first (readings run in parallel): its description stands until chapter 1's.
    applyElements(editor, only(nell("Wet oilskin.")), ch2);
    expect(applyElements(editor, only(nell("Copper braid."), { ...nell("A dog of mist."), name: "The Fog Hound", kind: "creature" }), ch1).characters).toEqual([
      { id: "nell-farrow", status: "updated" },
      { id: "the-fog-hound", status: "added" },
    ]);
    expect(applyElements(editor, only(nell("Soot on her face.")), ch3).characters).toEqual([
      { id: "nell-farrow", status: "updated" },
      { id: "the-fog-hound", status: "unchanged" },
    ]);
    const characters = () => (parse(editor.toString()) as { characters: { slug: string; appearance: string; chapters: string[] }[] }).characters.map((c) => [c.slug, c.appearance, c.chapters]);
    expect(characters()).toEqual([
      ["nell-farrow", "Copper braid.", [ch1, ch2, ch3]],
      ["the-fog-hound", "A dog of mist.", [ch1]],
    ]);
    // The same answer again: not a byte changes. A later chapter's new description: nor does it.
    const text = editor.toString();
    applyElements(editor, only(nell("Wet oilskin.")), ch2);
    applyElements(editor, only(nell("Soot, and a torn sleeve.")), ch3);
    expect(editor.toString()).toBe(text);
    // Chapter 1 read again without the hound: it goes; Nell is as she was.
    expect(applyElements(editor, only(nell("Copper braid.")), ch1).characters).toEqual([
      { id: "nell-farrow", status: "unchanged" },
      { id: "the-fog-hound", status: "removed" },
    ]);
    expect(characters()).toEqual([["nell-farrow", "Copper braid.", [ch1, ch2, ch3]]]);
    // Chapter 1 without Nell: she stays with chapters 2 and 3.
    applyElements(editor, only(), ch1);
    expect(characters()).toEqual([["nell-farrow", "Copper braid.", [ch2, ch3]]]);
  });

  it("an element the author edited or deleted stays theirs, whichever chapter's reading proposes it", () => {
    const editor = YamlEditor.parse("characters: []\nplaces: []\n", "story/elements.yaml");
    applyElements(editor, elements);
    const mine = YamlEditor.parse(
      editor
        .toString()
        .replace("Wiry, copper hair.", "Wiry, copper hair, freckles.")
        .replace(/  - slug: the-fog-hound\n(    .*\n)+?(?=  - |places)/, ""),
      "story/elements.yaml",
    );
    expect((parse(mine.toString()) as { characters: unknown[] }).characters).toHaveLength(1);
    const chapter2 = applyElements(mine, { ...elements, places: [] }, "ch02-x");
    expect(chapter2.characters).toEqual([
      { id: "nell-farrow", status: "modified", proposed: true },
      { id: "the-fog-hound", status: "deleted", proposed: true },
    ]);
    // Chapter 3's reading names neither: the deleted one is still remembered when chapter 2's names it again.
    applyElements(mine, { characters: [], places: [] }, "ch03-y");
    expect(applyElements(mine, { ...elements, places: [] }, "ch02-x").characters.map((o) => o.status)).toEqual(["modified", "deleted"]);
    expect((parse(mine.toString()) as { characters: { appearance: string }[] }).characters.map((c) => c.appearance)).toEqual(["Wiry, copper hair, freckles."]);
  });

  it("in a workspace with characters/ and locations/ folders, each element is also a file in the contract's shape; the author's files are left alone", () => {
    const files = new Map<string, YamlEditor>([["characters/nell-farrow/imagery.yaml", YamlEditor.parse("entity_type: character\nslug: nell-farrow\nappearance: Hers.\n", "characters/nell-farrow/imagery.yaml")]]);
    const edit = (path: string) => files.get(path) ?? files.set(path, YamlEditor.parse("", path)).get(path)!;
    expect(applyElementFiles(elements, { characters: true, locations: true }, edit)).toEqual([
      { path: "characters/nell-farrow/imagery.yaml", status: "authored" },
      { path: "characters/the-fog-hound/imagery.yaml", status: "added" },
      { path: "locations/low-water-light/imagery.yaml", status: "added" },
    ]);
    expect(files.get("characters/nell-farrow/imagery.yaml")!.changed).toBe(false);
    const hound = parse(files.get("characters/the-fog-hound/imagery.yaml")!.toString());
    expect(hound).toMatchObject({ entity_type: "character", slug: "the-fog-hound", name: "The Fog Hound", appearance: "A dog of mist.", visual_consistency: [] });
    const place = parse(files.get("locations/low-water-light/imagery.yaml")!.toString());
    expect(place).toMatchObject({
      metadata: { entity_type: "location-imagery", slug: "low-water-light", name: "Low Water Light" },
      overview: { slug: "overview", title: "Low Water Light", visual_description: "A lighthouse on a mudflat." },
      zones: [{ slug: "lamp-room", name: "Lamp room", visual_description: "Brass and glass." }],
    });
    for (const [path, editor] of files) expect(contractViolation(path, parse(editor.toString()))).toBeUndefined();

    // Read again: unchanged; with a new description: updated; after the author's edit: theirs.
    const reopen = (edits: (text: string) => string) => {
      const next = new Map([...files].map(([path, e]) => [path, YamlEditor.parse(edits(e.toString()), path)]));
      return { next, edit: (path: string) => next.get(path)! };
    };
    const same = reopen((t) => t);
    expect(applyElementFiles(elements, { characters: true, locations: true }, same.edit).map((o) => o.status)).toEqual(["authored", "unchanged", "unchanged"]);
    const changed = { ...elements, characters: elements.characters.map((c) => ({ ...c, appearance: `${c.appearance} Grey.` })) };
    expect(applyElementFiles(changed, { characters: true, locations: false }, reopen((t) => t).edit).map((o) => o.status)).toEqual(["authored", "updated"]);
    const edited = reopen((t) => t.replace("A dog of mist.", "A dog of mist and teeth."));
    expect(applyElementFiles(changed, { characters: true, locations: false }, edited.edit).map((o) => o.status)).toEqual(["authored", "modified"]);
    expect(edited.next.get("characters/the-fog-hound/imagery.yaml")!.changed).toBe(false);
  });
});
