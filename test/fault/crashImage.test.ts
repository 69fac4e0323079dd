// fault/crashImage.ts: a crash snapshot holds the bytes of the moment it was taken (the live
// files keep changing underneath it), mounts without being changed, corrupts as corruptImage
// does, and compares by bytes.
import test from 'ava';
import { CrashImage, flipOffset } from '../../fault/crashImage.js';
import type { Storage } from '../../engine/storage.js';
import { corruptImage, FaultyVfs, type CrashPlan, type Survival } from '../../fault/faultyVfs.js';

function plan(overrides: Partial<CrashPlan> = {}): CrashPlan {
  return { survival: 'subset', tear: true, sectorBytes: 512, atomicSector: false, keepUnsyncedDirOps: true, seed: 3, ...overrides };
}

/** Fills `vfs` with synced and unsynced writes over several 4 KiB chunks, from `seed`. */
async function busyVfs(seed: number): Promise<{ vfs: FaultyVfs; file: Storage }> {
  const vfs = new FaultyVfs();
  const file = vfs.open('f', { create: true });
  await vfs.syncDir();
  for (let i = 0; i < 12; i++) {
    file.write(((seed + i * 977) % 9000), new Uint8Array(700 + i * 100).fill((seed + i) & 0xff));
    if (i % 4 === 3) await file.sync();
  }
  file.setLen(7000);
  vfs.open('g', { create: true }).write(0, Uint8Array.of(1, 2));
  return { vfs, file };
}

test('a snapshot keeps the bytes of its moment while the files change under it', async (t) => {
  for (const survival of ['none', 'all', 'prefix', 'subset'] as Survival[]) {
    const { vfs } = await busyVfs(11);
    const now = vfs.crashImage(plan({ survival }));
    const snapshot = vfs.crashSnapshot(plan({ survival }));
    const file = vfs.open('h', { create: true });
    file.write(0, new Uint8Array(5000).fill(7));
    await file.sync();
    vfs.remove('g');
    await vfs.syncDir();
    t.deepEqual(snapshot.image.toBytes(), now, `${survival}: the later changes reached the snapshot`);
  }
});

test('mounting an image and recovering over it leaves the image alone', async (t) => {
  const image = (await busyVfs(5)).vfs.crashSnapshot(plan()).image;
  const before = image.toBytes();
  const mounted = FaultyVfs.fromImage(image);
  const file = mounted.open('f', { create: false });
  file.write(0, new Uint8Array(9000).fill(0xee));
  await file.sync();
  t.deepEqual(image.toBytes(), before);
  t.deepEqual(FaultyVfs.fromImage(image).crashImage(plan({ survival: 'none' })), before, 'a second mount sees the image, not the first mount');
});

test('corrupt flips the bits corruptImage flips, and leaves the image alone', async (t) => {
  const image = (await busyVfs(9)).vfs.crashSnapshot(plan({ survival: 'all', tear: false })).image;
  const corruptions = [
    { kind: 'flip' as const, file: 'f', offset: 123_457, bit: 3 },
    { kind: 'flip' as const, file: 'f', offset: 10, bit: 0 },
    { kind: 'flip' as const, file: 'f', offset: 10, bit: 0 },
    { kind: 'unreadable' as const, file: 'f', offset: 0, lengthBytes: 512 },
    { kind: 'flip' as const, file: 'missing', offset: 1, bit: 1 },
  ];
  const plain = image.toBytes();
  t.deepEqual(image.corrupt(corruptions).toBytes(), corruptImage(plain, corruptions));
  t.notDeepEqual(image.corrupt(corruptions).toBytes(), plain, 'one flip stays');
  t.deepEqual(image.toBytes(), plain);
});

test('equals: equal bytes are equal whatever their history, different bytes or names are not', async (t) => {
  const { vfs, file } = await busyVfs(2);
  const first = vfs.crashSnapshot(plan({ survival: 'all', tear: false })).image;
  t.true(first.equals(vfs.crashSnapshot(plan({ survival: 'all', tear: false })).image), 'nothing changed in between');
  t.true(first.equals(CrashImage.copyOf(first.toBytes())), 'the same bytes, copied');
  file.write(1, Uint8Array.of(0xab));
  t.false(first.equals(vfs.crashSnapshot(plan({ survival: 'all', tear: false })).image), 'one byte differs');
  t.false(first.equals(CrashImage.copyOf(new Map([...first.toBytes()].filter(([name]) => name !== 'g')))), 'a file is missing');
});

test('a live flip counts only the non-zero bytes, wraps around them, and has nowhere to land in zeros', (t) => {
  const bytes = Uint8Array.of(0, 0, 5, 0, 6, 7, 0);
  const live = (offset: number): number | null => flipOffset(bytes, { kind: 'flip', file: 'a', offset, bit: 0, live: true });
  t.deepEqual([0, 1, 2, 3, 4].map(live), [2, 4, 5, 2, 4]);
  t.is(flipOffset(new Uint8Array(9), { kind: 'flip', file: 'a', offset: 3, bit: 0, live: true }), null);
  t.is(flipOffset(bytes, { kind: 'flip', file: 'a', offset: 9, bit: 0 }), 2, 'a plain flip wraps around the whole file');
  t.is(flipOffset(new Uint8Array(0), { kind: 'flip', file: 'a', offset: 0, bit: 0 }), null);
  // The lazy image and the plain one agree on live flips too.
  const plain = new Map([['a', bytes]]);
  const corruptions = [{ kind: 'flip', file: 'a', offset: 2, bit: 3, live: true }] as const;
  t.deepEqual(CrashImage.copyOf(plain).corrupt(corruptions).toBytes(), corruptImage(plain, corruptions));
  t.is(corruptImage(plain, corruptions).get('a')![5], 7 ^ 8);
});
