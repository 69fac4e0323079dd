/**
 * THE CRASH MODEL (after SQLite's crash VFS, test6.c)
 *
 * A FaultyVfs holds, for every file, two things: the DURABLE image (what the disk holds for
 * certain) and the ordered list of PENDING operations (writes and length changes) made since
 * the file's last successful sync. Reads see the durable image with every pending operation
 * applied, as a program sees the OS page cache. A successful `sync` applies the pending list
 * to the durable image and empties it. The directory works the same way: creations and
 * removals are pending until `syncDir`.
 *
 * A crash (power loss) turns each file's pending list into one outcome, chosen by a
 * `CrashPlan` that is plain data (so fast-check can generate and shrink it):
 *   - `none`: every unsynced operation is lost;
 *   - `all`: every one survives (a process crash: the page cache outlives the process);
 *   - `prefix`: the first k survive, for a seeded k per file (an in-order device);
 *   - `subset`: any subset survives, in order (a device that reorders writes);
 * and, with `tear`, a surviving write may be torn at sector granularity: with
 * `atomicSector` each sector is written whole or not at all; without it a sector may end
 * up holding a prefix of its new bytes over the old ones. Unsynced creations and removals
 * are lost unless `keepUnsyncedDirOps`; with `'some'`, each unsynced entry independently
 * survives or not (a file system that journals directory entries one by one, so a data file
 * may come back without the log created beside it).
 *
 * Errors are injected by count: EIO on the Nth write, read or sync, ENOSPC past a capacity.
 * A failed sync follows Linux (fsyncgate): the data it covered is dropped from the pending
 * list, so it will never become durable, yet reads still return it (the pages are "clean").
 *
 * Crash points: every state-changing I/O event (write, setLen, sync, syncDir) is numbered;
 * with `crashAtEvent: k` the power fails just before event k takes effect and every later
 * call fails. `crashImage(plan)` then yields the bytes a reboot would find, and
 * `FaultyVfs.fromImage` mounts them again (so recovery itself can crash). Corruption (bit
 * flips, unreadable sectors) is applied to durable bytes, to check that it is detected; both
 * wrap around the file they hit, so they always land inside it.
 * (`crashSnapshot` yields the same image without copying: durable bytes are shared copy on
 * write, cowBytes.ts, and the surviving writes are laid over them when the image is used.)
 *
 * Everything is deterministic: no clock, no Math.random; the plan's seed, mixed with the number
 * of I/O events before the crash (`crashSeed`), drives every choice,
 * and the I/O trace is hashed so two runs of one seed can be compared byte for byte.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { EngineError } from '../engine/errors.js';
import type { OpenOptions, Storage, Vfs } from '../engine/storage.js';
import { checkName, checkOpenOptions, checkRead, checkSetLen, checkWrite, FileLock } from '../engine/storageChecks.js';
import { CowBytes, type FileOp } from './cowBytes.js';
import { CrashImage, type ImageRecipe, flipOffset } from './crashImage.js';
import { Prng } from './prng.js';

export type Survival = 'none' | 'all' | 'prefix' | 'subset';

export interface CrashPlan {
  readonly survival: Survival;
  readonly tear: boolean;
  readonly sectorBytes: 512 | 4096;
  readonly atomicSector: boolean;
  /** Unsynced creations and removals: all lost (false), all kept (true), or each by a coin ('some'). */
  readonly keepUnsyncedDirOps: boolean | 'some';
  /** Seeds every choice the plan leaves open (prefix lengths, subsets, torn sectors). */
  readonly seed: number;
}

/** What the disk holds once every write reached it: nothing unsynced survives (after a clean close, nothing is pending). */
export const DURABLE_ONLY: CrashPlan = { survival: 'none', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 0 };

export interface ErrorPlan {
  /** The Nth write (counting from 0) fails with EIO and changes nothing. */
  readonly failWriteAt?: number;
  readonly failReadAt?: number;
  /** The Nth sync fails with EIO, and the data it covered is lost (fsyncgate). */
  readonly failSyncAt?: number;
  /** Growing the files' total size past this fails with ENOSPC. */
  readonly capacityBytes?: number;
}

