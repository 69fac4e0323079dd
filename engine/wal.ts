/**
 * The write-ahead log: one file shared by every column family (see docs/format.md).
 *
 * A record holds one transaction's logical redo, its family id, its sequence number (strictly
 * increasing; a durable record's number is never reused) and the log's salt, under a CRC-32
 * that covers the length and the payload. Recovery reads from the header's start offset and
 * stops at the first record that is incomplete, fails its checksum, carries another salt, or
 * does not carry the next sequence number: zero-filled (pre-allocated) space and records left
 * over from before a reset all stop it. Every open ends in a checkpoint and a reset with a new
 * salt (see `recoverySalt`), starting above every durable family header's sequence, which is how
 * the tail past where the scan stopped is not read as records later.
 *
 * Group commit: records are written synchronously, so when a sync begins every record
 * appended so far is complete; the leader notes the last such sequence before it calls fsync
 * and, when fsync succeeds, acknowledges exactly the records up to it. A failed fsync fails
 * every waiting commit and the log for good (fsyncgate: never retry and report success).
 */
import { crc32 } from 'node:zlib';
import type { Clock } from './clock.js';
import { EngineError, assert, corruption, ioError } from './errors.js';
import { newerCopy } from './mirror.js';
import { decodeRedo, encodeRedo, redoBytes, type RedoOp } from './redo.js';
import type { Storage } from './storage.js';

export const WAL_MAGIC = Uint8Array.from([0x63, 0x72, 0x61, 0x73, 0x68, 0x77, 0x61, 0x6c]); // "crashwal"
export const WAL_VERSION = 2;
export const WAL_HEADER_BYTES = 4096;
export const WAL_SLOT_BYTES = 64;
export const WAL_SLOT_OFFSETS = [0, 64] as const;
/**
 * Each header slot is written twice, the second copy (its mirror) in another 512-byte sector:
 * one damaged copy is read past, so a flipped newest slot never sends recovery to the older
 * slot, which a torn slot write (legal: nothing was synced after it) would.
 */
export const WAL_MIRROR_OFFSETS = [2048, 2112] as const;
export const RECORD_HEADER_BYTES = 8;
/** seq u64, salt u32, family id u32, durability u8, 3 zero bytes, previous seq of the family u64, durable watermark u64. */
export const RECORD_FIXED_BYTES = 36;
export const MAX_RECORD_BYTES = 256 * 1024 * 1024;

export type WalDurability = 'immediate' | 'none';

export interface WalRecord {
  readonly seq: number;
  readonly familyId: number;
  /**
   * The sequence of this family's previous commit (0: none known). Recovery checks the chain:
   * a record whose predecessor is neither replayed nor covered by the family's durable header
   * proves that header older than the log assumed (a damaged newest slot): CORRUPTION, not a
   * silent hole in the family's history.
   */
  readonly prevSeq: number;
  /**
   * The durable watermark: every sequence up to it was known synced when this record was written.
   * A record missing or damaged at or below a later record's watermark was durable, so its loss
   * is damage, never a torn tail (see `Wal.scan`).
   */
  readonly durableSeq: number;
  readonly durability: WalDurability;
  readonly ops: RedoOp[];
}

/**
 * Records the scan found damaged or missing although a later record's watermark says they were
 * durable: `firstSeq..lastSeq` at `offset`. The records after a gap are read on, and recovery
 * decides: harmless when every family's durable header covers the gap, CORRUPTION otherwise
 * (a salvage replays around it and reports it).
 */
export interface WalGap {
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly offset: number;
  /** The highest durable watermark of the records after the gap: at least `firstSeq`. */
  readonly watermark: number;
}

interface WalHeader {
  /** Bumped at every header write; the valid slot with the highest generation wins. */
  readonly generation: number;
  /** The database this log belongs to (WalOptions.databaseId): written by every header write. */
  readonly databaseId?: number;
  /** Records carry it; a reset changes it, so older records can never be read as new. */
  readonly salt: number;
  readonly startSeq: number;
  readonly startOffset: number;
  /** The data file's master generation known durable when this header was written (bytes 48..55; 0: none known). */
  readonly masterGeneration?: number;
}

