import { isMap, isScalar, isSeq, type Node } from "yaml";
import type { Diagnostic } from "../core/errors.js";
import type { ReferenceInput, UnlistedReference } from "../model/target.js";
import type { RuleContext, SourceFile } from "./api.js";
import { resolveInside } from "../core/boundary.js";
import { refuseUnsafeName } from "./rule-kit.js";
import { get, items, str } from "../yaml/access.js";

export interface InventoryImage {
  id: string;
  /** Workspace-relative path. */
  path: string;
  approved: boolean;
  /** `type: generated`: an image a tool made (chargen's write-back records its images so). */
  generated: boolean;
  isReferencePortrait: boolean;
  /** The target that writes this file, when chargen generated it (its provenance says so). */
  producedBy?: string;
  /** Why its `path` may not be read (it leaves the workspace), and the line and column of that path. */
  refused?: { why: string; line: number; column: number };
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
      const resolved = resolveInside(`characters/${slug}`, path);
      return [
        {
          id,
          path: resolved.path,
          ...(resolved.refused ? { refused: { why: `path ${JSON.stringify(path)} is refused: ${resolved.refused}`, ...src.position(get(n, "path")) } } : {}),
          approved: str(n, "status") === "approved",
          generated: str(n, "type") === "generated",
          isReferencePortrait: isScalar(portrait) && portrait.value === true,
          ...(producedBy ? { producedBy } : {}),
        },
      ];
    });
}

/**
 * The character's identity reference: the flagged portrait, else the first approved image that no
 * tool generated. Never a generated one: a build's own write-back would then change the portrait
 * of every scene after it, and the next build would build them all again.
 */
export function referencePortrait(inventory: InventoryImage[]): InventoryImage | undefined {
  return inventory.find((i) => i.isReferencePortrait) ?? inventory.find((i) => i.approved && !i.generated && !i.producedBy);
}

export interface ResolvedReferences {
  references: ReferenceInput[];
  /** Ids that resolve to nothing, with why: the engine fails or warns per `missingReferences`. */
  unresolved: string[];
  /** Ids the inventory does not list yet: another target may make them (the analyzer decides). */
  unlisted: UnlistedReference[];
  /** Paths among `references` that another target made (its record names it): see `madeLast`. */
  made?: string[];
}

/**
 * References in the order they are sent: those no target makes first, then the ones targets make.
 * An image a target makes is an unlisted id on the first build (resolved after every target is
 * known, so it comes last) and a listed one after its write-back: the same order both times keeps
 * the prompt's reference section, and so the key, unchanged, and one build converges.
 */
export function madeLast(refs: ResolvedReferences, between: ReferenceInput[] = []): ReferenceInput[] {
  const made = new Set(refs.made ?? []);
  return [...refs.references.filter((r) => !made.has(r.path)), ...between, ...refs.references.filter((r) => made.has(r.path))];
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
 * character's reference portrait. An id the inventory does not list may name an image another
 * target's write-back will list (its output's file name): it is `unlisted`, for the analyzer to
 * resolve into a graph edge, while there is room left under `max`. Every id that resolves to
 * nothing, and every file that does not exist (unless a target produces it: then it is a graph
 * edge), is a diagnostic naming the file, line, image id and reference id; nothing is dropped silently.
 */
