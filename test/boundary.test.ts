import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MAX_NAME_BYTES, ReferenceGuard, resolveInside, unsafeName, unsafePath } from "../src/core/boundary.js";
import { scratchDir } from "./support/tmp.js";

describe("the workspace boundary", () => {
  it("a safe file name has no separator, is not . or .., has no control character and fits the limit", () => {
    expect(unsafeName("ch01-the-grey-tide-img-01")).toBeUndefined();
    expect(unsafeName("Ch01_IMG 1 (draft)")).toBeUndefined();
    expect(unsafeName("é".repeat(MAX_NAME_BYTES / 2))).toBeUndefined();
    expect(unsafeName("é".repeat(MAX_NAME_BYTES / 2 + 1))).toBe("it is 202 bytes long, over the limit of 200");
    expect(unsafeName("")).toBe("it is empty");
    expect(unsafeName("..")).toBe('".." is not a name');
    expect(unsafeName("a/b")).toBe("it contains a path separator");
    expect(unsafeName("a\\b")).toBe("it contains a path separator");
    for (const c of ["\u0000", "\n", "\u001b", "\u007f", "\u009b"]) expect(unsafeName(`a${c}b`)).toBe("it contains a control character");
  });

  it("a safe workspace path is relative, never climbs, and is made of safe names", () => {
    expect(unsafePath("chapters/ch01/images/a.png")).toBeUndefined();
    expect(unsafePath("/etc/passwd")).toBe("it is absolute");
    expect(unsafePath("C:/x.png")).toBe("it is absolute");
    expect(unsafePath("chapters/../../x.png")).toBe("it leaves the workspace");
    expect(unsafePath("chapters//x.png")).toBe("it is empty");
    expect(resolveInside("characters/nell", "./images/p.png")).toEqual({ path: "characters/nell/images/p.png", refused: undefined });
    expect(resolveInside("characters/nell", "../osric/images/p.png")).toEqual({ path: "characters/osric/images/p.png", refused: undefined });
    expect(resolveInside("characters/nell", "../../../etc/passwd").refused).toBe("it leaves the workspace");
    expect(resolveInside("characters/nell", "/etc/passwd").refused).toBe("it is absolute");
  });

  it("a reference is refused when its real path leaves the workspace or its bytes are not an image", () => {
    const base = scratchDir("chargen-guard-");
    const ws = join(base, "ws");
    mkdirSync(join(ws, "images"), { recursive: true });
    const png = Buffer.from("89504e470d0a1a0a0000000d49484452", "hex");
    writeFileSync(join(base, "outside.png"), png);
    writeFileSync(join(ws, "images", "inside.png"), png);
    writeFileSync(join(ws, "images", "gif.png"), "GIF89a......");
    writeFileSync(join(ws, "images", "text.png"), "root:x:0:0");
    symlinkSync(join(base, "outside.png"), join(ws, "images", "out.png"));
    symlinkSync("inside.png", join(ws, "images", "alias.png"));
    const guard = new ReferenceGuard(ws);
    expect(guard.refusal("images/inside.png")).toBeUndefined();
    expect(guard.refusal("images/alias.png")).toBeUndefined();
    expect(guard.refusal("images/gif.png")).toBeUndefined();
    expect(guard.refusal("images/absent.png")).toBeUndefined(); // missing is the planner's to say
    expect(guard.refusal("images/out.png")).toBe("is refused: a symbolic link leads it out of the workspace");
    expect(guard.refusal("images/text.png")).toBe("is refused: it is not a PNG, JPEG, WebP or GIF image");
  });
});
