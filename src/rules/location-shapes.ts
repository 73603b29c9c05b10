import { isMap, isScalar, type Node, type YAMLMap } from "yaml";
import type { YamlPath } from "../yaml/edit.js";
import { unsafeName } from "../core/boundary.js";
import { SlugScope, slugify } from "../core/slug.js";
import { get, listAt, pick, shapeOf } from "../yaml/access.js";

/**
 * Location imagery files come in several generations of the schema. This maps every variant the
 * MemoryQuill files have to one shape, and names every entry it cannot read. Pure over the
 * document, so that a write-back finds an entry again exactly as planning numbered it.
 */

export type LocationEntryKind = "overview" | "zone" | "zone-image" | "beat";

export interface LocationEntry {
  kind: LocationEntryKind;
  /** Below `locations/<slug>/`: "overview", "zones/<zone>", "zones/<zone>/<image>", "beats/<beat>". */
  id: string;
  /** Where it is, for messages: "zones[3]", "zones[3].images[1]", "beat_images[0]". */
  label: string;
  /** Document path of the entry (its `generated_images` is appended to). */
  path: YamlPath;
  entry: YAMLMap;
  /** Nodes holding its fields, most specific first: a beat's `image_spec` before the beat. */
  fields: Node[];
  /** A nested image's zone: its `zone_visual_anchor` and `default_prompt_elements` apply. */
  zone?: YAMLMap;
}

export interface ShapeProblem {
  severity: "error" | "warning";
  node: Node | undefined;
  message: string;
  /** The entry's id when it got one despite the problem (a fallback id, a renamed duplicate). */
  id?: string;
}

const ZONE = { id: ["slug", "zone_id", "zone_slug"], name: ["name", "zone_name", "title"], prefix: "zones/" };
const IMAGE = { id: ["image_slug", "slug", "image_id", "id"], name: ["title", "name"] };
const BEAT = { id: ["slug", "beat_id", "beat_slug"], name: ["title", "name", "beat_name", "beat_title"], prefix: "beats/" };
/** Zones are `zones[]`; the older `location-imagery.yaml` calls them `parts[]`. */
const ZONE_LISTS = ["zones", "parts"];

type Report = (severity: ShapeProblem["severity"], node: Node | undefined, message: string, id?: string) => void;

export function locationEntries(root: unknown): { entries: LocationEntry[]; problems: ShapeProblem[] } {
  const entries: LocationEntry[] = [];
  const problems: ShapeProblem[] = [];
  const problem: Report = (severity, node, message, id) => void problems.push({ severity, node, message, ...(id ? { id } : {}) });

  const overview = get(root, "overview");
  if (isMap(overview)) entries.push({ kind: "overview", id: "overview", label: "overview", path: ["overview"], entry: overview, fields: withSpec(overview) });
  else if (present(overview)) problem("error", overview, `overview is ${shapeOf(overview)}, not an image entry`);

  const zones = new SlugScope();
  for (const key of ZONE_LISTS) {
    listOf(root, key, problem).forEach((zone, i) => {
      const label = `${key}[${i}]`;
      if (!isMap(zone)) return problem("error", zone, `${label} is ${shapeOf(zone)}, not a zone`);
      const zoneId = identify(zone, label, ZONE, zones, problem);
      if (!zoneId) return;
      const nested = listOf(zone, "images", problem, label);
      const images = new SlugScope();
      nested.forEach((image, j) => {
        const imageLabel = `${label}.images[${j}]`;
        if (!isMap(image)) return problem("error", image, `${imageLabel} is ${shapeOf(image)}, not an image entry`);
        const fields = withSpec(image);
        const imageId = identify(image, imageLabel, { ...IMAGE, prefix: `zones/${zoneId}/` }, images, problem, fields);
        if (!imageId) return;
        entries.push({ kind: "zone-image", id: `zones/${zoneId}/${imageId}`, label: imageLabel, path: [key, i, "images", j], entry: image, fields, zone });
      });
      // A zone with nested images is their container; it is an image itself only with a ready prompt of its own.
      if (!nested.length || pick([zone], "prompt_used")) {
        entries.push({ kind: "zone", id: `zones/${zoneId}`, label, path: [key, i], entry: zone, fields: withSpec(zone) });
      }
    });
  }

  const beats = new SlugScope();
  listOf(root, "beat_images", problem).forEach((beat, i) => {
    const label = `beat_images[${i}]`;
    if (!isMap(beat)) return problem("error", beat, `${label} is ${shapeOf(beat)}, not a beat image`);
    const fields = withSpec(beat);
    // A beat with neither id nor name is numbered by position: stable only while beats keep their order.
    const byPosition = () => ({ id: `beat-${i + 1}`, why: "comes from its position, and changes if beats are reordered" });
    const beatId = identify(beat, label, BEAT, beats, problem, fields, byPosition);
    if (!beatId) return;
    entries.push({ kind: "beat", id: `beats/${beatId}`, label, path: ["beat_images", i], entry: beat, fields });
  });

  return { entries, problems };
}

/** The entry, and its `image_spec` before it when the spec is nested there. */
function withSpec(entry: YAMLMap): Node[] {
  const spec = get(entry, "image_spec");
  return isMap(spec) ? [spec, entry] : [entry];
}

function present(node: Node | undefined): node is Node {
  return node !== undefined && !(isScalar(node) && node.value === null);
}

/** The items of a list; anything else there (a map, a string) is a problem that names it. */
function listOf(node: unknown, key: string, problem: Report, within?: string): Node[] {
  const { items, wrong } = listAt(node, key);
  if (wrong) problem("error", wrong, `${within ? `${within}.` : ""}${key} is ${shapeOf(wrong)}, not a list`);
  return items;
}

/**
 * An entry's id: its own id field (under any of its historical names), else a slug of its name,
 * reported because a renamed entry then gets a new id, else `fallback`'s, else none (an error);
 * none too when it is too long for a file name.
 * Duplicates get a numbered suffix, reported. Warnings name the id the entry got (`prefix` + id).
 */
function identify(
  entry: YAMLMap,
  label: string,
  keys: { id: string[]; name: string[]; prefix: string },
  scope: SlugScope,
  problem: Report,
  fields: Node[] = [entry],
  fallback?: () => { id: string; why: string },
): string | undefined {
  const warnings: string[] = [];
  const given = pick(fields, ...keys.id);
  let base = slugify(given);
  if (given && base !== given) warnings.push(`${label}: id "${given}" is not a slug; it is used as "${base}"`);
  if (!base) {
    const name = pick(fields, ...keys.name);
    base = slugify(name);
    if (base) warnings.push(`${label} has no ${keys.id.join(", ")}; its id comes from its name "${name}", and changes if it is renamed`);
    else if (fallback) {
      const f = fallback();
      base = f.id;
      warnings.push(`${label} has no ${keys.id.join(", ")} or ${keys.name.join(", ")}; its id ${f.why}`);
    } else {
      problem("error", entry, `${label} has no ${keys.id.join(", ")} or ${keys.name.join(", ")} to make its id from`);
      return undefined;
    }
  }
  // A slug is safe but for its length: it becomes a file name.
  const unsafe = unsafeName(base);
  if (unsafe) {
    problem("error", entry, `${label}: its id "${base.slice(0, 40)}…" is not a safe file name: ${unsafe}`);
    return undefined;
  }
  const { id, duplicateOf } = scope.claim(base);
  if (duplicateOf) warnings.push(`${label}: id "${duplicateOf}" is already used by an earlier entry; this one is "${id}" by its position: give it a distinct id`);
  for (const w of warnings) problem("warning", entry, w, keys.prefix + id);
  return id;
}
