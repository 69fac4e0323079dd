/**
 * Runs the differential property under one seed and turns the outcome into something a person
 * can act on: on failure, the seed, the counterexample path, the shrunk counterexample, the
 * error, and a one-line command that replays exactly that counterexample.
 *
 * No clock here (ARCHITECTURE.md section 6): the caller times the run if it wants to.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { FileVfs, MemoryVfs } from '../engine/index.js';
import { DEFAULT_MAX_COMMANDS, differentialProperty, type VfsFactory } from './differential.js';
import { Mismatch, type DifferentialEngine } from './differentialWorld.js';
import { commandsPathOf, formatReplayPath, parseReplayPath, ReplayError, type ReplayPath } from './replayPath.js';

export type VfsKind = 'memory' | 'real';
export const VFS_KINDS: readonly VfsKind[] = ['memory', 'real'];

export interface DifferentialRun {
  /** fast-check seed; any integer in [0, 2^32) gives a distinct campaign. */
  readonly seed: number;
  readonly numRuns: number;
  /** A crashlab path (see replayPath.ts): replays that one counterexample. */
  readonly path?: string | undefined;
  readonly vfs: VfsKind;
  /** Overrides `vfs`'s storage; for tests of the harness itself (a replay must reuse it). */
  readonly makeVfs?: VfsFactory | undefined;
  /** The engine under test (a planted mutant); the reference engine by default. */
  readonly engine?: DifferentialEngine | undefined;
  /** Shrink a counterexample (default true); the mutant hunt only needs the first failure. */
  readonly shrink?: boolean | undefined;
}

export interface DifferentialFailure {
  readonly ok: false;
  readonly seed: number;
  readonly vfs: VfsKind;
  /** Runs up to and including the failing one. */
  readonly numRuns: number;
  readonly numShrinks: number;
  readonly path: string;
  readonly counterexample: string;
  /** `mismatch`: engine and model differed; `error`: the engine threw where the model did not. */
  readonly kind: 'mismatch' | 'error';
  readonly error: string;
  readonly replay: string;
}

export interface DifferentialSuccess {
  readonly ok: true;
  readonly seed: number;
  readonly vfs: VfsKind;
  readonly numRuns: number;
}

export type DifferentialResult = DifferentialSuccess | DifferentialFailure;

export const SEED_MAX = 2 ** 32 - 1;

export { ReplayError };

export function vfsFactory(kind: VfsKind): VfsFactory {
  if (kind === 'memory') return async () => ({ vfs: new MemoryVfs(), cleanup: async () => {} });
  return async () => {
    const directory = await mkdtemp(path.join(os.tmpdir(), 'crashlab-differential-'));
    return { vfs: new FileVfs(directory), cleanup: () => rm(directory, { recursive: true, force: true }) };
  };
}

export function replayCommand(seed: number, pathText: string, vfs: VfsKind): string {
  return `node dist/cli/main.js differential --seed ${seed} --path '${pathText}' --runs 1 --vfs ${vfs}`;
}

export async function runDifferential(run: DifferentialRun): Promise<DifferentialResult> {
  if (!(Number.isSafeInteger(run.seed) && run.seed >= 0 && run.seed <= SEED_MAX)) {
    throw new TypeError(`seed must be an integer in [0, ${SEED_MAX}]`);
  }
  if (!(Number.isSafeInteger(run.numRuns) && run.numRuns >= 1)) throw new TypeError('numRuns must be a positive integer');
  const replay = run.path === undefined ? null : parseReplayPath(run.path);
  if (run.path !== undefined && replay === null) throw new TypeError(`malformed path ${JSON.stringify(run.path)}`);
  const property = differentialProperty(run.makeVfs ?? vfsFactory(run.vfs), {
    // Always the default: the replay command has no flag for it, so a replay must not need one.
    maxCommands: DEFAULT_MAX_COMMANDS,
    engine: run.engine,
    ...(replay?.commandsPath == null ? {} : { replayPath: replay.commandsPath }),
  });
  const details = await checkProperty(property, run, replay);
  if (!details.failed) return { ok: true, seed: run.seed, vfs: run.vfs, numRuns: details.numRuns };
  return describeFailure(run, details);
}

/** fast-check throws (rather than fails) when a path cannot be walked; that is the caller's input. */
async function checkProperty<Ts>(
  property: fc.IAsyncProperty<Ts>, run: DifferentialRun, replay: ReplayPath | null,
): Promise<fc.RunDetails<Ts>> {
  if (replay === null) return fc.check(property, { seed: run.seed, numRuns: run.numRuns, endOnFailure: run.shrink === false });
  try {
    const details = await fc.check(property, { seed: run.seed, numRuns: run.numRuns, path: replay.fcPath, endOnFailure: true });
    // A last step past the last shrink leaves nothing to run: that names no case either.
    if (details.numRuns === 0 && !details.failed) throw new Error('the last step is past the last shrink, no case ran');
    return details;
  } catch (error) {
    const hint = replay.commandsPath === null ? ' (a commands path needs its @replay hint)' : '';
    const where = `path ${formatReplayPath(replay)} does not name a counterexample under seed ${run.seed}${hint}`;
    throw new ReplayError(`${where}: ${String(error)}`, { cause: error });
  }
}

function describeFailure<Ts>(run: DifferentialRun, details: fc.RunDetails<Ts>): DifferentialFailure {
  if (details.counterexample === null || details.counterexamplePath === null) {
    // Interrupted or too many skips: not a counterexample, but still a failed campaign.
    const reason = details.interrupted ? 'run interrupted' : 'too many skipped runs';
    return {
      ok: false, seed: run.seed, vfs: run.vfs, numRuns: details.numRuns, numShrinks: 0, path: '',
      counterexample: '', kind: 'error', error: reason, replay: `node dist/cli/main.js differential --seed ${run.seed} --runs ${run.numRuns} --vfs ${run.vfs}`,
    };
  }
  const counterexample = fc.stringify(details.counterexample);
  const pathText = formatReplayPath({ fcPath: details.counterexamplePath, commandsPath: commandsPathOf(counterexample) });
  const error = describeError(details.errorInstance);
  return {
    ok: false, seed: run.seed, vfs: run.vfs, numRuns: details.numRuns, numShrinks: details.numShrinks,
    path: pathText, counterexample, kind: details.errorInstance instanceof Mismatch ? 'mismatch' : 'error', error, replay: replayCommand(run.seed, pathText, run.vfs),
  };
}

/** A mismatch says all there is to say; any other error is a crash: its stack and causes help. */
function describeError(thrown: unknown): string {
  if (thrown instanceof Mismatch) return thrown.message;
  if (!(thrown instanceof Error)) return inspect(thrown);
  const lines = [thrown.stack ?? String(thrown)];
  for (let cause = thrown.cause, depth = 0; cause !== undefined && depth < 5; depth++) {
    lines.push(`caused by: ${cause instanceof Error ? String(cause) : inspect(cause)}`);
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  return lines.join('\n');
}

/** The failure as a person reads it: seed and path first, the replay command last. */
export function failureMessage(failure: DifferentialFailure): string {
  return [
    `differential property failed: seed ${failure.seed}, path ${failure.path} (vfs ${failure.vfs}, `
      + `after ${failure.numRuns} runs, ${failure.numShrinks} shrinks)`,
    `counterexample: ${failure.counterexample}`,
    `error: ${failure.error}`,
    `replay: ${failure.replay}`,
  ].join('\n');
}
