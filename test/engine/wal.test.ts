// wal.ts: the redo log's record format, where a scan must stop (torn, zeroed, flipped, foreign records), sequence numbers across reopen and reset, and group commit.
import assert from 'node:assert/strict';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { VirtualClock, type Clock } from '../../engine/clock.js';
import { EngineError } from '../../engine/errors.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import type { RedoOp } from '../../engine/redo.js';
import type { Storage } from '../../engine/storage.js';
import { ForwardingStorage } from '../../fault/forwarding.js';
import {
  encodeRecord, readRecord, Wal, WAL_HEADER_BYTES, WAL_MIRROR_OFFSETS, WAL_SLOT_OFFSETS, type WalDurability, type WalRecord,
} from '../../engine/wal.js';
import { turns } from './cfFixtures.js';
import { keyOf, throwsCode, valueOf } from './engineFixtures.js';

const NAME = 'test.wal';

function walOptions(overrides: { clock?: Clock; groupCommitWindowMicros?: number; preallocateBytes?: number; databaseId?: number } = {}) {
  return { clock: new VirtualClock(), groupCommitWindowMicros: 0, preallocateBytes: 0, databaseId: 1, ...overrides };
}

function noIoError(error: EngineError): void {
  throw new Error(`unexpected onIoError: ${error.message}`);
}

/** Opens `NAME` in `vfs` as a log. */
async function openWal(vfs: MemoryVfs, options = walOptions(), onIoError = noIoError): Promise<{ wal: Wal; records: WalRecord[]; storage: Storage }> {
  const storage = vfs.open(NAME, { create: true });
  const { wal, records } = await Wal.open(storage, options, onIoError);
  return { wal, records, storage };
}

/** A small, recognisable redo for record number `index`. */
function opsFor(index: number, valueBytes = 40): RedoOp[] {
  const value = valueOf(index, valueBytes);
  if (value.length > 0) value[value.length - 1] = 0xff; // a non-zero last byte: zeroing any suffix changes the record
  return [{ op: 'insert', table: 't', key: keyOf(index), value }];
}

/** Appends `count` records and makes them durable; returns each record's [start, end) offset. */
async function appendDurably(wal: Wal, count: number, first = 1, valueBytes = 40): Promise<Array<[number, number]>> {
  const extents: Array<[number, number]> = [];
  for (let i = 0; i < count; i++) {
    const before = wal.stats().liveBytes;
    const seq = wal.append(1, 'immediate', opsFor(first + i, valueBytes));
    await wal.waitDurable(seq);
    extents.push([before, wal.stats().liveBytes]);
  }
  return extents;
}

/** The log's file bytes, as a process crash would leave them. */
function fileOf(vfs: MemoryVfs): Uint8Array {
  const bytes = vfs.snapshot().get(NAME);
  if (bytes === undefined) throw new Error('no log file');
  return bytes;
}

async function reopenFrom(bytes: Uint8Array, options = walOptions()): Promise<{ wal: Wal; records: WalRecord[]; vfs: MemoryVfs }> {
  const vfs = MemoryVfs.fromSnapshot(new Map([[NAME, bytes]]));
  const opened = await openWal(vfs, options);
  return { ...opened, vfs };
}

function seqs(records: readonly WalRecord[]): number[] {
  return records.map((record) => record.seq);
}

// ---- record format ----

/** A big array, cheap to make: a fill with a few distinct bytes at the ends. */
function bigBytes(lengthBytes: number): Uint8Array {
  const bytes = new Uint8Array(lengthBytes).fill(lengthBytes & 0xff);
  bytes.set(valueOf(lengthBytes, 64), 0);
  bytes.set(valueOf(lengthBytes + 1, 64), lengthBytes - 64);
  return bytes;
}

const tableNameArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme-ascii' }),
  fc.string({ minLength: 1, maxLength: 6, unit: 'grapheme' }),
);
const bytesArb = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: fc.integer({ min: 4096, max: 200_000 }).map((n) => bigBytes(n)) },
);
const redoOpArb: fc.Arbitrary<RedoOp> = fc.oneof(
  fc.record({ op: fc.constant('create' as const), table: tableNameArb }),
  fc.record({ op: fc.constant('delete' as const), table: tableNameArb }),
  fc.record({ op: fc.constant('clear' as const), table: tableNameArb }),
  fc.record({ op: fc.constant('insert' as const), table: tableNameArb, key: bytesArb, value: bytesArb }),
  fc.record({ op: fc.constant('remove' as const), table: tableNameArb, key: bytesArb }),
);
const recordArb: fc.Arbitrary<WalRecord> = fc.record({
  seq: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  familyId: fc.nat({ max: 0xffff_ffff }),
  prevSeq: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  durableSeq: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  durability: fc.constantFrom<WalDurability>('immediate', 'none'),
  ops: fc.array(redoOpArb, { maxLength: 8 }),
});

test('encodeRecord then readRecord gives the record back, at any offset, with trailing bytes after it', (t) => {
  fc.assert(fc.property(recordArb, fc.nat({ max: 0xffff_ffff }), fc.nat({ max: 1000 }), fc.uint8Array({ maxLength: 64 }),
    (record, salt, gap, trailing) => {
      const bytes = encodeRecord(record, salt);
      const storage = new MemoryVfs().open(NAME, { create: true });
      const offset = WAL_HEADER_BYTES + gap;
      storage.write(offset, bytes);
      storage.write(offset + bytes.length, trailing);
      const found = readRecord(storage, offset, salt, record.seq);
      // node's assert: fast on big typed arrays, and it throws, so fast-check shrinks a failure.
      // (fast-check makes records without a prototype; spreading gives both sides plain objects.)
      const plain = (r: WalRecord): WalRecord => ({ ...r, ops: r.ops.map((op) => ({ ...op })) });
      assert.ok(found !== null, 'the record is read');
      assert.deepStrictEqual({ record: plain(found.record), sizeBytes: found.sizeBytes }, { record: plain(record), sizeBytes: bytes.length });
      // The same bytes read as anything else (another salt, the wrong sequence) are the end of the log.
      assert.equal(readRecord(storage, offset, (salt + 1) >>> 0, record.seq), null);
      assert.equal(readRecord(storage, offset, salt, record.seq + 1), null);
      if (record.seq > 1) assert.equal(readRecord(storage, offset, salt, record.seq - 1), null);
    }), { numRuns: 300 });
  t.pass();
});

test('readRecord returns null for every proper prefix of a record (a torn append), never throws', (t) => {
  const record: WalRecord = { seq: 7, familyId: 3, prevSeq: 5, durableSeq: 4, durability: 'none', ops: [...opsFor(1, 300), { op: 'clear', table: 'ü' }] };
  const bytes = encodeRecord(record, 42);
  for (let cut = 0; cut < bytes.length; cut++) {
    const storage = new MemoryVfs().open(NAME, { create: true });
    storage.write(WAL_HEADER_BYTES, bytes.subarray(0, cut));
    t.is(readRecord(storage, WAL_HEADER_BYTES, 42, 7), null, `cut at ${cut}`);
    // Zeros after the prefix (a pre-allocated or torn sector) are no better than the end of the file.
    storage.setLen(WAL_HEADER_BYTES + bytes.length + 4096);
    t.is(readRecord(storage, WAL_HEADER_BYTES, 42, 7), null, `cut at ${cut}, zeros after`);
  }
});

// ---- what stops a scan ----

test('a log truncated at every byte offset inside its last record reopens with the records before it', async (t) => {
  const vfs = new MemoryVfs();
  const { wal } = await openWal(vfs);
  const extents = await appendDurably(wal, 4, 1, 500);
  const full = fileOf(vfs);
  const [start, end] = extents[3]!.map((at) => at + WAL_HEADER_BYTES) as [number, number];
  t.is(end, full.length, 'the last record ends the file');
  for (let cut = start; cut < end; cut++) {
    const { wal: reopened, records, vfs: copy } = await reopenFrom(full.slice(0, cut));
    t.deepEqual(seqs(records), [1, 2, 3], `cut at ${cut}`);
    t.deepEqual(records[2]!.ops, opsFor(3, 500));
    // Appends continue right where the intact log ends, and survive another reopen.
    const seq = reopened.append(1, 'immediate', opsFor(99));
    t.is(seq, 4, 'the torn record was never durable, so its number is the next one');
    await reopened.waitDurable(seq);
    await reopened.close();
    const again = await openWal(copy);
    t.deepEqual(seqs(again.records), [1, 2, 3, 4]);
    t.deepEqual(again.records[3]!.ops, opsFor(99));
  }
});

