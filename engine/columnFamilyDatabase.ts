/**
 * Column families in one data file with one shared write-ahead log (Manifold's design, with
 * a redo WAL so that the WAL-aware barrier is sound).
 *
 * Each family is a `Database` of its own (own allocator, writer queue, cached and dirty
 * pages, under one read-cache and write-buffer budget for all families) over its partition
 * of the shared file; writers of different families run concurrently and share WAL fsyncs
 * (group commit). A commit is acknowledged once its WAL
 * record is durable; its pages reach the data file at commit (`barrier: 'always'`), on
 * eviction, or at the next checkpoint (`'wal-aware'`).
 *
 * Checkpoint: for each family in turn, under its writer lock: write its dirty pages, fsync,
 * write its header slot with the WAL sequence it covers, fsync. Only then drop WAL records
 * that every family's durable header covers. Recovery: each family opens at its durable
 * header, the WAL records newer than it are replayed, everything is checkpointed, and the log
 * is reset. A crash anywhere in recovery leaves the log intact, so recovery simply runs again.
 */
import { randomInt } from 'node:crypto';
import { VirtualClock, type Clock } from './clock.js';
import {
  Database, openMode, readOnlyRefusal, resolveTarget, sharedPageBudget, type Barrier, type DatabaseOptions, type DatabaseStats, type Journal,
} from './database.js';
import { EngineError, corruption, ioError, osErrorCode } from './errors.js';
import { DEFAULT_PAGE_BYTES, isValidPageSize } from './format.js';
import { initializeFile } from './header.js';
import type { IntegrityReport } from './integrity.js';
import type { DigestMemo, EntryDigest, StateDigestReport } from './subtreeDigest.js';
import type { PageBudget } from './pager.js';
import { checkFamilyName, type FamilyEntry } from './masterHeader.js';
import type { RedoOp } from './redo.js';
import { SegmentedFile } from './segmentedFile.js';
import { ReadOnlyStorage } from './readOnlyStorage.js';
import { shape } from './shape.js';
import { TaskChain } from './taskChain.js';
import type { Storage, Vfs } from './storage.js';
import type { ReadTransaction, WriteTransaction } from './transaction.js';
import { Wal, type SalvageLoss, type WalRecord } from './wal.js';

export interface ColumnFamilyOptions extends DatabaseOptions {
  /** Keep a shared write-ahead log (default true); false commits each family the two-fsync way. */
  readonly wal?: boolean;
  /** When a commit's dirty pages reach the data file (default 'wal-aware'). Ignored without a WAL. */
  readonly barrier?: Barrier;
  /** The group-commit leader waits this long before fsync (default 0: the seed found no gain). */
  readonly groupCommitWindowMicros?: number;
  /** Checkpoint when the live WAL exceeds this (default 64 MiB). */
  readonly walCheckpointBytes?: number;
  /** Checkpoint when this much time passed on the clock since the last one (default 60 s). */
  readonly checkpointIntervalMicros?: number;
  /** Time source (default: a deterministic virtual clock). */
  readonly clock?: Clock;
  /** Zero-filled size of a new data file and of a new WAL (default 0). */
  readonly preallocateBytes?: number;
  /** Size of a family's first segment (default 256 pages); later segments double its space. */
  readonly initialSegmentBytes?: number;
  /**
   * Uniform draws in [0, 1) for the id a new data file is created with, which binds its log to
   * it (a log of another database is CORRUPTION, never replayed). Default: the OS's randomness
   * for a path (real files), a fixed id for a Vfs (a simulation stays deterministic: inject a
   * seeded PRNG there for databases that must tell each other's logs apart).
   */
  readonly random?: () => number;
  /**
   * `'strict'` (default): a log the data file cannot vouch for (another database's, records of a
   * family never created, a break in a family's chain) fails the open with CORRUPTION.
   * `'salvage'`: those records are dropped instead, every family opens at what survives, and
   * `recoveryReport()` lists what was dropped; a writable salvage makes that final at its
   * checkpoint. For an operator who chooses to, after reading the strict open's error.
   */
  readonly recover?: 'strict' | 'salvage';
}

