import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fg from "fast-glob";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from "yaml";
import { describe, expect, it } from "vitest";
import { plan, REAL_WORLD, realWorldPresent } from "./fixtures/rules/harness.js";

/**
 * The real MemoryQuill sample in ../shared/real-world (absent from a fresh clone: then these
 * tests report themselves skipped; under CI they fail). Expectations are counted here from the raw YAML, not from
 * the rules' own code.
 */
const present = realWorldPresent("rules-real-world");

const BROKEN = "locations/cids-workshop/location-imagery.yaml";

interface Raw {
  path: string;
  doc: ReturnType<typeof parseDocument>;
  lines: LineCounter;
}

function raw(pattern: string): Raw[] {
  return fg.sync(pattern, { cwd: REAL_WORLD }).sort().map((path) => {
    const lines = new LineCounter();
    const doc = parseDocument(readFileSync(join(REAL_WORLD, path), "utf8"), { lineCounter: lines });
    return { path, doc, lines };
  });
}

const seq = (node: unknown): Node[] => (isSeq(node) ? (node.items as Node[]) : []);
const at = (node: unknown, key: string): unknown => (isMap(node) ? node.get(key, true) : undefined);
const text = (node: unknown, key: string): string | undefined => {
  const v = at(node, key);
  return isScalar(v) && v.value !== null ? String(v.value) : undefined;
};

describe.skipIf(!present)("the real MemoryQuill sample", () => {
  const analysis = present ? plan(REAL_WORLD) : undefined!;
  const ids = (rule: string) => analysis.targets.filter((t) => t.rule === rule).map((t) => t.id);

  it("plans one chapter target per images[] entry", () => {
    const expected = raw("chapters/*/imagery.yaml").flatMap((f) =>
      seq(at(f.doc.contents, "images")).map((img) => `chapters/${text(at(f.doc.contents, "metadata"), "slug")}/${text(img, "custom_id")}`),
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(ids("chapter-images").sort()).toEqual(expected.sort());
  });

  it("plans one character target per scenes[] entry", () => {
    const files = raw("characters/*/image-ideas.yaml");
    const expected = files.reduce((n, f) => n + seq(at(f.doc.contents, "scenes")).length, 0);
    expect(expected).toBeGreaterThan(0);
    expect(ids("character-scenes")).toHaveLength(expected);
    // One per scene title, under its character.
    for (const f of files) {
      const slug = f.path.split("/")[1];
      expect(ids("character-scenes").filter((id) => id.startsWith(`characters/${slug}/`))).toHaveLength(seq(at(f.doc.contents, "scenes")).length);
    }
  });

  it("plans the overview, every zone (or its nested images) and every beat of each location file that parses", () => {
    const files = raw("locations/*/{imagery,location-imagery}.yaml").filter((f) => f.doc.errors.length === 0);
    let overviews = 0;
    let zones = 0;
    let beats = 0;
    for (const f of files) {
      const root = f.doc.contents;
      if (isMap(at(root, "overview"))) overviews++;
      for (const zone of [...seq(at(root, "zones")), ...seq(at(root, "parts"))]) zones += Math.max(1, seq(at(zone, "images")).length);
      beats += seq(at(root, "beat_images")).length;
    }
    const planned = ids("location-images");
    expect(planned.filter((id) => id.endsWith("/overview"))).toHaveLength(overviews);
    expect(planned.filter((id) => id.includes("/zones/"))).toHaveLength(zones);
    expect(planned.filter((id) => id.includes("/beats/"))).toHaveLength(beats);
    expect(overviews + zones + beats).toBeGreaterThan(0);
  });

  it("reports the unparseable location-imagery.yaml once, with its line, and plans every other file", () => {
    const broken = raw(BROKEN)[0]!;
    expect(broken.doc.errors.length).toBeGreaterThan(0);
    const line = broken.lines.linePos(broken.doc.errors[0]!.pos[0]).line;
    const diagnostics = analysis.diagnostics.filter((d) => d.file === BROKEN);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ severity: "error", line });
    expect(line).toBe(81);
    expect(analysis.targets.filter((t) => t.source.file === BROKEN)).toEqual([]);
    // Every other imagery file contributes targets.
    const others = fg.sync(["chapters/*/imagery.yaml", "characters/*/image-ideas.yaml", "locations/*/*.yaml"], { cwd: REAL_WORLD }).filter((p) => p !== BROKEN);
    for (const file of others) expect(analysis.targets.some((t) => t.source.file === file), file).toBe(true);
    expect(analysis.diagnostics.filter((d) => d.severity === "error")).toHaveLength(1);
  });

  it("reports every dangling reference with its file, line, image id and reference id", () => {
    const expected: { file: string; line: number; targetId: string; imageId: string; ref: string }[] = [];
    const inventories = new Map<string, string[] | undefined>();
    const inventoryIds = (slug: string): string[] | undefined => {
      if (!inventories.has(slug)) {
        const path = join(REAL_WORLD, "characters", slug, "imagery.yaml");
        const doc = existsSync(path) ? parseDocument(readFileSync(path, "utf8")) : undefined;
        inventories.set(slug, doc && seq(at(doc.contents, "image_inventory")).map((n) => text(n, "id") ?? ""));
      }
      return inventories.get(slug);
    };
    const check = (f: Raw, targetId: string, imageId: string, item: Node, slug: string, refIds: string[]) => {
      const inventory = inventoryIds(slug);
      const line = f.lines.linePos(item.range![0]).line;
      const wanted = refIds.length ? refIds : [`reference portrait of character ${slug}`];
      for (const ref of wanted) {
        if (!inventory || (refIds.length && !inventory.includes(ref))) expected.push({ file: f.path, line, targetId, imageId, ref });
      }
    };
    for (const f of raw("chapters/*/imagery.yaml")) {
      const root = f.doc.contents;
      const declared = new Map(seq(at(root, "characters")).map((c) => [text(c, "ref"), seq(at(c, "reference_images")).map((n) => String((n as { value: unknown }).value))]));
      for (const img of seq(at(root, "images"))) {
        const customId = text(img, "custom_id")!;
        for (const item of seq(at(img, "depicts_characters"))) {
          const slug = String((item as { value: unknown }).value);
          check(f, `chapters/${text(at(root, "metadata"), "slug")}/${customId}`, customId, item, slug, declared.get(slug) ?? []);
        }
      }
    }
    for (const f of raw("locations/*/imagery.yaml")) {
      const slug = f.path.split("/")[1];
      for (const zone of seq(at(f.doc.contents, "zones"))) {
        const id = `locations/${slug}/zones/${text(zone, "slug")}`;
        for (const item of seq(at(zone, "depicts_characters"))) {
          const who = text(item, "slug");
          if (who) check(f, id, id, item, who, []);
        }
      }
    }
    expect(expected.length).toBeGreaterThan(0);

    const dangling = analysis.diagnostics.filter((d) => /resolves to nothing/.test(d.message));
    for (const e of expected) {
      const hit = dangling.find((d) => d.file === e.file && d.line === e.line && d.targetId === e.targetId && d.message.includes(e.ref) && d.message.includes(e.imageId));
      expect(hit, `${e.file}:${e.line} ${e.targetId} ${e.ref}`).toBeDefined();
    }
    expect(dangling).toHaveLength(expected.length);
    // ... and the target carries it, so that the build fails or warns per missingReferences.
    for (const e of expected) expect(analysis.targets.find((t) => t.id === e.targetId)!.unresolved.some((u) => u.includes(e.ref.replace("reference ", "")))).toBe(true);
  });
});
