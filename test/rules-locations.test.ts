import { describe, expect, it } from "vitest";
import { defineRules, locationImages } from "../src/index.js";
import { copyWorkspace, plan, spec, workspaceWith } from "./fixtures/rules/harness.js";

const GULL = "locations/gull-market/imagery.yaml";

describe("location imagery variants", () => {
  const analysis = plan(copyWorkspace());
  const ids = analysis.targets.filter((t) => t.rule === "location-images").map((t) => t.id);
  const diagnostics = (file: string) => analysis.diagnostics.filter((d) => d.file === file);

  it("maps every generation of the schema to targets with path-like ids", () => {
    expect(ids).toEqual([
      "locations/gull-market/overview",
      "locations/gull-market/zones/fish-row", // slug
      "locations/gull-market/zones/net-lofts/mending-bench", // zone_id, nested images[] (image_slug)
      "locations/gull-market/zones/net-lofts/loft-window", // nested image with a ready `prompt`
      "locations/gull-market/zones/auction-block", // zone_slug, prompt_template
      "locations/gull-market/zones/ice-house",
      "locations/gull-market/zones/salt-stairs", // no id: from its name
      "locations/gull-market/beats/first-catch", // beat_id, spec under image_spec
      "locations/gull-market/beats/storm-bell", // beat_slug, beat_title
      "locations/gull-market/beats/beat-3", // nothing: by position
      "locations/old-mill/overview", // older location-imagery.yaml
      "locations/old-mill/zones/old-mill-wheel-pit", // its parts[]
      "locations/old-mill/zones/old-mill-grain-loft",
    ]);
    // A zone that nests images is their container, not an image of its own.
    expect(ids).not.toContain("locations/gull-market/zones/net-lofts");
  });

  it("writes outputs inside the location folder, mirroring the ids", () => {
    expect(spec(analysis, "locations/gull-market/zones/net-lofts/mending-bench").output).toBe("locations/gull-market/images/zones/net-lofts/mending-bench.png");
    expect(spec(analysis, "locations/gull-market/beats/first-catch").output).toBe("locations/gull-market/images/beats/first-catch.png");
  });

  it("names every entry it could not read, and every id it had to invent", () => {
    const messages = diagnostics(GULL).map((d) => `${d.line} ${d.severity} ${d.targetId ?? "-"} ${d.message}`);
    expect(messages).toEqual([
      `88 warning locations/gull-market/zones/salt-stairs zones[4] has no slug, zone_id, zone_slug; its id comes from its name "Salt Stairs", and changes if it is renamed`,
      `91 error - zones[5] is a string ("just a note"), not a zone`,
      `108 warning locations/gull-market/beats/beat-3 beat_images[2] has no slug, beat_id, beat_slug or title, name, beat_name, beat_title; its id comes from its position, and changes if beats are reordered`,
      `83 warning locations/gull-market/zones/ice-house zones[3]: prompt_template leaves {{undefined_field}} unfilled; compiling the prompt from the structured fields instead`,
    ]);
    expect(diagnostics("locations/old-mill/location-imagery.yaml")).toEqual([]);
  });

  it("reads generation_defaults under metadata or at the top level, the entry's own settings first", () => {
    expect(spec(analysis, "locations/gull-market/beats/first-catch").requested).toEqual({ provider: "google", model: "gemini-3-pro-image-preview", size: "1536x1024" });
    expect(spec(analysis, "locations/old-mill/overview").requested).toEqual({ provider: "google", model: "gemini-3-pro-image-preview" });
    expect(spec(analysis, "locations/gull-market/zones/fish-row").prompt.negative).toContain("modern signage"); // generation_defaults.negative_prompts
  });

  it("resolves the characters an entry depicts ({slug, role} items) to their portraits, then the location's overview", () => {
    expect(spec(analysis, "locations/gull-market/beats/first-catch").references).toEqual([
      { path: "characters/mara-quill/images/portrait.png", role: "character:mara-quill", assetId: "mara-quill-portrait", label: "Mara Quill: identity portrait" },
      { path: "locations/gull-market/images/overview.png", role: "location:gull-market", assetId: "locations/gull-market/overview", label: "Gull Market: overview of this same place" },
    ]);
  });

  it("gives every zone, zone image and beat its overview's image as a continuity reference (a graph edge), the overview none", () => {
    for (const t of analysis.targets.filter((x) => x.rule === "location-images")) {
      const location = t.id.split("/")[1]!;
      const overview = analysis.targets.find((x) => x.id === `locations/${location}/overview`);
      const place = t.references.filter((r) => r.role.startsWith("location:")).map((r) => r.path);
      expect(place, t.id).toEqual(t.id.endsWith("/overview") || !overview ? [] : [overview.output]);
    }
    const off = plan(copyWorkspace(), defineRules({ rules: [locationImages({ overviewReference: false })] }));
    expect(spec(off, "locations/gull-market/zones/fish-row").references).toEqual([]);
  });

  it("reports shapes it does not recognise instead of dropping them", () => {
    const root = workspaceWith({
      "locations/odd/imagery.yaml": [
        "overview: just a sentence",
        "zones:",
        "  wrong: shape",
        "beat_images:",
        "  - slug: no-prompt-here",
        "    title: Empty",
        "  - - a list in a list",
        "",
      ].join("\n"),
      "locations/dup/imagery.yaml": ["zones:", "  - slug: hall", "    prompt_used: one", "  - slug: hall", "    prompt_used: two", ""].join("\n"),
    });
    const a = plan(root);
    const messages = a.diagnostics.map((d) => `${d.file}:${d.line} ${d.severity} ${d.message}`);
    expect(messages).toEqual([
      "locations/dup/imagery.yaml:4 warning zones[1]: id \"hall\" is already used by an earlier entry; this one is \"hall-2\" by its position: give it a distinct id",
      "locations/odd/imagery.yaml:1 error overview is a string (\"just a sentence\"), not an image entry",
      "locations/odd/imagery.yaml:3 error zones is a map, not a list",
      "locations/odd/imagery.yaml:7 error beat_images[1] is a list, not a beat image",
      "locations/odd/imagery.yaml:5 error beat_images[0]: no prompt_used, prompt_template or structured fields (visual_description, description, composition, key_elements, ...) to make a prompt from",
    ]);
    expect(a.targets.map((t) => t.id)).toEqual(["locations/dup/zones/hall", "locations/dup/zones/hall-2"]);
  });

  it("takes colour anchors as a list or as a map", () => {
    const anchor = (id: string) => spec(analysis, id).prompt.parts.find((p) => p.role === "anchor")!.text;
    expect(anchor("locations/gull-market/zones/fish-row")).toContain("Colour anchors: rust, cream, brine green.");
    expect(anchor("locations/old-mill/overview")).toBe("Colour anchors: stone: weed-dark granite; water: tea-brown millrace.");
    expect(spec(analysis, "locations/old-mill/overview").prompt.negative).toContain("bright blue"); // the map's avoid list
  });
});

