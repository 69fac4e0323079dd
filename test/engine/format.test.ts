// format.ts and header.ts: the static header and the two commit slots, byte by byte, and which slot recovery picks.
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { checksum } from '../../engine/checksum.js';
import {
  decodeSlot, decodeStaticHeader, encodeSlot, encodeStaticHeader, FORMAT_VERSION, MAGIC, MAX_PAGE_COUNT, SLOT_BYTES,
  SLOT_MIRROR_OFFSETS, SLOT_OFFSETS, STATIC_HEADER_BYTES, type CommitSlot,
} from '../../engine/format.js';
import { initializeFile, readFileHeader } from '../../engine/header.js';
import { MemoryVfs, type MemoryStorage } from '../../engine/memoryVfs.js';
import { throwsCode } from './engineFixtures.js';

const VALID_PAGE_SIZES_BYTES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

const slotArb: fc.Arbitrary<CommitSlot> = fc.integer({ min: 1, max: MAX_PAGE_COUNT }).chain((pageCount) => fc.record({
  txnId: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  catalogPage: fc.integer({ min: 0, max: pageCount - 1 }),
  catalogCrc: fc.integer({ min: 0, max: 0xffffffff }),
  pageCount: fc.constant(pageCount),
  walSeq: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER })),
  freeList: fc.option(fc.record({
    page: fc.integer({ min: 1, max: Math.max(1, pageCount - 1) }),
    crc: fc.integer({ min: 0, max: 0xffffffff }),
    count: fc.integer({ min: 0, max: pageCount - 1 }),
  }), { nil: null }),
})).map(({ freeList, ...rest }) => (freeList === null || rest.pageCount === 1
  ? { ...rest, freeListPage: 0, freeListCrc: 0, freeCount: 0 }
  : { ...rest, freeListPage: freeList.page, freeListCrc: freeList.crc, freeCount: freeList.count }));

const NO_FREE_LIST = { freeListPage: 0, freeListCrc: 0, freeCount: 0 } as const;

/** A slot's bytes with a field rewritten and the checksum made valid again: the decoder's own checks must catch it. */
function resealed(slot: CommitSlot, edit: (view: DataView) => void): Uint8Array {
  const bytes = encodeSlot(slot);
  const view = new DataView(bytes.buffer);
  edit(view);
  view.setUint32(SLOT_BYTES - 4, checksum(bytes.subarray(0, SLOT_BYTES - 4)), true);
  return bytes;
}

test('static header round trips for every valid page size, byte by byte', (t) => {
  for (const pageBytes of VALID_PAGE_SIZES_BYTES) {
    const bytes = encodeStaticHeader(pageBytes);
    t.is(bytes.length, STATIC_HEADER_BYTES);
    t.deepEqual([...bytes.subarray(0, 8)], [...MAGIC]);
    const view = new DataView(bytes.buffer);
    t.is(view.getUint32(8, true), FORMAT_VERSION);
    t.is(view.getUint32(12, true), pageBytes);
    t.is(view.getUint32(16, true), checksum(bytes.subarray(0, 16)));
    t.is(decodeStaticHeader(bytes), pageBytes);
  }
  t.is(new TextDecoder().decode(MAGIC), 'crashlb\0');
});

test('static header: bad magic is INVALID_FORMAT, a damaged header of ours is CORRUPTION', (t) => {
  for (let offset = 0; offset < 8; offset++) {
    const bytes = encodeStaticHeader(4096);
    bytes[offset]! ^= 0x01;
    throwsCode(t, () => decodeStaticHeader(bytes), 'INVALID_FORMAT');
  }
  for (let offset = 8; offset < STATIC_HEADER_BYTES; offset++) {
    for (const mask of [0x01, 0x80, 0xff]) {
      const bytes = encodeStaticHeader(4096);
      bytes[offset]! ^= mask;
      throwsCode(t, () => decodeStaticHeader(bytes), 'CORRUPTION');
    }
  }
});

test('static header: an unknown version is INVALID_FORMAT, a bad page size is CORRUPTION, even with a valid checksum', (t) => {
  const reseal = (edit: (view: DataView) => void): Uint8Array => {
    const bytes = encodeStaticHeader(4096);
    const view = new DataView(bytes.buffer);
    edit(view);
    view.setUint32(16, checksum(bytes.subarray(0, 16)), true);
    return bytes;
  };
  throwsCode(t, () => decodeStaticHeader(reseal((view) => view.setUint32(8, FORMAT_VERSION + 1, true))), 'INVALID_FORMAT');
  for (const pageBytes of [0, 256, 3000, 4097, 131072]) {
    throwsCode(t, () => decodeStaticHeader(reseal((view) => view.setUint32(12, pageBytes, true))), 'CORRUPTION');
  }
});

