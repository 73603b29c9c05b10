import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { applyWriteBack, copyWorkspace, defaultRules, outcomeFor, plan, readFile, ruleNamed, spec, writeFile } from "./fixtures/rules/harness.js";
import { characterScenes } from "../src/rules/characters.js";
import { characterFileSchema, contractViolation, inventoryEntrySchema, runsLogSchema } from "../src/rules/memoryquill-contract.js";

const IMAGERY = "characters/mara-quill/imagery.yaml";
const RUNS = "characters/mara-quill/imagery.runs.yaml";
const DAWN = "characters/mara-quill/soundings-at-dawn";
const GULL = "locations/gull-market/imagery.yaml";
const MILL = "locations/old-mill/location-imagery.yaml";

/** Every comment line of `before` is still in `after`, in the same order. */
function keepsComments(before: string, after: string): void {
  const comments = (t: string) => t.split("\n").filter((l) => l.includes("#"));
  expect(comments(after).filter((l) => comments(before).includes(l))).toEqual(comments(before));
}

describe("character scene write-back", () => {
  it("appends the record MemoryQuill's readers expect, and starts imagery.runs.yaml in its shape", () => {
    const root = copyWorkspace();
    const before = readFile(root, IMAGERY);
    const s = spec(plan(root), DAWN);
    applyWriteBack(root, ruleNamed("character-scenes"), outcomeFor(s, "key-1"));

    const after = readFile(root, IMAGERY);
    expect(after.startsWith(before)).toBe(true); // appended, nothing else touched
    keepsComments(before, after);
    const inventory = parse(after).image_inventory;
    expect(inventory).toHaveLength(3);
    expect(inventory[2]).toEqual({
      id: "soundings-at-dawn",
      path: "images/soundings-at-dawn.png",
      type: "generated",
      status: "approved",
      content: {
        title: "Soundings at Dawn",
        description: "Mara lowers a knotted line from the quay, counting the knots under her breath.",
        alt_text: "Mara Quill: Soundings at Dawn, Stone quay at low tide, mist on the water",
        tags: ["intimate", "dawn", "generated"],
      },
      provenance: { source: "generated", created_at: "2026-03-01T12:00:00.000Z", original_filename: "soundings-at-dawn.png" },
      generation: {
        target_id: DAWN,
        ir_hash: "key-1",
        prompt_used: expect.stringContaining("Mara lowers a knotted line"),
        negative_prompt_used: "text, watermark, signature, logo, distorted anatomy, extra fingers, duplicated faces, photograph, 3D render, neon colours",
        model: "placeholder-1",
        provider: "placeholder",
        constraints: { aspect_ratio: "2:3", size: "1024x1536", orientation: "portrait" },
        provider_metadata: { provider: "placeholder", seed: 7, cost_usd: 0, chargen_target: DAWN, chargen_key: "key-1" },
      },
    });
    expect(inventoryEntrySchema.safeParse(inventory[2]).success).toBe(true);

    const runs = parse(readFile(root, RUNS));
    // The earlier tool wrote `chapter` into character logs; its readers know no `character`.
    expect(runs.entity_type).toBe("chapter");
    expect(runs.entity_slug).toBe("mara-quill");
    expect(runs.runs).toHaveLength(1);
    expect(runs.runs[0]).toMatchObject({
      run_id: `run-${Date.parse("2026-03-01T12:00:00.000Z")}-key-1`,
      target_id: DAWN,
      timestamp: "2026-03-01T12:00:00.000Z",
      file_name: "soundings-at-dawn.png",
      file_path: "characters/mara-quill/images/soundings-at-dawn.png",
      provider: "placeholder",
      model: "placeholder-1",
      ir_hash: "key-1",
      prompt_used: expect.stringContaining("Mara lowers a knotted line"),
      negative_prompt_used: "text, watermark, signature, logo, distorted anatomy, extra fingers, duplicated faces, photograph, 3D render, neon colours",
      reference_images: [{ asset_id: "mara-quill-portrait", path: "characters/mara-quill/images/portrait.png", role: "portrait" }],
      constraints: { aspect_ratio: "2:3", size: "1024x1536", orientation: "portrait" },
      provider_metadata: { seed: 7, chargen_target: DAWN, chargen_key: "key-1" },
      target_metadata: { rule: "character-scenes", scene_title: "Soundings at Dawn" },
    });
    expect(Object.keys(runs.runs[0])).toEqual([
      "run_id",
      "target_id",
      "timestamp",
      "file_name",
      "file_path",
      "provider",
      "model",
      "ir_hash",
      "prompt_used",
      "negative_prompt_used",
      "reference_images",
      "constraints",
      "provider_metadata",
      "target_metadata",
    ]);
    expect(runsLogSchema.safeParse(runs).success).toBe(true);
  });

  it("is idempotent: applied again with the same key (a crash before the lock), no byte changes", () => {
    const root = copyWorkspace();
    const s = spec(plan(root), DAWN);
    const rule = ruleNamed("character-scenes");
    applyWriteBack(root, rule, outcomeFor(s, "key-1"));
    const [imagery, runs] = [readFile(root, IMAGERY), readFile(root, RUNS)];
    applyWriteBack(root, rule, outcomeFor(s, "key-1", { generatedAt: "2026-03-01T12:05:00.000Z" }));
    expect(readFile(root, IMAGERY)).toBe(imagery);
    expect(readFile(root, RUNS)).toBe(runs);
  });

  it("on a regeneration at the same path, keeps the scene's record as it is and logs another run", () => {
    const root = copyWorkspace();
    const rule = ruleNamed("character-scenes");
    const s = spec(plan(root), DAWN);
    applyWriteBack(root, rule, outcomeFor(s, "key-1"));
    const recorded = readFile(root, IMAGERY);
    applyWriteBack(root, rule, outcomeFor(s, "key-2", { generatedAt: "2026-03-02T08:00:00.000Z" }));
    expect(readFile(root, IMAGERY)).toBe(recorded);
    expect(parse(readFile(root, RUNS)).runs.map((r: { ir_hash: string }) => r.ir_hash)).toEqual(["key-1", "key-2"]);
    // A second scene is a second record.
    applyWriteBack(root, rule, outcomeFor(spec(plan(root), "characters/mara-quill/the-chart-table"), "key-3"));
    expect(parse(readFile(root, IMAGERY)).image_inventory.map((i: { id: string }) => i.id)).toEqual([
      "mara-quill-sketch",
      "mara-quill-portrait",
      "soundings-at-dawn",
      "the-chart-table",
    ]);
    expect(parse(readFile(root, RUNS)).runs).toHaveLength(3);
  });

  it("refuses a record whose id another file's record already has, and writes nothing for it", () => {
    const root = copyWorkspace();
    const taken = readFile(root, IMAGERY).replace('id: "mara-quill-sketch"', 'id: "soundings-at-dawn"');
    writeFile(root, IMAGERY, taken);
    const write = () => applyWriteBack(root, ruleNamed("character-scenes"), outcomeFor(spec(plan(root), DAWN), "key-1"));
    expect(write).toThrow(/already has a record with id "soundings-at-dawn" for another file/);
    expect(readFile(root, IMAGERY)).toBe(taken);
  });

  it("starts a character imagery file that meets the strict reader (appearance from the summary)", () => {
    const root = copyWorkspace();
    const file = "characters/mara-quill/imagery.yaml";
    writeFile(root, file, "");
    applyWriteBack(root, ruleNamed("character-scenes"), outcomeFor(spec(plan(root), DAWN), "key-1"));
    const data = parse(readFile(root, file));
    expect(data).toMatchObject({ entity_type: "character", slug: "mara-quill", appearance: expect.stringContaining("Chart-maker of the salt road") });
    expect(characterFileSchema.safeParse(data).success).toBe(true);
  });

  it("appends to an existing runs log, keeping its comments", () => {
    const root = copyWorkspace();
    const log = "# Older runs, kept by hand\nentity_type: chapter\nentity_slug: mara-quill\nruns:\n  - run_id: old-1 # from the first tool\n    target_id: x\n";
    writeFile(root, RUNS, log);
    applyWriteBack(root, ruleNamed("character-scenes"), outcomeFor(spec(plan(root), DAWN), "key-1"));
    const after = readFile(root, RUNS);
    expect(after.startsWith(log)).toBe(true);
    expect(parse(after).runs.map((r: { run_id: string }) => r.run_id)[0]).toBe("old-1");
    expect(parse(after).runs).toHaveLength(2);
  });
});

