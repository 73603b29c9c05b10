import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadRules } from "../src/rules/load.js";
import { scratchDir } from "./support/tmp.js";

/** A rules file that imports a module of the workspace. */
function workspace(): string {
  const root = scratchDir("rules-load");
  mkdirSync(join(root, "rules"));
  writeFileSync(join(root, "rules", "helpers.ts"), 'export const NAME = "from a helper";\n');
  writeFileSync(
    join(root, "chargen.rules.ts"),
    'import { NAME } from "./rules/helpers";\nexport default { rules: [{ name: NAME, sources: ["*.yaml"], plan: () => [] }] };\n',
  );
  return root;
}

describe("loading the rules file", () => {
  it("names the modules it imports, and loads overlapping in time (a pipelined re-plan) agree with one alone", async () => {
    const root = workspace();
    const alone = await loadRules(root);
    expect(alone.modules).toEqual(["rules/helpers.ts"]);
    expect(alone.rules.rules[0]!.name).toBe("from a helper");
    const [a, b] = await Promise.all([loadRules(root), loadRules(root)]);
    for (const loaded of [a, b]) {
      expect(loaded.modules).toEqual(alone.modules);
      expect(loaded.fingerprint).toBe(alone.fingerprint);
    }
  });
});
