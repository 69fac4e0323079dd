/**
 * Command-line parsing for `crashlab`: Node's `util.parseArgs` tokenises, a table of flags per
 * subcommand (FLAG_TABLE) says what each takes, its default and its help line, so every
 * subcommand's `--help` and the check of every value come from one place. Parsing is a pure
 * function of argv; every mistake is a `UsageError` whose one-line message names the flag and
 * what it accepts; main.ts prints it and exits 2.
 */
import { parseArgs as tokenise } from 'node:util';
import { GENERATOR_VERSION, PROFILES } from '../properties/crashArbitraries.js';
import { parseReplayPath } from '../properties/replayPath.js';
import { SEED_MAX, VFS_KINDS, type VfsKind } from '../properties/runDifferential.js';
import type { ProfileName } from '../properties/runCrash.js';
import { parseShard, type Shard } from '../properties/shard.js';
import { DEFAULT_MUTANTS_BUDGET_SECONDS } from './mutantsCommand.js';

export const DEFAULT_RUNS = 100;
/** A bound, not a target: it keeps a typo like --runs 1e9 from looking like a hang. */
export const RUNS_MAX = 10_000_000;
/** Longest --time: a day. A bound, like RUNS_MAX, so a typo is not a week of CPU. */
export const TIME_MAX_SECONDS = 86_400;
export const DEFAULT_CERTIFICATE_DIR = '.crashlab/certificate';
export const DEFAULT_CERTIFY_BUDGET_SECONDS = 120;
const KILLS_MAX = 10_000;

export const FAILURES_ACTIONS = ['list', 'prune', 'rm', 'fix'] as const;
export type FailuresAction = (typeof FAILURES_ACTIONS)[number];

export type BarrierChoice = 'always' | 'wal-aware' | 'both';
const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[];
const BARRIERS: readonly BarrierChoice[] = ['always', 'wal-aware', 'both'];

export const COMMANDS = ['targets', 'run', 'replay', 'failures', 'certify', 'merge', 'mutants', 'differential', 'help'] as const;
export type CommandName = (typeof COMMANDS)[number];

export type Command =
  | { readonly command: 'help'; readonly topic: CommandName | null }
  | {
    readonly command: 'failures';
    readonly action: FailuresAction;
    /** The failure `rm` and `fix` act on; null for list and prune. */
    readonly id: string | null;
    readonly json: boolean;
  }
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
    /** Certify a named mutant instead of the engine (its certificate says so). */
    readonly plant: string | null;
  }
  | { readonly command: 'merge'; readonly files: readonly string[]; readonly out: string }
  | { readonly command: 'mutants'; readonly budgetSeconds: number; readonly only: readonly string[] | null; readonly automatic: boolean; readonly json: boolean; readonly list: boolean }
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
    /** Replay against this mutant (a saved failure names its own). */
    readonly plant: string | null;
    /** The generator version a SEED:PATH was printed under (refused when it is not this one's); null: not given. */
    readonly generator: number | null;
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
    /** Run against this mutant of the engine (crashlab mutants --list); null: the engine itself. */
    readonly plant: string | null;
    /** With --path: the generator version the path was printed under; null: not given. */
    readonly generator: number | null;
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

/** One flag: its value's placeholder (null: a switch), what it accepts, its default, its help. */
interface FlagSpec {
  readonly value: string | null;
  readonly accepts: string;
  readonly fallback?: string;
  readonly help: string;
}

const seconds = (min: number): string => `a whole number of seconds in [${min}, ${TIME_MAX_SECONDS}]`;

