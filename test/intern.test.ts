import { expect, test } from "vitest";
import { Interner } from "../src/core/intern.js";

test("equal values come back as one frozen copy; the caller's own object stays its own", () => {
  const interner = new Interner();
  const mine = { path: "characters/nell/portrait.png", role: "character:nell", nested: { a: 1 } };
  const shared = interner.value(mine);
  expect(shared).not.toBe(mine);
  expect(shared).toEqual(mine);
  expect(interner.value({ path: "characters/nell/portrait.png", role: "character:nell", nested: { a: 1 } })).toBe(shared);
  expect(Object.isFrozen(shared) && Object.isFrozen(shared.nested)).toBe(true);
  // A rule may change the object it emitted (for its next target): the shared copy does not follow.
  mine.role = "style";
  expect(shared.role).toBe("character:nell");
  expect(interner.value(mine)).not.toBe(shared);
  expect(interner.text("ab".repeat(3))).toBe(interner.text("ababab"));
});
