/**
 * THE CRASH MODEL OVER TRACES (after SQLite's crash VFS, test6.c, and fault/faultyVfs.ts)
 *
 * A trace (fault/trace.ts) lists what a program did to the files under one root. Power fails
 * just before event `crashAt` takes effect: events [0, crashAt) happened, in the page cache at
 * least. What the disk holds is decided in two steps.
 *
 * 1. DURABILITY (the file-system model, fault/fsModels.ts, `posix` or `ext4`). Every
 *    state-changing event becomes an OPERATION (an op): a name op (create, mkdir, link,
 *    unlink, rmdir, rename) or a data op (write, truncate). Each op is DURABLE (the model
 *    promises it survives, e.g. the file was fsynced after it) or PENDING. The model also
 *    classifies ops (ext4: journalled metadata, delayed-allocation write, overwrite) and may
 *    tie a pending op to a later event (ext4's auto_da_alloc: a rename-over forces out the
 *    source's data).
 *
 * 2. THE PLAN (`TraceCrashPlan`, plain data so fast-check can generate and shrink it) picks,
 *    within what the model allows, which pending ops survive:
 *      - `none`: only what the model promises; every pending op is lost;
 *      - `all`: every op survives, untorn (a process crash: the page cache outlives it);
 *      - `prefix`: a seeded prefix of the pending ops, in trace order;
 *      - `subset`: each pending op by a seeded coin;
 *    and, with `tear`, a surviving pending write may be torn at sector granularity
 *    (`sectorBytes`): each sector kept or lost; without `atomicSector` a sector may end up with
 *    only a prefix of its new bytes (the rest old), as in faultyVfs. The models restrict both
 *    (ext4: the journal only ever loses a suffix of the metadata, see fsModels.ts).
 *
 * The image is then built by applying, in trace order, to the state every durable op had made
 * (the durable BASE, see below), every op that is durable or survived. An op that cannot apply
 * because an op it depends on was lost is lost too, and the decision says so: a create inside
 * a directory whose mkdir was lost, a rename of a name whose create was lost (the target keeps
 * its old file: rename is one atomic op, so a name is never left pointing at neither), an rmdir
 * of a directory a lost unlink left non-empty. Data belongs to inodes, not names: a write whose
 * file's create was lost still lands on the inode, and shows only if a name for it survives; an
 * inode without a surviving name is simply absent. A name whose data did not survive holds the
 * inode's older (durable) bytes, possibly none.
 *
 * Cost: durable ops are folded into the base as the trace is fed (`TraceCrashModel.apply`):
 * those that precede every pending op, and durable data ops no pending op of their inode
 * precedes (data commutes with names). So an image costs a copy of the base's name table plus
 * the ops still in the tail (the pending ones and durable name ops after them), not the whole
 * trace. Image bytes are shared copy on write with the base and with other images, and may be
 * views into larger buffers: treat them as read-only, and copy (`slice`) to keep or change.
 *
 * Everything is deterministic: no clock, no Math.random. The plan's seed mixed with `crashAt`
 * (faultyVfs' `crashSeed`) drives every choice, so one crash point and plan give one image.
 */
import { crashSeed } from './faultyVfs.js';
import { createFsModel, type FsModel } from './fsModels.js';
import { Prng } from './prng.js';
import { checkTracePath, parentOf, TRACE_MAX_FILE_BYTES, TraceError, type DirImage, type TraceEvent } from './trace.js';

export type FsModelName = 'posix' | 'ext4';
export const FS_MODELS: readonly FsModelName[] = ['posix', 'ext4'];

export interface TraceCrashPlan {
  readonly survival: 'none' | 'all' | 'prefix' | 'subset';
  readonly tear: boolean;
  readonly sectorBytes: 512 | 4096;
  readonly atomicSector: boolean;
  /** Seeds every choice the plan leaves open (prefix lengths, coins, torn sectors). */
  readonly seed: number;
}