/** Every flag once; a subcommand lists the names it takes (FLAG_TABLE below). */
const FLAG_SPECS = {
  seed: { value: 'N', accepts: `an integer in [0, ${SEED_MAX}]`, fallback: 'drawn at random and printed', help: 'the seed every workload, configuration and fault is drawn from' },
  runs: { value: 'N', accepts: `an integer in [1, ${RUNS_MAX}]`, fallback: String(DEFAULT_RUNS), help: 'cases (per barrier for run)' },
  time: { value: 'SECONDS', accepts: seconds(1), help: 'run for this long instead of a number of cases' },
  profile: { value: 'NAME', accepts: PROFILE_NAMES.join('|'), fallback: 'default', help: 'workload size and crash images per case' },
  barrier: { value: 'NAME', accepts: BARRIERS.join('|'), fallback: 'both (replay: wal-aware)', help: 'barrier policies to run' },
  path: { value: 'P', accepts: 'a path printed by a failed run, like 12:3:0', help: 'replay one failing case printed by a failed run (needs --seed)' },
  vfs: { value: 'KIND', accepts: VFS_KINDS.join('|'), fallback: 'memory', help: 'memory: the fault-injecting in-memory VFS; real: real files (run: SIGKILLed children)' },
  shard: { value: 'I/N', accepts: 'I/N with I counted from 1, like 2/4', help: 'run shard I of N (CI_NODE_INDEX from 0 and CI_NODE_TOTAL work too)' },
  report: { value: 'FILE.html', accepts: 'a file name ending in .html', help: 'write a self-contained HTML report of the failures' },
  junit: { value: 'FILE.xml', accepts: 'a file name ending in .xml', help: 'write JUnit XML for CI systems' },
  json: { value: null, accepts: 'no value', help: 'print JSON lines instead of text (the last line sums up)' },
  budget: { value: 'SECONDS', accepts: seconds(1), fallback: `${DEFAULT_CERTIFY_BUDGET_SECONDS} (mutants: ${DEFAULT_MUTANTS_BUDGET_SECONDS})`, help: 'the whole time budget (certify: the matrix and the mutants together)' },
  out: { value: 'DIR', accepts: 'a directory', fallback: DEFAULT_CERTIFICATE_DIR, help: 'where certificate.json and certificate.md go' },
  compare: { value: 'OLD.json', accepts: 'a certificate.json written by an earlier certify', help: 'show what changed since an earlier certificate' },
  kills: { value: 'N', accepts: `a whole number of SIGKILLs per tier in [0, ${KILLS_MAX}]`, fallback: '2', help: 'SIGKILLs per tier' },
  'mutants-budget': { value: 'SECONDS', accepts: `${seconds(0)}, less than --budget (0 skips the mutants)`, fallback: 'half of --budget', help: "the mutants' part of --budget, after the matrix (a survivor fails, one not killed in time is inconclusive)" },
  only: { value: 'NAMES', accepts: 'mutant names, comma separated (see crashlab mutants)', help: 'run only these mutants' },
  automatic: { value: null, accepts: 'no value', help: 'also the mutants generated from the compiled engine' },
  plant: { value: 'NAME', accepts: 'a mutant name (crashlab mutants --list)', help: 'run against this planted bug instead of the engine itself; its failures are saved under its name' },
  list: { value: null, accepts: 'no value', help: 'list the mutants with what each stands for, and run nothing' },
  generator: { value: 'V', accepts: `the generator version a replay command printed (this crashlab: ${GENERATOR_VERSION})`, help: 'refuse a SEED:PATH printed by another case generator' },
  help: { value: null, accepts: 'no value', help: 'print this help' },
} as const satisfies Record<string, FlagSpec>;
type FlagName = keyof typeof FLAG_SPECS;

/**
 * The one place target selection goes: a subcommand that can run against other targets lists
 * these (run and certify; replay when it learns targets). targetCommand.ts takes the
 * invocations that name a target other than the reference engine before this parser sees them.
 */
export const TARGET_FLAGS_HELP = '  --target NAME | --adapter FILE   the engine under test (default: the reference engine; see crashlab targets)';

interface CommandSpec {
  readonly summary: string;
  readonly positionals: string | null;
  readonly flags: readonly FlagName[];
  readonly targets?: boolean;
}

const FLAG_TABLE: Record<Exclude<CommandName, 'help' | 'targets'>, CommandSpec> = {
  run: {
    summary: 'crash campaign: workloads on the fault-injecting in-memory VFS, crash images at sampled I/O events, recovery checked against the model; saved failures (.crashlab/failures) are replayed first, new ones saved',
    positionals: null, targets: true,
    flags: ['seed', 'runs', 'time', 'profile', 'barrier', 'path', 'generator', 'vfs', 'shard', 'plant', 'report', 'junit', 'json', 'help'],
  },
  replay: { summary: 'replay one failure exactly (a saved id, or the SEED:PATH a run printed)', positionals: 'ID | SEED:PATH', flags: ['barrier', 'profile', 'plant', 'generator', 'report', 'json', 'help'] },
  failures: {
    summary: 'the saved failures: list them; prune (replay each from its stored case, remove those that replay cleanly, twice alike); rm ID; fix ID (keep replaying it, stop reporting it)',
    positionals: '[list | prune | rm ID | fix ID]', flags: ['json', 'help'],
  },
  certify: {
    summary: 'run the full matrix (fault kinds x barrier x write buffer x page size, plus SIGKILL tiers) within a time budget; write certificate.json and certificate.md',
    positionals: null, targets: true, flags: ['budget', 'seed', 'out', 'compare', 'shard', 'kills', 'mutants-budget', 'plant', 'help'],
  },
  merge: { summary: 'merge shard certificates into one', positionals: 'FILES', flags: ['out', 'help'] },
  mutants: { summary: 'run the harness against every planted durability bug (mutation score)', positionals: null, flags: ['budget', 'only', 'automatic', 'list', 'json', 'help'] },
  differential: { summary: 'differential campaign: engine vs. in-memory model, no crashes', positionals: null, flags: ['seed', 'runs', 'path', 'vfs', 'json', 'help'] },
};

