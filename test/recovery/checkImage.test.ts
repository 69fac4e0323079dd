// Focus: the judgement of a recovery outcome under deliberate corruption: which typed errors count as detection.
import test from 'ava';
import { EngineError } from '../../engine/errors.js';
import { CommitHistory } from '../../model/commitHistory.js';
import { judgeRecovered, type CheckOptions } from '../../recovery/checkImage.js';

const check = (overrides: Partial<CheckOptions>): CheckOptions => ({ options: {}, sharedLog: true, corrupted: true, contract: { mayRollBackUnderDamage: true }, ...overrides });
const failed = (code: 'CORRUPTION' | 'INVALID_FORMAT' | 'IO'): { error: unknown } => ({ error: new EngineError(code, 'damaged') });

test('CORRUPTION and IO are detection under corruption; INVALID_FORMAT only when the file no longer looks like ours', (t) => {
  const history = new CommitHistory();
  t.true(judgeRecovered(failed('CORRUPTION'), history, check({ looksForeign: false })).ok);
  t.true(judgeRecovered(failed('IO'), history, check({ looksForeign: false })).ok);
  t.true(judgeRecovered(failed('INVALID_FORMAT'), history, check({ looksForeign: true })).ok);
  t.true(judgeRecovered(failed('INVALID_FORMAT'), history, check({})).ok, 'unknown: either answer');
  const misnamed = judgeRecovered(failed('INVALID_FORMAT'), history, check({ looksForeign: false }));
  t.like(misnamed, { ok: false, kind: 'unexpected-error' });
  t.like(judgeRecovered(failed('CORRUPTION'), history, check({ corrupted: false })), { ok: false, kind: 'integrity' }, 'without corruption it is a bug');
});
