/**
 * What both provider fakes share: an in-process node:http server on 127.0.0.1 (port 0), a log of
 * every request, a scripted queue of faults, a delay, and a requests-per-window limit that answers
 * 429 beyond it. Each fake supplies only its wire format (routes and error bodies).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { PNG } from "pngjs";

/** A fault the next request gets instead of an answer; each provider renders it in its own wire format. */
export type Fault =
  /** 429 with the provider's own retry hint. */
  | { kind: "rate-limit"; retryAfterMs?: number }
  /** A server error; `message` replaces the provider's usual text (e.g. one that echoes the key). */
  | { kind: "status"; status: number; message?: string }
  /** The connection is destroyed before any answer. */
  | { kind: "drop" }
  | { kind: "safety"; where?: "prompt" | "image" }
  /** A 200 without an image. */
  | { kind: "empty" }
  | { kind: "billing" }
  /** OpenAI's 429 insufficient_quota. */
  | { kind: "quota" };

export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  size: number;
  /** Text fields only. */
  value?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** Parsed JSON body. */
  body?: unknown;
  /** Multipart parts, in order. */
  parts?: Part[];
  /** Raw body bytes (uploads). */
  raw: Buffer;
  /** What was answered: a status, or "dropped". */
  answer?: number | "dropped";
  fault?: Fault["kind"];
}

export interface FakeOptions {
  /** The key the fake expects; any other is answered as the provider answers a bad key. */
  apiKey: string;
  /** Delay before each answer. */
  delayMs?: number;
  /** At most `limit` accepted requests in any `windowMs` (60 s unless told); beyond it, 429. */
  rateLimit?: { limit: number; windowMs?: number };
}

export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
  entry: LoggedRequest;
  url: URL;
}

/** The provider-specific half: routes a request, or renders a fault. */
export interface Dialect {
  /** Answer a request that got no fault; false when the path is unknown. */
  route(x: Exchange, fake: FakeServer): Promise<boolean> | boolean;
  /** Whether the request carries the right key; the dialect answers it when not. */
  authorised(x: Exchange, fake: FakeServer): boolean;
  fault(x: Exchange, fault: Fault, fake: FakeServer): void;
  /** The 429 for going over the rate limit, asking to wait `waitMs`. */
  overLimit(x: Exchange, waitMs: number, fake: FakeServer): void;
  /** Whether this request counts against the rate limit and may receive faults (uploads do not). */
  counts(x: Exchange): boolean;
}

export class FakeServer {
  readonly log: LoggedRequest[] = [];
  readonly faults: Fault[] = [];
  /** 429s answered because of `rateLimit`. */
  overLimitCount = 0;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly starts: number[] = [];

  constructor(
    readonly options: FakeOptions,
    private readonly dialect: Dialect,
  ) {}

  get url(): string {
    const { port } = this.server!.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Queue faults for the next requests, in order. */
  inject(...faults: Fault[]): this {
    this.faults.push(...faults);
    return this;
  }

  /** Logged requests that reached a counted endpoint (generation calls, not uploads). */
  calls(): LoggedRequest[] {
    return this.log.filter((e) => !e.path.includes("/upload/"));
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")]));
    const entry: LoggedRequest = { method: req.method ?? "GET", path: url.pathname, query: Object.fromEntries(url.searchParams), headers, raw };
    await parseBody(entry, raw);
    this.log.push(entry);
    res.on("finish", () => (entry.answer ??= res.statusCode));
    const x: Exchange = { req, res, entry, url };
    try {
      if (this.options.delayMs) await sleep(this.options.delayMs);
      if (!this.dialect.authorised(x, this)) return;
      const counted = this.dialect.counts(x);
      const fault = counted ? this.faults.shift() : undefined;
      if (fault) {
        entry.fault = fault.kind;
        if (fault.kind === "drop") {
          entry.answer = "dropped";
          req.socket.destroy();
          return;
        }
        this.dialect.fault(x, fault, this);
        return;
      }
      if (counted && this.options.rateLimit) {
        const wait = this.admit();
        if (wait > 0) {
          this.overLimitCount++;
          this.dialect.overLimit(x, wait, this);
          return;
        }
      }
      if (!(await this.dialect.route(x, this))) json(res, 404, { error: { message: `no route for ${req.method} ${url.pathname}` } });
    } catch (e) {
      if (!res.headersSent) json(res, 500, { error: { message: `fake server bug: ${String(e)}` } });
    }
  }

  /** 0 when this request is within the limit (and counts it), else how long until a slot frees. */
  private admit(): number {
    const { limit, windowMs = 60_000 } = this.options.rateLimit!;
    const now = Date.now();
    while (this.starts.length && this.starts[0]! <= now - windowMs) this.starts.shift();
    if (this.starts.length >= limit) return this.starts[0]! + windowMs - now;
    this.starts.push(now);
    return 0;
  }
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=UTF-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** JSON and multipart bodies as the fake's log shows them; multipart parsed by undici's own parser. */
async function parseBody(entry: LoggedRequest, raw: Buffer): Promise<void> {
  const type = entry.headers["content-type"] ?? "";
  if (type.includes("application/json") && raw.length) {
    try {
      entry.body = JSON.parse(raw.toString("utf8"));
    } catch {
      entry.body = undefined;
    }
  } else if (type.startsWith("multipart/form-data")) {
    const form = await new Request("http://fake/", { method: "POST", headers: { "content-type": type }, body: raw }).formData();
    entry.parts = [];
    for (const [name, value] of form.entries()) {
      entry.parts.push(
        typeof value === "string"
          ? { name, size: Buffer.byteLength(value), value }
          : { name, filename: value.name, contentType: value.type, size: value.size },
      );
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A real, small PNG of one colour; `n` varies the colour so that answers can be told apart. */
export function pngBytes(width: number, height: number, n = 0): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < width * height; i++) {
    png.data[i * 4] = (40 + n * 53) % 256;
    png.data[i * 4 + 1] = (90 + n * 97) % 256;
    png.data[i * 4 + 2] = (160 + n * 31) % 256;
    png.data[i * 4 + 3] = 255;
  }
  return PNG.sync.write(png);
}