test('zeros over the tail of the last record (a torn sector) stop the scan there', async (t) => {
  const vfs = new MemoryVfs();
  const { wal } = await openWal(vfs);
  const extents = await appendDurably(wal, 3, 1, 200);
  const full = fileOf(vfs);
  const [start, end] = extents[2]!.map((at) => at + WAL_HEADER_BYTES) as [number, number];
  for (let cut = start; cut < end; cut++) {
    const damaged = full.slice();
    damaged.fill(0, cut, end);
    const { records } = await reopenFrom(damaged);
    t.deepEqual(seqs(records), [1, 2], `zeros from ${cut}`);
  }
});

test('pre-allocated zero space is never read as a record, before or after appends', async (t) => {
  const vfs = new MemoryVfs();
  const options = walOptions({ preallocateBytes: 64 * 1024 });
  const { wal, records } = await openWal(vfs, options);
  t.deepEqual(records, []);
  t.is(fileOf(vfs).length, 64 * 1024, 'the new log is pre-allocated');
  // A crash right after creation: a header and zeros.
  t.deepEqual((await reopenFrom(fileOf(vfs), options)).records, []);
  await appendDurably(wal, 3);
  const image = fileOf(vfs);
  t.is(image.length, 64 * 1024, 'appends inside the pre-allocated space do not grow the file');
  const reopened = await reopenFrom(image, options);
  t.deepEqual(seqs(reopened.records), [1, 2, 3]);
  t.is(reopened.wal.stats().nextSeq, 4);
  // Zeros appended past the end by a crash that kept an extension but not the data.
  const extended = new Uint8Array(image.length + 8192);
  extended.set(image);
  t.deepEqual(seqs((await reopenFrom(extended, options)).records), [1, 2, 3]);
});

test('a file of zeros is a log that was never created; a non-zero header that fails its checksum is CORRUPTION', async (t) => {
  const zeros = await reopenFrom(new Uint8Array(3 * 4096));
  t.deepEqual(zeros.records, []);
  await appendDurably(zeros.wal, 2);
  t.deepEqual(seqs((await reopenFrom(fileOf(zeros.vfs))).records), [1, 2]);

  const damaged = fileOf(zeros.vfs);
  damaged[WAL_SLOT_OFFSETS[0] + 20]! ^= 0x01; // the only valid slot (a new log wrote slot 0)...
  t.deepEqual(seqs((await reopenFrom(damaged.slice())).records), [1, 2], 'its mirror holds the same header');
  damaged[WAL_MIRROR_OFFSETS[0] + 20]! ^= 0x01; // ...and its mirror
  const error = await t.throwsAsync(() => reopenFrom(damaged), { instanceOf: EngineError });
  t.is(error?.code, 'CORRUPTION');
});

test('a bit flip anywhere in a synced record is a gap the later records vouch for; in the last record it ends the log', async (t) => {
  const vfs = new MemoryVfs();
  const { wal } = await openWal(vfs);
  const extents = await appendDurably(wal, 5, 1, 60);
  const full = fileOf(vfs);
  const [start, end] = extents[2]!.map((at) => at + WAL_HEADER_BYTES) as [number, number];
  for (let at = start; at < end; at++) {
    const damaged = full.slice();
    damaged[at]! ^= 1 << (at % 8);
    const { records, wal: reopened } = await reopenFrom(damaged);
    // Record 4 was written after record 3 was synced: its watermark says so, whatever byte of 3 flipped.
    t.deepEqual(seqs(records), [1, 2, 4, 5], `flip at byte ${at - start} of record 3`);
    t.deepEqual(reopened.gaps.map((gap) => [gap.firstSeq, gap.lastSeq, gap.offset]), [[3, 3, start]]);
    t.is(reopened.stats().nextSeq, 6);
  }
  const [lastStart, lastEnd] = extents[4]!.map((at) => at + WAL_HEADER_BYTES) as [number, number];
  for (let at = lastStart; at < lastEnd; at += 7) {
    const damaged = full.slice();
    damaged[at]! ^= 1 << (at % 8);
    const { records, wal: reopened } = await reopenFrom(damaged);
    t.deepEqual(seqs(records), [1, 2, 3, 4], `flip at byte ${at - lastStart} of the last record: no later record vouches for it (the declared limit)`);
    t.deepEqual(reopened.gaps, []);
  }
});

