// --plant and the saved failures, through the crashlab binary in a fresh directory: a planted
// failure is saved under its mutant, replays with it, never enters the engine's own gate;
// failures list/prune/rm/fix; stale records and foreign generator versions are refused.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import fc from 'fast-check';
import { failureId } from '../../cli/corpus.js';
import { PLANTED_BUGS } from '../../mutants/plantEngine.js';
import { crashCaseArb, GENERATOR_VERSION, PROFILES } from '../../properties/crashArbitraries.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
const PLANT = 'ack-before-wal-fsync';

function inDir(cwd: string): (...argv: string[]) => { status: number | null; stdout: string; stderr: string } {
  return (...argv) => {
    const result = spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8', timeout: 120_000, cwd });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };
}

function freshDir(t: { teardown: (fn: () => void) => void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-failures-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const failuresDir = (dir: string): string => path.join(dir, '.crashlab', 'failures');
const savedIds = (dir: string): string[] => fs.readdirSync(failuresDir(dir)).filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -5)).sort();

test('mutants --list names every catalog mutant with its description; an unknown --plant is exit 2 naming it', (t) => {
  const crashlab = inDir(freshDir(t));
  const list = crashlab('mutants', '--list');
  t.is(list.status, 0, list.stderr);
  t.regex(list.stdout, /^ack-before-wal-fsync +an immediate commit is acknowledged as soon as its WAL record is written/m);
  t.regex(list.stdout, new RegExp(`^${PLANTED_BUGS.length} mutants`, 'm'));
  for (const bug of PLANTED_BUGS) t.regex(list.stdout, new RegExp(`^${bug.name} `, 'm'));
  for (const argv of [['run', '--plant', 'no-such-bug'], ['replay', '1:0', '--plant', 'no-such-bug'], ['certify', '--plant', 'no-such-bug', '--budget', '1']]) {
    const bad = crashlab(...argv);
    t.is(bad.status, 2, argv.join(' '));
    t.regex(bad.stderr, /^crashlab: --plant: no mutant named "no-such-bug"/);
  }
  t.is(crashlab('run', '--plant', PLANT, '--vfs', 'real').status, 2, 'the kill tiers run the reference engine only');
});

test.serial('a planted failure is saved under its mutant, replays with it, and stays out of the engine\'s gate; prune, fix and rm', (t) => {
  const dir = freshDir(t);
  const crashlab = inDir(dir);
  const run = crashlab('run', '--plant', PLANT, '--seed', '7', '--runs', '50', '--profile', 'quick', '--barrier', 'wal-aware');
  t.is(run.status, 1, run.stderr);
  t.regex(run.stdout, /planted mutant ack-before-wal-fsync/);
  t.regex(run.stdout, /VIOLATION \(wal-aware\): lost-ack/);
  t.regex(run.stdout, /replay: node dist\/cli\/main\.js run .* --generator \d+ --plant ack-before-wal-fsync/);
  const [id] = savedIds(dir);
  const saved = JSON.parse(fs.readFileSync(path.join(failuresDir(dir), `${id}.json`), 'utf8')) as Record<string, unknown>;
  t.like(saved, { version: 2, plant: PLANT, target: 'reference', generatorVersion: GENERATOR_VERSION, kind: 'lost-ack', fixed: null });
  t.is(id, failureId({ target: 'reference', plant: PLANT, profile: 'quick', barrier: 'wal-aware', overrides: null, seed: saved['seed'] as number, path: saved['path'] as string }));
  t.regex(crashlab('failures').stdout, new RegExp(`^${id}  lost-ack .*\\(--plant ${PLANT}\\)`, 'm'));

  // The engine's own gate does not replay it (the engine is fine); its mutant's gate does.
  const plain = crashlab('run', '--seed', '8', '--runs', '1', '--profile', 'quick', '--barrier', 'wal-aware');
  t.is(plain.status, 0, plain.stdout);
  t.regex(plain.stdout, /1 saved failures of planted mutants not replayed/);
  t.notRegex(plain.stdout, /STILL FAILS|no longer reproduces/);
  const planted = crashlab('run', '--plant', PLANT, '--seed', '8', '--runs', '1', '--profile', 'quick', '--barrier', 'wal-aware');
  t.regex(planted.stdout, new RegExp(`saved failure ${id} STILL FAILS: lost-ack`));
  t.is(planted.status, 1);

  // Replay by id plants its mutant by itself and ends with a verdict line; another plant is refused.
  const replay = crashlab('replay', id!);
  t.is(replay.status, 1, replay.stderr);
  t.regex(replay.stdout, new RegExp(`reproduces: saved failure ${id} \\(its stored case\\), barrier wal-aware, profile quick, --plant ${PLANT}: lost-ack\\n$`));
  t.is(crashlab('replay', id!, '--plant', 'roots-only-wal').status, 2);

  // An unplanted copy of it: the engine replays it clean, so it nags until fixed or pruned.
  const copy = 'aaaaaaaaaaaa';
  fs.writeFileSync(path.join(failuresDir(dir), `${copy}.json`), JSON.stringify({ ...saved, id: copy, plant: null }));
  const nag = crashlab('run', '--seed', '8', '--runs', '1', '--profile', 'quick', '--barrier', 'wal-aware');
  t.regex(nag.stdout, new RegExp(`saved failure ${copy} \\(lost-ack, wal-aware\\) no longer reproduces: crashlab failures fix ${copy}`));
  t.is(crashlab('failures', 'fix', copy).status, 0);
  const quiet = crashlab('run', '--seed', '8', '--runs', '1', '--profile', 'quick', '--barrier', 'wal-aware');
  t.notRegex(quiet.stdout, /no longer reproduces/);
  t.regex(quiet.stdout, /1 fixed saved failures replayed clean/);
  t.regex(crashlab('failures').stdout, new RegExp(`^${copy} .*\\(fixed\\)`, 'm'));

  // Prune replays each from its stored case: the clean one goes, the planted one (still failing) stays.
  const prune = crashlab('failures', 'prune');
  t.is(prune.status, 0, prune.stderr);
  t.regex(prune.stdout, new RegExp(`^removed ${copy}: replayed clean twice`, 'm'));
  t.regex(prune.stdout, new RegExp(`^kept ${id}: still fails: lost-ack`, 'm'));
  t.deepEqual(savedIds(dir), [id]);
  t.is(crashlab('failures', 'rm', id!).status, 0);
  t.deepEqual(savedIds(dir), []);
  const again = crashlab('failures', 'rm', id!);
  t.is(again.status, 2);
  t.regex(again.stderr, new RegExp(`no saved failure ${id}`));
  t.is(crashlab('failures', 'fix', copy).status, 2);
  t.is(crashlab('failures', 'rm').status, 2, 'rm needs an id');
});

test('an old record is reported stale, never replayed; a SEED:PATH of another generator version is refused', (t) => {
  const dir = freshDir(t);
  const crashlab = inDir(dir);
  fs.mkdirSync(failuresDir(dir), { recursive: true });
  const old = { version: 1, id: 'bbbbbbbbbbbb', seed: 1, path: '0', profile: 'quick', barrier: 'always', kind: 'lost-ack', detail: 'x', replay: 'x', engineHash: 'x', counterexample: {}, violation: {} };
  fs.writeFileSync(path.join(failuresDir(dir), 'bbbbbbbbbbbb.json'), JSON.stringify(old));
  t.regex(crashlab('failures').stdout, /^bbbbbbbbbbbb {2}STALE \(format 1\)/m);
  const run = crashlab('run', '--seed', '1', '--runs', '1', '--profile', 'quick', '--barrier', 'always');
  t.is(run.status, 0);
  t.regex(run.stdout, /saved failure bbbbbbbbbbbb is stale, not replayed/);
  const replay = crashlab('replay', 'bbbbbbbbbbbb');
  t.is(replay.status, 2);
  t.regex(replay.stderr, /is stale/);
  for (const argv of [['replay', '42:3', '--generator', String(GENERATOR_VERSION + 1)], ['run', '--seed', '42', '--path', '3', '--barrier', 'always', '--generator', String(GENERATOR_VERSION + 1)]]) {
    const refused = crashlab(...argv);
    t.is(refused.status, 2, argv.join(' '));
    t.regex(refused.stderr, new RegExp(`printed by case generator ${GENERATOR_VERSION + 1}; this crashlab's is ${GENERATOR_VERSION}`));
  }
});

test('the generator version moves with what the generator draws (bump GENERATOR_VERSION and this fingerprint together)', (t) => {
  const cases = fc.sample(crashCaseArb({ ...PROFILES.default, barrier: 'always' }), { seed: 1, numRuns: 30 });
  const text = JSON.stringify(cases, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
  const fingerprint = createHash('sha256').update(text).digest('hex').slice(0, 16);
  t.deepEqual({ version: GENERATOR_VERSION, fingerprint }, { version: 2, fingerprint: 'a431269d63cc0d0f' });
});