test('commit slots round trip, byte by byte', (t) => {
  const slot: CommitSlot = {
    txnId: 0x0102030405, catalogPage: 7, catalogCrc: 0xdeadbeef, pageCount: 9, walSeq: 2 ** 40 + 3,
    freeListPage: 5, freeListCrc: 0xcafef00d, freeCount: 3, masterGeneration: 2 ** 33 + 1,
  };
  const bytes = encodeSlot(slot);
  t.is(bytes.length, SLOT_BYTES);
  const view = new DataView(bytes.buffer);
  t.is(view.getBigUint64(0, true), 0x0102030405n);
  t.is(view.getUint32(8, true), 7);
  t.is(view.getUint32(12, true), 0xdeadbeef);
  t.is(view.getUint32(16, true), 9);
  t.is(view.getUint32(20, true), 5, 'free-list page at 20');
  t.is(view.getUint32(24, true), 0xcafef00d, 'free-list CRC at 24');
  t.is(view.getUint32(28, true), 3, 'free count at 28');
  t.is(view.getBigUint64(32, true), BigInt(2 ** 40 + 3));
  t.is(view.getBigUint64(40, true), BigInt(2 ** 33 + 1), 'the witnessed master generation at 40');
  t.true(bytes.subarray(48, 60).every((byte) => byte === 0), 'bytes 48..59 are reserved zeros');
  t.is(view.getUint32(60, true), checksum(bytes.subarray(0, 60)));
  t.deepEqual(decodeSlot(bytes), slot);
  fc.assert(fc.property(slotArb, (random) => assert.deepEqual(decodeSlot(encodeSlot(random)), { ...random })), { numRuns: 500 });
});

test('a zeroed slot, and every single-bit flip of a slot, decode to null', (t) => {
  t.is(decodeSlot(new Uint8Array(SLOT_BYTES)), null);
  const bytes = encodeSlot({ txnId: 42, catalogPage: 3, catalogCrc: 0x12345678, pageCount: 10, walSeq: 5, ...NO_FREE_LIST });
  for (let bit = 0; bit < SLOT_BYTES * 8; bit++) {
    const flipped = bytes.slice();
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    t.is(decodeSlot(flipped), null, `bit ${bit}`);
  }
});

test('a torn slot (new prefix, old suffix) decodes to null, or to exactly the old or new slot', (t) => {
  fc.assert(fc.property(slotArb, slotArb, fc.integer({ min: 0, max: SLOT_BYTES }), (older, newer, cutBytes) => {
    const oldBytes = encodeSlot(older);
    const newBytes = encodeSlot(newer);
    const torn = oldBytes.slice();
    torn.set(newBytes.subarray(0, cutBytes), 0);
    const decoded = decodeSlot(torn);
    if (decoded === null) return;
    // Only a tear that changed nothing on one side may decode: then it is that side, exactly.
    assert.ok(decoded.txnId === older.txnId || decoded.txnId === newer.txnId);
    assert.ok(Buffer.from(torn).equals(oldBytes) || Buffer.from(torn).equals(newBytes), 'a mixed slot decoded');
  }), { numRuns: 1000 });
  t.pass();
});

test('slot fields are range-checked even under a valid checksum', (t) => {
  const slot: CommitSlot = { txnId: 5, catalogPage: 3, catalogCrc: 1, pageCount: 10, walSeq: 0, ...NO_FREE_LIST };
  t.is(decodeSlot(resealed(slot, (view) => view.setBigUint64(0, 0n, true))), null, 'txn id 0');
  t.is(decodeSlot(resealed(slot, (view) => view.setBigUint64(0, 2n ** 53n, true))), null, 'txn id past 2^53');
  t.is(decodeSlot(resealed(slot, (view) => view.setUint32(16, 0, true))), null, 'page count 0');
  t.is(decodeSlot(resealed(slot, (view) => view.setUint32(16, MAX_PAGE_COUNT + 1, true))), null, 'page count past the limit');
  t.is(decodeSlot(resealed(slot, (view) => view.setUint32(8, 10, true))), null, 'catalog page at the page count');
  t.is(decodeSlot(resealed(slot, (view) => view.setBigUint64(32, 2n ** 60n, true))), null, 'wal sequence past 2^53');
  t.deepEqual(decodeSlot(resealed(slot, (view) => view.setUint32(8, 9, true))), { ...slot, catalogPage: 9 });
  t.is(decodeSlot(resealed(slot, (view) => view.setUint32(20, 10, true))), null, 'free-list page at the page count');
  t.is(decodeSlot(resealed(slot, (view) => { view.setUint32(20, 4, true); view.setUint32(28, 10, true); })), null, 'free count at the page count');
  t.is(decodeSlot(resealed(slot, (view) => view.setUint32(28, 2, true))), null, 'free pages without a free list');
  t.is(decodeSlot(resealed(slot, (view) => view.setUint32(24, 7, true))), null, 'a free-list CRC without a free list');
  t.deepEqual(decodeSlot(resealed(slot, (view) => { view.setUint32(20, 4, true); view.setUint32(28, 9, true); })),
    { ...slot, freeListPage: 4, freeCount: 9 });
});

