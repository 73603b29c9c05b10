/**
 * Sizes and aspect ratios as the rules write them ("1792x768", "16:9"), and picking the nearest
 * shape a model accepts. Shared by the providers' normalisation; no SDK imports.
 */

export interface Dimensions {
  width: number;
  height: number;
}

/** The longest side chargen asks for: a typo must not allocate gigabytes of pixels, nor be paid for. */
export const MAX_IMAGE_SIDE = 8192;

/** "1792x768" -> {1792, 768}; undefined when it is not WxH in whole pixels. */
export function parseSize(size: string | undefined): Dimensions | undefined {
  const m = size === undefined ? null : /^\s*(\d+)\s*[xX×]\s*(\d+)\s*$/.exec(size);
  if (!m) return undefined;
  const width = Number(m[1]);
  const height = Number(m[2]);
  return width > 0 && height > 0 ? { width, height } : undefined;
}

/** "16:9" (or "16/9") -> 16/9; undefined when it is not W:H. */
export function parseRatio(ratio: string | undefined): number | undefined {
  const m = ratio === undefined ? null : /^\s*(\d+(?:\.\d+)?)\s*[:/]\s*(\d+(?:\.\d+)?)\s*$/.exec(ratio);
  if (!m) return undefined;
  const w = Number(m[1]);
  const h = Number(m[2]);
  return w > 0 && h > 0 ? w / h : undefined;
}

export const formatSize = ({ width, height }: Dimensions) => `${width}x${height}`;

/**
 * The candidate closest in shape to `ratio`. Distance is measured on log(w/h), so 2:1 and 1:2
 * are equally far from 1:1; ties go to the earlier candidate.
 */
export function nearestBy<T>(ratio: number, candidates: readonly T[], ratioOf: (c: T) => number): T {
  let best = candidates[0] as T;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = Math.abs(Math.log(ratioOf(c) / ratio));
    if (d < bestDistance - 1e-9) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
