import { join } from "node:path";
import { fs } from "./builtins.js";
import { CODE_ROOT, VERSION } from "./version.js";

const { readdirSync, statSync } = fs;

const DEFAULT_RULES = join(CODE_ROOT, "..", "chargen.rules.js");

/**
 * chargen's compiled code, as absolute paths: the folders under dist/src (a module added or
 * removed changes its folder), their modules, and the default rules (present or not).
 */
export function codeFiles(): string[] {
  const paths: string[] = [];
  const walk = (dir: string) => {
    paths.push(dir);
    // Code-unit order, not localeCompare: collation loads ICU, several milliseconds.
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".js")) paths.push(path);
    }
  };
  walk(CODE_ROOT);
  return [...paths, DEFAULT_RULES];
}

let stamp: string | undefined;

/**
 * chargen's version plus the stamps of its compiled code (dist/src and the default rules), so that
 * upgrading or rebuilding chargen re-plans every source instead of trusting what older code
 * produced. Stats only.
 */
export function codeStamp(): string {
  if (stamp !== undefined) return stamp;
  const lines = [VERSION];
  for (const path of codeFiles()) {
    const st = statSync(path, { throwIfNoEntry: false });
    if (path === DEFAULT_RULES) lines.push(`default-rules:${st?.size}:${st?.mtimeMs}`);
    else if (st?.isFile()) lines.push(`${path.slice(CODE_ROOT.length)}:${st.size}:${st.mtimeMs}`);
  }
  return (stamp = lines.join("\n"));
}
