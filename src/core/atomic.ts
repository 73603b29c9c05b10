import * as fs from "node:fs";
import { basename, dirname, join } from "node:path";
import { ChargenError } from "./errors.js";

/** The file-system calls an atomic write makes: node:fs, or a fake in tests (a short write, a full disk). */
export type AtomicFs = Pick<typeof fs, "mkdirSync" | "openSync" | "writeSync" | "fstatSync" | "closeSync" | "renameSync" | "rmSync">;

let sequence = 0;

/**
 * Write a whole file or nothing: a temporary file in the same folder, every byte checked to have
 * gone out (write(2) may write less than asked, and a full disk does), flushed to the disk, then
 * renamed over the target. A crash or a full disk at any point leaves the
 * old file or the new one, never part of one. (write-file-atomic, used before, ignored short
 * writes and renamed a truncated file into place on a full disk.) The writes are synchronous
 * (page-cache copies); the flushes, which wait for the disk, run off the event loop.
 */
export async function writeAtomic(path: string, data: string | Uint8Array, io: AtomicFs = fs): Promise<void> {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const tmp = tempPath(path);
  try {
    writeWhole(tmp, path, bytes, io);
    // Flushed before it is published: after a power cut the new name never shows an empty file.
    await syncToDisk(tmp);
    io.renameSync(tmp, path);
  } catch (e) {
    io.rmSync(tmp, { force: true });
    throw asWriteError(e, path, bytes.byteLength);
  }
  // The folder is not flushed: after a power cut the old file may be back, which is still whole,
  // and the lock, written the same way, then names it. What is paid for is flushed by the store.
}

/**
 * Put a whole file under its name at once, checked as `writeAtomic` does, but not yet flushed: once
 * this returns a killed process has lost nothing (the kernel holds it); the caller flushes it with
 * `syncToDiskNow` (file and folder) against a power cut. For the store's record of a paid answer.
 */
export function publishSync(path: string, bytes: Uint8Array, io: AtomicFs = fs): void {
  const tmp = tempPath(path);
  try {
    writeWhole(tmp, path, bytes, io);
    io.renameSync(tmp, path);
  } catch (e) {
    io.rmSync(tmp, { force: true });
    throw asWriteError(e, path, bytes.byteLength);
  }
}

const tempPath = (path: string) => join(dirname(path), `.${basename(path)}.${process.pid}.${sequence++}.tmp`);

/** Every byte into `tmp`, or an error: a short write is a full disk, never a shorter file. */
function writeWhole(tmp: string, path: string, bytes: Uint8Array, io: AtomicFs): void {
  io.mkdirSync(dirname(tmp), { recursive: true });
  const fd = io.openSync(tmp, "w");
  try {
    appendWhole(fd, path, bytes, 0, io);
    checkSize(fd, path, bytes.byteLength, io);
  } finally {
    io.closeSync(fd);
  }
}

/** `bytes` after the `before` bytes already in `fd`, every one of them, or an error naming `path`. */
function appendWhole(fd: number, path: string, bytes: Uint8Array, before: number, io: AtomicFs): void {
  let written = 0;
  while (written < bytes.byteLength) {
    const n = io.writeSync(fd, bytes, written, bytes.byteLength - written);
    // write(2) returning 0 for a non-empty buffer means no space is left.
    if (n <= 0) throw shortWrite(path, before + written, before + bytes.byteLength);
    written += n;
  }
}

/** What the file system holds, not what the calls said: a file of the wrong size is never published. */
function checkSize(fd: number, path: string, expected: number, io: AtomicFs): void {
  const size = io.fstatSync(fd).size;
  if (size !== expected) throw shortWrite(path, size, expected);
}

/**
 * A file written from a stream of text, all or nothing, as `writeAtomic` writes a whole one: every
 * byte checked, flushed, then renamed into place (for a batch job's JSONL, which is never held whole).
 */
export async function writeLinesAtomic(path: string, lines: AsyncIterable<string>, io: AtomicFs = fs): Promise<void> {
  const tmp = tempPath(path);
  let total = 0;
  try {
    io.mkdirSync(dirname(tmp), { recursive: true });
    const fd = io.openSync(tmp, "w");
    try {
      for await (const text of lines) {
        const bytes = Buffer.from(text, "utf8");
        appendWhole(fd, path, bytes, total, io);
        total += bytes.byteLength;
      }
      checkSize(fd, path, total, io);
    } finally {
      io.closeSync(fd);
    }
    await syncToDisk(tmp);
    io.renameSync(tmp, path);
  } catch (e) {
    io.rmSync(tmp, { force: true });
    throw asWriteError(e, path, total);
  }
}

/**
 * Flush a file, or a folder (a rename is durable only once its folder is), to the disk, off the
 * event loop. Best effort for folders: some systems cannot open them, some refuse to sync them.
 */
export async function syncToDisk(path: string, options: { folder: boolean } = { folder: false }): Promise<void> {
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path, "r");
  } catch (e) {
    if (options.folder) return;
    throw e;
  }
  try {
    await handle.sync();
  } catch (e) {
    if (!options.folder) throw e;
  } finally {
    await handle.close();
  }
}

/** `syncToDisk`, blocking: for what must be on the disk before anything else runs (Store.put). */
export function syncToDiskNow(path: string, options: { folder: boolean } = { folder: false }): void {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (e) {
    if (options.folder) return;
    throw e;
  }
  try {
    fs.fsyncSync(fd);
  } catch (e) {
    if (!options.folder) throw e;
  } finally {
    fs.closeSync(fd);
  }
}

const shortWrite = (path: string, written: number, total: number) => Object.assign(new Error(`short write: ${written} of ${total} bytes`), { code: "ENOSPC", written });

const REASONS: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exhausted",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
};

/**
 * A failed write as an error value: the environment's fault, named with its file and what to do,
 * never an internal error; and since nothing was renamed into place, nothing is blamed on the author.
 */
export function asWriteError(e: unknown, path: string, total?: number): unknown {
  if (e instanceof ChargenError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const reason = code && REASONS[code];
  if (!code || !reason) return e;
  const written = (e as { written?: number }).written;
  const progress = written === undefined || total === undefined ? "" : ` (${written} of ${total} bytes went out)`;
  const advice = code === "ENOSPC" || code === "EDQUOT" ? "free some space and build again" : "make it writable, or run chargen as a user who may write there";
  return new ChargenError("user", `cannot write ${path}: ${reason}${progress}; nothing was replaced. ${advice[0]!.toUpperCase()}${advice.slice(1)}`, { code }, { cause: e });
}
