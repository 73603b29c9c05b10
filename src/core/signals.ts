/**
 * The signals that end a build as Ctrl-C does: SIGINT (Ctrl-C), SIGTERM (kill, a CI cancel, a
 * container stop) and SIGHUP (a closed terminal, a dropped SSH session). The first stops
 * scheduling (requests in flight are paid for: they finish and are recorded), a second aborts
 * them. The exit code is the shell's convention, 128 + the signal's number.
 */
export const STOP_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

const EXIT_CODES: Record<StopSignal, number> = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 };

export const exitCodeFor = (signal: StopSignal): number => EXIT_CODES[signal];

/** Call `handler` on each stop signal (instead of dying at once) until the returned function detaches it. */
export function onStopSignals(handler: (signal: StopSignal) => void): () => void {
  const listeners = STOP_SIGNALS.map((signal) => {
    const listener = () => {
      if (signal === "SIGHUP") ignoreClosedTerminal();
      handler(signal);
    };
    process.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) process.off(signal, listener);
  };
}

/**
 * After a hang-up the terminal is gone: writing progress to it fails (EIO, EPIPE). That must not
 * crash the build before what is in flight is recorded and `build.pid` released.
 */
function ignoreClosedTerminal(): void {
  for (const stream of [process.stdout, process.stderr]) if (stream.listenerCount("error") === 0) stream.on("error", () => {});
}

export type Write = (text: string | Uint8Array) => void;

/**
 * Output that ends quietly when its reader goes away (`chargen targets | head -1`). The stream is
 * made at the first write: making it loads Node's stream and socket modules, which a no-op check
 * does without (see cli/main.ts `direct`).
 */
export function quietOutput(name: "stdout" | "stderr"): Write {
  let stream: NodeJS.WriteStream | undefined;
  let closed = false;
  return (text) => {
    if (closed) return;
    if (!stream) {
      stream = process[name];
      stream.on("error", (e: NodeJS.ErrnoException) => {
        if (e.code !== "EPIPE") throw e;
        closed = true;
      });
    }
    stream.write(text);
  };
}