function flagLine(name: FlagName): string {
  const spec: FlagSpec = FLAG_SPECS[name];
  const left = `  --${name}${spec.value === null ? '' : ` ${spec.value}`}`;
  const accepts = spec.value === null ? '' : ` (${spec.accepts}`;
  const fallback = spec.fallback === undefined ? (accepts === '' ? '' : ')') : `; default ${spec.fallback})`;
  return `${left.padEnd(30)} ${spec.help}${accepts}${fallback}`;
}

/** One subcommand's help: what it does, its flags with what they accept and their defaults. */
export function commandUsage(name: Exclude<CommandName, 'help' | 'targets'>): string {
  const spec = FLAG_TABLE[name];
  return [`Usage: crashlab ${name}${spec.positionals === null ? '' : ` ${spec.positionals}`} [flags]`, '', spec.summary, '', 'Flags:',
    ...spec.flags.map(flagLine), ...(spec.targets === true ? [TARGET_FLAGS_HELP] : [])].join('\n');
}

export const USAGE = [
  'Usage: crashlab <command> [flags]   (crashlab <command> --help: its flags and defaults)', '', 'Commands:',
  '  targets'.padEnd(16) + 'list the targets (engines crashlab can crash-test) with their capabilities and contracts',
  ...Object.entries(FLAG_TABLE).map(([name, spec]) => `  ${name}`.padEnd(16) + spec.summary),
  '  help'.padEnd(16) + 'print this help', '',
  ...(['run', 'replay', 'certify', 'mutants', 'differential'] as const).flatMap((name) => [`Flags for ${name}:`, ...FLAG_TABLE[name].flags.filter((f) => f !== 'help').map(flagLine), '']),
  'Exit status: 0 all runs passed, 1 a run failed, 2 bad command line, 3 inconclusive (certify, mutants: a mutant not killed in time), 130 interrupted.',
].join('\n');

type Values = Map<FlagName, string | true>;

