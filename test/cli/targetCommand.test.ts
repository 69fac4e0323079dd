// The command line for targets other than the reference engine: `crashlab targets`, and `run --target`/`--adapter` with their exit codes, verdicts and replay lines, through a real process.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { isTargetInvocation, withoutReferenceTarget } from '../../cli/targetCommand.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const REPO = path.resolve(fileURLToPath(new URL('../../..', import.meta.url)));

/** Runs the command line in `cwd` (default: a fresh folder, so saved failures never reach the repository's corpus). */
function crashlabIn(cwd: string, ...argv: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8', timeout: 240_000, cwd });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function crashlab(...argv: string[]): { status: number | null; stdout: string; stderr: string } {
  return crashlabIn(fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-cli-')), ...argv);
}

test('targets lists the reference engine, every SQLite configuration, the node-fs libraries and the native engines with their contracts', (t) => {
  const { status, stdout } = crashlab('targets', '--json');
  t.is(status, 0);
  const lines = stdout.trim().split('\n').map((line) => JSON.parse(line) as { name: string; tier?: string; contract: { level: string } });
  t.is(lines.length, 28 + 3 + 25, 'reference, 24 sqlite, 3 node-fs; classic-level, lmdb, lmdb:writemap, 24 + 1 better-sqlite3');
  t.is(lines.find((line) => line.name === 'classic-level')?.tier, 'native');
  t.is(lines.find((line) => line.name === 'better-sqlite3:wal-default')?.contract.level, 'prefix');
  t.is(lines.find((line) => line.name === 'better-sqlite3:wal-full')?.contract.level, 'durable');
  t.is(lines.find((line) => line.name === 'lowdb')?.contract.level, 'atomic');
  t.is(lines.find((line) => line.name === 'nedb')?.contract.level, 'prefix');
  t.is(lines.find((line) => line.name === 'sqlite:wal-full')?.contract.level, 'durable');
  t.is(lines.find((line) => line.name === 'sqlite:wal-normal')?.contract.level, 'prefix');
});

test('targets --install installs what the named targets need and says where; no names, an unknown name or names without --install are exit 2', (t) => {
  const installed = crashlab('targets', '--install', 'sqlite:wal-full', 'lowdb');
  t.is(installed.status, 0, installed.stderr);
  t.regex(installed.stdout, /^sqlite:wal-full: ready \(wa-sqlite installed\)$/m);
  t.regex(installed.stdout, /^lowdb: lowdb@\d+\.\d+\.\d+ in .*node_modules[/\\]lowdb$/m);
  const none = crashlab('targets', '--install');
  t.is(none.status, 2);
  t.regex(none.stderr, /--install wants the names/);
  const unknown = crashlab('targets', '--install', 'sqlite:wal-fulll');
  t.is(unknown.status, 2);
  t.regex(unknown.stderr, /unknown target "sqlite:wal-fulll"/);
  const stray = crashlab('targets', 'lowdb');
  t.is(stray.status, 2);
  t.regex(stray.stderr, /no names unless --install/);
});

test('run --target sqlite:wal-full --json ends with a JSON line of 0 violations and crash images', (t) => {
  const { status, stdout, stderr } = crashlab('run', '--target', 'sqlite:wal-full', '--seed', '1', '--runs', '15', '--json');
  t.is(status, 0, stderr);
  const done = JSON.parse(stdout.trim().split('\n').at(-1)!) as { event: string; violations: number; crashImages: number };
  t.is(done.event, 'done');
  t.is(done.violations, 0);
  t.true(done.crashImages > 0);
});

test('an unsafe configuration judged as durable fails (exit 1) with the violation, its seed and path, and a replay line that reproduces it', (t) => {
  const failed = crashlab('run', '--target', 'sqlite:wal-normal', '--contract', 'durable', '--seed', '1', '--runs', '30');
  t.is(failed.status, 1, failed.stderr);
  t.regex(failed.stdout, /VIOLATION \(lost-ack\) of sqlite:wal-normal, judged as durable/);
  const replay = /replay: npx crashlab (.+)$/m.exec(failed.stdout)?.[1];
  t.truthy(replay);
  const again = crashlab(...replay!.split(' '));
  t.is(again.status, 1);
  t.regex(again.stdout, /FAILED: sqlite:wal-normal, seed 1, 1 cases/);
});

test('a target failure is saved with its target: failures lists it, replay ID reproduces it, and the next run of that target replays it first', (t) => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-corpus-'));
  const failed = crashlabIn(cwd, 'run', '--target', 'sqlite:wal-normal', '--contract', 'durable', '--seed', '1', '--runs', '30');
  t.is(failed.status, 1, failed.stderr);
  const id = /saved as ([0-9a-f]{12}) \(crashlab replay \1\)/.exec(failed.stdout)?.[1];
  t.truthy(id, failed.stdout);
  const listed = crashlabIn(cwd, 'failures');
  t.regex(listed.stdout, new RegExp(`${id!}\\s+lost-ack\\s+sqlite:wal-normal seed 1 path`));
  const replayed = crashlabIn(cwd, 'replay', id!);
  t.is(replayed.status, 1);
  t.regex(replayed.stdout, /VIOLATION \(lost-ack\) of sqlite:wal-normal, judged as durable/);
  // A run of another target does not replay it; a run of this one does, and fails on it.
  const other = crashlabIn(cwd, 'run', '--target', 'sqlite:wal-full', '--seed', '2', '--runs', '2');
  t.is(other.status, 0, other.stdout);
  t.notRegex(other.stdout, /replaying saved failure/);
  const gated = crashlabIn(cwd, 'run', '--target', 'sqlite:wal-normal', '--contract', 'durable', '--seed', '3', '--runs', '1');
  t.regex(gated.stdout, new RegExp(`replaying saved failure ${id!}[^]*saved failure ${id!} STILL FAILS`));
  t.is(gated.status, 1);
});

