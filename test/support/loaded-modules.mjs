// Preloaded with `node --import` (through NODE_OPTIONS): prints, as the process exits, which of
// chargen's compiled modules it loaded, as `[modules] cli.js cli/main.js ...` on stderr, and
// whether Node's promise API for files was loaded (`[fs.promises] no`).
import { registerHooks } from "node:module";

const loaded = [];
registerHooks({
  load(url, context, next) {
    const inDist = /\/dist\/src\/(.+)$/.exec(url);
    if (inDist) loaded.push(inDist[1]);
    return next(url, context);
  },
});
process.on("exit", () => {
  const promises = process.moduleLoadList.includes("NativeModule internal/fs/promises");
  process.stderr.write(`[modules] ${loaded.join(" ")}\n[fs.promises] ${promises ? "yes" : "no"}\n`);
});