export type Corruption =
  /**
   * A bit flip at `offset`, wrapping around the file; with `live`, the offset counts only the
   * file's non-zero bytes (headers, pages, records: what was written), so that a flip lands in
   * data a reader decodes rather than in the zeros of unused space.
   */
  | {
    readonly kind: 'flip'; readonly file: string; readonly offset: number; readonly bit: number; readonly live?: boolean | undefined;
    /**
     * Aimed: `offset` counts from the start of the file's `anchor`-th header, which the harness
     * finds in the image before corrupting it (properties/aimedFlips.ts); this layer knows no
     * file format, and `CrashImage.corrupt` refuses a flip whose anchor was not resolved.
     */
    readonly anchor?: number | undefined;
    /**
     * One of two flips that strike a structure and its redundant copy (properties/crashArbitraries.ts,
     * twin flips): the harness judges such damage as beyond the format's redundancy.
     */
    readonly twin?: boolean | undefined;
  }
  | { readonly kind: 'unreadable'; readonly file: string; readonly offset: number; readonly lengthBytes: number };

export interface FaultyVfsOptions {
  /** Power fails just before I/O event k (0-based) takes effect. */
  readonly crashAtEvent?: number | undefined;
  readonly errors?: ErrorPlan;
  /** Byte ranges whose reads fail with EIO (an unreadable sector). */
  readonly unreadable?: ReadonlyArray<Extract<Corruption, { kind: 'unreadable' }>>;
  /** Called before each state-changing event takes effect: a crash image taken now is "crash at `index`". */
  readonly onEvent?: (index: number, op: IoEvent['op'], file: string) => void;
  /** Decides when a sync's completion is observed (fast-check's scheduler reorders them). */
  readonly scheduleSync?: (file: string, completion: Promise<void>) => Promise<void>;
}

export interface IoEvent {
  readonly index: number;
  readonly op: 'write' | 'setLen' | 'sync' | 'syncDir' | 'create' | 'remove';
  readonly file: string;
  readonly offset: number;
  readonly lengthBytes: number;
  readonly outcome: 'ok' | 'crash' | 'eio' | 'enospc';
}

/**
 * What a crash did to one unsynced change: a pending write or length change of a file
 * (`opIndex` counts the file's pending list from its last sync), or an unsynced directory
 * entry (`create` / `remove`, `opIndex` -1). A torn write lists the byte ranges [start, end)
 * that reached the image; for `setLen`, `offset` is the new length.
 */
export interface CrashDecision {
  readonly file: string;
  readonly opIndex: number;
  readonly kind: 'write' | 'setLen' | 'create' | 'remove';
  readonly offset: number;
  readonly lengthBytes: number;
  readonly fate: 'kept' | 'dropped' | 'torn';
  readonly keptRanges?: ReadonlyArray<readonly [number, number]>;
}

type PendingOp = FileOp;

/** Events whose hashing may wait (a bound on the written data they keep alive). */
const MAX_UNHASHED_EVENTS = 4_096;

/** Events kept for reports; older ones still count in the index and the trace hash. */
const MAX_KEPT_EVENTS = 100_000;

/** The error a call gets once the power has failed. */
export class PowerCut extends Error {
  constructor(what: string) {
    // No stack: after a cut every call fails (a target closing after recovery makes thousands),
    // capturing stacks cost a few percent of a campaign, and the message says all there is.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`power cut: ${what} did not happen`);
    Error.stackTraceLimit = limit;
    this.name = 'PowerCut';
  }
}

function injected(code: 'EIO' | 'ENOSPC', what: string): Error {
  return Object.assign(new Error(`${code} (injected): ${what}`), { code });
}

/**
 * One file: its durable bytes, its pending operations, and the view reads see. The view is
 * forked from the durable bytes at the first change (copy on write: recovery mostly reads).
 */
