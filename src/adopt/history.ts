import { posix } from "node:path";
import { isMap, type Node } from "yaml";
import type { TargetRecord } from "../graph/analyzer.js";
import type { SourceFile } from "../rules/api.js";
import { locationEntries } from "../rules/location-shapes.js";
import { parseSource } from "../rules/source.js";
import { get, items, js, pick, str } from "../yaml/access.js";

/**
 * The images a workspace already has, as its YAML records them: inventories, legacy
 * `generated_images`, entry-level output fields and the `imagery.runs.yaml` logs, written by the
 * earlier MemoryQuill tool or by chargen. Records name their target by the earlier tool's ids
 * (see ../shared/notes/memoryquill-contract.md A.4) or by ours; their paths may be absolute paths
 * of the author's machine, so a file is found by its name under the entity's `images/` folder.
 */

export interface RecordedImage {
  /** Workspace-relative path of the image file, which exists. */
  path: string;
  /** Where the record is, for reasons: "characters/x/imagery.runs.yaml:12". */
  from: string;
  /** The prompt the image was made from, when the record keeps it. */
  prompt?: string;
  provider?: string;
  model?: string;
  /** When it was made, as recorded. */
  at?: string;
}

export type HistoryVerdict = { status: "adopted"; image: RecordedImage } | { status: "stale"; image: RecordedImage; reason: string };

export const SCENARIO_CHANGED = "scenario changed since the recorded image";
export const INPUTS_CHANGED = "inputs changed since chargen recorded the image";

/** A record before its file is looked for. */
interface Candidate {
  file: string;
  node: Node;
  paths: string[];
  prompt?: string;
  provider?: string;
  model?: string;
  at?: string;
  /** The keys chargen recorded the image under, when the record is chargen's own. */
  keys?: string[];
}

/** What history reading needs of the workspace: its YAML and whether a file is there. */
export interface HistoryDisk {
  exists(path: string): boolean;
  readText(path: string): string | undefined;
}

/**
 * Parsed files kept at once: a build's memory must not grow with the workspace. The caller visits
 * targets file by file, and an entity's targets read its imagery.yaml and imagery.runs.yaml: this
 * entity's and the one before. More only held parsed documents that adoption's garbage then
 * promoted, the heap sized for them (32: 2,000 targets' old space 44-52 MB after adoption, 35 MB at 4).
 */
const KEPT_SOURCES = 4;

/** Reads the history of one workspace; each YAML file is parsed once while its targets are visited. */
export class History {
  /** Most recently used last. */
  private readonly sources = new Map<string, SourceFile | undefined>();

  /** `cards`: placeholder images count as history (only where the rules route to the placeholder). */
  constructor(
    private readonly disk: HistoryDisk,
    private readonly cards = false,
  ) {}

  /**
   * The recorded image of a target: the most authoritative record whose file is present
   * (chargen's own, then the entry's inventory, legacy `generated_images`, the runs log's latest
   * run, a character's catalogued image named after the target, the entry's own output fields).
   * Stale, not adopted, when the record keeps the prompt it was made from and today's scenario
   * text is not in it, or when chargen recorded it under a key other than `key` (today's).
   * Undefined when nothing recorded is present.
   */
  verdict(record: TargetRecord, key: string): HistoryVerdict | undefined {
    const found = this.candidates(record);
    if (!found) return undefined;
    for (const c of found.candidates) {
      // A rehearsal's card is not the image a record stands for.
      if (!this.cards && (c.provider === "placeholder" || str(c.node, "type") === "placeholder")) continue;
      const path = c.paths.find((p) => this.disk.exists(p));
      if (!path) continue;
      const image: RecordedImage = {
        path,
        from: this.where(c.file, c.node),
        ...(c.prompt ? { prompt: c.prompt } : {}),
        ...(c.provider ? { provider: c.provider } : {}),
        ...(c.model ? { model: c.model } : {}),
        ...(c.at ? { at: c.at } : {}),
      };
      if (c.keys?.length && !c.keys.includes(key)) return { status: "stale", image, reason: INPUTS_CHANGED };
      if (c.prompt && found.scenario && !collapse(c.prompt).includes(collapse(found.scenario))) return { status: "stale", image, reason: SCENARIO_CHANGED };
      return { status: "adopted", image };
    }
    return undefined;
  }

