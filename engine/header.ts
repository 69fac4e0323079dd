/**
 * Reading and creating the file header (page 0). Decides whether a file is a database, a
 * database whose creation never completed (safe to initialize: nothing was ever acknowledged),
 * or damaged (CORRUPTION) or foreign (INVALID_FORMAT), in which case nothing is overwritten.
 */
import { EngineError, corruption } from './errors.js';
import {
  HEADER_AREA_BYTES, MAGIC, MAX_PAGE_BYTES, SLOT_BYTES, SLOT_MIRROR_OFFSETS, SLOT_OFFSETS, STATIC_HEADER_BYTES, decodeSlot, decodeStaticHeader,
  encodeSlot, encodeStaticHeader, type CommitSlot,
} from './format.js';
import { newerCopy } from './mirror.js';
import type { Storage } from './storage.js';

export interface FileHeader {
  readonly pageBytes: number;
  /** The slot holding the newest valid commit, and its index (0 or 1). */
  readonly slot: CommitSlot;
  readonly slotIndex: number;
}

/**
 * True for a file whose creation never completed: empty, all zeros, or (shorter than one
 * page) starting with our magic but holding no valid slot. No commit can have been
 * acknowledged in such a file, so initializing it loses nothing; a longer file, or a foreign
 * one, is never overwritten.
 */
function isUnfinishedCreation(storage: Storage, head: Uint8Array): boolean {
  const lengthBytes = storage.len();
  if (lengthBytes === 0) return true;
  if (lengthBytes > MAX_PAGE_BYTES) return false;
  // Creation writes the static header, slot 0 and its mirror and nothing else: every byte past
  // the slots and mirrors is zero. Any committed database has non-zero bytes there (its pages).
  const pastSlots = HEADER_AREA_BYTES;
  if (lengthBytes > pastSlots && !storage.read(pastSlots, lengthBytes - pastSlots).every((byte) => byte === 0)) return false;
  // A creation torn inside its first sector can leave fewer bytes than the magic: missing bytes
  // read as the zeros a never-written file holds.
  const ours = MAGIC.every((byte, i) => (head[i] ?? 0) === byte || (head[i] ?? 0) === 0);
  return ours && readSlots(head).every((slot) => slot === null);
}

/** Each logical slot: the valid one of its copy and mirror with the larger txn id (the copy on a tie). */
function readSlots(head: Uint8Array): Array<CommitSlot | null> {
  const at = (offset: number): CommitSlot | null =>
    head.length >= offset + SLOT_BYTES ? decodeSlot(head.subarray(offset, offset + SLOT_BYTES)) : null;
  return SLOT_OFFSETS.map((offset, i) => newerCopy(at(offset), at(SLOT_MIRROR_OFFSETS[i]!), (slot) => slot.txnId));
}

/**
 * Reads the header, or returns null when the file is to be initialized. With `strict`, the
 * header must exist (its creation was made durable), so there is no unfinished creation.
 */
export function readFileHeader(storage: Storage, options: { strict?: boolean } = {}): FileHeader | null {
  const headBytes = Math.min(storage.len(), HEADER_AREA_BYTES);
  const head = headBytes === 0 ? new Uint8Array(0) : storage.read(0, headBytes);
  if (options.strict !== true && isUnfinishedCreation(storage, head)) return null;
  if (options.strict === true) {
    try {
      return decodeHeader(storage, head);
    } catch (error) {
      // A header that must exist and does not is damage, whatever it looks like now.
      if (error instanceof EngineError && error.code === 'INVALID_FORMAT') throw corruption(`expected a header: ${error.message}`);
      throw error;
    }
  }
  return decodeHeader(storage, head);
}

function decodeHeader(storage: Storage, head: Uint8Array): FileHeader {
  if (head.length < STATIC_HEADER_BYTES) {
    const ours = head.every((byte, i) => i >= MAGIC.length || byte === MAGIC[i]);
    if (!ours) throw new EngineError('INVALID_FORMAT', 'not a crashlab database (bad magic)');
    throw corruption(`file of ${storage.len()} bytes is too short for a header`);
  }
  const pageBytes = decodeStaticHeader(head);
  const slots = readSlots(head);
  let slotIndex = -1;
  slots.forEach((slot, i) => {
    if (slot !== null && (slotIndex < 0 || slot.txnId > slots[slotIndex]!.txnId)) slotIndex = i;
  });
  if (slotIndex < 0) throw corruption('both commit slots are invalid');
  return { pageBytes, slot: slots[slotIndex]!, slotIndex };
}

/** Writes a fresh page 0 (an empty database, txn 1, in slot 0). The caller syncs. */
export function initializeFile(storage: Storage, pageBytes: number): FileHeader {
  const page = new Uint8Array(pageBytes);
  page.set(encodeStaticHeader(pageBytes), 0);
  const slot: CommitSlot = { txnId: 1, catalogPage: 0, catalogCrc: 0, pageCount: 1, walSeq: 0, freeListPage: 0, freeListCrc: 0, freeCount: 0 };
  page.set(encodeSlot(slot), SLOT_OFFSETS[0]);
  page.set(encodeSlot(slot), SLOT_MIRROR_OFFSETS[0]);
  storage.setLen(0);
  storage.write(0, page);
  return { pageBytes, slot, slotIndex: 0 };
}
