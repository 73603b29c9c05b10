import { describe, expect, test } from "vitest";
import { ChargenError } from "../src/core/errors.js";
import { YamlEditor } from "../src/yaml/edit.js";

/** Apply `edit` to `src` and return the edited text. */
function edited(src: string, edit: (e: YamlEditor) => void): string {
  const e = YamlEditor.parse(src, "story.yaml");
  edit(e);
  return e.toString();
}

describe("YamlEditor.set", () => {
  test("fills a null value in a sequence item, keeping its trailing comment", () => {
    const src = [
      "images:",
      "  - custom_id: hero",
      "    generated_at: null  # filled later",
      "    file_path: ~",
      "",
    ].join("\n");
    const out = edited(src, (e) => {
      e.set(["images", 0], "generated_at", "2024-05-01T10:00:00Z");
      e.set(["images", 0], "file_path", "out/hero.png");
    });
    expect(out).toBe(
      [
        "images:",
        "  - custom_id: hero",
        "    generated_at: \"2024-05-01T10:00:00Z\"  # filled later",
        "    file_path: out/hero.png",
        "",
      ].join("\n"),
    );
  });

  test("adds an absent key at the end of an item's map, before the blank lines and comments of the next item", () => {
    const src = [
      "images:",
      "  - custom_id: hero",
      "    prompt: a lighthouse at dusk",
      "",
      "  # the villain",
      "  - custom_id: villain",
      "    prompt: a storm",
      "",
    ].join("\n");
    const out = edited(src, (e) => {
      e.set(["images", 0], "file_path", "out/hero.png");
      e.set(["images", 0], "provider_metadata", { model: "gpt-image-1", seed: 7, tags: ["a", "b"] });
    });
    expect(out).toBe(
      [
        "images:",
        "  - custom_id: hero",
        "    prompt: a lighthouse at dusk",
        "    file_path: out/hero.png",
        "    provider_metadata:",
        "      model: gpt-image-1",
        "      seed: 7",
        "      tags:",
        "        - a",
        "        - b",
        "",
        "  # the villain",
        "  - custom_id: villain",
        "    prompt: a storm",
        "",
      ].join("\n"),
    );
  });

  test("replaces empty, ~, {} and [] values", () => {
    const src = "a:\nb: ~\nc: {}\nd: []\ne: end\n";
    const out = edited(src, (e) => {
      e.set([], "a", "x");
      e.set([], "b", { k: 1 });
      e.set([], "c", { z: [1] });
      e.set([], "d", []);
      e.set([], "e", [{ n: 1 }]);
    });
    expect(out).toBe("a: x\nb:\n  k: 1\nc:\n  z:\n    - 1\nd: []\ne:\n  - \"n\": 1\n");
  });

  test("an empty value followed by a comment", () => {
    expect(edited("a: # later\nb: 1\n", (e) => e.set([], "a", "v"))).toBe("a: v # later\nb: 1\n");
    expect(edited("a: # later\nb: 1\n", (e) => e.set([], "a", [1]))).toBe("a: # later\n  - 1\nb: 1\n");
    expect(edited("a: null  # later\n", (e) => e.set([], "a", { k: "v" }))).toBe("a: # later\n  k: v\n");
  });

  test("follows the file's indentation step", () => {
    const src = ["m:", "    a: 1", "    list:", "        - x", "n: 2", ""].join("\n");
    const out = edited(src, (e) => e.set(["m"], "meta", { tags: ["t"], deep: { k: "v" } }));
    expect(out).toBe(
      ["m:", "    a: 1", "    list:", "        - x", "    meta:", "        tags:", "            - t", "        deep:", "            k: v", "n: 2", ""].join("\n"),
    );
  });

  test("keeps `- ` unindented under its key when the file does", () => {
    const src = "images:\n- custom_id: a\n";
    const out = edited(src, (e) => e.set(["images", 0], "sizes", [{ w: 1, h: 2 }]));
    expect(out).toBe("images:\n- custom_id: a\n  sizes:\n  - w: 1\n    h: 2\n");
  });

  test("the last entry of a file without a trailing newline stays without one", () => {
    expect(edited("a: 1\nb: 2", (e) => e.set([], "b", 3))).toBe("a: 1\nb: 3");
    expect(edited("a: 1\nb: 2", (e) => e.set([], "c", { k: 1 }))).toBe("a: 1\nb: 2\nc:\n  k: 1");
    expect(edited("a: 1\nb: 2", (e) => e.set([], "b", { k: 1 }))).toBe("a: 1\nb:\n  k: 1");
    expect(edited("a:\n  x: 1\nb: 2", (e) => e.set([], "a", "s"))).toBe("a: s\nb: 2");
    expect(edited("a: 1\nb:\n  x: 1", (e) => e.set([], "b", "s"))).toBe("a: 1\nb: s");
  });

  test("the last entry of a file with a trailing newline", () => {
    expect(edited("a: 1\nb: 2\n", (e) => e.set([], "c", "x"))).toBe("a: 1\nb: 2\nc: x\n");
    expect(edited("a: 1\nb: 2\n# end\n", (e) => e.set([], "c", "x"))).toBe("a: 1\nb: 2\nc: x\n# end\n");
  });

  test("keeps CRLF line breaks", () => {
    const src = "runs:\r\n- id: 1\r\n  note: |\r\n    hi\r\n# trailing\r\n";
    const out = edited(src, (e) => {
      e.set(["runs", 0], "note", "short");
      e.set(["runs", 0], "status", "ok");
      e.append(["runs"], { id: 2, note: "a\nb" });
    });
    expect(out).toBe("runs:\r\n- id: 1\r\n  note: short\r\n  status: ok\r\n- id: 2\r\n  note: |-\r\n    a\r\n    b\r\n# trailing\r\n");
  });

  test("documents starting with ---", () => {
    const src = "---\n# header\ntitle: Lantern Keepers\n";
    expect(edited(src, (e) => e.set([], "generated_at", "2024-05-01"))).toBe(
      "---\n# header\ntitle: Lantern Keepers\ngenerated_at: \"2024-05-01\"\n",
    );
    expect(edited("---\n", (e) => e.set([], "a", 1))).toBe("---\na: 1\n");
  });

  test("multi-line strings become block scalars; block scalars can be replaced", () => {
    expect(edited("a: null  # c\nb: 2\n", (e) => e.set([], "a", "one\ntwo"))).toBe("a: |-  # c\n  one\n  two\nb: 2\n");
    expect(edited("a: |\n  text\n# c\nb: 2\n", (e) => e.set([], "a", "x"))).toBe("a: x\n# c\nb: 2\n");
    expect(edited("a: |\n  text\nb: 2\n", (e) => e.set([], "a", { x: 1 }))).toBe("a:\n  x: 1\nb: 2\n");
    expect(edited("- k: 1\n", (e) => e.set([0], "k", "  indented\nx"))).toBe("- k: |2-\n      indented\n    x\n");
  });

  test("quotes only when needed and never folds long strings", () => {
    const long = "word ".repeat(40).trim();
    const out = edited("a: 1\n", (e) => {
      e.set([], "plain", long);
      e.set([], "colon", "a: b");
      e.set([], "numeric", "42");
      e.set([], "nothing", null);
      e.set([], "flag", true);
    });
    expect(out).toBe(`a: 1\nplain: ${long}\ncolon: "a: b"\nnumeric: "42"\nnothing: null\nflag: true\n`);
  });

  test("inserts into non-empty flow collections in flow style", () => {
    const src = "l: [1, 2]  # c\nfm: {a: 1}\n";
    const out = edited(src, (e) => {
      e.append(["l"], "x, y");
      e.set(["fm"], "b", "two");
    });
    expect(out).toBe('l: [1, 2, "x, y"]  # c\nfm: {a: 1, b: two}\n');
  });

  test("setting the same value twice gives the same text as once", () => {
    const src = "images:\n  - custom_id: a  # hero\n    file_path:\n";
    const once = edited(src, (e) => {
      e.set(["images", 0], "file_path", "out/a.png");
      e.set(["images", 0], "provider_metadata", { model: "m", seed: 1 });
    });
    const twice = edited(src, (e) => {
      for (let i = 0; i < 2; i++) {
        e.set(["images", 0], "file_path", "out/a.png");
        e.set(["images", 0], "provider_metadata", { model: "m", seed: 1 });
      }
    });
    expect(twice).toBe(once);
    expect(edited(once, (e) => e.set(["images", 0], "file_path", "out/a.png"))).toBe(once);
  });

  test("a value already equal in data keeps the author's spelling", () => {
    const src = "a: \"quoted\"   # note\nb: 1.0\nc: {x: 1}\n";
    const e = YamlEditor.parse(src, "story.yaml");
    e.set([], "a", "quoted");
    e.set([], "b", 1);
    e.set([], "c", { x: 1 });
    expect(e.toString()).toBe(src);
    expect(e.changed).toBe(false);
  });

  test("throws a user error when the path is not a map", () => {
    const e = YamlEditor.parse("a: [1]\nb: text\n", "story.yaml");
    for (const path of [["a"], ["b"], ["missing"]]) {
      expect(() => e.set(path, "k", 1)).toThrow(ChargenError);
      try {
        e.set(path, "k", 1);
      } catch (err) {
        expect((err as ChargenError).kind).toBe("user");
      }
    }
  });

  test("refuses edits that would not read back as set: the text cannot be taken, so nothing is written", () => {
    for (const edit of [(e: YamlEditor) => e.set([], "b", undefined), (e: YamlEditor) => e.setAll([], { a: undefined, c: 2 })]) {
      // Refused when the edit does not parse, or at the latest when the text is taken.
      const e = YamlEditor.parse("a: 1\n", "story.yaml");
      expect(() => {
        edit(e);
        e.toString();
      }).toThrow(/cannot write the change back/);
    }
  });

  test("setAll sets several keys of an entry in one edit, replacing and adding", () => {
    const src = ["images:", "  - custom_id: a  # first", "    generated_at: null", "    provider: null", "", "  - custom_id: b", ""].join("\n");
    const out = edited(src, (e) => e.setAll(["images", 0], { generated_at: "2026-01-01", provider: "placeholder", file_name: "a.png" }));
    expect(out).toBe(["images:", "  - custom_id: a  # first", "    generated_at: \"2026-01-01\"", "    provider: placeholder", "    file_name: a.png", "", "  - custom_id: b", ""].join("\n"));
  });
});

