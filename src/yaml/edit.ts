/**
 * Surgical write-back into authors' YAML files.
 *
 * `doc.toString()` re-renders the whole file (refolds long lines, moves comments, changes
 * quoting), so instead we splice rendered text for the edited values only into the original
 * source, at the offsets `yaml` records in each node's `range`. Every edit is checked by
 * re-parsing: the result must parse and equal the old data with just that change applied.
 */
import { isDeepStrictEqual } from "node:util";
import { Document, isMap, isNode, isPair, isScalar, isSeq, parseDocument, visit } from "yaml";
import type { Node, Pair, YAMLMap, YAMLSeq } from "yaml";
import { ChargenError } from "../core/errors.js";

export type YamlPath = (string | number)[];

interface Splice {
  from: number;
  to: number;
  text: string;
}

interface Style {
  indent: number;
  indentSeq: boolean;
  defaultStringType: "PLAIN" | "QUOTE_DOUBLE";
  defaultKeyType: "PLAIN";
}

/** How many of a file's string values decide whether it double-quotes them. */
const QUOTING_SAMPLE = 50;

export class YamlEditor {
  readonly file: string;
  readonly #original: string;
  readonly #originalDoc: Document.Parsed;
  readonly #eol: string;
  #text: string;
  #doc: Document.Parsed;
  /** What each edit did to the data, checked against the final text once (see #verify). */
  readonly #expected: ((js: unknown) => unknown)[] = [];
  #verified = true;

  private constructor(text: string, file: string, doc: Document.Parsed) {
    this.file = file;
    this.#original = this.#text = text;
    this.#originalDoc = doc;
    this.#eol = text.includes("\r\n") ? "\r\n" : "\n";
    this.#doc = doc;
  }

