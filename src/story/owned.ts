/**
 * Entries chargen writes into an author's YAML list (a chapter's `images[]`, the elements' lists),
 * kept apart from the author's own. chargen records, in a ledger at the file's root, the digest of
 * each entry as it wrote it:
 *
 *   chargen:
 *     images:
 *       ch01-fog-at-the-jetty: 1a2b3c4d5e6f7a8b
 *
 * An entry whose content still has that digest is chargen's (`generated`): a new answer updates
 * it, or removes it when the answer drops it. An entry whose content no longer matches is the
 * author's (`modified`), and so is one the ledger does not list (`authored`): neither is ever
 * changed or removed, and an answer's entry with the same id is not written. An entry the ledger
 * lists but the file no longer has was deleted by the author (`deleted`): it is not written again
 * while the answers still propose it. A dropped entry that records an image (the image write-back
 * filled its output fields or inventory) is kept, and its ledger line says `dropped <digest>`.
 * To make an entry one's own as it stands, delete its ledger line.
 */
import { isMap, isSeq } from "yaml";
import { canonicalJson, digestText } from "../core/hash.js";
import type { YamlEditor, YamlPath } from "../yaml/edit.js";

/** The root key of the ledger. */
export const LEDGER_KEY = "chargen";

export type EntryStatus =
  /** Written now, new. */
  | "added"
  /** chargen's, rewritten with the answer's new content. */
  | "updated"
  /** chargen's, and the answer's content is the same: no byte changed. */
  | "unchanged"
  /** chargen's, not in the answer, and removed. */
  | "removed"
  /** chargen's, not in the answer, kept because it records an image; its ledger line says so. */
  | "dropped"
  /** Written by chargen, edited since: the author's now, kept as it is. */
  | "modified"
  /** Not written by chargen: kept as it is. */
  | "authored"
  /** Written by chargen, then deleted by the author: not written again. */
  | "deleted";

export interface EntryOutcome {
  id: string;
  status: EntryStatus;
  /** For the author's entries (`modified`, `authored`, `deleted`): whether the answer proposed this id too, and was not written. */
  proposed?: boolean;
}

export interface OwnedList {
  /** Where the list is, e.g. ["images"] or ["characters"]. */
  path: YamlPath;
  /** The ledger's section for it (its last path key, e.g. "images"). */
  ledger: string;
  /** The field holding each entry's id ("custom_id", "slug"). */
  idKey: string;
  /** Fields other writers fill in (an image write-back's output fields): not part of the content chargen owns. */
  notContent?: readonly string[];
  /** Whether an entry records something that must outlive a reading that drops it. */
  recordsImage?: (entry: Record<string, unknown>) => boolean;
}

/** The digest of an entry's content: every field but those other writers fill. */
export function contentDigest(entry: Record<string, unknown>, notContent: readonly string[] = []): string {
  const content = Object.fromEntries(Object.entries(entry).filter(([k]) => !notContent.includes(k)));
  return digestText(canonicalJson(content));
}

const DROPPED = "dropped ";

/**
 * Make the list at `list.path` hold `proposed` (entries with their id field, in answer order) as far
 * as chargen owns it: see the module comment. Pure over the editor: the caller writes it. An
 * identical answer applied again changes no byte.
 */
