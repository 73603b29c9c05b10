/**
 * Routing through the CLI: the files' provider fields honoured with `routing: "files"`, retired
 * and unserviceable model ids resolved at plan time (never a request to an endpoint that cannot
 * serve them), `why` naming the route, and Gemini's generation settings in the key.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { buildJson, chargen, CH1, edit, ROOT } from "./support/cli.js";
import { cleanUp, generations, providerEnv, scratchExample, startFake } from "./support/e2e-providers.js";
import { scratchDir } from "./support/tmp.js";

afterEach(cleanUp);

/**
 * Two chapters whose generation_defaults name what the MemoryQuill chapter and location files
 * name: openai/dall-e-3 (retired) and google/imagen-3 (predict endpoint only), with rules that
 * keep the built-in ones and honour the files' fields.
 */
function memoryQuillLike(rulesBody: string): string {
  const ws = scratchDir("chargen-e2e-routing-");
  const chapter = (slug: string, provider: string, model: string) => {
    mkdirSync(join(ws, "chapters", slug), { recursive: true });
    writeFileSync(
      join(ws, "chapters", slug, "imagery.yaml"),
      [
        "metadata:",
        `  slug: "${slug}"`,
        "  generation_defaults:",
        `    provider: "${provider}"`,
        `    model: "${model}"`,
        '    quality: "hd"',
        "images:",
        `  - custom_id: "${slug}-img-01"`,
        '    size: "1024x1024"',
        `    prompt_used: "A tide bell on a post, ${slug}."`,
        "",
      ].join("\n"),
    );
  };
  chapter("ch01", "openai", "dall-e-3");
  chapter("ch02", "google", "imagen-3");
  const builtIn = JSON.stringify(join(ROOT, "dist", "chargen.rules.js"));
  const fast = `providers: { openai: { maxInFlight: 2, perMinute: 600 }, google: { maxInFlight: 2, perMinute: 600 } }`;
  writeFileSync(join(ws, "chargen.rules.ts"), `import builtIn from ${builtIn};\nexport default { ...builtIn, routing: "files", ${fast}, ${rulesBody} };\n`);
  return ws;
}

describe("routing through the CLI", () => {
  it('routing "files" with the built-in modelMap: dall-e-3 and imagen-3 are served by current models, never asked for', async () => {
    const ws = memoryQuillLike("");
    const openai = await startFake("openai");
    const google = await startFake("google");
    const env = { ...providerEnv("openai", openai), ...providerEnv("google", google) };

    const explained = await chargen(ws, ["build", "--dry-run", "--explain"]);
    expect(explained.stdout).toContain("         route: openai/gpt-image-1.5: provider and model from the YAML; dall-e-3 -> gpt-image-1.5 by the rules' modelMap\n");
    expect(explained.stdout).toContain("         route: google/gemini-3-pro-image-preview: provider and model from the YAML; imagen-3 -> gemini-3-pro-image-preview by the rules' modelMap\n");

    const r = await buildJson(ws, [], env);
    expect(r.code).toBe(0);
    expect(r.report.summary).toMatchObject({ built: 2, failed: 0, providerCalls: 2 });
    expect(generations(openai).map((e) => [e.path, (e.body as { model: string }).model])).toEqual([["/v1/images/generations", "gpt-image-1.5"]]);
    expect(generations(google).map((e) => e.path)).toEqual(["/v1beta/models/gemini-3-pro-image-preview:generateContent"]);

    const why = await chargen(ws, ["why", "chapters/ch01/ch01-img-01"]);
    expect(why.stdout).toContain("route:   openai/gpt-image-1.5: provider and model from the YAML; dall-e-3 -> gpt-image-1.5 by the rules' modelMap\n");
  });

  it("without a mapping: a plan-time error naming the mapping to add, exit 2, and no request", async () => {
    const ws = memoryQuillLike("modelMap: {}");
    const openai = await startFake("openai");
    const google = await startFake("google");
    const env = { ...providerEnv("openai", openai), ...providerEnv("google", google) };

    for (const args of [["--check"], ["--dry-run"], []]) {
      const r = await buildJson(ws, args, env);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.report.diagnostics.map((d: { file: string; message: string }) => `${d.file}: ${d.message}`)).toEqual([
        'chapters/ch01/imagery.yaml: model "dall-e-3" (openai) was retired on 2026-05-12; map it to a model chargen can call, in chargen.rules.ts: modelMap: { "dall-e-3": "gpt-image-1.5" }',
        'chapters/ch02/imagery.yaml: model "imagen-3" (google) is an Imagen model, served only by the predict endpoint (generateImages), which chargen does not call; map it to a model chargen can call, in chargen.rules.ts: modelMap: { "imagen-3": "gemini-3-pro-image-preview" }',
      ]);
    }
    expect(openai.log).toHaveLength(0);
    expect(google.log).toHaveLength(0);
  });

  it("--model picks the model for every target, and the fast path does not replay a plan made without it", async () => {
    const ws = scratchExample();
    expect((await buildJson(ws, [])).code).toBe(0);
    expect((await buildJson(ws, ["--check"])).code).toBe(0);
    const check = await buildJson(ws, ["--check", "--provider", "openai", "--model", "gpt-image-2"]);
    expect(check.code).toBe(1);
    expect(new Set(check.report.targets.map((t: { model: string }) => t.model))).toEqual(new Set(["gpt-image-2"]));
    // A target with no upstream says why (a chapter image first waits on the image of its place, stale too).
    expect(check.report.targets.find((t: { id: string }) => t.id === "locations/heron-point-light/overview").reasons).toContain("model placeholder-1 -> gpt-image-2");
  });

  it("a generation setting in a file's generation_defaults is keyed: exactly that file's targets go stale, saying which", async () => {
    const ws = scratchExample();
    expect((await buildJson(ws, [])).code).toBe(0);
    edit(join(ws, CH1, "imagery.yaml"), '    quality: "standard"\n', '    quality: "standard"\n    temperature: 0.4\n');
    const check = await buildJson(ws, ["--check"]);
    expect(check.code).toBe(1);
    const stale = check.report.targets.filter((t: { status: string }) => t.status !== "fresh");
    expect(stale.map((t: { id: string }) => t.id).every((id: string) => id.startsWith(`${CH1}/`))).toBe(true);
    expect(stale).toHaveLength(3);
    for (const t of stale) expect(t.reasons).toEqual(["temperature (none) -> 0.4"]);
    // Rebuilt once, then fresh.
    const rebuilt = await buildJson(ws, []);
    expect(rebuilt.report.summary).toMatchObject({ built: 3 });
    expect((await buildJson(ws, ["--check"])).code).toBe(0);
  });
});
