// better-sqlite3 (built from source, so behind CRASHLAB_NATIVE_SQLITE=1): the adapter passes the self-test, wal-full loses nothing, wal-normal keeps its documented prefix but loses acknowledged commits when held to durable, and wal-default runs the library's NORMAL.
import test from 'ava';
import { runNodeFsCrashCase } from '../../../properties/nodeFsCrashCase.js';
import { checkNodeFsConformance } from '../../../properties/conformance.js';
import { runNodeFsCampaign } from '../../../properties/runNodeFsCampaign.js';
import { nativeDriver } from '../../../targets/native/nativeDriver.js';
import { builtInNativeTargets, type NativeTarget } from '../../../targets/registry.js';
import { ensureTargetPackage } from '../../../targets/targetPackages.js';
import type { TargetTxn } from '../../../targets/target.js';

const enabled = process.env['CRASHLAB_NATIVE_SQLITE'] === '1';
const maybe = enabled ? test.serial : test.skip;
const note = enabled ? '' : ' (set CRASHLAB_NATIVE_SQLITE=1: better-sqlite3 builds from source)';
const encoder = new TextEncoder();

async function target(config: string): Promise<{ entry: NativeTarget; packages: Record<string, string> }> {
  const entry = builtInNativeTargets().find((candidate) => candidate.adapter.name === `better-sqlite3:${config}`)!;
  return { entry, packages: { 'better-sqlite3': await ensureTargetPackage('better-sqlite3', entry.adapter.packages['better-sqlite3']!) } };
}

const workload: TargetTxn[] = Array.from({ length: 8 }, (_, i) => ({
  family: i % 2 === 0 ? 'f0' : 'f1', durability: 'immediate',
  ops: [{ op: 'insert', table: 't0', key: Uint8Array.of(i % 5), value: encoder.encode(`value ${i}`.repeat(40)) }],
}));

maybe(`better-sqlite3:wal-full passes the adapter self-test and a campaign finds no violation${note}`, async (t) => {
  const { entry, packages } = await target('wal-full');
  const driver = nativeDriver({ adapter: entry.adapter, adapterModule: entry.module, packages, seed: 1 });
  await t.notThrowsAsync(checkNodeFsConformance(entry.adapter, entry.module, packages, driver));
  const result = await runNodeFsCampaign({ adapter: entry.adapter, adapterModule: entry.module, targetFlag: '--target better-sqlite3:wal-full', packages, fsModel: 'posix', seed: 1, numRuns: 8, driver });
  t.true(result.ok, result.failure?.violation.detail);
  t.is(result.violations, 0);
  t.true(result.crashImages > 200, `${result.crashImages} images`);
});

maybe(`better-sqlite3:wal-normal keeps its prefix and loses acknowledged commits when judged durable${note}`, async (t) => {
  const { entry, packages } = await target('wal-normal');
  t.is(entry.adapter.contract.level, 'prefix');
  const driver = nativeDriver({ adapter: entry.adapter, adapterModule: entry.module, packages, seed: 2 });
  const pool = driver.pool();
  try {
    const crashCase = { adapter: entry.adapter, adapterModule: entry.module, packages, txns: workload, fsModel: 'posix' as const, sectorBytes: 512 as const, atomicSector: true, pointsPerCase: 64, plansPerPoint: 8, seed: 2, pool, capture: driver.capture };
    const declared = await runNodeFsCrashCase(crashCase);
    t.is(declared.violation, null);
    const durable = await runNodeFsCrashCase({ ...crashCase, contract: 'durable' });
    t.is(durable.violation?.kind, 'lost-ack');
  } finally {
    await pool.close();
  }
});

maybe(`better-sqlite3:wal-default runs WAL with the library's compiled-in synchronous (NORMAL), judged as prefix${note}`, async (t) => {
  const { entry, packages } = await target('wal-default');
  t.is(entry.adapter.contract.level, 'prefix');
  const driver = nativeDriver({ adapter: entry.adapter, adapterModule: entry.module, packages, seed: 3 });
  // open() checks PRAGMA synchronous against NORMAL: a capture that ran is that check passed.
  const { outcome, trace } = await driver.capture(workload.slice(0, 2), 3);
  t.deepEqual(outcome, { kind: 'ok' });
  t.true(trace.events.some((event) => event.kind === 'create' && event.path === 'crash.db-wal'));
});
