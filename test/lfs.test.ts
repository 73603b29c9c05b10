import { describe, expect, it } from "vitest";
import { lfsObjectId, parseLfsPointer, sha256Hex } from "../src/core/lfs.js";

const oid = "4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393";
const pointer = (text: string) => new Uint8Array(Buffer.from(text));

describe("Git LFS pointers", () => {
  it("reads the three lines of a pointer, and only a pointer", () => {
    expect(parseLfsPointer(pointer(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize 12345\n`))).toEqual({ oid, size: 12345 });
    // Extension keys sort between version and oid: still a pointer.
    expect(parseLfsPointer(pointer(`version https://git-lfs.github.com/spec/v1\next-0-foo sha256:${oid}\noid sha256:${oid}\nsize 1\n`))?.oid).toBe(oid);
    expect(parseLfsPointer(pointer(`version https://example.com/other\noid sha256:${oid}\nsize 1\n`))).toBeUndefined();
    expect(parseLfsPointer(pointer(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\n`))).toBeUndefined();
    expect(parseLfsPointer(pointer(`version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize 1\n${" ".repeat(1024)}`))).toBeUndefined();
    expect(parseLfsPointer(new Uint8Array([0x89, 0x50, 0x4e, 0x47]))).toBeUndefined();
  });

  it("a file's object id is its pointer's oid, or the SHA-256 of its bytes", () => {
    const content = new Uint8Array(Buffer.from("an image"));
    expect(lfsObjectId(content)).toBe(sha256Hex(content));
    expect(lfsObjectId(pointer(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256Hex(content)}\nsize 8\n`))).toBe(sha256Hex(content));
  });
});