/** A trace event that changes state: what durability is about. */
export type StateEvent = Exclude<TraceEvent, { kind: 'fsync' } | { kind: 'marker' }>;

/**
 * How a model classes an op: `name` (posix name ops), `data` (posix writes and truncates),
 * `meta` (ext4's journalled name ops and size changes), `delayed` (ext4 writes that allocate
 * blocks at writeback), `overwrite` (ext4 writes into blocks already allocated).
 */
export type OpClass = 'name' | 'data' | 'meta' | 'delayed' | 'overwrite';

/** One state-changing event of the trace, with what the model knows of its durability. */
export interface TraceOp {
  readonly index: number;
  readonly event: StateEvent;
  /** The inode the op is about: the written inode, or the inode a name op names. */
  readonly ino: number;
  /** The workload transaction issued most recently before the op (null before any). */
  readonly txn: number | null;
  /** For reports: the path (a rename: `from → to`) or `inode N` (data ops). */
  readonly what: string;
  opClass: OpClass;
  durable: boolean;
  /** posix name ops: the directory inodes still to be fsynced before the op is durable. */
  waitingDirs: Set<number> | null;
  /** ext4: the event index that forces this write out before its commit (auto_da_alloc). */
  forcedAt: number | null;
}

/**
 * What the crash did to one pending op, for reports (and to a durable op that could not apply
 * because it needs a lost one: fate `dropped`, reason saying so).
 */
export interface TraceDecision {
  readonly index: number;
  readonly kind: StateEvent['kind'];
  /** The path (name ops; a rename is `from → to`) or `inode N` (data ops). */
  readonly what: string;
  readonly fate: 'kept' | 'dropped' | 'torn';
  /** Why, in a few words: the plan's draw, the journal cut, a lost dependency... */
  readonly reason: string;
  /** A torn write: the byte ranges [start, end) of the file that reached the image. */
  readonly keptRanges?: ReadonlyArray<readonly [number, number]>;
}

/** A model's choice for one pending op; `pieces` are the parts of a torn write that land. */
export interface OpChoice {
  readonly fate: 'kept' | 'dropped' | 'torn';
  readonly reason: string;
  readonly pieces?: ReadonlyArray<{ readonly offsetBytes: number; readonly data: Uint8Array }>;
}

/** A data op waiting in a lazy state until its inode's bytes are needed. */
type DataOp = { readonly offsetBytes: number; readonly data: Uint8Array } | { readonly sizeBytes: number };

const EMPTY = new Uint8Array(0);

/**
 * Names → inodes and inodes → bytes, applying ops leniently: `apply` answers false (and
 * changes nothing) when an op cannot apply in this state. Bytes are copy on write: an array
 * is mutated only by the state that owns it (`owned`), so clones and images can share them;
 * an owned array grows by doubling, so a file built by many appends costs linear time. A LAZY
 * state (an image being built) only queues data ops, and lays them over the bytes of the
 * inodes that still have a name when the image is taken: most written inodes of a store's
 * trace are temp files replaced since, and their bytes are never needed.
 */
export class FsState {
  private readonly queued = new Map<number, DataOp[]>();

  private constructor(
    private readonly names: Map<string, number>,
    private readonly dirInodes: Set<number>,
    private readonly data: Map<number, Uint8Array>,
    private readonly owned: Set<number>,
    private lazy: boolean,
  ) {}

  static empty(): FsState {
    return new FsState(new Map(), new Set([0]), new Map(), new Set(), false);
  }

  /** A copy to change apart from this one; neither may mutate the bytes they now share. */
  clone(lazy = false): FsState {
    if (this.lazy) throw new Error('a lazy FsState is not cloned');
    this.owned.clear();
    return new FsState(new Map(this.names), new Set(this.dirInodes), new Map(this.data), new Set(), lazy);
  }

  lookup(path: string): number | undefined {
    return path === '' ? 0 : this.names.get(path);
  }

  isDir(ino: number): boolean {
    return this.dirInodes.has(ino);
  }

