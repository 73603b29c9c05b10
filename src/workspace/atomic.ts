import * as fs from "node:fs";
import { basename, dirname, join } from "node:path";
import { ChargenError } from "../errors.js";

/** The file-system calls an atomic write makes: node:fs, or a fake in tests (a short write, a full disk). */
export type AtomicFs = Pick<typeof fs, "mkdirSync" | "openSync" | "writeSync" | "fsyncSync" | "fstatSync" | "closeSync" | "renameSync" | "rmSync">;

let sequence = 0;

/**
 * Write a whole file or nothing: a temporary file in the same folder, every byte checked to have
 * gone out (write(2) may write less than asked, and a full disk does), fsync, then rename over the
 * target and fsync the folder. A crash or a full disk at any point leaves the old file or the new
 * one, never part of one. (write-file-atomic, used before, ignored short writes and renamed a
 * truncated file into place on a full disk.)
 *
 * Synchronous on purpose: the store records a paid-for generation with it the moment the answer
 * arrives, before the event loop runs anything else (see Store.put, which asks for no fsync and
 * flushes afterwards: a killed process loses nothing the kernel has, only a power cut does).
 */
export function writeAtomicSync(path: string, data: string | Uint8Array, io: AtomicFs = fs, options: { fsync: boolean } = { fsync: true }): void {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${sequence++}.tmp`);
  try {
    io.mkdirSync(dir, { recursive: true });
    const fd = io.openSync(tmp, "w");
    try {
      let written = 0;
      while (written < bytes.byteLength) {
        const n = io.writeSync(fd, bytes, written, bytes.byteLength - written);
        // write(2) returning 0 for a non-empty buffer means no space is left.
        if (n <= 0) throw shortWrite(path, written, bytes.byteLength);
        written += n;
      }
      if (options.fsync) io.fsyncSync(fd);
      // What the file system holds, not what the calls said: a file of the wrong size is never published.
      const size = io.fstatSync(fd).size;
      if (size !== bytes.byteLength) throw shortWrite(path, size, bytes.byteLength);
    } finally {
      io.closeSync(fd);
    }
    io.renameSync(tmp, path);
  } catch (e) {
    io.rmSync(tmp, { force: true });
    throw asWriteError(e, path, bytes.byteLength);
  }
  if (options.fsync) fsyncPath(dir, io);
}

/** The same write for callers that await; it is as synchronous (a few system calls per file). */
export async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  writeAtomicSync(path, data);
}

/**
 * Flush a file, or a folder (a rename is durable only once its folder is), to the disk. Best
 * effort for folders: some systems cannot open them, some file systems refuse to sync them.
 */
export function fsyncPath(path: string, io: AtomicFs = fs): void {
  let fd: number;
  try {
    fd = io.openSync(path, "r");
  } catch {
    return;
  }
  try {
    io.fsyncSync(fd);
  } catch {
    // A folder that cannot be synced: the files in it are.
  } finally {
    io.closeSync(fd);
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