/** What an open's recovery dropped: nothing in a strict open (it fails instead). */
export interface RecoveryReport {
  readonly mode: 'strict' | 'salvage';
  readonly lost: readonly SalvageLoss[];
}

export const DEFAULT_CF_FILE_NAME = 'crashlab.cf';

function recoverMode(options: ColumnFamilyOptions): 'strict' | 'salvage' {
  const mode = options.recover ?? 'strict';
  if (mode !== 'strict' && mode !== 'salvage') throw new TypeError(`recover must be 'strict' or 'salvage', not ${JSON.stringify(mode)}`);
  return mode;
}

/** Draws for a new file's database id (see ColumnFamilyOptions.random). */
function idSource(target: string | Vfs, options: ColumnFamilyOptions): () => number {
  if (options.random !== undefined) {
    if (typeof options.random !== 'function') throw new TypeError('random must be a function returning a number in [0, 1)');
    return options.random;
  }
  return typeof target === 'string' ? () => randomInt(2 ** 47) / 2 ** 47 : () => 0.5;
}

/** The write buffer of an open on a full disk (see openOnFullDisk): no bound but memory. */
const FULL_DISK_BUFFER_BYTES = 2 ** 52;

const CF_DEFAULTS = {
  wal: true,
  barrier: 'wal-aware' as Barrier,
  groupCommitWindowMicros: 0,
  walCheckpointBytes: 64 * 1024 * 1024,
  checkpointIntervalMicros: 60_000_000,
  preallocateBytes: 0,
};

type ResolvedOptions = typeof CF_DEFAULTS & ColumnFamilyOptions & { clock: Clock; pageBytes: number; initialSegmentBytes: number };

function resolveCfOptions(options: ColumnFamilyOptions): ResolvedOptions {
  const pageBytes = options.pageBytes ?? DEFAULT_PAGE_BYTES;
  if (!isValidPageSize(pageBytes)) throw new TypeError(`pageBytes must be a power of two in [512, 65536], not ${pageBytes}`);
  const merged = {
    ...CF_DEFAULTS, ...options, pageBytes, clock: options.clock ?? new VirtualClock(),
    initialSegmentBytes: options.initialSegmentBytes ?? 256 * pageBytes,
  };
  if (merged.barrier !== 'always' && merged.barrier !== 'wal-aware') {
    throw new TypeError(`barrier must be 'always' or 'wal-aware', not ${String(merged.barrier)}`);
  }
  if (merged.initialSegmentBytes % pageBytes !== 0 || merged.initialSegmentBytes < pageBytes) {
    throw new TypeError('initialSegmentBytes must be a positive multiple of pageBytes');
  }
  for (const key of ['groupCommitWindowMicros', 'walCheckpointBytes', 'checkpointIntervalMicros', 'preallocateBytes'] as const) {
    if (!Number.isSafeInteger(merged[key]) || merged[key] < 0) throw new TypeError(`${key} must be a non-negative integer`);
  }
  return merged;
}

/** One column family: a database of its own inside the shared file. */
export class ColumnFamily {
  readonly name: string;
  /** @internal */
  readonly id: number;
  /** @internal */
  readonly db: Database;

  /** @internal Use `ColumnFamilyDatabase.columnFamily`. */
  constructor(entry: FamilyEntry, db: Database) {
    this.name = entry.name;
    this.id = entry.id;
    this.db = db;
  }

  beginWrite(): Promise<WriteTransaction> {
    return this.db.beginWrite();
  }

  beginRead(): ReadTransaction {
    return this.db.beginRead();
  }

  checkIntegrity(): IntegrityReport {
    return this.db.checkIntegrity();
  }

  /** A crash harness's memoized check (Database.digestState, engine/subtreeDigest.ts). */
  digestState(hashFor: (table: string) => EntryDigest, memo: DigestMemo): StateDigestReport {
    return this.db.digestState(hashFor, memo);
  }

  stats(): DatabaseStats {
    return this.db.stats();
  }
}

