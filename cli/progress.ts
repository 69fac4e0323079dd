/**
 * Progress of a long phase, as `run`, `certify` and `mutants` show it: one line rewritten in
 * place on a terminal, and without one (CI logs) the line printed at most every
 * PROGRESS_EVERY_MS. Lasting lines (a verdict, a failed cell) go through `print`, which clears
 * the in-place line first. Nothing with --json (stdout carries JSON lines only).
 */

/** Without a terminal, a progress line at most this often. */
export const PROGRESS_EVERY_MS = 10_000;
const WIDTH = 100;

export class ProgressLine {
  /** The first periodic line comes one period after the start: a short phase prints none. */
  private lastPrintMs = performance.now();
  private shown = false;

  constructor(private readonly json: boolean, private readonly everyMs: number = PROGRESS_EVERY_MS) {}

  /** The current state of the phase: in place on a terminal, now and then otherwise. */
  show(line: string): void {
    if (this.json) return;
    const nowMs = performance.now();
    if (process.stdout.isTTY) {
      process.stdout.write(`\r${line.padEnd(WIDTH)}`);
      this.shown = true;
    } else if (nowMs - this.lastPrintMs >= this.everyMs) {
      console.log(line);
      this.lastPrintMs = nowMs;
    }
  }

  /** A line that stays (the in-place line is cleared first). */
  print(line: string): void {
    this.clear();
    console.log(line);
  }

  /** Ends the in-place line before ordinary output. */
  clear(): void {
    if (this.shown) process.stdout.write(`\r${' '.repeat(WIDTH)}\r`);
    this.shown = false;
  }
}
