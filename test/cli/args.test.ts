// parseArgs: every accepted command line parses, every mistake names its flag and what it accepts.
import test from 'ava';
import { commandUsage, DEFAULT_RUNS, parseArgs, UsageError } from '../../cli/args.js';

const run = (...argv: string[]) => parseArgs(['differential', ...argv]);
const crash = (...argv: string[]) => parseArgs(['run', ...argv]);

const RUN_DEFAULTS = { timeSeconds: null, report: null, junit: null, shard: null, vfs: 'memory', plant: null, generator: null };

test('run with no flags: the crash campaign, drawn seed, default runs and profile, both barriers', (t) => {
  t.deepEqual(crash(), { command: 'run', seed: null, runs: DEFAULT_RUNS, path: null, json: false, profile: 'default', barrier: 'both', ...RUN_DEFAULTS });
});

test('every crash run flag, in both spellings', (t) => {
  const expected = { command: 'run', seed: 9, runs: 3, path: '1:0:4', json: true, profile: 'quick', barrier: 'wal-aware', timeSeconds: null, report: 'r.html', junit: 'j.xml', shard: null, vfs: 'memory', plant: null, generator: null };
  t.deepEqual(crash('--seed', '9', '--runs', '3', '--path', '1:0:4', '--json', '--profile', 'quick', '--barrier', 'wal-aware', '--report', 'r.html', '--junit', 'j.xml'), expected);
  t.deepEqual(crash('--barrier=wal-aware', '--profile=quick', '--json', '--path=1:0:4', '--runs=3', '--seed=9', '--report=r.html', '--junit=j.xml'), expected);
  t.like(crash('--time', '30'), { timeSeconds: 30, runs: DEFAULT_RUNS });
  t.like(crash('--shard', '2/4'), { shard: { index: 2, total: 4 } });
  t.like(crash('--vfs', 'real', '--runs', '20'), { vfs: 'real', runs: 20 });
  t.like(crash('--plant', 'ack-before-wal-fsync'), { plant: 'ack-before-wal-fsync' });
  t.like(crash('--seed', '1', '--barrier', 'always', '--path', '3', '--generator', '1'), { generator: 1 });
});

test('replay takes a saved id or SEED:PATH; failures takes list, prune, rm ID, fix ID and --json', (t) => {
  const none = { plant: null, generator: null };
  t.deepEqual(parseArgs(['replay', '0123456789ab']), { command: 'replay', id: '0123456789ab', seed: null, path: null, barrier: 'wal-aware', profile: 'default', report: null, json: false, ...none });
  t.deepEqual(parseArgs(['replay', '42:3:0:1', '--barrier', 'always', '--profile', 'quick', '--report', 'x.html', '--plant', 'roots-only-wal', '--generator', '1']),
    { command: 'replay', id: null, seed: 42, path: '3:0:1', barrier: 'always', profile: 'quick', report: 'x.html', json: false, plant: 'roots-only-wal', generator: 1 });
  t.deepEqual(parseArgs(['failures', '--json']), { command: 'failures', action: 'list', id: null, json: true });
  t.deepEqual(parseArgs(['failures', 'prune']), { command: 'failures', action: 'prune', id: null, json: false });
  t.deepEqual(parseArgs(['failures', 'rm', '0123456789ab']), { command: 'failures', action: 'rm', id: '0123456789ab', json: false });
  t.deepEqual(parseArgs(['failures', 'fix', '0123456789ab']), { command: 'failures', action: 'fix', id: '0123456789ab', json: false });
  t.like(parseArgs(['mutants', '--list']), { command: 'mutants', list: true });
  t.like(parseArgs(['certify', '--plant', 'roots-only-wal']), { command: 'certify', plant: 'roots-only-wal' });
});

test('differential with no flags: drawn seed, default runs, memory, text', (t) => {
  t.deepEqual(run(), { command: 'differential', seed: null, runs: DEFAULT_RUNS, path: null, vfs: 'memory', json: false });
});

test('every differential flag, in both spellings', (t) => {
  const expected = { command: 'differential', seed: 42, runs: 7, path: '3:1@AB:C', vfs: 'real', json: true };
  t.deepEqual(run('--seed', '42', '--runs', '7', '--path', '3:1@AB:C', '--vfs', 'real', '--json'), expected);
  t.deepEqual(run('--json', '--vfs=real', '--path=3:1@AB:C', '--runs=7', '--seed=42'), expected);
  t.is((run('--seed', '4294967295') as { seed: number }).seed, 4294967295);
  t.is((run('--seed', '0') as { seed: number }).seed, 0);
});

test('help in every form', (t) => {
  for (const argv of [['help'], ['--help'], ['-h']]) t.deepEqual(parseArgs(argv), { command: 'help', topic: null }, argv.join(' '));
  for (const argv of [['run', '--help'], ['run', '--seed', '1', '-h'], ['help', 'run']]) t.deepEqual(parseArgs(argv), { command: 'help', topic: 'run' }, argv.join(' '));
  t.deepEqual(parseArgs(['differential', '--help']), { command: 'help', topic: 'differential' });
});

