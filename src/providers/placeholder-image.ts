/**
 * Renders the placeholder provider's picture: a key-coloured card with the target id,
 * the start of the prompt and the reference count, in an embedded 5x7 bitmap font.
 * Pure JS and deterministic (same input -> same bytes), so builds work offline and cache hits are checkable.
 */
import { PNG } from "pngjs";
import jpeg from "jpeg-js";

export interface Rgb {
  r: number;
  g: number;
  b: number;
}

export interface PlaceholderContent {
  /** Cache key: picks the colours. */
  key: string;
  /** First line, large. */
  title: string;
  /** Wrapped below the title. */
  prompt: string;
  referenceCount: number;
}

export type PlaceholderFormat = "png" | "jpeg";

/** Prompt characters shown, and how they are wrapped. */
const PROMPT_CHARS = 60;
const LINE_CHARS = 24;
const PROMPT_LINES = 3;

/** 32-bit FNV-1a with a murmur3 finaliser: cheap, sync, and well spread for seeds and failure dice. */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The colour of the top rows (and so the corners): hue from the key, dark enough for white text. */
export function backgroundColour(key: string): Rgb {
  return hslToRgb(hash32(key) % 360, 0.5, 0.38);
}

function hslToRgb(h: number, s: number, l: number): Rgb {
  const c = (1 - Math.abs(2 * l - 1)) * s;
  const x = c * (1 - Math.abs(((h / 60) % 2) - 1));
  const m = l - c / 2;
  const [r, g, b] =
    h < 60 ? [c, x, 0] : h < 120 ? [x, c, 0] : h < 180 ? [0, c, x] : h < 240 ? [0, x, c] : h < 300 ? [x, 0, c] : [c, 0, x];
  const to8 = (v: number) => Math.round((v + m) * 255);
  return { r: to8(r), g: to8(g), b: to8(b) };
}

