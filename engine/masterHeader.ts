/**
 * The column-family master header: which families exist in the shared data file, their ids,
 * and the segments (extents of the file) each one owns. Two copies, each checksummed, at the
 * start of the file; the valid copy with the highest generation wins. A new copy is always
 * written over the copy NOT known durable, so a torn write can only lose the newest change,
 * never the last durable one (see docs/format.md).
 */
import { crc32 } from 'node:zlib';
import { EngineError, assert, corruption } from './errors.js';

export const MASTER_MAGIC = Uint8Array.from([0x63, 0x72, 0x61, 0x73, 0x68, 0x63, 0x66, 0x00]); // "crashcf\0"
export const MASTER_VERSION = 1;
export const MASTER_COPY_BYTES = 64 * 1024;
export const MASTER_OFFSETS = [0, MASTER_COPY_BYTES] as const;
/**
 * Each copy is written twice when it fits in half its region (a master of up to 32 KiB: dozens
 * of families), the mirror 32 KiB on, so one damaged copy is read past instead of sending
 * recovery to the older copy (which a torn copy write, legal because nothing was synced after
 * it, would). A larger master has no mirror: a stale one in its place is older, never chosen
 * over a valid primary.
 */
export const MASTER_MIRROR_DELTA_BYTES = MASTER_COPY_BYTES / 2;
/** Segments start after both copies. */
export const DATA_START_BYTES = 2 * MASTER_COPY_BYTES;
export const MASTER_FIXED_BYTES = 48;
export const MAX_FAMILIES = 64;
export const MAX_FAMILY_NAME_BYTES = 64;
export const MAX_SEGMENTS_PER_FAMILY = 48;
export const MAX_FREE_SEGMENTS = 256;
const LOG_LIVE_FLAG = 1;

export interface Segment {
  readonly offset: number;
  readonly lengthBytes: number;
}

export interface FamilyEntry {
  readonly id: number;
  readonly name: string;
  readonly segments: readonly Segment[];
}

export interface Master {
  readonly generation: number;
  /**
   * Drawn when the file is created and never changed: every header slot of the log carries it,
   * so a log of another database is refused, never replayed into this one (0: an unbound file).
   */
  readonly databaseId: number;
  /**
   * The log may hold commits the data file does not (flag bit 0 of bytes 12..15): set by every
   * master an open writes, cleared only by a clean close after its checkpoint emptied the log.
   * A live log that is missing, headerless or another database's is damage, never a new log.
   */
  readonly logLive: boolean;
  readonly nextFamilyId: number;
  readonly families: readonly FamilyEntry[];
  readonly freeSegments: readonly Segment[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function checkFamilyName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0) throw new TypeError('column family name must be a non-empty string');
  // A lone surrogate would encode as U+FFFD and collide with a different name.
  if (!name.isWellFormed()) throw new TypeError('column family name must be well-formed Unicode (no lone surrogates)');
  if (encoder.encode(name).length > MAX_FAMILY_NAME_BYTES) {
    throw new TypeError(`column family name exceeds ${MAX_FAMILY_NAME_BYTES} bytes`);
  }
  return name;
}

/** The largest database id (ids fit a u64 field but stay safe integers). */
export const MAX_DATABASE_ID = 2 ** 52 - 1;

/** A database id from two uniform draws in [0, 1): never 0 (0 marks a file bound to no log id). */
export function drawDatabaseId(random: () => number): number {
  const high = Math.floor(random() * 2 ** 26);
  const low = Math.floor(random() * 2 ** 26);
  const id = (high * 2 ** 26 + low) % MAX_DATABASE_ID + 1;
  assert(Number.isSafeInteger(id) && id >= 1 && id <= MAX_DATABASE_ID, 'a database id is in [1, MAX_DATABASE_ID]');
  return id;
}

