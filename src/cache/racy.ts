/**
 * A file modified within the same clock tick as it was stamped can change without its stamp
 * changing ("racily clean", as git calls it), so a stamp taken too soon after the mtime is not
 * trusted. How soon depends on the file system's timestamp resolution: an mtime on a whole second
 * suggests a coarse one (FAT's 2 s, HFS+'s 1 s); sub-second mtimes (ext4, APFS, NTFS) tick in
 * milliseconds at worst.
 */
export function racyWindowMs(mtimeMs: number): number {
  return mtimeMs % 1000 === 0 ? 2_000 : 100;
}

/** Whether a stamp taken at `stampedAtMs` of a file modified at `mtimeMs` can be trusted. */
export function stampTrusted(mtimeMs: number, stampedAtMs: number): boolean {
  return stampedAtMs - mtimeMs >= racyWindowMs(mtimeMs);
}
