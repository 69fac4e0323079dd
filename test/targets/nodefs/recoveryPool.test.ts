// Recovery isolation: images batched in one worker (and split over lanes) are each judged on their own; a known-bad image inside a batch still fails, and its neighbours still recover.
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { DirImage } from '../../../fault/trace.js';
import { statesEqual } from '../../../model/commitHistory.js';
import { RecoveryPool } from '../../../targets/nodefs/recoveryPool.js';

const STORE = fileURLToPath(new URL('../../properties/fixtures/correctStore.js', import.meta.url));
const encoder = new TextEncoder();

function image(json: string): DirImage {
  return { files: new Map([['store.json', encoder.encode(json)]]), dirs: new Set() };
}

for (const workers of [1, 2]) {
  test(`canary: one unreadable image among 63 good ones fails alone (${workers} worker${workers === 1 ? '' : 's'}, recycled every 10 images)`, async (t) => {
    const pool = new RecoveryPool({ adapterModule: STORE, packages: {}, seed: 1, workers, recycleAfterImages: 10 });
    try {
      const images = Array.from({ length: 64 }, (_, i) => (i === 37 ? image('{"t0":{"00"') : image(JSON.stringify({ t0: { [i.toString(16).padStart(2, '0')]: 'ab' } }))));
      const answers = await pool.recoverAll(images);
      t.is(answers.length, 64);
      t.is(answers[37]?.kind, 'refused');
      for (const [i, answer] of answers.entries()) {
        if (i === 37) continue;
        t.is(answer.kind, 'state', `image ${i}`);
        if (answer.kind === 'state') t.deepEqual([...answer.state.get('f0')!.get('t0')!.keys()], [i.toString(16).padStart(2, '0')]);
      }
    } finally {
      await pool.close();
    }
  });
}

test('an image whose recovery never ends is reported as a hang, and the images after it still recover', async (t) => {
  const hanging = fileURLToPath(new URL('../../properties/fixtures/hangingRecoveryStore.js', import.meta.url));
  const pool = new RecoveryPool({ adapterModule: hanging, packages: {}, seed: 1, workers: 1, hangTimeoutMs: 500 });
  try {
    const answers = await pool.recoverAll([image('{}'), image('"hang"'), image('{"t0":{}}')]);
    t.deepEqual(answers.map((answer) => answer.kind), ['state', 'hang', 'state']);
  } finally {
    await pool.close();
  }
});

test('a state sent once is not sent again: repeated states come back equal, under one key, across batches and worker recycling', async (t) => {
  const pool = new RecoveryPool({ adapterModule: STORE, packages: {}, seed: 1, workers: 1, recycleAfterImages: 4 });
  try {
    // Images 0, 1 (mod 3) hold the same rows written in two key orders: one state, one key; images 2 (mod 3) each rows of their own.
    const rows = (i: number): string => JSON.stringify(i % 3 === 0 ? { t0: { a1: '01', b2: '02' } } : i % 3 === 1 ? { t0: { b2: '02', a1: '01' } } : { t0: { [`c${i}`]: '03' } });
    const answers = [...await pool.recoverAll(Array.from({ length: 9 }, (_, i) => image(rows(i)))), ...await pool.recoverAll(Array.from({ length: 9 }, (_, i) => image(rows(i + 9))))];
    const states = answers.map((answer) => (answer.kind === 'state' ? answer : t.fail(`image answered ${answer.kind}`)));
    const shared = states.filter((_, i) => i % 3 !== 2);
    const unique = states.filter((_, i) => i % 3 === 2);
    for (const answer of shared) {
      t.true(answer !== undefined && shared[0] !== undefined && statesEqual(answer.state, shared[0].state));
      t.is(answer?.stateKey ?? 'no key', shared[0]?.stateKey ?? 'no first key');
    }
    t.is(new Set(unique.map((answer) => answer?.stateKey)).size, unique.length);
    t.false(unique.some((answer) => answer?.stateKey === shared[0]?.stateKey));
  } finally {
    await pool.close();
  }
});
