/**
 * Command-line parsing for `crashlab`, kept apart from main.ts so that it is a pure function
 * of argv and can be unit-tested. Every mistake is a `UsageError` whose one-line message names
 * the flag and what it accepts; main.ts prints it and exits 2.
 */
import { VFS_KINDS, SEED_MAX, type VfsKind } from '../properties/runDifferential.js';
import { parseReplayPath } from '../properties/replayPath.js';

export const USAGE = `Usage: crashlab <command> [flags]

Commands:
  run     run the differential campaign (engine vs. in-memory model) under one seed
  help    print this help

Flags for run:
  --seed N           seed in [0, ${SEED_MAX}] (drawn at random and printed when omitted)
  --runs N           number of runs (default 100)
  --path P           replay one counterexample path printed by a failed run (needs --seed)
  --vfs memory|real  storage: in-memory, or real files in a temporary directory (default memory)
  --json             print JSON lines instead of text

Exit status: 0 all runs passed, 1 a run failed, 2 bad command line.`;

export const DEFAULT_RUNS = 100;
/** A bound, not a target: it keeps a typo like --runs 1e9 from looking like a hang. */
export const RUNS_MAX = 10_000_000;

export type Command =
  | { readonly command: 'help' }
  | {
    readonly command: 'run';
    /** null: draw one (the caller may, the parser must stay pure). */
    readonly seed: number | null;
    readonly runs: number;
    readonly path: string | null;
    readonly vfs: VfsKind;
    readonly json: boolean;
  };

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

const COMMANDS = ['run', 'help'] as const;
const RUN_FLAGS = ['--seed', '--runs', '--path', '--vfs', '--json', '--help'] as const;
type RunFlag = (typeof RUN_FLAGS)[number];

export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError(`missing command (accepted: ${COMMANDS.join(', ')}; see crashlab --help)`);
  if (command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (command !== 'run') {
    throw new UsageError(`unknown command ${JSON.stringify(command)} (accepted: ${COMMANDS.join(', ')})`);
  }
  return parseRun(rest);
}

/** Flag values by flag; `--flag=value` and `--flag value` both work, a flag may appear once. */
function collectFlags(argv: readonly string[]): Map<RunFlag, string | true> {
  const flags = new Map<RunFlag, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (name === '-h') return new Map([['--help', true]]);
    if (!(RUN_FLAGS as readonly string[]).includes(name)) {
      throw new UsageError(`unknown flag ${JSON.stringify(name)} for run (accepted: ${RUN_FLAGS.join(', ')})`);
    }
    const flag = name as RunFlag;
    if (flags.has(flag)) throw new UsageError(`${flag} given more than once`);
    if (flag === '--json' || flag === '--help') {
      if (eq >= 0) throw new UsageError(`${flag} takes no value`);
      flags.set(flag, true);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`${flag} needs a value: ${accepted(flag)}`);
    flags.set(flag, value);
  }
  return flags;
}

function accepted(flag: RunFlag): string {
  switch (flag) {
    case '--seed': return `an integer in [0, ${SEED_MAX}]`;
    case '--runs': return `an integer in [1, ${RUNS_MAX}]`;
    case '--path': return 'a path printed by a failed run, like 12:3:0@AB:C';
    case '--vfs': return VFS_KINDS.join('|');
    case '--json':
    case '--help': return 'no value';
  }
}

function parseRun(argv: readonly string[]): Command {
  const flags = collectFlags(argv);
  if (flags.has('--help')) return { command: 'help' };
  const text = (flag: RunFlag): string | undefined => {
    const value = flags.get(flag);
    return typeof value === 'string' ? value : undefined;
  };
  const seedText = text('--seed');
  const runsText = text('--runs');
  const path = text('--path') ?? null;
  const vfs = text('--vfs') ?? 'memory';
  const seed = seedText === undefined ? null : integer('--seed', seedText, 0, SEED_MAX);
  const runs = runsText === undefined ? DEFAULT_RUNS : integer('--runs', runsText, 1, RUNS_MAX);
  if (!(VFS_KINDS as readonly string[]).includes(vfs)) {
    throw new UsageError(`--vfs must be ${accepted('--vfs')}, not ${JSON.stringify(vfs)}`);
  }
  if (path !== null && parseReplayPath(path) === null) {
    throw new UsageError(`--path must be ${accepted('--path')}, not ${JSON.stringify(path)}`);
  }
  if (path !== null && seed === null) throw new UsageError('--path needs --seed: a path means something only under its seed');
  return { command: 'run', seed, runs, path, vfs: vfs as VfsKind, json: flags.has('--json') };
}

/** Decimal digits only: `Number()` would also take "1e3", "0x10" and " 7 ". */
function integer(flag: RunFlag, value: string, min: number, max: number): number {
  const parsed = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!(Number.isSafeInteger(parsed) && parsed >= min && parsed <= max)) {
    throw new UsageError(`${flag} must be ${accepted(flag)}, not ${JSON.stringify(value)}`);
  }
  return parsed;
}