export class ColumnFamilyDatabase {
  private readonly options: ResolvedOptions;
  private readonly file: SegmentedFile;
  private readonly wal: Wal | null;
  private readonly families = new Map<string, ColumnFamily>();
  private report: RecoveryReport = { mode: 'strict', lost: [] };
  /** A read-only open (or one on a full disk): no family is created or deleted, nothing is checkpointed. */
  private readOnly = false;
  private refusal: (what: string) => EngineError = readOnlyRefusal;
  /** Checkpoints and family deletions run one at a time. */
  private readonly maintenance = new TaskChain();
  private checkpointRunning = false;
  private readonly creations = new TaskChain();
  private lastCheckpointMicros: number;
  private poisoned: EngineError | null = null;
  /** A failure of a checkpoint no caller awaited (maybeCheckpoint): close rejects with it. */
  private detachedFailure: EngineError | null = null;
  private closed = false;
  /** One read-cache and write-buffer budget for all families: the options bound the whole file. */
  private readonly budget: PageBudget;

  private constructor(options: ResolvedOptions, file: SegmentedFile, wal: Wal | null) {
    this.budget = sharedPageBudget(options, options.pageBytes);
    this.options = options;
    this.file = file;
    this.wal = wal;
    this.lastCheckpointMicros = options.clock.nowMicros();
  }

  /**
   * Opens (or creates) the data file `name` and its log `name.wal`, then recovers: replays
   * the log into each family and checkpoints. A string target is the data file's path.
   */
  static async open(target: string | Vfs, options: ColumnFamilyOptions = {}): Promise<ColumnFamilyDatabase> {
    try {
      return await ColumnFamilyDatabase.openFiles(target, options);
    } catch (error) {
      if (options.readOnly === true || !(error instanceof EngineError) || osErrorCode(error) !== 'ENOSPC') throw error;
      return ColumnFamilyDatabase.openOnFullDisk(target, options, error);
    }
  }

  /**
   * The disk is full: recovery could not write its checkpoint (or evict a page). That attempt
   * left the files as a crash at that point would (no header names what it wrote), so every
   * acknowledged commit is still in the data file and the log: serve them as a read-only open
   * does, with nothing written, and fail every write with the disk-full error until the database
   * is reopened with space. When even that cannot open (a replay beyond the write buffer), the
   * disk-full error is what the caller gets.
   */
  private static async openOnFullDisk(target: string | Vfs, options: ColumnFamilyOptions, diskFull: EngineError): Promise<ColumnFamilyDatabase> {
    let degraded: ColumnFamilyDatabase;
    try {
      // The replay's dirty pages have nowhere to go on a full disk: they stay in memory whatever
      // the write buffer (at most the pages the log's records touch), as the price of serving them.
      degraded = await ColumnFamilyDatabase.openFiles(target, { ...options, readOnly: true, create: false, writeBufferBytes: FULL_DISK_BUFFER_BYTES });
    } catch {
      throw diskFull;
    }
    degraded.refuseWritesWith(() => new EngineError('IO', `the disk is full (ENOSPC): open could not checkpoint its recovery, so this handle serves every acknowledged commit read-only; free space and reopen the database to write`, { cause: diskFull }));
    return degraded;
  }

  private static async openFiles(target: string | Vfs, options: ColumnFamilyOptions): Promise<ColumnFamilyDatabase> {
    const { vfs, name } = resolveTarget('ColumnFamilyDatabase.open', target, options, DEFAULT_CF_FILE_NAME);
    const resolved = resolveCfOptions(options);
    const { create, readOnly } = openMode(options);
    const opened: Storage[] = [];
    const openFile = (fileName: string): Storage => {
      const storage = vfs.open(fileName, { create, readOnly });
      opened.push(storage);
      return readOnly ? new ReadOnlyStorage(storage, fileName) : storage;
    };
    let cfdb: ColumnFamilyDatabase | null = null;
    try {
      const created = !vfs.exists(name);
      const file = await SegmentedFile.open(openFile(name), { ...resolved, create, random: idSource(target, options) });
      // The data file's name is durable before its log exists: a log never outlives a data
      // file that never was (Wal's `new-data` check).
      if (created) await vfs.syncDir();
      const salvage = recoverMode(options) === 'salvage';
      const lost: SalvageLoss[] = [];
      const { wal, records } = resolved.wal ? await openLog(vfs, name, file, { ...resolved, readOnly, salvage, openFile, lost, onIoError: (error) => cfdb?.poisonAll(error) }) : { wal: null, records: [] };
      // Every master this process writes says the log is live, before any record is appended
      // (a family's commits come after a sync of the data file: the open's checkpoint or the
      // family's creation); only a clean close clears it.
      if (wal !== null && !readOnly) file.setLogLive(true);
      const opening = new ColumnFamilyDatabase(resolved, file, wal);
      cfdb = opening;
      for (const entry of file.families()) opening.attach(entry);
      opening.report = { mode: salvage ? 'salvage' : 'strict', lost };
      await opening.recover(records, readOnly);
      return opening;
    } catch (error) {
      for (const storage of opened) storage.close();
      if (readOnly && error instanceof EngineError && error.code === 'READ_ONLY') {
        throw new EngineError('READ_ONLY', `a read-only open of ${name} replays its log in memory, and the log's records need more than the write buffer (writeBufferBytes ${resolved.writeBufferBytes ?? 'default'}): open it writable to checkpoint them, or give a larger writeBufferBytes`, { cause: error });
      }
      throw error instanceof EngineError || error instanceof TypeError ? error : ioError(`opening ${name} failed`, error);
    }
  }

