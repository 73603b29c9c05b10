import { createHash } from "node:crypto";

/**
 * Git LFS: image files live in LFS, and a checkout without LFS content has small pointer files
 * at their paths (https://github.com/git-lfs/git-lfs/blob/main/docs/spec.md). The lock records
 * each output's SHA-256, which is its LFS object id, so that a pointer can stand for the output.
 */

/** The spec caps pointer files at 1024 bytes: anything bigger is content. */
export const LFS_POINTER_MAX_BYTES = 1024;

const VERSION_LINE = "version https://git-lfs.github.com/spec/v1";

export interface LfsPointer {
  /** SHA-256 of the content, hex. */
  oid: string;
  size: number;
}

/** The pointer a file's bytes are, or undefined when they are content. */
export function parseLfsPointer(bytes: Uint8Array): LfsPointer | undefined {
  if (bytes.length > LFS_POINTER_MAX_BYTES) return undefined;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  const lines = text.split("\n");
  if (lines[0] !== VERSION_LINE) return undefined;
  const oid = /^oid sha256:([0-9a-f]{64})$/m.exec(text)?.[1];
  const size = /^size (\d+)$/m.exec(text)?.[1];
  return oid && size ? { oid, size: Number(size) } : undefined;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** The LFS object id a file stands for: its pointer's oid, or the SHA-256 of its own bytes. */
export function lfsObjectId(bytes: Uint8Array): string {
  return parseLfsPointer(bytes)?.oid ?? sha256Hex(bytes);
}

