import { join } from "node:path";
import { freshContext, replayFresh } from "../cache/fresh-stamp.js";
import { fs } from "../core/builtins.js";
import { formatDiagnostic } from "../core/errors.js";
import { printable } from "../report/escape.js";
import { formatSummary, summarise } from "../report/report.js";
import type { BuildOptions } from "./build.js";

const { existsSync } = fs;

/** `.chargen/`, spelt here too: this module must not import the workspace modules it saves loading. */
const CACHE_DIR = ".chargen";

/**
 * A no-op `build`, `build --check` or `--dry-run`, answered from the stamps the last all-fresh
 * plan recorded (see cache/fresh-stamp.ts), loading nothing else. Undefined: plan for real.
 */
export async function fastPath(options: BuildOptions, startedAt: number): Promise<number | undefined> {
  // The JSON report lists every target, which the record does not keep.
  if (options.json || !existsSync(join(options.root, CACHE_DIR))) return undefined;
  const result = replayFresh(options.root, CACHE_DIR, freshContext(options));
  if (!result) return undefined;
  // CHARGEN_DEBUG=stats shows that a replay did no work: its counters print at exit.
  if (process.env.CHARGEN_DEBUG) await import("../core/debug.js");
  const errors = result.diagnostics.some((d) => d.severity === "error");
  const exitCode = errors ? 2 : 0;
  for (const d of result.diagnostics) options.err(printable(formatDiagnostic(d)) + "\n");
  // Every target fresh: counted without a list of them (10,000 objects at 10,000 targets).
  const summary = { ...summarise([], result.diagnostics, { providerCalls: 0, durationMs: Date.now() - startedAt, exitCode }), total: result.total, fresh: result.total };
  const command = options.mode === "check" ? "check" : options.mode;
  options.out(formatSummary({ command, targets: [], diagnostics: result.diagnostics, summary }) + "\n");
  return exitCode;
}
