import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { describe, expect, it } from "vitest";
import { ChargenError } from "../src/core/errors.js";
import { writeAtomic, type AtomicFs } from "../src/core/atomic.js";
import { chargen, exampleWorkspace, snapshot } from "./support/cli.js";
import { scratchDir } from "./support/tmp.js";

/** node:fs whose writes go out only as far as `allow(asked)` says (at most what was asked). */
function limitedWrites(allow: (asked: number) => number): AtomicFs {
  const writeSync = (fd: number, buffer: Uint8Array, offset = 0, length = buffer.byteLength - offset) => fs.writeSync(fd, buffer, offset, allow(length));
  return { ...fs, writeSync: writeSync as typeof fs.writeSync };
}

/** A disk filling up: writes stop going out after `capacity` bytes. */
function fillingDisk(capacity: number, onFull: "short" | "throw"): AtomicFs {
  let used = 0;
  return limitedWrites((asked) => {
    const room = Math.max(0, capacity - used);
    if (room === 0 && onFull === "throw") throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
    // A short write: part of what was asked, as write(2) does when the disk fills.
    const n = Math.min(asked, room);
    used += n;
    return n;
  });
}

describe("atomic writes on a full disk", () => {
  for (const onFull of ["short", "throw"] as const) {
    it(`a write that does not all go out (${onFull === "short" ? "write returns 0" : "ENOSPC"}) keeps the old file and leaves no temporary`, async () => {
      const dir = scratchDir("chargen-atomic-");
      const path = join(dir, "out.png");
      fs.writeFileSync(path, "the old image");
      let error: unknown;
      try {
        await writeAtomic(path, Buffer.alloc(61_440 * 2, 7), fillingDisk(61_440, onFull));
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ChargenError);
      expect((error as ChargenError).kind).toBe("user");
      expect((error as ChargenError).details.code).toBe("ENOSPC");
      expect((error as ChargenError).message).toMatch(/cannot write .*out\.png: the disk is full.*nothing was replaced/);
      expect(fs.readFileSync(path, "utf8")).toBe("the old image");
      expect(fs.readdirSync(dir)).toEqual(["out.png"]);
    });
  }

  it("a write that goes out in several short pieces is whole", async () => {
    const dir = scratchDir("chargen-atomic-");
    const path = join(dir, "out.bin");
    const pieces = limitedWrites((asked) => Math.min(asked, 1000));
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
    await writeAtomic(path, data, pieces);
    expect(fs.readFileSync(path).equals(data)).toBe(true);
    expect(fs.readdirSync(dir)).toEqual(["out.bin"]);
  });
});

/** Mount a small tmpfs, or say why not (CI containers may not allow it). */
function mountTmpfs(sizeKb: number): { dir: string; grow: () => void; unmount: () => void } | string {
  const dir = scratchDir("chargen-tmpfs-");
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeKb}k`, "tmpfs", dir], { stdio: "pipe" });
  } catch (e) {
    return `mount -t tmpfs failed (${String((e as { stderr?: Buffer }).stderr ?? e).trim()}): needs root and a container that allows mounts`;
  }
  return {
    dir,
    grow: () => void execFileSync("mount", ["-o", "remount,size=64m", dir]),
    unmount: () => void execFileSync("umount", ["-l", dir]),
  };
}

const tmpfs = process.platform === "linux" ? mountTmpfs(1_200) : "not Linux";
if (typeof tmpfs === "string") console.warn(`skipping the tmpfs full-disk test: ${tmpfs}`);

describe.skipIf(typeof tmpfs === "string")("a build on a full disk (a real 1.2 MB tmpfs)", () => {
  it("publishes no truncated image, says the disk is full, and once there is room builds on without blaming the author", async () => {
    const mount = tmpfs as Exclude<typeof tmpfs, string>;
    try {
      const ws = join(mount.dir, "ws");
      fs.cpSync(exampleWorkspace(), ws, { recursive: true });
      const full = await chargen(ws, ["build", "-j", "2"]);
      expect(full.code).not.toBe(0);
      expect(full.stderr).not.toContain("internal error");
      expect(full.stderr).toMatch(/the disk is full/);
      // Every image that made it under its final name is whole.
      const images = [...snapshot(ws)].filter(([rel]) => rel.endsWith(".png"));
      for (const [rel, bytes] of images) expect(() => PNG.sync.read(bytes), rel).not.toThrow();
      expect([...snapshot(ws, () => false).keys()].filter((rel) => rel.endsWith(".tmp"))).toEqual([]);

      mount.grow();
      const rerun = await chargen(ws, ["build", "--json"]);
      const report = JSON.parse(rerun.stdout);
      expect(report.targets.filter((t: { status: string }) => t.status === "modified")).toEqual([]);
      expect(rerun.code).toBe(0);
      expect((await chargen(ws, ["build", "--check"])).code).toBe(0);
    } finally {
      mount.unmount();
    }
  });
});