/** Each mistake: the argv and what its one-line message must say. */
const MISTAKES: ReadonlyArray<[string[], RegExp]> = [
  [[], /missing command .*targets, run, replay, failures, certify, merge, mutants, differential, help/],
  [['frobnicate'], /unknown command "frobnicate" .*targets, run, replay, failures, certify, merge, mutants, differential, help/],
  [['failures', 'extra'], /failures takes list\|prune\|rm\|fix, not "extra"/],
  [['failures', 'rm'], /failures rm needs exactly one id/],
  [['failures', 'prune', '0123456789ab'], /failures prune takes no id/],
  [['failures', 'fix', 'xyz'], /a failure id is 12 hex digits/],
  [['replay', '0123456789ab', '--generator', '1'], /--generator goes with SEED:PATH/],
  [['run', '--generator', '1'], /--generator goes with --path/],
  [['run', '--time', '10', '--runs', '5'], /--time and --runs exclude each other/],
  [['run', '--time', '0'], /--time must be a whole number of seconds/],
  [['run', '--report', 'out.txt'], /--report must be a file name ending in \.html/],
  [['run', '--junit', 'out.json'], /--junit must be a file name ending in \.xml/],
  [['replay'], /replay needs exactly one failure/],
  [['replay', 'abc'], /replay target must be an id printed by crashlab failures/],
  [['replay', '1:2', '--barrier', 'both'], /--barrier must be always\|wal-aware/],
  [['failures', '--seed', '1'], /unknown flag "--seed" for failures/],
  [['run', '--shard', '5/4'], /shard index must be an integer in \[1, 4\]/],
  [['run', '--shard', 'two'], /--shard must look like I\/N/],
  [['differential', '--bogus'], /unknown flag "--bogus" for differential .*--seed, --runs, --path, --vfs, --json, --help/],
  [['run', '--vfs', 'disk'], /--vfs must be memory\|real, not "disk"/],
  [['run', '--vfs', 'real', '--time', '5'], /--vfs real takes --runs/],
  [['differential', '--seed'], /--seed needs a value: an integer in \[0, 4294967295\]/],
  [['differential', '--seed', '-1'], /--seed must be an integer in \[0, 4294967295\], not "-1"/],
  [['run', '--seed', '4294967296'], /--seed must be an integer/],
  [['run', '--seed', '1e3'], /--seed must be an integer/],
  [['run', '--seed', '+7'], /--seed must be an integer/],
  [['run', '--runs', '0'], /--runs must be an integer in \[1, /],
  [['run', '--runs', 'many'], /--runs must be an integer/],
  [['run', '--profile', 'huge'], /--profile must be quick\|default\|thorough, not "huge"/],
  [['run', '--barrier', 'never'], /--barrier must be always\|wal-aware\|both, not "never"/],
  [['run', '--seed', '1', '--barrier', 'always', '--path', 'x:y'], /--path must be a path printed by a failed run/],
  [['run', '--seed', '1', '--path', '1:2'], /--path needs --barrier always\|wal-aware/],
  [['differential', '--vfs', 'disk'], /--vfs must be memory\|real, not "disk"/],
  [['differential', '--seed', '1', '--path', 'x:y'], /--path must be a path printed by a failed run/],
  [['differential', '--path', '3:1'], /--path needs --seed/],
  [['run', '--seed', '1', '--seed', '2'], /--seed given more than once/],
  [['run', '--json=yes'], /--json takes no value/],
];

for (const [argv, message] of MISTAKES) {
  test(`rejects: crashlab ${argv.join(' ')}`, (t) => {
    const error = t.throws(() => parseArgs(argv), { instanceOf: UsageError });
    t.regex(error.message, message);
    t.false(error.message.includes('\n'), 'one line');
  });
}

test('certify takes --mutants-budget (0 skips the mutants); anything else names the flag', (t) => {
  t.like(parseArgs(['certify']), { command: 'certify', mutantsBudgetSeconds: null });
  t.like(parseArgs(['certify', '--mutants-budget', '0']), { mutantsBudgetSeconds: 0 });
  t.like(parseArgs(['certify', '--mutants-budget=900', '--budget', '60']), { mutantsBudgetSeconds: 900, budgetSeconds: 60 });
  t.throws(() => parseArgs(['certify', '--mutants-budget', 'lots']), { instanceOf: UsageError, message: /--mutants-budget/ });
});

test('mutants: the budget defaults to 600 seconds', (t) => {
  t.like(parseArgs(['mutants']), { command: 'mutants', budgetSeconds: 600, automatic: false });
  t.like(parseArgs(['mutants', '--automatic', '--budget', '30']), { budgetSeconds: 30, automatic: true });
});

test('every subcommand has its own help: each flag it takes, with what it accepts and its default', (t) => {
  const run = commandUsage('run');
  t.regex(run, /^Usage: crashlab run \[flags\]/);
  t.regex(run, /--runs N +cases .*; default 100\)/);
  t.regex(run, /--profile NAME .*quick\|default\|thorough; default default\)/);
  t.regex(run, /--target NAME \| --adapter FILE/);
  t.notRegex(run, /--budget/);
  const certify = commandUsage('certify');
  t.regex(certify, /--mutants-budget SECONDS .*less than --budget .*default half of --budget\)/);
  t.notRegex(certify, /--runs/);
  t.regex(commandUsage('replay'), /^Usage: crashlab replay ID \| SEED:PATH \[flags\]/);
});
