// The crash model of fault/faultyVfs.ts, clause by clause: durable image + pending operations,
// survival modes, tearing, lost directory operations, crash points, injected errors, fsyncgate,
// corruption, trace hashes and determinism.
import test, { type ExecutionContext } from 'ava';
import {
  corruptImage, FaultyVfs, PowerCut, type CrashPlan, type FaultyVfsOptions, type Survival,
} from '../../fault/faultyVfs.js';
import type { Storage } from '../../engine/storage.js';

const SEEDS = Array.from({ length: 64 }, (_, i) => i * 7919 + 1);

function plan(overrides: Partial<CrashPlan> = {}): CrashPlan {
  return { survival: 'none', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 1, ...overrides };
}

/** The `code` of the error `fn` throws (injected errors are plain Errors with an errno code). */
function thrownCode(t: ExecutionContext, fn: () => unknown): string | undefined {
  return t.throws<NodeJS.ErrnoException>(fn)?.code;
}

function filled(lengthBytes: number, value: number): Uint8Array {
  return new Uint8Array(lengthBytes).fill(value);
}

/** A VFS holding file `f`, created durably (syncDir) with `base` synced as its content. */
async function durableFile(base: Uint8Array, options: FaultyVfsOptions = {}): Promise<{ vfs: FaultyVfs; file: Storage }> {
  const vfs = new FaultyVfs(options);
  const file = vfs.open('f', { create: true });
  await vfs.syncDir();
  if (base.length > 0) file.write(0, base);
  await file.sync();
  return { vfs, file };
}

function imageOf(t: ExecutionContext, vfs: FaultyVfs, crashPlan: CrashPlan, name = 'f'): Uint8Array {
  const bytes = vfs.crashImage(crashPlan).get(name);
  if (bytes === undefined) {
    t.fail(`file ${name} missing from the crash image`);
    return new Uint8Array(0);
  }
  return bytes;
}

/**
 * Ten pending two-byte writes: write i puts value i + 1 at offsets i and i + 1, so each write
 * overlaps the next. Offset i holds i + 1 exactly when write i survived, and the image must
 * then equal the survivors applied in issue order (a reordering shows at the overlaps).
 */
const MARKERS = 10;
async function markerWrites(): Promise<FaultyVfs> {
  const { vfs, file } = await durableFile(new Uint8Array(MARKERS + 1));
  for (let i = 0; i < MARKERS; i++) file.write(i, Uint8Array.of(i + 1, i + 1));
  return vfs;
}

function survivorsOf(image: Uint8Array): number[] {
  const kept: number[] = [];
  for (let i = 0; i < MARKERS; i++) if (image[i] === i + 1) kept.push(i);
  return kept;
}

/** The image the survivors give when applied in issue order. */
function inOrder(kept: readonly number[]): Uint8Array {
  const image = new Uint8Array(MARKERS + 1);
  for (const i of kept) image.set([i + 1, i + 1], i);
  return image;
}

async function survivorSets(t: ExecutionContext, survival: Survival): Promise<number[][]> {
  const vfs = await markerWrites();
  return SEEDS.map((seed) => {
    const image = imageOf(t, vfs, plan({ survival, seed }));
    const kept = survivorsOf(image);
    t.deepEqual(image, inOrder(kept), `seed ${seed}: survivors applied in issue order`);
    return kept;
  });
}

// ---- durable image and pending operations ----

test('unsynced writes are visible to reads but not durable; sync makes them durable', async (t) => {
  const { vfs, file } = await durableFile(filled(8, 1));
  file.write(2, Uint8Array.of(9, 9));
  file.setLen(12);
  t.deepEqual(file.read(0, 12), Uint8Array.of(1, 1, 9, 9, 1, 1, 1, 1, 0, 0, 0, 0));
  t.deepEqual(imageOf(t, vfs, plan()), filled(8, 1), 'a crash drops every pending operation');
  await file.sync();
  t.deepEqual(imageOf(t, vfs, plan()), Uint8Array.of(1, 1, 9, 9, 1, 1, 1, 1, 0, 0, 0, 0));
  t.deepEqual(vfs.currentImage().get('f'), file.read(0, 12), 'the page-cache image is what reads see');
});

