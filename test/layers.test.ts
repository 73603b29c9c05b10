import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/cli.js";
import { scratchDir } from "./support/tmp.js";

/** The layering rules of .dependency-cruiser.cjs (npm test runs them on src/ too), on a small tree of their own. */
function cruise(files: Record<string, string>): { code: number | null; out: string } {
  const dir = scratchDir("chargen-layers-");
  copyFileSync(join(ROOT, ".dependency-cruiser.cjs"), join(dir, ".dependency-cruiser.cjs"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruiser.mjs"), "src", "--output-type", "err"], { cwd: dir, encoding: "utf8" });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("the layers", () => {
  it("a lower layer importing a higher one fails, type-only imports included", () => {
    const r = cruise({
      "src/commands/build.ts": "export interface BuildOptions { jobs: number }\n",
      "src/core/errors.ts": 'import type { BuildOptions } from "../commands/build.js";\nexport type Where = BuildOptions;\n',
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain("error layer-core: src/core/errors.ts → src/commands/build.ts");
  });

  it("a higher layer importing a lower one passes; a cycle inside a folder fails", () => {
    expect(cruise({ "src/core/errors.ts": "export const a = 1;\n", "src/commands/build.ts": 'import { a } from "../core/errors.js";\nexport const b = a;\n' }).code).toBe(0);
    const cycle = cruise({ "src/graph/a.ts": 'import { b } from "./b.js";\nexport const a = () => b;\n', "src/graph/b.ts": 'import { a } from "./a.js";\nexport const b = () => a;\n' });
    expect(cycle.code).not.toBe(0);
    expect(cycle.out).toContain("error no-circular");
  });

  it("chargen's own sources keep them", () => {
    const r = spawnSync(process.execPath, [join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruiser.mjs"), "src", "--output-type", "err"], { cwd: ROOT, encoding: "utf8" });
    expect(r.stdout).toContain("no dependency violations found");
    expect(r.status).toBe(0);
  });
});
