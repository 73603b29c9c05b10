/**
 * Where each target goes and why (src/rules/settings.ts): the built-in rules' routing as the
 * MemoryQuill history did, `routing: "files"`, the command line's overrides, no silent
 * placeholder, and models that cannot be served resolved at plan time.
 */
import { describe, expect, it } from "vitest";
import builtIn from "../chargen.rules.js";
import { ChargenError } from "../src/core/errors.js";
import { explainChange, keyOf, type KeyInputs } from "../src/model/keys.js";
import type { RequestedSettings } from "../src/model/target.js";
import type { RuleSet } from "../src/rules/api.js";
import { resolveSettings } from "../src/rules/settings.js";

const files: RuleSet = { ...builtIn, routing: "files" };

function userError(f: () => unknown): ChargenError {
  try {
    f();
  } catch (e) {
    if (e instanceof ChargenError && e.kind === "user") return e;
    throw e;
  }
  throw new Error("expected a user error");
}

describe("the built-in rules route as the MemoryQuill history did", () => {
  it.each<[RequestedSettings, string]>([
    [{ provider: "workers-ai", model: "flux-schnell" }, `; the YAML's workers-ai/flux-schnell is ignored (routing: "rules")`],
    [{ provider: "openai", model: "dall-e-3", quality: "hd" }, `; the YAML's openai/dall-e-3 is ignored (routing: "rules")`],
    [{ provider: "google", model: "imagen-3" }, `; the YAML's google/imagen-3 is ignored (routing: "rules")`],
    [{}, ""],
  ])("%j goes to google gemini-3-pro-image-preview, and the route says why", (requested, ignored) => {
    const r = resolveSettings(requested, builtIn);
    expect([r.settings.provider, r.settings.model]).toEqual(["google", "gemini-3-pro-image-preview"]);
    expect(r.route).toBe(`google/gemini-3-pro-image-preview: provider and model from the rules' defaults${ignored}`);
  });

  it("--provider and --model win over the routing, and say what they overrode", () => {
    expect(resolveSettings({ provider: "workers-ai", model: "flux-schnell" }, builtIn, { provider: "placeholder" }).route).toBe(
      `placeholder/placeholder-1: provider from --provider, model from placeholder's default model; the YAML's workers-ai/flux-schnell is ignored (routing: "rules")`,
    );
    const r = resolveSettings({ provider: "openai", model: "gpt-image-1.5" }, files, { model: "gpt-image-2" });
    expect([r.settings.provider, r.settings.model]).toEqual(["openai", "gpt-image-2"]);
    expect(r.route).toBe("openai/gpt-image-2: provider from the YAML, model from --model; the YAML's openai/gpt-image-1.5 is overridden by --model");
    expect(resolveSettings({}, builtIn, { provider: "openai", model: "gpt-image-1-mini" }).settings.model).toBe("gpt-image-1-mini");
  });
});

