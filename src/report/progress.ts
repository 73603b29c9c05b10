import type { TargetOutcome } from "../graph/executor.js";
import { printable } from "./escape.js";

/** What a build tells the person watching it; plain lines or a listr2 view, chosen by the CLI. */
export interface Progress {
  begin(total: number, toRun: number): void;
  start(id: string, action: "generating" | "restoring"): void;
  /** Its generation is over (the job slot is free); it is being recorded. */
  generated(id: string): void;
  done(outcome: TargetOutcome): void;
  retry(id: string, attempt: number, delayMs: number, message: string): void;
  note(line: string): void;
  end(): Promise<void>;
}

export const silentProgress: Progress = {
  begin() {},
  start() {},
  generated() {},
  done() {},
  retry() {},
  note() {},
  end: async () => {},
};

const VERB: Record<string, string> = { built: "built", cached: "restored", failed: "FAILED", skipped: "not run", modified: "modified", pending: "pending" };

/** One line per event, for logs and CI (Ninja's `[done/total]`, without the terminal tricks). */
export class PlainProgress implements Progress {
  private finished = 0;
  private toRun = 0;

  private readonly write: (line: string) => void;

  constructor(
    write: (line: string) => void,
    private readonly explain: boolean,
  ) {
    this.write = (line) => write(printable(line));
  }

  begin(total: number, toRun: number): void {
    this.toRun = toRun;
    this.write(toRun ? `chargen: ${toRun} of ${total} targets to build` : `chargen: all ${total} targets are fresh`);
  }

  start(id: string, action: "generating" | "restoring"): void {
    if (action === "generating") this.write(`[${this.finished}/${this.toRun}] generating ${id}`);
  }

  generated(): void {}

  done(o: TargetOutcome): void {
    if (o.status === "fresh") return;
    this.finished++;
    const why = o.status === "failed" || o.status === "skipped" || o.status === "modified" || o.status === "pending" || this.explain ? `: ${o.reasons.join("; ")}` : "";
    this.write(`[${this.finished}/${this.toRun}] ${VERB[o.status] ?? o.status} ${o.id}${why}`);
  }

  retry(id: string, attempt: number, delayMs: number, message: string): void {
    this.write(`retrying ${id} in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt + 1}): ${message}`);
  }

  note(line: string): void {
    this.write(line);
  }

  async end(): Promise<void> {}
}

/** The terminal view: one listr2 task whose title counts done/total with an ETA and lists what runs. */
export class TtyProgress implements Progress {
  private total = 0;
  private finished = 0;
  private readonly running = new Set<string>();
  private readonly notes: string[] = [];
  private task: { title: string; output: string } | undefined;
  private finish!: () => void;
  private run: Promise<unknown> = Promise.resolve();
  private readonly startedAt = Date.now();
  private ended = false;

  static async create(): Promise<TtyProgress> {
    const p = new TtyProgress();
    const { Listr } = await import("listr2");
    const done = new Promise<void>((resolve) => (p.finish = resolve));
    const list = new Listr(
      [
        {
          title: "chargen build",
          task: async (_ctx, task) => {
            p.task = task;
            p.render();
            await done;
          },
          // The output is one whole view, replaced at each render: show only the latest (a
          // larger bar keeps earlier views above it, stacked).
          rendererOptions: { outputBar: true, persistentOutput: false },
        },
      ],
      { exitOnError: false, rendererOptions: { lazy: false } },
    );
    p.run = list.run();
    return p;
  }

  begin(_total: number, toRun: number): void {
    this.total = toRun;
    this.render();
  }

  start(id: string, action: "generating" | "restoring"): void {
    // Restoring from the cache is no generation: it takes no job slot.
    if (action === "generating") this.running.add(id);
    this.render();
  }

  /** What runs is what holds a job slot: at most -j, not the targets still being recorded too. */
  generated(id: string): void {
    this.running.delete(id);
    this.render();
  }

  done(o: TargetOutcome): void {
    this.running.delete(o.id);
    if (o.status !== "fresh") this.finished++;
    if (o.status === "failed") this.notes.push(`✖ ${o.id}: ${o.reasons.join("; ")}`);
    this.render();
  }

  retry(id: string, attempt: number, delayMs: number, message: string): void {
    this.notes.push(`↻ ${id}: retry ${attempt + 1} in ${(delayMs / 1000).toFixed(1)}s (${message})`);
    this.render();
  }

  note(line: string): void {
    this.notes.push(line);
    this.render();
  }

  async end(): Promise<void> {
    this.running.clear();
    this.ended = true;
    this.render();
    this.finish();
    await this.run;
  }

  private render(): void {
    if (!this.task) return;
    const elapsed = (Date.now() - this.startedAt) / 1000;
    const eta = this.finished > 0 && this.finished < this.total ? ` · ETA ${Math.ceil((elapsed / this.finished) * (this.total - this.finished))}s` : "";
    this.task.title = this.ended
      ? `[${this.finished}/${this.total}] done`
      : `[${this.finished}/${this.total}] building${this.running.size ? ` · ${this.running.size} running` : ""}${eta}`;
    this.task.output = [...[...this.running].slice(0, 8).map((id) => `… ${id}`), ...this.notes.slice(-4)].map(printable).join("\n");
  }
}
