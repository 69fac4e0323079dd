/**
 * One writer at a time, first come first served. Waiters are bounded (a runaway producer gets
 * BUSY instead of unbounded memory) and are rejected with CLOSED when the database closes, so
 * no caller waits forever on a database that is gone.
 */
import { EngineError, assert } from './errors.js';

export const MAX_WAITING_WRITERS = 100_000;

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

export class WriterQueue {
  private held = false;
  private readonly waiters: Waiter[] = [];

  get isHeld(): boolean {
    return this.held;
  }

  acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return Promise.resolve();
    }
    if (this.waiters.length >= MAX_WAITING_WRITERS) {
      return Promise.reject(new EngineError('BUSY', `${MAX_WAITING_WRITERS} writers already waiting`));
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(): void {
    assert(this.held, 'release follows acquire');
    const next = this.waiters.shift();
    if (next === undefined) this.held = false;
    else next.resolve();
  }

  /** Rejects every waiter with the error `makeError` gives, made only when someone waits. */
  rejectAll(makeError: () => unknown): void {
    if (this.waiters.length === 0) return;
    const error = makeError();
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}
