/**
 * A crashlab path names one counterexample under a seed: fast-check's shrink path, plus the
 * replay hint of `fc.commands` after an `@`. The hint records which commands actually ran at
 * each shrink step; without it fast-check cannot walk a commands shrink path when replaying.
 *
 *   12:3:0:1@CCB:A   (fast-check path "12:3:0:1", commands replayPath "CCB:A")
 */

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