  private candidates(record: TargetRecord): { candidates: Candidate[]; scenario: string | undefined } | undefined {
    const source = this.source(record.source.file);
    if (!source) return undefined;
    const entity = posix.dirname(record.source.file);
    const root = source.doc.contents;
    const ids = new Set([record.id]);
    const own: Candidate[] = [];
    const named: Candidate[] = [];
    let scenario: string | undefined;
    let entryOutputs: Candidate | undefined;
    const [kind, slug] = record.id.split("/");
    if (kind === "chapters") {
      const customId = record.id.slice(`chapters/${slug}/`.length);
      const entry = items(root, "images").find((n) => str(n, "custom_id") === customId);
      if (!entry) return undefined;
      ids.add(customId);
      scenario = str(entry, "prompt_used");
      own.push(...this.inventory(source.path, entity, entry));
      entryOutputs = this.entryOutputs(source.path, entity, entry);
    } else if (kind === "characters") {
      const scenes = items(root, "scenes");
      const index = scenes.findIndex((n) => sameLine(source, n, record));
      const scene = scenes[index];
      if (!scene) return undefined;
      const title = str(scene, "title") ?? "";
      ids.add(`${slug}-${title.toLowerCase().replace(/[^a-z0-9]+/g, "-").slice(0, 40)}-${String(index).padStart(2, "0")}`);
      scenario = str(scene, "prompt_used") ?? str(scene, "scene");
      // By target id: ours in `provenance`, the earlier tool's in `generation` or as the entry id.
      const recordedFor = (n: Node) => [str(get(n, "generation"), "target_id"), str(get(n, "provenance"), "target_id"), str(n, "id")];
      own.push(...this.characterInventory(entity, (n) => recordedFor(n).some((id) => id !== undefined && ids.has(id))));
      // Catalogued images named after their target (`<target id>-<epoch ms>.png`) come after the runs.
      const names = [...ids, record.id.split("/").at(-1)!];
      named.push(...this.characterInventory(entity, (n) => names.some((name) => namedAfter(str(n, "path"), name))));
    } else if (kind === "locations") {
      const entry = locationEntries(root).entries.find((e) => `locations/${slug}/${e.id}` === record.id);
      if (!entry) return undefined;
      const zoneId = entry.zone ? pick([entry.zone], "slug", "zone_slug", "name") : undefined;
      const imageSlug = str(entry.entry, "image_slug");
      if (entry.kind === "overview") ids.add(str(entry.entry, "slug") ?? "overview");
      const zoneSelf = entry.kind === "zone" ? pick([entry.entry], "slug", "zone_slug", "name") : undefined;
      if (zoneSelf) ids.add(zoneSelf);
      if (entry.kind === "zone-image" && zoneId && imageSlug) ids.add(`${zoneId}__${imageSlug}`);
      scenario = pick(entry.fields, "prompt_used");
      own.push(...this.inventory(source.path, entity, entry.entry));
      own.push(...this.generatedImages(source.path, entity, entry.entry));
    } else return undefined;
    const runs = this.runs(entity, ids);
    const candidates = [...own, ...runs, ...named, ...(entryOutputs ? [entryOutputs] : [])];
    for (const c of candidates) {
      const keys = chargenKeys(c.node, record.id);
      if (keys) c.keys = keys;
    }
    // chargen's own records first: chargen came after the earlier tool, so they are the newer.
    return { candidates: [...candidates.filter((c) => c.keys), ...candidates.filter((c) => !c.keys)], scenario };
  }

  /** `image_inventory[]` of an entry, newest (last appended) first; rejected and archived images are not history to keep. */
  private inventory(file: string, entity: string, entry: Node): Candidate[] {
    return items(entry, "image_inventory")
      .filter(usable)
      .map((n) => this.inventoryCandidate(file, entity, n))
      .reverse();
  }

  /** A character's inventory entries that `match` the target, newest first. */
  private characterInventory(entity: string, match: (entry: Node) => boolean): Candidate[] {
    const file = `${entity}/imagery.yaml`;
    const source = this.source(file);
    if (!source) return [];
    return items(source.doc.contents, "image_inventory")
      .filter((n) => usable(n) && match(n))
      .map((n) => this.inventoryCandidate(file, entity, n))
      .reverse();
  }

  private inventoryCandidate(file: string, entity: string, n: Node): Candidate {
    const generation = get(n, "generation");
    return candidate(file, n, imagePaths(entity, str(n, "path"), undefined), {
      prompt: str(generation, "prompt_used"),
      provider: str(generation, "provider") ?? str(get(n, "provenance"), "provider"),
      model: str(generation, "model") ?? str(get(n, "provenance"), "model"),
      at: str(get(n, "provenance"), "created_at"),
    });
  }

  /** Legacy `generated_images[]` (and chargen's own location records), newest first. */
  private generatedImages(file: string, entity: string, entry: Node): Candidate[] {
    return items(entry, "generated_images")
      .filter((n) => usable(n) && js(n, "archived") !== true)
      .map((n) => candidate(file, n, imagePaths(entity, str(n, "file_path"), str(n, "file_name")), fieldsOf(n)))
      .reverse();
  }

