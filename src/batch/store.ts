/**
 * `.chargen/batches/<id>/`: one folder per job, every file written atomically.
 *
 * - `job.json`    the state (batch/machine.ts), the provider's names for the job and its files,
 *                 counts, costs and the history of transitions, rewritten after each transition;
 * - `plan.json`   the lines: key, target, the request as sent (references by path and digest);
 * - `input.jsonl` what was uploaded; `output-N.jsonl` the result files as downloaded;
 * - `report.json` what collect and apply made of each line.
 *
 * `.chargen/batches/uploads-<provider>.json` caches reference files uploaded to a provider, by
 * content digest, with their expiry: a portrait used by 300 targets goes up once.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { unsafeName } from "../core/boundary.js";
import { ChargenError } from "../core/errors.js";
import type { ModelSettings } from "../model/target.js";
import { writeAtomic } from "../core/atomic.js";
import type { DataLineRequest, LineKind, LineRequest, UploadCache } from "./engine.js";
import { inFlight, transition, type JobState } from "./machine.js";

export const BATCH_DIR = "batches";

export interface JobRecord {
  version: 1;
  /** chargen's id: the folder name, and (prefixed) the display name the job is created under. */
  id: string;
  provider: string;
  model: string;
  state: JobState;
  history: { state: JobState; at: string }[];
  displayName: string;
  lines: number;
  estimatedCostUsd: number;
  /** The uploaded input file (staged). */
  inputFile?: string;
  /** A create was sent: on resume, look the job up by its display name before creating another. */
  createSent?: boolean;
  /** The provider's job (submitted). */
  remote?: { name: string; resultFiles: string[] };
  submittedAt?: string;
  counts?: { total: number; done: number; failed: number };
  actualCostUsd?: number;
  /** `--provider` / `--model` it was planned with: its results are applied under the same keys. */
  overrides?: { provider?: string; model?: string };
  /** Read lines (data targets) rather than image lines: a job carries one kind (OpenAI's endpoint is per job). */
  kind?: LineKind;
}

/** A reference as recorded in the plan: read again, and checked, when the line is written. */
export interface PlannedReference {
  path: string;
  role: string;
  digest: string;
}

export interface PlanLine {
  key: string;
  targetId: string;
  settings: ModelSettings;
  /** An image request, or a read (a data target's: its images recorded like references). */
  request: (Omit<LineRequest, "references"> & { references: PlannedReference[] }) | PlannedRead;
  estimatedCostUsd: number | undefined;
}

/** A read as the plan records it: its images read again, and checked, when the line is written. */
export type PlannedRead = Omit<DataLineRequest, "images"> & { images: PlannedReference[] };

/** Whether a planned line is a read (a data target's). */
export const isPlannedRead = (request: PlanLine["request"]): request is PlannedRead => "schema" in request;

export interface LineReport {
  targetId: string;
  key: string;
  costUsd?: number;
  /** Why it failed (the provider's reason), or a warning about what came back. */
  reason?: string;
  code?: string;
}

export interface JobReport {
  /** Results stored in the action cache. */
  collected: LineReport[];
  /** Lines with no usable result: their targets stay stale for the next build. */
  failed: LineReport[];
  /** Results put into the workspace (output, write-back, lock). */
  applied: LineReport[];
  /** Results kept in the cache only: the target's key changed since submission. */
  notApplied: LineReport[];
  /** Dimension mismatches and other things that were accepted with a warning. */
  warnings: LineReport[];
}

export class JobStore {
  readonly dir: string;

  constructor(cacheDir: string) {
    this.dir = join(cacheDir, BATCH_DIR);
  }

  /** A file of job `id`; an id that is not a plain name (`../x`) is refused before any path is made of it. */
  path(id: string, file: string): string {
    const unsafe = unsafeName(id);
    if (unsafe) throw new ChargenError("user", `${JSON.stringify(id)} is not a batch job id: ${unsafe} (chargen batch list shows them)`);
    return join(this.dir, id, file);
  }

  jobs(): JobRecord[] {
    if (!existsSync(this.dir)) return [];
    const jobs: JobRecord[] = [];
    for (const entry of readdirSync(this.dir, { withFileTypes: true })) {
      if (!entry.isDirectory() || !existsSync(this.path(entry.name, "job.json"))) continue;
      jobs.push(this.job(entry.name));
    }
    return jobs.sort((a, b) => a.id.localeCompare(b.id));
  }

  job(id: string): JobRecord {
    const path = this.path(id, "job.json");
    if (!existsSync(path)) throw new ChargenError("user", `no batch job ${id} (chargen batch list shows them)`);
    return JSON.parse(readFileSync(path, "utf8")) as JobRecord;
  }

  /** A new job: its plan first, then its state, so that a job that exists always has its plan. */
  async create(job: JobRecord, plan: PlanLine[]): Promise<void> {
    await writeAtomic(this.path(job.id, "plan.json"), JSON.stringify(plan));
    await writeAtomic(this.path(job.id, "job.json"), JSON.stringify(job, null, 2));
  }

  /** Record `job` in state `to` (checked against the machine), with `changes`, atomically. */
  async advance(job: JobRecord, to: JobState, at: string, changes: Partial<JobRecord> = {}): Promise<JobRecord> {
    const next: JobRecord = { ...job, ...changes, state: transition(job.state, to), history: [...job.history, { state: to, at }] };
    await this.save(next);
    return next;
  }

  /** Record changes that keep the state (counts, the create-sent mark). */
  async save(job: JobRecord): Promise<void> {
    await writeAtomic(this.path(job.id, "job.json"), JSON.stringify(job, null, 2));
  }

  plan(id: string): PlanLine[] {
    return JSON.parse(readFileSync(this.path(id, "plan.json"), "utf8")) as PlanLine[];
  }

  report(id: string): JobReport | undefined {
    const path = this.path(id, "report.json");
    return existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as JobReport) : undefined;
  }

  async saveReport(id: string, report: JobReport): Promise<void> {
    await writeAtomic(this.path(id, "report.json"), JSON.stringify(report, null, 2));
  }

  /** Keys some unfinished job will bring, with why: "in batch <id>, submitted <time>". */
  inFlightKeys(): Map<string, string> {
    const keys = new Map<string, string>();
    for (const job of this.jobs()) {
      if (!inFlight(job.state)) continue;
      const when = job.submittedAt ? `submitted ${job.submittedAt}` : `not submitted yet (chargen batch collect ${job.id} resumes it, chargen batch cancel ${job.id} drops it)`;
      for (const line of this.plan(job.id)) keys.set(line.key, `in batch ${job.id}, ${when}`);
    }
    return keys;
  }

  uploads(provider: string): UploadCache {
    const path = join(this.dir, `uploads-${provider}.json`);
    const entries: Record<string, ReturnType<UploadCache["get"]>> = existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : {};
    return {
      get: (digest) => entries[digest],
      set: async (digest, file) => {
        entries[digest] = file;
        await writeAtomic(path, JSON.stringify(entries, null, 2));
      },
    };
  }
}
