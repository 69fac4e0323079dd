// The write barrier policy: 'wal-aware' (pages stay buffered until eviction or checkpoint) and 'always' (pages written at every commit) give the same logical state after every step.
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { ColumnFamilyDatabase, type ColumnFamilyOptions } from '../../engine/columnFamilyDatabase.js';
import type { Barrier } from '../../engine/database.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import type { WriteTransaction } from '../../engine/transaction.js';
import { dumpAll, type FamilyDump } from './cfFixtures.js';
import { hex, keyOf, valueOf } from './engineFixtures.js';

const TABLES = ['t0', 't1', 't2'] as const;

type Op =
  | { readonly kind: 'insert'; readonly table: string; readonly key: number; readonly valueBytes: number }
  | { readonly kind: 'remove'; readonly table: string; readonly key: number }
  | { readonly kind: 'clear'; readonly table: string }
  | { readonly kind: 'createTable'; readonly table: string }
  | { readonly kind: 'deleteTable'; readonly table: string };

type End = 'immediate' | 'none' | 'abort';

interface Txn {
  readonly family: number;
  readonly ops: readonly Op[];
  readonly end: End;
}

type Step =
  | { readonly kind: 'txn'; readonly txn: Txn }
  | { readonly kind: 'concurrent'; readonly txns: readonly Txn[] }
  | { readonly kind: 'checkpoint' }
  | { readonly kind: 'reopen' }
  | { readonly kind: 'crash' }
  | { readonly kind: 'deleteFamily'; readonly family: number };

interface Config {
  readonly families: number;
  readonly pageBytes: 512 | 1024 | 4096;
  readonly writeBufferPages: number;
  readonly segmentPages: number;
  readonly walCheckpointBytes: number;
}

const tableArb = fc.constantFrom(...TABLES);
const keyArb = fc.integer({ min: 0, max: 40 });
const valueBytesArb = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 60 }) },
  { weight: 1, arbitrary: fc.integer({ min: 300, max: 2500 }) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('insert' as const), table: tableArb, key: keyArb, valueBytes: valueBytesArb }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('remove' as const), table: tableArb, key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), table: tableArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('createTable' as const), table: tableArb }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteTable' as const), table: tableArb }) },
);
const endArb = fc.constantFrom<End>('immediate', 'immediate', 'none', 'none', 'abort');
const txnArb = (families: number): fc.Arbitrary<Txn> => fc.record({
  family: fc.integer({ min: 0, max: families - 1 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 12 }),
  end: endArb,
});
const stepArb = (families: number): fc.Arbitrary<Step> => fc.oneof(
  { weight: 10, arbitrary: txnArb(families).map((txn) => ({ kind: 'txn' as const, txn })) },
  { weight: 3, arbitrary: fc.uniqueArray(txnArb(families), { minLength: 2, maxLength: families, selector: (txn) => txn.family })
    .map((txns) => ({ kind: 'concurrent' as const, txns })) },
  { weight: 2, arbitrary: fc.constant({ kind: 'checkpoint' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'crash' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: families - 1 }).map((family) => ({ kind: 'deleteFamily' as const, family })) },
);
const configArb: fc.Arbitrary<Config> = fc.record({
  families: fc.integer({ min: 2, max: 4 }),
  pageBytes: fc.constantFrom<Config['pageBytes']>(512, 1024, 4096),
  writeBufferPages: fc.integer({ min: 1, max: 6 }),
  segmentPages: fc.constantFrom(2, 8, 64),
  walCheckpointBytes: fc.constantFrom(64 * 1024 * 1024, 3000),
});
const scenarioArb = configArb.chain((config) => fc.record({
  config: fc.constant(config),
  steps: fc.array(stepArb(config.families), { minLength: 5, maxLength: 40, size: '+1' }),
}));

function familyName(index: number): string {
  return `cf${index}`;
}

/** Bytes an insert writes: they depend on the key, the length and where in the run it happened. */
function valueFor(op: { key: number; valueBytes: number }, salt: number): Uint8Array {
  return valueOf(op.key, op.valueBytes, salt);
}

// ---- the model: families of tables of keys, committed state only ----

type ModelFamily = Map<string, Map<number, Uint8Array>>;
type Model = Map<string, ModelFamily>;

function copyFamily(family: ModelFamily): ModelFamily {
  return new Map([...family].map(([name, table]) => [name, new Map(table)]));
}

function applyToModel(family: ModelFamily, ops: readonly Op[], salt: number): void {
  const table = (name: string): Map<number, Uint8Array> => {
    let found = family.get(name);
    if (found === undefined) family.set(name, found = new Map<number, Uint8Array>());
    return found;
  };
  for (const op of ops) {
    switch (op.kind) {
      case 'insert': table(op.table).set(op.key, valueFor(op, salt)); break;
      case 'remove': table(op.table).delete(op.key); break;
      case 'clear': table(op.table).clear(); break;
      case 'createTable': table(op.table); break;
      case 'deleteTable': family.delete(op.table); break;
    }
  }
}

function dumpModel(model: Model): FamilyDump {
  const dump: FamilyDump = {};
  for (const name of [...model.keys()].sort()) {
    const family = model.get(name)!;
    const tables: FamilyDump[string] = {};
    for (const table of [...family.keys()].sort()) {
      const entries = [...family.get(table)!].sort(([a], [b]) => a - b);
      tables[table] = entries.map(([key, value]) => [hex(keyOf(key)), hex(value)]);
    }
    dump[name] = tables;
  }
  return dump;
}

