/**
 * One data file shared by every column family: the master header at the front, then segments.
 * Each family sees its segments, concatenated, as one `Storage` (a partition), like
 * Manifold's PartitionedStorageBackend. Writing past a partition's end grows it by a new
 * segment, recorded in the master header (written at once, durable with the next sync of
 * the file). A family's commit slot is written only after a sync, so the segment map is
 * always durable before a durable header names a page in new space (invariant 6).
 *
 * Space a partition has never written is unspecified (a reused or torn segment may hold old
 * bytes): the engine reads only pages a checksummed pointer names, never "the zeros past EOF".
 */
import { EngineError, assert, corruption, ioError } from './errors.js';
import {
  DATA_START_BYTES, MASTER_COPY_BYTES, MASTER_FIXED_BYTES, MASTER_MIRROR_DELTA_BYTES, MASTER_OFFSETS, MAX_FAMILIES, MAX_FREE_SEGMENTS, MAX_SEGMENTS_PER_FAMILY,
  decodeMaster, drawDatabaseId, encodeMaster, type FamilyEntry, type Master, type Segment,
} from './masterHeader.js';
import { newerCopy } from './mirror.js';
import type { Storage } from './storage.js';
import { TaskChain } from './taskChain.js';

/**
 * Decodes a master copy from whatever part of it the file holds (a short file). Reads the
 * fixed part first and then only the payload it announces (plus its CRC), not the whole 64 KiB
 * copy: an open reads a few hundred bytes. A payload length that is damaged reads at most the
 * copy, and the CRC then rejects it as before.
 */
function readCopy(storage: Storage, offset: number): Master | null {
  return newerCopy(readOne(storage, offset, MASTER_COPY_BYTES), readOne(storage, offset + MASTER_MIRROR_DELTA_BYTES, MASTER_MIRROR_DELTA_BYTES),
    (master) => master.generation);
}

/** One copy (or mirror) at `offset`, at most `regionBytes` long. */
function readOne(storage: Storage, offset: number, regionBytes: number): Master | null {
  const available = Math.min(regionBytes, storage.len() - offset);
  if (available <= 0) return null;
  if (available < MASTER_FIXED_BYTES) return decodeMaster(storage.read(offset, available));
  const fixed = storage.read(offset, MASTER_FIXED_BYTES);
  const payloadBytes = new DataView(fixed.buffer, fixed.byteOffset, fixed.byteLength).getUint32(36, true);
  return decodeMaster(storage.read(offset, Math.min(available, MASTER_FIXED_BYTES + payloadBytes + 4)));
}

/** Largest single segment: growth doubles a family's space up to this step. */
export const MAX_SEGMENT_BYTES = 1024 * 1024 * 1024;

export interface SegmentedFileOptions {
  /** First segment of a family; later ones double the family's space. */
  readonly initialSegmentBytes: number;
  /** Zero-filled size for a new data file (0: none). */
  readonly preallocateBytes: number;
  /** False: a file without a master header is INVALID_FORMAT, not initialised (default true). */
  readonly create?: boolean;
  /** Uniform draws in [0, 1) for the database id of a new file (see ColumnFamilyOptions.random). */
  readonly random: () => number;
}

export class SegmentedFile {
  private readonly storage: Storage;
  private readonly options: SegmentedFileOptions;
  private master: Master;
  /** Copy index (0 or 1) known durable; writes go to the other one. */
  private durableCopy: number;
  /** The in-memory master differs from the durable one; the next sync writes it. */
  private masterDirty = false;
  private readonly syncs = new TaskChain();
  private syncFailure: EngineError | null = null;
  /** Segments freed by a master write not yet known durable: not reusable until it is. */
  private pendingFree: Segment[] = [];
  private nextOffset: number;

  private constructor(storage: Storage, options: SegmentedFileOptions, master: Master, durableCopy: number) {
    assert(options.initialSegmentBytes > 0, 'segments have a size');
    this.storage = storage;
    this.options = options;
    this.master = master;
    this.durableCopy = durableCopy;
    this.generationRead = master.generation;
    this.durableGeneration = master.generation;
    this.nextOffset = DATA_START_BYTES;
    for (const s of [...master.families.flatMap((f) => f.segments), ...master.freeSegments]) {
      this.nextOffset = Math.max(this.nextOffset, s.offset + s.lengthBytes);
    }
  }

