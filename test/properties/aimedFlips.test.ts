// Focus: aimed bit flips (properties/aimedFlips.ts) land in the header the case names, found in the
// image itself: each family's commit slots in the column-family file, the master copies, the log's slots.
import test from 'ava';
import fc from 'fast-check';
import { ColumnFamilyDatabase } from '../../engine/index.js';
import { MAGIC } from '../../engine/format.js';
import { CrashImage } from '../../fault/crashImage.js';
import { FaultyVfs, type Corruption } from '../../fault/faultyVfs.js';
import { aimFlips, anchorsOf, damageImage } from '../../properties/aimedFlips.js';
import { crashCaseArb, PROFILES } from '../../properties/crashArbitraries.js';

const DATA = 'crashlab.cf';
const LOG = 'crashlab.cf.wal';

/** A column-family image with `families` families, each with one commit (segments of 8 pages of 512 bytes). */
async function imageWith(families: number): Promise<CrashImage> {
  const vfs = new FaultyVfs();
  const db = await ColumnFamilyDatabase.open(vfs, { pageBytes: 512, initialSegmentBytes: 8 * 512 });
  for (let i = 0; i < families; i++) {
    const txn = await (await db.columnFamily(`cf${i}`)).beginWrite();
    txn.openTable('t').insert(Uint8Array.of(i), new Uint8Array(3000).fill(i + 1)); // grows past the first segment
    await txn.commit({ durability: 'immediate' });
  }
  await db.close();
  return CrashImage.copyOf(vfs.currentImage());
}

const flip = (file: string, anchor: number, offset: number): Corruption => ({ kind: 'flip', file, offset, bit: 0, live: false, anchor });

test('the data file\'s anchors are the two master copies and each family\'s page 0, where the family header begins', async (t) => {
  const image = await imageWith(3);
  const anchors = anchorsOf(image, DATA);
  t.is(anchors.length, 5);
  t.deepEqual(anchors.slice(0, 2), [0, 65536]);
  const bytes = image.toBytes().get(DATA)!;
  for (const at of anchors.slice(2)) t.deepEqual(bytes.subarray(at, at + 8), MAGIC, `a family header at ${at}`);
  t.is(new Set(anchors).size, 5, 'three different families');
  t.deepEqual(anchorsOf(image, LOG), [0], 'the log: its header slots at 0 and 64');
  t.deepEqual(anchorsOf(image, 'absent'), [0]);
});

test('an aimed flip changes exactly the byte at its anchor plus its offset; a family index wraps around the families', async (t) => {
  const image = await imageWith(2);
  const anchors = anchorsOf(image, DATA);
  const before = image.toBytes().get(DATA)!;
  // Index 4 with two families is the first family again (2 + (4 - 2) % 2).
  for (const [index, expected] of [[0, 0], [1, 65536], [2, anchors[2]!], [3, anchors[3]!], [4, anchors[2]!]] as const) {
    const after = damageImage(image, [flip(DATA, index, 100)]).toBytes().get(DATA)!;
    const changed = [...after.keys()].filter((at) => after[at] !== before[at]);
    t.deepEqual(changed, [expected + 100], `anchor ${index}`);
  }
  t.deepEqual(aimFlips(image, [flip(LOG, 3, 70)]), [{ kind: 'flip', file: LOG, offset: 70, bit: 0, live: false }], 'the log\'s second slot');
});

test('an aimed flip that was never resolved is refused, not applied at a wrong place', async (t) => {
  const image = await imageWith(1);
  t.throws(() => image.corrupt([flip(DATA, 2, 64)]), { instanceOf: TypeError });
});

test('the default profile aims flips at the second and third families\' headers too', (t) => {
  const anchors = new Map<number, number>();
  for (const crashCase of fc.sample(crashCaseArb(PROFILES.default), { seed: 11, numRuns: 2000 })) {
    for (const corruption of crashCase.corruption) {
      if (corruption.kind === 'flip' && corruption.anchor !== undefined) anchors.set(corruption.anchor, (anchors.get(corruption.anchor) ?? 0) + 1);
    }
  }
  t.deepEqual([...anchors.keys()].sort(), [0, 1, 2, 3, 4], JSON.stringify([...anchors]));
});
