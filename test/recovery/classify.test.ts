// The violation classifier on hand-built commit histories: every kind it names, the per-family
// rule without a shared log, and the cases that must NOT be violations.
import test from 'ava';
import { CommitHistory, toHex, type LogicalState, type ModelOp } from '../../model/commitHistory.js';
import { classify, diffStates, type Verdict } from '../../recovery/classify.js';

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);
const K1 = b(1);
const K2 = b(2);
const K3 = b(3);
const V1 = b(0xa1);
const V2 = b(0xa2);
const V3 = b(0xa3);

const ins = (key: Uint8Array, value: Uint8Array, table = 't'): ModelOp => ({ op: 'insert', table, key, value });
const rm = (key: Uint8Array, table = 't'): ModelOp => ({ op: 'remove', table, key });

type Status = 'acked-immediate' | 'acked-none' | 'in-flight' | 'failed';

/** A history from (family, ops, status) triples; families are created first. */
function historyOf(families: string[], commits: Array<[string, ModelOp[], Status]>): CommitHistory {
  const history = new CommitHistory();
  for (const family of families) history.addFamily(family);
  for (const [family, ops, status] of commits) {
    const index = history.issue(family, ops, status === 'acked-none' ? 'none' : 'immediate');
    if (status === 'failed') history.settle(index, 'failed');
    else if (status !== 'in-flight') history.settle(index, 'acked');
  }
  return history;
}

/** A logical state written out: family -> table -> [key, value] pairs. */
function stateOf(spec: Record<string, Record<string, Array<[Uint8Array, Uint8Array]>>>): LogicalState {
  return new Map(Object.entries(spec).map(([family, tables]) => [family, new Map(Object.entries(tables).map(([table, entries]) =>
    [table, new Map(entries.map(([key, value]) => [toHex(key), toHex(value)]))]))]));
}

function kindOf(verdict: Verdict): string {
  return verdict.ok ? `ok(${verdict.prefix})` : verdict.kind;
}

// c0 acked immediate, c1 acked none, c2 in flight: prefixes 1, 2 and 3 are acceptable.
const linear = (): CommitHistory => historyOf(['cf'], [
  ['cf', [ins(K1, V1)], 'acked-immediate'],
  ['cf', [ins(K2, V2)], 'acked-none'],
  ['cf', [rm(K1), ins(K3, V3)], 'in-flight'],
]);

test('every acceptable prefix is ok, and names its length', (t) => {
  const history = linear();
  for (const k of [1, 2, 3]) {
    const verdict = classify(history, history.stateAfter(k), true);
    t.deepEqual(verdict, { ok: true, prefix: k });
  }
});