  /** Reads the master header, or initializes an empty file (durably) when the file is new. */
  static async open(storage: Storage, options: SegmentedFileOptions): Promise<SegmentedFile> {
    const copies = MASTER_OFFSETS.map((offset) => readCopy(storage, offset));
    let index = -1;
    copies.forEach((copy, i) => {
      if (copy !== null && (index < 0 || copy.generation > copies[index]!.generation)) index = i;
    });
    if (index >= 0) {
      const file = new SegmentedFile(storage, options, copies[index]!, index);
      // What was read may be only in the page cache (an earlier process's fsync failed and
      // the kernel dropped the write): rewrite it to the other copy at the first sync, so no
      // header this process makes durable names a segment that only the cache knows.
      file.update({ ...file.master, generation: file.master.generation + 1 });
      return file;
    }
    // The first master is synced before any segment is used: with no valid copy and nothing
    // past the master region, the file's creation never completed and nothing can be lost.
    const restBytes = Math.max(0, storage.len() - DATA_START_BYTES);
    if (restBytes > 0 && !storage.read(DATA_START_BYTES, restBytes).every((b) => b === 0)) {
      throw corruption('both master header copies are invalid');
    }
    // A new file (or one whose creation never reached the disk): nothing was ever acknowledged,
    // but it is initialised only when creation was asked.
    if (options.create === false) {
      throw new EngineError('INVALID_FORMAT', `${storage.len()}-byte file holds no master header, and create is false`);
    }
    const databaseId = drawDatabaseId(options.random);
    const file = new SegmentedFile(storage, options, { generation: 0, nextFamilyId: 1, families: [], freeSegments: [], databaseId, logLive: false }, 1);
    file.update({ generation: 1, nextFamilyId: 1, families: [], freeSegments: [], databaseId, logLive: false });
    file.createdNow = true;
    if (options.preallocateBytes > storage.len()) storage.setLen(options.preallocateBytes);
    await file.sync();
    return file;
  }

  /** This open initialised the file (new, or an unfinished creation). */
  createdNow = false;
  /** The generation of the master copy read at open (0: a new file). */
  readonly generationRead: number;
  /** The generation of the newest master known durable: what later headers may witness. */
  private durableGeneration: number;

  /** What a header written now may name as the durable master generation (CommitSlot.masterGeneration). */
  durableMasterGeneration(): number {
    return this.durableGeneration;
  }

  /** What the durable master said at open, or what this process set since (Master.logLive). */
  logLive(): boolean {
    return this.master.logLive;
  }

  /** Marks the log live or empty; the next sync writes it (before any record, after a clean close's reset). */
  setLogLive(live: boolean): void {
    if (this.master.logLive !== live) this.update({ ...this.master, generation: this.master.generation + 1, logLive: live });
  }

  /** The id the file was created with: the log must carry it (masterHeader.ts). */
  databaseId(): number {
    return this.master.databaseId;
  }

  families(): readonly FamilyEntry[] {
    return this.master.families;
  }

  family(id: number): FamilyEntry | undefined {
    return this.master.families.find((f) => f.id === id);
  }

  /** Records a new master in memory; the next `sync` writes it, then makes it durable. */
  private update(next: Master): void {
    assert(next.generation > this.master.generation, 'master generations increase');
    this.master = next;
    this.masterDirty = true;
  }

  /**
   * Syncs the file. Syncs run one at a time and the master is written only at the start of
   * one, to the copy not known durable: so no master write ever lands on a copy while it is
   * being synced, and the durable copy is never overwritten before the other one is durable.
   */
  sync(): Promise<void> {
    const run = async (): Promise<void> => {
      // fsyncgate, for every family at once: the failed sync may have dropped any family's
      // pages, so no later sync of this file may report them durable.
      if (this.syncFailure !== null) throw this.syncFailure;
      const wrote = this.masterDirty;
      const generation = this.master.generation;
      if (wrote) {
        try {
          const bytes = encodeMaster(this.master);
          const at = MASTER_OFFSETS[1 - this.durableCopy]!;
          this.storage.write(at, bytes);
          if (bytes.length <= MASTER_MIRROR_DELTA_BYTES) this.storage.write(at + MASTER_MIRROR_DELTA_BYTES, bytes);
        } catch (error) {
          throw ioError('master header write failed', error);
        }
        this.masterDirty = false;
      }
      try {
        await this.storage.sync();
      } catch (error) {
        this.syncFailure = ioError('fsync of the data file failed', error);
        throw this.syncFailure;
      }
      if (wrote) {
        this.durableCopy = 1 - this.durableCopy;
        this.durableGeneration = generation;
        this.pendingFree = [];
      }
    };
    // A failed sync fails this caller; the next one runs anyway (and the storage decides).
    return this.syncs.run(run);
  }

