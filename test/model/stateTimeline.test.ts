// The model's prefix digests over a frozen base (stateTimeline.ts) against the slow truth: the
// digest of stateAfter(k), rebuilt from nothing, for every prefix, through inserts, removes,
// clears, table deletes and family drops; and the overlay's reads against the rebuilt state.
import test from 'ava';
import { CommitHistory, toHex, type ModelOp } from '../../model/commitHistory.js';
import { digestOfState, totalOf } from '../../model/stateDigest.js';
import { FrozenBase } from '../../model/stateTimeline.js';

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);
const insert = (table: string, key: number, value: number): ModelOp => ({ op: 'insert', table, key: bytes(key), value: bytes(value, value) });

function history(withBase: boolean): CommitHistory {
  const h = new CommitHistory();
  h.addFamily('a');
  h.addFamily('b');
  h.issue('a', [insert('t', 1, 1), insert('t', 2, 2), insert('u', 9, 9)], 'immediate');
  h.issue('b', [insert('t', 1, 5)], 'immediate');
  if (withBase) h.setBase(new FrozenBase(h.stateAfter(2)));
  h.issue('a', [insert('t', 1, 3), { op: 'remove', table: 't', key: bytes(2) }, insert('t', 4, 4)], 'immediate');
  h.issue('a', [{ op: 'clear', table: 'u' }, insert('u', 8, 8)], 'none');
  h.issue('b', [], 'immediate', 'drop');
  h.issue('b', [], 'immediate', 'create');
  h.issue('a', [{ op: 'delete', table: 't' }, { op: 'create', table: 'v' }], 'immediate');
  return h;
}

for (const withBase of [false, true]) {
  test(`prefix digests equal the digests of the states rebuilt from nothing (${withBase ? 'over a base' : 'no base'})`, (t) => {
    const h = history(withBase);
    const total = h.prefixDigests(h.all(), { family: null });
    const familyA = h.prefixDigests(h.ofFamily('a'), { family: 'a' });
    for (let k = withBase ? 2 : 0; k <= h.all().length; k++) t.is(total[k], digestOfState(h.stateAfter(k)).total, `global prefix ${k}`);
    const orderA = h.ofFamily('a');
    for (let k = withBase ? 1 : 0; k <= orderA.length; k++) {
      t.is(familyA[k], digestOfState(h.stateAfter(k, orderA)).families.get('a'), `family a prefix ${k}`);
    }
    t.true(withBase ? Number.isNaN(total[0]!) : !Number.isNaN(total[0]!), 'prefixes inside the base are not digested');
    t.is(new Set(total.filter((digest) => !Number.isNaN(digest))).size, total.filter((digest) => !Number.isNaN(digest)).length, 'every prefix differs here');
  });
}

test('the overlay after k reads as the state after k: gets and ranges', (t) => {
  const h = history(true);
  for (let k = 2; k <= 4; k++) {
    const overlay = h.overlayAfter(h.all(), k);
    const state = h.stateAfter(k);
    for (const family of ['a', 'b']) {
      for (const table of ['t', 'u', 'v']) {
        const entries = [...state.get(family)?.get(table) ?? []].sort(([x], [y]) => (x < y ? -1 : 1));
        t.deepEqual(overlay.range(family, table), entries, `${family}/${table} at ${k}`);
        for (const key of [1, 2, 4, 8, 9]) t.is(overlay.get(family, table, toHex(bytes(key))), state.get(family)?.get(table)?.get(toHex(bytes(key))));
        t.deepEqual(overlay.range(family, table, toHex(bytes(2)), toHex(bytes(9))), entries.filter(([key]) => key >= '02' && key < '09'));
      }
    }
  }
});

test('a family digest is the sum of its tables; the total adds each present family once', (t) => {
  const state = history(false).stateAfter(2);
  const digest = digestOfState(state);
  t.is(digest.total, totalOf(digest.families));
  t.not(digestOfState(new Map([...state].filter(([family]) => family !== 'b'))).total, digest.total, 'an absent family changes the total');
});
