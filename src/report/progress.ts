import type { BuildEvent, TargetOutcome } from "../model/events.js";
import { printable } from "./escape.js";

/** What a build tells the person watching it, read from the build's one event stream; plain lines or a listr2 view, chosen by the CLI. */
export interface Progress {
  emit(event: BuildEvent): void;
  end(): Promise<void>;
}

export const silentProgress: Progress = {
  emit() {},
  end: async () => {},
};

/** The line a provider stop gets, whichever view shows it. */
const stoppedLine = (provider: string, message: string) => `provider ${provider} stopped: ${message}; nothing more is sent to it in this build`;

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

  emit(event: BuildEvent): void {
    switch (event.type) {
      case "planned":
        this.toRun = event.toRun;
        return this.write(event.toRun ? `chargen: ${event.toRun} of ${event.total} targets to build` : `chargen: all ${event.total} targets are fresh`);
      case "added":
        this.toRun += event.ids.length;
        return this.write(`chargen: ${event.ids.length} more target${event.ids.length === 1 ? "" : "s"} to build, from what a reading wrote`);
      case "started":
        if (event.action === "generating") this.write(`[${this.finished}/${this.toRun}] generating ${event.id}`);
        return;
      case "done":
        return this.done(event.outcome);
      case "retry":
        return this.write(`retrying ${event.id} in ${(event.delayMs / 1000).toFixed(1)}s (attempt ${event.attempt + 1}): ${event.error.message}`);
      case "provider-stopped":
        return this.write(stoppedLine(event.provider, event.error.message));
      case "note":
        return this.write(event.line);
    }
  }

  private done(o: TargetOutcome): void {
    if (o.status === "fresh") return;
    this.finished++;
    const why = o.status === "failed" || o.status === "skipped" || o.status === "modified" || o.status === "pending" || this.explain ? `: ${o.reasons.join("; ")}` : "";
    this.write(`[${this.finished}/${this.toRun}] ${VERB[o.status] ?? o.status} ${o.id}${why}`);
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

  emit(event: BuildEvent): void {
    switch (event.type) {
      case "planned":
        this.total = event.toRun;
        break;
      case "added":
        this.total += event.ids.length;
        break;
      case "started":
        // Restoring from the cache is no generation: it takes no job slot.
        if (event.action === "generating") this.running.add(event.id);
        break;
      case "generated":
        // What runs is what holds a job slot: at most -j, not the targets still being recorded too.
        this.running.delete(event.id);
        break;
      case "done": {
        const o = event.outcome;
        this.running.delete(o.id);
        if (o.status !== "fresh") this.finished++;
        if (o.status === "failed") this.notes.push(`✖ ${o.id}: ${o.reasons.join("; ")}`);
        break;
      }
      case "retry":
        this.notes.push(`↻ ${event.id}: retry ${event.attempt + 1} in ${(event.delayMs / 1000).toFixed(1)}s (${event.error.message})`);
        break;
      case "provider-stopped":
        this.notes.push(stoppedLine(event.provider, event.error.message));
        break;
      case "note":
        this.notes.push(event.line);
        break;
      default:
        return; // the applier's writes change nothing on screen
    }
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
