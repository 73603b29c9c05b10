/** A three-chapter markdown book laid out by `init --from-book`, and how its files read: for the story e2e tests. */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { expect } from "vitest";
import { chargen, edit } from "./cli.js";
import { scratchDir } from "./tmp.js";

export const CHAPTERS = ["ch01-the-grey-tide", "ch02-the-drowned-marker", "ch03-lamplight"];

/** A three-chapter markdown book laid out by `init --from-book`, its rules sending everything to the placeholder. */
export async function bookWorkspace(): Promise<string> {
  const dir = scratchDir("chargen-story-");
  mkdirSync(join(dir, "book"));
  writeFileSync(
    join(dir, "book", "01-grey-tide.md"),
    "# The Grey Tide\n\nFog came in early that year. Nell Farrow rowed out past the jetty with her brass lantern.\n\nThe lighthouse stood dark on the point. Old Tobias waited on the quay, coat flapping.\n",
  );
  writeFileSync(
    join(dir, "book", "02-drowned-marker.md"),
    "# The Drowned Marker\n\nAt low water the marker stone showed green with weed. Nell traced the carved letters.\n\nTobias said nothing. Gulls wheeled over the mudflats.\n",
  );
  writeFileSync(join(dir, "book", "03-lamplight.md"), "# Lamplight\n\nNell climbed the spiral stair of the lighthouse. The lamp room smelled of oil and salt.\n\nShe lit the great lamp and the beam swept the bay.\n");
  const init = await chargen(dir, ["init", "--from-book", "book", "ws"]);
  expect(init.code).toBe(0);
  const ws = join(dir, "ws");
  edit(join(ws, "chargen.rules.ts"), "defaults: { ...builtIn.defaults }", 'defaults: { ...builtIn.defaults, provider: "placeholder", model: "placeholder-1", read: { provider: "placeholder", model: "placeholder-1" } }');
  return ws;
}

export type Entry = { custom_id: string; prompt_used?: string; moment: string; depicts_characters?: string[]; image_inventory?: { path: string }[] };
export type Element = { slug: string; chapters?: string[] };
/** The elements file's characters and places, by slug. */
export const elementsYaml = (ws: string): [string, Element][] => {
  const data = parse(readFileSync(join(ws, "story", "elements.yaml"), "utf8")) as { characters?: Element[]; places?: Element[] };
  return [...(data.characters ?? []), ...(data.places ?? [])].map((e) => [e.slug, e]);
};
export const chapterFile = (ws: string, chapter: string) => join(ws, "chapters", chapter, "imagery.yaml");
export const chapterYaml = (ws: string, chapter: string) => parse(readFileSync(chapterFile(ws, chapter), "utf8")) as { images: Entry[]; chargen?: { images: Record<string, string> } };
export const imageTarget = (chapter: string, entry: Pick<Entry, "custom_id">) => `chapters/${chapter}/${entry.custom_id}`;
/** The entries chargen's last reading of a chapter proposed (its ledger without the dropped ones), with their digests. */
export const proposed = (ws: string, chapter: string) => Object.entries(chapterYaml(ws, chapter).chargen?.images ?? {}).filter(([, digest]) => !digest.startsWith("dropped"));


/** A chapter's entries as chargen's reading last proposed them, and the elements file, before an edit. */
export const chapterState = (ws: string, chapter: string) => ({ chapter, entries: new Map(proposed(ws, chapter)), elements: elementsYaml(ws) });

/**
 * The image targets an edit of the chapter's text must redraw, sorted: its entries that changed,
 * and those depicting an element whose description changed; every element changed is the chapter's.
 */
export function redrawnSince(ws: string, before: ReturnType<typeof chapterState>): string[] {
  const changed = proposed(ws, before.chapter).filter(([id, digest]) => before.entries.get(id) !== digest);
  expect(changed.length).toBeGreaterThan(0);
  // An element changed when what the prompts draw from changed (not only its chapters).
  const drawn = ({ chapters: _, ...entry }: Element) => JSON.stringify(entry);
  const was = new Map(before.elements);
  const is = new Map(elementsYaml(ws));
  const changedElements = new Set([...was.keys(), ...is.keys()].filter((slug) => !was.has(slug) || !is.has(slug) || drawn(was.get(slug)!) !== drawn(is.get(slug)!)));
  for (const slug of changedElements) expect([...(was.get(slug)?.chapters ?? []), ...(is.get(slug)?.chapters ?? [])]).toContain(before.chapter);
  return chapterYaml(ws, before.chapter)
    .images.filter((e) => changed.some(([id]) => id === e.custom_id) || (e.depicts_characters ?? []).some((c) => changedElements.has(c)))
    .map((e) => imageTarget(before.chapter, e))
    .sort();
}
