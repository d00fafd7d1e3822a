// Progress for long reports, drawn as `petrel sim` draws it: a bar redrawn in place on a terminal,
// a plain line every two seconds of wall time otherwise, nothing when there is no output.

export interface ReportProgress {
  readonly isTTY: boolean;
  write(text: string): void;
}

const PLAIN_EVERY_MS = 2000;
const TTY_EVERY_MS = 100;

export class ProgressMeter {
  private readonly startedMs = performance.now();
  private lastMs = 0;
  private drawn = false;

  constructor(
    private readonly output: ReportProgress | null,
    private readonly what: string,
  ) {}

  /** `fraction` (0..1) of the work is done; `text` says how much. */
  update(fraction: number, text: string): void {
    const output = this.output;
    if (output === null) return;
    const elapsedMs = performance.now() - this.startedMs;
    // A terminal gets its bar at once; a log gets a line only once the work has taken 2 s.
    if ((!output.isTTY || this.drawn) && elapsedMs - this.lastMs < (output.isTTY ? TTY_EVERY_MS : PLAIN_EVERY_MS)) return;
    this.lastMs = elapsedMs;
    const percent = Math.max(0, Math.min(100, Math.floor(fraction * 100)));
    if (output.isTTY) {
      const filled = Math.round((percent / 100) * 30);
      output.write(`\r[${"#".repeat(filled)}${"-".repeat(30 - filled)}] ${String(percent).padStart(3)}% ${text}, ${(elapsedMs / 1000).toFixed(1)} s wall`);
      this.drawn = true;
    } else {
      output.write(`progress (${this.what}): ${text} (${percent}%), ${(elapsedMs / 1000).toFixed(1)} s wall\n`);
    }
  }

  /** Clears a drawn bar. */
  done(): void {
    if (this.drawn && this.output !== null) this.output.write("\r\x1b[K");
    this.drawn = false;
  }
}
