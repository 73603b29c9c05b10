/** chargen's exit codes, one table for every command (README: "Exit codes"). Signals add theirs (core/signals.ts). */
export const EXIT = {
  /** Done: every selected target built or fresh; a check found all fresh. */
  ok: 0,
  /** A target failed, was not run or is modified; a check found something not fresh. */
  failed: 1,
  /** Usage, configuration or input error (everything else was still done). */
  error: 2,
} as const;