/** What a salvage open dropped (ColumnFamilyOptions.recover), reported by `recoveryReport()`. */
export interface SalvageLoss {
  /** Another database's log; records of a family id the master never created; records past a break in a family's chain. */
  readonly kind: 'foreign-log' | 'unknown-family' | 'broken-chain' | 'damaged-record' | 'log-behind-data' | 'missing-log' | 'stale-master';
  readonly family: string | null;
  readonly firstSeq: number;
  readonly lastSeq: number;
  readonly records: number;
  /** The CORRUPTION a strict open raises for it. */
  readonly detail: string;
}

/** Where a live (not yet truncated) record sits, for truncation. */
interface LiveRecord {
  readonly seq: number;
  readonly familyId: number;
  readonly offset: number;
}

interface Waiter {
  readonly seq: number;
  resolve(): void;
  reject(error: unknown): void;
}

export interface WalOptions {
  readonly clock: Clock;
  /** Leader waits this long before fsync, hoping to batch more commits (the seed's experiment). */
  readonly groupCommitWindowMicros: number;
  /** Zero-filled size for a new log file (0: none). */
  readonly preallocateBytes: number;
  /** A read-only open: a log with no header yet is read as empty, not initialised. */
  readonly readOnly?: boolean;
  /** The data file's database id: every header slot carries it, and a slot with another is refused. */
  readonly databaseId: number;
  /** The log's file name, for messages. */
  readonly name?: string;
  /** Salvage (ColumnFamilyOptions.recover): another database's log is reported in `foreign` and its records dropped, not refused. */
  readonly salvage?: boolean;
  /**
   * What the data file says of its log. `live`: it was not closed cleanly, so the log was
   * created (its header synced) and may hold acknowledged commits: a log with no valid header,
   * or another database's, is damage. `new-data`: the data file was created by this open (a log
   * is created only after its data file is durable), so a log with a valid header outlived its
   * data file: damage too. Either way a strict open fails with CORRUPTION rather than start over.
   */
  readonly expect?: 'live' | 'new-data';
  /** The data file's durable master generation, witnessed by every header write (WalHeader.masterGeneration). */
  readonly masterGeneration?: () => number;
}

function encodeHeader(header: WalHeader): Uint8Array {
  const bytes = new Uint8Array(WAL_SLOT_BYTES);
  const view = new DataView(bytes.buffer);
  bytes.set(WAL_MAGIC, 0);
  view.setUint32(8, WAL_VERSION, true);
  view.setUint32(12, header.salt, true);
  view.setBigUint64(16, BigInt(header.generation), true);
  view.setBigUint64(24, BigInt(header.startSeq), true);
  view.setBigUint64(32, BigInt(header.startOffset), true);
  view.setBigUint64(40, BigInt(header.databaseId ?? 0), true);
  view.setBigUint64(48, BigInt(header.masterGeneration ?? 0), true);
  view.setUint32(WAL_SLOT_BYTES - 4, crc32(bytes.subarray(0, WAL_SLOT_BYTES - 4)) >>> 0, true);
  return bytes;
}

/** The header slot at `offset` in `head`, or null when it is short, torn or damaged. */
function slotAt(head: Uint8Array, offset: number): WalHeader | null {
  return head.length >= offset + WAL_SLOT_BYTES ? decodeHeader(head.subarray(offset, offset + WAL_SLOT_BYTES)) : null;
}

function decodeHeader(bytes: Uint8Array): WalHeader | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(WAL_SLOT_BYTES - 4, true) !== crc32(bytes.subarray(0, WAL_SLOT_BYTES - 4)) >>> 0) return null;
  if (!WAL_MAGIC.every((byte, i) => bytes[i] === byte)) return null;
  if (view.getUint32(8, true) !== WAL_VERSION) return null;
  const header = {
    salt: view.getUint32(12, true),
    generation: Number(view.getBigUint64(16, true)),
    startSeq: Number(view.getBigUint64(24, true)),
    startOffset: Number(view.getBigUint64(32, true)),
    databaseId: Number(view.getBigUint64(40, true)),
    masterGeneration: Number(view.getBigUint64(48, true)),
  };
  const sane = Number.isSafeInteger(header.generation) && Number.isSafeInteger(header.startSeq)
    && header.startSeq >= 1 && header.startOffset >= WAL_HEADER_BYTES && Number.isSafeInteger(header.masterGeneration);
  return sane ? header : null;
}

