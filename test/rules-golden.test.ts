import { describe, expect, it } from "vitest";
import { chapterImages, defineRules, styleGlue } from "../src/index.js";
import { copyWorkspace, golden, plan, renderGolden, spec } from "./fixtures/rules/harness.js";

/**
 * Golden prompts, one per kind, on the rules fixture workspace (test/fixtures/rules/workspace).
 * A deliberate change to prompt rendering: rerun with UPDATE_GOLDEN=1, review the diff of
 * test/golden/, and bump the compiler version of the kinds it touches.
 */
const CASES: [name: string, id: string, what: string][] = [
  ["chapter-prompt-used", "chapters/ch01-the-salt-road/ch01-img-01", "a chapter image with prompt_used: sent as written"],
  ["chapter-compiled", "chapters/ch01-the-salt-road/ch01-img-02", "a chapter image compiled from its structured fields"],
  ["character-scene", "characters/mara-quill/the-chart-table", "a character scene"],
  ["location-overview-prompt-used", "locations/gull-market/overview", "a location overview with prompt_used"],
  ["location-zone-compiled", "locations/gull-market/zones/fish-row", "a location zone with no prompt_used"],
  ["location-zone-nested-image", "locations/gull-market/zones/net-lofts/mending-bench", "an image nested in a zone"],
  ["location-beat", "locations/gull-market/beats/first-catch", "a beat image with its spec under image_spec"],
  ["location-legacy-part", "locations/old-mill/zones/old-mill-wheel-pit", "a part of the older location-imagery.yaml"],
  ["location-legacy-overview", "locations/old-mill/overview", "the overview of the older format, colour anchors as a map"],
  ["location-zone-template", "locations/gull-market/zones/auction-block", "a zone whose prompt_template is filled from its fields"],
];

describe("golden prompts", () => {
  const analysis = plan(copyWorkspace());

  it.each(CASES)("%s: %s", (name, id) => {
    const { actual, expected } = golden(name, renderGolden(spec(analysis, id)));
    expect(actual).toBe(expected);
  });

  it("opens every chapter prompt with the consistency block when the rules ask for it", () => {
    const rules = defineRules({ rules: [chapterImages({ consistency: true, style: styleGlue() })] });
    const withBlock = plan(copyWorkspace(), rules);
    const { actual, expected } = golden("chapter-consistency", renderGolden(spec(withBlock, "chapters/ch01-the-salt-road/ch01-img-01")));
    expect(actual).toBe(expected);
  });
});
