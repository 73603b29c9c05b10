/**
 * What the end-to-end provider tests share: fakes started (and stopped) per test, the environment
 * that points the CLI at them, workspace rules with test-sized rate limits, a generated
 * workspace of uniform chapter images, and a walk over every file of a workspace.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import type { FakeServer, LoggedRequest } from "../fakes/fake-server.js";
import { startGeminiFake } from "../fakes/gemini-fake.js";
import { startOpenAIFake } from "../fakes/openai-fake.js";
import { startWorkersAiFake, WORKERS_AI_ACCOUNT } from "../fakes/workers-ai-fake.js";
import { chargen, exampleWorkspace, ROOT } from "./cli.js";
import { scratchDir } from "./tmp.js";

export type RealProvider = "openai" | "google" | "workers-ai";

/** Distinctive, so that a grep for it over everything chargen printed and wrote cannot miss it. */
export const SECRET = "sk-test-SECRET-9f8e7d";

const running: FakeServer[] = [];
const workspaces: string[] = [];

/** A fake for `provider` on 127.0.0.1 that accepts only `SECRET`; stopped by `cleanUp`. */
export async function startFake(provider: RealProvider, rateLimit?: { limit: number; windowMs: number }): Promise<FakeServer> {
  const options = { apiKey: SECRET, ...(rateLimit ? { rateLimit } : {}) };
  const fake = provider === "openai" ? await startOpenAIFake(options) : provider === "google" ? await startGeminiFake(options) : await startWorkersAiFake(options);
  running.push(fake);
  return fake;
}

/** A copy of the example workspace, removed by `cleanUp`. */
export function scratchExample(): string {
  const ws = exampleWorkspace();
  workspaces.push(ws);
  return ws;
}

/** Stop every fake and remove every workspace the test made. */
export async function cleanUp(): Promise<void> {
  await Promise.all(running.splice(0).map((f) => f.stop()));
  for (const ws of workspaces.splice(0)) rmSync(ws, { recursive: true, force: true });
}

/** What a user sets to point chargen at a fake: the documented base-URL variable and the key. */
export function providerEnv(provider: RealProvider, fake: FakeServer | undefined, key: string | undefined = SECRET): Record<string, string> {
  const env: Record<string, string> = {};
  if (provider === "openai") {
    if (fake) env.OPENAI_BASE_URL = `${fake.url}/v1`;
    if (key) env.OPENAI_API_KEY = key;
  } else if (provider === "google") {
    if (fake) env.GOOGLE_GEMINI_BASE_URL = fake.url;
    if (key) env.GEMINI_API_KEY = key;
  } else {
    if (fake) env.CLOUDFLARE_API_BASE_URL = `${fake.url}/client/v4`;
    env.CLOUDFLARE_ACCOUNT_ID = WORKERS_AI_ACCOUNT;
    if (key) env.CLOUDFLARE_API_TOKEN = key;
  }
  return env;
}

/** Generation requests the fake received (uploads and anything else left out). */
export function generations(fake: FakeServer): LoggedRequest[] {
  return fake.calls().filter((e) => e.path.endsWith(":generateContent") || e.path.startsWith("/v1/images/") || e.path.includes("/ai/run/"));
}

export interface Limits {
  maxInFlight: number;
  perMinute: number;
  windowMs?: number;
}

/**
 * A workspace `chargen.rules.ts` that keeps chargen's default rules (the compiled top-level
 * chargen.rules.ts, exactly what a workspace without a rules file gets) and sets only the real
 * providers' limits. The built-in limits (OpenAI: 5 a minute) are right for a real account and
 * would make a 13-target build against a fake take minutes.
 */
export function withDefaultRules(ws: string, providers: Partial<Record<RealProvider, Limits>>): void {
  const defaults = JSON.stringify(join(ROOT, "dist", "chargen.rules.js"));
  writeFileSync(
    join(ws, "chargen.rules.ts"),
    `import base from ${defaults};\n` +
      `export default { ...base, providers: { ...base.providers, ...${JSON.stringify(providers)} } };\n`,
  );
}

export interface ChapterOptions {
  chapters: number;
  imagesPerChapter: number;
  quality?: string;
  /** Limits for the provider in the workspace rules. */
  limits: Limits;
  /** openai (gpt-image-1.5, the default) or google (gemini-2.5-flash-image). */
  provider?: RealProvider;
}

const CHAPTER_MODEL: Partial<Record<RealProvider, string>> = { openai: "gpt-image-1.5", google: "gemini-2.5-flash-image" };

/**
 * A workspace of `chapters` x `imagesPerChapter` chapter images for OpenAI gpt-image-1.5 (or
 * Gemini) at 1024x1024, each with its own ready prompt and no characters (so no references: every request
 * goes to /v1/images/generations). Only the chapter rule is used. Removed by `cleanUp`.
 */
export function chapterWorkspace(options: ChapterOptions): string {
  const ws = scratchDir("chargen-e2e-providers-");
  workspaces.push(ws);
  for (let c = 1; c <= options.chapters; c++) {
    const slug = `ch${String(c).padStart(2, "0")}`;
    const images = Array.from({ length: options.imagesPerChapter }, (_, i) => {
      const id = `${slug}-img-${String(i + 1).padStart(2, "0")}`;
      return [
        `  - custom_id: "${id}"`,
        `    size: "1024x1024"`,
        `    prompt_used: "Chapter ${c}, picture ${i + 1}: a lighthouse keeper's lantern seen from angle ${i * 36} degrees."`,
      ].join("\n");
    });
    mkdirSync(join(ws, "chapters", slug), { recursive: true });
    writeFileSync(
      join(ws, "chapters", slug, "imagery.yaml"),
      [
        "metadata:",
        `  slug: "${slug}"`,
        "  generation_defaults:",
        `    provider: "${options.provider ?? "openai"}"`,
        `    model: "${CHAPTER_MODEL[options.provider ?? "openai"]}"`,
        ...(options.quality ? [`    quality: "${options.quality}"`] : []),
        "images:",
        ...images,
        "",
      ].join("\n"),
    );
  }
  writeFileSync(
    join(ws, "chargen.rules.ts"),
    `import { chapterImages, defineRules } from "chargen";\n` +
      `export default defineRules({ rules: [chapterImages()], providers: { ${options.provider ?? "openai"}: ${JSON.stringify(options.limits)} } });\n`,
  );
  return ws;
}

/** Every file under `dir`, .chargen/ included: workspace-relative path -> bytes. */
export function everyFile(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export const isPng = (bytes: Buffer) => bytes.subarray(0, 8).equals(PNG_SIGNATURE);

export interface ListedTarget {
  id: string;
  output: string;
  references: string[];
}

/** `chargen targets --json`: what the build is expected to produce. */
export async function listTargets(ws: string): Promise<ListedTarget[]> {
  const r = await chargen(ws, ["targets", "--json"]);
  if (r.code !== 0) throw new Error(`chargen targets failed (${r.code}): ${r.stderr}`);
  return (JSON.parse(r.stdout) as { targets: ListedTarget[] }).targets;
}
