import { isMap, isScalar, type Node } from "yaml";
import type { ReferenceInput } from "../graph/target.js";
import type { RuleContext } from "./api.js";
import { get, items, str } from "./yaml-access.js";

export interface InventoryImage {
  id: string;
  /** Workspace-relative path. */
  path: string;
  approved: boolean;
  isReferencePortrait: boolean;
}

/** A character's `image_inventory`, from `characters/<slug>/imagery.yaml` (paths there are relative to the character folder). */
export function characterInventory(ctx: RuleContext, slug: string): InventoryImage[] | undefined {
  const file = `characters/${slug}/imagery.yaml`;
  const src = ctx.readYaml(file);
  if (!src) return undefined;
  return items(src.doc.contents, "image_inventory")
    .filter((n) => isMap(n))
    .flatMap((n) => {
      const id = str(n, "id");
      const path = str(n, "path");
      if (!id || !path) return [];
      const portrait = get(n, "is_reference_portrait");
      return [
        {
          id,
          path: `characters/${slug}/${path.replace(/^\.\//, "")}`,
          approved: str(n, "status") === "approved",
          isReferencePortrait: isScalar(portrait) && portrait.value === true,
        },
      ];
    });
}

/** The character's identity reference: the flagged portrait, else the first approved image. */
export function referencePortrait(inventory: InventoryImage[]): InventoryImage | undefined {
  return inventory.find((i) => i.isReferencePortrait) ?? inventory.find((i) => i.approved);
}

export interface ResolvedReferences {
  references: ReferenceInput[];
  /** Ids that resolve to nothing, with why: the engine fails or warns per `missingReferences`. */
  unresolved: string[];
}

/**
 * Reference ids of one character -> image files, approved first, at most `max`. An id that
 * resolves to nothing is reported (file, line, image id, reference id), never dropped silently.
 */
export function resolveCharacterReferences(
  ctx: RuleContext,
  slug: string,
  ids: string[],
  max: number,
  where: { node: Node | undefined; line: number; column: number; imageId: string },
): ResolvedReferences {
  const inventory = characterInventory(ctx, slug);
  const unresolved: string[] = [];
  const found: InventoryImage[] = [];
  if (!inventory) {
    unresolved.push(`${slug}: no characters/${slug}/imagery.yaml`);
  } else if (ids.length === 0) {
    const portrait = referencePortrait(inventory);
    if (portrait) found.push(portrait);
    else unresolved.push(`${slug}: no reference portrait in characters/${slug}/imagery.yaml`);
  } else {
    for (const id of ids) {
      const image = inventory.find((i) => i.id === id);
      if (image) found.push(image);
      else unresolved.push(`${slug}: reference id "${id}" is not in characters/${slug}/imagery.yaml image_inventory`);
    }
  }
  for (const message of unresolved) {
    ctx.report({ severity: "warning", line: where.line, column: where.column, targetId: where.imageId, message: `image ${where.imageId}: ${message}` });
  }
  found.sort((a, b) => Number(b.approved) - Number(a.approved));
  return {
    references: found.slice(0, max).map((i) => ({ path: i.path, role: `character:${slug}`, assetId: i.id })),
    unresolved,
  };
}