describe("YamlEditor.append", () => {
  test("appends to an indented block sequence after its last item", () => {
    const src = ["generated_images:", "  - id: 1", "    path: a.png  # first", "", "# footer", ""].join("\n");
    const out = edited(src, (e) => e.append(["generated_images"], { id: 2, path: "b.png", sizes: [1, 2] }));
    expect(out).toBe(
      [
        "generated_images:",
        "  - id: 1",
        "    path: a.png  # first",
        "  - id: 2",
        "    path: b.png",
        "    sizes:",
        "      - 1",
        "      - 2",
        "",
        "# footer",
        "",
      ].join("\n"),
    );
  });

  test("appends to an unindented block sequence", () => {
    expect(edited("runs:\n- a\nnext: 1\n", (e) => e.append(["runs"], "b"))).toBe("runs:\n- a\n- b\nnext: 1\n");
  });

  test("creates the sequence when absent, null or []", () => {
    expect(edited("title: x\n", (e) => e.append(["runs"], { id: 1 }))).toBe("title: x\nruns:\n  - id: 1\n");
    expect(edited("runs:  # none yet\ntitle: x\n", (e) => e.append(["runs"], "a"))).toBe("runs: # none yet\n  - a\ntitle: x\n");
    expect(edited("runs: null\n", (e) => e.append(["runs"], "a"))).toBe("runs:\n  - a\n");
    expect(edited("runs: []\nlist:\n- x\n", (e) => e.append(["runs"], "a"))).toBe("runs:\n- a\nlist:\n- x\n");
    expect(edited("a: 1", (e) => e.append(["runs"], "a"))).toBe("a: 1\nruns:\n  - a");
  });

  test("throws a user error when the path holds something else", () => {
    const e = YamlEditor.parse("runs: {a: 1}\n", "story.yaml");
    expect(() => e.append(["runs"], 1)).toThrow(expect.objectContaining({ kind: "user" }));
  });
});