describe('routing: "files" honours the YAML', () => {
  it("maps the MemoryQuill Workers AI names to catalogue ids", () => {
    expect(resolveSettings({ provider: "workers-ai", model: "flux-schnell" }, files).settings.model).toBe("@cf/black-forest-labs/flux-1-schnell");
    const sdxl = resolveSettings({ provider: "workers-ai", model: "stable-diffusion-xl", size: "1792x768" }, files);
    expect(sdxl.settings).toMatchObject({ model: "@cf/stabilityai/stable-diffusion-xl-base-1.0", size: "1792x768" });
    expect(sdxl.route).toBe("workers-ai/@cf/stabilityai/stable-diffusion-xl-base-1.0: provider and model from the YAML");
    const wide = resolveSettings({ provider: "workers-ai", model: "stable-diffusion-xl", size: "4000x1000" }, files);
    expect(wide.settings.size).toBe("2048x512");
    expect(wide.adjustments).toEqual(["size 4000x1000 -> 2048x512 (@cf/stabilityai/stable-diffusion-xl-base-1.0 takes 256-2048 px a side, in steps of 8)"]);
    // FLUX.1 schnell renders one size.
    expect(resolveSettings({ provider: "workers-ai", model: "flux-schnell", size: "1024x1536" }, files).settings.size).toBeUndefined();
  });

  it("resolves retired and unserviceable ids through the built-in modelMap at plan time", () => {
    const dalle = resolveSettings({ provider: "openai", model: "dall-e-3", quality: "hd" }, files);
    expect(dalle.settings).toMatchObject({ provider: "openai", model: "gpt-image-1.5", quality: "high" });
    expect(dalle.route).toBe("openai/gpt-image-1.5: provider and model from the YAML; dall-e-3 -> gpt-image-1.5 by the rules' modelMap");
    expect(resolveSettings({ provider: "openai", model: "gpt-image-1" }, files).settings.model).toBe("gpt-image-1.5");
    const imagen = resolveSettings({ provider: "google", model: "imagen-3" }, files);
    expect([imagen.settings.provider, imagen.settings.model]).toEqual(["google", "gemini-3-pro-image-preview"]);
  });

  it("without a mapping, a model chargen cannot call is an error naming the mapping to add", () => {
    const bare: RuleSet = { rules: [], routing: "files" };
    expect(userError(() => resolveSettings({ provider: "google", model: "imagen-3" }, bare)).message).toBe(
      'model "imagen-3" (google) is an Imagen model, served only by the predict endpoint (generateImages), which chargen does not call; map it to a model chargen can call, in chargen.rules.ts: modelMap: { "imagen-3": "gemini-3-pro-image-preview" }',
    );
    expect(userError(() => resolveSettings({ provider: "openai", model: "dall-e-3" }, bare)).message).toBe(
      'model "dall-e-3" (openai) was retired on 2026-05-12; map it to a model chargen can call, in chargen.rules.ts: modelMap: { "dall-e-3": "gpt-image-1.5" }',
    );
    expect(userError(() => resolveSettings({ provider: "workers-ai", model: "@cf/black-forest-labs/flux-2-dev" }, bare)).message).toMatch(
      /^model "@cf\/black-forest-labs\/flux-2-dev" \(workers-ai\) takes multipart form input, which chargen does not send; map it/,
    );
  });

  it("names no placeholder: a target with no provider from anywhere is an error that says how to choose one", () => {
    const e = userError(() => resolveSettings({}, { rules: [] }));
    expect(e.details.field).toBe("provider");
    expect(e.message).toMatch(/^no provider: .*defaults: \{ provider: "google" \}.*--provider placeholder for an offline rehearsal/);
    expect(resolveSettings({ provider: "placeholder" }, { rules: [] }).settings.provider).toBe("placeholder");
  });
});

describe("Gemini generation settings", () => {
  const rules: RuleSet = { ...builtIn, defaults: { ...builtIn.defaults, generation: { temperature: 1, topK: 64 } } };

  it("merge field by field (entry and file over the rules) and are dropped, with a warning, where the provider takes none", () => {
    const r = resolveSettings({ generation: { temperature: 0.4, seed: 7 } }, rules);
    expect(r.settings.generation).toEqual({ temperature: 0.4, topK: 64, seed: 7 });
    const openai = resolveSettings({ generation: { temperature: 0.4 } }, rules, { provider: "openai" });
    expect(openai.settings.generation).toBeUndefined();
    expect(openai.adjustments).toContain("temperature, topK dropped (openai does not take them)");
    const workers = resolveSettings({ generation: { seed: 7, topP: 0.9 } }, { rules: [] }, { provider: "workers-ai" });
    expect(workers.settings.generation).toEqual({ seed: 7 });
  });

  it("a bad value is a user error naming its field", () => {
    expect(userError(() => resolveSettings({ generation: { temperature: "hot" as unknown as number } }, rules)).message).toBe('temperature must be a number from 0 to 2, got "hot"');
    expect(userError(() => resolveSettings({ generation: { topK: 1.5 } }, rules)).details.field).toBe("top_k");
    expect(userError(() => resolveSettings({ generation: { safetySettings: [{ category: "X" }] as never } }, rules)).details.field).toBe("safety_settings");
  });

  it("are part of the key only when set, and a change says which", () => {
    const inputs = (generation?: object): KeyInputs => ({
      compiler: "c1",
      prompt: { prompt: "p" },
      negative: "n",
      settings: { provider: "google", model: "gemini-3-pro-image-preview", format: "png", n: 1, ...(generation ? { generation } : {}) },
      refs: {},
    });
    expect(keyOf(inputs({ temperature: 0.4 }))).not.toBe(keyOf(inputs()));
    expect(keyOf(inputs({ temperature: 0.4 }))).not.toBe(keyOf(inputs({ temperature: 0.5 })));
    expect(explainChange(inputs({ temperature: 1, topK: 64 }), inputs({ temperature: 0.4, topK: 64, seed: 7 }))).toEqual(["seed (none) -> 7", "temperature 1 -> 0.4"]);
  });
});