/** Tokenises with util.parseArgs (non-strict, so that the messages stay ours) and checks every token. */
function collect(command: Exclude<CommandName, 'help' | 'targets'>, argv: readonly string[]): { values: Values; positionals: string[] } {
  const allowed = FLAG_TABLE[command].flags;
  const options = Object.fromEntries(allowed.map((name) => [name, { type: FLAG_SPECS[name].value === null ? 'boolean' as const : 'string' as const, ...(name === 'help' ? { short: 'h' } : {}) }]));
  const { tokens } = tokenise({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const values: Values = new Map();
  const positionals: string[] = [];
  for (const token of tokens) {
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (FLAG_TABLE[command].positionals === null) throw new UsageError(`${command} takes no argument ${JSON.stringify(token.value)} (see crashlab ${command} --help)`);
      positionals.push(token.value);
      continue;
    }
    const name = token.name as FlagName;
    if (!(allowed as readonly string[]).includes(token.name)) {
      throw new UsageError(`unknown flag ${JSON.stringify(token.rawName)} for ${command} (accepted: ${allowed.map((f) => `--${f}`).join(', ')})`);
    }
    if (name === 'help') return { values: new Map([['help', true]]), positionals: [] };
    if (values.has(name)) throw new UsageError(`--${name} given more than once`);
    const isSwitch = FLAG_SPECS[name].value === null;
    if (isSwitch && token.value !== undefined) throw new UsageError(`--${name} takes no value`);
    if (!isSwitch && token.value === undefined) throw new UsageError(`--${name} needs a value: ${FLAG_SPECS[name].accepts}`);
    values.set(name, token.value ?? true);
  }
  return { values, positionals };
}

export function parseArgs(argv: readonly string[]): Command {
  const [command, ...rest] = argv;
  if (command === undefined) throw new UsageError(`missing command (accepted: ${COMMANDS.join(', ')}; see crashlab --help)`);
  if (command === 'help' || command === '--help' || command === '-h') {
    const topic = rest[0];
    return { command: 'help', topic: topic !== undefined && (COMMANDS as readonly string[]).includes(topic) ? topic as CommandName : null };
  }
  if (!(command in FLAG_TABLE)) throw new UsageError(`unknown command ${JSON.stringify(command)} (accepted: ${COMMANDS.join(', ')})`);
  const name = command as keyof typeof FLAG_TABLE;
  const { values, positionals } = collect(name, rest);
  if (values.has('help')) return { command: 'help', topic: name };
  const flags = new Flags(values);
  switch (name) {
    case 'run': return parseRun(flags);
    case 'replay': return parseReplay(flags, positionals);
    case 'failures': return parseFailures(flags, positionals);
    case 'certify': return parseCertify(flags);
    case 'merge': return parseMerge(flags, positionals);
    case 'mutants': return parseMutants(flags);
    case 'differential': return parseDifferential(flags);
  }
}

/** Typed reads of the collected values; each mistake names the flag and what it accepts. */
class Flags {
  constructor(private readonly values: Values) {}

  has(name: FlagName): boolean {
    return this.values.has(name);
  }

  text(name: FlagName): string | null {
    const value = this.values.get(name);
    return typeof value === 'string' ? value : null;
  }

  /** Decimal digits only: `Number()` would also take "1e3", "0x10" and " 7 ". */
  integer(name: FlagName, min: number, max: number): number | null {
    const value = this.text(name);
    return value === null ? null : integer(name, value, min, max);
  }

  oneOf<T extends string>(name: FlagName, choices: readonly T[], fallback: T): T {
    const value = this.text(name) ?? fallback;
    if (!(choices as readonly string[]).includes(value)) throw new UsageError(`--${name} must be ${choices.join('|')}, not ${JSON.stringify(value)}`);
    return value as T;
  }

  file(name: 'report' | 'junit' | 'compare', suffix: string): string | null {
    const value = this.text(name);
    if (value !== null && (!value.endsWith(suffix) || value.length <= suffix.length)) throw mustBe(name, value);
    return value;
  }

  shard(): Shard | null {
    const value = this.text('shard');
    try {
      return value === null ? null : parseShard(value);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message : String(error));
    }
  }
}

function mustBe(name: FlagName, value: string): UsageError {
  return new UsageError(`--${name} must be ${FLAG_SPECS[name].accepts}, not ${JSON.stringify(value)}`);
}

function integer(name: FlagName, value: string, min: number, max: number): number {
  const parsed = /^\d{1,16}$/.test(value) ? Number(value) : NaN;
  if (!(Number.isSafeInteger(parsed) && parsed >= min && parsed <= max)) throw mustBe(name, value);
  return parsed;
}

/** The flags run and differential share: seed, runs, path (which needs a seed), json. */
function common(flags: Flags): { seed: number | null; runs: number; path: string | null; json: boolean } {
  const seed = flags.integer('seed', 0, SEED_MAX);
  const runs = flags.integer('runs', 1, RUNS_MAX) ?? DEFAULT_RUNS;
  const path = flags.text('path');
  if (path !== null && seed === null) throw new UsageError('--path needs --seed: a path means something only under its seed');
  return { seed, runs, path, json: flags.has('json') };
}

function parseRun(flags: Flags): Command {
  const shared = common(flags);
  if (shared.path !== null && !/^\d+(:\d+)*$/.test(shared.path)) throw mustBe('path', shared.path);
  const profile = flags.oneOf('profile', PROFILE_NAMES, 'default');
  const barrier = flags.oneOf('barrier', BARRIERS, 'both');
  if (shared.path !== null && barrier === 'both') throw new UsageError('--path needs --barrier always|wal-aware: a path belongs to one campaign');
  if (flags.has('time') && flags.has('runs')) throw new UsageError('--time and --runs exclude each other: give one');
  const timeSeconds = flags.integer('time', 1, TIME_MAX_SECONDS);
  const vfs = flags.oneOf('vfs', VFS_KINDS, 'memory');
  if (vfs === 'real' && (timeSeconds !== null || shared.path !== null)) throw new UsageError('--vfs real takes --runs (SIGKILLs), not --time or --path');
  const plant = flags.text('plant');
  if (vfs === 'real' && plant !== null) throw new UsageError('--vfs real runs the reference engine in child processes: it takes no --plant');
  const generator = flags.integer('generator', 0, Number.MAX_SAFE_INTEGER);
  if (generator !== null && shared.path === null) throw new UsageError('--generator goes with --path: it says which generator printed the path');
  return { command: 'run', ...shared, profile, barrier, timeSeconds, shard: flags.shard(), vfs, report: flags.file('report', '.html'), junit: flags.file('junit', '.xml'), plant, generator };
}

