/**
 * Node's `fs` and `util` for the modules a no-op check loads. `import ... from "node:fs"` in an ES
 * module makes Node build that module's ES facade, which reads every export, the lazy
 * `fs.promises` among them, and so loads the promise API and the streams; `node:util` likewise:
 * together about 15 ms of a no-op check that takes about 100. `process.getBuiltinModule` hands
 * over the module itself. Modules off the fast path import them as usual.
 */
export const fs = process.getBuiltinModule("node:fs");
export const util = process.getBuiltinModule("node:util");
