import { describe, expect, it } from "vitest";
import { PNG } from "pngjs";
import jpeg from "jpeg-js";
import type { Clock } from "../src/core/clock.js";
import { ChargenError } from "../src/core/errors.js";
import { PROVIDERS } from "../src/providers/catalog.js";
import placeholder, { imageSize, readConfig } from "../src/providers/placeholder.js";
import { backgroundColour, promptLines, wrapText } from "../src/providers/placeholder-image.js";
import type { ImageRequest, Provider } from "../src/providers/types.js";

const request = (overrides: Partial<ImageRequest> = {}): ImageRequest => ({
  targetId: "lantern-keeper/portrait",
  key: "9f3ab27c41d0e8aa",
  prompt: "A weathered lighthouse keeper with a brass lantern, standing on wet rocks at dusk",
  negativePrompt: "",
  model: "placeholder-1",
  format: "png",
  references: [],
  signal: new AbortController().signal,
  ...overrides,
});

const provider = (options: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}, clock?: Clock): Provider =>
  placeholder.create({ env, options, ...(clock ? { clock } : {}) });

/** A clock whose sleeps are recorded and end only when the test says (or their signal aborts). */
function manualClock() {
  const sleeps: number[] = [];
  const wakers: (() => void)[] = [];
  const clock: Clock = {
    now: () => 0,
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        sleeps.push(ms);
        wakers.push(resolve);
        signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      }),
  };
  return { clock, sleeps, wakeAll: () => wakers.splice(0).forEach((wake) => wake()) };
}

const decodePng = (bytes: Uint8Array) => PNG.sync.read(Buffer.from(bytes));

/** The settled outcome of a promise, for asserting on rejections without try/catch. */
async function outcome<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}

describe("placeholder module", () => {
  it("has its defaults in the catalog and prices everything at zero", () => {
    const info = PROVIDERS.placeholder!;
    expect(info.defaultModel).toBe("placeholder-1");
    expect(info.limits).toEqual({ maxInFlight: 8, perMinute: 6000 });
    expect(info.price({ provider: "placeholder", model: "placeholder-1", format: "png", n: 1, size: "512x512" })).toBe(0);
    expect(provider().name).toBe("placeholder");
  });

  it("returns a zero-cost result with a key-derived seed", async () => {
    const result = await provider().generate(request());
    expect(result.mimeType).toBe("image/png");
    expect(result.costUsd).toBe(0);
    expect(result.usage).toEqual({});
    expect(result.metadata.provider).toBe("placeholder");
    expect(typeof result.metadata.seed).toBe("number");
    const other = await provider().generate(request({ key: "0000aaaa1111bbbb" }));
    expect(other.metadata.seed).not.toBe(result.metadata.seed);
  });
});

describe("image size", () => {
  it.each([
    [{ size: { width: 1792, height: 768 } }, 1792, 768],
    [{ size: { width: 300, height: 500 } }, 300, 500],
    [{ aspectRatio: "3:4" }, 768, 1024],
    [{ aspectRatio: "16:9" }, 1024, 576],
    [{ aspectRatio: "1:1" }, 1024, 1024],
    [{}, 1024, 1024],
  ])("png %j is %ix%i", async (extra, width, height) => {
    const { bytes } = await provider().generate(request(extra));
    const png = decodePng(bytes);
    expect([png.width, png.height]).toEqual([width, height]);
  });

  it.each([
    [{ size: { width: 640, height: 480 } }, 640, 480],
    [{ aspectRatio: "2:3" }, 683, 1024],
    [{}, 1024, 1024],
  ])("jpeg %j is %ix%i", async (extra, width, height) => {
    const result = await provider().generate(request({ ...extra, format: "jpeg" }));
    expect(result.mimeType).toBe("image/jpeg");
    const image = jpeg.decode(result.bytes, { useTArray: true });
    expect([image.width, image.height]).toEqual([width, height]);
  });

  it("the size wins over the aspect ratio", () => {
    expect(imageSize({ size: { width: 10, height: 20 }, aspectRatio: "16:9" })).toEqual({ width: 10, height: 20 });
  });

  it("rejects malformed sizes and ratios as target errors", () => {
    expect(() => imageSize({ aspectRatio: "wide" })).toThrow(ChargenError);
    expect(() => imageSize({ size: { width: 0, height: 10 } })).toThrow(/size/);
    expect(() => imageSize({ size: { width: 100_000, height: 10 } })).toThrow(/size/);
  });
});

