/**
 * The file header (page 0) and its two commit slots, byte by byte (see docs/format.md).
 *
 * Page 0 holds a static part written once at creation and two 64-byte commit slots. A commit
 * writes only the slot it replaces (never the whole page), so a torn slot write can damage
 * nothing but that slot, and the other slot still names the previous durable commit.
 */
import { checksum } from './checksum.js';
import { assert, corruption, EngineError } from './errors.js';

export const MAGIC = Uint8Array.from([0x63, 0x72, 0x61, 0x73, 0x68, 0x6c, 0x62, 0x00]); // "crashlb\0"
/**
 * 2: commit slots name a persisted free-page list (bytes 20..31), free-list pages (type 4).
 * 3: every commit slot is mirrored (SLOT_MIRROR_OFFSETS); a slot may name the master generation.
 */
export const FORMAT_VERSION = 3;
export const MIN_PAGE_BYTES = 512;
export const MAX_PAGE_BYTES = 65536;
export const DEFAULT_PAGE_BYTES = 4096;
export const STATIC_HEADER_BYTES = 20;
export const SLOT_BYTES = 64;
export const SLOT_OFFSETS = [64, 128] as const;
/**
 * Each commit slot is written twice, the mirror first, before one fsync: one damaged copy is
 * read past, so a flipped newest slot never sends recovery to the older slot (a silent rollback
 * of an acknowledged commit), which a torn slot write, legal because unacknowledged, would.
 */
export const SLOT_MIRROR_OFFSETS = [192, 256] as const;
/** Page 0's bytes that recovery decides on: the static header, both slots and their mirrors. */
export const HEADER_AREA_BYTES = SLOT_MIRROR_OFFSETS[1] + SLOT_BYTES;
/** Page numbers are u32 and page 0 is the header; keep files far below 2^32 pages anyway. */
export const MAX_PAGE_COUNT = 2 ** 31;

/** One commit slot: everything needed to find a consistent committed state. */
export interface CommitSlot {
  /** Transaction id of the commit; strictly increasing, starts at 1. */
  readonly txnId: number;
  /** Root page of the catalog (table-of-tables) B-tree; 0 when there are no tables. */
  readonly catalogPage: number;
  readonly catalogCrc: number;
  /** Pages in use when the slot was written (allocator high water, header page included). */
  readonly pageCount: number;
  /** Highest WAL sequence whose effects this state contains (0: none). */
  readonly walSeq: number;
  /** First page of the free-page list of this state (freeList.ts); 0 when there is none. */
  readonly freeListPage: number;
  readonly freeListCrc: number;
  /** Page numbers the free list holds: every page below pageCount this state does not reach. */
  readonly freeCount: number;
  /**
   * A column family's: the data file's master generation known durable when the slot was built
   * (bytes 40..47; 0 for a standalone file). A master read at open older than this is a
   * damaged newest copy, never a torn one (ColumnFamilyDatabase checks it).
   */
  readonly masterGeneration?: number;
}

export function isValidPageSize(pageBytes: number): boolean {
  return Number.isInteger(pageBytes) && pageBytes >= MIN_PAGE_BYTES && pageBytes <= MAX_PAGE_BYTES
    && (pageBytes & (pageBytes - 1)) === 0;
}

export function encodeStaticHeader(pageBytes: number): Uint8Array {
  assert(isValidPageSize(pageBytes), 'page size is a power of two in range');
  const bytes = new Uint8Array(STATIC_HEADER_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(MAGIC, 0);
  view.setUint32(8, FORMAT_VERSION, true);
  view.setUint32(12, pageBytes, true);
  view.setUint32(16, checksum(bytes.subarray(0, 16)), true);
  return bytes;
}

/**
 * Decodes the static header and returns the page size. Throws `INVALID_FORMAT` when the magic
 * is not ours (not a crashlab file) and `CORRUPTION` when it is ours but damaged.
 */
export function decodeStaticHeader(bytes: Uint8Array): number {
  assert(bytes.length >= STATIC_HEADER_BYTES, 'static header is complete');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicMatches = MAGIC.every((byte, i) => bytes[i] === byte);
  if (!magicMatches) throw new EngineError('INVALID_FORMAT', 'not a crashlab database (bad magic)');
  if (view.getUint32(16, true) !== checksum(bytes.subarray(0, 16))) {
    throw corruption('file header checksum mismatch');
  }
  const version = view.getUint32(8, true);
  if (version !== FORMAT_VERSION) {
    throw new EngineError('INVALID_FORMAT', `unsupported format version ${version}`);
  }
  const pageBytes = view.getUint32(12, true);
  if (!isValidPageSize(pageBytes)) throw corruption(`invalid page size ${pageBytes} in header`);
  return pageBytes;
}

export function encodeSlot(slot: CommitSlot): Uint8Array {
  assert(slot.txnId >= 1 && Number.isSafeInteger(slot.txnId), 'slot txn id is positive');
  assert(slot.pageCount >= 1 && slot.pageCount <= MAX_PAGE_COUNT, 'slot page count in range');
  assert(slot.freeListPage < slot.pageCount && slot.freeCount < slot.pageCount, 'slot free list in range');
  assert(slot.freeListPage !== 0 || (slot.freeCount === 0 && slot.freeListCrc === 0), 'no free list, no free pages');
  const bytes = new Uint8Array(SLOT_BYTES);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0, BigInt(slot.txnId), true);
  view.setUint32(8, slot.catalogPage, true);
  view.setUint32(12, slot.catalogCrc, true);
  view.setUint32(16, slot.pageCount, true);
  view.setUint32(20, slot.freeListPage, true);
  view.setUint32(24, slot.freeListCrc, true);
  view.setUint32(28, slot.freeCount, true);
  view.setBigUint64(32, BigInt(slot.walSeq), true);
  view.setBigUint64(40, BigInt(slot.masterGeneration ?? 0), true);
  view.setUint32(SLOT_BYTES - 4, checksum(bytes.subarray(0, SLOT_BYTES - 4)), true);
  return bytes;
}

/** Returns the slot, or null when it is torn, zeroed or otherwise invalid. */
export function decodeSlot(bytes: Uint8Array): CommitSlot | null {
  assert(bytes.length === SLOT_BYTES, 'slot is exactly SLOT_BYTES');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(SLOT_BYTES - 4, true) !== checksum(bytes.subarray(0, SLOT_BYTES - 4))) return null;
  const txnId = Number(view.getBigUint64(0, true));
  const pageCount = view.getUint32(16, true);
  const catalogPage = view.getUint32(8, true);
  if (txnId < 1 || !Number.isSafeInteger(txnId)) return null;
  if (pageCount < 1 || pageCount > MAX_PAGE_COUNT || catalogPage >= pageCount) return null;
  const walSeq = Number(view.getBigUint64(32, true));
  if (!Number.isSafeInteger(walSeq)) return null;
  const freeListPage = view.getUint32(20, true);
  const freeListCrc = view.getUint32(24, true);
  const freeCount = view.getUint32(28, true);
  if (freeListPage >= pageCount || freeCount >= pageCount) return null;
  if (freeListPage === 0 && (freeCount !== 0 || freeListCrc !== 0)) return null;
  const masterGeneration = Number(view.getBigUint64(40, true));
  if (!Number.isSafeInteger(masterGeneration)) return null;
  const slot = { txnId, catalogPage, catalogCrc: view.getUint32(12, true), pageCount, walSeq, freeListPage, freeListCrc, freeCount };
  return masterGeneration === 0 ? slot : { ...slot, masterGeneration };
}
