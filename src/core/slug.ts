/** Path-safe ids from titles, so that target ids survive reordering (an index would not). */

/** "Mercy and Judgment (Close-up)" -> "mercy-and-judgment-close-up"; undefined when nothing is left. */
export function slugify(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const slug = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "") // accents: "Faerûn" -> "faerun"
    .toLowerCase()
    .replace(/['’`]/g, "") // "Cid's" -> "cids", not "cid-s"
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return slug || undefined;
}

/**
 * Hands out ids unique within one scope, in document order: the second "healing-light" becomes
 * "healing-light-2". Deterministic for a given file; the caller reports every renamed duplicate,
 * because its id then depends on order.
 */
export class SlugScope {
  private readonly taken = new Map<string, number>();

  /** The id to use for `slug`, and the id it collided with when it had to be renamed. */
  claim(slug: string): { id: string; duplicateOf?: string } {
    if (!this.taken.has(slug)) {
      this.taken.set(slug, 1);
      return { id: slug };
    }
    let n = this.taken.get(slug)!;
    let id: string;
    do id = `${slug}-${++n}`;
    while (this.taken.has(id));
    this.taken.set(slug, n);
    this.taken.set(id, 1);
    return { id, duplicateOf: slug };
  }
}
