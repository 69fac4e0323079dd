/**
 * Time, injected. The engine never reads the wall clock or sets a timer: it asks a `Clock`.
 * The default `VirtualClock` is simulated time in the TigerBeetle manner: it stands still
 * until someone sleeps, and a sleep moves it forward at once. That keeps every run
 * deterministic (the same seed gives the same trace) while group-commit windows and
 * checkpoint intervals still mean something. Programs that want real time (the CLI, the
 * benchmarks) pass a clock built on the system's.
 */
import { assert } from './errors.js';

export interface Clock {
  /** Monotonic time in microseconds. */
  nowMicros(): number;
  /** Resolves once `durationMicros` have passed on this clock. */
  sleep(durationMicros: number): Promise<void>;
}

export class VirtualClock implements Clock {
  private timeMicros: number;

  constructor(startMicros = 0) {
    assert(Number.isSafeInteger(startMicros) && startMicros >= 0, 'clock starts at a non-negative time');
    this.timeMicros = startMicros;
  }

  nowMicros(): number {
    return this.timeMicros;
  }

  /** Moves time forward, as the passage of real time would between two calls. */
  advance(durationMicros: number): void {
    assert(Number.isFinite(durationMicros) && durationMicros >= 0, 'time only moves forward');
    this.timeMicros += durationMicros;
  }

  async sleep(durationMicros: number): Promise<void> {
    this.advance(durationMicros);
    // One turn of the microtask queue, so a sleeper still lets others run first.
    await Promise.resolve();
  }
}