function parseCertify(flags: Flags): Command {
  return {
    command: 'certify',
    budgetSeconds: flags.integer('budget', 1, TIME_MAX_SECONDS) ?? DEFAULT_CERTIFY_BUDGET_SECONDS,
    seed: flags.integer('seed', 0, SEED_MAX),
    out: flags.text('out') ?? DEFAULT_CERTIFICATE_DIR,
    compare: flags.file('compare', '.json'),
    shard: flags.shard(),
    kills: flags.integer('kills', 0, KILLS_MAX),
    mutantsBudgetSeconds: flags.integer('mutants-budget', 0, TIME_MAX_SECONDS),
    plant: flags.text('plant'),
  };
}

function parseMutants(flags: Flags): Command {
  const onlyText = flags.text('only');
  const only = onlyText === null ? null : onlyText.split(',').map((name) => name.trim()).filter((name) => name !== '');
  if (only !== null && only.length === 0) throw new UsageError(`--only must be ${FLAG_SPECS.only.accepts}`);
  const budgetSeconds = flags.integer('budget', 1, TIME_MAX_SECONDS) ?? DEFAULT_MUTANTS_BUDGET_SECONDS;
  return { command: 'mutants', budgetSeconds, only, automatic: flags.has('automatic'), json: flags.has('json'), list: flags.has('list') };
}

function parseMerge(flags: Flags, files: readonly string[]): Command {
  if (files.length === 0) throw new UsageError('merge needs at least one certificate.json');
  return { command: 'merge', files, out: flags.text('out') ?? DEFAULT_CERTIFICATE_DIR };
}

function parseReplay(flags: Flags, positionals: readonly string[]): Command {
  const what = 'an id printed by crashlab failures (12 hex digits) or SEED:PATH like 42:3:0:1';
  if (positionals.length !== 1) throw new UsageError(`replay needs exactly one failure: ${what}`);
  const target = positionals[0]!;
  const profile = flags.oneOf('profile', PROFILE_NAMES, 'default');
  const barrier = flags.oneOf<'always' | 'wal-aware'>('barrier', ['always', 'wal-aware'], 'wal-aware');
  const generator = flags.integer('generator', 0, Number.MAX_SAFE_INTEGER);
  const shared = { barrier, profile, report: flags.file('report', '.html'), json: flags.has('json'), plant: flags.text('plant'), generator };
  if (/^[0-9a-f]{12}$/.test(target)) {
    if (generator !== null) throw new UsageError('--generator goes with SEED:PATH: a saved failure replays from its stored case');
    return { command: 'replay', id: target, seed: null, path: null, ...shared };
  }
  const match = /^(\d{1,10}):(\d+(?::\d+)*)$/.exec(target);
  if (match === null) throw new UsageError(`replay target must be ${what}, not ${JSON.stringify(target)}`);
  return { command: 'replay', id: null, seed: integer('seed', match[1]!, 0, SEED_MAX), path: match[2]!, ...shared };
}

function parseDifferential(flags: Flags): Command {
  const shared = common(flags);
  const vfs = flags.oneOf('vfs', VFS_KINDS, 'memory');
  if (shared.path !== null && parseReplayPath(shared.path) === null) {
    throw new UsageError(`--path must be a path printed by a failed run, like 12:3:0@AB:C, not ${JSON.stringify(shared.path)}`);
  }
  return { command: 'differential', ...shared, vfs };
}

function parseFailures(flags: Flags, positionals: readonly string[]): Command {
  const [action = 'list', id, ...extra] = positionals;
  if (!(FAILURES_ACTIONS as readonly string[]).includes(action)) throw new UsageError(`failures takes ${FAILURES_ACTIONS.join('|')}, not ${JSON.stringify(action)}`);
  const needsId = action === 'rm' || action === 'fix';
  if (extra.length > 0 || (needsId ? id === undefined : id !== undefined)) {
    throw new UsageError(needsId ? `failures ${action} needs exactly one id (see crashlab failures)` : `failures ${action} takes no id`);
  }
  if (id !== undefined && !/^[0-9a-f]{12}$/.test(id)) throw new UsageError(`a failure id is 12 hex digits (see crashlab failures), not ${JSON.stringify(id)}`);
  return { command: 'failures', action: action as FailuresAction, id: id ?? null, json: flags.has('json') };
}