test('certify --target writes a target certificate naming the identity; an unsafe configuration judged as durable is not certified', (t) => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-tcert-'));
  const ok = crashlab('certify', '--target', 'sqlite:wal-full', '--budget', '3', '--seed', '5', '--out', out);
  t.is(ok.status, 0, ok.stdout + ok.stderr);
  const cert = JSON.parse(fs.readFileSync(path.join(out, 'target-certificate.json'), 'utf8')) as { ok: boolean; identity: string; cells: Array<{ cases: number; crashImages: number; violations: number }> };
  t.true(cert.ok);
  t.regex(cert.identity, /wa-sqlite@2\.0\.6, SQLite 3\.\d+\.\d+, wasm sha256 [0-9a-f]{16}/);
  t.true(cert.cells[0]!.crashImages > 0);
  t.is(cert.cells[0]!.violations, 0);
  const bad = crashlab('certify', '--target', 'sqlite:wal-normal', '--contract', 'durable', '--budget', '20', '--seed', '1', '--out', out);
  t.is(bad.status, 1, bad.stdout);
  t.regex(bad.stdout, /NOT certified/);
  t.is(crashlab('certify', '--target', 'sqlite:nope').status, 2);
  t.is(crashlab('certify', '--target', 'sqlite:wal-full', '--contract', 'strong').status, 2);
});

test('the example adapter runs from the repository as the README says', (t) => {
  const { status, stdout, stderr } = crashlabIn(REPO, 'run', '--adapter', './examples/appendLog.js', '--seed', '2', '--runs', '10');
  t.is(status, 0, stderr);
  t.regex(stdout.trim().split('\n').at(-1)!, /^ok: example-append-log, seed 2, 10 cases, \d+ crash images, 0 violations/);
});

test('bad input is exit 2 with a message naming it: unknown target, unknown flag, missing adapter, bad seed, both --target and --adapter', (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['run', '--target', 'sqlite:wall-full'], /unknown target "sqlite:wall-full"/],
    [['run', '--target', 'sqlite:wal-full', '--bogus', '1'], /Unknown option '--bogus'/],
    [['run', '--adapter', './examples/nope.js'], /no such file/],
    [['run', '--target', 'sqlite:wal-full', '--seed', 'x'], /--seed wants an integer/],
    [['run', '--target', 'sqlite:wal-full', '--adapter', './examples/appendLog.js'], /give one of them/],
    [['run', '--target', 'sqlite:wal-full', '--contract', 'sturdy'], /--contract wants one of/],
    [['run', '--target', 'sqlite:wal-full', '--path', '1:2'], /give --seed too/],
  ];
  for (const [argv, message] of cases) {
    const { status, stderr } = crashlab(...argv);
    t.is(status, 2, argv.join(' '));
    t.regex(stderr, message, argv.join(' '));
  }
});