class FaultyFile {
  private durableBytes: CowBytes;
  private changed: CowBytes | null = null;
  private pendingOps: PendingOp[] = [];
  /** A failed sync dropped operations the view still shows: the view is no longer durable + pending. */
  private diverged = false;
  readonly lock = new FileLock();

  /** Takes `bytes` over: the caller must not write them again. */
  constructor(bytes: CowBytes) {
    this.durableBytes = bytes;
  }

  get durable(): CowBytes {
    return this.durableBytes;
  }

  get pending(): readonly PendingOp[] {
    return this.pendingOps;
  }

  get view(): CowBytes {
    return this.changed ?? this.durableBytes;
  }

  apply(op: PendingOp): void {
    this.changed ??= this.durableBytes.fork();
    this.changed.apply(op);
    this.pendingOps.push(op);
  }

  /**
   * A successful sync: every pending operation reaches the durable image. While the view is
   * exactly the durable bytes with the pending operations laid over them, it becomes the
   * durable image as it is (the next change forks it again) instead of a second application.
   */
  commit(): void {
    if (this.changed !== null && !this.diverged) {
      this.durableBytes = this.changed;
      this.changed = null;
    } else {
      for (const op of this.pendingOps) this.durableBytes.apply(op);
    }
    this.pendingOps = [];
  }

  /** A failed sync (fsyncgate): the pending operations are dropped, never durable; reads still see them. */
  dropPending(): void {
    if (this.pendingOps.length > 0) this.diverged = true;
    this.pendingOps = [];
  }
}

class FaultyStorage implements Storage {
  private closed = false;
  private syncsInFlight = 0;

  constructor(private readonly vfs: FaultyVfs, private readonly name: string, private readonly file: FaultyFile, private readonly readOnly = false) {}

  private check(): void {
    if (this.closed) throw new EngineError('CLOSED', `${this.name} is closed`);
  }

  len(): number {
    this.check();
    return this.file.view.length;
  }


  read(offset: number, lengthBytes: number): Uint8Array {
    this.checkedRead(offset, lengthBytes);
    return this.file.view.read(offset, lengthBytes);
  }

  /** Storage.readShared: a view of the copy-on-write bytes (cowBytes.ts keeps it unchanged). */
  readShared(offset: number, lengthBytes: number): Uint8Array {
    this.checkedRead(offset, lengthBytes);
    return this.file.view.view(offset, lengthBytes);
  }

  /** What every read checks and may fail with, before any byte is read. */
  private checkedRead(offset: number, lengthBytes: number): void {
    this.check();
    checkRead(this.name, offset, lengthBytes, this.file.view.length);
    this.vfs.beforeRead(this.name, offset, lengthBytes);
  }

  write(offset: number, data: Uint8Array): void {
    this.check();
    checkWrite(this.name, offset, data);
    if (data.length === 0) return;
    const growthBytes = Math.max(0, offset + data.length - this.file.view.length);
    // A copy (even of a Buffer, whose slice is a view): crash images keep it to lay over later,
    // and the trace hashes it later (FaultyVfs.record): nothing writes it again.
    const copy = new Uint8Array(data);
    this.vfs.beforeChange('write', this.name, offset, data.length, growthBytes, copy);
    this.file.apply({ kind: 'write', offset, data: copy });
  }

  setLen(lengthBytes: number): void {
    this.check();
    checkSetLen(this.name, lengthBytes);
    this.vfs.beforeChange('setLen', this.name, lengthBytes, 0, Math.max(0, lengthBytes - this.file.view.length));
    this.file.apply({ kind: 'setLen', lengthBytes });
  }

  async sync(): Promise<void> {
    this.check();
    this.syncsInFlight++;
    try {
      const failed = this.syncDurably();
      if (failed !== null) {
        await Promise.resolve();
        throw failed;
      }
      await this.vfs.completion(this.name);
    } finally {
      this.syncsInFlight--;
    }
  }

