// The crash case of any target, on SQLite: judged under the crash model, the configurations SQLite documents as durable lose nothing under any crash plan, the weaker ones lose exactly what their documentation allows, and a lying disk is caught.
import test from 'ava';
import type { Storage, Vfs } from '../../engine/storage.js';
import type { CrashPlan, Survival } from '../../fault/faultyVfs.js';
import { ForwardingStorage, ForwardingVfs } from '../../fault/forwarding.js';
import { runTargetCrashCase, type TargetCaseResult } from '../../properties/targetCrashCase.js';
import { sqliteTarget } from '../../targets/sqlite/sqliteTarget.js';
import type { ContractLevel, TargetTxn } from '../../targets/target.js';

/** Eight transactions over two families: inserts of values that span pages, and removes. */
const TXNS: TargetTxn[] = Array.from({ length: 8 }, (_, i) => ({
  family: i % 2 === 0 ? 'f0' : 'f1',
  durability: 'immediate' as const,
  ops: [
    { op: 'insert', table: 't', key: Uint8Array.of(i), value: new Uint8Array(300 + 200 * i).fill(i) },
    ...(i >= 3 ? [{ op: 'remove', table: 't', key: Uint8Array.of(i - 3) } as const] : []),
  ],
}));

/** Every survival rule, torn or not, atomic sectors or not, directory entries kept or lost. */
function plans(): CrashPlan[] {
  const survivals: Survival[] = ['none', 'all', 'prefix', 'subset'];
  return survivals.flatMap((survival, s) => [false, true].map((tear, t) => ({
    survival, tear, sectorBytes: 512 as const, atomicSector: t === 0, keepUnsyncedDirOps: s % 2 === 0 ? false : 'some' as const, seed: 10 * s + t,
  })));
}

interface Sum { images: number; violations: TargetCaseResult[]; findings: string[] }

async function campaign(target: string, options: { contract?: ContractLevel; disk?: (vfs: Vfs) => Vfs } = {}): Promise<Sum> {
  const sum: Sum = { images: 0, violations: [], findings: [] };
  for (const [i, plan] of plans().entries()) {
    const result = await runTargetCrashCase({ target: sqliteTarget(target), txns: TXNS, plan, imagesPerCase: 200, seed: 100 + i, contract: options.contract, disk: options.disk });
    sum.images += result.images;
    if (result.violation !== null) sum.violations.push(result);
    sum.findings.push(...result.findings.map((finding) => finding.kind));
  }
  return sum;
}

for (const target of ['sqlite:wal-full', 'sqlite:truncate-full', 'sqlite:delete-extra']) {
  test.serial(`${target} (documented durable) loses no acknowledged commit under any crash plan`, async (t) => {
    const { images, violations } = await campaign(target);
    t.true(images > 300, `${images} crash images`);
    t.deepEqual(violations.map((v) => v.violation), []);
  });
}

test.serial('sqlite:delete-full keeps its declared prefix contract, and judged as durable loses commits to the unsynced journal unlink', async (t) => {
  t.deepEqual((await campaign('sqlite:delete-full')).violations.map((v) => v.violation), []);
  const strict = await campaign('sqlite:delete-full', { contract: 'durable' });
  t.true(strict.violations.length > 0);
  t.true(strict.findings.every((kind) => kind === 'lost-ack'), strict.findings.join(', '));
});

test.serial('sqlite:wal-normal loses acknowledged commits when judged as durable, never its integrity', async (t) => {
  const strict = await campaign('sqlite:wal-normal', { contract: 'durable' });
  t.true(strict.findings.includes('lost-ack'));
  t.false(strict.findings.includes('integrity'));
});

test.serial('sqlite:delete-off promises nothing: no violation, yet the oracle finds losses and damage', async (t) => {
  const loose = await campaign('sqlite:delete-off');
  t.is(loose.violations.length, 0);
  t.true(loose.findings.length > 0, 'synchronous=off leaves what a crash finds for the findings');
});

test.serial('a planted lying disk (fsync that does nothing) under sqlite:wal-full is caught as lost acknowledged commits', async (t) => {
  class LyingStorage extends ForwardingStorage {
    override syncNow(): void {
      // The bug: the disk acknowledges the flush without making anything durable.
    }
  }
  class LyingDisk extends ForwardingVfs {
    override open(name: string, options: { create: boolean }): Storage {
      return new LyingStorage(this.inner.open(name, options));
    }
  }
  const lied = await campaign('sqlite:wal-full', { disk: (vfs) => new LyingDisk(vfs) });
  t.true(lied.violations.length > 0);
  t.true(lied.findings.includes('lost-ack'), lied.findings.join(', '));
});

test.serial('one seed, one trace: a case run twice gives the same trace hash and the same findings', async (t) => {
  const run = (): Promise<TargetCaseResult> => runTargetCrashCase({ target: sqliteTarget('sqlite:wal-off'), txns: TXNS, plan: plans()[1]!, imagesPerCase: 60, seed: 5 });
  const [a, b] = [await run(), await run()];
  t.is(a.traceHash, b.traceHash);
  t.deepEqual(a.findings, b.findings);
});