  /** Opens a family's database over its partition, wired to the shared log. */
  private attach(entry: FamilyEntry): ColumnFamily {
    const journal = this.journalFor(entry.id);
    const db = Database.openExisting(this.file.partition(entry.id), this.options, {
      journal,
      onIoError: (error) => this.poisonAll(error),
      budget: this.budget,
      masterGeneration: () => this.file.durableMasterGeneration(),
    });
    const family = new ColumnFamily(entry, db);
    this.families.set(entry.name, family);
    return family;
  }

  private journalFor(familyId: number): Journal | null {
    const wal = this.wal;
    if (wal === null) return null;
    return {
      barrier: this.options.barrier,
      append: (ops: RedoOp[], durability) => wal.append(familyId, durability, ops),
      waitDurable: (seq) => wal.waitDurable(seq),
      lastSeq: () => wal.lastSeq(),
      committed: () => this.maybeCheckpoint(),
    };
  }

  /** Replays every log record newer than its family's durable header, then checkpoints. */
  private async recover(all: WalRecord[], readOnly: boolean): Promise<void> {
    const byId = new Map([...this.families.values()].map((family) => [family.id, family]));
    this.checkMasterNotBehind();
    this.checkGaps();
    this.checkLogNotBehind();
    const records = this.knownFamilyRecords(all, byId);
    const lastSeq = new Map([...byId].map(([id, family]) => [id, family.db.durableWalSeq]));
    await shape.replay(() => this.replay(records, byId, lastSeq));
    if (readOnly) {
      // What was replayed stays in memory; the log keeps it for the next writable open.
      this.refuseWritesWith(readOnlyRefusal);
      return;
    }
    if (this.wal === null) return;
    // A family header may cover sequences whose records a crash took from the log: the log
    // must never hand those numbers out again, or replay would skip new commits. Told before
    // the checkpoint, whose reset of the log starts there (see Wal.skipPast).
    let covered = 0;
    for (const family of this.families.values()) covered = Math.max(covered, family.db.durableWalSeq);
    this.wal.skipPast(covered);
    await this.checkpoint({ force: true });
    for (const family of this.families.values()) this.wal.noteFamilySeq(family.id, family.db.durableWalSeq);
  }

  /** Replays the records newer than their family's durable header, each checked against its family's chain. */
  private async replay(records: readonly WalRecord[], byId: ReadonlyMap<number, ColumnFamily>, lastSeq: Map<number, number>): Promise<void> {
    const batches = new ReplayBatches();
    const broken = new Map<number, { -readonly [K in keyof SalvageLoss]: SalvageLoss[K] }>();
    for (const record of records) {
      const family = byId.get(record.familyId);
      // A deleted family's records, and records its durable header already holds, are skipped.
      if (family === undefined || record.seq <= family.db.durableWalSeq) continue;
      try {
        if (!broken.has(record.familyId)) {
          checkChained(record, family.name, lastSeq);
          await batches.apply(family.db, record);
          continue;
        }
      } catch (error) {
        if (this.report.mode !== 'salvage' || !(error instanceof EngineError)) throw error;
        broken.set(record.familyId, { kind: 'broken-chain', family: family.name, firstSeq: record.seq, lastSeq: record.seq, records: 0, detail: error.message });
      }
      // Salvage past a break: what follows it was built on what the break lost, so it is dropped,
      // and the family is still committed at its sequence, so the checkpoint covers it.
      const loss = broken.get(record.familyId)!;
      loss.lastSeq = record.seq;
      loss.records++;
      await batches.apply(family.db, { ...record, ops: [] });
    }
    await batches.commit();
    this.report = { ...this.report, lost: [...this.report.lost, ...broken.values()] };
  }