test('crashImage does not change the VFS and can be taken repeatedly', async (t) => {
  const vfs = await markerWrites();
  const before = vfs.currentImage();
  const first = vfs.crashImage(plan({ survival: 'subset', tear: true, seed: 5 }));
  const second = vfs.crashImage(plan({ survival: 'subset', tear: true, seed: 5 }));
  t.deepEqual(first, second);
  t.deepEqual(vfs.currentImage(), before);
});

test('a setLen that shrinks is pending like a write', async (t) => {
  const { vfs, file } = await durableFile(filled(16, 3));
  file.setLen(4);
  t.is(file.len(), 4);
  t.is(imageOf(t, vfs, plan()).length, 16);
  t.is(imageOf(t, vfs, plan({ survival: 'all' })).length, 4);
});

test('no aliasing: images, mounted bytes, written data and read results are all copies', async (t) => {
  const { vfs, file } = await durableFile(filled(8, 1));
  file.write(0, Uint8Array.of(2));
  const image = vfs.crashImage(plan({ survival: 'all' }));
  image.get('f')!.fill(9);
  t.deepEqual(imageOf(t, vfs, plan({ survival: 'all' })), Uint8Array.of(2, 1, 1, 1, 1, 1, 1, 1), 'changing an image changes nothing else');
  const data = Uint8Array.of(5, 5);
  file.write(4, data);
  data.fill(0);
  const read = file.read(0, 8);
  t.deepEqual(read, Uint8Array.of(2, 1, 1, 1, 5, 5, 1, 1), 'written data is not retained');
  read.fill(7);
  t.deepEqual(file.read(0, 8), Uint8Array.of(2, 1, 1, 1, 5, 5, 1, 1), 'a read result is the caller\'s');
  const source = new Map([['g', filled(4, 3)]]);
  const mounted = FaultyVfs.fromImage(source);
  source.get('g')!.fill(0);
  t.deepEqual(mounted.crashImage(plan()).get('g'), filled(4, 3), 'fromImage copies its input');
});

test('a written Buffer is copied too (its slice is a view), so a snapshot taken before it changes keeps its bytes', async (t) => {
  const { vfs, file } = await durableFile(filled(8, 1));
  const data = Buffer.from([5, 5]);
  file.write(2, data);
  const snapshot = vfs.crashSnapshot(plan({ survival: 'all' }));
  data.fill(0);
  t.deepEqual(snapshot.image.toBytes().get('f'), Uint8Array.of(1, 1, 5, 5, 1, 1, 1, 1));
  t.deepEqual(imageOf(t, vfs, plan({ survival: 'all' })), Uint8Array.of(1, 1, 5, 5, 1, 1, 1, 1));
});

test('bytes past a shrink read as zeros after a later extension (pending and durable)', async (t) => {
  const { vfs, file } = await durableFile(filled(100, 1));
  file.setLen(10);
  file.setLen(20);
  file.write(30, Uint8Array.of(4));
  const expected = new Uint8Array(31);
  expected.fill(1, 0, 10);
  expected[30] = 4;
  t.deepEqual(file.read(0, 31), expected);
  t.deepEqual(imageOf(t, vfs, plan({ survival: 'all' })), expected);
  await file.sync();
  t.deepEqual(imageOf(t, vfs, plan()), expected);
});

test('a long run of appends keeps every byte (growth by doubling)', async (t) => {
  const { vfs, file } = await durableFile(new Uint8Array(0));
  let offset = 0;
  for (let i = 0; i < 300; i++) {
    file.write(offset, filled(37, i & 0xff));
    offset += 37;
    if (i % 50 === 49) await file.sync();
  }
  const expected = new Uint8Array(offset);
  for (let i = 0; i < 300; i++) expected.fill(i & 0xff, i * 37, (i + 1) * 37);
  t.deepEqual(file.read(0, offset), expected);
  t.deepEqual(imageOf(t, vfs, plan({ survival: 'all' })), expected);
  t.deepEqual(imageOf(t, vfs, plan()), expected.subarray(0, 300 * 37), 'everything was synced at the 300th write');
});

// ---- survival modes ----

test('survival none keeps no pending write, for every seed', async (t) => {
  for (const kept of await survivorSets(t, 'none')) t.deepEqual(kept, []);
});

test('survival all keeps every pending write, in order', async (t) => {
  for (const kept of await survivorSets(t, 'all')) t.deepEqual(kept, Array.from({ length: MARKERS }, (_, i) => i));
});