test('records written before an earlier one was synced never vouch for it: a lost unsynced record with survivors after it is a torn tail', async (t) => {
  const vfs = new MemoryVfs();
  const { wal } = await openWal(vfs);
  await appendDurably(wal, 2);
  // Three records in one group: none was synced when the next was written.
  const offsets = [fileOf(vfs).length];
  for (let i = 0; i < 3; i++) wal.append(1, 'immediate', opsFor(10 + i));
  const image = fileOf(vfs);
  image.fill(0, offsets[0], offsets[0]! + 20); // the first of the group lost (the subset plan)
  const { records, wal: reopened } = await reopenFrom(image);
  t.deepEqual(seqs(records), [1, 2]);
  t.deepEqual(reopened.gaps, [], 'the survivors carry watermark 2: the lost record 3 was never known synced');
});

test('a record with another salt, a skipped or a repeated sequence number ends the log', async (t) => {
  const vfs = new MemoryVfs();
  const { wal } = await openWal(vfs);
  const extents = await appendDurably(wal, 3);
  const full = fileOf(vfs);
  const salt = new DataView(full.buffer).getUint32(WAL_SLOT_OFFSETS[0] + 12, true);
  const tail = WAL_HEADER_BYTES + extents[2]![1];
  const cases: Array<[string, Uint8Array]> = [
    ['another salt', encodeRecord({ seq: 4, familyId: 1, prevSeq: 0, durableSeq: 0, durability: 'immediate', ops: opsFor(4) }, (salt + 1) >>> 0)],
    ['a skipped sequence', encodeRecord({ seq: 5, familyId: 1, prevSeq: 0, durableSeq: 0, durability: 'immediate', ops: opsFor(4) }, salt)],
    ['a repeated sequence', encodeRecord({ seq: 3, familyId: 1, prevSeq: 0, durableSeq: 0, durability: 'immediate', ops: opsFor(4) }, salt)],
  ];
  for (const [what, foreign] of cases) {
    const image = new Uint8Array(tail + foreign.length + 200);
    image.set(full);
    image.set(foreign, tail);
    // A valid record 4 right after the foreign one must not be reached either.
    image.set(encodeRecord({ seq: 4, familyId: 1, prevSeq: 0, durableSeq: 0, durability: 'immediate', ops: [] }, salt), tail + foreign.length);
    t.deepEqual(seqs((await reopenFrom(image)).records), [1, 2, 3], what);
  }
  // The control: the right salt and number is read.
  const good = new Uint8Array(tail + 200);
  good.set(full);
  good.set(encodeRecord({ seq: 4, familyId: 1, prevSeq: 0, durableSeq: 0, durability: 'none', ops: opsFor(4) }, salt), tail);
  t.deepEqual(seqs((await reopenFrom(good)).records), [1, 2, 3, 4]);
});

// ---- sequence numbers across reopen, truncation and reset ----

type LogCommand =
  | { readonly kind: 'append'; readonly count: number; readonly durability: WalDurability; readonly valueBytes: number }
  | { readonly kind: 'sync' }
  | { readonly kind: 'truncate'; readonly drop: number }
  | { readonly kind: 'reopen' }
  | { readonly kind: 'crash' };

const logCommandArb: fc.Arbitrary<LogCommand> = fc.oneof(
  { weight: 5, arbitrary: fc.record({
    kind: fc.constant('append' as const), count: fc.integer({ min: 1, max: 4 }),
    durability: fc.constantFrom<WalDurability>('immediate', 'none'), valueBytes: fc.constantFrom(0, 10, 300),
  }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'sync' as const }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('truncate' as const), drop: fc.integer({ min: 0, max: 12 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'crash' as const }) },
);