/**
 * A log whose header names another database id holds another database's commits (a file copied
 * or left behind): replaying them here would write wrong values, so its records are refused,
 * naming both ids. Without records it holds nothing of anyone's (its creation raced a lost
 * directory entry of a new data file, say): recovery resets it under this database's id.
 */
function checkOwnLog(header: WalHeader, records: readonly WalRecord[], options: WalOptions): void {
  const found = header.databaseId ?? 0;
  if (found === options.databaseId || (records.length === 0 && options.expect !== 'live')) return;
  const held = records.length === 0 ? 'no records (this database\'s own live log is gone)'
    : `${records.length} records (sequences ${records[0]!.seq}..${records[records.length - 1]!.seq}), never replayed here`;
  throw corruption(`${options.name ?? 'the log'} belongs to another database (id ${found}), not to this data file (id ${options.databaseId}): `
    + `it holds ${held}; move the log away to open the database without it`);
}

/**
 * The salt of the reset that ends a recovery. Not the header's salt + 1, as at other resets: the
 * file may hold records of a header the recovery never read (its newest slot damaged, so the
 * older one was taken; or a reset header a power cut dropped while appends after it survived).
 * Those carry that very salt, and the reset starts at the sequence they carry (above every
 * durable family header), so they would read as records after the reset: commits recovery found
 * lost would come back, or follow a new record of the same length. The lost header's salt is
 * unknown, so the reset takes one derived from both slots' bytes as read (a damaged slot differs
 * from the header it once held, and so does every later state of the slots): it differs from
 * any salt on the disk but with a chance of about 2^-32 (SQLite's WAL takes a random salt for
 * the same reason; the engine has no randomness, and needs none here). Never the header's
 * salt or the next one, whose records are known to be possible.
 */
function recoverySalt(slotBytes: Uint8Array, headerSalt: number): number {
  const derived = crc32(slotBytes.subarray(0, WAL_SLOT_OFFSETS[1] + WAL_SLOT_BYTES)) >>> 0;
  const avoided = [headerSalt, (headerSalt + 1) >>> 0];
  return avoided.includes(derived) ? (headerSalt + 2) >>> 0 : derived;
}

/** CRC-32 of the length field followed by the payload. */
function recordCrc(lengthField: Uint8Array, payload: Uint8Array): number {
  return crc32(payload, crc32(lengthField)) >>> 0;
}

export function encodeRecord(record: WalRecord, salt: number): Uint8Array {
  const payloadBytes = RECORD_FIXED_BYTES + redoBytes(record.ops);
  if (payloadBytes > MAX_RECORD_BYTES) {
    throw new EngineError('TOO_LARGE', `transaction redo of ${payloadBytes} bytes exceeds ${MAX_RECORD_BYTES}`);
  }
  const bytes = new Uint8Array(RECORD_HEADER_BYTES + payloadBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, payloadBytes, true);
  view.setBigUint64(8, BigInt(record.seq), true);
  view.setUint32(16, salt, true);
  view.setUint32(20, record.familyId, true);
  view.setUint8(24, record.durability === 'immediate' ? 0 : 1);
  view.setBigUint64(28, BigInt(record.prevSeq), true);
  view.setBigUint64(36, BigInt(record.durableSeq), true);
  const end = encodeRedo(record.ops, bytes, RECORD_HEADER_BYTES + RECORD_FIXED_BYTES);
  assert(end === bytes.length, 'redo fills the record exactly');
  view.setUint32(4, recordCrc(bytes.subarray(0, 4), bytes.subarray(RECORD_HEADER_BYTES)), true);
  return bytes;
}

/**
 * Decodes the record at `offset` if it is complete, intact, salted with `salt` and numbered
 * `expectedSeq`; returns null (the end of the log) otherwise. Returns the record and its size.
 */
export function readRecord(storage: Storage, offset: number, salt: number, expectedSeq: number): { record: WalRecord; sizeBytes: number } | null {
  const fileBytes = storage.len();
  if (offset + RECORD_HEADER_BYTES > fileBytes) return null;
  const head = storage.read(offset, RECORD_HEADER_BYTES);
  const payloadBytes = plausiblePayloadBytes(head, 0, fileBytes - offset);
  if (payloadBytes === null) return null;
  const found = decodePayload(head, storage.read(offset + RECORD_HEADER_BYTES, payloadBytes), salt);
  return found === null || found.seq !== expectedSeq ? null : { record: found, sizeBytes: RECORD_HEADER_BYTES + payloadBytes };
}