test('survival prefix keeps the first k writes, and k varies with the seed over 0..n', async (t) => {
  const lengths = new Set<number>();
  for (const kept of await survivorSets(t, 'prefix')) {
    t.deepEqual(kept, Array.from({ length: kept.length }, (_, i) => i), `a prefix, not ${kept.join(',')}`);
    lengths.add(kept.length);
  }
  t.true(lengths.size >= 5, `prefix lengths seen: ${[...lengths].join(',')}`);
});

test('survival subset keeps any subset, applied in issue order', async (t) => {
  let nonPrefix = 0;
  const sizes = new Set<number>();
  for (const kept of await survivorSets(t, 'subset')) {
    if (kept.some((index, i) => index !== i)) nonPrefix++;
    sizes.add(kept.length);
  }
  t.true(nonPrefix > SEEDS.length / 2, `subsets that are not prefixes: ${nonPrefix} of ${SEEDS.length}`);
  t.true(sizes.size >= 4);
});

test('survival applies per file: each file keeps its own prefix', async (t) => {
  const vfs = new FaultyVfs();
  const a = vfs.open('a', { create: true });
  const b = vfs.open('b', { create: true });
  await vfs.syncDir();
  for (let i = 0; i < 6; i++) {
    a.write(i, Uint8Array.of(1));
    b.write(i, Uint8Array.of(2));
  }
  const pairs = new Set<string>();
  for (const seed of SEEDS) {
    const image = vfs.crashImage(plan({ survival: 'prefix', seed }));
    pairs.add(`${image.get('a')!.length}/${image.get('b')!.length}`);
  }
  t.true(pairs.size > 6, `independent prefix lengths per file: ${[...pairs].join(' ')}`);
});

// ---- tearing ----

const TEAR_OFFSET = 100;
const TEAR_BYTES = 5000;
const FILE_BYTES = 3 * 4096;

/** One pending write of 0x55 over [100, 5100) on a durable file of 0xAA bytes. */
async function tearSubject(): Promise<FaultyVfs> {
  const { vfs, file } = await durableFile(filled(FILE_BYTES, 0xaa));
  file.write(TEAR_OFFSET, filled(TEAR_BYTES, 0x55));
  return vfs;
}

/** The write's pieces, cut at sector boundaries. */
function pieces(sectorBytes: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const end = TEAR_OFFSET + TEAR_BYTES;
  for (let start = TEAR_OFFSET; start < end;) {
    const stop = Math.min(end, (Math.floor(start / sectorBytes) + 1) * sectorBytes);
    out.push([start, stop]);
    start = stop;
  }
  return out;
}

for (const sectorBytes of [512, 4096] as const) {
  for (const atomicSector of [true, false]) {
    test(`tearing at ${sectorBytes}-byte sectors, ${atomicSector ? 'atomic' : 'non-atomic'}: only the write's range changes, sector by sector`, async (t) => {
      const vfs = await tearSubject();
      let torn = 0;
      let partialSectors = 0;
      for (const seed of SEEDS) {
        const image = imageOf(t, vfs, plan({ survival: 'all', tear: true, sectorBytes, atomicSector, seed }));
        t.is(image.length, FILE_BYTES);
        for (let i = 0; i < FILE_BYTES; i++) {
          if (i < TEAR_OFFSET || i >= TEAR_OFFSET + TEAR_BYTES) {
            if (image[i] !== 0xaa) return t.fail(`seed ${seed}: byte ${i} outside the write changed`);
          }
        }
        let kept = 0;
        for (const [start, stop] of pieces(sectorBytes)) {
          const piece = image.subarray(start, stop);
          const newBytes = piece.findIndex((byte) => byte !== 0x55);
          const prefix = newBytes < 0 ? piece.length : newBytes;
          // Whatever is not new is old: a kept prefix of new bytes over the old ones.
          if (!piece.subarray(prefix).every((byte) => byte === 0xaa)) return t.fail(`seed ${seed}: sector at ${start} is not new-prefix + old`);
          if (atomicSector && prefix !== 0 && prefix !== piece.length) return t.fail(`seed ${seed}: atomic sector at ${start} half written`);
          if (prefix > 0 && prefix < piece.length) partialSectors++;
          if (prefix > 0) kept++;
        }
        if (kept > 0 && kept < pieces(sectorBytes).length) torn++;
      }
      t.true(torn > 0, 'some images hold a torn write');
      if (atomicSector) t.is(partialSectors, 0);
      else t.true(partialSectors > 0, 'a non-atomic sector can be cut short');
    });
  }
}