// 5x7 glyphs, one number per row, bit 4 = leftmost column.
const GLYPH_ROWS: Record<string, readonly number[]> = {
  A: [0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  B: [0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e],
  C: [0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e],
  D: [0x1c, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1c],
  E: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f],
  F: [0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10],
  G: [0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f],
  H: [0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11],
  I: [0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e],
  J: [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c],
  K: [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
  L: [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f],
  M: [0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11],
  N: [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
  O: [0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  P: [0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10],
  Q: [0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d],
  R: [0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11],
  S: [0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e],
  T: [0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
  U: [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e],
  V: [0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04],
  W: [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a],
  X: [0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11],
  Y: [0x11, 0x11, 0x11, 0x0a, 0x04, 0x04, 0x04],
  Z: [0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f],
  "0": [0x0e, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0e],
  "1": [0x04, 0x0c, 0x04, 0x04, 0x04, 0x04, 0x0e],
  "2": [0x0e, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1f],
  "3": [0x1f, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0e],
  "4": [0x02, 0x06, 0x0a, 0x12, 0x1f, 0x02, 0x02],
  "5": [0x1f, 0x10, 0x1e, 0x01, 0x01, 0x11, 0x0e],
  "6": [0x06, 0x08, 0x10, 0x1e, 0x11, 0x11, 0x0e],
  "7": [0x1f, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
  "8": [0x0e, 0x11, 0x11, 0x0e, 0x11, 0x11, 0x0e],
  "9": [0x0e, 0x11, 0x11, 0x0f, 0x01, 0x02, 0x0c],
  " ": [0, 0, 0, 0, 0, 0, 0],
  "-": [0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00],
  _: [0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f],
  "/": [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
  ".": [0x00, 0x00, 0x00, 0x00, 0x00, 0x0c, 0x0c],
  ":": [0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x0c, 0x00],
  ",": [0x00, 0x00, 0x00, 0x00, 0x0c, 0x04, 0x08],
  ";": [0x00, 0x0c, 0x0c, 0x00, 0x0c, 0x04, 0x08],
  "'": [0x0c, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00],
  '"': [0x0a, 0x0a, 0x0a, 0x00, 0x00, 0x00, 0x00],
  "!": [0x04, 0x04, 0x04, 0x04, 0x04, 0x00, 0x04],
  "?": [0x0e, 0x11, 0x01, 0x02, 0x04, 0x00, 0x04],
  "(": [0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02],
  ")": [0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08],
  "#": [0x0a, 0x0a, 0x1f, 0x0a, 0x1f, 0x0a, 0x0a],
  "+": [0x00, 0x04, 0x04, 0x1f, 0x04, 0x04, 0x00],
  "=": [0x00, 0x00, 0x1f, 0x00, 0x1f, 0x00, 0x00],
  "&": [0x0c, 0x12, 0x14, 0x08, 0x15, 0x12, 0x0d],
  "*": [0x00, 0x04, 0x15, 0x0e, 0x15, 0x04, 0x00],
  "%": [0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03],
  "@": [0x0e, 0x11, 0x17, 0x15, 0x17, 0x10, 0x0f],
};
const GLYPH_W = 5;
const GLYPH_H = 7;
/** Horizontal advance and body line height, in font pixels. */
const ADVANCE = 6;
const LINE_H = 9;

/** Uppercase, accents stripped, anything the font lacks shown as "?". */
export function toFontText(text: string): string {
  let out = "";
  for (const ch of text.normalize("NFKD").replace(/\p{M}/gu, "").replace(/\s+/g, " ").toUpperCase()) {
    out += ch in GLYPH_ROWS ? ch : "?";
  }
  return out.trim();
}

/** Greedy word wrap to `width` columns and at most `maxLines` lines; cut text ends in "...". */
export function wrapText(text: string, width: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (let word of text.split(" ").filter(Boolean)) {
    // Words longer than a line are broken hard.
    while (word.length > width) {
      if (line) lines.push(line);
      lines.push(word.slice(0, width));
      line = "";
      word = word.slice(width);
    }
    if (!line) line = word;
    else if (line.length + 1 + word.length <= width) line += " " + word;
    else {
      lines.push(line);
      line = word;
    }
  }
  if (line) lines.push(line);
  if (lines.length <= maxLines) return lines;
  const kept = lines.slice(0, maxLines);
  kept[maxLines - 1] = ellipsis(kept[maxLines - 1] ?? "", width);
  return kept;
}

function ellipsis(text: string, width: number): string {
  return text.length + 3 <= width ? `${text}...` : `${text.slice(0, Math.max(0, width - 3)).trimEnd()}...`;
}

/** The prompt as shown: the first ~PROMPT_CHARS characters. */
export function promptLines(prompt: string): string[] {
  let text = toFontText(prompt);
  if (text.length > PROMPT_CHARS) text = `${text.slice(0, PROMPT_CHARS - 3).trimEnd()}...`;
  return wrapText(text, LINE_CHARS, PROMPT_LINES);
}

/** A 32-bit pixel view over RGBA bytes, so rows and runs are filled with `fill`, not per-channel writes. */
class Canvas {
  readonly rgba: Uint8Array;
  private readonly px: Uint32Array;
  private static readonly littleEndian = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

  readonly width: number;
  readonly height: number;

  /** `pixels`, when given, is drawn into (it must hold width × height); otherwise a new buffer. */
  constructor(width: number, height: number, pixels?: Uint32Array) {
    this.width = width;
    this.height = height;
    this.px = pixels ? pixels.subarray(0, width * height) : new Uint32Array(width * height);
    this.rgba = new Uint8Array(this.px.buffer, this.px.byteOffset, this.px.byteLength);
  }

  static pack({ r, g, b }: Rgb): number {
    return Canvas.littleEndian ? ((0xff << 24) | (b << 16) | (g << 8) | r) >>> 0 : ((r << 24) | (g << 16) | (b << 8) | 0xff) >>> 0;
  }

  /** Fills a rectangle, clipped to the canvas. */
  rect(x: number, y: number, w: number, h: number, colour: number): void {
    const x0 = Math.max(0, x);
    const x1 = Math.min(this.width, x + w);
    const y1 = Math.min(this.height, y + h);
    if (x1 <= x0) return;
    for (let row = Math.max(0, y); row < y1; row++) {
      this.px.fill(colour, row * this.width + x0, row * this.width + x1);
    }
  }

  /** Draws `text` with its top-left at (x, y), each font pixel `scale` canvas pixels square. */
  text(text: string, x: number, y: number, scale: number, colour: number): void {
    for (let i = 0; i < text.length; i++) {
      const rows = GLYPH_ROWS[text[i] ?? " "] ?? GLYPH_ROWS["?"]!;
      const gx = x + i * ADVANCE * scale;
      for (let row = 0; row < GLYPH_H; row++) {
        const bits = rows[row] ?? 0;
        for (let col = 0; col < GLYPH_W; col++) {
          if (bits & (0x10 >> col)) this.rect(gx + col * scale, y + row * scale, scale, scale, colour);
        }
      }
    }
  }
}

const textWidth = (text: string, scale: number) => Math.max(0, text.length * ADVANCE - 1) * scale;

/** RGBA pixels of the placeholder card (drawn into `pixels` when given: every pixel is painted). */
export function renderRgba(width: number, height: number, content: PlaceholderContent, pixels?: Uint32Array): Uint8Array {
  const canvas = new Canvas(width, height, pixels);
  const base = backgroundColour(content.key);

  // Vertical gradient, row 0 exactly the key colour, darkening to 75% at the bottom.
  for (let y = 0; y < height; y++) {
    const f = 1 - (0.25 * y) / Math.max(1, height - 1);
    const colour = Canvas.pack({ r: Math.round(base.r * f), g: Math.round(base.g * f), b: Math.round(base.b * f) });
    canvas.rect(0, y, width, 1, colour);
  }

  // An inset frame (the corners stay background, so the key colour is readable there).
  const short = Math.min(width, height);
  const inset = Math.round(short / 40);
  const stroke = Math.max(1, Math.round(short / 300));
  const frame = Canvas.pack(mix(base, { r: 255, g: 255, b: 255 }, 0.35));
  if (width > 2 * (inset + stroke) && height > 2 * (inset + stroke)) {
    canvas.rect(inset, inset, width - 2 * inset, stroke, frame);
    canvas.rect(inset, height - inset - stroke, width - 2 * inset, stroke, frame);
    canvas.rect(inset, inset, stroke, height - 2 * inset, frame);
    canvas.rect(width - inset - stroke, inset, stroke, height - 2 * inset, frame);
  }

  drawText(canvas, content);
  return canvas.rgba;
}

function drawText(canvas: Canvas, content: PlaceholderContent): void {
  const { width, height } = canvas;
  const pad = Math.round(Math.min(width, height) * 0.06);
  const availW = Math.max(1, width - 2 * pad);
  const availH = Math.max(1, height - 2 * pad);
  const body = promptLines(content.prompt);
  const footer = `REFS: ${content.referenceCount}`;
  const gap = 6; // between blocks, in body units

  // Body unit from the prompt and footer widths and the whole block's height (title at up to 2 units).
  const bodyCols = Math.max(LINE_CHARS, footer.length) * ADVANCE;
  const bodyRows = 2 * GLYPH_H + gap + body.length * LINE_H + gap + GLYPH_H;
  const unit = Math.max(1, Math.floor(Math.min(availW / bodyCols, availH / bodyRows)));

  // The title shrinks (then is cut) rather than shrinking everything else.
  let title = toFontText(content.title) || "?";
  const titleScale = Math.max(1, Math.min(2 * unit, Math.floor(availW / (title.length * ADVANCE))));
  const fit = Math.floor((availW + titleScale) / (ADVANCE * titleScale));
  if (title.length > fit) title = ellipsis(title, Math.max(4, fit));

  const blockH = GLYPH_H * titleScale + (gap + body.length * LINE_H + gap + GLYPH_H) * unit;
  let y = Math.max(0, Math.floor((height - blockH) / 2));
  const fg = Canvas.pack({ r: 250, g: 248, b: 240 });
  const dim = Canvas.pack({ r: 225, g: 225, b: 220 });
  const shadow = Canvas.pack({ r: 0, g: 0, b: 0 });

  const line = (text: string, scale: number, colour: number) => {
    const x = Math.floor((width - textWidth(text, scale)) / 2);
    const off = Math.max(1, Math.round(scale / 5));
    canvas.text(text, x + off, y + off, scale, shadow);
    canvas.text(text, x, y, scale, colour);
  };

  line(title, titleScale, fg);
  y += GLYPH_H * titleScale + gap * unit;
  for (const text of body) {
    line(text, unit, dim);
    y += LINE_H * unit;
  }
  y += gap * unit;
  line(footer, unit, fg);
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return { r: Math.round(a.r + (b.r - a.r) * t), g: Math.round(a.g + (b.g - a.g) * t), b: Math.round(a.b + (b.b - a.b) * t) };
}

let scratch = new Uint32Array(0);

/**
 * The encoded image. PNG is RGBA with the "sub" filter at deflate level 1: flat rows filter to zeros that
 * pngjs's run-length deflate packs well, several times faster than adaptive filtering or RGB conversion.
 */
export function renderPlaceholder(
  width: number,
  height: number,
  format: PlaceholderFormat,
  content: PlaceholderContent,
): Uint8Array {
  // Encoding is synchronous, so one canvas serves every render: a build of thousands of images
  // would otherwise leave a canvas of garbage per image for the collector to catch up with.
  if (scratch.length < width * height) scratch = new Uint32Array(width * height);
  const rgba = renderRgba(width, height, content, scratch);
  const data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength);
  if (format === "jpeg") return jpeg.encode({ data, width, height }, 85).data;
  // An empty PNG given our pixels, so pngjs does not allocate a second pixel buffer.
  const png = Object.assign(new PNG(), { width, height, data });
  return PNG.sync.write(png, { colorType: 6, deflateLevel: 1, filterType: 1 });
}