/** The payload length a record header at `at` announces, if a record of it fits in `roomBytes`. */
function plausiblePayloadBytes(bytes: Uint8Array, at: number, roomBytes: number): number | null {
  const payloadBytes = (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
  if (payloadBytes < RECORD_FIXED_BYTES + 4 || payloadBytes > MAX_RECORD_BYTES) return null;
  return RECORD_HEADER_BYTES + payloadBytes > roomBytes ? null : payloadBytes;
}

/** The record whose 8 header bytes are `head` and payload `payload`, if its CRC and salt hold. */
function decodePayload(head: Uint8Array, payload: Uint8Array, salt: number): WalRecord | null {
  const body = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  // The salt first: a cheap filter for the damage scan, which tries every byte offset.
  if (body.getUint32(8, true) !== salt) return null;
  const headView = new DataView(head.buffer, head.byteOffset, RECORD_HEADER_BYTES);
  if (recordCrc(head.subarray(0, 4), payload) !== headView.getUint32(4, true)) return null;
  const seq = Number(body.getBigUint64(0, true));
  const durabilityCode = body.getUint8(16);
  if (durabilityCode > 1) throw corruption(`WAL record ${seq} has durability code ${durabilityCode}`);
  return {
    seq,
    familyId: body.getUint32(12, true),
    prevSeq: Number(body.getBigUint64(20, true)),
    durableSeq: Number(body.getBigUint64(28, true)),
    durability: durabilityCode === 0 ? 'immediate' : 'none',
    ops: decodeRedo(payload.subarray(RECORD_FIXED_BYTES)),
  };
}

/**
 * The first intact record of `salt` numbered above `afterSeq` that starts in `tail` (the log's
 * bytes from `tailOffset`, where the scan stopped), trying the stopped record's own length
 * first (a damaged payload) and then every byte offset (a damaged length). Within one salt an
 * offset is written once (every recovery resets to a new salt), so what this finds is a real
 * later record of this log, never a stale one.
 */
function nextRecordAfter(tail: Uint8Array, tailOffset: number, salt: number, afterSeq: number): { record: WalRecord; offset: number; sizeBytes: number } | null {
  const at = (offset: number): { record: WalRecord; offset: number; sizeBytes: number } | null => {
    if (offset + RECORD_HEADER_BYTES > tail.length) return null;
    const payloadBytes = plausiblePayloadBytes(tail, offset, tail.length - offset);
    if (payloadBytes === null) return null;
    const payload = tail.subarray(offset + RECORD_HEADER_BYTES, offset + RECORD_HEADER_BYTES + payloadBytes);
    let record: WalRecord | null;
    try {
      record = decodePayload(tail.subarray(offset, offset + RECORD_HEADER_BYTES), payload, salt);
    } catch {
      record = null; // a record that decodes to an error is no evidence either way
    }
    return record === null || record.seq <= afterSeq ? null : { record, offset: tailOffset + offset, sizeBytes: RECORD_HEADER_BYTES + payloadBytes };
  };
  const jump = plausiblePayloadBytes(tail, 0, Number.MAX_SAFE_INTEGER);
  const jumped = jump === null ? null : at(RECORD_HEADER_BYTES + jump);
  if (jumped !== null) return jumped;
  for (let offset = 1; offset + RECORD_HEADER_BYTES + RECORD_FIXED_BYTES <= tail.length; offset++) {
    // Zeroed (pre-allocated) space is most of a long tail: a length of 0 is never a record.
    if ((tail[offset]! | tail[offset + 1]! | tail[offset + 2]! | tail[offset + 3]!) === 0) continue;
    const found = at(offset);
    if (found !== null) return found;
  }
  return null;
}

function isAllZero(bytes: Uint8Array): boolean {
  return bytes.every((byte) => byte === 0);
}

export class Wal {
  private readonly storage: Storage;
  private readonly options: WalOptions;
  private readonly onIoError: (error: EngineError) => void;
  private header: WalHeader;
  /** Index (0 or 1) of the header slot known durable; header writes go to the other one. */
  private durableSlot: number;
  private appendOffset: number;
  private nextSeq: number;
  /** Highest sequence completely written to the file. */
  private writtenSeq: number;
  /** High-water mark: every record up to it is durable. One number, no locked set. */
  private syncedSeq: number;
  private readonly live: LiveRecord[] = [];
  /** Damaged or missing records a later watermark vouches for, found by the scan at open (see `scan`). */
  readonly gaps: WalGap[] = [];
  /** Each family's last sequence: the `prevSeq` of its next record (see WalRecord). */
  private readonly lastSeqByFamily = new Map<number, number>();
  private readonly waiters: Waiter[] = [];
  private syncRound: Promise<void> | null = null;
  private failure: EngineError | null = null;
  private syncCount = 0;
  /** The log had a valid header at open (it was not created, or initialised over zeros, by this open). */
  existed = false;
  /** From open until the first reset (the recovery's): only then may `skipPast` raise the start. */
  private resetPending = true;
  /** The salt of the recovery's reset (see `recoverySalt`); null for a log this process created. */
  private resetSalt: number | null = null;
  /** The reset starts above this sequence (see `skipPast`). */
  private floorSeq = 0;

  private constructor(storage: Storage, options: WalOptions, onIoError: (error: EngineError) => void,
    header: WalHeader, durableSlot: number) {
    this.storage = storage;
    this.options = options;
    this.onIoError = onIoError;
    this.header = header;
    this.durableSlot = durableSlot;
    this.appendOffset = header.startOffset;
    this.nextSeq = header.startSeq;
    this.writtenSeq = header.startSeq - 1;
    this.syncedSeq = this.writtenSeq;
  }

  /**
   * Opens the log (creating it when the file is new or all zeros) and reads every valid
   * record from the header's start. The caller replays them, checkpoints, then calls `reset`.
   */
  static async open(storage: Storage, options: WalOptions, onIoError: (error: EngineError) => void): Promise<{ wal: Wal; records: WalRecord[]; foreign?: SalvageLoss }> {
    const headBytes = Math.min(storage.len(), WAL_MIRROR_OFFSETS[1] + WAL_SLOT_BYTES);
    const head = storage.read(0, headBytes);
    const slots = WAL_SLOT_OFFSETS.map((at, slot) => newerCopy(slotAt(head, at), slotAt(head, WAL_MIRROR_OFFSETS[slot]!), (header) => header.generation));
    let index = -1;
    slots.forEach((slot, i) => {
      if (slot !== null && (index < 0 || slot.generation > slots[index]!.generation)) index = i;
    });
    if (index < 0) {
      // Creation writes the header and syncs before any record: with no valid slot and no
      // byte past the header region, creation never completed and nothing can be lost.
      const restBytes = Math.max(0, storage.len() - WAL_HEADER_BYTES);
      if (restBytes > 0 && !isAllZero(storage.read(WAL_HEADER_BYTES, restBytes))) {
        throw corruption('both WAL header slots are invalid');
      }
      if (options.expect === 'live' && options.salvage !== true) {
        throw corruption(`${options.name ?? 'the log'} has no valid header, but the data file says its log is live (not closed cleanly): commits acknowledged since the last checkpoint may have been in it; open with recover: 'salvage' to go on without them`);
      }
      const wal = new Wal(storage, options, onIoError, { generation: 0, salt: 0, startSeq: 1, startOffset: WAL_HEADER_BYTES }, 1);
      if (options.readOnly === true) return { wal, records: [] };
      wal.writeHeader({ generation: 1, salt: 1, startSeq: 1, startOffset: WAL_HEADER_BYTES });
      if (options.preallocateBytes > storage.len()) storage.setLen(options.preallocateBytes);
      await wal.syncHeader();
      return { wal, records: [] };
    }
    const wal = new Wal(storage, options, onIoError, slots[index]!, index);
    wal.resetSalt = recoverySalt(head, slots[index]!.salt);
    const records = wal.scan();
    wal.existed = (slots[index]!.databaseId ?? 0) === options.databaseId;
    if (options.expect === 'new-data' && options.salvage !== true) {
      throw corruption(`${options.name ?? 'the log'} has a valid header (database id ${slots[index]!.databaseId ?? 0}, ${records.length} records), but its data file is new: `
        + 'a log is created only after its data file is durable, so the data file was lost or emptied; move the log away to create a new database');
    }
    try {
      checkOwnLog(slots[index]!, records, options);
    } catch (error) {
      if (options.salvage !== true || !(error instanceof EngineError)) throw error;
      // Salvage: none of its records is live, so the recovery's reset drops them all.
      wal.live.splice(0);
      const foreign: SalvageLoss = { kind: 'foreign-log', family: null, firstSeq: records[0]?.seq ?? 0, lastSeq: records[records.length - 1]?.seq ?? 0, records: records.length, detail: error.message };
      return { wal, records: [], foreign };
    }
    return { wal, records };
  }

  /**
   * Reads records from the start until the first invalid one; positions appends after it.
   * Where it stops, the rest of the file may still hold later records: a stop is a torn tail
   * (legal: the unsynced suffix of the last writes, where under the `subset` plan a later
   * unsynced record may survive an earlier one) unless a later record's durable watermark
   * reaches the stopped sequence, which then was synced: damage. Such gaps are read past and
   * listed in `gaps`; past the last gap a later watermark vouches for, the tail is torn.
   */
  private scan(): WalRecord[] {
    const records: WalRecord[] = [];
    /** Per gap found, how many records came before it. */
    const before: number[] = [];
    let offset = this.header.startOffset;
    for (;;) {
      const found = readRecord(this.storage, offset, this.header.salt, this.nextSeq);
      if (found !== null) {
        this.take(records, found.record, offset);
        offset += found.sizeBytes;
        continue;
      }
      const tailBytes = this.storage.len() - offset;
      const next = tailBytes <= RECORD_HEADER_BYTES ? null : nextRecordAfter(this.storage.read(offset, tailBytes), offset, this.header.salt, this.nextSeq - 1);
      if (next === null) break;
      this.gaps.push({ firstSeq: this.nextSeq, lastSeq: next.record.seq - 1, offset, watermark: -1 });
      before.push(records.length);
      this.nextSeq = next.record.seq;
      offset = next.offset;
    }
    // Each gap's watermark: the highest of the records after it (they only grow along the log,
    // so the gaps no watermark reaches are the last ones, a torn tail with a few survivors).
    let watermark = -1;
    for (let gap = this.gaps.length - 1; gap >= 0; gap--) {
      for (let i = before[gap]!; i < (before[gap + 1] ?? records.length); i++) watermark = Math.max(watermark, records[i]!.durableSeq);
      this.gaps[gap] = { ...this.gaps[gap]!, watermark };
    }
    const kept = this.gaps.findIndex((gap) => gap.watermark < gap.firstSeq);
    if (kept >= 0) {
      // Past the first gap no watermark vouches for, the tail is torn: end the log there.
      const cut = this.gaps[kept]!;
      this.trimTo(records, before[kept]!);
      offset = cut.offset;
      this.nextSeq = cut.firstSeq;
      this.gaps.splice(kept);
    }
    this.appendOffset = offset;
    this.writtenSeq = this.nextSeq - 1;
    // What the scan read may be the page cache of a crashed process, not the disk: nothing
    // past the header is known durable until this process syncs it.
    this.syncedSeq = this.header.startSeq - 1;
    return records;
  }

  private take(records: WalRecord[], record: WalRecord, offset: number): void {
    records.push(record);
    this.live.push({ seq: record.seq, familyId: record.familyId, offset });
    this.lastSeqByFamily.set(record.familyId, record.seq);
    this.nextSeq = record.seq + 1;
  }

  /** Drops the records past the first `count` (read past a gap no watermark vouched for). */
  private trimTo(records: WalRecord[], count: number): void {
    records.splice(count);
    this.live.splice(count);
    this.lastSeqByFamily.clear();
    for (const record of records) this.lastSeqByFamily.set(record.familyId, record.seq);
  }

  private checkUsable(): void {
    if (this.failure !== null) {
      throw new EngineError('PREVIOUS_IO', 'an earlier WAL failure poisoned the database; reopen it', { cause: this.failure });
    }
  }

  /** The log is unusable from now on: every commit still waiting for a sync fails with it. */
  private fail(what: string, error: unknown): EngineError {
    const typed = ioError(`WAL ${what} failed`, error);
    this.failure ??= typed;
    for (const waiter of this.waiters.splice(0)) waiter.reject(typed);
    this.onIoError(typed);
    return typed;
  }

  /** Appends one transaction's redo; returns its sequence number. The record is complete on return. */
  append(familyId: number, durability: WalDurability, ops: RedoOp[]): number {
    this.checkUsable();
    const seq = this.nextSeq;
    const prevSeq = this.lastSeqByFamily.get(familyId) ?? 0;
    const bytes = encodeRecord({ seq, familyId, prevSeq, durableSeq: this.syncedSeq, durability, ops }, this.header.salt);
    try {
      this.storage.write(this.appendOffset, bytes);
    } catch (error) {
      throw this.fail('append', error);
    }
    this.live.push({ seq, familyId, offset: this.appendOffset });
    this.lastSeqByFamily.set(familyId, seq);
    this.appendOffset += bytes.length;
    this.nextSeq++;
    this.writtenSeq = seq;
    return seq;
  }

  /** Resolves once record `seq` is durable: after an fsync that began after it was written. */
  waitDurable(seq: number): Promise<void> {
    this.checkUsable();
    // A sequence this log never wrote was covered by a family header before the log lost it
    // (a log file recreated empty): nothing in this log can make it more durable.
    if (seq <= this.syncedSeq || seq > this.writtenSeq) return Promise.resolve();
    const promise = new Promise<void>((resolve, reject) => this.waiters.push({ seq, resolve, reject }));
    // A follower when a round is running: the leader starts another round for it if needed.
    this.syncRound ??= this.leadSyncRounds();
    return promise;
  }

  private async leadSyncRounds(): Promise<void> {
    try {
      while (this.failure === null && this.waiters.some((waiter) => waiter.seq > this.syncedSeq)) {
        if (this.options.groupCommitWindowMicros > 0) await this.options.clock.sleep(this.options.groupCommitWindowMicros);
        // Everything written so far is complete: writes are synchronous. Later ones wait.
        const coveredSeq = this.writtenSeq;
        try {
          this.syncCount++;
          await this.storage.sync();
        } catch (error) {
          this.fail('fsync', error);
          return;
        }
        this.syncedSeq = Math.max(this.syncedSeq, coveredSeq);
        this.settle();
      }
    } finally {
      this.syncRound = null;
      // A failure raised elsewhere (an append) may have ended the loop: nobody waits forever.
      if (this.failure !== null) for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
    }
  }

  private settle(): void {
    let kept = 0;
    for (const waiter of this.waiters) {
      if (waiter.seq <= this.syncedSeq) waiter.resolve();
      else this.waiters[kept++] = waiter;
    }
    this.waiters.length = kept;
  }

  /** Writes the header to the slot not known durable, and to its mirror. Header updates never overlap. */
  private writeHeader(header: WalHeader): void {
    const slot = 1 - this.durableSlot;
    const bytes = encodeHeader({ ...header, databaseId: this.options.databaseId, masterGeneration: this.options.masterGeneration?.() ?? 0 });
    try {
      this.storage.write(WAL_SLOT_OFFSETS[slot]!, bytes);
      this.storage.write(WAL_MIRROR_OFFSETS[slot]!, bytes);
    } catch (error) {
      throw this.fail('header write', error);
    }
    this.header = header;
  }

  private async syncHeader(): Promise<void> {
    try {
      this.syncCount++;
      await this.storage.sync();
    } catch (error) {
      throw this.fail('header fsync', error);
    }
    this.durableSlot = 1 - this.durableSlot;
  }

  /**
   * Drops the records at the head of the log that `isCovered` says a durable header holds,
   * stopping at the first one it does not (so nothing appended later is ever dropped). When
   * no record is left, resets the log to its start with a new salt. Callers serialize this.
   */
  async truncate(isCovered: (record: { readonly seq: number; readonly familyId: number }) => boolean): Promise<number> {
    this.checkUsable();
    let dropped = 0;
    while (dropped < this.live.length && isCovered(this.live[dropped]!)) dropped++;
    if (dropped === 0 && this.live.length > 0) return 0;
    this.live.splice(0, dropped);
    const first = this.live[0];
    const generation = this.header.generation + 1;
    if (first === undefined) {
      // Nothing live: start over at the front. The new salt makes every old record unreadable.
      const startSeq = Math.max(this.nextSeq, this.floorSeq + 1);
      const salt = this.resetSalt ?? (this.header.salt + 1) >>> 0;
      this.resetSalt = null;
      this.writeHeader({ generation, salt, startSeq, startOffset: WAL_HEADER_BYTES });
      this.appendOffset = WAL_HEADER_BYTES;
      this.skipTo(startSeq);
      this.resetPending = false;
      await this.syncHeader();
      // Only once the reset header is durable: a shorter file under the old header would hold
      // fewer records than a family header covers, which recovery must call damage.
      this.shrinkToHeader();
      return dropped;
    }
    this.writeHeader({ ...this.header, generation, startSeq: first.seq, startOffset: first.offset });
    await this.syncHeader();
    return dropped;
  }

  /**
   * After a reset is durable, gives back the space of the records it dropped (down to the
   * pre-allocated size): a checkpointed log holds no more than what was written since. Durable
   * with the next sync; lost, it leaves old records under the new header, which carry another salt.
   */
  private shrinkToHeader(): void {
    // Records appended while the reset header was being synced start at the front: keep them.
    const keptBytes = Math.max(WAL_HEADER_BYTES, this.options.preallocateBytes, this.appendOffset);
    if (this.storage.len() <= keptBytes) return;
    try {
      this.storage.setLen(keptBytes);
    } catch (error) {
      throw this.fail('truncation after a reset', error);
    }
  }

  /**
   * Hands out `startSeq` next. Every sequence below it is in no record this log holds: each
   * was written before the reset and is covered by a durable family header, or never written.
   */
  private skipTo(startSeq: number): void {
    if (startSeq === this.nextSeq) return;
    assert(startSeq > this.nextSeq && this.live.length === 0 && this.waiters.length === 0, 'sequences are skipped only forward, in an empty, idle log');
    this.nextSeq = startSeq;
    this.writtenSeq = startSeq - 1;
    this.syncedSeq = startSeq - 1;
  }

  /** Bytes of live records: the checkpoint trigger. */
  liveBytes(): number {
    const first = this.live[0];
    return first === undefined ? 0 : this.appendOffset - first.offset;
  }

  lastSeq(): number {
    return this.nextSeq - 1;
  }

  /** The master generation the header read at open witnesses (WalHeader.masterGeneration). */
  masterGeneration(): number {
    return this.header.masterGeneration ?? 0;
  }

  /** The log's file name, for messages. */
  fileName(): string {
    return this.options.name ?? 'the log';
  }

  /**
   * Never hands out a sequence at or below `seq` (a sequence a durable family header already
   * covers), even if the records that carried it are gone from the log. Recovery calls it
   * before the checkpoint that resets the log, and the reset applies it: the reset header's
   * start sequence is the next sequence handed out. Raising the next sequence after the reset,
   * without rewriting the header, would give the next record a sequence the header does not
   * expect: a scan stops at it, and a power cut loses an acknowledged commit (issue 11).
   */
  skipPast(seq: number): void {
    assert(Number.isSafeInteger(seq) && seq >= 0, 'a sequence is a non-negative integer');
    assert(this.resetPending, 'sequences are skipped only at recovery, before the log resets');
    this.floorSeq = Math.max(this.floorSeq, seq);
  }

  /**
   * Tells the log a family's last sequence when none of its records is in the log (recovery:
   * the family's durable header), so that the family's next record names it as `prevSeq`.
   */
  noteFamilySeq(familyId: number, seq: number): void {
    assert(Number.isSafeInteger(seq) && seq >= 0, 'a sequence is a non-negative integer');
    assert(seq < this.nextSeq, 'a family\'s last sequence was handed out already');
    if ((this.lastSeqByFamily.get(familyId) ?? 0) < seq) this.lastSeqByFamily.set(familyId, seq);
  }

  stats(): { syncs: number; liveRecords: number; liveBytes: number; nextSeq: number; syncedSeq: number } {
    return { syncs: this.syncCount, liveRecords: this.live.length, liveBytes: this.liveBytes(), nextSeq: this.nextSeq, syncedSeq: this.syncedSeq };
  }

  /** Waits for a running sync round (a closed fd must not be synced), then releases the file. */
  async close(): Promise<void> {
    if (this.syncRound !== null) await this.syncRound;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new EngineError('CLOSED', 'the database was closed'));
    this.storage.close();
  }
}
