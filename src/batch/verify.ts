import { parseRatio } from "../providers/aspect.js";
import type { LineRequest } from "./engine.js";
import { sniffImageType } from "../core/boundary.js";

/** Width and height from a PNG, JPEG or WebP header; undefined when the bytes do not say. */
export function imageDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (sniffImageType(bytes)) {
    case "image/png":
      return b.length >= 24 ? { width: b.readUInt32BE(16), height: b.readUInt32BE(20) } : undefined;
    case "image/jpeg":
      // Walk the segments to the first start-of-frame marker.
      for (let i = 2; i + 9 < b.length; ) {
        if (b[i] !== 0xff) return undefined;
        const marker = b[i + 1]!;
        if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { width: b.readUInt16BE(i + 7), height: b.readUInt16BE(i + 5) };
        i += 2 + b.readUInt16BE(i + 2);
      }
      return undefined;
    case "image/webp": {
      const chunk = b.toString("ascii", 12, 16);
      if (chunk === "VP8X" && b.length >= 30) return { width: 1 + b.readUIntLE(24, 3), height: 1 + b.readUIntLE(27, 3) };
      if (chunk === "VP8L" && b.length >= 25) {
        const bits = b.readUInt32LE(21);
        return { width: 1 + (bits & 0x3fff), height: 1 + ((bits >> 14) & 0x3fff) };
      }
      if (chunk === "VP8 " && b.length >= 30) return { width: b.readUInt16LE(26) & 0x3fff, height: b.readUInt16LE(28) & 0x3fff };
      return undefined;
    }
    default:
      return undefined;
  }
}

/**
 * What is wrong with a result image: "not …" when it cannot be used (it is not an image), or a
 * warning when its shape is not the one asked for (batch outputs have been reported to ignore the
 * aspect ratio); undefined when it is as requested.
 */
export function checkImage(bytes: Uint8Array, request: Pick<LineRequest, "size" | "aspectRatio">): string | undefined {
  const dims = imageDimensions(bytes);
  if (!dims || dims.width === 0 || dims.height === 0) return "not an image chargen can read (no PNG, JPEG or WebP header)";
  const asked = request.size ? request.size.width / request.size.height : parseRatio(request.aspectRatio);
  if (asked === undefined) return undefined;
  const got = dims.width / dims.height;
  if (Math.abs(Math.log(got / asked)) <= Math.log(1.02)) return undefined;
  const wanted = request.size ? `${request.size.width}x${request.size.height}` : request.aspectRatio;
  return `the image is ${dims.width}x${dims.height}, the request asked for ${wanted}`;
}
