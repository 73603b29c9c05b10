import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fs } from "./builtins.js";
import { VERSION } from "./version.js";

const { readdirSync, statSync } = fs;

// dist/src: this file is dist/src/core/code-stamp.js.
const here = join(dirname(fileURLToPath(import.meta.url)), "..");

let stamp: string | undefined;

/**
 * chargen's version plus the stamps of its compiled code (dist/src and the default rules), so that
 * upgrading or rebuilding chargen re-plans every source instead of trusting what older code
 * produced. Stats only: cheap enough for the no-op path.
 */
export function codeStamp(): string {
  if (stamp !== undefined) return stamp;
  const lines = [VERSION];
  const walk = (dir: string) => {
    // Code-unit order, not localeCompare: collation loads ICU, several milliseconds of a no-op check.
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".js")) {
        const st = statSync(path);
        lines.push(`${path.slice(here.length)}:${st.size}:${st.mtimeMs}`);
      }
    }
  };
  walk(here);
  const rules = statSync(join(here, "..", "chargen.rules.js"), { throwIfNoEntry: false });
  lines.push(`default-rules:${rules?.size}:${rules?.mtimeMs}`);
  return (stamp = lines.join("\n"));
}
