import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fs } from "./builtins.js";

const { existsSync, readFileSync } = fs;

/** The nearest package.json above this module: chargen's own, from src/core/ (tests) or dist/src/core/ (built). */
function packageJson(): URL {
  for (let url = new URL("../package.json", import.meta.url); ; url = new URL("../package.json", url)) {
    if (existsSync(url)) return url;
    if (url.pathname === "/package.json") throw new Error("chargen's package.json not found");
  }
}

/** chargen's compiled code, dist/src: this module is dist/src/core/version.js. */
export const CODE_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** chargen's own version, from its package.json. */
export const VERSION: string = (JSON.parse(readFileSync(packageJson(), "utf8")) as { version: string }).version;