test('without tear a surviving write is whole', async (t) => {
  const vfs = await tearSubject();
  for (const seed of SEEDS) {
    const image = imageOf(t, vfs, plan({ survival: 'all', tear: false, atomicSector: false, seed }));
    t.true(image.subarray(TEAR_OFFSET, TEAR_OFFSET + TEAR_BYTES).every((byte) => byte === 0x55));
  }
});

// ---- directory operations ----

test('an unsynced creation is lost unless keepUnsyncedDirOps; syncDir makes it durable', async (t) => {
  const vfs = new FaultyVfs();
  const file = vfs.open('new', { create: true });
  file.write(0, Uint8Array.of(7));
  await file.sync();
  t.false(vfs.crashImage(plan()).has('new'), 'file data synced, but its directory entry is not');
  t.deepEqual(vfs.crashImage(plan({ keepUnsyncedDirOps: true })).get('new'), Uint8Array.of(7));
  await vfs.syncDir();
  t.deepEqual(vfs.crashImage(plan()).get('new'), Uint8Array.of(7));
});

test('an unsynced removal is lost unless keepUnsyncedDirOps; syncDir makes it durable', async (t) => {
  const { vfs, file } = await durableFile(Uint8Array.of(4, 2));
  file.close();
  vfs.remove('f');
  t.false(vfs.exists('f'));
  t.deepEqual(vfs.crashImage(plan()).get('f'), Uint8Array.of(4, 2), 'the removal is not durable yet');
  t.false(vfs.crashImage(plan({ keepUnsyncedDirOps: true })).has('f'));
  await vfs.syncDir();
  t.false(vfs.crashImage(plan()).has('f'));
});

test("with keepUnsyncedDirOps 'some', each unsynced entry survives on its own coin: a data file can come back without its log", async (t) => {
  const vfs = new FaultyVfs();
  for (const name of ['data', 'data.wal']) {
    const file = vfs.open(name, { create: true });
    file.write(0, Uint8Array.of(1));
    await file.sync();
  }
  const seen = new Set<string>();
  for (let seed = 0; seed < 64; seed++) {
    const image = vfs.crashImage(plan({ keepUnsyncedDirOps: 'some', seed }));
    seen.add(`${image.has('data')}/${image.has('data.wal')}`);
    t.deepEqual(image, vfs.crashImage(plan({ keepUnsyncedDirOps: 'some', seed })), 'the same seed, the same image');
  }
  t.deepEqual([...seen].sort(), ['false/false', 'false/true', 'true/false', 'true/true']);
  await vfs.syncDir();
  t.true(vfs.crashImage(plan({ keepUnsyncedDirOps: 'some' })).has('data.wal'), 'a synced entry is not up to a coin');
});

test('each crash point draws on its own: the same plan keeps different entries at different events, the same ones at one event', async (t) => {
  const vfs = new FaultyVfs();
  const kept = new Set<string>();
  for (let i = 0; i < 24; i++) {
    const file = vfs.open(`file${i}`, { create: true });
    file.write(0, Uint8Array.of(1));
    await file.sync();
    const some = plan({ keepUnsyncedDirOps: 'some', seed: 5 });
    const image = vfs.crashImage(some);
    t.deepEqual(image, vfs.crashImage(some), 'one point, one image');
    kept.add(image.has('file0') ? 'kept' : 'lost');
  }
  t.deepEqual([...kept].sort(), ['kept', 'lost'], 'the first file\'s entry is kept at some points and lost at others');
});

test('fromImage mounts every file durable, with nothing pending', async (t) => {
  const image = new Map([['a', Uint8Array.of(1, 2)], ['b', Uint8Array.of(3)]]);
  const vfs = FaultyVfs.fromImage(image);
  t.deepEqual(vfs.crashImage(plan()), image);
  t.deepEqual(vfs.open('a', { create: false }).read(0, 2), Uint8Array.of(1, 2));
});

// ---- crash points ----

