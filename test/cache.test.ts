import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { digestBytes, sortKeys } from "../src/core/hash.js";
import { formatLock, readLock, type Lock, type LockEntry } from "../src/cache/lockfile.js";
import { stampTrusted } from "../src/cache/racy.js";
import { StatCache } from "../src/cache/stat-cache.js";
import { Store } from "../src/cache/store.js";
import { realClock } from "../src/core/clock.js";
import { ChargenError, Code } from "../src/core/errors.js";
import { VERSION } from "../src/core/version.js";
import { Pool } from "../src/core/pool.js";
import { scratchDir } from "./support/tmp.js";

const tmp = () => scratchDir("chargen-unit-");
const lockText = (lock: Lock) => formatLock(lock).toString("utf8");
const record = (key: string, at: string) => ({ key, targetId: "t", mimeType: "image/png", provider: "placeholder", model: "p", at, metadata: {} });

describe("store", () => {
  it("keeps several outputs per key, newest last, and survives a torn journal line", async () => {
    const dir = tmp();
    const store = new Store(dir);
    await store.put(Buffer.from("one"), record("k", "2026-01-01T00:00:00Z"));
    await store.put(Buffer.from("two"), record("k", "2026-01-02T00:00:00Z"));
    appendFileSync(join(dir, "actions.jsonl"), '{"key":"k","targetId":"t","blo'); // kill -9 mid-append
    const reopened = new Store(dir);
    expect(reopened.records("k").map((r) => r.blob)).toEqual([digestBytes(Buffer.from("one")), digestBytes(Buffer.from("two"))]);
    expect(Buffer.from(reopened.readBlob(reopened.latest("k")!.blob)!).toString()).toBe("two");
    // The next append starts on its own line, so it is not lost with the torn one.
    await reopened.put(Buffer.from("three"), record("k", "2026-01-03T00:00:00Z"));
    expect(new Store(dir).records("k")).toHaveLength(3);
  });

  it("starts a journal with a header line naming its format and chargen's version; gc keeps it", async () => {
    const dir = tmp();
    const store = new Store(dir);
    const first = store.put(Buffer.from("one"), record("k", "2026-01-01T00:00:00Z"));
    store.put(Buffer.from("two"), record("k", "2026-01-02T00:00:00Z"));
    const lines = () => readFileSync(join(dir, "actions.jsonl"), "utf8").split("\n").filter(Boolean);
    expect(lines()).toHaveLength(3);
    expect(JSON.parse(lines()[0]!)).toEqual({ format: "chargen-actions", version: 1, chargen: VERSION });
    const reopened = new Store(dir);
    expect(reopened.records("k")).toHaveLength(2);
    expect(reopened.skippedLines).toEqual([]);
    await reopened.gc({ keep: new Set([first.blob]), maxAgeMs: 0, maxBytes: 0, now: Date.parse("2026-06-01T00:00:00Z") });
    expect(lines()).toHaveLength(2);
    expect(JSON.parse(lines()[0]!).version).toBe(1);
    expect(new Store(dir).records("k").map((r) => r.blob)).toEqual([first.blob]);
  });

  it("reads a journal from before the header, and appends to it as it is", () => {
    const dir = tmp();
    const old = { ...record("k", "2026-01-01T00:00:00Z"), blob: digestBytes(Buffer.from("old")) };
    writeFileSync(join(dir, "actions.jsonl"), JSON.stringify(old) + "\n");
    const store = new Store(dir);
    expect(store.records("k")).toEqual([old]);
    store.put(Buffer.from("new"), record("k", "2026-01-02T00:00:00Z"));
    const lines = readFileSync(join(dir, "actions.jsonl"), "utf8").split("\n").filter(Boolean);
    expect(lines).toHaveLength(2);
    expect(new Store(dir).records("k")).toHaveLength(2);
  });

  it("refuses a journal of a newer format with a clear error naming the file and the versions", () => {
    const dir = tmp();
    writeFileSync(join(dir, "actions.jsonl"), '{"format":"chargen-actions","version":2,"chargen":"9.0.0"}\n');
    let thrown: unknown;
    try {
      new Store(dir);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(ChargenError);
    const error = thrown as ChargenError;
    expect(error.kind).toBe("user");
    expect(error.details).toEqual({ file: join(dir, "actions.jsonl"), line: 1, code: Code.newerJournal });
    expect(error.message).toBe(
      `${join(dir, "actions.jsonl")}: the action journal is in format 2 (written by chargen 9.0.0); this chargen (${VERSION}) reads format 1 and older: upgrade chargen, or move .chargen/ away to start a new cache`,
    );
  });

  it("treats a corrupt blob as missing and removes it", async () => {
    const dir = tmp();
    const store = new Store(dir);
    const r = await store.put(Buffer.from("image"), record("k", "2026-01-01T00:00:00Z"));
    writeFileSync(store.blobPath(r.blob), "garbage");
    expect(store.readBlob(r.blob)).toBeUndefined();
    expect(store.hasBlob(r.blob)).toBe(false);
    expect(store.latest("k")).toBeUndefined();
  });

  it("gc keeps what the lock names, drops old outputs, then the oldest until under size", async () => {
    const dir = tmp();
    const store = new Store(dir);
    const now = Date.parse("2026-06-01T00:00:00Z");
    const old = await store.put(Buffer.alloc(100, 1), record("a", "2026-01-01T00:00:00Z"));
    const kept = await store.put(Buffer.alloc(100, 2), record("b", "2026-01-01T00:00:00Z"));
    const mid = await store.put(Buffer.alloc(100, 3), record("c", "2026-05-30T00:00:00Z"));
    const recent = await store.put(Buffer.alloc(100, 4), record("d", "2026-05-31T00:00:00Z"));
    const report = await store.gc({ keep: new Set([kept.blob]), maxAgeMs: 30 * 86_400_000, maxBytes: 250, now });
    expect(report).toEqual({ removedBlobs: 2, freedBytes: 200, keptBlobs: 2, keptBytes: 200 });
    for (const [r, present] of [[old, false], [kept, true], [mid, false], [recent, true]] as const) expect(store.hasBlob(r.blob)).toBe(present);
    expect(new Store(dir).allRecords().map((r) => r.key)).toEqual(["b", "d"]);
  });
});

describe("chargen.lock", () => {
  const entry = (key: string): LockEntry => ({
    key,
    output: `out/${key}.png`,
    outputDigest: "d",
    provider: "placeholder",
    model: "p",
    builtAt: "2026-01-01T00:00:00.000Z",
    inputs: { compiler: "c", prompt: { prompt: "x" }, negative: "n", settings: { provider: "placeholder", model: "p", format: "png", n: 1 }, refs: {} },
  });

  const version1 = (lock: Lock) =>
    JSON.stringify({ version: 1, targets: Object.fromEntries([...lock].map(([id, e]) => [id, sortKeys(e)])) }, null, 2);
  const write = (text: string) => {
    const path = join(tmp(), "chargen.lock");
    writeFileSync(path, text);
    return path;
  };

  it("is a fixed header then one line per target, sorted by id, every field kept (merge-friendly)", () => {
    const a: Lock = new Map([["b/2", entry("2")], ["a/1", { ...entry("1"), costUsd: 0.04 }]]);
    const b: Lock = new Map([...a].reverse());
    const text = lockText(a);
    expect(text).toBe(lockText(b));
    const lines = text.split("\n");
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^# chargen\.lock version 2: /);
    expect(lines[1]).toMatch(/^\{"id":"a\/1","builtAt":/);
    expect(lines[2]).toMatch(/^\{"id":"b\/2",/);
    expect(lines[3]).toBe("");
    // A field the reader does not know (added by a later chargen) is kept as data.
    const extra = new Map([["c/3", { ...entry("3"), outputSha256: "abc" } as LockEntry]]);
    expect(readLock(write(lockText(extra)))).toEqual({ lock: extra, rewrite: false, conflicted: false });
    expect(readLock(write(text))).toEqual({ lock: a, rewrite: false, conflicted: false });
    // Encoded line by line: characters of several UTF-8 bytes take their whole width.
    const accented: Lock = new Map([["chapitres/été/île-01", { ...entry("1"), output: "chapitres/été/îles/île-01.png" }]]);
    expect(readLock(write(lockText(accented)))).toEqual({ lock: accented, rewrite: false, conflicted: false });
    expect(formatLock(accented).at(-1)).toBe(0x0a);
    expect(readLock(join(tmp(), "absent.lock"))).toEqual({ lock: new Map(), rewrite: false, conflicted: false });
  });

  it("reads the old JSON format (version 1) and asks for a rewrite", () => {
    const lock: Lock = new Map([["a/1", entry("1")], ["b/2", entry("2")]]);
    expect(readLock(write(version1(lock)))).toEqual({ lock, rewrite: true, conflicted: false });
  });

  it("two entries for one target (a union merge of two rebuilds): the one whose output is on disk, else the newest", () => {
    const older = { ...entry("1"), outputDigest: "old", builtAt: "2026-01-01T00:00:00.000Z" };
    const newer = { ...entry("1"), outputDigest: "new", builtAt: "2026-01-02T00:00:00.000Z" };
    const path = write([lockText(new Map([["a/1", newer]])).trimEnd(), JSON.stringify({ id: "a/1", ...older }), ""].join("\n"));
    expect(readLock(path)).toEqual({ lock: new Map([["a/1", newer]]), rewrite: true, conflicted: false });
    expect(readLock(path, (output) => (output === older.output ? "old" : undefined)).lock.get("a/1")).toEqual(older);
    // Lines out of order (a union merge appends theirs after ours) are read, and rewritten sorted.
    const unsorted = write([lockText(new Map([["b/2", entry("2")]])).trimEnd(), JSON.stringify({ id: "a/1", ...entry("1") }), ""].join("\n"));
    expect(readLock(unsorted)).toEqual({ lock: new Map([["a/1", entry("1")], ["b/2", entry("2")]]), rewrite: true, conflicted: false });
  });

  it("conflict markers (a merge without the union attribute) keep both sides' entries, in either format", () => {
    const ours = lockText(new Map([["a/1", entry("1")], ["c/3", entry("3")]])).split("\n");
    const theirs = lockText(new Map([["b/2", entry("2")], ["c/3", entry("3")]])).split("\n");
    const conflicted = [ours[0], "<<<<<<< HEAD", ours[1], "||||||| base", "=======", theirs[1], ">>>>>>> other", ours[2], ""].join("\n");
    const both = new Map([["a/1", entry("1")], ["b/2", entry("2")], ["c/3", entry("3")]]);
    expect(readLock(write(conflicted))).toEqual({ lock: both, rewrite: true, conflicted: true });

    const v1Ours = version1(new Map([["a/1", entry("1")]])).split("\n");
    const v1Theirs = version1(new Map([["b/2", entry("2")]])).split("\n");
    const v1Conflicted = ["<<<<<<< HEAD", ...v1Ours, "=======", ...v1Theirs, ">>>>>>> other", ""].join("\n");
    expect(readLock(write(v1Conflicted)).lock).toEqual(new Map([["a/1", entry("1")], ["b/2", entry("2")]]));
  });

  it("a line that is not an entry is a user error naming its line", () => {
    const text = lockText(new Map([["a/1", entry("1")]])) + '{"id":"b/2","key":\n';
    expect(() => readLock(write(text))).toThrow(ChargenError);
    expect(() => readLock(write(text))).toThrow(/chargen\.lock line 3 is not a lock entry/);
    expect(() => readLock(write("# chargen.lock version 9: from the future\n"))).toThrow(/unknown format \(version 9;/);
  });
});

describe("racily clean stamps", () => {
  it("trust a stamp after 100 ms on file systems with sub-second mtimes, after 2 s when mtimes fall on whole seconds", () => {
    const fine = 1_700_000_000_123.456;
    expect(stampTrusted(fine, fine + 99)).toBe(false);
    expect(stampTrusted(fine, fine + 100)).toBe(true);
    const coarse = 1_700_000_000_000;
    expect(stampTrusted(coarse, coarse + 1_999)).toBe(false);
    expect(stampTrusted(coarse, coarse + 2_000)).toBe(true);
  });
});

describe("stat cache", () => {
  it("trusts a digest only while size, mtime and inode match, and not for racily clean files", () => {
    const cache = StatCache.empty();
    const stamp = { size: 10, mtimeNs: String(1_000_000_000_000n * 1_000_000n), ino: 7 };
    const mtimeMs = 1_000_000_000_000;
    cache.record("a.png", stamp, "d1", mtimeMs + 500); // hashed in the same tick it was written
    expect(cache.lookup("a.png", stamp)).toBeUndefined();
    cache.record("a.png", stamp, "d1", mtimeMs + 5_000);
    expect(cache.lookup("a.png", stamp)).toBe("d1");
    expect(cache.lookup("a.png", { ...stamp, size: 11 })).toBeUndefined();
    expect(cache.lookup("a.png", { ...stamp, ino: 8 })).toBeUndefined();
  });
});

describe("pool", () => {
  afterEach(() => vi.useRealTimers());

  it("bounds requests in flight and requests per minute, and pauses on demand", async () => {
    vi.useFakeTimers({ now: 0 });
    const pool = new Pool({ maxInFlight: 2, perMinute: 3 }, realClock);
    const granted: number[] = [];
    const take = (i: number) => pool.acquire().then(() => granted.push(i));
    for (let i = 0; i < 5; i++) void take(i);
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toEqual([0, 1]); // two in flight
    pool.release();
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toEqual([0, 1, 2]); // third start in this minute
    pool.release();
    pool.release();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(granted).toEqual([0, 1, 2]); // the per-minute budget is spent
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toEqual([0, 1, 2, 3, 4]);
    pool.release();
    pool.release();
    pool.pauseUntil(Date.now() + 5_000);
    void take(5);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(granted).toHaveLength(5);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(granted).toHaveLength(6);
  });

  it("grants the highest priority waiting first, first come first served among equals", async () => {
    const pool = new Pool({ maxInFlight: 1, perMinute: 100 }, realClock);
    await pool.acquire();
    const granted: string[] = [];
    for (const [name, priority] of [["a0", 0], ["b1", 1], ["c0", 0], ["d1", 1]] as const) void pool.acquire(undefined, priority).then(() => granted.push(name));
    for (let i = 0; i < 4; i++) {
      pool.release();
      await new Promise((r) => setImmediate(r));
    }
    expect(granted).toEqual(["b1", "d1", "a0", "c0"]);
  });

  it("a waiter whose signal aborts leaves the queue", async () => {
    const pool = new Pool({ maxInFlight: 1, perMinute: 100 }, realClock);
    await pool.acquire();
    const controller = new AbortController();
    const waiting = pool.acquire(controller.signal);
    controller.abort(new Error("stop"));
    await expect(waiting).rejects.toThrow("stop");
    expect(pool.waiting).toBe(0);
  });
});