  /** Throws ChargenError (kind "user", details {file, line, column}) when the text does not parse. */
  static parse(text: string, file: string): YamlEditor {
    const doc = parseDocument(text);
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      throw new ChargenError("user", `${file}: ${err.message.split("\n")[0]}`, {
        file,
        line: pos?.line,
        column: pos?.col,
      });
    }
    return new YamlEditor(text, file, doc);
  }

  /** The parsed document of the current text (re-parsed after each edit). */
  get doc(): Document.Parsed {
    return this.#doc;
  }

  /** The edited text; throws if the edits changed any data besides what they set. */
  toString(): string {
    this.#verify();
    return this.#text;
  }

  /** A function that puts the editor back as it is now: a write-back that fails halfway leaves no partial edit. */
  checkpoint(): () => void {
    const [text, doc, edits, verified] = [this.#text, this.#doc, this.#expected.length, this.#verified];
    return () => {
      this.#text = text;
      this.#doc = doc;
      this.#expected.length = edits;
      this.#verified = verified;
    };
  }

  get changed(): boolean {
    return this.#text !== this.#original;
  }

  /**
   * Set several keys of one block map at once: their splices are computed against one parse and
   * applied together (a write-back sets six fields of an entry; one parse instead of six).
   */
  setAll(mapPath: YamlPath, fields: Record<string, unknown>): void {
    const map = this.#node(mapPath);
    if (!isMap(map) || map.flow || !map.items.length) {
      for (const [key, value] of Object.entries(fields)) this.set(mapPath, key, value);
      return;
    }
    const splices: Splice[] = [];
    const absent: string[] = [];
    const col = this.#col(nodeStart(map.items[0]!.key));
    for (const [key, value] of Object.entries(fields)) {
      const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
      if (!pair) absent.push(...this.#pairLines(key, value, col));
      else if (!isDeepStrictEqual(isNode(pair.value) ? pair.value.toJS(this.#doc) : null, value)) splices.push(...this.#replaceValue(pair, value));
    }
    if (absent.length) {
      const at = this.#afterLine(contentEnd(map));
      splices.push(this.#lines(at, at, absent));
    }
    if (!splices.length) return;
    this.#apply(splices, (js) => Object.entries(fields).reduce((acc, [key, value]) => setJs(acc ?? {}, [...mapPath, key], value), js));
  }

  /** Set `key: value` in the map at `mapPath`, adding the key at the end of the map when absent. */
  set(mapPath: YamlPath, key: string, value: unknown): void {
    const expect = (js: unknown) => setJs(js ?? {}, [...mapPath, key], value);
    const map = this.#node(mapPath);
    if (mapPath.length === 0 && isEmptyDocument(map)) {
      // Nothing but comments (or `---`): the new key starts the root map.
      return this.#apply([this.#lines(this.#text.length, this.#text.length, this.#pairLines(key, value, 0))], expect);
    }
    if (!isMap(map)) throw this.#userError(`${fmt(mapPath)} is not a map`);

    const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair) {
      // Keep the author's spelling when the value is already right (e.g. quoted, `1.0`).
      if (isDeepStrictEqual(isNode(pair.value) ? pair.value.toJS(this.#doc) : null, value)) return;
      return this.#apply(this.#replaceValue(pair, value), expect);
    }
    if (map.flow) {
      // An empty `{}` under a key becomes a block map; otherwise stay in flow style.
      const parentKey = mapPath.at(-1);
      if (!map.items.length && typeof parentKey === "string" && isMap(this.#node(mapPath.slice(0, -1)))) {
        return this.set(mapPath.slice(0, -1), parentKey, { [key]: value });
      }
      return this.#apply([this.#flowInsert(map, flowText({ [key]: value }))], expect);
    }
    const col = this.#col(nodeStart(map.items[0]!.key));
    const at = this.#afterLine(contentEnd(map));
    this.#apply([this.#lines(at, at, this.#pairLines(key, value, col))], expect);
  }

  /** Append `item` to the sequence at `seqPath`, creating a block sequence if absent, null or `[]`. */
  append(seqPath: YamlPath, item: unknown): void {
    const seq = this.#node(seqPath);
    const parentKey = seqPath.at(-1);
    const emptyFlow = isSeq(seq) && seq.flow && !seq.items.length;
    const create = seq == null || (isScalar(seq) && seq.value == null) || emptyFlow;
    if (create && typeof parentKey === "string" && isMap(this.#node(seqPath.slice(0, -1)))) {
      return this.set(seqPath.slice(0, -1), parentKey, [item]);
    }
    const expect = (js: unknown) => {
      const cur = getJs(js, seqPath);
      return setJs(js, seqPath, Array.isArray(cur) ? [...cur, item] : [item]);
    };
    if (seqPath.length === 0 && isEmptyDocument(seq)) {
      return this.#apply([this.#lines(this.#text.length, this.#text.length, this.#render([item], 0))], expect);
    }
    if (!isSeq(seq)) throw this.#userError(`${fmt(seqPath)} is not a sequence`);
    if (seq.flow) return this.#apply([this.#flowInsert(seq, flowText([item]))], expect);
    const col = this.#col(seq.range![0]);
    const at = this.#afterLine(contentEnd(seq));
    this.#apply([this.#lines(at, at, this.#render([item], col))], expect);
  }

  /**
   * Remove `key` from the block map at `mapPath` (nothing when absent): its lines go, comments on
   * other lines stay. The last key of a map under a key leaves `{}`.
   */
  delete(mapPath: YamlPath, key: string): void {
    const map = this.#node(mapPath);
    if (!isMap(map)) throw this.#userError(`${fmt(mapPath)} is not a map`);
    const index = map.items.findIndex((p) => isScalar(p.key) && String(p.key.value) === key);
    if (index < 0) return;
    if (map.items.length === 1) return this.#emptyUnder(mapPath, {});
    if (map.flow) throw this.#refused();
    const pair = map.items[index]!;
    const keyStart = nodeStart(pair.key);
    const next = map.items[index + 1];
    // A map that is a sequence item starts on the `- ` line: its first key gives that line to the next key.
    const from = /^[ \t]*$/.test(this.#text.slice(this.#lineStart(keyStart), keyStart)) ? this.#lineStart(keyStart) : keyStart;
    const to = from === keyStart && next ? nodeStart(next.key) : this.#afterLine(contentEnd((pair.value ?? pair.key) as Node));
    this.#apply([{ from, to, text: "" }], (js) => {
      delete (getJs(js, mapPath) as Record<string, unknown>)[key];
      return js;
    });
  }

  /** Remove item `index` of the block sequence at `seqPath`: its lines and the blank lines after it go. The last item leaves `[]`. */
  removeItem(seqPath: YamlPath, index: number): void {
    const seq = this.#node(seqPath);
    if (!isSeq(seq) || index < 0 || index >= seq.items.length) throw this.#userError(`${fmt(seqPath)} has no item ${index}`);
    if (seq.items.length === 1) return this.#emptyUnder(seqPath, []);
    if (seq.flow) throw this.#refused();
    const item = seq.items[index] as Node;
    let from = this.#lineStart(item.range![0]);
    if (!/^[ \t]*-[ \t]*$/.test(this.#text.slice(from, item.range![0]))) throw this.#refused();
    let to = this.#afterLine(contentEnd(item));
    // Entries separated by blank lines stay so: an entry takes the blank lines after it, the last one those before it.
    if (index === seq.items.length - 1) from -= /(\r?\n[ \t]*)*$/.exec(this.#text.slice(0, from - 1))![0].length;
    else to += /^([ \t]*\r?\n)*/.exec(this.#text.slice(to))![0].length;
    this.#apply([{ from, to, text: "" }], (js) => {
      (getJs(js, seqPath) as unknown[]).splice(index, 1);
      return js;
    });
  }

  /** Replace the collection at `path` by an empty one (`{}` or `[]`), set under its parent key. */
  #emptyUnder(path: YamlPath, empty: object): void {
    const parentKey = path.at(-1);
    if (typeof parentKey !== "string" || !isMap(this.#node(path.slice(0, -1)))) throw this.#refused();
    this.set(path.slice(0, -1), parentKey, empty);
  }

  /** Splices that replace the value of an existing pair; the key line's trailing comment survives. */
  #replaceValue(pair: Pair, value: unknown): Splice[] {
    const t = this.#text;
    const keyNode = pair.key as Node;
    const colonEnd = t.indexOf(":", keyNode.range![1]) + 1;
    const [head, body] = this.#valueParts(value, this.#col(keyNode.range![0]));
    const [vs, ve] = (pair.value as Node).range!;

    if (t.slice(colonEnd, vs).includes("\n")) {
      // Block collection below the key: swap its lines, keep comments between key and value.
      const out = [this.#lines(this.#lineStart(vs), this.#afterLine(contentEnd(pair.value as Node)), body)];
      if (head) out.push({ from: colonEnd, to: colonEnd, text: ` ${head}` });
      return out;
    }
    if (t[ve - 1] === "\n") {
      // Block scalar: its range owns its last line break.
      const text = head ? this.#pad(vs, head, false) : "";
      return [{ from: head ? vs : colonEnd, to: ve, text: text + this.#eol + this.#joined(body) }];
    }
    const out: Splice[] = [];
    if (head) out.push({ from: vs, to: ve, text: this.#pad(vs, head, t[ve] === "#") });
    else {
      // Nothing stays on the key line but a comment, if there is one.
      const spaces = /^[ \t]*/.exec(t.slice(ve))![0].length;
      const comment = t[ve + spaces] === "#";
      out.push({ from: colonEnd, to: ve + spaces, text: comment ? " " : "" });
    }
    if (body.length) {
      const at = this.#afterLine(ve);
      out.push(this.#lines(at, at, body));
    }
    return out;
  }

  /** `head` goes on the key line after `key:`; `body` lines follow it, indented under column `col`. */
  #valueParts(value: unknown, col: number): [string, string[]] {
    // Render under a dummy key so block scalars get indentation relative to their key.
    const [first, ...body] = this.#render({ k: value }, col);
    return [first!.slice(col + 2).trim(), body];
  }

  #pairLines(key: string, value: unknown, col: number): string[] {
    return this.#render({ [key]: value }, col);
  }

  /**
   * Block-style rendering, lines shifted right by `col` (blank lines left empty). Rendered as
   * YAML 1.1, which quotes every string a 1.1 reader would take for something else (a timestamp,
   * `16:9` as a base-60 number, `yes`): the authors' other tools may read the file that way.
   */
  #render(value: unknown, col: number): string[] {
    const text = new Document(value, { version: "1.1", aliasDuplicateObjects: false }).toString({ ...this.#style(), lineWidth: 0 });
    const pad = " ".repeat(col);
    return text.replace(/\n$/, "").split("\n").map((l) => (l ? pad + l : l));
  }

  /**
   * Indentation step, whether `- ` is indented under its key, and whether string values are
   * double-quoted (files a tool re-serialised quote every one; hand-written files mostly do not),
   * taken from the file itself.
   */
  #style(): Style {
    let indent: number | undefined;
    let indentSeq: boolean | undefined;
    let strings = 0;
    let doubleQuoted = 0;
    visit(this.#doc, {
      Pair: (_, pair) => {
        const v = pair.value;
        if (isScalar(v) && typeof v.value === "string" && strings < QUOTING_SAMPLE) {
          strings++;
          if (v.type === "QUOTE_DOUBLE") doubleQuoted++;
        }
        if (!isNode(pair.key) || !(isMap(v) || isSeq(v)) || v.flow) return;
        const step = this.#col(v.range![0]) - this.#col(pair.key.range![0]);
        if (isSeq(v)) indentSeq ??= step > 0;
        if (step > 0) indent ??= step;
        if (indent !== undefined && indentSeq !== undefined && strings >= QUOTING_SAMPLE) return visit.BREAK;
      },
    });
    return {
      indent: indent ?? 2,
      indentSeq: indentSeq ?? true,
      defaultStringType: strings > 0 && doubleQuoted / strings >= 0.8 ? "QUOTE_DOUBLE" : "PLAIN",
      defaultKeyType: "PLAIN",
    };
  }

  /** Insert `text` as the last entry of a flow collection. */
  #flowInsert(coll: YAMLMap | YAMLSeq, text: string): Splice {
    const last = coll.items.at(-1);
    if (last === undefined) {
      const open = coll.range![0] + 1;
      return { from: open, to: open, text };
    }
    const at = contentEnd((isPair(last) ? (last.value ?? last.key) : last) as Node);
    return { from: at, to: at, text: `, ${text}` };
  }

  /** Replace whole lines [from, to) with `lines`, keeping a missing final line break missing. */
  #lines(from: number, to: number, lines: string[]): Splice {
    const t = this.#text;
    if (to === t.length && t.length > 0 && !t.endsWith("\n")) {
      // Move the break before the new lines instead of after them.
      if (from > 0 && t[from - 1] === "\n") from -= t[from - 2] === "\r" ? 2 : 1;
      return { from, to, text: lines.map((l) => this.#eol + l).join("") };
    }
    return { from, to, text: this.#joined(lines) };
  }

  #joined(lines: string[]): string {
    return lines.map((l) => l + this.#eol).join("");
  }

  /** `head` with the spaces it needs to sit between `key:` and whatever followed the old value. */
  #pad(from: number, head: string, commentNext: boolean): string {
    return (/[ \t]/.test(this.#text[from - 1] ?? "") ? "" : " ") + head + (commentNext ? " " : "");
  }

  #lineStart(pos: number): number {
    return this.#text.lastIndexOf("\n", pos - 1) + 1;
  }

  #col(pos: number): number {
    return pos - this.#lineStart(pos);
  }

  /** Offset just past the line break of the line holding `pos` (or `pos` when it starts a line). */
  #afterLine(pos: number): number {
    if (pos > 0 && this.#text[pos - 1] === "\n") return pos;
    const nl = this.#text.indexOf("\n", pos);
    return nl < 0 ? this.#text.length : nl + 1;
  }

  #node(path: YamlPath): unknown {
    return this.#doc.getIn(path, true);
  }

  /** Apply splices, then refuse the result unless it parses to exactly the expected data. */
  #apply(splices: Splice[], expect: (js: unknown) => unknown): void {
    let next = this.#text;
    for (const s of [...splices].sort((a, b) => b.from - a.from)) {
      next = next.slice(0, s.from) + s.text + next.slice(s.to);
    }
    const doc = parseDocument(next);
    if (doc.errors.length) throw this.#refused();
    this.#text = next;
    this.#doc = doc;
    this.#expected.push(expect);
    this.#verified = false;
  }

  /** The final data must be the original data with exactly the edits applied: checked once, at the end. */
  #verify(): void {
    if (this.#verified) return;
    const expected = this.#expected.reduce((js, edit) => edit(js), this.#originalDoc.toJS());
    if (!isDeepStrictEqual(this.#doc.toJS(), expected)) throw this.#refused();
    this.#verified = true;
  }

  #refused(): ChargenError {
    return new ChargenError("target", `${this.file}: cannot write the change back without altering other data`, { file: this.file });
  }

  #userError(message: string): ChargenError {
    return new ChargenError("user", `${this.file}: ${message}`, { file: this.file });
  }
}

/** Where a parsed node's text starts. */
function nodeStart(node: unknown): number {
  return (node as Node).range![0];
}

/** End of a node's last value text, ignoring comments and blank lines that trail it. */
function contentEnd(node: Node): number {
  if ((isMap(node) || isSeq(node)) && !node.flow) {
    const last = node.items.at(-1);
    const inner = isPair(last) ? (last.value ?? last.key) : last;
    if (isNode(inner)) return contentEnd(inner);
  }
  return node.range![1];
}

function isEmptyDocument(contents: unknown): boolean {
  return contents == null || (isScalar(contents) && contents.range![0] === contents.range![1]);
}

/** Single-line flow rendering of `[x]` or `{k: v}` without its brackets; JSON when yaml would wrap. */
function flowText(value: object): string {
  const doc = new Document(value, { aliasDuplicateObjects: false });
  (doc.contents as YAMLMap | YAMLSeq).flow = true;
  const inner = doc.toString({ lineWidth: 0 }).trim().slice(1, -1).trim();
  return inner.includes("\n") ? JSON.stringify(value).slice(1, -1) : inner;
}

function getJs(root: unknown, path: YamlPath): unknown {
  return path.reduce<unknown>((cur, k) => (cur as Record<string | number, unknown> | null)?.[k], root);
}

function setJs(root: unknown, path: YamlPath, value: unknown): unknown {
  if (!path.length) return value;
  (getJs(root, path.slice(0, -1)) as Record<string | number, unknown>)[path.at(-1)!] = value;
  return root;
}

function fmt(path: YamlPath): string {
  return path.length ? path.join(".") : "the document root";
}