/** Eight state-changing events, one per step; returns the step the power cut at (or null). */
async function crashScript(vfs: FaultyVfs): Promise<number | null> {
  let step = 0;
  try {
    const file = vfs.open('f', { create: true }); step++; // 0 create
    file.write(0, filled(600, 1)); step++; // 1 write
    await vfs.syncDir(); step++; // 2 syncDir
    await file.sync(); step++; // 3 sync
    file.write(100, filled(50, 2)); step++; // 4 write
    file.setLen(1000); step++; // 5 setLen
    await file.sync(); step++; // 6 sync
    file.write(0, filled(10, 3)); step++; // 7 write
    return null;
  } catch (error) {
    if (!(error instanceof PowerCut)) throw error;
    return step;
  }
}

test('crashAtEvent k cuts the power exactly at event k, and matches the image taken before event k', async (t) => {
  const images = new Map<number, Map<string, Uint8Array>>();
  const witness: FaultyVfs = new FaultyVfs({ onEvent: (index) => images.set(index, witness.crashImage(plan({ survival: 'all', keepUnsyncedDirOps: true }))) });
  t.is(await crashScript(witness), null);
  t.is(witness.events, 8);
  for (let k = 0; k < 8; k++) {
    const vfs = new FaultyVfs({ crashAtEvent: k });
    t.is(await crashScript(vfs), k, `the cut falls on step ${k}`);
    t.true(vfs.crashed);
    t.is(vfs.events, k + 1, 'the cut event is recorded, nothing after it');
    t.is(vfs.recentEvents().at(-1)?.outcome, 'crash');
    t.deepEqual(vfs.crashImage(plan({ survival: 'all', keepUnsyncedDirOps: true })), images.get(k), `event ${k} did not take effect`);
  }
});

test('after the power cut every later call fails with PowerCut', async (t) => {
  const vfs = new FaultyVfs({ crashAtEvent: 3 });
  const file = vfs.open('f', { create: true });
  file.write(0, Uint8Array.of(1));
  await vfs.syncDir();
  t.throws(() => file.write(1, Uint8Array.of(2)), { instanceOf: PowerCut });
  t.throws(() => file.write(1, Uint8Array.of(2)), { instanceOf: PowerCut });
  t.throws(() => file.setLen(0), { instanceOf: PowerCut });
  t.throws(() => file.read(0, 1), { instanceOf: PowerCut });
  await t.throwsAsync(file.sync(), { instanceOf: PowerCut });
  await t.throwsAsync(vfs.syncDir(), { instanceOf: PowerCut });
  t.throws(() => vfs.open('g', { create: true }), { instanceOf: PowerCut });
  t.throws(() => vfs.exists('f'), { instanceOf: PowerCut });
  t.throws(() => vfs.remove('f'), { instanceOf: PowerCut });
  t.is(vfs.events, 4, 'calls after the cut are not events');
});

test('a cut during sync leaves the pending data undurable', async (t) => {
  const vfs = new FaultyVfs({ crashAtEvent: 3 });
  const file = vfs.open('f', { create: true }); // 0
  await vfs.syncDir(); // 1
  file.write(0, Uint8Array.of(5)); // 2
  await t.throwsAsync(file.sync(), { instanceOf: PowerCut }); // 3
  t.deepEqual(vfs.crashImage(plan()).get('f'), new Uint8Array(0));
});

// ---- injected errors ----

test('failWriteAt: the Nth write fails with EIO and changes nothing; others succeed', async (t) => {
  const { vfs, file } = await durableFile(new Uint8Array(0), { errors: { failWriteAt: 2 } });
  file.write(0, Uint8Array.of(1)); // write 0
  file.setLen(4); // not a write
  file.write(1, Uint8Array.of(2)); // write 1
  t.is(thrownCode(t, () => file.write(2, Uint8Array.of(3, 3, 3, 3, 3))), 'EIO'); // write 2
  t.is(file.len(), 4);
  t.deepEqual(file.read(0, 4), Uint8Array.of(1, 2, 0, 0));
  file.write(3, Uint8Array.of(4)); // write 3
  await file.sync();
  t.deepEqual(imageOf(t, vfs, plan()), Uint8Array.of(1, 2, 0, 4));
  t.is(vfs.recentEvents().filter((event) => event.outcome === 'eio').length, 1);
});