test('lost-ack: an earlier prefix than the last acknowledged immediate commit allows', (t) => {
  const verdict = classify(linear(), stateOf({ cf: {} }), true);
  t.is(kindOf(verdict), 'lost-ack');
  if (!verdict.ok) {
    t.regex(verdict.detail, /commit #0 \(cf\) was acknowledged/);
    // The missing table, then each of its keys (so a value in it can be named, too).
    t.deepEqual(verdict.diff[0], { family: 'cf', table: 't', key: '', expected: 'table(1)', recovered: undefined });
    t.is(verdict.diff.length, 2);
    t.like(verdict.diff[1], { family: 'cf', table: 't', recovered: undefined });
    t.not(verdict.diff[1]?.key, '');
  }
});

test('lost-ack counts only immediate acknowledgements: losing acked `none` commits is allowed', (t) => {
  const history = historyOf(['cf'], [
    ['cf', [ins(K1, V1)], 'acked-immediate'],
    ['cf', [ins(K2, V2)], 'acked-none'],
    ['cf', [ins(K3, V3)], 'acked-none'],
  ]);
  t.deepEqual(classify(history, history.stateAfter(1), true), { ok: true, prefix: 1 });
  // ... but an immediate ack after them vouches for them all.
  const vouched = historyOf(['cf'], [
    ['cf', [ins(K1, V1)], 'acked-none'],
    ['cf', [ins(K2, V2)], 'acked-immediate'],
  ]);
  t.is(kindOf(classify(vouched, vouched.stateAfter(0), true)), 'lost-ack');
});

test('a failed commit may or may not be present', (t) => {
  const history = historyOf(['cf'], [
    ['cf', [ins(K1, V1)], 'acked-immediate'],
    ['cf', [ins(K2, V2)], 'failed'],
  ]);
  t.true(classify(history, history.stateAfter(1), true).ok);
  t.true(classify(history, history.stateAfter(2), true).ok);
});

test('torn-transaction: part of one commit is applied', (t) => {
  const history = linear();
  // c2 = remove K1, insert K3: only its first op applied.
  const verdict = classify(history, stateOf({ cf: { t: [[K2, V2]] } }), true);
  t.is(kindOf(verdict), 'torn-transaction');
  if (!verdict.ok) t.regex(verdict.detail, /commit #2 \(cf\) is partly applied/);
});

test('hole: a commit missing while a later one is present', (t) => {
  const history = historyOf(['cf'], [
    ['cf', [ins(K1, V1)], 'acked-immediate'],
    ['cf', [ins(K2, V2)], 'in-flight'],
    ['cf', [ins(K3, V3)], 'in-flight'],
  ]);
  const verdict = classify(history, stateOf({ cf: { t: [[K1, V1], [K3, V3]] } }), true);
  t.is(kindOf(verdict), 'hole');
  if (!verdict.ok) t.regex(verdict.detail, /commit #1 is missing while 1 later commit/);
});

test('hole across families in the shared log order', (t) => {
  // cf0's `none` commit precedes cf1's acknowledged immediate one in the log: losing it is a hole.
  const history = historyOf(['cf0', 'cf1'], [
    ['cf0', [ins(K1, V1)], 'acked-none'],
    ['cf1', [ins(K2, V2)], 'acked-immediate'],
  ]);
  const recovered = stateOf({ cf0: {}, cf1: { t: [[K2, V2]] } });
  t.is(kindOf(classify(history, recovered, true)), 'hole');
  // Without a shared log each family has its own order, and this state is fine.
  t.deepEqual(classify(history, recovered, false), { ok: true, prefix: 1 });
});

test('resurrected-delete: a removed key is back with a value it once had', (t) => {
  const history = historyOf(['cf'], [
    ['cf', [ins(K1, V1)], 'acked-immediate'],
    ['cf', [rm(K1), ins(K3, V3)], 'acked-immediate'],
    ['cf', [ins(K2, V2)], 'acked-immediate'],
  ]);
  const verdict = classify(history, stateOf({ cf: { t: [[K1, V1], [K2, V2], [K3, V3]] } }), true);
  t.is(kindOf(verdict), 'resurrected-delete');
  if (!verdict.ok) t.regex(verdict.detail, new RegExp(`cf/t/${toHex(K1)} was removed but is back`));
});

test('phantom-value: a value no commit ever wrote', (t) => {
  const history = linear();
  const verdict = classify(history, stateOf({ cf: { t: [[K1, V1], [K2, b(0xee)]] } }), true);
  t.is(kindOf(verdict), 'phantom-value');
  if (!verdict.ok) t.regex(verdict.detail, new RegExp(`cf/t/${toHex(K2)} holds a value no commit wrote`));
});

test('phantom-value: a value written to another key is still a phantom here', (t) => {
  const history = linear();
  const verdict = classify(history, stateOf({ cf: { t: [[K1, V1], [K2, V2], [K3, V1]] } }), true);
  t.is(kindOf(verdict), 'phantom-value');
});

test('other-divergence: a missing table with no better name', (t) => {
  const history = historyOf(['cf'], [
    ['cf', [{ op: 'create', table: 'u' }], 'acked-immediate'],
  ]);
  const verdict = classify(history, stateOf({ cf: { v: [] } }), true);
  t.is(kindOf(verdict), 'other-divergence');
  if (!verdict.ok) t.true(verdict.diff.some((line) => line.table === 'u' && line.key === ''));
});

test('per-family mode: each family is judged against its own commits', (t) => {
  const history = historyOf(['cf0', 'cf1'], [
    ['cf0', [ins(K1, V1)], 'acked-immediate'],
    ['cf1', [ins(K1, V2)], 'acked-immediate'],
    ['cf0', [ins(K2, V2)], 'in-flight'],
    ['cf1', [ins(K2, V1)], 'in-flight'],
  ]);
  // cf0 has its in-flight commit, cf1 not: fine per family, and the prefixes add up.
  const mixed = stateOf({ cf0: { t: [[K1, V1], [K2, V2]] }, cf1: { t: [[K1, V2]] } });
  t.deepEqual(classify(history, mixed, false), { ok: true, prefix: 3 });
  // cf1 lost its acknowledged commit: named for cf1's order.
  const lost = classify(history, stateOf({ cf0: { t: [[K1, V1]] }, cf1: {} }), false);
  t.is(kindOf(lost), 'lost-ack');
  if (!lost.ok) t.regex(lost.detail, /family cf1's commit order/);
  // cf1's later commit present while cf0's earlier one is absent: fine per family, a hole in one shared log.
  t.deepEqual(classify(history, stateOf({ cf0: { t: [[K1, V1]] }, cf1: { t: [[K1, V2], [K2, V1]] } }), false), { ok: true, prefix: 3 });
  t.is(kindOf(classify(history, stateOf({ cf0: { t: [[K1, V1]] }, cf1: { t: [[K1, V2], [K2, V1]] } }), true)), 'hole');
});

test('per-family mode still sees a torn transaction inside one family', (t) => {
  const history = historyOf(['cf0', 'cf1'], [
    ['cf1', [ins(K1, V1)], 'acked-immediate'],
    ['cf0', [ins(K1, V1), ins(K2, V2)], 'in-flight'],
  ]);
  const verdict = classify(history, stateOf({ cf0: { t: [[K1, V1]] }, cf1: { t: [[K1, V1]] } }), false);
  t.is(kindOf(verdict), 'torn-transaction');
});

test('a family still being created at the crash may appear, empty, and is ignored', (t) => {
  const history = linear();
  const withNewFamily = new Map([...history.stateAfter(2), ['cf9', new Map()]]) as LogicalState;
  t.deepEqual(classify(history, withNewFamily, true), { ok: true, prefix: 2 });
  t.deepEqual(classify(history, withNewFamily, false), { ok: true, prefix: 2 });
  // An unknown family holding anything at all (even an empty table) is not ignored.
  const withTable = new Map([...history.stateAfter(2), ['cf9', new Map([['t', new Map()]])]]) as LogicalState;
  t.false(classify(history, withTable, true).ok);
});

test('a known family missing from the recovered state is a violation', (t) => {
  const history = historyOf(['cf0', 'cf1'], [['cf0', [ins(K1, V1)], 'acked-immediate']]);
  t.false(classify(history, stateOf({ cf0: { t: [[K1, V1]] } }), true).ok);
});

test('a no-op commit (same value again) causes no false lost-ack', (t) => {
  const history = historyOf(['cf'], [
    ['cf', [ins(K1, V1)], 'acked-immediate'],
    ['cf', [ins(K1, V1)], 'acked-immediate'],
    ['cf', [rm(K2)], 'acked-immediate'],
    ['cf', [{ op: 'create', table: 't' }], 'acked-immediate'],
  ]);
  // The state after 1 commit is also the state after 4: prefix 4 is in range and matches.
  t.deepEqual(classify(history, history.stateAfter(1), true), { ok: true, prefix: 4 });
  t.deepEqual(classify(history, history.stateAfter(1), false), { ok: true, prefix: 4 });
});

test("the 'any-prefix' rule accepts every prefix, even before acknowledged commits", (t) => {
  const history = linear();
  t.deepEqual(classify(history, history.stateAfter(0), true, 'any-prefix'), { ok: true, prefix: 0 });
  t.true(classify(history, history.stateAfter(3), true, 'any-prefix').ok);
  t.false(classify(history, stateOf({ cf: { t: [[K3, V3]] } }), true, 'any-prefix').ok);
});

// KNOWN IMPRECISION (reported): diffStates counts a missing table as ONE line, so the "nearest"
// state is often the one before the table existed, and its diff has no key lines to name. The
// verdict is still a violation, only its kind is vaguer than it could be.
test('a phantom value in a table the nearest prefix lacks is still named phantom-value', (t) => {
  // The first commit is in flight; the recovered table holds garbage. Nearest: the empty state.
  const history = historyOf(['cf'], [['cf', [ins(K1, V1)], 'in-flight']]);
  t.is(kindOf(classify(history, stateOf({ cf: { t: [[K1, b(0xee)]] } }), true)), 'phantom-value');
});

test('diffStates lists every differing key, family and table', (t) => {
  const expected = stateOf({ a: { t: [[K1, V1], [K2, V2]] }, b: { u: [] } });
  const recovered = stateOf({ a: { t: [[K1, V3], [K3, V3]] }, c: {} });
  const lines = diffStates(expected, recovered);
  t.deepEqual(lines, [
    { family: 'a', table: 't', key: toHex(K1), expected: toHex(V1), recovered: toHex(V3) },
    { family: 'a', table: 't', key: toHex(K2), expected: toHex(V2), recovered: undefined },
    { family: 'a', table: 't', key: toHex(K3), expected: undefined, recovered: toHex(V3) },
    { family: 'b', table: '', key: '', expected: 'family', recovered: undefined },
    { family: 'b', table: 'u', key: '', expected: 'table(0)', recovered: undefined },
    { family: 'c', table: '', key: '', expected: undefined, recovered: 'family' },
  ]);
  t.deepEqual(diffStates(expected, expected), []);
});

test('family changes: an acknowledged deletion must hold (the old data back is lost-ack), and a re-created family starts empty', (t) => {
  const history = new CommitHistory();
  for (const family of ['a', 'b']) history.addFamily(family);
  history.settle(history.issue('a', [ins(K1, V1)], 'immediate'), 'acked');
  history.settle(history.issue('b', [ins(K2, V2)], 'none'), 'acked');
  history.settle(history.issue('a', [], 'immediate', 'drop'), 'acked');
  const create = history.issue('a', [], 'immediate', 'create');
  const withB = { b: { t: [[K2, V2]] } } as const satisfies Record<string, Record<string, Array<[Uint8Array, Uint8Array]>>>;
  // Deleted and not yet created again (the creation in flight), or created again, empty.
  t.is(kindOf(classify(history, stateOf(withB), true)), 'ok(3)');
  t.is(kindOf(classify(history, stateOf({ ...withB, a: {} }), true)), 'ok(4)');
  // The deletion was acknowledged: family a with its old data is a lost acknowledgement.
  t.is(kindOf(classify(history, stateOf({ ...withB, a: { t: [[K1, V1]] } }), true)), 'lost-ack');
  // In the shared log's order the deletion comes after b's none commit: without it, no prefix matches.
  t.not(kindOf(classify(history, stateOf({}), true)).slice(0, 2), 'ok');
  history.settle(create, 'acked');
  t.is(kindOf(classify(history, stateOf(withB), true)), 'lost-ack', 'the acknowledged re-creation is gone');
  t.throws(() => history.issue('a', [ins(K1, V1)], 'none', 'drop'), { message: /family change/ });
});