// ---- the engines ----

function applyToTxn(txn: WriteTransaction, ops: readonly Op[], salt: number): void {
  for (const op of ops) {
    switch (op.kind) {
      case 'insert': txn.openTable(op.table).insert(keyOf(op.key), valueFor(op, salt)); break;
      case 'remove': txn.openTable(op.table).remove(keyOf(op.key)); break;
      case 'clear': txn.openTable(op.table).clear(); break;
      case 'createTable': txn.openTable(op.table); break;
      case 'deleteTable': txn.deleteTable(op.table); break;
    }
  }
}

class Engine {
  vfs = new MemoryVfs();
  db!: ColumnFamilyDatabase;

  constructor(readonly options: ColumnFamilyOptions) {}

  async open(): Promise<void> {
    this.db = await ColumnFamilyDatabase.open(this.vfs, this.options);
  }

  async run(txn: Txn, salt: number): Promise<void> {
    const family = await this.db.columnFamily(familyName(txn.family));
    const write = await family.beginWrite();
    applyToTxn(write, txn.ops, salt);
    if (txn.end === 'abort') write.abort();
    else await write.commit({ durability: txn.end });
  }

  async step(step: Step, salt: number): Promise<void> {
    switch (step.kind) {
      case 'txn': await this.run(step.txn, salt); break;
      case 'concurrent': await Promise.all(step.txns.map((txn, i) => this.run(txn, salt + i))); break;
      case 'checkpoint': await this.db.checkpoint(); break;
      case 'reopen':
        await this.db.close();
        await this.open();
        break;
      case 'crash':
        // A process crash: the page cache survives, nothing is closed or checkpointed.
        this.vfs = MemoryVfs.fromSnapshot(this.vfs.snapshot());
        await this.open();
        break;
      case 'deleteFamily':
        await this.db.deleteColumnFamily(familyName(step.family));
        break;
    }
  }

  async check(label: string): Promise<FamilyDump> {
    for (const name of this.db.listColumnFamilies()) {
      const report = (await this.db.columnFamily(name)).checkIntegrity();
      assert.ok(report.ok, `${label}: family ${name}: ${report.problems.join('; ')}`);
    }
    return dumpAll(this.db);
  }
}

function showStep(step: Step): string {
  const txn = (x: Txn): string => `${familyName(x.family)}[${x.ops.map((op) => op.kind).join(',')}]->${x.end}`;
  if (step.kind === 'txn') return txn(step.txn);
  if (step.kind === 'concurrent') return `concurrent(${step.txns.map(txn).join(' | ')})`;
  if (step.kind === 'deleteFamily') return `deleteFamily ${familyName(step.family)}`;
  return step.kind;
}

test('barrier always and wal-aware give the same logical state (and the model\'s) after every step', async (t) => {
  let evictions = 0;
  let steps = 0;
  await fc.assert(fc.asyncProperty(scenarioArb, async ({ config, steps: scenario }) => {
    const base: ColumnFamilyOptions = {
      pageBytes: config.pageBytes,
      writeBufferBytes: config.writeBufferPages * config.pageBytes,
      initialSegmentBytes: config.segmentPages * config.pageBytes,
      walCheckpointBytes: config.walCheckpointBytes,
    };
    const engines = (['always', 'wal-aware'] as Barrier[]).map((barrier) => new Engine({ ...base, barrier }));
    for (const engine of engines) await engine.open();
    const model: Model = new Map();
    for (let f = 0; f < config.families; f++) {
      model.set(familyName(f), new Map());
      for (const engine of engines) await engine.db.columnFamily(familyName(f));
    }
    for (const [i, step] of scenario.entries()) {
      const salt = i * 16;
      for (const engine of engines) await engine.step(step, salt);
      // The model: a committed transaction replaces its family's state; an abort changes nothing.
      const commitToModel = (txn: Txn, txnSalt: number): void => {
        const name = familyName(txn.family);
        if (!model.has(name)) model.set(name, new Map()); // using a deleted family creates it again
        if (txn.end === 'abort') return;
        const next = copyFamily(model.get(name)!);
        applyToModel(next, txn.ops, txnSalt);
        model.set(name, next);
      };
      if (step.kind === 'txn') commitToModel(step.txn, salt);
      if (step.kind === 'concurrent') step.txns.forEach((txn, k) => commitToModel(txn, salt + k));
      if (step.kind === 'deleteFamily') model.delete(familyName(step.family));
      const label = `step ${i} (${showStep(step)})`;
      const [always, walAware] = [await engines[0]!.check(`always, ${label}`), await engines[1]!.check(`wal-aware, ${label}`)];
      assert.deepStrictEqual(walAware, always, `${label}: wal-aware differs from always`);
      assert.deepStrictEqual(always, dumpModel(model), `${label}: the engines differ from the model`);
    }
    for (const engine of engines) {
      for (const name of engine.db.listColumnFamilies()) evictions += (await engine.db.columnFamily(name)).stats().evictions;
    }
    steps += scenario.length;
    for (const engine of engines) await engine.db.close();
  }), { numRuns: 150 });
  t.true(evictions > 0, 'the tiny write buffers evicted pages');
  t.log(`${steps} steps, ${evictions} page evictions (counted at the end of each run)`);
});