  /**
   * The records of families the master header knows. A record of a family id it never handed
   * out means the master read is older than the log (its newest copy is damaged): skipping them
   * as "deleted" would lose a whole family's acknowledged commits in silence, so a strict open
   * fails; a salvage drops them and reports it.
   */
  private knownFamilyRecords(records: readonly WalRecord[], byId: ReadonlyMap<number, unknown>): WalRecord[] {
    const nextFamilyId = this.file.nextFamilyId;
    const unknown = records.filter((record) => !byId.has(record.familyId) && record.familyId >= nextFamilyId);
    if (unknown.length === 0) return [...records];
    this.damaged({ kind: 'unknown-family', family: null, firstSeq: unknown[0]!.seq, lastSeq: unknown[unknown.length - 1]!.seq, records: unknown.length,
      detail: `log record ${unknown[0]!.seq} belongs to family id ${unknown[0]!.familyId}, which the master header (next id ${nextFamilyId}) never created` });
    return records.filter((record) => !unknown.includes(record));
  }

  /**
   * A clean close: the checkpoint reset the log (nothing live), so the master may say so, and a
   * log deleted after this close loses nothing and is no damage (Master.logLive).
   */
  private async markLogEmpty(): Promise<void> {
    if (this.wal === null || this.wal.stats().liveRecords > 0) return;
    this.file.setLogLive(false);
    await this.file.sync();
  }

  /** A strict open fails with CORRUPTION naming `detail`; a salvage reports it and goes on. */
  private damaged(loss: SalvageLoss): void {
    if (this.report.mode !== 'salvage') throw corruption(loss.detail);
    this.report = { ...this.report, lost: [...this.report.lost, loss] };
  }

  /**
   * Records the log's scan found damaged although a later record's watermark says they were
   * durable (Wal.gaps): harmless when every family's durable header covers them (whoever's they
   * were, nothing needs them), damage otherwise, never a silent end of the log.
   */
  private checkGaps(): void {
    const wal = this.wal;
    if (wal === null || wal.gaps.length === 0) return;
    let covered = Number.POSITIVE_INFINITY;
    for (const family of this.families.values()) covered = Math.min(covered, family.db.durableWalSeq);
    for (const gap of wal.gaps) {
      if (gap.lastSeq <= covered) continue;
      this.damaged({ kind: 'damaged-record', family: null, firstSeq: gap.firstSeq, lastSeq: gap.lastSeq, records: gap.lastSeq - gap.firstSeq + 1,
        detail: `${wal.fileName()}: records ${gap.firstSeq}..${gap.lastSeq} at offset ${gap.offset} are damaged or missing, but a later record says every sequence up to ${gap.watermark} was durable: acknowledged commits among them cannot be vouched for` });
    }
  }

  /**
   * Every family header and log header written after a master copy became durable names its
   * generation: a master read at open older than one of them means its newest copy is damaged
   * (a torn copy was never durable, so nothing written later names it). Reading on with the
   * older copy would lose or resurrect families, or lose segments, in silence.
   */
  private checkMasterNotBehind(): void {
    const read = this.file.generationRead;
    const witnesses: Array<[string, number]> = [...this.families.values()].map((family) => [`column family ${family.name}'s durable header`, family.db.durableMasterGeneration]);
    if (this.wal !== null && this.wal.existed) witnesses.push([`${this.wal.fileName()}'s header`, this.wal.masterGeneration()]);
    const newer = witnesses.find(([, generation]) => generation > read);
    if (newer === undefined) return;
    this.damaged({ kind: 'stale-master', family: null, firstSeq: 0, lastSeq: 0, records: 0,
      detail: `the data file's newest valid master header copy has generation ${read}, but ${newer[0]} was written after generation ${newer[1]} was durable: the newest master copy is damaged, and the families, segments or deletions it held may be lost` });
  }