describe("picture", () => {
  it("is deterministic, and depends on the key", async () => {
    const a = await provider().generate(request());
    const b = await provider().generate(request());
    const c = await provider().generate(request({ key: "0000aaaa1111bbbb" }));
    expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    expect(Buffer.from(a.bytes).equals(Buffer.from(c.bytes))).toBe(false);
    const j1 = await provider().generate(request({ format: "jpeg" }));
    const j2 = await provider().generate(request({ format: "jpeg" }));
    expect(Buffer.from(j1.bytes).equals(Buffer.from(j2.bytes))).toBe(true);
  });

  it("shows the reference count", async () => {
    const none = await provider().generate(request());
    const refs = await provider().generate(
      request({ references: [{ path: "refs/a.png", bytes: new Uint8Array(), mimeType: "image/png", role: "style" }] }),
    );
    expect(Buffer.from(none.bytes).equals(Buffer.from(refs.bytes))).toBe(false);
  });

  it("has the key's colour in the top corners", async () => {
    for (const key of ["9f3ab27c41d0e8aa", "0000aaaa1111bbbb", "ffffffffffffffff"]) {
      const png = decodePng((await provider().generate(request({ key, size: { width: 400, height: 300 } }))).bytes);
      const { r, g, b } = backgroundColour(key);
      for (const x of [0, png.width - 1]) {
        const i = x * 4;
        expect([...png.data.subarray(i, i + 4)]).toEqual([r, g, b, 255]);
      }
    }
  });

  it("draws text in the middle band and none near the top edge", async () => {
    const png = decodePng((await provider().generate(request({ size: { width: 1792, height: 768 } }))).bytes);
    // Backgrounds and the frame stay below 200 in some channel; the text is near white.
    const bright = (y0: number, y1: number) => {
      let count = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = 0; x < png.width; x++) {
          const i = (y * png.width + x) * 4;
          if (png.data[i]! > 200 && png.data[i + 1]! > 200 && png.data[i + 2]! > 200) count++;
        }
      }
      return count;
    };
    expect(bright(Math.floor(png.height * 0.3), Math.floor(png.height * 0.7))).toBeGreaterThan(1000);
    expect(bright(0, 10)).toBe(0);
  });

  it("renders a 1792x768 png", async () => {
    const png = decodePng((await provider().generate(request({ size: { width: 1792, height: 768 } }))).bytes);
    expect([png.width, png.height]).toEqual([1792, 768]);
  });

  it("refuses webp as a target error", async () => {
    const result = await outcome(provider().generate(request({ format: "webp" })));
    expect(result.ok).toBe(false);
    const error = (result as { error: unknown }).error;
    expect(error).toBeInstanceOf(ChargenError);
    expect((error as ChargenError).kind).toBe("target");
    expect((error as ChargenError).message).toMatch(/placeholder renders png and jpeg/);
  });
});

describe("text layout", () => {
  it("wraps words and cuts long text with an ellipsis", () => {
    expect(wrapText("A BB CCC DDDD", 6, 3)).toEqual(["A BB", "CCC", "DDDD"]);
    expect(wrapText("A BB CCC DDDD EEEEE", 6, 3)).toEqual(["A BB", "CCC", "DDD..."]);
    expect(wrapText("ABCDEFGHIJ", 4, 3)).toEqual(["ABCD", "EFGH", "IJ"]);
  });

  it("shows about 60 prompt characters on at most 3 lines, in the font's alphabet", () => {
    const lines = promptLines("x".repeat(10) + " é ~ " + "word ".repeat(40));
    expect(lines.length).toBeLessThanOrEqual(3);
    expect(lines[0]).toBe("XXXXXXXXXX E ? WORD WORD");
    expect(lines.join(" ").length).toBeLessThanOrEqual(62);
    expect(lines.at(-1)).toMatch(/\.\.\.$/);
  });
});

