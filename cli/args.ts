/**
 * Command-line parsing for `crashlab`, kept apart from main.ts so that it is a pure function
 * of argv and can be unit-tested. Every mistake is a `UsageError` whose one-line message names
 * the flag and what it accepts; main.ts prints it and exits 2.
 */
import { PROFILES } from '../properties/crashArbitraries.js';
import { parseReplayPath } from '../properties/replayPath.js';
import { SEED_MAX, VFS_KINDS, type VfsKind } from '../properties/runDifferential.js';
import type { ProfileName } from '../properties/runCrash.js';
import { parseShard, type Shard } from '../properties/shard.js';
import { DEFAULT_MUTANTS_BUDGET_SECONDS } from './mutantsCommand.js';

export const USAGE = `Usage: crashlab <command> [flags]

Commands:
  targets       list the targets (engines crashlab can crash-test) with their capabilities and contracts
  run           crash campaign against the reference engine (or --target NAME, --adapter FILE): workloads on the fault-injecting
                in-memory VFS, crash images at sampled I/O events, recovery checked against the model;
                saved failures (.crashlab/failures) are replayed first, new ones saved
  replay ID | SEED:PATH   replay one failure exactly (a saved id, or the seed and path a run printed)
  failures      list the saved failures
  certify       run the full matrix (fault kinds x barrier x write buffer x page size, plus
                SIGKILL tiers) within a time budget; write certificate.json and certificate.md
  merge FILES   merge shard certificates into one
  mutants       run the harness against every planted durability bug (mutation score)
  differential  differential campaign: engine vs. in-memory model, no crashes
  help          print this help

Flags for run:
  --seed N                       seed in [0, ${SEED_MAX}] (drawn at random and printed when omitted)
  --runs N                       number of crash cases per barrier (default 100)
  --time SECONDS                 run for this long instead of a number of cases
  --profile quick|default|thorough   workload size and crash images per case (default default)
  --barrier always|wal-aware|both    barrier policies to run (default both)
  --path P                       replay one failing case printed by a failed run (needs --seed)
  --vfs memory|real              memory (default): crash images on the in-memory fault-injecting VFS;
                                 real: --runs SIGKILLed child processes on real files in a temporary
                                 directory, half plain (page cache survives), half power loss
  --shard I/N                    run shard I of N (its own derived seed and share of the runs);
                                 CI_NODE_INDEX (from 0) and CI_NODE_TOTAL work too
  --report FILE.html             write a self-contained HTML report of the failures
  --junit FILE.xml               write JUnit XML for CI systems
  --json                         print JSON lines instead of text (the last line sums up)

Flags for certify: --budget SECONDS (default 120), --seed N, --out DIR (default .crashlab/certificate),
  --compare OLD.json (show what changed), --shard I/N, --kills N (SIGKILLs per tier, default 2),
  --mutants-budget SECONDS (the engine's mutants after the matrix, default 600, 0 skips; a survivor fails)
Flags for merge: --out DIR (default .crashlab/certificate)
Flags for mutants: --budget SECONDS (default 600), --only NAME (repeatable as a,b), --json,
  --automatic (also the mutants generated from the compiled engine: delete sync/write, swap
  awaited I/O, skip checksum, continue past invalid, pass poison check, empty catch; and, in
  btree/node, flip a comparator, shift a bound, separator off by one, skip rebalancing, leak a page)

Flags for replay: --barrier always|wal-aware (for SEED:PATH; default wal-aware),
  --profile (for SEED:PATH; default default), --report FILE.html, --json

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
  | { readonly command: 'failures'; readonly json: boolean }
  | {
    readonly command: 'certify';
    readonly budgetSeconds: number;
    readonly seed: number | null;
    readonly out: string;
    readonly compare: string | null;
    readonly shard: Shard | null;
    readonly kills: number | null;
    /** Seconds for the mutation run (0 skips it); null: the default. */
    readonly mutantsBudgetSeconds: number | null;
  }
  | { readonly command: 'merge'; readonly files: readonly string[]; readonly out: string }
  | { readonly command: 'mutants'; readonly budgetSeconds: number; readonly only: readonly string[] | null; readonly automatic: boolean; readonly json: boolean }
  | {
    readonly command: 'replay';
    /** A saved failure's id, or null when seed and path are given. */
    readonly id: string | null;
    readonly seed: number | null;
    readonly path: string | null;
    readonly barrier: 'always' | 'wal-aware';
    readonly profile: ProfileName;
    readonly report: string | null;
    readonly json: boolean;
  }
  | {
    readonly command: 'run';
    /** null: draw one (the caller may, the parser must stay pure). */
    readonly seed: number | null;
    readonly runs: number;
    readonly profile: ProfileName;
    readonly barrier: BarrierChoice;
    readonly path: string | null;
    readonly json: boolean;
    /** Run for this long instead of `runs` cases (null: use runs). */
    readonly timeSeconds: number | null;
    /** This machine's part of a sharded campaign (null: the whole; CI_NODE_INDEX/TOTAL may say). */
    readonly shard: Shard | null;
    /** memory: the fault-injecting in-memory VFS; real: SIGKILLed processes on real files. */
    readonly vfs: VfsKind;
    readonly report: string | null;
    readonly junit: string | null;
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

const COMMANDS = ['run', 'replay', 'failures', 'certify', 'merge', 'mutants', 'differential', 'help'] as const;
const FLAGS = {
  run: ['--seed', '--runs', '--time', '--profile', '--barrier', '--path', '--shard', '--vfs', '--report', '--junit', '--json', '--help'],
  replay: ['--barrier', '--profile', '--report', '--json', '--help'],
  failures: ['--json', '--help'],
  certify: ['--budget', '--seed', '--out', '--compare', '--shard', '--kills', '--mutants-budget', '--help'],
  merge: ['--out', '--help'],
  mutants: ['--budget', '--only', '--automatic', '--json', '--help'],
  differential: ['--seed', '--runs', '--path', '--vfs', '--json', '--help'],
} as const;
/** Longest --time: a day. A bound, like RUNS_MAX, so a typo is not a week of CPU. */
export const TIME_MAX_SECONDS = 86_400;
type Flag = (typeof FLAGS)[keyof typeof FLAGS][number];
const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];
const BARRIERS: readonly BarrierChoice[] = ['always', 'wal-aware', 'both'];

export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError(`missing command (accepted: ${COMMANDS.join(', ')}; see crashlab --help)`);
  if (command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (command === 'run') return parseRun(rest);
  if (command === 'differential') return parseDifferential(rest);
  if (command === 'replay') return parseReplay(rest);
  if (command === 'certify') return parseCertify(rest);
  if (command === 'merge') return parseMerge(rest);
  if (command === 'mutants') return parseMutants(rest);
  if (command === 'failures') {
    const flags = collectFlags('failures', rest);
    return flags.has('--help') ? { command: 'help' } : { command: 'failures', json: flags.has('--json') };
  }
  throw new UsageError(`unknown command ${JSON.stringify(command)} (accepted: ${COMMANDS.join(', ')})`);
}

/** Flag values by flag; `--flag=value` and `--flag value` both work, a flag may appear once. */
function collectFlags(command: keyof typeof FLAGS, argv: readonly string[], positional: string[] = []): Map<Flag, string | true> {
  const allowed: readonly string[] = FLAGS[command];
  const flags = new Map<Flag, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') && (command === 'replay' || command === 'merge')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg : arg.slice(0, eq);
    if (name === '-h') return new Map([['--help', true]]);
    if (!allowed.includes(name)) {
      throw new UsageError(`unknown flag ${JSON.stringify(name)} for ${command} (accepted: ${allowed.join(', ')})`);
    }
    const flag = name as Flag;
    if (flags.has(flag)) throw new UsageError(`${flag} given more than once`);
    if (flag === '--json' || flag === '--help' || flag === '--automatic') {
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
    case '--time': return `a whole number of seconds in [1, ${TIME_MAX_SECONDS}]`;
    case '--shard': return 'I/N with I counted from 1, like 2/4';
    case '--budget': return `a whole number of seconds in [1, ${TIME_MAX_SECONDS}]`;
    case '--kills': return 'a whole number of SIGKILLs per tier in [0, 10000]';
    case '--mutants-budget': return `a whole number of seconds in [0, ${TIME_MAX_SECONDS}] (0 skips the mutants)`;
    case '--out': return 'a directory';
    case '--only': return 'mutant names, comma separated (see crashlab mutants)';
    case '--compare': return 'a certificate.json written by an earlier certify';
    case '--report': return 'a file name ending in .html';
    case '--junit': return 'a file name ending in .xml';
    case '--json':
    case '--automatic':
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
  const timeText = text(flags, '--time');
  if (timeText !== undefined && flags.has('--runs')) throw new UsageError('--time and --runs exclude each other: give one');
  const timeSeconds = timeText === undefined ? null : integer('--time', timeText, 1, TIME_MAX_SECONDS);
  const vfs = oneOf(flags, '--vfs', VFS_KINDS, 'memory');
  if (vfs === 'real' && (timeSeconds !== null || shared.path !== null)) throw new UsageError('--vfs real takes --runs (SIGKILLs), not --time or --path');
  return { command: 'run', ...shared, profile, barrier, timeSeconds, shard: shardFlag(flags), vfs, report: fileFlag(flags, '--report', '.html'), junit: fileFlag(flags, '--junit', '.xml') };
}

function shardFlag(flags: Map<Flag, string | true>): Shard | null {
  const shardText = text(flags, '--shard');
  try {
    return shardText === undefined ? null : parseShard(shardText);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export const DEFAULT_CERTIFICATE_DIR = '.crashlab/certificate';

function parseCertify(argv: readonly string[]): Command {
  const flags = collectFlags('certify', argv);
  if (flags.has('--help')) return { command: 'help' };
  const budgetText = text(flags, '--budget');
  const seedText = text(flags, '--seed');
  const killsText = text(flags, '--kills');
  const mutantsText = text(flags, '--mutants-budget');
  const compare = text(flags, '--compare') ?? null;
  if (compare !== null && !compare.endsWith('.json')) throw new UsageError(`--compare must be ${accepted('--compare')}, not ${JSON.stringify(compare)}`);
  return {
    command: 'certify',
    budgetSeconds: budgetText === undefined ? 120 : integer('--budget', budgetText, 1, TIME_MAX_SECONDS),
    seed: seedText === undefined ? null : integer('--seed', seedText, 0, SEED_MAX),
    out: text(flags, '--out') ?? DEFAULT_CERTIFICATE_DIR,
    compare,
    shard: shardFlag(flags),
    kills: killsText === undefined ? null : integer('--kills', killsText, 0, 10_000),
    mutantsBudgetSeconds: mutantsText === undefined ? null : integer('--mutants-budget', mutantsText, 0, TIME_MAX_SECONDS),
  };
}

function parseMutants(argv: readonly string[]): Command {
  const flags = collectFlags('mutants', argv);
  if (flags.has('--help')) return { command: 'help' };
  const budgetText = text(flags, '--budget');
  const onlyText = text(flags, '--only');
  const only = onlyText === undefined ? null : onlyText.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (only !== null && only.length === 0) throw new UsageError(`--only must be ${accepted('--only')}`);
  return { command: 'mutants', budgetSeconds: budgetText === undefined ? DEFAULT_MUTANTS_BUDGET_SECONDS : integer('--budget', budgetText, 1, TIME_MAX_SECONDS), only, automatic: flags.has('--automatic'), json: flags.has('--json') };
}

function parseMerge(argv: readonly string[]): Command {
  const files: string[] = [];
  const flags = collectFlags('merge', argv, files);
  if (flags.has('--help')) return { command: 'help' };
  if (files.length === 0) throw new UsageError('merge needs at least one certificate.json');
  return { command: 'merge', files, out: text(flags, '--out') ?? DEFAULT_CERTIFICATE_DIR };
}

function fileFlag(flags: Map<Flag, string | true>, flag: Flag, suffix: string): string | null {
  const value = text(flags, flag);
  if (value === undefined) return null;
  if (!value.endsWith(suffix) || value.length <= suffix.length) throw new UsageError(`${flag} must be ${accepted(flag)}, not ${JSON.stringify(value)}`);
  return value;
}

function parseReplay(argv: readonly string[]): Command {
  const positional: string[] = [];
  const flags = collectFlags('replay', argv, positional);
  if (flags.has('--help')) return { command: 'help' };
  const what = 'an id printed by crashlab failures (12 hex digits) or SEED:PATH like 42:3:0:1';
  if (positional.length !== 1) throw new UsageError(`replay needs exactly one failure: ${what}`);
  const target = positional[0]!;
  const profile = oneOf(flags, '--profile', PROFILE_NAMES, 'default');
  const barrier = oneOf<'always' | 'wal-aware'>(flags, '--barrier', ['always', 'wal-aware'], 'wal-aware');
  const common = { barrier, profile, report: fileFlag(flags, '--report', '.html'), json: flags.has('--json') };
  if (/^[0-9a-f]{12}$/.test(target)) return { command: 'replay', id: target, seed: null, path: null, ...common };
  const match = /^(\d{1,10}):(\d+(?::\d+)*)$/.exec(target);
  if (match === null) throw new UsageError(`replay target must be ${what}, not ${JSON.stringify(target)}`);
  const seed = integer('--seed', match[1]!, 0, SEED_MAX);
  return { command: 'replay', id: null, seed, path: match[2]!, ...common };
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