test('sequence numbers strictly increase across appends, truncation, reset, reopen and crash; the live records come back exactly', async (t) => {
  await fc.assert(fc.asyncProperty(fc.array(logCommandArb, { minLength: 1, maxLength: 30 }), fc.boolean(), async (commands, preallocate) => {
    const options = walOptions({ preallocateBytes: preallocate ? 16 * 1024 : 0 });
    let vfs = new MemoryVfs();
    let { wal } = await openWal(vfs, options);
    let live: WalRecord[] = [];
    let lastSeq = 0;
    let family = 0;
    // Each family's last sequence, as the log knows it: across truncation in one process, and
    // from the records read back after a reopen (recovery would tell it the rest).
    let lastOfFamily = new Map<number, number>();
    const reopenCheck = (records: WalRecord[], label: string): void => {
      t.deepEqual(records, live, label);
      lastOfFamily = new Map(records.map((record) => [record.familyId, record.seq]));
      t.is(wal.stats().liveRecords, live.length, label);
    };
    for (const command of commands) {
      switch (command.kind) {
        case 'append':
          for (let i = 0; i < command.count; i++) {
            const ops = opsFor(lastSeq + 1, command.valueBytes);
            const durableSeq = wal.stats().syncedSeq;
            const seq = wal.append(++family % 3, command.durability, ops);
            t.true(seq > lastSeq, `seq ${seq} after ${lastSeq}`);
            lastSeq = seq;
            live.push({ seq, familyId: family % 3, prevSeq: lastOfFamily.get(family % 3) ?? 0, durableSeq, durability: command.durability, ops });
            lastOfFamily.set(family % 3, seq);
          }
          break;
        case 'sync':
          if (lastSeq > wal.stats().syncedSeq) await wal.waitDurable(lastSeq);
          break;
        case 'truncate': {
          const cover = live[Math.min(command.drop, live.length) - 1]?.seq ?? 0;
          const dropped = await wal.truncate((record) => record.seq <= cover);
          t.is(dropped, live.filter((record) => record.seq <= cover).length);
          live = live.filter((record) => record.seq > cover);
          break;
        }
        case 'reopen': {
          if (lastSeq > wal.stats().syncedSeq) await wal.waitDurable(lastSeq);
          await wal.close();
          const opened = await openWal(vfs, options);
          wal = opened.wal;
          reopenCheck(opened.records, 'after reopen');
          break;
        }
        case 'crash': {
          // The page cache survived: every record written is there, synced or not.
          vfs = MemoryVfs.fromSnapshot(vfs.snapshot());
          const opened = await openWal(vfs, options);
          wal = opened.wal;
          reopenCheck(opened.records, 'after crash');
          break;
        }
      }
      t.is(wal.lastSeq(), lastSeq, 'the log knows the last number it handed out');
    }
  }), { numRuns: 150 });
});

test('truncate drops only the covered head, never a record appended during it; a reset changes the salt', async (t) => {
  const vfs = new MemoryVfs();
  const { wal } = await openWal(vfs);
  await appendDurably(wal, 4);
  // Covered: 1, 2 and 4 but not 3: only the head (1, 2) may go.
  t.is(await wal.truncate((record) => record.seq !== 3), 2);
  t.is(wal.stats().liveRecords, 2);
  t.deepEqual(seqs((await reopenFrom(fileOf(vfs))).records), [3, 4]);

  const saltOf = (image: Uint8Array, slot: number): number => new DataView(image.buffer).getUint32(WAL_SLOT_OFFSETS[slot]! + 12, true);
  const before = fileOf(vfs);
  const saltBefore = Math.max(saltOf(before, 0), saltOf(before, 1));
  // Everything covered: a reset. A record appended while the header sync is in flight is kept.
  const truncating = wal.truncate(() => true);
  const during = wal.append(2, 'immediate', opsFor(5));
  t.is(during, 5);
  t.is(await truncating, 2);
  await wal.waitDurable(during);
  t.is(wal.stats().liveRecords, 1);
  const after = fileOf(vfs);
  t.is(Math.max(saltOf(after, 0), saltOf(after, 1)), saltBefore + 1);
  const reopened = await reopenFrom(after);
  t.deepEqual(seqs(reopened.records), [5], 'the reset starts at the front; the old records are not read');
  t.is(reopened.wal.append(1, 'none', []), 6);
});