  /** A regular file's inode, named or not (an unlinked file may still be written). */
  isFile(ino: number): boolean {
    return (this.data.has(ino) || this.queued.has(ino)) && !this.dirInodes.has(ino);
  }

  sizeOf(ino: number): number {
    return this.bytesOf(ino).length;
  }

  isNamed(ino: number): boolean {
    for (const named of this.names.values()) if (named === ino) return true;
    return false;
  }

  /** Drops an inode's bytes (the caller knows nothing can name it again). */
  forget(ino: number): void {
    this.data.delete(ino);
    this.queued.delete(ino);
    this.owned.delete(ino);
  }

  /** The names an inode has now, sorted. */
  namesOf(ino: number): string[] {
    if (ino === 0) return [''];
    return [...this.names].filter(([, named]) => named === ino).map(([path]) => path).sort();
  }

  apply(event: StateEvent): boolean {
    switch (event.kind) {
      case 'create': return this.bind(event.path, event.ino, false);
      case 'mkdir': return this.bind(event.path, event.ino, true);
      case 'write': this.write(event.ino, event.offsetBytes, event.data); return true;
      case 'truncate': this.truncate(event.ino, event.sizeBytes); return true;
      case 'rename': return this.rename(event.from, event.to);
      case 'link': {
        const ino = this.names.get(event.from);
        return ino !== undefined && !this.dirInodes.has(ino) && this.bind(event.to, ino, false);
      }
      case 'unlink': {
        const ino = this.names.get(event.path);
        return ino !== undefined && !this.dirInodes.has(ino) && this.names.delete(event.path);
      }
      case 'rmdir': {
        const ino = this.names.get(event.path);
        return ino !== undefined && this.dirInodes.has(ino) && !this.hasChildren(event.path) && this.names.delete(event.path);
      }
    }
  }

  write(ino: number, offsetBytes: number, bytes: Uint8Array): void {
    if (this.lazy) return this.queue(ino, { offsetBytes, data: bytes });
    const old = this.data.get(ino) ?? EMPTY;
    const endBytes = offsetBytes + bytes.length;
    const sizeBytes = Math.max(endBytes, old.length);
    let next: Uint8Array;
    if (this.owned.has(ino) && old.byteOffset === 0 && sizeBytes <= old.buffer.byteLength) {
      // Bytes past an owned array's length are zeros: truncate always starts a new buffer.
      next = sizeBytes === old.length ? old : new Uint8Array(old.buffer, 0, sizeBytes);
    } else {
      const capacityBytes = endBytes > old.length && this.owned.has(ino) ? Math.max(sizeBytes, 2 * old.length) : sizeBytes;
      next = new Uint8Array(new ArrayBuffer(capacityBytes), 0, sizeBytes);
      next.set(old);
    }
    next.set(bytes, offsetBytes);
    this.data.set(ino, next);
    this.owned.add(ino);
  }

  /** The files and directories now. Bytes are views into arrays that may be larger. */
  image(): DirImage {
    const files = new Map<string, Uint8Array>();
    const dirs = new Set<string>();
    for (const [path, ino] of [...this.names].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (this.dirInodes.has(ino)) dirs.add(path);
      else files.set(path, this.bytesOf(ino));
    }
    this.owned.clear();
    return { files, dirs };
  }

  private bytesOf(ino: number): Uint8Array {
    const queued = this.queued.get(ino);
    if (queued !== undefined) {
      this.queued.delete(ino);
      const lazy = this.lazy;
      this.lazy = false;
      for (const op of queued) {
        if ('sizeBytes' in op) this.truncate(ino, op.sizeBytes);
        else this.write(ino, op.offsetBytes, op.data);
      }
      this.lazy = lazy;
    }
    return this.data.get(ino) ?? EMPTY;
  }

  private queue(ino: number, op: DataOp): void {
    const list = this.queued.get(ino);
    if (list === undefined) this.queued.set(ino, [op]);
    else list.push(op);
  }