describe("an overview with no prompt fields", () => {
  const root = workspaceWith({
    "locations/tide-mill/imagery.yaml": [
      "metadata:",
      "  name: Tide Mill",
      "  narrative_soul: |",
      "    The mill grinds only when the sea allows it. Twice a day the pond fills and the wheel turns;",
      "    twice a day it stops, and the miller listens to the mud. Nobody hurries a tide, and nobody",
      "    who works here tries to.",
      "  one_line_essence: Where the sea keeps the hours.",
      "location_visual_anchor:",
      "  signature_elements:",
      "    - Undershot wheel in a stone race",
      "    - Sluice gates green with weed",
      "  materials:",
      "    walls: tarred weatherboard on a flint plinth",
      "  color_anchors:",
      "    - mud grey",
      "    - tar black",
      "  characteristic_light:",
      "    dusk: low amber over the pond",
      "overview:",
      "  slug: tide-mill-overview",
      "  title: The Tide Mill",
      "  category: exterior",
      "zones:",
      "  - slug: empty-loft",
      "    name: Empty Loft",
      "",
    ].join("\n"),
  });
  const a = plan(root);

  it("compiles its prompt from the location's visual anchor and essence, as the earlier tool did", () => {
    const s = spec(a, "locations/tide-mill/overview");
    // The scenario is the subject and the location's anchor; the location's essence (its
    // one_line_essence and whole narrative_soul) comes in the essence section, after it.
    expect(s.prompt.parts).toEqual([
      { role: "subject", text: "The Tide Mill" },
      {
        role: "anchor",
        text:
          "Signature elements: Undershot wheel in a stone race; Sluice gates green with weed.\n" +
          "Materials: walls: tarred weatherboard on a flint plinth.\n" +
          "Colour anchors: mud grey, tar black.\n" +
          "Characteristic light: dusk: low amber over the pond.",
      },
      {
        role: "essence",
        text:
          "Essence of Tide Mill: Where the sea keeps the hours. The mill grinds only when the sea allows it. Twice a day the pond fills and the wheel turns; " +
          "twice a day it stops, and the miller listens to the mud. Nobody hurries a tide, and nobody who works here tries to.",
      },
      expect.objectContaining({ role: "style" }),
    ]);
  });

  it("a zone with nothing of its own is still no image: the anchor alone would make every zone the same picture", () => {
    expect(a.targets.map((t) => t.id)).toEqual(["locations/tide-mill/overview"]);
    expect(a.diagnostics.map((d) => `${d.line} ${d.severity} ${d.message}`)).toEqual([
      "24 error zones[0]: no prompt_used, prompt_template or structured fields (visual_description, description, composition, key_elements, ...) to make a prompt from",
    ]);
  });
});
