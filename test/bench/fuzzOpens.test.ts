// The fuzz of opens (bench/fuzzOpens.ts), small: damaged databases open with a typed error or a state of their own history, never an untyped error, an engine assertion or a hang; wrong values come only from a log of another database (a known finding: the log is not bound to its data file).
import test from 'ava';
import { fuzzOpens } from '../../bench/fuzzOpens.js';

test('2,000 damaged opens: no untyped error, no crash, no hang; wrong values only from a foreign log', async (t) => {
  const result = await fuzzOpens(2000, 1);
  t.is(result.opens, 2000);
  t.is(result.opens, result.detected + result.intact + result.silentLosses + result.wrongValues + result.untypedErrors + result.crashes + result.hangs, 'every open has one verdict');
  t.is(result.untypedErrors, 0, JSON.stringify(result.byDamage));
  t.is(result.crashes, 0, JSON.stringify(result.byDamage));
  t.is(result.hangs, 0);
  t.true(result.detected > 0 && result.intact > 0, 'the damage is real and varied: some told, some harmless');
  const wrongOutsideForeignLog = Object.entries(result.byDamage).filter(([kind]) => kind !== 'foreign-log').reduce((sum, [, row]) => sum + (row.wrongValue ?? 0), 0);
  t.is(wrongOutsideForeignLog, 0, JSON.stringify(result.byDamage));
});