export function encodeMaster(master: Master): Uint8Array {
  assert(master.families.length <= MAX_FAMILIES, 'family count within limit');
  assert(master.freeSegments.length <= MAX_FREE_SEGMENTS, 'free segments within limit');
  // Sized to what is written (at most one copy), not a zeroed 64 KiB copy per write.
  const names = master.families.map((family) => encoder.encode(family.name));
  let sizeBytes = MASTER_FIXED_BYTES + 4 + 16 * master.freeSegments.length;
  master.families.forEach((family, i) => { sizeBytes += 7 + names[i]!.length + 16 * family.segments.length; });
  assert(sizeBytes <= MASTER_COPY_BYTES, 'master header fits its copy');
  const out = new Uint8Array(sizeBytes);
  const view = new DataView(out.buffer);
  let at = MASTER_FIXED_BYTES;
  const segment = (s: Segment): void => {
    view.setBigUint64(at, BigInt(s.offset), true);
    view.setBigUint64(at + 8, BigInt(s.lengthBytes), true);
    at += 16;
  };
  master.families.forEach((family, i) => {
    assert(family.segments.length <= MAX_SEGMENTS_PER_FAMILY, 'segments per family within limit');
    const name = names[i]!;
    view.setUint32(at, family.id, true);
    view.setUint8(at + 4, name.length);
    out.set(name, at + 5);
    view.setUint16(at + 5 + name.length, family.segments.length, true);
    at += 7 + name.length;
    family.segments.forEach(segment);
  });
  master.freeSegments.forEach(segment);
  assert(at + 4 === sizeBytes, 'the master header fills what was sized for it');
  out.set(MASTER_MAGIC, 0);
  view.setUint32(8, MASTER_VERSION, true);
  view.setUint32(12, master.logLive ? LOG_LIVE_FLAG : 0, true);
  view.setBigUint64(16, BigInt(master.generation), true);
  view.setUint32(24, master.nextFamilyId, true);
  view.setUint32(28, master.families.length, true);
  view.setUint32(32, master.freeSegments.length, true);
  view.setUint32(36, at - MASTER_FIXED_BYTES, true);
  view.setBigUint64(40, BigInt(master.databaseId), true);
  view.setUint32(at, crc32(out.subarray(0, at)) >>> 0, true);
  return out;
}

/** Decodes one copy; null when it is torn, zeroed or not ours. */
export function decodeMaster(bytes: Uint8Array): Master | null {
  if (bytes.length < MASTER_FIXED_BYTES + 4 || !MASTER_MAGIC.every((b, i) => bytes[i] === b)) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const payloadBytes = view.getUint32(36, true);
  const end = MASTER_FIXED_BYTES + payloadBytes;
  if (end + 4 > bytes.length || view.getUint32(end, true) !== crc32(bytes.subarray(0, end)) >>> 0) return null;
  if (view.getUint32(8, true) !== MASTER_VERSION) {
    throw new EngineError('INVALID_FORMAT', `unsupported master header version ${view.getUint32(8, true)}`);
  }
  try {
    return decodeMasterBody(bytes, view, end);
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) throw corruption(`master header: ${error.message}`);
    throw error;
  }
}

function decodeMasterBody(bytes: Uint8Array, view: DataView, end: number): Master {
  let at = MASTER_FIXED_BYTES;
  const segment = (): Segment => {
    const s = { offset: Number(view.getBigUint64(at, true)), lengthBytes: Number(view.getBigUint64(at + 8, true)) };
    at += 16;
    if (s.offset < DATA_START_BYTES || s.lengthBytes <= 0) throw corruption(`master header: bad segment ${s.offset}+${s.lengthBytes}`);
    return s;
  };
  const familyCount = view.getUint32(28, true);
  const freeCount = view.getUint32(32, true);
  if (familyCount > MAX_FAMILIES || freeCount > MAX_FREE_SEGMENTS) throw corruption('master header: counts out of range');
  const families: FamilyEntry[] = [];
  for (let i = 0; i < familyCount; i++) {
    const id = view.getUint32(at, true);
    const nameBytes = view.getUint8(at + 4);
    const name = decoder.decode(bytes.subarray(at + 5, at + 5 + nameBytes));
    const count = view.getUint16(at + 5 + nameBytes, true);
    at += 7 + nameBytes;
    if (count > MAX_SEGMENTS_PER_FAMILY) throw corruption(`master header: family ${name} has ${count} segments`);
    families.push({ id, name, segments: Array.from({ length: count }, segment) });
  }
  const freeSegments = Array.from({ length: freeCount }, segment);
  if (at !== end) throw corruption('master header: length does not match its entries');
  const databaseId = Number(view.getBigUint64(40, true));
  if (!Number.isSafeInteger(databaseId)) throw corruption(`master header: database id ${view.getBigUint64(40, true)} out of range`);
  const flags = view.getUint32(12, true);
  if ((flags & ~LOG_LIVE_FLAG) !== 0) throw corruption(`master header: unknown flags ${flags}`);
  return { generation: Number(view.getBigUint64(16, true)), nextFamilyId: view.getUint32(24, true), families, freeSegments, databaseId, logLive: flags === LOG_LIVE_FLAG };
}
