/**
 * A crashlab path names one counterexample under a seed: fast-check's shrink path, plus the
 * replay hint of `fc.commands` after an `@`. The hint records which commands actually ran at
 * each shrink step; without it fast-check cannot walk a commands shrink path when replaying.
 *
 *   12:3:0:1@CCB:A   (fast-check path "12:3:0:1", commands replayPath "CCB:A")
 */

import fc from 'fast-check';

/** A path that does not lead to a value under this seed (a typo, or a different version). */
export class ReplayError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReplayError';
  }
}

/** Thrown by the probe property at its first value: the walk reached a case, nothing ran. */
class Reached extends Error {}

/**
 * Whether `fcPath` names a value of `arb` under `seed`, without running anything: fast-check
 * walks the path (run index, then one shrink index per step) and the probe stops at the first
 * value. A step past the last shrink either throws (in the middle) or leaves nothing (at the end).
 */
function namesValue<T>(arb: fc.Arbitrary<T>, seed: number, fcPath: string): boolean {
  try {
    const details = fc.check(fc.property(arb, () => {
      throw new Reached();
    }), { seed, numRuns: 1, path: fcPath, endOnFailure: true });
    return details.failed && details.errorInstance instanceof Reached;
  } catch {
    return false;
  }
}

/**
 * Checks that `fcPath` decodes to a case of `arb` under `seed`; throws a ReplayError naming the
 * first step that does not (a shrink index the case before it does not have).
 */
export function assertPathNamesCase<T>(arb: fc.Arbitrary<T>, seed: number, fcPath: string): void {
  if (!FC_PATH.test(fcPath)) throw new TypeError(`malformed path ${JSON.stringify(fcPath)}`);
  if (namesValue(arb, seed, fcPath)) return;
  const steps = fcPath.split(':');
  // Each prefix is one cheap walk; a path has a few dozen steps at most.
  for (let length = 1; length <= steps.length; length++) {
    const prefix = steps.slice(0, length).join(':');
    if (namesValue(arb, seed, prefix)) continue;
    const where = length === 1 ? `run index ${steps[0]}` : `step ${length} (shrink ${steps[length - 1]} of the case at ${steps.slice(0, length - 1).join(':')})`;
    throw new ReplayError(`path ${fcPath} names no case under seed ${seed}: ${where} does not exist`);
  }
  throw new ReplayError(`path ${fcPath} names no case under seed ${seed}`);
}

export interface ReplayPath {
  /** fast-check's `path`: the failing run's index, then the index of each shrink step taken. */
  readonly fcPath: string;
  /** `fc.commands`' replayPath, or null when none was recorded. */
  readonly commandsPath: string | null;
}

const FC_PATH = /^\d+(:\d+)*$/;
/** fast-check's encoding: base64 run lengths, a colon, base64 value changes. */
const COMMANDS_PATH = /^[A-Za-z0-9+/]*:[A-Za-z0-9+/]*$/;

/** Parses a crashlab path; returns null when it is malformed. */
export function parseReplayPath(text: string): ReplayPath | null {
  const at = text.indexOf('@');
  const fcPath = at < 0 ? text : text.slice(0, at);
  const commandsPath = at < 0 ? null : text.slice(at + 1);
  if (!FC_PATH.test(fcPath)) return null;
  if (commandsPath !== null && !COMMANDS_PATH.test(commandsPath)) return null;
  return { fcPath, commandsPath };
}

export function formatReplayPath(path: ReplayPath): string {
  return path.commandsPath === null ? path.fcPath : `${path.fcPath}@${path.commandsPath}`;
}

/** Pulls the `replayPath="..."` hint fast-check appends to a commands counterexample. */
export function commandsPathOf(counterexample: string): string | null {
  const match = /replayPath="([^"]*)"/.exec(counterexample);
  return match === null ? null : match[1]!;
}
