import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { applyWriteBack, copyWorkspace, outcomeFor, plan, readFile, ruleNamed, spec, writeFile } from "./fixtures/rules/harness.js";

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
  it("appends to image_inventory and starts imagery.runs.yaml in its MemoryQuill shape", () => {
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
      id: "mara-quill-soundings-at-dawn",
      path: "images/soundings-at-dawn.png",
      type: "generated",
      status: "draft",
      content: { title: "Soundings at Dawn", tags: ["intimate", "dawn"] },
      provenance: {
        source: "chargen",
        created_at: "2026-03-01T12:00:00.000Z",
        target_id: DAWN,
        key: "key-1",
        provider: "placeholder",
        model: "placeholder-1",
      },
    });

    const runs = parse(readFile(root, RUNS));
    expect(runs.entity_type).toBe("character");
    expect(runs.entity_slug).toBe("mara-quill");
    expect(runs.runs).toHaveLength(1);
    expect(runs.runs[0]).toMatchObject({
      target_id: DAWN,
      timestamp: "2026-03-01T12:00:00.000Z",
      file_name: "soundings-at-dawn.png",
      file_path: "characters/mara-quill/images/soundings-at-dawn.png",
      provider: "placeholder",
      model: "placeholder-1",
      ir_hash: "key-1",
      prompt_used: expect.stringContaining("Mara lowers a knotted line"),
      negative_prompt_used: "text, watermark, signature, logo, distorted anatomy, extra fingers, duplicated faces, photograph, 3D render, neon colours",
      reference_images: [{ asset_id: "mara-quill-portrait", path: "characters/mara-quill/images/portrait.png", role: "character:mara-quill" }],
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

  it("on a new key, logs another run and updates the scene's one inventory entry in place", () => {
    const root = copyWorkspace();
    const rule = ruleNamed("character-scenes");
    const s = spec(plan(root), DAWN);
    applyWriteBack(root, rule, outcomeFor(s, "key-1"));
    applyWriteBack(root, rule, outcomeFor(s, "key-2", { generatedAt: "2026-03-02T08:00:00.000Z" }));
    const inventory = parse(readFile(root, IMAGERY)).image_inventory;
    expect(inventory).toHaveLength(3);
    expect(inventory[2].provenance).toMatchObject({ key: "key-2", created_at: "2026-03-02T08:00:00.000Z" });
    expect(parse(readFile(root, RUNS)).runs.map((r: { ir_hash: string }) => r.ir_hash)).toEqual(["key-1", "key-2"]);
    // A second scene is a second entry.
    applyWriteBack(root, rule, outcomeFor(spec(plan(root), "characters/mara-quill/the-chart-table"), "key-3"));
    expect(parse(readFile(root, IMAGERY)).image_inventory.map((i: { id: string }) => i.id)).toEqual([
      "mara-quill-sketch",
      "mara-quill-portrait",
      "mara-quill-soundings-at-dawn",
      "mara-quill-the-chart-table",
    ]);
    expect(parse(readFile(root, RUNS)).runs).toHaveLength(3);
  });

  it("appends to an existing runs log, keeping its comments", () => {
    const root = copyWorkspace();
    const log = "# Older runs, kept by hand\nentity_type: character\nentity_slug: mara-quill\nruns:\n  - run_id: old-1 # from the first tool\n    target_id: x\n";
    writeFile(root, RUNS, log);
    applyWriteBack(root, ruleNamed("character-scenes"), outcomeFor(spec(plan(root), DAWN), "key-1"));
    const after = readFile(root, RUNS);
    expect(after.startsWith(log)).toBe(true);
    expect(parse(after).runs.map((r: { run_id: string }) => r.run_id)[0]).toBe("old-1");
    expect(parse(after).runs).toHaveLength(2);
  });
});

describe("location write-back", () => {
  it("creates generated_images on an entry that has none, and appends once", () => {
    const root = copyWorkspace();
    const before = readFile(root, GULL);
    const rule = ruleNamed("location-images");
    const s = spec(plan(root), "locations/gull-market/zones/fish-row");
    applyWriteBack(root, rule, outcomeFor(s, "key-1"));
    const after = readFile(root, GULL);
    keepsComments(before, after);
    expect(parse(after).zones[0].generated_images).toEqual([
      {
        target_id: "locations/gull-market/zones/fish-row",
        key: "key-1",
        generated_at: "2026-03-01T12:00:00.000Z",
        file_name: "fish-row.png",
        file_path: "images/zones/fish-row.png",
        provider: "placeholder",
        model: "placeholder-1",
        provider_metadata: { provider: "placeholder", seed: 7, cost_usd: 0 },
      },
    ]);
    applyWriteBack(root, rule, outcomeFor(s, "key-1"));
    expect(readFile(root, GULL)).toBe(after);
    applyWriteBack(root, rule, outcomeFor(s, "key-2"));
    expect(parse(readFile(root, GULL)).zones[0].generated_images.map((g: { key: string }) => g.key)).toEqual(["key-1", "key-2"]);
  });

  it("finds nested zone images and beats (not inside their image_spec) again", () => {
    const root = copyWorkspace();
    const rule = ruleNamed("location-images");
    const analysis = plan(root);
    applyWriteBack(root, rule, outcomeFor(spec(analysis, "locations/gull-market/zones/net-lofts/mending-bench"), "key-n"));
    applyWriteBack(root, rule, outcomeFor(spec(analysis, "locations/gull-market/beats/first-catch"), "key-b"));
    const data = parse(readFile(root, GULL));
    expect(data.zones[1].images[0].generated_images[0]).toMatchObject({ key: "key-n", file_path: "images/zones/net-lofts/mending-bench.png" });
    expect(data.zones[1].generated_images).toBeUndefined();
    expect(data.beat_images[0].generated_images[0]).toMatchObject({ key: "key-b" });
    expect(data.beat_images[0].image_spec.generated_images).toBeUndefined();
  });

  it("fills the older format's empty generated_images: [] in place", () => {
    const root = copyWorkspace();
    const before = readFile(root, MILL);
    const s = spec(plan(root), "locations/old-mill/zones/old-mill-wheel-pit");
    applyWriteBack(root, ruleNamed("location-images"), outcomeFor(s, "key-1"));
    const after = readFile(root, MILL);
    keepsComments(before, after);
    const data = parse(after);
    expect(data.parts[0].generated_images).toHaveLength(1);
    expect(data.parts[1].generated_images).toEqual([]);
    expect(data.overview.generated_images).toEqual([]);
  });

  it("skips an entry removed while it was generated", () => {
    const root = copyWorkspace();
    const s = spec(plan(root), "locations/gull-market/zones/fish-row");
    writeFile(root, GULL, "zones: []\n");
    applyWriteBack(root, ruleNamed("location-images"), outcomeFor(s, "key-1"));
    expect(readFile(root, GULL)).toBe("zones: []\n");
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
  });
});
