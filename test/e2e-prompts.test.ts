import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildJson, chargen, CH1, edit, exampleWorkspace } from "./support/cli.js";

/**
 * Prompt sections end to end: an edit to one story fact makes stale exactly the images whose
 * prompt carries it, with the reason naming the section.
 */

interface CheckedTarget {
  id: string;
  status: string;
  reasons: string[];
}

async function check(ws: string): Promise<CheckedTarget[]> {
  const r = await chargen(ws, ["build", "--check", "--json"]);
  return (JSON.parse(r.stdout) as { targets: CheckedTarget[] }).targets.filter((t) => t.status !== "fresh");
}

/** Ids of the targets that reference `path`, from `chargen targets --json`: the images that depict a character reference their portrait. */
async function referencing(ws: string, path: string): Promise<string[]> {
  const r = await chargen(ws, ["targets", "--json"]);
  const { targets } = JSON.parse(r.stdout) as { targets: { id: string; references: string[] }[] };
  return targets.filter((t) => t.references.includes(path)).map((t) => t.id).sort();
}

describe("prompt sections, end to end on the example workspace", () => {
  it("editing only a chapter's visual_thesis makes exactly that chapter's images stale, naming the thesis", async () => {
    const ws = exampleWorkspace();
    expect((await buildJson(ws)).code).toBe(0);
    const all = JSON.parse((await chargen(ws, ["targets", "--json"])).stdout).targets.map((t: { id: string }) => t.id);
    edit(join(ws, CH1, "imagery.yaml"), "only as strong as the person", "only as strong as the hands");
    const stale = await check(ws);
    const chapter = all.filter((id: string) => id.startsWith(`${CH1}/`)).sort();
    expect(chapter.length).toBeGreaterThanOrEqual(3);
    expect(stale.map((t) => t.id).sort()).toEqual(chapter);
    for (const t of stale) expect(t.reasons).toEqual(["visual thesis changed"]);
  });

  it("editing a character's appearance makes exactly the images depicting them stale, naming the character", async () => {
    const ws = exampleWorkspace();
    expect((await buildJson(ws)).code).toBe(0);
    const depicting = await referencing(ws, "characters/osric-vane/images/portrait.png");
    // Chapter images, his own scenes and Nell's scene with him as her companion.
    expect(depicting).toContain("characters/nell-farrow/the-handover");
    expect(depicting.some((id) => id.startsWith("chapters/"))).toBe(true);
    edit(join(ws, "characters/osric-vane/imagery.yaml"), "a close-cropped white beard", "a close-cropped iron-grey beard");
    const stale = await check(ws);
    expect(stale.map((t) => t.id).sort()).toEqual(depicting);
    for (const t of stale) expect(t.reasons).toEqual(["character osric-vane changed"]);

    // Building rebuilds exactly those.
    const r = await buildJson(ws);
    expect(r.calls.sort()).toEqual(depicting);
  });
});