  /**
   * A family's durable header never covers a sequence its log does not reach: a checkpoint syncs
   * the log up to the family's records before writing the header, and a reset header (starting
   * above every header's sequence) is durable before the log gives back their space. A log
   * behind the data file is an older copy, or was cut short: its last commits may be gone.
   */
  private checkLogNotBehind(): void {
    const wal = this.wal;
    if (wal === null || !wal.existed) return;
    for (const family of this.families.values()) {
      if (family.db.durableWalSeq <= wal.lastSeq()) continue;
      this.damaged({ kind: 'log-behind-data', family: family.name, firstSeq: wal.lastSeq() + 1, lastSeq: family.db.durableWalSeq, records: 0,
        detail: `${wal.fileName()} ends at sequence ${wal.lastSeq()}, but column family ${family.name}'s durable header covers sequence ${family.db.durableWalSeq}: the log is older than the data file (an older copy, or cut short), and commits after its end may be lost` });
      return;
    }
  }

  /** What this open's recovery dropped (`recover: 'salvage'`); a strict open's list is empty. */
  recoveryReport(): RecoveryReport {
    return this.report;
  }

  /** Called by any family after an I/O failure: the shared file or log is suspect for all. */
  private poisonAll(error: EngineError): void {
    this.poisoned ??= error;
    for (const family of this.families.values()) family.db.poison(error);
  }

  private checkUsable(): void {
    if (this.closed) throw new EngineError('CLOSED', 'the database is closed');
    if (this.poisoned !== null) {
      throw new EngineError('PREVIOUS_IO', 'an earlier I/O error poisoned this database; reopen it', { cause: this.poisoned });
    }
  }

  /**
   * Starts a checkpoint in the background when the live log passed its size budget or the
   * interval passed on the clock. The commit that triggers it does not wait for it.
   */
  private maybeCheckpoint(): void {
    if (this.wal === null || this.checkpointRunning || this.poisoned !== null || this.closed) return;
    const due = this.wal.liveBytes() >= this.options.walCheckpointBytes
      || this.options.clock.nowMicros() - this.lastCheckpointMicros >= this.options.checkpointIntervalMicros;
    if (!due) return;
    // Errors poison the database (the I/O paths report them), but no caller waits on this
    // checkpoint: close reports its failure, so it is never swallowed (see close).
    void this.checkpoint().catch((error: unknown) => {
      if (error instanceof EngineError) this.detachedFailure ??= error;
    });
  }

  /**
   * Checkpoints every family, then drops the WAL records their durable headers cover. Never
   * drops a record appended after its family's checkpoint: its sequence is above the header's.
   */
  checkpoint(options: { force?: boolean } = {}): Promise<void> {
    if (this.readOnly) return Promise.reject(this.refusal('a checkpoint'));
    return this.serialized(async () => {
      this.checkpointRunning = true;
      try {
        this.lastCheckpointMicros = this.options.clock.nowMicros();
        for (const family of [...this.families.values()]) await family.db.checkpoint(options);
        await this.wal?.truncate((record) => this.isCovered(record));
      } finally {
        this.checkpointRunning = false;
      }
    });
  }