test('failReadAt: the Nth read fails with EIO; reads are not events', async (t) => {
  const { vfs, file } = await durableFile(Uint8Array.of(1, 2, 3), { errors: { failReadAt: 1 } });
  const events = vfs.events;
  t.deepEqual(file.read(0, 1), Uint8Array.of(1));
  t.is(thrownCode(t, () => file.read(1, 1)), 'EIO');
  t.deepEqual(file.read(1, 2), Uint8Array.of(2, 3));
  t.is(vfs.events, events);
});

test('failSyncAt: the Nth sync rejects with EIO', async (t) => {
  const vfs = new FaultyVfs({ errors: { failSyncAt: 1 } });
  const file = vfs.open('f', { create: true });
  await vfs.syncDir(); // not a file sync
  await file.sync(); // sync 0
  file.write(0, Uint8Array.of(1));
  t.is((await t.throwsAsync<NodeJS.ErrnoException>(file.sync()))?.code, 'EIO'); // sync 1
  await file.sync(); // sync 2 succeeds
});

test('fsyncgate: data a failed sync covered never becomes durable, yet reads still see it', async (t) => {
  const { vfs, file } = await durableFile(filled(4, 1), { errors: { failSyncAt: 1 } });
  file.write(0, Uint8Array.of(7, 7));
  await t.throwsAsync(file.sync());
  t.deepEqual(file.read(0, 4), Uint8Array.of(7, 7, 1, 1), 'the page cache still holds the lost write');
  file.write(3, Uint8Array.of(9));
  await file.sync();
  t.deepEqual(file.read(0, 4), Uint8Array.of(7, 7, 1, 9));
  for (const survival of ['none', 'all'] as const) {
    t.deepEqual(imageOf(t, vfs, plan({ survival })), Uint8Array.of(1, 1, 1, 9), `${survival}: only the later write is durable`);
  }
});

test('capacityBytes: growth past the capacity fails with ENOSPC and changes nothing', async (t) => {
  const vfs = new FaultyVfs({ errors: { capacityBytes: 100 } });
  const a = vfs.open('a', { create: true });
  const b = vfs.open('b', { create: true });
  a.write(0, filled(60, 1));
  b.write(0, filled(40, 2));
  t.is(thrownCode(t, () => b.write(40, Uint8Array.of(3))), 'ENOSPC');
  t.is(b.len(), 40);
  t.is(thrownCode(t, () => a.setLen(61)), 'ENOSPC');
  b.write(0, filled(40, 5)); // overwriting in place needs no space
  a.setLen(10);
  b.write(40, filled(50, 6)); // freed space can be used again
  t.is(a.len() + b.len(), 100);
  t.is(vfs.recentEvents().filter((event) => event.outcome === 'enospc').length, 2);
});

// ---- corruption ----

test('corruptImage flips exactly one bit per flip and leaves the input alone', (t) => {
  const image = new Map([['a', filled(64, 0x0f)], ['b', filled(8, 0)]]);
  for (const [offset, bit] of [[0, 0], [13, 7], [64 + 5, 3], [1_000_003, 12]] as const) {
    const out = corruptImage(image, [{ kind: 'flip', file: 'a', offset, bit }]);
    const a = out.get('a')!;
    const changed = [...a.keys()].filter((i) => a[i] !== 0x0f);
    t.deepEqual(changed, [offset % 64], 'the offset wraps around the file');
    const xor = a[offset % 64]! ^ 0x0f;
    t.is(xor, 1 << (bit & 7), 'exactly one bit differs');
    t.deepEqual(out.get('b'), filled(8, 0));
  }
  t.deepEqual(image.get('a'), filled(64, 0x0f), 'the input image is not changed');
  t.deepEqual(corruptImage(image, [{ kind: 'unreadable', file: 'a', offset: 0, lengthBytes: 512 }]), image, 'unreadable ranges are not flips');
  t.deepEqual(corruptImage(image, [{ kind: 'flip', file: 'missing', offset: 0, bit: 0 }]), image);
});

test('two flips of the same bit cancel out', (t) => {
  const image = new Map([['a', filled(16, 0x33)]]);
  const flip = { kind: 'flip', file: 'a', offset: 4, bit: 2 } as const;
  t.deepEqual(corruptImage(image, [flip, flip]), image);
});