  private truncate(ino: number, sizeBytes: number): void {
    if (this.lazy) return this.queue(ino, { sizeBytes });
    const old = this.data.get(ino) ?? EMPTY;
    const next = new Uint8Array(sizeBytes);
    next.set(old.subarray(0, Math.min(sizeBytes, old.length)));
    this.data.set(ino, next);
    this.owned.add(ino);
  }

  private parentIsDir(path: string): boolean {
    const parent = this.lookup(parentOf(path));
    return parent !== undefined && this.dirInodes.has(parent);
  }

  private bind(path: string, ino: number, directory: boolean): boolean {
    if (this.names.has(path) || !this.parentIsDir(path)) return false;
    this.names.set(path, ino);
    if (directory) this.dirInodes.add(ino);
    else if (!this.data.has(ino) && !this.queued.has(ino)) this.data.set(ino, EMPTY);
    return true;
  }

  private hasChildren(path: string): boolean {
    const prefix = `${path}/`;
    for (const name of this.names.keys()) if (name.startsWith(prefix)) return true;
    return false;
  }

  private rename(from: string, to: string): boolean {
    const ino = this.names.get(from);
    if (ino === undefined || !this.parentIsDir(to) || to.startsWith(`${from}/`)) return false;
    if (from === to) return true;
    const directory = this.dirInodes.has(ino);
    const replaced = this.names.get(to);
    if (replaced !== undefined && (this.dirInodes.has(replaced) !== directory || (directory && this.hasChildren(to)))) return false;
    this.names.delete(from);
    this.names.set(to, ino);
    if (directory) {
      for (const [path, child] of [...this.names]) {
        if (!path.startsWith(`${from}/`)) continue;
        this.names.delete(path);
        this.names.set(`${to}${path.slice(from.length)}`, child);
      }
    }
    return true;
  }
}

/** A crash point frozen for many plans: the durable base and the ops from the first pending one. */
export interface CrashPoint {
  readonly model: FsModelName;
  readonly crashAt: number;
  readonly base: FsState;
  readonly tail: readonly TraceOp[];
}

/**
 * The crash model fed one event at a time: at any moment, `image(plan)` is the crash just
 * before the next event. `apply` throws TraceError on an event that cannot apply (a bad
 * trace); the model is not usable after that.
 */
export class TraceCrashModel {
  /** Every event applied: what the program saw; the model asks it for names and sizes. */
  readonly current = FsState.empty();
  private readonly base = FsState.empty();
  /** The ops from the first pending one on, in trace order. */
  private tail: TraceOp[] = [];
  private events = 0;
  private txn: number | null = null;
  private readonly rules: FsModel;

  constructor(readonly model: FsModelName) {
    if (!FS_MODELS.includes(model)) throw new TypeError(`unknown file-system model ${JSON.stringify(model)}`);
    this.rules = createFsModel(model);
  }

  /** How many events were fed: the `crashAt` of an image taken now. */
  get eventCount(): number {
    return this.events;
  }

  apply(event: TraceEvent): void {
    const index = this.events;
    this.events += 1;
    if (event.kind === 'marker') {
      if (event.marker === 'issued') this.txn = event.txn;
      return;
    }
    if (event.kind === 'fsync') {
      this.rules.sync(event.ino, event.dataOnly, index, this.current);
      this.fold();
      return;
    }
    checkEvent(event, index, this.current);
    const op: TraceOp = {
      index, event, ino: inodeOf(event, this.current), txn: this.txn, what: describeEvent(event), opClass: 'name', durable: false, waitingDirs: null, forcedAt: null,
    };
    this.rules.admit(op, this.current);
    if (!this.current.apply(event)) throw new TraceError(`trace event ${index} (${event.kind}) cannot apply`);
    this.tail.push(op);
  }

  /** The ops not yet durable, in trace order (for traceLint). */
  pendingOps(): TraceOp[] {
    return this.tail.filter((op) => !op.durable);
  }

  /** This moment frozen: later events do not change it. */
  point(): CrashPoint {
    return { model: this.model, crashAt: this.events, base: this.base.clone(), tail: this.tail.map((op) => ({ ...op })) };
  }

