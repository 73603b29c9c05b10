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

/**
 * Whether a file may have been written at or after `sinceMs`. The kernel stamps a write from a
 * clock that ticks coarsely (a jiffy, 10 ms at most), so an mtime can lag the write by that much;
 * on a file system with whole-second mtimes, by up to 2 s.
 */
export function writtenSince(mtimeMs: number, sinceMs: number): boolean {
  return mtimeMs > sinceMs - (mtimeMs % 1000 === 0 ? 2_000 : MTIME_LAG_MS);
}

/** The most a sub-second mtime lags the write it stamps. */
export const MTIME_LAG_MS = 10;
