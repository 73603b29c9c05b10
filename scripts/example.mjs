// `npm run example`: build the bundled example workspace offline. The first run copies
// examples/lantern-keepers to .example/lantern-keepers (gitignored) and builds there, so the
// tracked example stays pristine; later runs rebuild the copy incrementally: edit a prompt in
// .example/lantern-keepers and run it again.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const workspace = join(root, ".example", "lantern-keepers");
if (!existsSync(workspace)) {
  cpSync(join(root, "examples", "lantern-keepers"), workspace, { recursive: true, filter: (src) => !src.includes(".chargen") });
  console.log(`chargen example: copied examples/lantern-keepers to .example/lantern-keepers`);
}
// A copy made before the example had its own rules would now be routed to Gemini: give it them.
const rules = join(workspace, "chargen.rules.ts");
if (!existsSync(rules)) cpSync(join(root, "examples", "lantern-keepers", "chargen.rules.ts"), rules);
console.log(`chargen example: chargen build -C .example/lantern-keepers ${process.argv.slice(2).join(" ")}`);
const run = spawnSync(process.execPath, [join(root, "dist", "src", "cli.js"), "build", "-C", workspace, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(run.status ?? 1);