  /** Takes a segment for `familyId`: a durably freed one that fits, else new space at the end. */
  private takeSegment(wantedBytes: number): Segment {
    const reusable = this.master.freeSegments.findIndex((s) => s.lengthBytes >= wantedBytes && !this.pendingFree.includes(s));
    if (reusable >= 0) {
      const segment = this.master.freeSegments[reusable]!;
      const freeSegments = this.master.freeSegments.filter((_, i) => i !== reusable);
      this.master = { ...this.master, freeSegments };
      return segment;
    }
    const segment = { offset: this.nextOffset, lengthBytes: wantedBytes };
    this.nextOffset += wantedBytes;
    return segment;
  }

  /** Grows a family until its space is at least `minBytes`. Called from a partition write. */
  grow(familyId: number, minBytes: number): void {
    let family = this.family(familyId);
    assert(family !== undefined, 'only a known family grows');
    while (capacityOf(family.segments) < minBytes) {
      if (family.segments.length >= MAX_SEGMENTS_PER_FAMILY) {
        throw new EngineError('TOO_LARGE', `column family ${family.name} reached ${MAX_SEGMENTS_PER_FAMILY} segments`);
      }
      const wantedBytes = Math.min(MAX_SEGMENT_BYTES, Math.max(this.options.initialSegmentBytes, capacityOf(family.segments)));
      const segments: Segment[] = [...family.segments, this.takeSegment(wantedBytes)];
      family = { ...family, segments };
      this.replaceFamily(family);
    }
  }

  private replaceFamily(family: FamilyEntry): void {
    const families = this.master.families.map((f) => (f.id === family.id ? family : f));
    this.update({ ...this.master, generation: this.master.generation + 1, families });
  }

  /**
   * Creates a family durably: its first segment is initialized by `initialize` (the family's
   * own header, written through the partition) and synced BEFORE the master lists it, so a
   * listed family always has a durable header and zeros there are corruption, never "empty".
   */
  async addFamily(name: string, initialize: (storage: Storage) => void): Promise<FamilyEntry> {
    if (this.master.families.length >= MAX_FAMILIES) throw new EngineError('TOO_LARGE', `at most ${MAX_FAMILIES} column families`);
    assert(this.master.families.every((f) => f.name !== name), 'family names are unique');
    const family: FamilyEntry = { id: this.master.nextFamilyId, name, segments: [this.takeSegment(this.options.initialSegmentBytes)] };
    initialize(new Partition(this, () => family));
    await this.sync();
    this.update({
      ...this.master, generation: this.master.generation + 1, nextFamilyId: family.id + 1,
      families: [...this.master.families, family],
    });
    await this.sync();
    return family;
  }

  /** Removes a family durably; its segments become reusable once that removal is durable. */
  async removeFamily(id: number): Promise<void> {
    const family = this.family(id);
    assert(family !== undefined, 'only a known family is removed');
    const freed = family.segments.slice(0, MAX_FREE_SEGMENTS - this.master.freeSegments.length);
    this.pendingFree.push(...freed);
    this.update({
      ...this.master, generation: this.master.generation + 1,
      families: this.master.families.filter((f) => f.id !== id),
      freeSegments: [...this.master.freeSegments, ...freed],
    });
    await this.sync();
  }

  /** Family ids below this one were handed out (a family not listed below it was deleted). */
  get nextFamilyId(): number {
    return this.master.nextFamilyId;
  }

  partition(id: number): Partition {
    assert(this.family(id) !== undefined, 'a partition belongs to a known family');
    return new Partition(this, () => this.family(id));
  }

  /** Raw access for partitions; a failure is typed IO (the pager above reports it). `shared`: see Storage.readShared. */
  readRaw(offset: number, lengthBytes: number, shared = false): Uint8Array {
    try {
      return shared && this.storage.readShared !== undefined ? this.storage.readShared(offset, lengthBytes) : this.storage.read(offset, lengthBytes);
    } catch (error) {
      throw ioError(`read of ${lengthBytes} bytes at ${offset} failed`, error);
    }
  }