  image(plan: TraceCrashPlan): { image: DirImage; decisions: TraceDecision[] } {
    return buildImage(this.rules, this.events, this.base, this.tail, plan);
  }

  /**
   * Moves durable ops into the base, where nothing can lose them any more: every durable op
   * that only pending-free ops precede, and besides every durable data op no pending op of
   * its own inode precedes. Data belongs to inodes, so a write commutes with every name op
   * and with other inodes' data ops: a file fsynced after each append stays folded even while
   * its create waits for a directory fsync that never comes. Runs only after an fsync (no
   * other event makes anything durable).
   */
  private fold(): void {
    const blocked = new Set<number>();
    const kept: TraceOp[] = [];
    const victims: number[] = [];
    for (const op of this.tail) {
      const dataOp = op.event.kind === 'write' || op.event.kind === 'truncate';
      if (op.durable && (kept.length === 0 || (dataOp && !blocked.has(op.ino)))) {
        const victim = victimOf(op.event, this.base);
        if (!this.base.apply(op.event)) throw new TraceError(`durable trace event ${op.index} (${op.event.kind}) cannot apply`);
        if (victim !== undefined) victims.push(victim);
        continue;
      }
      if (dataOp) blocked.add(op.ino);
      kept.push(op);
    }
    this.tail = kept;
    this.forgetUnnamed(victims);
  }

  /**
   * Drops the bytes of inodes the base no longer names and no op in the tail is about: no
   * later op can name them again (a trace has no way to link an unnamed inode), and without
   * this every temp file a store ever replaced would be copied into every image's table.
   */
  private forgetUnnamed(victims: readonly number[]): void {
    if (victims.length === 0) return;
    const inTail = new Set(this.tail.map((op) => op.ino));
    for (const ino of victims) if (!inTail.has(ino) && !this.base.isNamed(ino)) this.base.forget(ino);
  }
}

/** The inode a rename over a file or an unlink may leave without a name. */
function victimOf(event: StateEvent, base: FsState): number | undefined {
  if (event.kind === 'unlink') return base.lookup(event.path);
  if (event.kind === 'rename') return base.lookup(event.to);
  return undefined;
}

/** The state on disk after power fails just before `events[crashAt]` takes effect. */
export function crashImage(events: readonly TraceEvent[], crashAt: number, model: FsModelName, plan: TraceCrashPlan): { image: DirImage; decisions: TraceDecision[] } {
  return imageFor(pendingAt(events, crashAt, model), plan);
}

/**
 * The durable state and pending ops at one crash point, computed once for many plans. It
 * replays `events[0, crashAt)`: a campaign visiting every crash point should feed one
 * TraceCrashModel instead (or take `point()` from it as it goes).
 */
export function pendingAt(events: readonly TraceEvent[], crashAt: number, model: FsModelName): CrashPoint {
  if (!Number.isInteger(crashAt) || crashAt < 0 || crashAt > events.length) throw new RangeError(`crashAt ${crashAt} is outside [0, ${events.length}]`);
  const crashModel = new TraceCrashModel(model);
  for (let index = 0; index < crashAt; index += 1) crashModel.apply(events[index]!);
  return crashModel.point();
}

export function imageFor(point: CrashPoint, plan: TraceCrashPlan): { image: DirImage; decisions: TraceDecision[] } {
  return buildImage(createFsModel(point.model), point.crashAt, point.base, point.tail, plan);
}

