// recover: 'salvage' (issue 12): what a strict open refuses (another database's log, a break in a family's chain) is dropped instead, reported by recoveryReport(), and made final by the salvage's checkpoint.
import test from 'ava';
import { ColumnFamilyDatabase, DEFAULT_CF_FILE_NAME, type ColumnFamilyOptions } from '../../engine/columnFamilyDatabase.js';
import { SLOT_BYTES, SLOT_MIRROR_OFFSETS, SLOT_OFFSETS, decodeSlot } from '../../engine/format.js';
import { decodeMaster, MASTER_COPY_BYTES, MASTER_OFFSETS } from '../../engine/masterHeader.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import { Prng } from '../../fault/prng.js';
import { putKeys } from './cfFixtures.js';
import { rejectsCode } from './engineFixtures.js';

const OPTIONS: ColumnFamilyOptions = { pageBytes: 512, initialSegmentBytes: 16 * 512 };
const LOG = `${DEFAULT_CF_FILE_NAME}.wal`;

function seeded(seed: number): () => number {
  const prng = new Prng(seed);
  return () => prng.nextU32() / 2 ** 32;
}

async function commits(db: ColumnFamilyDatabase, from: number, count: number): Promise<void> {
  await putKeys(await db.columnFamily('a'), from, count, 40, 1);
}

async function keysOf(db: ColumnFamilyDatabase): Promise<number> {
  const read = (await db.columnFamily('a')).beginRead();
  const count = [...read.openTable('t').range()].length;
  read.close();
  return count;
}

/** Commits 0..4 and 5..9 each checkpointed, 10..14 in the log only; then the family's newest commit slot and its mirror flipped: it falls back to the state after 5. */
async function brokenChainImage(): Promise<Map<string, Uint8Array>> {
  const vfs = new MemoryVfs();
  const db = await ColumnFamilyDatabase.open(vfs, OPTIONS);
  await commits(db, 0, 5);
  await db.checkpoint();
  await commits(db, 5, 5);
  await db.checkpoint();
  await commits(db, 10, 5);
  const image = vfs.snapshot();
  await db.close();
  const data = image.get(DEFAULT_CF_FILE_NAME)!;
  const masters = MASTER_OFFSETS.map((at) => decodeMaster(data.subarray(at, at + MASTER_COPY_BYTES))!);
  const master = masters[0]!.generation > masters[1]!.generation ? masters[0]! : masters[1]!;
  const page0 = master.families[0]!.segments[0]!.offset;
  const slots = SLOT_OFFSETS.map((at) => decodeSlot(data.subarray(page0 + at, page0 + at + SLOT_BYTES)));
  const newest = slots[0]!.txnId > slots[1]!.txnId ? 0 : 1;
  // The slot and its mirror: one damaged copy alone is read past.
  data[page0 + SLOT_OFFSETS[newest] + 8]! ^= 0x01;
  data[page0 + SLOT_MIRROR_OFFSETS[newest] + 8]! ^= 0x01;
  return image;
}

test('a break in a family\'s chain: strict is CORRUPTION; salvage opens the family at its older header, reports the records dropped, and a later strict open agrees', async (t) => {
  const image = await brokenChainImage();
  await rejectsCode(t, () => ColumnFamilyDatabase.open(MemoryVfs.fromSnapshot(image), OPTIONS), 'CORRUPTION');
  const vfs = MemoryVfs.fromSnapshot(image);
  const salvaged = await ColumnFamilyDatabase.open(vfs, { ...OPTIONS, recover: 'salvage' });
  t.is(await keysOf(salvaged), 5, 'the family as its older header holds it');
  const report = salvaged.recoveryReport();
  t.is(report.mode, 'salvage');
  t.is(report.lost.length, 1);
  t.like(report.lost[0], { kind: 'broken-chain', family: 'a', records: 5 });
  t.true(report.lost[0]!.firstSeq < report.lost[0]!.lastSeq);
  t.regex(report.lost[0]!.detail, /family a: log record \d+ follows record \d+/);
  await salvaged.close();
  const strict = await ColumnFamilyDatabase.open(vfs, OPTIONS);
  t.is(await keysOf(strict), 5);
  t.deepEqual(strict.recoveryReport(), { mode: 'strict', lost: [] });
  await commits(strict, 100, 1);
  t.is(await keysOf(strict), 6);
  await strict.close();
});

test('another database\'s log: salvage drops its records and reports them; read-only salvage writes nothing; an unknown recover mode is a TypeError', async (t) => {
  const mine = new MemoryVfs();
  const db = await ColumnFamilyDatabase.open(mine, { ...OPTIONS, random: seeded(1) });
  await commits(db, 0, 3);
  await db.checkpoint();
  await db.close();
  const other = new MemoryVfs();
  const theirs = await ColumnFamilyDatabase.open(other, { ...OPTIONS, random: seeded(2) });
  await commits(theirs, 50, 4);
  const image = mine.snapshot();
  image.set(LOG, other.snapshot().get(LOG)!);
  await theirs.close();
  await rejectsCode(t, () => ColumnFamilyDatabase.open(MemoryVfs.fromSnapshot(image), OPTIONS), 'CORRUPTION');
  const readOnlyVfs = MemoryVfs.fromSnapshot(image);
  const peek = await ColumnFamilyDatabase.open(readOnlyVfs, { ...OPTIONS, recover: 'salvage', readOnly: true });
  t.like(peek.recoveryReport().lost[0], { kind: 'foreign-log', family: null, records: 4 });
  t.is(await keysOf(peek), 3);
  await peek.close();
  t.deepEqual(readOnlyVfs.snapshot(), image, 'a read-only salvage writes nothing');
  const vfs = MemoryVfs.fromSnapshot(image);
  const salvaged = await ColumnFamilyDatabase.open(vfs, { ...OPTIONS, recover: 'salvage' });
  t.is(await keysOf(salvaged), 3);
  await salvaged.close();
  const strict = await ColumnFamilyDatabase.open(vfs, OPTIONS);
  t.is(await keysOf(strict), 3, 'the salvage made the log this database\'s');
  await strict.close();
  await t.throwsAsync(ColumnFamilyDatabase.open(new MemoryVfs(), { recover: 'lenient' as 'strict' }), { instanceOf: TypeError, message: /recover must be 'strict' or 'salvage'/ });
});