  /**
   * Runs family creation, deletion and checkpoints one at a time, so a checkpoint never sees
   * a family half deleted (and never drops its records before the deletion is durable).
   */
  private serialized<T>(action: () => Promise<T>): Promise<T> {
    try {
      this.checkUsable();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    const run = async (): Promise<T> => {
      this.checkUsable();
      return action();
    };
    return this.maintenance.run(run);
  }

  private isCovered(record: { readonly seq: number; readonly familyId: number }): boolean {
    for (const family of this.families.values()) {
      if (family.id === record.familyId) return record.seq <= family.db.durableWalSeq;
    }
    return true; // its family was deleted (durably) and its records mean nothing now
  }

  /** The family named `name`, created (durably) on first use. */
  async columnFamily(name: string): Promise<ColumnFamily> {
    this.checkUsable();
    checkFamilyName(name);
    const existing = this.families.get(name);
    if (existing !== undefined) return existing;
    if (this.readOnly) throw this.refusal(`creating family ${name}`);
    // Creation needs no checkpoint to pause (a new family has no records yet), so it has a
    // queue of its own: a caller holding another family's write transaction never waits on one.
    const run = async (): Promise<ColumnFamily> => {
      this.checkUsable();
      const created = this.families.get(name);
      if (created !== undefined) return created;
      const pageBytes = this.options.pageBytes;
      try {
        const entry = await this.file.addFamily(name, (storage) => initializeFile(storage, pageBytes));
        return this.attach(entry);
      } catch (error) {
        // The shared file failed mid-creation: every family is suspect until reopen.
        if (error instanceof EngineError && error.code === 'IO') this.poisonAll(error);
        throw error;
      }
    };
    return this.creations.run(run);
  }

  listColumnFamilies(): string[] {
    this.checkUsable();
    return [...this.families.keys()].sort();
  }

  /**
   * Deletes a family and its data (durably). No transaction of it may be open. A barrier in the
   * log's global order: every commit issued before it is durable first, so a crash never keeps
   * the deletion while losing an earlier `none` commit of another family.
   */
  deleteColumnFamily(name: string): Promise<boolean> {
    try {
      if (this.readOnly) throw this.refusal(`deleting family ${name}`);
      this.checkNoOtherWriter(name);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.serialized(async () => {
      // Again in turn: a writer may have begun while this deletion queued.
      this.checkNoOtherWriter(name);
      const family = this.families.get(name);
      if (family === undefined) return false;
      await family.db.close();
      // The removal reaches the disk through the master header, outside the log: so the log
      // is made durable up to its last record before the header is written.
      if (this.wal !== null) await this.wal.waitDurable(this.wal.lastSeq());
      await this.file.removeFamily(family.id).catch((error: unknown) => {
        if (error instanceof EngineError && error.code === 'IO') this.poisonAll(error);
        throw error;
      });
      // Only now, with the removal durable, may its WAL records count as covered.
      this.families.delete(name);
      return true;
    });
  }

  /**
   * A deletion waits for the maintenance queue, and a checkpoint ahead of it waits for every
   * family's writer slot: with a write transaction of another family open (maybe the caller's
   * own, which it cannot finish while it awaits this deletion) that would wait forever. JS
   * cannot tell whose transaction it is, so any open one refuses the deletion at once.
   */
  private checkNoOtherWriter(name: string): void {
    for (const family of this.families.values()) {
      if (family.name !== name && family.db.hasOpenWriter) {
        throw new EngineError('BUSY', `cannot delete family ${name} while a write transaction of family ${family.name} is open: commit or abort it first`);
      }
    }
  }

  /** From here on every write fails with `refusal`'s error, in every family (a read-only open). */
  private refuseWritesWith(refusal: (what: string) => EngineError): void {
    this.readOnly = true;
    this.refusal = refusal;
    for (const family of this.families.values()) family.db.refuseWrites(refusal);
  }

  stats(): { families: number; wal: ReturnType<Wal['stats']> | null; fileBytes: number } {
    return { families: this.families.size, wal: this.wal?.stats() ?? null, fileBytes: this.file.fileBytes() };
  }

  /**
   * Checkpoints (so the next open replays nothing), then releases both files. After a failed
   * background checkpoint, releases them too, then rejects with PREVIOUS_IO: its failed fsync
   * may have dropped acknowledged `none` commits, and close is the last call that can tell the
   * caller (issue 12's `hole`: a silent close let later commits survive past the loss). A
   * failure some call already reported does not make close reject.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.maintenance.idle();
    try {
      if (this.poisoned === null && !this.readOnly) {
        await this.checkpoint();
        await this.markLogEmpty();
      }
      for (const family of this.families.values()) await family.db.close();
    } finally {
      this.closed = true;
      await this.wal?.close();
      this.file.close();
    }
    if (this.detachedFailure !== null) {
      throw new EngineError('PREVIOUS_IO', 'closed, but a background checkpoint failed and poisoned this database: commits acknowledged since its last durable sync may be lost', { cause: this.detachedFailure });
    }
  }
}

type LogOpening = ResolvedOptions & {
  readonly readOnly: boolean;
  readonly salvage: boolean;
  readonly openFile: (fileName: string) => Storage;
  /** What a salvage drops is added here. */
  readonly lost: SalvageLoss[];
  readonly onIoError: (error: EngineError) => void;
};

/**
 * Opens the log of data file `name` (creating it when it is missing), judged by what the data
 * file says of it (WalOptions.expect). A missing live log is damage: a strict open fails with
 * CORRUPTION, a salvage goes on without it and reports it. A read-only open of a database
 * without its log reads what the data file holds, as a writable open would after creating one.
 */
async function openLog(vfs: Vfs, name: string, file: SegmentedFile, opening: LogOpening): Promise<{ wal: Wal | null; records: WalRecord[] }> {
  const logName = `${name}.wal`;
  const expect = file.logLive() ? 'live' : file.createdNow ? 'new-data' : undefined;
  const exists = vfs.exists(logName);
  if (!exists && expect === 'live') {
    const detail = `${logName} is missing, but ${name} says its log is live (it was not closed cleanly): commits acknowledged since the last checkpoint may have been in it; restore it, or open with recover: 'salvage' to go on without them`;
    if (!opening.salvage) throw corruption(detail);
    opening.lost.push({ kind: 'missing-log', family: null, firstSeq: 0, lastSeq: 0, records: 0, detail });
  }
  if (opening.readOnly && !exists) return { wal: null, records: [] };
  const walOptions = { ...opening, databaseId: file.databaseId(), name: logName, masterGeneration: () => file.durableMasterGeneration() };
  const opened = await Wal.open(opening.openFile(logName), expect === undefined ? walOptions : { ...walOptions, expect }, opening.onIoError);
  if (opened.foreign !== undefined) opening.lost.push(opened.foreign);
  if (!exists) await vfs.syncDir();
  return opened;
}

/**
 * Replays each family's records in one write transaction, committed at its last record's
 * sequence: a page that many records change is encoded once, not once per record. Sound because
 * nothing sees the states between records (open has not returned, and the family's writer slot
 * is held until the commit), each family is a database of its own, so records of different
 * families need no order among them, and the chain check still runs record by record.
 */
class ReplayBatches {
  private readonly open = new Map<Database, { readonly txn: WriteTransaction; seq: number }>();

  async apply(db: Database, record: WalRecord): Promise<void> {
    let batch = this.open.get(db);
    if (batch === undefined) {
      batch = { txn: await db.beginWrite(), seq: 0 };
      this.open.set(db, batch);
    }
    // No abort when this throws: the error fails open, which closes the files and drops every
    // family with its transaction; no header names a page the replay wrote.
    applyRedo(batch.txn, record.ops);
    batch.seq = record.seq;
  }

  async commit(): Promise<void> {
    for (const { txn, seq } of this.open.values()) await txn.commitReplay(seq);
    this.open.clear();
  }
}

/** Applies one WAL record's operations through an ordinary write transaction. */
function applyRedo(txn: WriteTransaction, ops: readonly RedoOp[]): void {
  for (const op of ops) {
    switch (op.op) {
      case 'create': txn.openTable(op.table); break;
      case 'delete': txn.deleteTable(op.table); break;
      case 'insert': txn.openTable(op.table).insert(op.key, op.value); break;
      case 'remove': txn.openTable(op.table).remove(op.key); break;
      case 'clear': txn.openTable(op.table).clear(); break;
    }
  }
}


/**
 * Replays only a chain: the record's predecessor in its family must be replayed already or
 * covered by the family's durable header. Otherwise that header is older than the one the log
 * was truncated against (a damaged newest slot), and replaying would leave a hole.
 */
function checkChained(record: WalRecord, familyName: string, lastSeq: Map<number, number>): void {
  const last = lastSeq.get(record.familyId) ?? 0;
  if (record.prevSeq > last) {
    shape.count('chainRejections');
    throw new EngineError('CORRUPTION', `family ${familyName}: log record ${record.seq} follows record ${record.prevSeq}, which neither its durable header (up to ${last}) nor the log holds`);
  }
  lastSeq.set(record.familyId, record.seq);
}
