import { readFileSync } from "node:fs";

/** chargen's own version, from its package.json (dist/src/core/version.js -> ../../../package.json). */
export const VERSION: string = (JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as { version: string }).version;