describe("YamlEditor.parse and round trip", () => {
  const messy = [
    "%YAML 1.2",
    "---",
    "# Lantern Keepers — cast sheet",
    "title:   'The Lantern Keepers'   # single quotes, odd spacing",
    'subtitle: "double \\"quoted\\""',
    "long: " + "a very long line that must never be folded ".repeat(6).trim(),
    "flow: { a: 1,   b: [x,  y] }",
    "",
    "",
    "images:",
    "- custom_id: hero   # main",
    "  prompt: >",
    "    folded",
    "    text",
    "",
    "  # between",
    "- &villain {custom_id: villain}",
    "- *villain",
    "empty:",
    "tilde: ~",
    "...",
    "",
  ].join("\n");

  test("no edit gives back the input byte for byte", () => {
    const e = YamlEditor.parse(messy, "story.yaml");
    expect(e.toString()).toBe(messy);
    expect(e.changed).toBe(false);
    const crlf = YamlEditor.parse(messy.replaceAll("\n", "\r\n"), "story.yaml");
    expect(crlf.toString()).toBe(messy.replaceAll("\n", "\r\n"));
  });

  test("an edit touches only its own bytes", () => {
    const e = YamlEditor.parse(messy, "story.yaml");
    e.set(["images", 0], "file_path", "out/hero.png");
    expect(e.changed).toBe(true);
    expect(e.toString()).toBe(messy.replace("    text\n", "    text\n  file_path: out/hero.png\n"));
    expect(e.doc.getIn(["images", 0, "file_path"])).toBe("out/hero.png");
  });

  test("unparseable text throws a user error with file, line and column", () => {
    let err: unknown;
    try {
      YamlEditor.parse("title: x\nimages:\n  - a: 1\n   b: 2\n", "story.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ChargenError);
    const c = err as ChargenError;
    expect(c.kind).toBe("user");
    expect(c.details).toMatchObject({ file: "story.yaml", line: 4 });
    expect(c.details.column).toBeTypeOf("number");
  });
});

describe("rendering for YAML 1.1 readers", () => {
  test("quotes strings a 1.1 reader would take for a date, a base-60 number or a boolean; the data is unchanged", () => {
    const out = edited("entry: {}\n", (e) => e.set([], "entry", { at: "2026-03-01T12:00:00.000Z", aspect: "16:9", size: "1792x1024", flag: "yes", n: 3 }));
    expect(out).toBe('entry:\n  at: "2026-03-01T12:00:00.000Z"\n  aspect: "16:9"\n  size: 1792x1024\n  flag: "yes"\n  "n": 3\n');
  });
});

describe("quoting like the file", () => {
  test("a file whose string values are double-quoted gets double-quoted values (keys plain, numbers as numbers)", () => {
    const src = 'entity_type: "character"\nslug: "ada"\nimage_inventory:\n  - id: "ada-portrait"\n    path: "images/portrait.png"\n';
    const out = edited(src, (e) => e.append(["image_inventory"], { id: "scene", path: "images/scene.png", n: 2, notes: "line one\nline two" }));
    expect(out).toBe(`${src}  - id: "scene"\n    path: "images/scene.png"\n    "n": 2\n    notes: "line one\\nline two"\n`);
  });

  test("a hand-written file with mostly plain strings keeps plain ones", () => {
    const src = 'title: Lantern Keepers\nslug: "lk"\nmood: quiet\n';
    expect(edited(src, (e) => e.set([], "by", "chargen"))).toBe(`${src}by: chargen\n`);
  });
});

describe("YamlEditor.delete and removeItem", () => {
  const entries = `images:
  # the first
  - custom_id: a # keep me
    title: A

  - custom_id: b
    lighting:
      quality: soft
    prompt: |
      line one
      line two

  - custom_id: c
    title: C
other: 1 # trailing
`;

  test("delete removes a key's lines (a block value and a block scalar included), comments elsewhere stay", () => {
    expect(edited(entries, (e) => e.delete(["images", 1], "lighting"))).toBe(entries.replace("    lighting:\n      quality: soft\n", ""));
    expect(edited(entries, (e) => e.delete(["images", 1], "prompt"))).toBe(entries.replace("    prompt: |\n      line one\n      line two\n", ""));
    expect(edited(entries, (e) => e.delete(["images", 0], "absent"))).toBe(entries);
  });

  test("delete of an item's first key gives the `- ` line to the next key; of the only key leaves {}", () => {
    expect(edited(entries, (e) => e.delete(["images", 2], "custom_id"))).toBe(entries.replace("  - custom_id: c\n    title: C", "  - title: C"));
    expect(edited("a:\n  b: 1\nc: 2\n", (e) => e.delete(["a"], "b"))).toBe("a: {}\nc: 2\n");
  });

  test("removeItem takes the entry and the blank lines after it; the last item leaves []", () => {
    expect(edited(entries, (e) => e.removeItem(["images"], 1))).toBe(entries.replace(/  - custom_id: b\n[\s\S]*?line two\n\n/, ""));
    expect(edited(entries, (e) => e.removeItem(["images"], 2))).toBe(entries.replace("\n  - custom_id: c\n    title: C\n", ""));
    expect(edited(entries, (e) => e.removeItem(["images"], 0))).toBe(entries.replace("  - custom_id: a # keep me\n    title: A\n\n", ""));
    expect(edited("images:\n  - custom_id: a\nother: 1\n", (e) => e.removeItem(["images"], 0))).toBe("images: []\nother: 1\n");
  });

  test("a flow sequence with several items is refused, not rewritten", () => {
    expect(() => edited("a: [1, 2]\n", (e) => e.removeItem(["a"], 0))).toThrow(ChargenError);
  });
});
