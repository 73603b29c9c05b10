import { describe, expect, it } from "vitest";
import { afterPoll, atProvider, inFlight, transition, type JobState } from "../src/batch/machine.js";
import { checkImage, imageDimensions } from "../src/batch/verify.js";
import { pngBytes } from "./fakes/fake-server.js";

describe("the batch job state machine", () => {
  it("walks the documented path from planned to applied", () => {
    const path: JobState[] = ["planned", "staged", "submitted", "running", "succeeded", "collected", "applied"];
    for (let i = 1; i < path.length; i++) expect(transition(path[i - 1]!, path[i]!)).toBe(path[i]);
  });

  it("throws on a transition it does not have: a submitted job is never staged or submitted again, a result never applied twice", () => {
    for (const [from, to] of [
      ["submitted", "staged"],
      ["running", "submitted"],
      ["staged", "running"],
      ["applied", "applied"],
      ["applied", "collected"],
      ["collected", "collected"],
      ["planned", "submitted"],
      ["succeeded", "applied"],
    ] as [JobState, JobState][]) {
      expect(() => transition(from, to), `${from} -> ${to}`).toThrow(/no transition/);
    }
  });

  it("every end state is collected, partial results included", () => {
    for (const end of ["succeeded", "failed", "cancelled", "expired"] as const) {
      expect(transition("running", end)).toBe(end);
      expect(transition("submitted", end)).toBe(end);
      expect(transition(end, "collected")).toBe("collected");
    }
  });

  it("a poll keeps a queued job submitted and moves it on when the provider does", () => {
    expect(afterPoll("submitted", "pending")).toBe("submitted");
    expect(afterPoll("submitted", "running")).toBe("running");
    expect(afterPoll("running", "running")).toBe("running");
    expect(afterPoll("running", "expired")).toBe("expired");
    expect(() => afterPoll("running", "pending")).toThrow(/no transition/);
  });

  it("a job's targets are in flight until it is collected; only a submitted or running job is at the provider", () => {
    expect(["planned", "staged", "submitted", "running", "succeeded", "failed", "cancelled", "expired"].every((s) => inFlight(s as JobState))).toBe(true);
    expect(inFlight("collected") || inFlight("applied")).toBe(false);
    expect(atProvider("staged")).toBe(false);
    expect(atProvider("running")).toBe(true);
  });
});

describe("checking a batch result image", () => {
  it("reads a PNG's dimensions from its header", () => {
    expect(imageDimensions(pngBytes(64, 36))).toEqual({ width: 64, height: 36 });
  });

  it("accepts the shape asked for, warns about another (batch outputs have ignored the aspect ratio), refuses what is not an image", () => {
    expect(checkImage(pngBytes(64, 36), { aspectRatio: "16:9" })).toBeUndefined();
    expect(checkImage(pngBytes(64, 64), { size: { width: 1024, height: 1024 } })).toBeUndefined();
    expect(checkImage(pngBytes(64, 64), { aspectRatio: "16:9" })).toBe("the image is 64x64, the request asked for 16:9");
    expect(checkImage(new TextEncoder().encode("<html>quota</html>"), {})).toMatch(/^not an image/);
  });
});