describe("location write-back", () => {
  const LOG = "locations/gull-market/imagery.runs.yaml";

  it("appends a record to the zone's image_inventory, once, and logs a run per key", () => {
    const root = copyWorkspace();
    const before = readFile(root, GULL);
    const rule = ruleNamed("location-images");
    const s = spec(plan(root), "locations/gull-market/zones/fish-row");
    applyWriteBack(root, rule, outcomeFor(s, "key-1"));
    const after = readFile(root, GULL);
    keepsComments(before, after);
    const [record] = parse(after).zones[0].image_inventory;
    expect(record).toMatchObject({
      id: "fish-row",
      path: "images/zones/fish-row.png",
      type: "generated",
      status: "approved",
      prompt_spec_slug: "fish-row",
      content: { title: "Fish Row", description: "A narrow lane of fish stalls at closing time, ice melting into the gutters.", alt_text: "Fish Row — Gull Market" },
      provenance: { source: "generated", original_filename: "fish-row.png" },
      generation: { target_id: s.id, ir_hash: "key-1", provider: "placeholder", model: "placeholder-1" },
    });
    expect(parse(after).zones[0].generated_images).toBeUndefined();
    applyWriteBack(root, rule, outcomeFor(s, "key-1"));
    expect(readFile(root, GULL)).toBe(after);
    applyWriteBack(root, rule, outcomeFor(s, "key-2"));
    expect(readFile(root, GULL)).toBe(after);
    const log = parse(readFile(root, LOG));
    expect(log).toMatchObject({ entity_type: "location", entity_slug: "gull-market" });
    expect(log.runs.map((r: { ir_hash: string }) => r.ir_hash)).toEqual(["key-1", "key-2"]);
  });

  it("records nested zone images on the image (where ingestion reads them) and beats on the beat, not inside image_spec", () => {
    const root = copyWorkspace();
    const rule = ruleNamed("location-images");
    const analysis = plan(root);
    applyWriteBack(root, rule, outcomeFor(spec(analysis, "locations/gull-market/zones/net-lofts/mending-bench"), "key-n"));
    applyWriteBack(root, rule, outcomeFor(spec(analysis, "locations/gull-market/beats/first-catch"), "key-b"));
    applyWriteBack(root, rule, outcomeFor(spec(analysis, "locations/gull-market/overview"), "key-o"));
    const data = parse(readFile(root, GULL));
    expect(data.zones[1].images[0].image_inventory[0]).toMatchObject({ id: "mending-bench", path: "images/zones/net-lofts/mending-bench.png", prompt_spec_slug: "mending-bench" });
    expect(data.zones[1].image_inventory).toBeUndefined();
    expect(data.beat_images[0].image_inventory[0]).toMatchObject({ id: "first-catch", content: { title: "The First Catch" }, generation: { ir_hash: "key-b" } });
    expect(data.beat_images[0].image_spec.image_inventory).toBeUndefined();
    expect(data.overview.image_inventory[0]).toMatchObject({ id: "overview", path: "images/overview.png", prompt_spec_slug: "gull-market-overview" });
  });

  it("records the older format's parts in image_inventory, leaving its generated_images: [] as they are", () => {
    const root = copyWorkspace();
    const before = readFile(root, MILL);
    const s = spec(plan(root), "locations/old-mill/zones/old-mill-wheel-pit");
    applyWriteBack(root, ruleNamed("location-images"), outcomeFor(s, "key-1"));
    const after = readFile(root, MILL);
    keepsComments(before, after);
    const data = parse(after);
    expect(data.parts[0].image_inventory).toHaveLength(1);
    expect(data.parts[0].generated_images).toEqual([]);
    expect(data.overview.generated_images).toEqual([]);
  });

  it("an entry removed while it was generated gets no record; its run is still logged", () => {
    const root = copyWorkspace();
    const s = spec(plan(root), "locations/gull-market/zones/fish-row");
    writeFile(root, GULL, "zones: []\n");
    applyWriteBack(root, ruleNamed("location-images"), outcomeFor(s, "key-1"));
    expect(readFile(root, GULL)).toBe("zones: []\n");
    expect(parse(readFile(root, LOG)).runs).toHaveLength(1);
  });

  it("refuses a record that would make a valid file invalid to the strict reader, and writes nothing for it", () => {
    const root = copyWorkspace();
    const valid = 'entity_type: "character"\nslug: "mara-quill"\nappearance: "Lean, grey braid."\nimage_inventory: []\n';
    writeFile(root, IMAGERY, valid);
    expect(contractViolation(IMAGERY, parse(valid))).toBeUndefined();
    // A rules option that would break it: the character schema has no such status.
    const rules = { ...defaultRules, rules: [characterScenes({ inventoryStatus: "published" as "approved" })] };
    const write = () => applyWriteBack(root, ruleNamed("character-scenes", rules), outcomeFor(spec(plan(root, rules), DAWN), "key-1"));
    expect(write).toThrow(/would make this file invalid to MemoryQuill's strict reader \(image_inventory\.0\.status/);
    expect(readFile(root, IMAGERY)).toBe(valid);
  });
});

describe("chapter write-back", () => {
  it("fills the entry's output fields, reading provider and model as outputs only", () => {
    const root = copyWorkspace();
    const file = "chapters/ch01-the-salt-road/imagery.yaml";
    const s = spec(plan(root), "chapters/ch01-the-salt-road/ch01-img-01");
    applyWriteBack(root, ruleNamed("chapter-images"), outcomeFor(s, "key-1"));
    const entry = parse(readFile(root, file)).images[0];
    expect(entry).toMatchObject({ file_name: "ch01-img-01.png", file_path: "images/ch01-img-01.png", provider: "placeholder", model: "placeholder-1" });
    // The written provider/model do not become inputs: the next plan still asks for the file's defaults.
    expect(spec(plan(root), s.id).requested).toMatchObject({ provider: "openai", model: "dall-e-3" });
    // Ingestion reads only the entry's image_inventory: the image is recorded there too, and logged.
    expect(entry.image_inventory).toMatchObject([
      { id: "ch01-img-01", path: "images/ch01-img-01.png", type: "generated", status: "approved", prompt_spec_slug: "ch01-img-01", generation: { target_id: s.id } },
    ]);
    expect(parse(readFile(root, "chapters/ch01-the-salt-road/imagery.runs.yaml"))).toMatchObject({ entity_type: "chapter", runs: [{ target_id: s.id }] });
  });

  it("leaves an entry that already records an image (a hand record) byte for byte, and records the new image in its inventory", () => {
    const root = copyWorkspace();
    const file = "chapters/ch01-the-salt-road/imagery.yaml";
    const hand = [
      '    generated_at: "2025-06-01T10:00:00Z"',
      "    file_name: null",
      '    file_path: "ARCHIVED_IMAGES/ch01-img-01-old.png" # by hand',
      "    provider: null",
      "    model: null",
      "    provider_metadata: {}",
      "",
    ].join("\n");
    const text = readFile(root, file).replace("    generated_at: null\n    file_name: null\n    file_path: null\n    provider: null\n    model: null\n    provider_metadata: {}\n", hand);
    writeFile(root, file, text);
    const s = spec(plan(root), "chapters/ch01-the-salt-road/ch01-img-01");
    applyWriteBack(root, ruleNamed("chapter-images"), outcomeFor(s, "key-1"));
    const after = readFile(root, file);
    expect(after).toContain(hand);
    expect(parse(after).images[0].image_inventory).toMatchObject([{ path: "images/ch01-img-01.png", generation: { target_id: s.id } }]);
  });
});
