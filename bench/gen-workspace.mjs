#!/usr/bin/env node
/**
 * A synthetic MemoryQuill workspace for the benchmarks, the same for a given seed:
 *   chapters/chNNNN-<slug>/imagery.yaml   1,000 files x 10 images = 10,000 targets
 *   characters/<slug>/imagery.yaml        250 characters, 2 inventory images each (500 small PNGs)
 *   build.ninja                           the same graph for ninja: one edge per image
 *
 * Usage: node bench/gen-workspace.mjs [--out DIR] [--chapters 1000] [--images 10] [--characters 250] [--seed 1]
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { PNG } from "pngjs";

const { values } = parseArgs({
  options: {
    out: { type: "string", default: "bench/work/ws" },
    chapters: { type: "string", default: "1000" },
    images: { type: "string", default: "10" },
    characters: { type: "string", default: "250" },
    seed: { type: "string", default: "1" },
  },
});
const OUT = resolve(values.out);
const CHAPTERS = Number(values.chapters);
const IMAGES = Number(values.images);
const CHARACTERS = Number(values.characters);

// mulberry32: a small seeded PRNG, so that every run makes the same workspace.
let state = Number(values.seed) >>> 0;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
}
const pick = (list) => list[Math.floor(random() * list.length)];
const pickN = (list, n) => {
  const copy = [...list];
  const out = [];
  while (out.length < n && copy.length) out.push(copy.splice(Math.floor(random() * copy.length), 1)[0]);
  return out;
};
const words = (list, n) => Array.from({ length: n }, () => pick(list)).join(" ");

const FIRST = ["nell", "osric", "mara", "tobin", "ilse", "corin", "wren", "agnes", "bram", "edda", "fenn", "halla", "jory", "kit", "lise", "moss"];
const LAST = ["farrow", "vane", "hale", "brook", "marsh", "thorne", "quill", "ashdown", "reed", "cobb", "dunmore", "fairweather"];
const NOUNS = ["lantern", "fog", "tide", "marker", "harbour", "gull", "rope", "ledger", "skiff", "lighthouse", "shoal", "beacon", "storm", "jetty", "reef", "oar"];
const ADJS = ["grey", "amber", "drowned", "quiet", "salt-stained", "cold", "warm", "crooked", "distant", "brass", "tarred", "windswept"];
const MOODS = ["ethereal", "intimate", "ominous", "kinetic", "pastoral", "melancholy"];
const TYPES = ["establishing", "hero", "beat", "detail"];
const SIZES = [["256x256", "1:1"], ["256x192", "4:3"], ["192x256", "3:4"]];
const STYLE = "Gouache storybook illustration with loose ink lines";

const q = (s) => JSON.stringify(s);
const block = (text, indent) => `|\n${text.split("\n").map((l) => " ".repeat(indent) + l).join("\n")}`;
const sentence = () => {
  const s = `${pick(ADJS)} ${pick(NOUNS)} ${words([...NOUNS, ...ADJS, "and", "over", "beside", "under", "the", "a"], 9 + Math.floor(random() * 8))}`;
  return s[0].toUpperCase() + s.slice(1) + ".";
};

function tinyPng(n) {
  // 4x4, one colour per image from its index: every file has distinct bytes and digest.
  const png = new PNG({ width: 4, height: 4 });
  for (let i = 0; i < 16; i++) png.data.set([(n * 37) & 255, (n * 91 + i) & 255, ((n >> 8) * 53 + 17) & 255, 255], i * 4);
  return PNG.sync.write(png);
}

function write(path, content) {
  const full = join(OUT, path);
  mkdirSync(dirname(full), { recursive: true });
  writeFileSync(full, content);
}

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });

// Characters: two approved inventory images each, the first flagged as the reference portrait.
const characters = [];
for (let c = 0; c < CHARACTERS; c++) {
  const slug = `${FIRST[c % FIRST.length]}-${LAST[Math.floor(c / FIRST.length) % LAST.length]}-${String(c).padStart(3, "0")}`;
  const images = [
    { id: `${slug}-portrait`, file: "images/portrait.png", portrait: true },
    { id: `${slug}-profile`, file: "images/profile.png", portrait: false },
  ];
  images.forEach((img, i) => write(`characters/${slug}/${img.file}`, tinyPng(c * 2 + i)));
  const inventory = images
    .map((img) =>
      [
        `  - id: ${q(img.id)}`,
        `    path: ${q(img.file)}`,
        `    type: "imported"`,
        `    is_reference_portrait: ${img.portrait}`,
        `    content:`,
        `      title: ${q(img.portrait ? "Reference Portrait" : "Profile")}`,
        `      description: ${q(sentence())}`,
        `      alt_text: ${q(sentence())}`,
        // Complete records: the benchmark measures image targets, not analysis ones (see describeImages).
        `      tags: [${q(img.portrait ? "portrait" : "profile")}]`,
        `    status: "approved"`,
      ].join("\n"),
    )
    .join("\n");
  write(
    `characters/${slug}/imagery.yaml`,
    `# Character imagery: ${slug}\nentity_type: "character"\nslug: ${q(slug)}\nappearance: ${q(`${sentence()} ${sentence()}`)}\nprompts: []\nimage_inventory:\n${inventory}\n`,
  );
  characters.push({ slug, refs: images.map((i) => i.id), files: images.map((i) => `characters/${slug}/${i.file}`) });
}

// Chapters, and the ninja edges over the same graph.
const edges = [];
for (let n = 1; n <= CHAPTERS; n++) {
  const slug = `ch${String(n).padStart(4, "0")}-${pick(ADJS)}-${pick(NOUNS)}`;
  const cast = pickN(characters, 3);
  const file = `chapters/${slug}/imagery.yaml`;
  const lines = [
    `# Chapter ${n} imagery (synthetic benchmark workspace)`,
    `metadata:`,
    `  entity_type: "chapter-imagery"`,
    `  slug: ${q(slug)}`,
    `  chapter_number: ${n}`,
    `  chapter_title: ${q(`The ${pick(ADJS)} ${pick(NOUNS)}`)}`,
    `  visual_thesis: ${q(sentence())}`,
    `  color_palette:`,
    `    primary:`,
    `      - "#7A8591" # Fog pewter`,
    `      - "#3E5566" # Slate channel water`,
    `    accent:`,
    `      - "#E8A84A" # Keeper amber`,
    `  generation_defaults:`,
    `    provider: "placeholder"`,
    `    model: "placeholder-1"`,
    `    quality: "standard"`,
    ``,
    `characters:`,
    ...cast.flatMap((c) => [
      `  - ref: ${q(c.slug)}`,
      `    name: ${q(c.slug.replace(/-\d+$/, "").replace(/-/g, " "))}`,
      `    scene_variations: ${block(`CHAPTER ${n}:\n- ${sentence()}`, 6)}`,
      `    reference_images:`,
      ...c.refs.map((r) => `      - ${q(r)}`),
    ]),
    ``,
    `images:`,
  ];
  for (let i = 1; i <= IMAGES; i++) {
    const customId = `${slug}-img-${String(i).padStart(2, "0")}`;
    const depicts = pickN(cast, 1 + Math.floor(random() * 2));
    const [size, aspect] = pick(SIZES);
    const mood = pick(MOODS);
    lines.push(
      `  - custom_id: ${q(customId)}`,
      `    scene_id: ${q(`scn-${n}-${i}`)}`,
      `    image_type: ${q(pick(TYPES))}`,
      `    scene_mood: ${q(mood)} # ${pick(ADJS)}`,
      `    mood_rationale: ${block(sentence(), 6)}`,
      `    aspect_ratio: ${q(aspect)}`,
      `    size: ${q(size)}`,
      `    visual_description: ${block(`${sentence()} ${sentence()}`, 6)}`,
      `    depicts_characters:`,
      ...depicts.map((c) => `      - ${q(c.slug)}`),
      `    prompt_used: ${block(`${STYLE}, ${mood} scene.\n${sentence()} ${sentence()}\n${sentence()}`, 6)}`,
      `    negative_prompt: ${block("photograph, 3D render, neon, text, watermark", 6)}`,
      `    tags:`,
      `      - ${q(mood)}`,
      `      - ${q(pick(NOUNS))}`,
      `    generated_at: null`,
      `    file_name: null`,
      `    file_path: null`,
      `    provider: null`,
      `    model: null`,
      `    provider_metadata: {}`,
      ``,
    );
    edges.push({ out: `chapters/${slug}/images/${customId}.png`, ins: [file, ...depicts.flatMap((c) => c.files)] });
  }
  write(file, lines.join("\n"));
}

// Ninja's outputs live under ninja-out/ so that the two tools never touch each other's files;
// the staleness work (stat every input and output, compare with the log) is the same.
write(
  "build.ninja",
  [
    "# One edge per chapter image: the chapter YAML and the depicted characters' images -> the image.",
    "rule gen",
    "  command = touch $out",
    "  description = GEN $out",
    "",
    ...edges.map((e) => `build ninja-out/${e.out}: gen ${e.ins.join(" ")}`),
    "",
  ].join("\n"),
);

console.log(`${OUT}: ${CHAPTERS} chapter files, ${edges.length} images, ${CHARACTERS} characters, ${CHARACTERS * 2} reference images`);