function buildImage(rules: FsModel, crashAt: number, base: FsState, tail: readonly TraceOp[], plan: TraceCrashPlan): { image: DirImage; decisions: TraceDecision[] } {
  checkPlan(plan);
  const prng = new Prng(crashSeed(plan.seed, crashAt));
  const pending = tail.filter((op) => !op.durable);
  const choices = rules.choose(pending, plan, prng);
  if (choices.length !== pending.length) throw new Error(`model ${rules.name} chose for ${choices.length} of ${pending.length} ops`);
  const state = base.clone(true);
  const decisions: TraceDecision[] = [];
  let next = 0;
  for (const op of tail) {
    if (op.durable) {
      // Durable in itself, yet it may need a lost op (an entry inside a lost mkdir): say so.
      if (!state.apply(op.event)) decisions.push({ index: op.index, kind: op.event.kind, what: op.what, fate: 'dropped', reason: 'durable, but depends on a lost operation' });
      continue;
    }
    const choice = choices[next]!;
    next += 1;
    decisions.push(applyChoice(state, op, choice));
  }
  return { image: state.image(), decisions };
}

function applyChoice(state: FsState, op: TraceOp, choice: OpChoice): TraceDecision {
  if (choice.fate === 'dropped') return { index: op.index, kind: op.event.kind, what: op.what, fate: 'dropped', reason: choice.reason };
  if (choice.fate === 'torn') {
    const keptRanges: Array<[number, number]> = [];
    for (const piece of choice.pieces ?? []) {
      state.write(op.ino, piece.offsetBytes, piece.data);
      keptRanges.push([piece.offsetBytes, piece.offsetBytes + piece.data.length]);
    }
    return { index: op.index, kind: op.event.kind, what: op.what, fate: 'torn', reason: choice.reason, keptRanges };
  }
  if (!state.apply(op.event)) return { index: op.index, kind: op.event.kind, what: op.what, fate: 'dropped', reason: 'depends on a lost operation' };
  return { index: op.index, kind: op.event.kind, what: op.what, fate: 'kept', reason: choice.reason };
}

export function describeEvent(event: StateEvent): string {
  switch (event.kind) {
    case 'rename': case 'link': return `${event.from} → ${event.to}`;
    case 'create': case 'mkdir': case 'unlink': case 'rmdir': return event.path;
    case 'write': case 'truncate': return `inode ${event.ino}`;
  }
}

function checkPlan(plan: TraceCrashPlan): void {
  if (!['none', 'all', 'prefix', 'subset'].includes(plan.survival)) throw new TypeError(`unknown survival ${JSON.stringify(plan.survival)}`);
  if (plan.sectorBytes !== 512 && plan.sectorBytes !== 4096) throw new TypeError(`sectorBytes must be 512 or 4096, not ${String(plan.sectorBytes)}`);
  if (!Number.isInteger(plan.seed)) throw new TypeError(`plan seed must be an integer, not ${plan.seed}`);
}

/** What FsState's lenient apply does not check: path syntax, bounds, writes to files only. */
function checkEvent(event: StateEvent, index: number, current: FsState): void {
  if (event.kind === 'rename' || event.kind === 'link') {
    checkTracePath(event.from);
    checkTracePath(event.to);
  } else if (event.kind !== 'write' && event.kind !== 'truncate') {
    checkTracePath(event.path);
  } else {
    const sizeBytes = event.kind === 'write' ? event.offsetBytes + event.data.length : event.sizeBytes;
    const offsetBytes = event.kind === 'write' ? event.offsetBytes : 0;
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || !Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > TRACE_MAX_FILE_BYTES) throw new TraceError(`trace event ${index} (${event.kind}) is out of bounds`);
    if (!current.isFile(event.ino)) throw new TraceError(`trace event ${index} (${event.kind}) is on inode ${event.ino}, which is no regular file`);
  }
}

/** The inode an op is about, looked up before it applies. */
function inodeOf(event: StateEvent, current: FsState): number {
  switch (event.kind) {
    case 'create': case 'mkdir': case 'write': case 'truncate': return event.ino;
    case 'rename': case 'link': return lookupOrThrow(current, event.from);
    case 'unlink': case 'rmdir': return lookupOrThrow(current, event.path);
  }
}

function lookupOrThrow(current: FsState, path: string): number {
  const ino = current.lookup(path);
  if (ino === undefined) throw new TraceError(`trace names ${JSON.stringify(path)}, which does not exist`);
  return ino;
}
