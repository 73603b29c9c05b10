import { describe, expect, it } from "vitest";
import { printable, workflowCommand } from "../src/report/escape.js";

describe("printing text from the workspace", () => {
  it("shows control characters as escapes: one inert line", () => {
    expect(printable("a\nb\r\tc\u001b[31md\u0000e\u007f\u009bf\u2028g\u202eh")).toBe("a\\nb\\r\\tc\\x1b[31md\\x00e\\x7f\\x9bf\\u2028g\\u202eh");
    expect(printable("chapters/ch01/img-01 ✓ é")).toBe("chapters/ch01/img-01 ✓ é");
  });

  it("escapes a GitHub workflow command per its spec: data %, CR, LF; properties also : and ,", () => {
    expect(workflowCommand("warning", { file: "a:b,c%.yaml", line: 3 }, "50% done\r\n::add-mask::x")).toBe(
      "::warning file=a%3Ab%2Cc%25.yaml,line=3::50%25 done%0D%0A::add-mask::x",
    );
    expect(workflowCommand("warning", { file: "f\u001b[2J" }, "m\u001b")).toBe("::warning file=f\\x1b[2J::m\\x1b");
  });
});
