/**
 * Steady (`@stdy/cli`, the OpenAPI mock openai-node tests against) serving an OpenAPI
 * description, used as a validator: the OpenAI fake forwards a copy of each request and records
 * whether Steady found it conforming. An independent oracle for the request shape.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface Validation {
  valid: boolean;
  errors: string[];
}

export interface Validator {
  validate(method: string, path: string, contentType: string | undefined, body: Buffer): Promise<Validation>;
  stop(): Promise<void>;
}

export const OPENAI_IMAGES_SPEC = join(dirname(fileURLToPath(import.meta.url)), "openai-images.openapi.yaml");

/** Steady's binary for this platform, as its npm wrapper finds it. */
function steadyBinary(): string {
  const require = createRequire(import.meta.url);
  const pkg = `@stdy/cli-${process.platform}-${process.arch}`;
  return join(dirname(require.resolve(`${pkg}/package.json`)), "bin", process.platform === "win32" ? "steady.exe" : "steady");
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startSteady(spec = OPENAI_IMAGES_SPEC): Promise<Validator> {
  const port = await freePort();
  const child: ChildProcess = spawn(steadyBinary(), ["-p", String(port), "--host", "127.0.0.1", "-q", "--no-color", spec], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await fetch(`${base}/`, { signal: AbortSignal.timeout(500) });
      break;
    } catch {
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill();
        throw new Error(`steady did not start: ${output}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    async validate(method, path, contentType, body) {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...(contentType ? { "content-type": contentType } : {}), "x-steady-reject-on-error": "true" },
        body: new Uint8Array(body),
      });
      await res.arrayBuffer();
      const count = Number(res.headers.get("x-steady-error-count") ?? "0");
      const errors: string[] = [];
      for (let i = 1; i <= count; i++) {
        errors.push(`${res.headers.get(`x-steady-error-${i}-path`) ?? ""}: ${res.headers.get(`x-steady-error-${i}-message`) ?? ""}`);
      }
      return { valid: res.headers.get("x-steady-request-valid") === "true", errors };
    },
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill();
      await exited;
    },
  };
}
