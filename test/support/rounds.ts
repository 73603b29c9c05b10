import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { scratchDir } from "./tmp.js";

/**
 * A rule of the workspace's own whose reading renames the pictures its write-back comes before:
 * `pictures/rename` (a read, on the placeholder, free) answers a suffix and writes it into
 * pictures.yaml, and each picture's id carries that suffix. The pictures come after the reading
 * (`after`), so the build plans them again once it is written; the old ids are gone from that
 * plan, and nothing adds the new ones (only a chapter's specification grows a running build):
 * the build's next round plans the files as they are now and builds them. `pictures/keep` comes
 * after the reading too, under an id the reading does not change: planned again in place.
 */
export function renamingWorkspace(googlePrices = ""): string {
  const ws = scratchDir("chargen-rounds-");
  writeFileSync(join(ws, "pictures.yaml"), "pictures: [alpha, gamma]\n");
  writeFileSync(
    join(ws, "chargen.rules.ts"),
    `import { dataTarget } from "chargen";
const at = (file) => ({ file: file.path, line: 1, column: 1 });
const pictures = {
  name: "pictures",
  sources: ["pictures.yaml"],
  plan(file, ctx) {
    const doc = file.doc.toJSON();
    const suffix = doc.suffix ?? "";
    ctx.emit(dataTarget({ id: "pictures/rename", rule: "pictures", source: at(file), images: [], writeBack: {},
      read: { instructions: "Pick a suffix.", version: "1", texts: [{ label: "names", text: "alpha, gamma" }],
        schema: { name: "suffix", schema: { type: "object", properties: { suffix: { type: "string", enum: ["-2"] } }, required: ["suffix"] } } } }));
    for (const name of [...doc.pictures.map((p) => p + suffix), "keep"]) {
      ctx.emit({ id: "pictures/" + name, rule: "pictures", source: at(file), references: [], requested: {}, after: ["pictures/rename"],
        prompt: { compiler: "pictures/1", parts: [{ role: "scenario", text: "A picture of " + name }], negative: [] }, output: "pictures/" + name + ".png" });
    }
  },
  writeBack({ outcome, edit }) {
    if (outcome.answer) edit(outcome.target.source.file).set([], "suffix", outcome.answer.suffix);
  },
};
export default {
  rules: [pictures],
  routing: "rules",
  defaults: { provider: "google", model: "gemini-2.5-flash-image", read: { provider: "placeholder", model: "placeholder-1" } },
  // The reading is free and priced (an unpriced one would not start under --max-cost).
  prices: { placeholder: { "placeholder-1": { image: {}, tokens: { textInput: 0, imageInput: 0, textOutput: 0, imageOutput: 0 } } }, ${googlePrices} },
  providers: { google: { maxInFlight: 1, perMinute: 1000 } },
};
`,
  );
  return ws;
}
