import { closeSync, openSync, readFileSync, readSync, realpathSync, statSync } from "node:fs";
import { join, posix, sep } from "node:path";
import { LFS_POINTER_MAX_BYTES, parseLfsPointer } from "./lfs.js";

/**
 * The workspace boundary: every path chargen derives from YAML (ids that become file names,
 * reference paths, entity folders) stays inside the workspace. Plain functions over strings and
 * the file system, importable from any layer.
 */

/** Longest file name chargen makes or accepts from an id, in UTF-8 bytes (file systems allow 255). */
export const MAX_NAME_BYTES = 200;

/** Why `name` cannot be one file or folder name, or undefined when it can. */
export function unsafeName(name: string): string | undefined {
  if (name === "") return "it is empty";
  if (name === "." || name === "..") return `"${name}" is not a name`;
  if (/[/\\]/.test(name)) return "it contains a path separator";
  // C0 and C1 controls, NUL among them: they corrupt terminals, logs and the file system calls.
  if (/[\u0000-\u001f\u007f-\u009f]/.test(name)) return "it contains a control character";
  const bytes = Buffer.byteLength(name, "utf8");
  if (bytes > MAX_NAME_BYTES) return `it is ${bytes} bytes long, over the limit of ${MAX_NAME_BYTES}`;
  return undefined;
}

/** Why a workspace-relative, `/`-separated path is not a plain path inside the workspace, or undefined. */
export function unsafePath(path: string): string | undefined {
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) return "it is absolute";
  for (const segment of path.split("/")) {
    const why = unsafeName(segment);
    if (why) return segment === ".." ? "it leaves the workspace" : why;
  }
  return undefined;
}

/**
 * `path` relative to the workspace-relative folder `folder` (an inventory's `images/x.png`
 * relative to its character folder), normalised, and why it is refused when it is.
 */
export function resolveInside(folder: string, path: string): { path: string; refused: string | undefined } {
  const joined = posix.normalize(posix.join(folder, path));
  return { path: joined, refused: path.startsWith("/") ? "it is absolute" : unsafePath(joined) };
}

/**
 * Reference files: a reference is read, keyed and sent to a provider, so it must be an image
 * inside the workspace. Checked by its real path (a symlink may not lead out) and its first bytes.
 * One per plan: each path is checked once.
 */
export class ReferenceGuard {
  private realRoot: string | undefined;
  private readonly checked = new Map<string, string | undefined>();

  constructor(private readonly root: string) {}

  /** Why the existing file at `path` may not be used as a reference; undefined when it may, or does not exist. */
  refusal(path: string): string | undefined {
    if (!this.checked.has(path)) this.checked.set(path, this.check(path));
    return this.checked.get(path);
  }

  private check(path: string): string | undefined {
    let real: string;
    try {
      real = realpathSync.native(join(this.root, path));
    } catch {
      return undefined; // absent (or a dangling link): the planner calls it missing
    }
    this.realRoot ??= realpathSync.native(this.root);
    if (!real.startsWith(this.realRoot + sep)) return "is refused: a symbolic link leads it out of the workspace";
    const head = readHead(real);
    // A Git LFS pointer stands for an image (a checkout without LFS content): it may be keyed,
    // and is refused with its own message (`git lfs pull`) when it would be sent.
    if (head && sniffImageType(head) === undefined && !isLfsPointerFile(real)) return "is refused: it is not a PNG, JPEG, WebP or GIF image";
    return undefined;
  }
}

function isLfsPointerFile(path: string): boolean {
  try {
    return statSync(path).size <= LFS_POINTER_MAX_BYTES && parseLfsPointer(readFileSync(path)) !== undefined;
  } catch {
    return false;
  }
}

/** The first bytes of a file, enough to tell its image type; undefined when it cannot be read (a folder). */
function readHead(path: string): Uint8Array | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = new Uint8Array(12);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** An image's content type from its first bytes, or undefined when they are not a PNG, JPEG, WebP or GIF. */
export function sniffImageType(bytes: Uint8Array): string | undefined {
  const b = bytes;
  if (b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return "image/png";
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return "image/jpeg";
  if (b[0] === 0x52 && b[1] === 0x49 && b[2] === 0x46 && b[3] === 0x46 && b[8] === 0x57 && b[9] === 0x45 && b[10] === 0x42 && b[11] === 0x50) return "image/webp";
  if (b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return "image/gif";
  return undefined;
}
