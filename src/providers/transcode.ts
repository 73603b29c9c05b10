/**
 * Bringing a provider's image to the format the target asked for, when the provider cannot be
 * told (Gemini answers PNG whatever the request). PNG <-> JPEG only: pure-JS codecs, no WebP.
 */
import jpeg from "jpeg-js";
import { PNG } from "pngjs";
import { mimeOf, type ImageFormat } from "../model/target.js";

/** The image in `format`, or as it came when it already is, or when no converter exists. */
export function toFormat(bytes: Uint8Array, mimeType: string, format: ImageFormat): { bytes: Uint8Array; mimeType: string } {
  const want = mimeOf(format);
  if (mimeType === want) return { bytes, mimeType };
  if (mimeType === mimeOf("png") && format === "jpeg") {
    const png = PNG.sync.read(Buffer.from(bytes));
    return { bytes: jpeg.encode({ data: png.data, width: png.width, height: png.height }, 92).data, mimeType: want };
  }
  if (mimeType === mimeOf("jpeg") && format === "png") {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    const png = new PNG({ width: img.width, height: img.height });
    png.data = Buffer.from(img.data);
    return { bytes: PNG.sync.write(png), mimeType: want };
  }
  return { bytes, mimeType };
}
