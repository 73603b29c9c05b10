import { LineCounter, parseDocument, type Node } from "yaml";
import { count } from "../core/debug.js";
import type { Diagnostic } from "../core/errors.js";
import type { SourceFile } from "./api.js";

/** Parse a workspace YAML file; a file that does not parse is one diagnostic with its line and column. */
export function parseSource(path: string, text: string): SourceFile | Diagnostic {
  count("yaml.parsed");
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const error = doc.errors[0];
  if (error) {
    const pos = lineCounter.linePos(error.pos[0]);
    const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    return { severity: "error", file: path, line: pos.line, column: pos.col, message: `YAML does not parse: ${message}` };
  }
  return {
    path,
    text,
    doc,
    position(node: Node | null | undefined) {
      const offset = node?.range?.[0];
      if (offset === undefined) return { line: 1, column: 1 };
      const pos = lineCounter.linePos(offset);
      return { line: pos.line, column: pos.col };
    },
  };
}
