// better-sqlite3 (built from source, so behind CRASHLAB_NATIVE_SQLITE=1): the adapter passes the self-test, wal-full loses nothing, wal-normal keeps its documented prefix but loses acknowledged commits when held to durable, and wal-default runs the library's NORMAL.
import test, { type ExecutionContext } from 'ava';
import { runNodeFsCrashCase } from '../../../properties/nodeFsCrashCase.js';
import { checkNodeFsConformance } from '../../../properties/conformance.js';
import { runNodeFsCampaign } from '../../../properties/runNodeFsCampaign.js';
import { nativeDriver } from '../../../targets/native/nativeDriver.js';
import { builtInNativeTargets, resolveAnyTarget, resolveTarget, type NativeTarget } from '../../../targets/registry.js';
import { BETTER_SQLITE3_CONFIGS, BETTER_SQLITE3_VERSION } from '../../../targets/native/engines/betterSqlite3.js';
import { ensureTargetPackage } from '../../../targets/targetPackages.js';
import type { TargetTxn } from '../../../targets/target.js';

// Not registered at all without the variable (never counted as skipped); CI's .ci/run builds
// better-sqlite3 up front and sets it.
const enabled = process.env['CRASHLAB_NATIVE_SQLITE'] === '1';
const maybe = (title: string, body: (t: ExecutionContext) => Promise<void>): void => {
  if (enabled) test.serial(title, body);
};
const encoder = new TextEncoder();

async function target(config: string): Promise<{ entry: NativeTarget; packages: Record<string, string> }> {
  const entry = builtInNativeTargets().find((candidate) => candidate.adapter.name === `better-sqlite3:${config}`)!;
  return { entry, packages: { 'better-sqlite3': await ensureTargetPackage('better-sqlite3', entry.adapter.packages['better-sqlite3']!) } };
}

const workload: TargetTxn[] = Array.from({ length: 8 }, (_, i) => ({
  family: i % 2 === 0 ? 'f0' : 'f1', durability: 'immediate',
  ops: [{ op: 'insert', table: 't0', key: Uint8Array.of(i % 5), value: encoder.encode(`value ${i}`.repeat(40)) }],
}));

maybe(`better-sqlite3:wal-full passes the adapter self-test and a campaign finds no violation`, async (t) => {
  const { entry, packages } = await target('wal-full');
  const driver = nativeDriver({ adapter: entry.adapter, adapterModule: entry.module, packages, seed: 1 });
  await t.notThrowsAsync(checkNodeFsConformance(entry.adapter, entry.module, packages, driver));
  const result = await runNodeFsCampaign({ adapter: entry.adapter, adapterModule: entry.module, targetFlag: '--target better-sqlite3:wal-full', packages, fsModel: 'posix', seed: 1, numRuns: 8, driver });
  t.true(result.ok, result.failure?.violation.detail);
  t.is(result.violations, 0);
  t.true(result.crashImages > 200, `${result.crashImages} images`);
});

maybe(`better-sqlite3:wal-normal keeps its prefix and loses acknowledged commits when judged durable`, async (t) => {
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

maybe(`better-sqlite3:wal-default runs WAL with the library's compiled-in synchronous (NORMAL), judged as prefix`, async (t) => {
  const { entry, packages } = await target('wal-default');
  t.is(entry.adapter.contract.level, 'prefix');
  const driver = nativeDriver({ adapter: entry.adapter, adapterModule: entry.module, packages, seed: 3 });
  // open() checks PRAGMA synchronous against NORMAL: a capture that ran is that check passed.
  const { outcome, trace } = await driver.capture(workload.slice(0, 2), 3);
  t.deepEqual(outcome, { kind: 'ok' });
  t.true(trace.events.some((event) => event.kind === 'create' && event.path === 'crash.db-wal'));
});

test('every better-sqlite3 configuration is a native target of 12.x (13 needs Node 22) promising what the WebAssembly SQLite target of that configuration promises, with the library defaults among them', (t) => {
  t.regex(BETTER_SQLITE3_VERSION, /^12\./);
  t.true(BETTER_SQLITE3_CONFIGS.includes('wal-default'));
  t.true(BETTER_SQLITE3_CONFIGS.includes('wal-full'));
  for (const config of BETTER_SQLITE3_CONFIGS) {
    const resolved = resolveAnyTarget(`better-sqlite3:${config}`);
    t.is(resolved.tier, 'native', config);
    if (resolved.tier !== 'native') continue;
    t.deepEqual(resolved.adapter.packages, { 'better-sqlite3': BETTER_SQLITE3_VERSION });
    // Like with like: the WebAssembly SQLite target of the same configuration promises the same.
    const expected = config === 'wal-default' ? 'prefix' : resolveTarget(`sqlite:${config}`).contract.level;
    t.is(resolved.adapter.contract.level, expected, config);
  }
});
