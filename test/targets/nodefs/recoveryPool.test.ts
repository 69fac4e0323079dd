// Recovery isolation: images batched in one worker (and split over lanes) are each judged on their own; a known-bad image inside a batch still fails, and its neighbours still recover.
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { DirImage } from '../../../fault/trace.js';
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
