// The crashlab binary: exit codes and the output a person (or CI) reads, through a real process.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const EMPTY_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-cli-'));
test.after.always(() => fs.rmSync(EMPTY_DIR, { recursive: true, force: true }));

function crashlab(...argv: string[]): { status: number | null; stdout: string; stderr: string } {
  // In an empty directory: a run replays the saved failures under its working directory first.
  const result = spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8', timeout: 240_000, cwd: EMPTY_DIR });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('run --runs 3 --seed 1 (the crash campaign) passes and prints the seed first, then the summary', (t) => {
  const { status, stdout, stderr } = crashlab('run', '--runs', '3', '--seed', '1', '--profile', 'quick');
  t.is(status, 0, stderr);
  const lines = stdout.trim().split('\n');
  t.regex(lines[0]!, /^crashlab run: seed 1 \(given\), 3 cases per barrier, profile quick, barrier always\+wal-aware/);
  t.regex(lines.at(-1)!, /^ok: seed 1, 6 cases, \d+ crash images, 0 violations, \d+ ms, \d+ images\/s$/);
});

test('run --json ends with one JSON object carrying the campaign figures', (t) => {
  const { status, stdout } = crashlab('run', '--runs', '2', '--seed', '5', '--profile', 'quick', '--barrier', 'always', '--json');
  t.is(status, 0);
  const done = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
  t.like(done, { event: 'done', ok: true, seed: 5, runs: 2, violations: 0, failures: [] });
  t.true(typeof done['crashImages'] === 'number' && done['crashImages'] > 0);
  t.true(typeof done['imagesPerSecond'] === 'number' && typeof done['elapsedMs'] === 'number');
});

test('differential --runs 5 --seed 1 passes and prints the seed first, then the summary', (t) => {
  const { status, stdout, stderr } = crashlab('differential', '--runs', '5', '--seed', '1');
  t.is(status, 0, stderr);
  const lines = stdout.trim().split('\n');
  t.regex(lines[0]!, /^crashlab differential: seed 1 \(given\), runs 5, vfs memory/);
  t.regex(lines.at(-1)!, /^ok: seed 1, 5 runs, \d+ ms, [\d.]+ runs\/s$/);
});

test('without --seed a seed is drawn and printed', (t) => {
  const { status, stdout } = crashlab('differential', '--runs', '1', '--json');
  t.is(status, 0);
  const [start, done] = stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  t.is(start!['event'], 'start');
  t.is(start!['seedSource'], 'drawn');
  t.true(Number.isSafeInteger(start!['seed']));
  t.like(done, { event: 'done', ok: true, seed: start!['seed'], runs: 1 });
});

test('a bad flag is one line on stderr and exit 2', (t) => {
  const { status, stdout, stderr } = crashlab('differential', '--vfs', 'floppy');
  t.is(status, 2);
  t.is(stdout, '');
  t.is(stderr, 'crashlab: --vfs must be memory|real, not "floppy"\n');
});

test('an unknown command is exit 2; help is exit 0 with the usage', (t) => {
  t.is(crashlab('explode').status, 2);
  const help = crashlab('--help');
  t.is(help.status, 0);
  t.regex(help.stdout, /^Usage: crashlab <command>/);
  t.regex(help.stdout, /--vfs KIND .*memory\|real/);
});

test('crashlab run --help prints the run flags with their defaults, exit 0', (t) => {
  const { status, stdout } = crashlab('run', '--help');
  t.is(status, 0);
  t.regex(stdout, /^Usage: crashlab run \[flags\]/);
  t.regex(stdout, /--barrier NAME .*default both/);
  t.notRegex(stdout, /--mutants-budget/);
});

test('a case address that names no case is exit 2 saying which step is wrong; a valid one runs that one case', (t) => {
  const replay = crashlab('replay', '42:0:99999', '--barrier', 'always', '--profile', 'quick');
  t.is(replay.status, 2, replay.stdout);
  t.regex(replay.stderr, /path 0:99999 names no case under seed 42: step 2 \(shrink 99999 of the case at 0\) does not exist/);
  const run = crashlab('run', '--seed', '42', '--path', '0:99999:9', '--barrier', 'always', '--profile', 'quick');
  t.is(run.status, 2);
  t.regex(run.stderr, /step 2 \(shrink 99999 of the case at 0\)/);
  const differential = crashlab('differential', '--seed', '1', '--path', '0:99999:9');
  t.is(differential.status, 2);
  t.regex(differential.stderr, /does not name a counterexample under seed 1/);
  const one = crashlab('run', '--seed', '42', '--path', '3', '--barrier', 'always', '--profile', 'quick', '--json');
  t.is(one.status, 0, one.stderr);
  t.like(JSON.parse(one.stdout.trim().split('\n').at(-1)!), { event: 'done', ok: true, runs: 1 });
});