// ---- group commit ----

/**
 * A storage that notes, for each sync, the highest record sequence completely written before
 * the sync began, and when it completed, on one event counter shared with the test.
 */
class ObservedStorage extends ForwardingStorage {
  lastWrittenSeq = 0;
  events = 0;
  readonly syncs: Array<{ coveredSeq: number; beganMicros: number; endedAt: number | null }> = [];
  failSyncs = false;
  /** Event-loop turns each sync takes, so commits arrive while it runs. */
  syncTurns = 1;
  schedule: ((label: string) => Promise<void>) | null = null;

  constructor(inner: Storage, private readonly clock: Clock | null = null) {
    super(inner);
  }

  override write(offset: number, data: Uint8Array): void {
    this.inner.write(offset, data);
    if (offset >= WAL_HEADER_BYTES && data.length >= 16) {
      const seq = Number(new DataView(data.buffer, data.byteOffset, data.byteLength).getBigUint64(8, true));
      this.lastWrittenSeq = Math.max(this.lastWrittenSeq, seq);
    }
  }

  override async sync(): Promise<void> {
    const entry = { coveredSeq: this.lastWrittenSeq, beganMicros: this.clock?.nowMicros() ?? 0, endedAt: null as number | null };
    this.syncs.push(entry);
    if (this.schedule !== null) await this.schedule(`sync covering ${entry.coveredSeq}`);
    else await turns(this.syncTurns);
    if (this.failSyncs) throw new Error('EIO (injected) in fsync');
    await this.inner.sync();
    entry.endedAt = ++this.events;
  }
}

/** Every acknowledged seq is covered by a sync that began after it was written and ended before the ack. */
function assertCovered(t: ExecutionContext, storage: ObservedStorage, acks: ReadonlyArray<{ seq: number; at: number }>): void {
  for (const ack of acks) {
    const covering = storage.syncs.some((sync) => sync.endedAt !== null && sync.endedAt <= ack.at && sync.coveredSeq >= ack.seq);
    t.true(covering, `seq ${ack.seq} acknowledged at event ${ack.at} without a covering sync`);
  }
}

async function observedWal(options = walOptions(), onIoError = noIoError): Promise<{ wal: Wal; storage: ObservedStorage }> {
  const storage = new ObservedStorage(new MemoryVfs().open(NAME, { create: true }), options.clock);
  const { wal } = await Wal.open(storage, options, onIoError);
  return { wal, storage };
}

test('200 concurrent committers: all acknowledged, each by a sync that began after its record, with far fewer syncs', async (t) => {
  const { wal, storage } = await observedWal();
  const syncsBefore = storage.syncs.length;
  const acks: Array<{ seq: number; at: number }> = [];
  const committers = Array.from({ length: 200 }, async (_, i) => {
    await turns(i % 7); // arrivals spread over several sync rounds
    const seq = wal.append(i % 8, 'immediate', opsFor(i));
    await wal.waitDurable(seq);
    acks.push({ seq, at: ++storage.events });
    return seq;
  });
  const settled = await Promise.allSettled(committers);
  t.true(settled.every((result) => result.status === 'fulfilled'), 'every commit settles and succeeds');
  t.is(acks.length, 200);
  t.deepEqual(acks.map((ack) => ack.seq).sort((a, b) => a - b), Array.from({ length: 200 }, (_, i) => i + 1));
  assertCovered(t, storage, acks);
  const syncs = storage.syncs.length - syncsBefore;
  t.true(syncs > 1 && syncs < 200, `${syncs} syncs for 200 commits`);
  t.is(wal.stats().syncedSeq, 200);
  t.log(`${syncs} syncs for 200 concurrent commits`);
});