  /** An entry's own output fields (`file_path`, `file_name`): a hand record, or chargen's chapter write-back. */
  private entryOutputs(file: string, entity: string, entry: Node): Candidate | undefined {
    const paths = imagePaths(entity, str(entry, "file_path"), str(entry, "file_name"));
    return paths.length ? candidate(file, entry, paths, { provider: str(entry, "provider"), model: str(entry, "model"), at: str(entry, "generated_at") }) : undefined;
  }

  /** Runs of the entity's `imagery.runs.yaml` for the target, latest first (the last run per target wins). */
  private runs(entity: string, ids: Set<string>): Candidate[] {
    const file = `${entity}/imagery.runs.yaml`;
    const source = this.source(file);
    if (!source) return [];
    return items(source.doc.contents, "runs")
      .filter((n) => ids.has(str(n, "target_id") ?? ""))
      .map((n) => candidate(file, n, imagePaths(entity, str(n, "file_path"), str(n, "file_name")), { ...fieldsOf(n), at: str(n, "timestamp") }))
      .reverse();
  }

  private source(path: string): SourceFile | undefined {
    if (this.sources.has(path)) {
      const kept = this.sources.get(path);
      this.sources.delete(path);
      this.sources.set(path, kept);
      return kept;
    }
    const text = this.disk.readText(path);
    const parsed = text === undefined ? undefined : parseSource(path, text);
    // A file that does not parse holds no history we can read; planning reports it.
    const source = parsed && "doc" in parsed ? parsed : undefined;
    this.sources.set(path, source);
    if (this.sources.size > KEPT_SOURCES) this.sources.delete(this.sources.keys().next().value!);
    return source;
  }

  private where(file: string, node: Node): string {
    return `${file}:${this.source(file)?.position(node).line ?? 1}`;
  }
}

function candidate(file: string, node: Node, paths: string[], fields: Partial<Record<"prompt" | "provider" | "model" | "at", string | undefined>>): Candidate {
  const c: Candidate = { file, node, paths };
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) c[k as keyof typeof fields] = v;
  return c;
}

function fieldsOf(n: Node) {
  return { prompt: str(n, "prompt_used"), provider: str(n, "provider"), model: str(n, "model"), at: str(n, "generated_at") };
}

/**
 * The keys a record of chargen's own (it names the target by our id) holds, wherever the record's
 * shape puts them; undefined for a record of another tool, whose hashes are not our keys.
 */
function chargenKeys(record: Node, targetId: string): string[] | undefined {
  const generation = get(record, "generation");
  const maps = [record, generation, get(record, "provenance"), get(record, "provider_metadata"), get(generation, "provider_metadata")];
  if (!maps.some((m) => str(m, "target_id") === targetId || str(m, "chargen_target") === targetId)) return undefined;
  return maps.flatMap((m) => ["key", "ir_hash", "chargen_key"].map((k) => str(m, k))).filter((k): k is string => k !== undefined);
}

/** Approved, draft or unmarked images: what the author kept. */
function usable(n: Node): boolean {
  const status = str(n, "status");
  return isMap(n) && status !== "rejected" && status !== "archived";
}

/**
 * Where a recorded image may be, workspace-relative: a relative path under the entity folder (the
 * contract's) or under the workspace (chargen's runs log), and for an absolute path of another
 * machine, or a bare file name, `images/<file name>` under the entity folder.
 */
function imagePaths(entity: string, path: string | undefined, fileName: string | undefined): string[] {
  const out: string[] = [];
  if (path && !/^([\\/]|[A-Za-z]:[\\/])/.test(path)) {
    const relative = path.replace(/\\/g, "/");
    out.push(posix.normalize(posix.join(entity, relative)), posix.normalize(relative));
  }
  // A name only: a recorded `../` never leads out of the entity's images.
  const name = (fileName ?? path)?.split(/[\\/]/).at(-1);
  if (name && name !== ".." && name !== ".") out.push(`${entity}/images/${name}`);
  return [...new Set(out)].filter((p) => !p.startsWith("../") && p !== ".." && !posix.isAbsolute(p));
}

/**
 * Whether a file is named after a target: `<name>.<ext>` (chargen's outputs) or the earlier tool's
 * `<name>-<epoch ms>[-<YYYY-MM-DD>].<ext>`.
 */
function namedAfter(path: string | undefined, name: string): boolean {
  const stem = path?.split(/[\\/]/).at(-1)?.replace(/\.[a-z0-9]+$/i, "");
  if (!stem?.startsWith(name)) return false;
  return /^(-\d{10,}(-\d{4}-\d{2}-\d{2})?)?$/.test(stem.slice(name.length));
}

function sameLine(source: SourceFile, node: Node, record: TargetRecord): boolean {
  const at = source.position(node);
  return at.line === record.source.line && at.column === record.source.column;
}

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
