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
  // Code-unit order, not localeCompare: collation loads ICU, a tenth of a no-op check's time.
  const files = readdirSync(here, { recursive: true, encoding: "utf8" }).filter((name) => name.endsWith(".js")).sort();
  for (const name of files) {
    const st = statSync(join(here, name));
    lines.push(`${name}:${st.size}:${st.mtimeMs}`);
  }
  const rules = statSync(join(here, "..", "chargen.rules.js"), { throwIfNoEntry: false });
  lines.push(`default-rules:${rules?.size}:${rules?.mtimeMs}`);
  return (stamp = lines.join("\n"));
}
