import { describe, expect, it } from "vitest";
import xxhash from "xxhash-wasm";
import { digestBytes, digestText } from "../src/core/hash.js";

// The digests are keys already on users' disks: hashing a large input in slices must give what one call gives.
const oneCall = await xxhash();
const hex = (n: bigint) => n.toString(16).padStart(16, "0");

describe("digests", () => {
  it("match xxh64's published value for the empty input", () => {
    expect(digestText("")).toBe("ef46db3751d8e999");
    expect(digestBytes(new Uint8Array())).toBe("ef46db3751d8e999");
  });

  it("of inputs larger than a slice are the one-call xxh64", () => {
    const bytes = new Uint8Array(200_003).map((_, i) => (i * 31 + 7) & 0xff);
    expect(digestBytes(bytes)).toBe(hex(oneCall.h64Raw(bytes)));
    const text = "ünïcode line\n".repeat(20_000);
    expect(digestText(text)).toBe(hex(oneCall.h64(text)));
  });

  it("keep a surrogate pair whole where a slice would split it", () => {
    // The emoji's high surrogate is the slice's last unit (65,536 UTF-16 units per slice).
    const text = "a".repeat(65_535) + "😀" + "b".repeat(70_000);
    expect(text.charCodeAt(65_535)).toBeGreaterThanOrEqual(0xd800);
    expect(digestText(text)).toBe(hex(oneCall.h64(text)));
    expect(digestText(text)).toBe(digestBytes(Buffer.from(text)));
  });
});