  /** The same sync, synchronously: one I/O event, the same failures; no scheduler in between. */
  syncNow(): void {
    this.check();
    const failed = this.syncDurably();
    if (failed !== null) throw failed;
  }

  /** The sync's effect on the durable image, or the injected failure (with its data dropped). */
  private syncDurably(): Error | null {
    const failed = this.vfs.beforeSync(this.name);
    if (failed !== null) {
      // fsyncgate: the kernel drops the dirty pages it could not write; reads still see them.
      this.file.dropPending();
      return failed;
    }
    this.file.commit();
    return null;
  }

  close(): void {
    this.check();
    if (this.syncsInFlight > 0) throw new TypeError(`close() of ${this.name} while a sync() is in flight: await it first`);
    this.closed = true;
    this.file.lock.release(this.readOnly);
  }
}

export class FaultyVfs implements Vfs {
  private readonly files = new Map<string, FaultyFile>();
  /** The directory as the disk knows it: names whose creation (or survival) is durable. */
  private durableNames = new Map<string, FaultyFile>();
  private readonly options: FaultyVfsOptions;
  private eventCount = 0;
  private writes = 0;
  private reads = 0;
  private syncs = 0;
  private readonly kept: IoEvent[] = [];
  private readonly hash: Hash = createHash('sha256');
  /** Events not hashed yet, with their data (never written again): see `record`. */
  private unhashed: Array<{ readonly event: IoEvent; readonly data: Uint8Array | undefined }> = [];
  private cut = false;

  constructor(options: FaultyVfsOptions = {}) {
    this.options = options;
  }

  /** Mounts a crash image: every file durable exactly as given (a copy: the image is left alone). */
  static fromImage(image: ReadonlyMap<string, Uint8Array> | CrashImage, options: FaultyVfsOptions = {}): FaultyVfs {
    const shared = image instanceof CrashImage ? image : CrashImage.copyOf(image);
    const files = new Map(shared.names().map((name) => [name, new FaultyFile(shared.fork(name)!)]));
    const unreadable = options.unreadable?.map((bad) => placeSector(bad, files.get(bad.file)?.durable.length ?? 0));
    const vfs = new FaultyVfs(unreadable === undefined ? options : { ...options, unreadable });
    for (const [name, file] of files) {
      vfs.files.set(name, file);
      vfs.durableNames.set(name, file);
    }
    return vfs;
  }

  get crashed(): boolean {
    return this.cut;
  }

  /** The power fails now: every later call fails, as after `crashAtEvent` (the durable image stays). */
  powerCut(): void {
    this.cut = true;
  }

  /** State-changing I/O events so far (the crash-point space). */
  get events(): number {
    return this.eventCount;
  }

  recentEvents(): readonly IoEvent[] {
    return this.kept;
  }

  /** SHA-256 over every event: equal for two runs exactly when their I/O traces are equal. */
  traceHash(): string {
    this.hashEvents();
    return this.hash.copy().digest('hex');
  }

  private record(op: IoEvent['op'], file: string, offset: number, lengthBytes: number, outcome: IoEvent['outcome'], data?: Uint8Array): void {
    const event: IoEvent = { index: this.eventCount++, op, file, offset, lengthBytes, outcome };
    // Hashed when the hash is asked for (or many events later), not now: most mounts of a crash
    // image (recoveries) are never asked, and hashing every write they made was a tenth of an open.
    this.unhashed.push({ event, data });
    if (this.unhashed.length >= MAX_UNHASHED_EVENTS) this.hashEvents();
    if (this.kept.length >= MAX_KEPT_EVENTS) this.kept.shift();
    this.kept.push(event);
  }

  private hashEvents(): void {
    for (const { event, data } of this.unhashed) {
      const { index, op, file, offset, lengthBytes, outcome } = event;
      // The written bytes count too: two traces are equal only if every byte written is.
      const dataCrc = data === undefined ? '-' : crc32(data).toString(16);
      this.hash.update(`${index} ${op} ${file} ${offset} ${lengthBytes} ${outcome} ${dataCrc}\n`);
    }
    this.unhashed = [];
  }

