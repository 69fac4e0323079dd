// Process kills: SIGKILLed children on real files recover clean in both tiers, and the power tier catches an ack-before-fsync bug.
import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { ModelOp } from '../../model/commitHistory.js';
import type { Step, Workload } from '../../properties/crashWorkload.js';
import { opToWire } from '../../properties/killProtocol.js';
import { killRejudgeCommand, killReplayCommand, rejudgeKill, ReportReader, runKillCampaign, runKillCase } from '../../properties/processKill.js';

const REPO_DIR = fileURLToPath(new URL('../../../', import.meta.url));
const ENGINE_DIR = path.join(REPO_DIR, 'dist', 'engine');
const KILLS_PER_TIER = 6;

for (const tier of ['plain', 'power'] as const) {
  test(`${tier} tier: ${KILLS_PER_TIER} seeded kills of the reference engine all recover clean`, async (t) => {
    const result = await runKillCampaign({ seed: 20_240_601, kills: KILLS_PER_TIER, tier });
    t.is(result.failure, null, JSON.stringify(result.failure, null, 2));
    t.is(result.byTier[tier].kills, KILLS_PER_TIER);
    t.is(result.byTier[tier].clean, KILLS_PER_TIER);
    t.true(result.byTier[tier].commits > 0, 'the children committed something before dying');
  });
}

test('a line cut by the kill is ignored, and the complete ones build the history', (t) => {
  const reader = new ReportReader();
  const insert: ModelOp = { op: 'insert', table: 't0', key: Uint8Array.of(1), value: Uint8Array.of(2) };
  const issue = JSON.stringify({ t: 'issue', i: 0, family: 'cf0', ops: [opToWire(insert)], durability: 'immediate' });
  const cut = JSON.stringify({ t: 'issue', i: 1, family: 'cf0', ops: [opToWire(insert)], durability: 'none' }).slice(0, 30);
  let seen = 0;
  reader.feed(`{"t":"family","name":"cf0"}\n${issue.slice(0, 10)}`, () => seen++);
  reader.feed(`${issue.slice(10)}\n{"t":"ack","i":0}\n${cut}`, () => seen++);
  t.is(seen, 3);
  t.is(reader.lines, 3);
  t.is(reader.failure, null);
  t.is(reader.history.all().length, 1);
  t.is(reader.history.all()[0]!.status, 'acked-immediate');
});

/** Immediate commits to two families through a shared WAL that is never checkpointed. */
function ackHeavyWorkload(): Workload {
  const step = (round: number): Step => ({
    kind: 'txns',
    txns: [0, 1].map((family) => ({
      family, durability: 'immediate' as const, abort: false,
      ops: [{ op: 'insert' as const, table: 't0', key: Uint8Array.of(round), value: Uint8Array.of(family, round) }],
    })),
  });
  return {
    families: 2,
    options: { wal: true, barrier: 'wal-aware', pageBytes: 1024, walCheckpointBytes: 64 * 1024 * 1024 },
    steps: [0, 1, 2, 3].map(step),
    scheduleSeed: 0,
  };
}

const ACK_BEFORE_FSYNC = "        if (options.durability === 'immediate')\n            await journal.waitDurable(seq);";

/** Copies dist/engine inside the repository (so node_modules resolves) with acks before the WAL fsync. */
async function plantAckBeforeFsync(name: string): Promise<string> {
  const dir = path.join(REPO_DIR, '.crashlab', 'tmp', name, 'engine');
  await mkdir(dir, { recursive: true });
  for (const entry of await readdir(ENGINE_DIR)) {
    if (entry.endsWith('.js')) await copyFile(path.join(ENGINE_DIR, entry), path.join(dir, entry));
  }
  const databasePath = path.join(dir, 'database.js');
  const text = await readFile(databasePath, 'utf8');
  const matches = text.split(ACK_BEFORE_FSYNC).length - 1;
  if (matches !== 1) throw new Error(`the planted bug's patch matched ${matches} times, not once: update it to the engine`);
  await writeFile(databasePath, text.replace(ACK_BEFORE_FSYNC, '        // planted bug: acknowledged before the WAL fsync'));
  return path.join(dir, 'index.js');
}

test('the power tier catches a commit acknowledged before its WAL fsync; the plain tier cannot', async (t) => {
  const name = `kill-ack-before-fsync-${process.pid}`;
  t.teardown(() => rm(path.join(REPO_DIR, '.crashlab', 'tmp', name), { recursive: true, force: true }));
  const engineModule = await plantAckBeforeFsync(name);
  const workload = ackHeavyWorkload();
  // Two family lines, then issue/ack pairs: by line 8 several immediate commits were acknowledged.
  for (const killAfterLines of [8, 13]) {
    const power = await runKillCase({ workload, tier: 'power', seed: killAfterLines, killAfterLines, engineModule });
    t.true(power.acked > 0);
    t.like(power.verdict, { ok: false, kind: 'lost-ack' }, JSON.stringify(power.verdict));
  }
  // The page cache outlives the process, so the unsynced record survives the kill: no loss to see.
  const plain = await runKillCase({ workload, tier: 'plain', seed: 8, killAfterLines: 8, engineModule });
  t.true(plain.verdict.ok, JSON.stringify(plain.verdict));
});

test('a workload with no commits is killed after its families and recovers them empty', async (t) => {
  const workload: Workload = { ...ackHeavyWorkload(), steps: [{ kind: 'checkpoint' }, { kind: 'reopen' }] };
  const result = await runKillCase({ workload, tier: 'power', seed: 1, killAfterLines: 2 });
  t.true(result.killed);
  t.is(result.commits, 0);
  t.true(result.verdict.ok, JSON.stringify(result.verdict));
});

test('a kept kill failure re-judges the same way every time, and its printed replay reproduces it on the first try', async (t) => {
  const name = `kill-rejudge-${process.pid}`;
  const keepUnder = path.join(REPO_DIR, '.crashlab', 'tmp', `${name}-kept`);
  t.teardown(() => Promise.all([name, `${name}-kept`].map((dir) => rm(path.join(REPO_DIR, '.crashlab', 'tmp', dir), { recursive: true, force: true }))).then(() => undefined));
  const engineModule = await plantAckBeforeFsync(name);
  const killed = await runKillCase({ workload: ackHeavyWorkload(), tier: 'power', seed: 8, killAfterLines: 8, engineModule, keepFailedDir: keepUnder });
  t.like(killed.verdict, { ok: false, kind: 'lost-ack' });
  t.truthy(killed.dir);
  t.is(path.dirname(killed.dir!), keepUnder, 'kept where it was asked to be');
  for (let i = 0; i < 3; i++) t.deepEqual(await rejudgeKill(killed.dir!), killed.verdict, `re-judgement ${i + 1}`);
  const replay = spawnSync(process.execPath, [path.join(REPO_DIR, 'dist', 'properties', 'processKill.js'), '--rejudge', killed.dir!], { encoding: 'utf8', cwd: REPO_DIR });
  t.is(replay.status, 1, replay.stderr);
  t.regex(replay.stdout, /^VIOLATION: lost-ack: .*\nreproduces: re-judged the kept killed image of /);
  t.regex(killRejudgeCommand(killed.dir!), /^node dist\/properties\/processKill\.js --rejudge '.+'$/);
  t.regex(killReplayCommand(1, 'power'), /--retries 5$/);
});
