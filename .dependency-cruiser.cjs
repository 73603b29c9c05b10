/**
 * chargen's layers, bottom-up: a folder may import its own layer and the layers below, never one
 * above. `npm test` runs this (depcruise src); README "Layout" draws the same picture.
 * Type-only imports count too: layering is about what a reader must know first.
 */
const LAYERS = [
  ["core"], // errors, clock, hashing, atomic writes, the pool, the workspace boundary, signals
  ["model"], // targets, model settings, the Prompt IR, key inputs
  ["yaml", "providers", "cache"], // YAML access and editing; providers and their hub; hashes, stores, the lock
  ["story"], // books read into chapters; story-reading instructions, answer schemas, their write-back
  ["rules", "batch"], // the rules API and built-in rules; batch engines and the job machine
  ["graph"], // analysis, DAG, staleness decision, keys, budget, executor
  ["workspace"], // opening and planning a workspace, the applier, the build lock
  ["adopt", "report", "watch"], // recorded history, reporters, the watcher's machine
  ["commands"], // build, adopt / accept, batch, targets / why / show, gc, watch
  ["cli"], // the CLI contract
];

const folders = (layer) => `^src/(${layer.join("|")})/`;

module.exports = {
  forbidden: [
    ...LAYERS.slice(0, -1).map((layer, i) => ({
      name: `layer-${layer.join("-")}`,
      comment: `${layer.join(", ")} may not import a higher layer (${LAYERS.slice(i + 1).flat().join(", ")})`,
      severity: "error",
      from: { path: folders(layer) },
      to: { path: folders(LAYERS.slice(i + 1).flat()) },
    })),
    {
      name: "no-circular",
      comment: "no module cycles, within a folder either",
      severity: "error",
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    // TypeScript 7 has no compiler API for the cruiser: swc parses the sources.
    parser: "swc",
    tsPreCompilationDeps: true,
  },
};