export function applyOwned(editor: YamlEditor, list: OwnedList, proposed: Record<string, unknown>[]): EntryOutcome[] {
  const notContent = list.notContent ?? [];
  const ledgerPath = [LEDGER_KEY, list.ledger];
  const ledgerNode = editor.doc.getIn(ledgerPath);
  const ledger = new Map(Object.entries(isMap(ledgerNode) ? (ledgerNode.toJSON() as Record<string, unknown>) : {}).filter((e): e is [string, string] => typeof e[1] === "string"));
  const wanted = new Map(proposed.map((entry) => [String(entry[list.idKey]), entry]));
  const listNode = editor.doc.getIn(list.path);
  const current = (isSeq(listNode) ? (listNode.toJSON() as unknown[]) : []).map((e) => (e && typeof e === "object" && !Array.isArray(e) ? (e as Record<string, unknown>) : {}));

  const outcomes: EntryOutcome[] = [];
  const nextLedger = new Map(ledger);
  const removals: number[] = [];
  const present = new Set<string>();
  current.forEach((entry, index) => {
    const id = entry[list.idKey];
    if (typeof id !== "string") return;
    present.add(id);
    const want = wanted.get(id);
    wanted.delete(id);
    const recorded = ledger.get(id);
    const written = recorded?.startsWith(DROPPED) ? recorded.slice(DROPPED.length) : recorded;
    if (written === undefined || contentDigest(entry, notContent) !== written) {
      outcomes.push({ id, status: written === undefined ? "authored" : "modified", ...(want ? { proposed: true } : {}) });
      return;
    }
    if (want) {
      const digest = contentDigest(want);
      nextLedger.set(id, digest);
      if (digest === written) {
        outcomes.push({ id, status: "unchanged" });
        return;
      }
      const path = [...list.path, index];
      editor.setAll(path, want);
      for (const key of Object.keys(entry)) if (!(key in want) && !notContent.includes(key)) editor.delete(path, key);
      outcomes.push({ id, status: "updated" });
    } else if (list.recordsImage?.(entry)) {
      nextLedger.set(id, DROPPED + written);
      outcomes.push({ id, status: "dropped" });
    } else {
      nextLedger.delete(id);
      removals.push(index);
      outcomes.push({ id, status: "removed" });
    }
  });
  // Removed last to first, so that the indices of those before stay right.
  for (const index of removals.reverse()) editor.removeItem(list.path, index);

  for (const id of ledger.keys()) {
    if (present.has(id)) continue;
    // In the ledger, gone from the file: the author deleted it. Remembered while answers still propose it.
    if (wanted.delete(id)) outcomes.push({ id, status: "deleted", proposed: true });
    else nextLedger.delete(id);
  }
  for (const [id, entry] of wanted) {
    nextLedger.set(id, contentDigest(entry));
    outcomes.push({ id, status: "added" });
  }
  const added = [...wanted.values()];
  if (isSeq(listNode)) for (const entry of added) editor.append(list.path, entry);
  else if (added.length) editor.set(list.path.slice(0, -1), String(list.path.at(-1)), added);
  writeLedger(editor, ledgerPath, ledger, nextLedger);
  return outcomes;
}

function writeLedger(editor: YamlEditor, path: YamlPath, before: Map<string, string>, after: Map<string, string>): void {
  const changed = [...after].filter(([id, value]) => before.get(id) !== value);
  const gone = [...before.keys()].filter((id) => !after.has(id));
  if (!changed.length && !gone.length) return;
  if (!isMap(editor.doc.getIn(path))) {
    if (!after.size) return;
    const root = editor.doc.getIn([LEDGER_KEY]);
    if (isMap(root)) editor.set([LEDGER_KEY], String(path[1]), Object.fromEntries(after));
    else editor.set([], LEDGER_KEY, { [String(path[1])]: Object.fromEntries(after) });
    return;
  }
  if (changed.length) editor.setAll(path, Object.fromEntries(changed));
  for (const id of gone) editor.delete(path, id);
}

/**
 * The same ownership for a whole file whose top-level `fields` chargen writes (a character's or a
 * location's file made from a story element): the ledger's `fields` line holds their digest as
 * written. A file chargen did not start (no ledger line) is the author's, and so is one whose
 * fields were edited: neither is touched. Returns what happened to the file.
 */
export function applyOwnedFields(editor: YamlEditor, fields: Record<string, unknown>): Exclude<EntryStatus, "removed" | "dropped" | "deleted"> {
  const root = editor.doc.contents;
  const ledgerPath = [LEDGER_KEY, "fields"];
  const written = editor.doc.getIn(ledgerPath);
  const digest = contentDigest(fields);
  if (root === null || root === undefined) {
    for (const [key, value] of Object.entries({ ...fields, [LEDGER_KEY]: { fields: digest } })) editor.set([], key, value);
    return "added";
  }
  if (!isMap(root) || typeof written !== "string") return "authored";
  const current = root.toJSON() as Record<string, unknown>;
  const mine = Object.fromEntries(Object.keys(fields).flatMap((k) => (k in current ? [[k, current[k]]] : [])));
  if (contentDigest(mine) !== written) return "modified";
  if (digest === written) return "unchanged";
  editor.setAll([], fields);
  editor.set([LEDGER_KEY], "fields", digest);
  return "updated";
}
