import { describe, expect, it } from "vitest";
import { hasCode, isChargenError } from "../src/core/errors.js";
import { numberChapters, type Book } from "../src/story/book.js";
import { ELEMENTS_VERSION } from "../src/story/instructions.js";
import { elementsAnswer, elementsReading, knownElements, sceneSpecAnswer, sceneSpecReading } from "../src/story/readings.js";

const book: Book = {
  chapters: numberChapters([
    { title: "The Grey Tide", text: "Fog came in.", source: "1.md" },
    { title: "Lamplight", text: "The lamp burned.", source: "2.md" },
  ]),
  elements: [{ kind: "character", slug: "nell-farrow", name: "Nell Farrow", text: "Copper hair.\n", digest: "x", source: "characters/nell-farrow/profile.md" }],
  skipped: [],
};

describe("the story readings as a provider gets them", () => {
  it("elements: the author's element texts first, then every chapter, each labelled with its slug", () => {
    const reading = elementsReading(book);
    expect(reading.instructions.version).toBe(ELEMENTS_VERSION);
    expect(reading.texts).toEqual([
      { label: "Profile of Nell Farrow (character, slug nell-farrow)", text: "Copper hair.\n" },
      { label: "Chapter 1: The Grey Tide (slug the-grey-tide)", text: "Fog came in.\n" },
      { label: "Chapter 2: Lamplight (slug lamplight)", text: "The lamp burned.\n" },
    ]);
    expect(reading.schema.name).toBe("story_elements");
  });

  it("a chapter's scenes: the known elements (from the elements file, the author's edits included) by slug, then the chapter", () => {
    const elements = knownElements({
      characters: [{ slug: "nell-farrow", name: "Nell Farrow", kind: "character", appearance: "Wiry,\ncopper hair." }, { name: "no slug" }],
      places: [{ slug: "low-water-light", name: "Low Water Light", description: "A lighthouse.", zones: [{ slug: "lamp-room", name: "Lamp room" }] }],
      chargen: {},
    });
    const reading = sceneSpecReading(book.chapters[1]!, elements, { images: { min: 1, max: 1 } });
    expect(reading.texts).toEqual([
      { label: "Story elements (refer to them by slug)", text: "- nell-farrow: Nell Farrow, character. Wiry, copper hair.\n- low-water-light: Low Water Light, place. A lighthouse. Zones: lamp-room (Lamp room).\n" },
      { label: "Chapter 2: Lamplight (slug lamplight)", text: "The lamp burned.\n" },
    ]);
    expect(reading.instructions.version).toBe("scene-specs/1 images 1-1 kinds hero,anchor,beat,detail,supporting");
  });

  it("an answer that does not match its schema fails its target with the first mismatch, by code", () => {
    expect(elementsAnswer({ characters: [], places: [] }, "story/elements")).toEqual({ characters: [], places: [] });
    const error = (() => {
      try {
        sceneSpecAnswer({ images: [] }, "chapters/ch01/specs");
      } catch (e) {
        return e;
      }
    })();
    expect(isChargenError(error) && error.kind).toBe("target");
    expect(hasCode(error, "ANSWER_SCHEMA")).toBe(true);
    expect((error as Error).message).toMatch(/^chapters\/ch01\/specs: the answer does not match its schema \(images: /);
  });
});