test('unreadable ranges fail every overlapping read with EIO and no other', (t) => {
  const vfs = FaultyVfs.fromImage(new Map([['f', filled(4096, 1)], ['g', filled(4096, 1)]]), {
    unreadable: [{ kind: 'unreadable', file: 'f', offset: 1024, lengthBytes: 512 }],
  });
  const f = vfs.open('f', { create: false });
  const g = vfs.open('g', { create: false });
  for (const [offset, length] of [[1024, 1], [1535, 1], [1000, 100], [0, 4096]]) {
    t.is(thrownCode(t, () => f.read(offset!, length!)), 'EIO', `read ${offset}+${length}`);
  }
  t.deepEqual(f.read(0, 1024), filled(1024, 1));
  t.deepEqual(f.read(1536, 100), filled(100, 1));
  t.deepEqual(g.read(1024, 512), filled(512, 1), 'other files are readable');
});

test('an unreadable range wraps around its file as mounted, aligned to its length, so it always lands inside', (t) => {
  const vfs = FaultyVfs.fromImage(new Map([['f', filled(2048, 1)]]), {
    unreadable: [{ kind: 'unreadable', file: 'f', offset: 2048 * 5 + 1100, lengthBytes: 512 }],
  });
  const f = vfs.open('f', { create: false });
  t.is(thrownCode(t, () => f.read(1024, 1)), 'EIO', 'offset 1100 of the file, aligned down to 1024');
  t.deepEqual(f.read(0, 1024), filled(1024, 1));
  t.deepEqual(f.read(1536, 512), filled(512, 1));
});

// ---- trace hash and determinism ----

async function history(vfs: FaultyVfs, variant: number): Promise<void> {
  const file = vfs.open('f', { create: true });
  await vfs.syncDir();
  file.write(0, filled(100, 1));
  file.write(100 + (variant === 1 ? 1 : 0), filled(10, 2));
  if (variant === 2) file.setLen(200);
  await file.sync();
}

test('traceHash: equal for identical histories, different otherwise', async (t) => {
  const hashes: string[] = [];
  for (const variant of [0, 0, 1, 2]) {
    const vfs = new FaultyVfs();
    await history(vfs, variant);
    hashes.push(vfs.traceHash());
  }
  t.is(hashes[0], hashes[1]);
  t.not(hashes[0], hashes[2], 'a different offset');
  t.not(hashes[0], hashes[3], 'an extra event');
  t.not(hashes[2], hashes[3]);
  const failed = new FaultyVfs({ errors: { failSyncAt: 0 } });
  await history(failed, 0).catch(() => undefined);
  t.not(failed.traceHash(), hashes[0], 'an outcome is part of the trace');
  t.regex(hashes[0]!, /^[0-9a-f]{64}$/);
});

// KNOWN GAP (reported): the hash covers each event's op, file, offset, length and outcome but
// not the bytes written, although its doc promises runs "compared byte for byte". Two runs that
// differ only in the data they write (a nondeterministic salt, a timestamp) hash alike.
test('traceHash differs when only the written bytes differ', async (t) => {
  const one = new FaultyVfs();
  const two = new FaultyVfs();
  one.open('f', { create: true }).write(0, filled(4, 1));
  two.open('f', { create: true }).write(0, filled(4, 2));
  t.not(one.traceHash(), two.traceHash());
});

test('determinism: the same plan seed gives the same crash image, other seeds other images', async (t) => {
  const build = async (): Promise<FaultyVfs> => {
    const vfs = await tearSubject();
    const file = vfs.open('g', { create: true });
    for (let i = 0; i < 20; i++) file.write(i * 300, filled(700, i));
    return vfs;
  };
  const [a, b] = [await build(), await build()];
  const distinct = new Set<string>();
  for (const survival of ['prefix', 'subset', 'all'] as const) {
    for (const seed of SEEDS.slice(0, 16)) {
      const crashPlan = plan({ survival, tear: true, atomicSector: false, keepUnsyncedDirOps: true, seed });
      const imageA = a.crashImage(crashPlan);
      t.deepEqual(imageA, b.crashImage(crashPlan), `${survival} seed ${seed}`);
      distinct.add(Buffer.concat([...imageA.values()]).toString('base64'));
    }
  }
  t.true(distinct.size > 24, `distinct images: ${distinct.size} of 48`);
});