test('--target reference is the reference engine\'s own campaign (the default), nothing else is routed there', (t) => {
  t.false(isTargetInvocation(['run', '--target', 'reference', '--runs', '2']));
  t.true(isTargetInvocation(['run', '--target=sqlite:wal-full']));
  t.true(isTargetInvocation(['targets']));
  t.false(isTargetInvocation(['replay', '1:2']));
  t.deepEqual(withoutReferenceTarget(['run', '--target', 'reference', '--runs', '2']), ['run', '--runs', '2']);
});

test('a synchronous target that loops forever is reported as a hang with its replay line, not waited on', (t) => {
  // The example store, declared synchronous, spinning in its fourth open of the campaign.
  const source = fs.readFileSync(path.join(REPO, 'examples/appendLog.js'), 'utf8')
    .replace("synchronous: false", "synchronous: true")
    .replace('async open(vfs) {', 'async open(vfs) {\n    if (++globalThis.opens === 4) for (;;) { /* planted: a loop that never yields */ }');
  t.true(source.includes('planted'));
  const dir = path.join(REPO, '.crashlab/test-adapters');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'spinning.mjs');
  fs.writeFileSync(file, `globalThis.opens = 0;\n${source}`);
  const { status, stdout, stderr } = crashlab('run', '--adapter', file, '--seed', '4', '--runs', '5', '--hang-timeout', '3');
  t.is(status, 1, stderr);
  t.regex(stdout, /VIOLATION \(hang\) of example-append-log: case \d+ of seed 4 did not finish within 3 s/);
  t.regex(stdout, /replay: npx crashlab run --adapter \S+spinning\.mjs --seed 4 --path \d+ --runs 1/);
});

test('node-fs targets from the command line: a correct store certifies under both models, a planted bug fails with a replay that reproduces it, --fs typos are exit 2', (t) => {
  const fixture = (name: string): string => fileURLToPath(new URL(`../properties/fixtures/${name}.js`, import.meta.url));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-nfcert-'));
  const certified = crashlab('certify', '--adapter', fixture('correctStore'), '--budget', '2', '--seed', '4', '--out', out);
  t.is(certified.status, 0, certified.stdout + certified.stderr);
  const cert = JSON.parse(fs.readFileSync(path.join(out, 'target-certificate.json'), 'utf8')) as { tier: string; cells: Array<{ name: string; violations: number; crashImages: number }> };
  t.is(cert.tier, 'node-fs');
  t.deepEqual(cert.cells.map((cell) => cell.name), ['fs posix', 'fs ext4']);
  t.true(cert.cells.every((cell) => cell.violations === 0 && cell.crashImages > 0));
  const failed = crashlab('run', '--adapter', fixture('noDirSyncStore'), '--fs', 'posix', '--seed', '3', '--runs', '20');
  t.is(failed.status, 1, failed.stdout + failed.stderr);
  t.regex(failed.stdout, /VIOLATION \(lost-ack\) of no-dir-sync-store under --fs posix/);
  t.regex(failed.stdout, /replayed byte-identically/);
  const replay = /replay: npx crashlab (.+)$/m.exec(failed.stdout)?.[1];
  const again = crashlab(...replay!.split(' '));
  t.is(again.status, 1);
  t.regex(again.stdout, /VIOLATION \(lost-ack\)/);
  // The saved trace rebuilds the same images without running the library; a trace of another case is refused.
  const fromTrace = /from its saved trace: npx crashlab (.+)$/m.exec(failed.stdout)?.[1];
  t.truthy(fromTrace, failed.stdout);
  const traced = crashlab(...fromTrace!.split(' '));
  t.is(traced.status, 1, traced.stdout + traced.stderr);
  t.regex(traced.stdout, /images rebuilt from the saved trace[^]*VIOLATION \(lost-ack\)/);
  const argv = fromTrace!.split(' ');
  argv[argv.indexOf('--path') + 1] = '7';
  const foreign = crashlab(...argv);
  t.is(foreign.status, 2, foreign.stdout);
  t.regex(foreign.stderr, /the saved trace has markers of \d+ transactions, this case has \d+/);
  t.is(crashlab('run', '--adapter', fixture('correctStore'), '--fs', 'zfs').status, 2);
  t.is(crashlab('run', '--target', 'sqlite:wal-full', '--fs', 'ext4').status, 2);
});