/** A fresh page 0 (txn 1 in slot 0) on a MemoryStorage, plus whatever slots the test writes. */
function headerFile(pageBytes: number, slots: Array<Uint8Array | null>): MemoryStorage {
  const storage = new MemoryVfs().open('db', { create: true });
  initializeFile(storage, pageBytes);
  // Each slot and its mirror hold the same bytes: the mirrors themselves are tested apart.
  slots.forEach((bytes, i) => {
    if (bytes !== null) for (const at of [SLOT_OFFSETS[i]!, SLOT_MIRROR_OFFSETS[i]!]) storage.write(at, bytes);
  });
  return storage;
}

const slotWith = (txnId: number): Uint8Array => encodeSlot({ txnId, catalogPage: 0, catalogCrc: 0, pageCount: 1 + txnId, walSeq: txnId, ...NO_FREE_LIST });

test('initializeFile writes one page: static header and txn 1 in slot 0 and its mirror, slot 1 zero', (t) => {
  const storage = headerFile(1024, []);
  t.is(storage.len(), 1024);
  const page = storage.read(0, 1024);
  t.is(decodeStaticHeader(page), 1024);
  t.deepEqual(decodeSlot(page.subarray(64, 128)), { txnId: 1, catalogPage: 0, catalogCrc: 0, pageCount: 1, walSeq: 0, ...NO_FREE_LIST });
  t.deepEqual(page.subarray(192, 256), page.subarray(64, 128), 'slot 0\'s mirror');
  t.true(page.subarray(128, 192).every((byte) => byte === 0));
  t.true(page.subarray(256, 1024).every((byte) => byte === 0));
  t.true(page.subarray(20, 64).every((byte) => byte === 0));
  const header = readFileHeader(storage);
  t.is(header?.slotIndex, 0);
  t.is(header?.pageBytes, 1024);
});

test('readFileHeader: the valid slot with the newest txn wins, in either position', (t) => {
  t.is(readFileHeader(headerFile(4096, [slotWith(5), slotWith(6)]))?.slot.txnId, 6);
  t.is(readFileHeader(headerFile(4096, [slotWith(5), slotWith(6)]))?.slotIndex, 1);
  t.is(readFileHeader(headerFile(4096, [slotWith(7), slotWith(6)]))?.slot.txnId, 7);
  t.is(readFileHeader(headerFile(4096, [slotWith(7), slotWith(6)]))?.slotIndex, 0);
});

test('readFileHeader: a damaged newest slot falls back to the older one; both damaged is CORRUPTION', (t) => {
  const torn = slotWith(9);
  torn.fill(0, 20); // The second half never reached the disk.
  let header = readFileHeader(headerFile(4096, [slotWith(8), torn]));
  t.is(header?.slot.txnId, 8);
  t.is(header?.slotIndex, 0);
  const flipped = slotWith(9);
  flipped[3]! ^= 0x10;
  header = readFileHeader(headerFile(4096, [flipped, slotWith(8)]));
  t.is(header?.slot.txnId, 8);
  t.is(header?.slotIndex, 1);
  const storage = headerFile(4096, [torn, flipped]);
  // A file longer than one page is never an unfinished creation.
  storage.write(4096, new Uint8Array(4096).fill(1));
  throwsCode(t, () => readFileHeader(storage), 'CORRUPTION');
});

test('readFileHeader: bad magic is INVALID_FORMAT, bad header checksum CORRUPTION', (t) => {
  const foreign = headerFile(4096, []);
  foreign.write(0, new TextEncoder().encode('SQLite format 3\0'));
  throwsCode(t, () => readFileHeader(foreign), 'INVALID_FORMAT');
  const damaged = headerFile(4096, []);
  damaged.write(12, Uint8Array.of(0, 0x20, 0, 0)); // Page size 8192 under a checksum made for 4096.
  throwsCode(t, () => readFileHeader(damaged), 'CORRUPTION');
});

test('readFileHeader: empty and all-zero files are unfinished creations (null)', (t) => {
  const vfs = new MemoryVfs();
  t.is(readFileHeader(vfs.open('empty', { create: true })), null);
  const zeros = vfs.open('zeros', { create: true });
  zeros.setLen(4096);
  t.is(readFileHeader(zeros), null);
  // A creation torn after the static header: ours, no valid slot, not longer than one page.
  const torn = vfs.open('torn', { create: true });
  torn.write(0, encodeStaticHeader(4096));
  torn.setLen(4096);
  t.is(readFileHeader(torn), null);
  // Torn inside its first sector, shorter than the magic (found by the crash property on the
  // standalone store, a non-atomic sector cut at 5 bytes): still an unfinished creation.
  for (let lengthBytes = 1; lengthBytes <= 20; lengthBytes++) {
    const short = vfs.open(`short-${lengthBytes}`, { create: true });
    short.write(0, encodeStaticHeader(512).subarray(0, lengthBytes));
    t.is(readFileHeader(short), null, `${lengthBytes} bytes`);
  }
});
