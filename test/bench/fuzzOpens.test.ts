// The fuzz of opens (bench/fuzzOpens.ts), small: damaged databases open with a typed error or a state of their own history, never a wrong value (a log of another database is refused: the log is bound to its data file), an untyped error, an engine assertion or a hang.
import test from 'ava';
import { fuzzOpens } from '../../bench/fuzzOpens.js';

test('2,000 damaged opens: no wrong value, no untyped error, no crash, no hang; another database\'s log is detected', async (t) => {
  const result = await fuzzOpens(2000, 1);
  t.is(result.opens, 2000);
  t.is(result.opens, result.detected + result.intact + result.silentLosses + result.declaredLimit + result.wrongValues + result.untypedErrors + result.crashes + result.hangs, 'every open has one verdict');
  // A deleted live log, another database's log, a master copy or log header slot damaged with
  // its mirror intact: all told, never a silent rollback (they were the most of the silent losses).
  t.true((result.byDamage['delete-log']?.detected ?? 0) > 0, `a deleted live log is detected: ${JSON.stringify(result.byDamage['delete-log'])}`);
  t.is(result.byDamage['delete-log']?.silentLoss ?? 0, 0, JSON.stringify(result.byDamage['delete-log']));
  t.is(result.byDamage['foreign-log']?.silentLoss ?? 0, 0, JSON.stringify(result.byDamage['foreign-log']));
  t.is(result.untypedErrors, 0, JSON.stringify(result.byDamage));
  t.is(result.crashes, 0, JSON.stringify(result.byDamage));
  t.is(result.hangs, 0);
  t.true(result.detected > 0 && result.intact > 0, 'the damage is real and varied: some told, some harmless');
  t.is(result.wrongValues, 0, JSON.stringify(result.byDamage));
  t.true((result.byDamage['foreign-log']?.detected ?? 0) > 0, `a foreign log is detected: ${JSON.stringify(result.byDamage['foreign-log'])}`);
  // Salvage of the detected opens: it may lose (silentLoss) or refuse (detected), never invent or crash.
  const salvaged = JSON.stringify(result.salvaged);
  t.is(result.salvaged.wrongValue ?? 0, 0, salvaged);
  t.is((result.salvaged.untypedError ?? 0) + (result.salvaged.crash ?? 0) + (result.salvaged.hang ?? 0), 0, salvaged);
  t.true((result.salvaged.silentLoss ?? 0) + (result.salvaged.declaredLimit ?? 0) + (result.salvaged.intact ?? 0) > 0, `some detected opens are salvaged: ${salvaged}`);
});
