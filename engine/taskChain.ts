/**
 * Runs async tasks one at a time, in call order. A failed task fails its own caller only;
 * the next task runs regardless. The engine's small mutexes (file syncs, checkpoints,
 * family creation) are all this one shape.
 */
export class TaskChain {
  private tail: Promise<void> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.then(() => undefined, () => undefined);
    return next;
  }

  /** Resolves when every task queued so far has finished (successfully or not). */
  idle(): Promise<void> {
    return this.tail;
  }
}