  /** Numbers the event; cuts the power when its number is the plan's crash point. */
  private event(op: IoEvent['op'], file: string, offset: number, lengthBytes: number): void {
    if (this.cut) throw new PowerCut(`${op} ${file}`);
    this.options.onEvent?.(this.eventCount, op, file);
    if (this.options.crashAtEvent === this.eventCount) {
      this.record(op, file, offset, lengthBytes, 'crash');
      this.cut = true;
      throw new PowerCut(`${op} ${file}`);
    }
  }

  /** @internal Checks a write or length change against the plan before it happens. */
  beforeChange(op: 'write' | 'setLen', file: string, offset: number, lengthBytes: number, growthBytes: number, data?: Uint8Array): void {
    this.event(op, file, offset, lengthBytes);
    const errors = this.options.errors;
    if (op === 'write' && errors?.failWriteAt === this.writes++) {
      this.record(op, file, offset, lengthBytes, 'eio');
      throw injected('EIO', `write of ${lengthBytes} bytes at ${offset} in ${file}`);
    }
    if (errors?.capacityBytes !== undefined && growthBytes > 0 && this.totalBytes() + growthBytes > errors.capacityBytes) {
      this.record(op, file, offset, lengthBytes, 'enospc');
      throw injected('ENOSPC', `${file} cannot grow by ${growthBytes} bytes`);
    }
    this.record(op, file, offset, lengthBytes, 'ok', data);
  }

  /** @internal Returns the injected failure of this sync, if the plan has one. */
  beforeSync(file: string): Error | null {
    this.event('sync', file, 0, 0);
    if (this.options.errors?.failSyncAt === this.syncs++) {
      this.record('sync', file, 0, 0, 'eio');
      return injected('EIO', `fsync of ${file}`);
    }
    this.record('sync', file, 0, 0, 'ok');
    return null;
  }

  /** @internal Reads are not crash points, but may fail (EIO by count, or an unreadable sector). */
  beforeRead(file: string, offset: number, lengthBytes: number): void {
    if (this.cut) throw new PowerCut(`read ${file}`);
    if (this.options.errors?.failReadAt === this.reads++) throw injected('EIO', `read of ${lengthBytes} bytes at ${offset} in ${file}`);
    for (const bad of this.options.unreadable ?? []) {
      if (bad.file === file && offset < bad.offset + bad.lengthBytes && bad.offset < offset + lengthBytes) {
        throw injected('EIO', `unreadable sector at ${bad.offset} in ${file}`);
      }
    }
  }

  /** @internal When the caller sees a sync complete: now, or when the scheduler says. */
  completion(file: string): Promise<void> {
    const done = Promise.resolve();
    return this.options.scheduleSync === undefined ? done : this.options.scheduleSync(file, done);
  }

  private totalBytes(): number {
    let total = 0;
    for (const file of this.files.values()) total += file.view.length;
    return total;
  }

  open(name: string, options: OpenOptions): Storage {
    checkName(name);
    checkOpenOptions(options);
    if (this.cut) throw new PowerCut(`open ${name}`);
    let file = this.files.get(name);
    if (file === undefined) {
      if (!options.create) throw new EngineError('NOT_FOUND', `no file named ${name}`);
      this.event('create', name, 0, 0);
      this.record('create', name, 0, 0, 'ok');
      file = new FaultyFile(CowBytes.empty());
      this.files.set(name, file);
    }
    file.lock.acquire(name, options.readOnly === true);
    return new FaultyStorage(this, name, file, options.readOnly === true);
  }

  remove(name: string): void {
    checkName(name);
    if (!this.files.has(name)) throw new EngineError('NOT_FOUND', `no file named ${name}`);
    this.event('remove', name, 0, 0);
    this.record('remove', name, 0, 0, 'ok');
    this.files.delete(name);
  }

