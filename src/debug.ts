/**
 * `CHARGEN_DEBUG=stats` prints, on exit, how much work a command did (YAML files parsed, files
 * hashed, provider modules loaded): how a no-op build is shown, and tested, to do none of it.
 */
const enabled = process.env.CHARGEN_DEBUG?.split(",").includes("stats") ?? false;
const counters = new Map<string, number>();

export function count(name: string): void {
  if (enabled) counters.set(name, (counters.get(name) ?? 0) + 1);
}

if (enabled) {
  process.on("exit", () => {
    const names = ["yaml.parsed", "file.hashed", "provider.loaded"];
    process.stderr.write(`[stats] ${names.map((n) => `${n}=${counters.get(n) ?? 0}`).join(" ")}\n`);
  });
}