test('group commit under any interleaving of appends and sync completions (fast-check scheduler)', async (t) => {
  await fc.assert(fc.asyncProperty(fc.scheduler(), fc.array(fc.constantFrom<WalDurability>('immediate', 'none'), { minLength: 1, maxLength: 25 }),
    async (s, durabilities) => {
      const { wal, storage } = await observedWal();
      storage.schedule = (label) => s.schedule(Promise.resolve(label)).then(() => undefined);
      const acks: Array<{ seq: number; at: number }> = [];
      const committers = durabilities.map((durability, i) => s.schedule(Promise.resolve(`commit ${i}`)).then(async () => {
        const seq = wal.append(1, durability, opsFor(i));
        if (durability === 'immediate') {
          await wal.waitDurable(seq);
          acks.push({ seq, at: ++storage.events });
        }
      }));
      await s.waitFor(Promise.all(committers));
      t.is(acks.length, durabilities.filter((d) => d === 'immediate').length);
      assertCovered(t, storage, acks);
    }), { numRuns: 100 });
});

test('a failed fsync rejects every waiter with IO; later appends and waits throw PREVIOUS_IO', async (t) => {
  const errors: EngineError[] = [];
  const { wal, storage } = await observedWal(walOptions(), (error) => { errors.push(error); });
  storage.failSyncs = true;
  storage.syncTurns = 2;
  const seqsWaiting = Array.from({ length: 5 }, (_, i) => wal.append(1, 'immediate', opsFor(i)));
  const waits = seqsWaiting.map((seq) => wal.waitDurable(seq));
  // A follower that arrives while the failing sync runs is failed with it, not left hanging.
  await turns(1);
  const late = wal.append(1, 'immediate', opsFor(9));
  waits.push(wal.waitDurable(late));
  const results = await Promise.allSettled(waits);
  for (const result of results) {
    t.is(result.status, 'rejected');
    if (result.status === 'rejected') {
      t.true(result.reason instanceof EngineError);
      t.is((result.reason as EngineError).code, 'IO');
    }
  }
  t.is(errors.length, 1, 'the database is told once');
  t.is(errors[0]?.code, 'IO');
  throwsCode(t, () => wal.append(1, 'immediate', opsFor(10)), 'PREVIOUS_IO');
  throwsCode(t, () => wal.waitDurable(1), 'PREVIOUS_IO');
  await t.throwsAsync(() => wal.truncate(() => true), { instanceOf: EngineError, message: /PREVIOUS_IO/ });
  // Even if the storage recovers, the log never reports success for data a failed sync covered.
  storage.failSyncs = false;
  throwsCode(t, () => wal.waitDurable(late), 'PREVIOUS_IO');
  t.is(wal.stats().syncedSeq, 0);
});

test('the group-commit window sleeps on the injected clock before each sync round', async (t) => {
  const clock = new VirtualClock(1000);
  const { wal, storage } = await observedWal(walOptions({ clock, groupCommitWindowMicros: 250 }));
  t.is(clock.nowMicros(), 1000, 'opening the log waits for no window');
  const first = wal.append(1, 'immediate', opsFor(1));
  const second = wal.append(1, 'immediate', opsFor(2));
  await Promise.all([wal.waitDurable(first), wal.waitDurable(second)]);
  t.is(clock.nowMicros(), 1250, 'one round for both commits, one window');
  t.is(storage.syncs.at(-1)?.beganMicros, 1250, 'the sync began after the window');
  await wal.waitDurable(wal.append(1, 'immediate', opsFor(3)));
  t.is(clock.nowMicros(), 1500);

  const still = new VirtualClock(0);
  const { wal: noWindow } = await observedWal(walOptions({ clock: still, groupCommitWindowMicros: 0 }));
  await noWindow.waitDurable(noWindow.append(1, 'immediate', opsFor(1)));
  t.is(still.nowMicros(), 0, 'no window, no time spent');
});

test('a commit already covered by a finished sync resolves at once; none records are acknowledged by a later sync', async (t) => {
  const { wal, storage } = await observedWal();
  const none = wal.append(1, 'none', opsFor(1));
  const immediate = wal.append(2, 'immediate', opsFor(2));
  const syncsBefore = storage.syncs.length;
  await wal.waitDurable(immediate);
  t.is(storage.syncs.length, syncsBefore + 1);
  await wal.waitDurable(none);
  await wal.waitDurable(immediate);
  t.is(storage.syncs.length, syncsBefore + 1, 'no further sync for records already durable');
  // A sequence this log never wrote (a family header covered it before the log was lost)
  // needs nothing from this log: it resolves without a sync.
  await wal.waitDurable(immediate + 1);
  t.is(storage.syncs.length, syncsBefore + 1);
});
