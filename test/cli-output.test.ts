import { spawnSync } from "node:child_process";
import { closeSync, constants, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { direct } from "../src/cli/main.js";
import { scratchDir } from "./support/tmp.js";

/** Both ends of a named pipe, non-blocking (as a descriptor shared with a process that made it so). */
function nonBlockingPipe(): { reader: number; writer: number } {
  const fifo = join(scratchDir("chargen-fifo-"), "pipe");
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  return { reader, writer: openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK) };
}

function drain(fd: number): Buffer {
  const chunks: Buffer[] = [];
  const chunk = Buffer.alloc(65_536);
  for (;;) {
    try {
      const n = readSync(fd, chunk);
      if (n === 0) break;
      chunks.push(Buffer.from(chunk.subarray(0, n)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EAGAIN") break;
      throw e;
    }
  }
  return Buffer.concat(chunks);
}

describe.skipIf(process.platform === "win32")("output straight to a file descriptor (the replay's)", () => {
  it("hands what a full non-blocking pipe does not take to the stream, and every later write", () => {
    const { reader, writer } = nonBlockingPipe();
    const streamed: Buffer[] = [];
    const write = direct(writer, (text) => void streamed.push(Buffer.from(text)));
    const text = "é".repeat(200_000); // more than a pipe holds; 2 bytes a character
    write(text);
    write("summary\n");
    const written = drain(reader);
    expect(written.length).toBeGreaterThan(0);
    expect(Buffer.concat([written, ...streamed]).toString()).toBe(text + "summary\n");
    expect(streamed.at(-1)?.toString()).toBe("summary\n");
    closeSync(reader);
    closeSync(writer);
  });

  it("ends quietly when the reader has gone", () => {
    const { reader, writer } = nonBlockingPipe();
    closeSync(reader);
    const streamed: string[] = [];
    const write = direct(writer, (text) => void streamed.push(String(text)));
    write("10 fresh, 0 stale\n");
    write("more\n");
    expect(streamed).toEqual([]);
    closeSync(writer);
  });
});
