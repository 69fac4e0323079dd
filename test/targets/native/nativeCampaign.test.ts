// CI's small native campaign: classic-level (installed on demand, its binary ships prebuilt) crashed from its system calls shows LevelDB's new-database window (google/leveldb#189) under both fs models and nothing after it, its saved trace replays the finding, and the command line refuses lmdb with useWritemap (exit 2).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { FsModelName } from '../../../fault/traceCrash.js';
import { runNodeFsCrashCase } from '../../../properties/nodeFsCrashCase.js';
import { runNodeFsCampaign } from '../../../properties/runNodeFsCampaign.js';
import { nativeDriver } from '../../../targets/native/nativeDriver.js';
import { builtInNativeTargets, type NativeTarget } from '../../../targets/registry.js';
import { ensureTargetPackage } from '../../../targets/targetPackages.js';
import type { TargetTxn } from '../../../targets/target.js';

const MAIN = fileURLToPath(new URL('../../../cli/main.js', import.meta.url));
const encoder = new TextEncoder();
const entry = (name: string): NativeTarget => builtInNativeTargets().find((target) => target.adapter.name === name)!;

async function classicLevel(): Promise<{ entry: NativeTarget; packages: Record<string, string> }> {
  return { entry: entry('classic-level'), packages: { 'classic-level': await ensureTargetPackage('classic-level', '3.0.0') } };
}

const workload: TargetTxn[] = Array.from({ length: 6 }, (_, i) => ({
  family: 'f0', durability: i % 3 === 2 ? 'none' : 'immediate',
  ops: [{ op: 'insert', table: 't0', key: encoder.encode(`k${i % 4}`), value: encoder.encode(`value ${i}`) }, ...(i === 4 ? [{ op: 'remove' as const, table: 't0', key: encoder.encode('k0') }] : [])],
}));

const WINDOW = {
  ext4: 'every finding lies in the new-database window, before the first acknowledgement (its first log fsync commits the journal)',
  posix: 'the database may not open even after acknowledged syncs (CURRENT is renamed without a directory fsync)',
};

for (const fsModel of ['posix', 'ext4'] as FsModelName[]) {
  test(`classic-level under ${fsModel}: ${WINDOW[fsModel]}`, async (t) => {
    const { entry: target, packages } = await classicLevel();
    const driver = nativeDriver({ adapter: target.adapter, adapterModule: target.module, packages, seed: 3 });
    const pool = driver.pool();
    try {
      const result = await runNodeFsCrashCase({
        adapter: target.adapter, adapterModule: target.module, packages, txns: workload, fsModel, sectorBytes: 512, atomicSector: false,
        pointsPerCase: 64, plansPerPoint: 8, seed: 3, pool, capture: driver.capture,
      });
      t.is(result.trace.tier, 'syscalls');
      t.true(result.images > 20, `${result.images} distinct images`);
      const firstAck = result.trace.events.findIndex((event) => event.kind === 'marker' && event.marker === 'acked');
      t.true(result.findings.length > 0, 'the creation window is found');
      t.true(result.findings.some((finding) => finding.kind === 'unexpected-error' && /MANIFEST|CURRENT|Corruption|IO error/.test(finding.detail)), result.findings.map((finding) => finding.detail).join('\n'));
      const afterAck = result.findings.filter((finding) => finding.crashAt > firstAck);
      if (fsModel === 'ext4') t.deepEqual(afterAck.map((finding) => `${finding.kind} at ${finding.crashAt} (${finding.point})`), []);
      else t.true(afterAck.some((finding) => finding.kind === 'unexpected-error' && finding.acknowledged >= 1), 'an acknowledged commit, and the database does not open');
    } finally {
      await pool.close();
    }
  });
}

test('a classic-level campaign fails with its fs model named, and the saved trace replays the same violation without running LevelDB', async (t) => {
  const { entry: target, packages } = await classicLevel();
  const campaign = { adapter: target.adapter, adapterModule: target.module, targetFlag: '--target classic-level', packages, fsModel: 'posix' as const, seed: 1, numRuns: 3 };
  const result = await runNodeFsCampaign({ ...campaign, driver: nativeDriver({ adapter: target.adapter, adapterModule: target.module, packages, seed: 1 }) });
  t.false(result.ok);
  t.is(result.fsModel, 'posix');
  const failure = result.failure!;
  t.is(failure.violation.kind, 'unexpected-error');
  t.true(failure.replayedIdentically);
  t.regex(failure.replay, /--target classic-level --fs posix --seed 1 --path \S+ --runs 1/);
  const replayed = await runNodeFsCampaign({ ...campaign, path: failure.path, numRuns: 1, savedTrace: failure.trace, driver: nativeDriver({ adapter: target.adapter, adapterModule: target.module, packages, seed: 1 }) });
  t.deepEqual([replayed.failure?.violation.crashAt, replayed.failure?.violation.detail], [failure.violation.crashAt, failure.violation.detail]);
  t.regex(failure.violation.detail, /<image>\/MANIFEST-000001/);
});

test('the command line: classic-level --json names the native tier, the fs model and images/s; lmdb with useWritemap is refused, exit 2', async (t) => {
  await ensureTargetPackage('lmdb', '3.5.6');
  await classicLevel();
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-native-cli-'));
  try {
    const run = spawnSync(process.execPath, [MAIN, 'run', '--target', 'classic-level', '--fs', 'ext4', '--seed', '2', '--runs', '2', '--json'], { encoding: 'utf8', cwd, timeout: 240_000 });
    const done = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { tier: string; fs: string; imagesPerSecond: number; crashImages: number };
    t.is(done.tier, 'native');
    t.is(done.fs, 'ext4');
    t.true(done.crashImages > 0 && done.imagesPerSecond > 0);
    const refused = spawnSync(process.execPath, [MAIN, 'run', '--target', 'lmdb:writemap', '--seed', '1', '--runs', '1'], { encoding: 'utf8', cwd, timeout: 240_000 });
    t.is(refused.status, 2, refused.stderr);
    t.regex(refused.stderr, /data\.mdb" shared and writable/);
  } finally {
    fs.rmSync(cwd, { recursive: true, force: true });
  }
});
