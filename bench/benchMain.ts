/**
 * How every benchmark starts and fails: a bad flag or value is a `BenchUsageError`, printed as
 * one line naming it (no stack) with exit status 2, as the command line does; anything else is a
 * failure of the run itself and keeps its stack (exit 1).
 */
import { pathToFileURL } from 'node:url';

const EXIT_USAGE = 2;

/** A benchmark's flag or value that it cannot take. */
export class BenchUsageError extends Error {
  readonly code = 'BENCH_USAGE';

  constructor(message: string) {
    super(message);
    this.name = 'BenchUsageError';
  }
}

/** Runs `main` when `moduleUrl` is the script node was started with (not when imported by a test). */
export async function benchMain(moduleUrl: string, main: () => Promise<void> | void): Promise<void> {
  if (process.argv[1] === undefined || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  try {
    await main();
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    console.error(`bench: ${error.message}`);
    process.exitCode = EXIT_USAGE;
  }
}
