// The fast path of recovery checking (digests over memoized subtrees, point gets, sampled full
// reads) against bugs that hit only untouched data: two planted engine bugs in log replay at
// recovery, one that drops a key far from every key the workload touches and one that changes
// that key's value, must each be found in as few cases as the full read finds them.
import test from 'ava';
import * as referenceEngine from '../../engine/index.js';
import { benchCase, keyOf, populate } from '../../bench/harness.js';
import { runCrashCase, type CaseStart } from '../../properties/crashCase.js';
import { familyName } from '../../properties/crashWorkload.js';
import { plantEngine, type PlantedEngine } from '../../mutants/plantEngine.js';
import type { EngineUnderTest, FamilyUnderTest, StoreUnderTest } from '../../recovery/storeUnderTest.js';

/** A key no bench workload draws (theirs stay below 2^21): byte 2 of its 8 is 1. */
const FAR_KEY = keyOf(2 ** 40);
const KEYS = 600;

/** A durable database of KEYS keys plus FAR_KEY, built with the reference engine. */
function startWithFarKey(): Promise<CaseStart> {
  return populate(KEYS, 5, [{ family: familyName(0), ops: [{ op: 'insert', table: 't0', key: FAR_KEY, value: Uint8Array.of(7, 7, 7) }] }]);
}

const APPLY_REDO = 'function applyRedo(txn, ops) {\n';
const FAR_KEY_JS = 'Uint8Array.of(0, 0, 1, 0, 0, 0, 0, 0)';

/** Replaying a log record at recovery silently removes the far key (through the ordinary remove: no integrity problem). */
const DROP_FAR_KEY = [{ file: 'columnFamilyDatabase.js', find: APPLY_REDO, replace: `${APPLY_REDO}    txn.openTable('t0').remove(${FAR_KEY_JS});\n` }];

/** Replaying a log record at recovery rewrites the far key's value (7, 7, 7 becomes 7, 7, 6). */
const CHANGE_FAR_VALUE = [{ file: 'columnFamilyDatabase.js', find: APPLY_REDO, replace: `${APPLY_REDO}    txn.openTable('t0').insert(${FAR_KEY_JS}, Uint8Array.of(7, 7, 6));\n` }];

/** `engine` with each family its store opens replaced by `family(inner)`. */
function withFamilies(engine: EngineUnderTest, family: (inner: FamilyUnderTest) => FamilyUnderTest): EngineUnderTest {
  const store = (inner: StoreUnderTest): StoreUnderTest => ({
    listColumnFamilies: () => inner.listColumnFamilies(),
    columnFamily: async (name) => family(await inner.columnFamily(name)),
    deleteColumnFamily: (name) => inner.deleteColumnFamily(name),
    checkpoint: () => inner.checkpoint(),
    close: () => inner.close(),
  });
  return { ColumnFamilyDatabase: { open: async (vfs, options) => store(await engine.ColumnFamilyDatabase.open(vfs, options)) }, Database: engine.Database };
}

const plainFamily = (inner: FamilyUnderTest): FamilyUnderTest => ({
  name: inner.name, beginWrite: () => inner.beginWrite(), beginRead: () => inner.beginRead(), checkIntegrity: () => inner.checkIntegrity(),
});

/** The same engine without the digest capability: every image read in full (the harness before it). */
function withoutDigests(engine: EngineUnderTest): EngineUnderTest {
  return withFamilies(engine, plainFamily);
}

/** Cases run until the first violation (1-based), or Infinity within `limit`; the violation's kind and image (I/O event). */
async function casesToFind(engine: EngineUnderTest, start: CaseStart, limit: number): Promise<{ cases: number; kind: string | null; crashAt: number }> {
  for (let c = 0; c < limit; c++) {
    const result = await runCrashCase(engine, benchCase(KEYS, 8, 900 + c), { start, secondLife: false });
    if (result.violation !== null) return { cases: c + 1, kind: result.violation.kind, crashAt: result.violation.crashAt };
  }
  return { cases: Infinity, kind: null, crashAt: -1 };
}

let start: CaseStart;
test.before(async () => {
  start = await startWithFarKey();
});

test('the reference engine passes the cases the planted bugs fail (the far key is judged too)', async (t) => {
  t.deepEqual(await casesToFind(referenceEngine, start, 3), { cases: Infinity, kind: null, crashAt: -1 });
});

for (const [name, patches] of [['change-untouched-value', CHANGE_FAR_VALUE], ['drop-untouched-key', DROP_FAR_KEY]] as const) {
  test(`planted ${name}: the fast path finds it in as few cases as the full read`, async (t) => {
    const mutant: PlantedEngine = await plantEngine(name, patches);
    const fast = await casesToFind(mutant, start, 4);
    const full = await casesToFind(withoutDigests(mutant), start, 4);
    t.log(`${name}: fast path after ${fast.cases} case(s) (${fast.kind} at event ${fast.crashAt}), full read after ${full.cases} (${full.kind} at event ${full.crashAt})`);
    t.true(Number.isFinite(fast.cases), 'the fast path finds the bug');
    t.is(fast.cases, full.cases, 'in the same case as the full read');
    t.is(fast.crashAt, full.crashAt, 'at the same crash image: the digest saw it, not only a later full read');
    t.is(fast.kind, full.kind, 'and names it the same way (the fallback reads the image in full to classify it)');
  });
}

test('a problem only the digest capability reports (its full read finds none) is a violation, not a silent second read', async (t) => {
  const drifted = withFamilies(referenceEngine, (inner) => ({
    ...plainFamily(inner),
    digestState: (hashFor, memo) => {
      const report = inner.digestState!(hashFor, memo);
      return { ...report, problems: [...report.problems, 'planted: a page only the digest walk miscounts'] };
    },
  }));
  const result = await runCrashCase(drifted, benchCase(KEYS, 8, 900), { start, secondLife: false });
  t.is(result.violation?.kind, 'integrity');
  t.regex(result.violation?.detail ?? '', /digest capability reports what its full read does not: .*planted/);
});
