/**
 * Captures the case a campaign will draw next while the current one is judged. A capture runs
 * in the capture server's process (a worker start, the library's modules, the workload), so the
 * campaign's own thread and the recovery workers idle through it; a capture of the next case,
 * begun as soon as the current capture ends, runs on the other core meanwhile. The campaign
 * knows its next cases because fast-check draws them from the seed alone: `fc.sample` with the
 * campaign's seed gives the very values `fc.check` will pass, in order (shrinking and a replayed
 * path draw others: those miss and capture as before). A capture is used only for the request it
 * was made for, byte for byte, so the trace a case judges is the one its own workload makes.
 */
import type { TargetTxn } from '../target.js';
import type { CaptureResult } from './captureTrace.js';

/** Requests looked ahead at most: a long campaign samples this many and then captures in turn. */
export const MAX_LOOKAHEAD_REQUESTS = 5000;

/** A drawn case's workload and seed: what its capture depends on (the campaign fixes the rest). */
export interface CaptureRequest { readonly txns: readonly TargetTxn[]; readonly seed: number }
type Request = CaptureRequest;

const keyOf = (request: Request): string => JSON.stringify([request.seed, request.txns]);

export class CaptureAhead {
  private readonly order = new Map<string, number>();
  private readonly upcoming: readonly Request[];
  private readonly started = new Map<string, Promise<CaptureResult>>();
  private readonly run: (request: Request) => Promise<CaptureResult>;
  /** After `settle`: a capture not yet begun never begins (it would start the server again). */
  private ended = false;

  /** `run` captures one request (the tier's capture: captureTrace on the campaign's server, or strace). */
  constructor(upcoming: readonly Request[], run: (request: Request) => Promise<CaptureResult>) {
    if (upcoming.length > MAX_LOOKAHEAD_REQUESTS) throw new RangeError(`at most ${MAX_LOOKAHEAD_REQUESTS} requests ahead, not ${upcoming.length}`);
    this.upcoming = upcoming;
    this.run = run;
    // The first occurrence wins: a repeated request is captured again (a capture is used once).
    upcoming.forEach((request, index) => { if (!this.order.has(keyOf(request))) this.order.set(keyOf(request), index); });
  }

  /** The capture of `request`: the one begun ahead for it, or a new one; then begins the next. */
  capture(request: Request): Promise<CaptureResult> {
    const key = keyOf(request);
    const ready = this.started.get(key);
    this.started.delete(key);
    const result = ready ?? this.run(request);
    const next = this.upcoming[(this.order.get(key) ?? -2) + 1];
    // Begun only once this capture settles: the server runs one at a time, and a timeout counted
    // while queued behind another capture would call a healthy case a hang.
    if (next !== undefined && !this.started.has(keyOf(next))) {
      const ahead = result.then(() => undefined, () => undefined).then(() => {
        if (this.ended) throw new RangeError('the campaign ended before this case was drawn');
        return this.run(next);
      });
      // Judged when (if ever) its case is drawn; never an unhandled rejection meanwhile.
      ahead.catch(() => undefined);
      this.started.set(keyOf(next), ahead);
    }
    return result;
  }

  /** Waits for every capture begun ahead (their scratch folders are removed as they end). */
  async settle(): Promise<void> {
    this.ended = true;
    await Promise.all([...this.started.values()].map((capture) => capture.catch(() => undefined)));
    this.started.clear();
  }
}
