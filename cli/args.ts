/**
 * Command-line parsing for `crashlab`, kept apart from main.ts so that it is a pure function
 * of argv and can be unit-tested. Every mistake is a `UsageError` whose one-line message names
 * the flag and what it accepts; main.ts prints it and exits 2.
 */
import { PROFILES } from '../properties/crashArbitraries.js';
import { parseReplayPath } from '../properties/replayPath.js';
import { SEED_MAX, VFS_KINDS, type VfsKind } from '../properties/runDifferential.js';
import type { ProfileName } from '../properties/runCrash.js';

export const USAGE = `Usage: crashlab <command> [flags]

Commands:
  run           crash campaign against the reference engine: workloads on the fault-injecting
                in-memory VFS, crash images at sampled I/O events, recovery checked against the model
  differential  differential campaign: engine vs. in-memory model, no crashes
  help          print this help

Flags for run:
  --seed N                       seed in [0, ${SEED_MAX}] (drawn at random and printed when omitted)
  --runs N                       number of crash cases (default 100)
  --profile quick|default|thorough   workload size and crash images per case (default default)
  --barrier always|wal-aware|both    barrier policies to run (default both)
  --path P                       replay one failing case printed by a failed run (needs --seed)
  --json                         print JSON lines instead of text

Flags for differential:
  --seed N, --runs N, --json     as for run
  --path P                       replay one counterexample path printed by a failed run (needs --seed)
  --vfs memory|real              storage: in-memory, or real files in a temporary directory (default memory)

Exit status: 0 all runs passed, 1 a run failed, 2 bad command line.`;

export const DEFAULT_RUNS = 100;
/** A bound, not a target: it keeps a typo like --runs 1e9 from looking like a hang. */
export const RUNS_MAX = 10_000_000;

export type BarrierChoice = 'always' | 'wal-aware' | 'both';

export type Command =
  | { readonly command: 'help' }
  | {
    readonly command: 'run';
    /** null: draw one (the caller may, the parser must stay pure). */
    readonly seed: number | null;
    readonly runs: number;
    readonly profile: ProfileName;
    readonly barrier: BarrierChoice;
    readonly path: string | null;
    readonly json: boolean;
  }
  | {
    readonly command: 'differential';
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

const COMMANDS = ['run', 'differential', 'help'] as const;
const FLAGS = {
  run: ['--seed', '--runs', '--profile', '--barrier', '--path', '--json', '--help'],
  differential: ['--seed', '--runs', '--path', '--vfs', '--json', '--help'],
} as const;
type Flag = (typeof FLAGS)[keyof typeof FLAGS][number];
const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];
const BARRIERS: readonly BarrierChoice[] = ['always', 'wal-aware', 'both'];

export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError(`missing command (accepted: ${COMMANDS.join(', ')}; see crashlab --help)`);
  if (command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (command === 'run') return parseRun(rest);
  if (command === 'differential') return parseDifferential(rest);
  throw new UsageError(`unknown command ${JSON.stringify(command)} (accepted: ${COMMANDS.join(', ')})`);
}

/** Flag values by flag; `--flag=value` and `--flag value` both work, a flag may appear once. */
function collectFlags(command: keyof typeof FLAGS, argv: readonly string[]): Map<Flag, string | true> {
  const allowed: readonly string[] = FLAGS[command];
  const flags = new Map<Flag, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (name === '-h') return new Map([['--help', true]]);
    if (!allowed.includes(name)) {
      throw new UsageError(`unknown flag ${JSON.stringify(name)} for ${command} (accepted: ${allowed.join(', ')})`);
    }
    const flag = name as Flag;
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

function accepted(flag: Flag): string {
  switch (flag) {
    case '--seed': return `an integer in [0, ${SEED_MAX}]`;
    case '--runs': return `an integer in [1, ${RUNS_MAX}]`;
    case '--path': return 'a path printed by a failed run, like 12:3:0';
    case '--vfs': return VFS_KINDS.join('|');
    case '--profile': return PROFILE_NAMES.join('|');
    case '--barrier': return BARRIERS.join('|');
    case '--json':
    case '--help': return 'no value';
  }
}

/** The flags both commands share: seed, runs, path (which needs a seed), json. */
function common(flags: Map<Flag, string | true>): { seed: number | null; runs: number; path: string | null; json: boolean } {
  const seedText = text(flags, '--seed');
  const runsText = text(flags, '--runs');
  const path = text(flags, '--path') ?? null;
  const seed = seedText === undefined ? null : integer('--seed', seedText, 0, SEED_MAX);
  const runs = runsText === undefined ? DEFAULT_RUNS : integer('--runs', runsText, 1, RUNS_MAX);
  if (path !== null && seed === null) throw new UsageError('--path needs --seed: a path means something only under its seed');
  return { seed, runs, path, json: flags.has('--json') };
}

function text(flags: Map<Flag, string | true>, flag: Flag): string | undefined {
  const value = flags.get(flag);
  return typeof value === 'string' ? value : undefined;
}

function oneOf<T extends string>(flags: Map<Flag, string | true>, flag: Flag, choices: readonly T[], fallback: T): T {
  const value = text(flags, flag) ?? fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be ${accepted(flag)}, not ${JSON.stringify(value)}`);
  return value as T;
}

function parseRun(argv: readonly string[]): Command {
  const flags = collectFlags('run', argv);
  if (flags.has('--help')) return { command: 'help' };
  const shared = common(flags);
  if (shared.path !== null && !/^\d+(:\d+)*$/.test(shared.path)) {
    throw new UsageError(`--path must be ${accepted('--path')}, not ${JSON.stringify(shared.path)}`);
  }
  const profile = oneOf(flags, '--profile', PROFILE_NAMES, 'default');
  const barrier = oneOf(flags, '--barrier', BARRIERS, 'both');
  if (shared.path !== null && barrier === 'both') throw new UsageError('--path needs --barrier always|wal-aware: a path belongs to one campaign');
  return { command: 'run', ...shared, profile, barrier };
}

function parseDifferential(argv: readonly string[]): Command {
  const flags = collectFlags('differential', argv);
  if (flags.has('--help')) return { command: 'help' };
  const shared = common(flags);
  const vfs = oneOf(flags, '--vfs', VFS_KINDS, 'memory');
  if (shared.path !== null && parseReplayPath(shared.path) === null) {
    throw new UsageError(`--path must be a path printed by a failed run, like 12:3:0@AB:C, not ${JSON.stringify(shared.path)}`);
  }
  return { command: 'differential', ...shared, vfs };
}

/** Decimal digits only: `Number()` would also take "1e3", "0x10" and " 7 ". */
function integer(flag: Flag, value: string, min: number, max: number): number {
  const parsed = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!(Number.isSafeInteger(parsed) && parsed >= min && parsed <= max)) {
    throw new UsageError(`${flag} must be ${accepted(flag)}, not ${JSON.stringify(value)}`);
  }
  return parsed;
}
