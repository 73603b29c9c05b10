/**
 * One shared, frozen copy of equal values. Thousands of targets carry the same small values (a
 * character's reference images, the requested settings, a style section's digest): kept once each,
 * a plan's records take about half the memory. Frozen copies, so that no holder can change what others share.
 */
export class Interner {
  private readonly values = new Map<string, unknown>();
  private readonly texts = new Map<string, string>();

  /** The shared copy of a JSON value (objects, arrays of plain values). */
  value<T extends object>(value: T): T {
    const key = JSON.stringify(value);
    const seen = this.values.get(key);
    if (seen) return seen as T;
    // A copy: the caller's object may be a rule's, which it is free to change later.
    const copy = deepFreeze(JSON.parse(key) as T);
    this.values.set(key, copy);
    return copy;
  }

  /** The shared copy of a string. */
  text(text: string): string {
    const seen = this.texts.get(text);
    if (seen !== undefined) return seen;
    this.texts.set(text, text);
    return text;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
