/**
 * A fake Cloudflare Workers AI REST API: `POST /client/v4/accounts/{account}/ai/run/{model}`
 * with a bearer token. It answers as the model pages describe: FLUX.1 schnell and Lucid Origin
 * with JSON `{result: {image: base64 JPEG}, success: true}`, the Stable Diffusion family with the
 * PNG bytes themselves. Errors are Cloudflare's envelope `{success: false, errors: [{code, message}]}`.
 * It checks each body against what the model takes, so a field a model does not accept fails
 * the test rather than being silently ignored by a lenient fake.
 */
import jpeg from "jpeg-js";
import { FakeServer, json, pngBytes, type Dialect, type Exchange, type FakeOptions, type Fault } from "./fake-server.js";

export const WORKERS_AI_ACCOUNT = "0123456789abcdef0123456789abcdef";

const envelope = (code: number, message: string) => ({ success: false, errors: [{ code, message }], messages: [], result: null });

interface Accepts {
  answer: "json" | "png";
  fields: Record<string, (v: unknown) => boolean>;
}

const isText = (v: unknown) => typeof v === "string" && v.length > 0;
const intIn = (min: number, max: number) => (v: unknown) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;
const num = (v: unknown) => typeof v === "number";
const seed = (v: unknown) => Number.isInteger(v);

const SD: Accepts = {
  answer: "png",
  fields: { prompt: isText, negative_prompt: (v) => typeof v === "string", width: intIn(256, 2048), height: intIn(256, 2048), num_steps: intIn(1, 20), guidance: num, seed },
};

/** The input schema of each model on its catalogue page (the fields chargen may send). */
const MODELS: Record<string, Accepts> = {
  "@cf/black-forest-labs/flux-1-schnell": { answer: "json", fields: { prompt: (v) => isText(v) && (v as string).length <= 2048, steps: intIn(1, 8), seed } },
  "@cf/stabilityai/stable-diffusion-xl-base-1.0": SD,
  "@cf/bytedance/stable-diffusion-xl-lightning": SD,
  "@cf/lykon/dreamshaper-8-lcm": SD,
};

/** A small real JPEG, as FLUX answers (base64 in JSON). */
export function jpegBytes(width: number, height: number): Buffer {
  const data = Buffer.alloc(width * height * 4, 180);
  return Buffer.from(jpeg.encode({ data, width, height }, 90).data);
}

function dialect(): Dialect {
  let served = 0;
  return {
    counts: () => true,

    authorised({ req, res }, fake) {
      if (req.headers.authorization === `Bearer ${fake.options.apiKey}`) return true;
      json(res, 401, envelope(10000, "Authentication error"));
      return false;
    },

    overLimit({ res }, waitMs) {
      json(res, 429, envelope(3040, "Capacity temporarily exceeded, please try again."), { "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))) });
    },

    fault({ res }: Exchange, fault: Fault) {
      switch (fault.kind) {
        case "rate-limit":
          return json(res, 429, envelope(3040, "Capacity temporarily exceeded, please try again."), fault.retryAfterMs === undefined ? {} : { "retry-after": String(fault.retryAfterMs / 1000) });
        case "status":
          return json(res, fault.status, fault.status === 401 || fault.status === 403 ? envelope(10000, "Authentication error") : envelope(3043, "Internal server error"));
        case "safety":
          return json(res, 400, envelope(3030, "AiError: Input prompt contains NSFW content."));
        case "empty":
          return json(res, 200, { success: true, errors: [], messages: [], result: {} });
        case "billing":
        case "quota":
          return json(
            res,
            429,
            envelope(4006, "you have used up your daily free allocation of 10,000 neurons, please upgrade to Cloudflare's Workers Paid plan if you would like to continue usage."),
          );
        case "drop":
          return;
      }
    },

    route({ req, res, url, entry }) {
      const m = /^\/client\/v4\/accounts\/([^/]+)\/ai\/run\/(@cf\/.+)$/.exec(url.pathname);
      if (req.method !== "POST" || !m) return false;
      if (m[1] !== WORKERS_AI_ACCOUNT) return json(res, 404, envelope(7003, "Could not route to /accounts: account not found")), true;
      const model = MODELS[m[2]!];
      if (!model) return json(res, 400, envelope(5007, `No such model ${m[2]} or task`)), true;
      const body = (entry.body ?? {}) as Record<string, unknown>;
      const bad = Object.entries(body).find(([k, v]) => !model.fields[k]?.(v)) ?? (isText(body.prompt) ? undefined : ["prompt", body.prompt]);
      if (bad) return json(res, 400, envelope(5006, `Error: invalid input: ${bad[0]} = ${JSON.stringify(bad[1])}`)), true;
      served++;
      if (model.answer === "png") {
        const png = pngBytes(64, 48, served);
        res.writeHead(200, { "content-type": "image/png", "content-length": png.length });
        res.end(png);
      } else {
        json(res, 200, { result: { image: jpegBytes(64, 48).toString("base64") }, success: true, errors: [], messages: [] });
      }
      return true;
    },
  };
}

export async function startWorkersAiFake(options: FakeOptions): Promise<FakeServer> {
  return new FakeServer(options, dialect()).start();
}