  writeRaw(offset: number, data: Uint8Array): void {
    try {
      this.storage.write(offset, data);
    } catch (error) {
      throw ioError(`write of ${data.length} bytes at ${offset} failed`, error);
    }
  }

  fileBytes(): number {
    return this.storage.len();
  }

  close(): void {
    this.storage.close();
  }
}

function capacityOf(segments: readonly Segment[]): number {
  let total = 0;
  for (const s of segments) total += s.lengthBytes;
  return total;
}

/**
 * One family's view of the file: its segments, concatenated. Reads of space the file does
 * not hold yet (a segment past the file's end) read zeros, like a sparse file.
 */
export class Partition implements Storage {
  private readonly file: SegmentedFile;
  private readonly entry: () => FamilyEntry | undefined;

  constructor(file: SegmentedFile, entry: () => FamilyEntry | undefined) {
    this.file = file;
    this.entry = entry;
  }

  private segments(): readonly Segment[] {
    const family = this.entry();
    if (family === undefined) throw new EngineError('CLOSED', 'the column family was deleted');
    return family.segments;
  }

  len(): number {
    return capacityOf(this.segments());
  }

  /** Calls `action` for each piece of [offset, offset + lengthBytes) with its file offset. */
  private map(offset: number, lengthBytes: number, action: (fileOffset: number, from: number, to: number) => void): void {
    let base = 0;
    let done = offset;
    const end = offset + lengthBytes;
    for (const segment of this.segments()) {
      const segmentEnd = base + segment.lengthBytes;
      if (done < segmentEnd && done < end) {
        const to = Math.min(end, segmentEnd);
        action(segment.offset + (done - base), done - offset, to - offset);
        done = to;
      }
      base = segmentEnd;
    }
    assert(done === end, 'the range lies inside the partition');
  }

  read(offset: number, lengthBytes: number): Uint8Array {
    this.checkInside(offset, lengthBytes);
    const whole = this.readWhole(offset, lengthBytes, false);
    if (whole !== null) return whole;
    const out = new Uint8Array(lengthBytes);
    this.map(offset, lengthBytes, (fileOffset, from, to) => {
      const available = Math.max(0, Math.min(to - from, this.file.fileBytes() - fileOffset));
      if (available > 0) out.set(this.file.readRaw(fileOffset, available), from);
    });
    return out;
  }

  /** Storage.readShared: a page inside one segment is the file's own view; anything else, a copy. */
  readShared(offset: number, lengthBytes: number): Uint8Array {
    this.checkInside(offset, lengthBytes);
    return this.readWhole(offset, lengthBytes, true) ?? this.read(offset, lengthBytes);
  }

  private checkInside(offset: number, lengthBytes: number): void {
    if (offset + lengthBytes > this.len()) {
      throw new EngineError('IO', `read of ${lengthBytes} bytes at ${offset} past the partition's ${this.len()} bytes`);
    }
  }

  /**
   * The common case of a read (one page inside one segment the file holds entirely) without
   * the zeroed copy the general path assembles: null when the range is not that case.
   */
  private readWhole(offset: number, lengthBytes: number, shared: boolean): Uint8Array | null {
    let base = 0;
    for (const segment of this.segments()) {
      if (offset < base + segment.lengthBytes) {
        const fileOffset = segment.offset + (offset - base);
        const inside = offset + lengthBytes <= base + segment.lengthBytes;
        return inside && fileOffset + lengthBytes <= this.file.fileBytes() ? this.file.readRaw(fileOffset, lengthBytes, shared) : null;
      }
      base += segment.lengthBytes;
    }
    return null;
  }

  write(offset: number, data: Uint8Array): void {
    if (data.length === 0) return;
    const family = this.entry();
    if (family === undefined) throw new EngineError('CLOSED', 'the column family was deleted');
    if (offset + data.length > this.len()) this.file.grow(family.id, offset + data.length);
    this.map(offset, data.length, (fileOffset, from, to) => this.file.writeRaw(fileOffset, data.subarray(from, to)));
  }

  /** Partitions only grow; a smaller length is ignored (space is reused, never returned). */
  setLen(lengthBytes: number): void {
    const family = this.entry();
    if (family !== undefined && lengthBytes > this.len()) this.file.grow(family.id, lengthBytes);
  }

  sync(): Promise<void> {
    return this.file.sync();
  }

  /** The shared file is closed by its owner, not by a partition. */
  close(): void {}
}