  exists(name: string): boolean {
    checkName(name);
    if (this.cut) throw new PowerCut(`exists ${name}`);
    return this.files.has(name);
  }

  async syncDir(): Promise<void> {
    this.syncDirNow();
    await this.completion('.');
  }

  /** `syncDir` synchronously: one I/O event, no scheduler in between. */
  syncDirNow(): void {
    this.event('syncDir', '.', 0, 0);
    this.record('syncDir', '.', 0, 0, 'ok');
    this.durableNames = new Map(this.files);
  }

  /**
   * The bytes a reboot would find, by the crash model at the top of this file. Deterministic
   * for a given plan (its seed) and history. Does not change this VFS.
   */
  crashImage(plan: CrashPlan): Map<string, Uint8Array> {
    return this.crashImageExplained(plan).image;
  }

  /**
   * The crash image together with what the plan decided for every pending operation and
   * unsynced directory entry (for reports). Consumes the plan's PRNG exactly as the image
   * alone needs, so the image is the one `crashImage` returns.
   */
  crashImageExplained(plan: CrashPlan): { image: Map<string, Uint8Array>; decisions: CrashDecision[] } {
    const { image, decisions } = this.crashSnapshot(plan);
    return { image: image.toBytes(), decisions };
  }

  /**
   * `crashImageExplained` without copying anything: the image shares the durable bytes (copy
   * on write) and keeps the surviving writes to lay over them when it is first used.
   */
  crashSnapshot(plan: CrashPlan): { image: CrashImage; decisions: CrashDecision[] } {
    const seed = crashSeed(plan.seed, this.events);
    const prng = new Prng(seed);
    const { names, decisions } = directoryDecisions(this.durableNames, this.files, plan, seed);
    const recipes = new Map<string, ImageRecipe>();
    for (const [name, file] of [...names].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const ops: FileOp[] = [];
      const kept = new Set(survivors(file.pending, plan.survival, prng));
      file.pending.forEach((op, opIndex) => {
        const base = op.kind === 'write'
          ? { file: name, opIndex, kind: 'write' as const, offset: op.offset, lengthBytes: op.data.length }
          : { file: name, opIndex, kind: 'setLen' as const, offset: op.lengthBytes, lengthBytes: 0 };
        if (!kept.has(op)) {
          decisions.push({ ...base, fate: 'dropped' });
        } else if (op.kind === 'write' && plan.tear && prng.coin()) {
          const keptRanges = tear(op, plan, prng, ops);
          decisions.push({ ...base, fate: 'torn', keptRanges });
        } else {
          ops.push(op);
          decisions.push({ ...base, fate: 'kept' });
        }
      });
      recipes.set(name, { base: file.durable.fork(), ops });
    }
    return { image: new CrashImage(recipes), decisions };
  }

  /** The image as the processes' page cache holds it: what a process crash (SIGKILL) leaves. */
  currentImage(): Map<string, Uint8Array> {
    return new Map([...this.files].map(([name, file]) => [name, file.view.toUint8Array()]));
  }
}

function survivors(pending: readonly PendingOp[], survival: Survival, prng: Prng): PendingOp[] {
  switch (survival) {
    case 'none': return [];
    case 'all': return [...pending];
    case 'prefix': return pending.slice(0, prng.below(pending.length + 1));
    case 'subset': return pending.filter(() => prng.coin());
  }
}

/**
 * An unreadable range placed in its file as mounted: the offset wraps around the file (as a
 * flip's does) and is aligned down to the range's length, so that the sector always holds bytes
 * recovery may read. A file that is empty or absent has nowhere to place it.
 */
function placeSector(bad: Extract<Corruption, { kind: 'unreadable' }>, fileBytes: number): Extract<Corruption, { kind: 'unreadable' }> {
  if (fileBytes === 0) return bad;
  const offset = Math.floor((bad.offset % fileBytes) / bad.lengthBytes) * bad.lengthBytes;
  return { ...bad, offset };
}

/** Seeds the per-entry directory coins apart from the data operations' PRNG. */
const DIRECTORY_SALT = 0x00d1_7e57;