describe("simulated failures", () => {
  it.each(["retryable", "target", "provider"] as const)("failureRate 1 fails with kind %s", async (kind) => {
    const result = await outcome(provider({ failureRate: 1, failureKind: kind }).generate(request()));
    expect(result.ok).toBe(false);
    const error = (result as { error: unknown }).error;
    expect(error).toBeInstanceOf(ChargenError);
    expect((error as ChargenError).kind).toBe(kind);
  });

  it("fails by default with kind retryable", async () => {
    const result = await outcome(provider({ failureRate: 1 }).generate(request()));
    expect((result as { error: ChargenError }).error.kind).toBe("retryable");
  });

  it("failureRate 0.5 fails a deterministic half, and retries roll again", async () => {
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`);
    const run = async () => {
      const p = provider({ failureRate: 0.5 });
      const first = await Promise.all(keys.map((key) => outcome(p.generate(request({ key, size: { width: 8, height: 8 } })))));
      const failed = keys.filter((_, i) => !first[i]!.ok);
      const second = await Promise.all(failed.map((key) => outcome(p.generate(request({ key, size: { width: 8, height: 8 } })))));
      return { failed, recovered: second.filter((r) => r.ok).length };
    };
    const a = await run();
    const b = await run();
    expect(a.failed.length).toBeGreaterThan(70);
    expect(a.failed.length).toBeLessThan(130);
    // Pinned: the dice are a fixed hash of key and attempt, so these change only if the hash does.
    expect(a.failed.length).toBe(105);
    expect(a.recovered).toBe(50);
    // A fresh provider instance replays the same dice.
    expect(b).toEqual(a);
  });

  it("the environment overrides the rules options", async () => {
    const result = await outcome(
      provider({ failureRate: 0, latencyMs: 60_000 }, { CHARGEN_PLACEHOLDER_FAILURE_RATE: "1", CHARGEN_PLACEHOLDER_LATENCY_MS: "0" })
        .generate(request()),
    );
    expect((result as { error: ChargenError }).error.kind).toBe("retryable");
    const config = readConfig({ env: { CHARGEN_PLACEHOLDER_LATENCY_MS: "20-80" }, options: { latencyMs: 5 } });
    expect(config.latencyMs).toEqual([20, 80]);
    expect(readConfig({ env: {}, options: { latencyMs: [3, 9] } }).latencyMs).toEqual([3, 9]);
  });

  it("rejects bad options as user errors", () => {
    const kind = (options: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
      try {
        readConfig({ env, options });
        return "ok";
      } catch (e) {
        return (e as ChargenError).kind;
      }
    };
    expect(kind({ failureRate: 2 })).toBe("user");
    expect(kind({ failureKind: "user" })).toBe("user");
    expect(kind({ latencyMs: [10, 5] })).toBe("user");
    expect(kind({ latencyMs: "fast" })).toBe("user");
    expect(kind({}, { CHARGEN_PLACEHOLDER_FAILURE_RATE: "lots" })).toBe("user");
    expect(kind({}, { CHARGEN_PLACEHOLDER_LATENCY_MS: "-5" })).toBe("user");
  });
});

describe("latency", () => {
  it("waits for the configured latency on its clock, and answers only after it", async () => {
    const { clock, sleeps, wakeAll } = manualClock();
    let answered = false;
    const pending = provider({ latencyMs: 50 }, {}, clock)
      .generate(request({ size: { width: 8, height: 8 } }))
      .then((result) => ((answered = true), result));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sleeps).toEqual([50]);
    expect(answered).toBe(false);
    wakeAll();
    expect(decodePng((await pending).bytes).width).toBe(8);
  });

  it("rejects when aborted during the wait", async () => {
    const { clock, sleeps } = manualClock();
    const controller = new AbortController();
    const pending = outcome(provider({ latencyMs: 60_000 }, {}, clock).generate(request({ signal: controller.signal })));
    await new Promise((resolve) => setImmediate(resolve));
    expect(sleeps).toEqual([60_000]);
    controller.abort();
    const result = await pending;
    const error = (result as { error: ChargenError }).error;
    expect(error).toBeInstanceOf(ChargenError);
    expect(error.kind).toBe("target");
    expect(error.message).toBe("aborted");
  });

  it("rejects at once when already aborted", async () => {
    const controller = new AbortController();
    controller.abort();
    const result = await outcome(provider().generate(request({ signal: controller.signal })));
    expect((result as { error: ChargenError }).error.message).toBe("aborted");
  });
});
