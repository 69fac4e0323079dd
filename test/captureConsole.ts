// Runs an in-process command with console.log and console.error captured, so a passing test
// prints nothing and its assertions can read what a person would have seen.

export interface Captured<T> {
  readonly value: T;
  /** Everything logged, one entry per call, stdout and stderr together. */
  readonly out: string;
}

export async function captured<T>(action: () => Promise<T>): Promise<Captured<T>> {
  const lines: string[] = [];
  const { log, error } = console;
  const keep = (...parts: unknown[]): void => { lines.push(parts.map(String).join(' ')); };
  console.log = keep;
  console.error = keep;
  try {
    const value = await action();
    return { value, out: lines.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}
