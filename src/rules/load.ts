import { readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, isAbsolute, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { digestText } from "../core/hash.js";
import { ChargenError } from "../core/errors.js";
import { codeStamp } from "../core/code-stamp.js";
import type { RuleSet } from "./api.js";
import type { ModelLimits } from "../providers/types.js";

export const RULES_FILES = ["chargen.rules.ts", "chargen.rules.mts", "chargen.rules.js", "chargen.rules.mjs"];

export interface LoadedRules {
  rules: RuleSet;
  /** Workspace-relative rules file, or undefined for the built-in defaults. */
  file: string | undefined;
  /** The workspace's own modules the rules file imported (not packages): workspace-relative, or absolute outside it. */
  modules: string[];
  /** Changes whenever the rules (or chargen's own rule code) may plan differently: invalidates the parse cache. */
  fingerprint: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const BUILT_IN_RULES = join(here, "..", "..", "chargen.rules.js");

/**
 * The workspace's `chargen.rules.ts` through jiti (with "chargen" mapped to this install, and
 * "chargen/rules" to its built-in rules, for a workspace that keeps them and changes a setting), or
 * chargen's own default rules. A rules file that fails to load is a user error naming it.
 */
export async function loadRules(root: string): Promise<LoadedRules> {
  const file = RULES_FILES.find((f) => statSync(join(root, f), { throwIfNoEntry: false })?.isFile());
  const code = codeStamp();
  if (!file) {
    const mod = (await import(BUILT_IN_RULES)) as { default: RuleSet };
    return { rules: mod.default, file: undefined, modules: [], fingerprint: digestText(`builtin\n${code}`) };
  }
  const path = join(root, file);
  let imported: { rules: unknown; loadedFiles: string[] };
  try {
    // One load at a time: each finds what it imported by comparing Node's module cache before and after.
    const load = lastLoad.then(() => importAfresh(path));
    lastLoad = load.catch(() => undefined);
    imported = await load;
  } catch (e) {
    throw new ChargenError("user", `${file} could not be loaded: ${(e as Error).message}`, { file });
  }
  const { rules, loadedFiles } = imported;
  validate(rules, file);
  const named = (f: string) => {
    const inside = relative(root, f);
    return inside.startsWith("..") || isAbsolute(inside) ? f : inside.split(sep).join("/");
  };
  const modules = loadedFiles.filter((f) => f !== path).map(named).sort();
  const texts = [file, ...modules].map((f) => `${f}\n${readFileSync(isAbsolute(f) ? f : join(root, f), "utf8")}`);
  return { rules, file, modules, fingerprint: digestText(`${texts.join("\n")}\n${code}`) };
}

let lastLoad: Promise<unknown> = Promise.resolve();

/**
 * The rules file through jiti, which keeps what it evaluates in Node's module cache: what the load
 * added there, outside node_modules, are the rules file and the modules it imported, whose text
 * plans too. Those are dropped again: watch mode reloads the rules and never gets one of them back
 * from an earlier load (packages stay loaded, as jiti's own modules do).
 */
async function importAfresh(path: string): Promise<{ rules: unknown; loadedFiles: string[] }> {
  const cache = createRequire(import.meta.url).cache;
  const cached = new Set(Object.keys(cache));
  const added = () => Object.keys(cache).filter((f) => !cached.has(f) && !f.includes(`${sep}node_modules${sep}`));
  try {
    const { createJiti } = await import("jiti");
    const jiti = createJiti(import.meta.url, { alias: { "chargen/rules": BUILT_IN_RULES, chargen: join(here, "..", "index.js") } });
    return { rules: await jiti.import(path, { default: true }), loadedFiles: added() };
  } finally {
    for (const f of added()) delete cache[f];
  }
}

function validate(rules: unknown, file: string): asserts rules is RuleSet {
  const fail = (why: string): never => {
    throw new ChargenError("user", `${file}: ${why} (export default defineRules({ rules: [...] }))`, { file });
  };
  if (!rules || typeof rules !== "object") fail("the default export is not a rule set");
  const list = (rules as { rules?: unknown }).rules;
  if (!Array.isArray(list)) fail("`rules` must be an array of rules");
  (list as unknown[]).forEach((r, i) => {
    const rule = r as Partial<{ name: unknown; sources: unknown; plan: unknown }>;
    if (!rule || typeof rule.name !== "string") fail(`rules[${i}] has no name`);
    if (!Array.isArray(rule.sources) || !rule.sources.every((s) => typeof s === "string")) fail(`rule "${String(rule.name)}" needs sources: string[]`);
    if (typeof rule.plan !== "function") fail(`rule "${String(rule.name)}" needs a plan(file, ctx) function`);
  });
  const names = (list as { name: string }[]).map((r) => r.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) fail(`two rules are named "${dup}"`);
  validateLimits(rules as RuleSet, file);
}

/** The rules' own limits per provider and model: a count of reference images is a positive integer. */
function validateLimits(rules: RuleSet, file: string): void {
  const check = (at: string, limits: ModelLimits | undefined) => {
    const value: unknown = limits?.maxReferenceImages;
    if (value === undefined || (Number.isInteger(value) && (value as number) > 0)) return;
    const field = `${at}.maxReferenceImages`;
    throw new ChargenError("user", `${file}: ${field} must be a positive integer (it is ${JSON.stringify(value)})`, { file, field });
  };
  for (const [provider, config] of Object.entries(rules.providers ?? {})) {
    check(`providers.${provider}`, config);
    for (const [model, limits] of Object.entries(config?.models ?? {})) check(`providers.${provider}.models.${model}`, limits);
  }
}