/**
 * The seed of one crash: the plan's, mixed with the number of I/O events so far. Crashes at
 * different points of a run draw independently (with the plan's seed alone, every capture of
 * a run kept the same entries and the same write positions), and one point always draws the same.
 */
export function crashSeed(planSeed: number, events: number): number {
  return (planSeed ^ Math.imul(events + 1, 0x9e37_79b1)) >>> 0;
}

/**
 * The files a reboot finds, and the fate of every unsynced directory entry. A name whose entry
 * changed since the last syncDir comes back as it is now (kept) or as it was then (dropped).
 */
function directoryDecisions(durable: ReadonlyMap<string, FaultyFile>, current: ReadonlyMap<string, FaultyFile>,
  plan: CrashPlan, seed: number): { names: Map<string, FaultyFile>; decisions: CrashDecision[] } {
  const decisions: CrashDecision[] = [];
  const names = new Map(durable);
  const coins = plan.keepUnsyncedDirOps === 'some' ? new Prng(seed ^ DIRECTORY_SALT) : null;
  for (const name of [...new Set([...durable.keys(), ...current.keys()])].sort()) {
    const before = durable.get(name);
    const after = current.get(name);
    if (before === after) continue;
    const keep = coins === null ? plan.keepUnsyncedDirOps === true : coins.coin();
    const fate = keep ? 'kept' as const : 'dropped' as const;
    // A name recreated since the last syncDir is a removal and a creation of a new file.
    if (before !== undefined) decisions.push({ file: name, opIndex: -1, kind: 'remove', offset: 0, lengthBytes: before.durable.length, fate });
    if (after !== undefined) decisions.push({ file: name, opIndex: -1, kind: 'create', offset: 0, lengthBytes: 0, fate });
    if (!keep) continue;
    if (after === undefined) names.delete(name);
    else names.set(name, after);
  }
  return { names, decisions };
}

/**
 * Tears a write sector by sector, each sector kept or lost (or, if not atomic, cut short), and
 * adds the pieces that survive to `out`. Returns the byte ranges [start, end) that reached the
 * image, merged where adjacent.
 */
function tear(op: Extract<PendingOp, { kind: 'write' }>, plan: CrashPlan, prng: Prng, out: FileOp[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const end = op.offset + op.data.length;
  for (let start = op.offset; start < end;) {
    const sectorEnd = Math.min(end, (Math.floor(start / plan.sectorBytes) + 1) * plan.sectorBytes);
    if (prng.coin()) {
      const keptEnd = plan.atomicSector ? sectorEnd : start + prng.below(sectorEnd - start + 1);
      if (keptEnd > start) {
        out.push({ kind: 'write', offset: start, data: op.data.subarray(start - op.offset, keptEnd - op.offset) });
        const last = ranges[ranges.length - 1];
        if (last !== undefined && last[1] === start) last[1] = keptEnd;
        else ranges.push([start, keptEnd]);
      }
    }
    start = sectorEnd;
  }
  return ranges;
}

/** Flips bits in an image (corruption of durable bytes); offsets wrap around each file. */
export function corruptImage(image: ReadonlyMap<string, Uint8Array>, corruptions: readonly Corruption[]): Map<string, Uint8Array> {
  if (!corruptions.some((corruption) => corruption.kind === 'flip')) return new Map(image);
  const out = new Map([...image].map(([name, bytes]) => [name, bytes.slice()]));
  for (const corruption of corruptions) {
    const bytes = out.get(corruption.file);
    if (corruption.kind === 'flip' && corruption.anchor !== undefined) throw new TypeError('an aimed flip must be resolved to an offset before corrupting (properties/aimedFlips.ts)');
    if (corruption.kind !== 'flip' || bytes === undefined) continue;
    const at = flipOffset(bytes, corruption);
    if (at !== null) bytes[at] = bytes[at]! ^ (1 << (corruption.bit & 7));
  }
  return out;
}