export function resolveCharacterReferences(ctx: RuleContext, slug: string, ids: string[], max: number, site: ReferenceSite): ResolvedReferences {
  const inventory = characterInventory(ctx, slug);
  const unresolved: string[] = [];
  const found: InventoryImage[] = [];
  const notListed: string[] = [];
  const file = characterImageryFile(slug);
  const what = (refId: string | undefined) => (refId === undefined ? `portrait of character ${slug}` : `"${refId}" (character ${slug})`);
  // `refId` undefined: the character's reference portrait, asked for by its slug alone.
  const problem = (refId: string | undefined, why: string): Diagnostic =>
    diagnosticAt(site, `${refId === undefined ? "the reference" : "reference"} ${what(refId)} resolves to nothing: ${why}`);
  const dangling = (refId: string | undefined, why: string) => {
    // The planner prefixes "reference " to unresolved entries in its reasons.
    unresolved.push(`${what(refId)}: ${why}`);
    ctx.report(problem(refId, why));
  };
  if (ids.length === 0) {
    const portrait = inventory && referencePortrait(inventory);
    // As the earlier tool did: with no portrait in the inventory (or no inventory), the conventional file.
    const conventional = `characters/${slug}/images/portrait.png`;
    if (portrait) found.push(portrait);
    else if (ctx.exists(conventional)) return { references: [{ path: conventional, role: `character:${slug}` }], unresolved: [], unlisted: [] };
    else {
      const why = inventory ? `${file} has no image_inventory entry with is_reference_portrait: true, nor an approved one that was not generated` : `there is no ${file}`;
      dangling(undefined, `${why}, and there is no ${conventional}`);
    }
  } else {
    for (const id of ids) {
      const image = inventory?.find((i) => i.id === id);
      if (image) found.push(image);
      else notListed.push(id);
    }
  }
  const notListedWhy = inventory ? `not an image_inventory id in ${file}` : `there is no ${file}`;
  const room = Math.max(0, max - found.length);
  const unlisted = notListed.slice(0, room).map((id): UnlistedReference => ({
    id,
    folder: `characters/${slug}`,
    role: `character:${slug}`,
    unresolved: `${what(id)}: ${notListedWhy}`,
    diagnostic: problem(id, notListedWhy),
  }));
  for (const id of notListed.slice(room)) dangling(id, notListedWhy);
  // Stable sort: approved first, the YAML's order otherwise.
  found.sort((a, b) => Number(b.approved) - Number(a.approved));
  const chosen = found.slice(0, max);
  for (const image of chosen) {
    if (image.refused) {
      const { why, line, column } = image.refused;
      unresolved.push(`"${image.id}" (character ${slug}): ${why}`);
      ctx.report({ severity: "error", file, line, column, targetId: site.targetId, message: `image_inventory "${image.id}": ${why}` });
    } else if (!image.producedBy && !ctx.exists(image.path)) {
      ctx.report(diagnosticAt(site, `reference "${image.id}" (character ${slug}) is ${image.path}, which does not exist`));
    }
  }
  const references = chosen.filter((i) => !i.refused);
  return {
    references: references.map((i) => ({ path: i.path, role: `character:${slug}`, assetId: i.id })),
    unresolved,
    unlisted,
    made: references.filter((i) => i.producedBy).map((i) => i.path),
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
  options: { idsOf?: (slug: string) => string[]; exclude?: string; noPortrait?: (slug: string) => boolean } = {},
): ResolvedReferences {
  const out: ResolvedReferences = { references: [], unresolved: [], unlisted: [], made: [] };
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
    // The slug names a folder to read: it may not lead anywhere else.
    if (refuseUnsafeName(site.file, ctx, item, `image ${site.imageId}: depicts_characters[${i}]`, slug, site.targetId)) {
      out.unresolved.push(`character ${JSON.stringify(slug)}: not a safe character slug`);
      return;
    }
    // Known only by the story's elements: nothing to reference, and nothing missing.
    if (options.noPortrait?.(slug)) return;
    const r = resolveCharacterReferences(ctx, slug, options.idsOf?.(slug) ?? [], max, { ...site, node: item });
    out.references.push(...r.references.filter((ref) => !out.references.some((o) => o.path === ref.path)));
    out.unresolved.push(...r.unresolved);
    out.unlisted.push(...r.unlisted);
    out.made!.push(...(r.made ?? []));
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

function diagnosticAt(site: ReferenceSite, message: string): Diagnostic {
  return { severity: "warning", file: site.file.path, ...site.file.position(site.node), targetId: site.targetId, message: `image ${site.imageId}: ${message}` };
}
