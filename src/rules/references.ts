import { isMap, isScalar, isSeq, type Node } from "yaml";
import type { ReferenceInput } from "../graph/target.js";
import type { RuleContext, SourceFile } from "./api.js";
import { get, items, str } from "./yaml-access.js";

export interface InventoryImage {
  id: string;
  /** Workspace-relative path. */
  path: string;
  approved: boolean;
  isReferencePortrait: boolean;
  /** The target that writes this file, when chargen generated it (its provenance says so). */
  producedBy?: string;
}

export const characterImageryFile = (slug: string) => `characters/${slug}/imagery.yaml`;

/** A character's `image_inventory`, from `characters/<slug>/imagery.yaml` (paths there are relative to the character folder). */
export function characterInventory(ctx: RuleContext, slug: string): InventoryImage[] | undefined {
  const src = ctx.readYaml(characterImageryFile(slug));
  if (!src) return undefined;
  // A parsed file is shared by every source that reads it in a build: read its inventory once.
  let inventory = inventories.get(src);
  if (!inventory) inventories.set(src, (inventory = readInventory(src, slug)));
  return inventory;
}

const inventories = new WeakMap<SourceFile, InventoryImage[]>();

function readInventory(src: SourceFile, slug: string): InventoryImage[] {
  return items(src.doc.contents, "image_inventory")
    .filter((n) => isMap(n))
    .flatMap((n) => {
      const id = str(n, "id");
      const path = str(n, "path");
      if (!id || !path) return [];
      const portrait = get(n, "is_reference_portrait");
      // Our records name their target in `generation`; chargen's first records did in `provenance`.
      const producedBy = str(get(n, "generation"), "target_id") ?? str(get(n, "provenance"), "target_id");
      return [
        {
          id,
          path: `characters/${slug}/${path.replace(/^\.\//, "")}`,
          approved: str(n, "status") === "approved",
          isReferencePortrait: isScalar(portrait) && portrait.value === true,
          ...(producedBy ? { producedBy } : {}),
        },
      ];
    });
}

/**
 * The character's identity reference: the flagged portrait, else the first approved image that
 * no target generates. A generated scene is not an identity reference, and taking one would make
 * the graph depend on the build's own write-back: the next build would rebuild what used it.
 */
export function referencePortrait(inventory: InventoryImage[]): InventoryImage | undefined {
  return inventory.find((i) => i.isReferencePortrait) ?? inventory.find((i) => i.approved && !i.producedBy);
}

export interface ResolvedReferences {
  references: ReferenceInput[];
  /** Ids that resolve to nothing, with why: the engine fails or warns per `missingReferences`. */
  unresolved: string[];
}

/** Where a reference was asked for, for diagnostics: the YAML node (its line), the image's id as the YAML names it, its target. */
export interface ReferenceSite {
  file: SourceFile;
  node: Node | undefined;
  imageId: string;
  targetId: string;
}

/**
 * Reference ids of one character -> image files, approved first, at most `max`; with no ids, the
 * character's reference portrait. Every id that resolves to nothing, and every file that does not
 * exist (unless a target produces it: then it is a graph edge), is a diagnostic naming the file,
 * line, image id and reference id; nothing is dropped silently.
 */
export function resolveCharacterReferences(ctx: RuleContext, slug: string, ids: string[], max: number, site: ReferenceSite): ResolvedReferences {
  const inventory = characterInventory(ctx, slug);
  const unresolved: string[] = [];
  const found: InventoryImage[] = [];
  const file = characterImageryFile(slug);
  // `refId` undefined: the character's reference portrait, asked for by its slug alone.
  const dangling = (refId: string | undefined, why: string) => {
    // The planner prefixes "reference " to unresolved entries in its reasons.
    const what = refId === undefined ? `portrait of character ${slug}` : `"${refId}" (character ${slug})`;
    unresolved.push(`${what}: ${why}`);
    report(ctx, site, `${refId === undefined ? "the reference" : "reference"} ${what} resolves to nothing: ${why}`);
  };
  if (ids.length === 0) {
    const portrait = inventory && referencePortrait(inventory);
    if (portrait) found.push(portrait);
    else dangling(undefined, inventory ? `${file} has no image_inventory entry with is_reference_portrait: true or status: approved` : `there is no ${file}`);
  } else {
    for (const id of ids) {
      const image = inventory?.find((i) => i.id === id);
      if (image) found.push(image);
      else dangling(id, inventory ? `not an image_inventory id in ${file}` : `there is no ${file}`);
    }
  }
  // Stable sort: approved first, the YAML's order otherwise.
  found.sort((a, b) => Number(b.approved) - Number(a.approved));
  const chosen = found.slice(0, max);
  for (const image of chosen) {
    if (!image.producedBy && !ctx.exists(image.path)) {
      report(ctx, site, `reference "${image.id}" (character ${slug}) is ${image.path}, which does not exist`);
    }
  }
  return {
    references: chosen.map((i) => ({ path: i.path, role: `character:${slug}`, assetId: i.id })),
    unresolved,
  };
}

/**
 * The portraits of the characters an entry depicts (`depicts_characters`), each problem reported
 * at its own list item's line. `idsOf` gives the reference ids declared for a character, if any.
 */
export function depictedReferences(
  ctx: RuleContext,
  site: Omit<ReferenceSite, "node">,
  depicts: Node | undefined,
  max: number,
  options: { idsOf?: (slug: string) => string[]; exclude?: string } = {},
): ResolvedReferences {
  const out: ResolvedReferences = { references: [], unresolved: [] };
  const seq = isSeq(depicts) ? (depicts.items as Node[]) : [];
  const seen = new Set<string>(options.exclude ? [options.exclude] : []);
  seq.forEach((item, i) => {
    const slug = depictedSlug(item);
    if (slug === null) return; // unnamed figures ({generic_count: 3}): nobody to reference
    if (slug === undefined) {
      ctx.report({ severity: "warning", ...site.file.position(item), targetId: site.targetId, message: `image ${site.imageId}: depicts_characters[${i}] is neither a character slug nor {slug: ...}; it is ignored` });
      return;
    }
    if (seen.has(slug)) return;
    seen.add(slug);
    const r = resolveCharacterReferences(ctx, slug, options.idsOf?.(slug) ?? [], max, { ...site, node: item });
    out.references.push(...r.references.filter((ref) => !out.references.some((o) => o.path === ref.path)));
    out.unresolved.push(...r.unresolved);
  });
  return out;
}

/**
 * A `depicts_characters` item's slug: a plain slug in chapter files, `{slug, role}` in location
 * files. Null for unnamed figures (`{generic_count: 3}`), undefined for anything else.
 */
export function depictedSlug(item: Node): string | null | undefined {
  if (isScalar(item)) return item.value === null || String(item.value).trim() === "" ? undefined : String(item.value).trim();
  if (!isMap(item)) return undefined;
  const slug = str(item, "slug") ?? str(item, "ref") ?? str(item, "character");
  if (slug) return slug;
  return get(item, "generic_count") !== undefined ? null : undefined;
}

function report(ctx: RuleContext, site: ReferenceSite, message: string): void {
  ctx.report({ severity: "warning", ...site.file.position(site.node), targetId: site.targetId, message: `image ${site.imageId}: ${message}` });
}
