/**
 * THE FILE-SYSTEM MODELS: which ops of a trace are durable at a crash, and which of the rest a
 * crash plan may keep (fault/traceCrash.ts builds the image from these answers).
 *
 * `posix` -- only what POSIX (fsync(2), rename(2)) promises, nothing a real file system adds:
 *   P1. A file's data ops (write, truncate) become durable at an fsync or fdatasync of that
 *       inode (by inode, so through any name). fdatasync counts as fsync: it must flush the
 *       size too, since the size is needed to read the data back.
 *   P2. A name op (create, mkdir, link, unlink, rmdir) becomes durable at an fsync of its
 *       parent directory made after it. A rename becomes durable only when BOTH the source's
 *       and the target's parent directories were fsynced after it (one of two is not enough:
 *       POSIX says nothing of a half-synced rename, so we take the weaker reading). An fsync of
 *       a file never makes a name durable, nor a directory's fsync its own entry in its parent.
 *   P3. Nothing else is ordered: any pending op may survive or not, independently of the
 *       others, subject to the plan and to dependencies (traceCrash.ts: an op that cannot apply
 *       without a lost one is lost). Rename is atomic: the target names the old or the new
 *       inode, never neither.
 *   P4. Tearing: a surviving pending write may be torn sector by sector (`prefix`: only the
 *       last surviving op; `subset`: any, by a coin); without `atomicSector` a torn sector holds
 *       a prefix of its new bytes over the old ones. So the data of a renamed file whose writes
 *       were not fsynced may be missing: a rename can survive over a file that is empty.
 *
 * `ext4` -- data=ordered, default mount options: delayed allocation, auto_da_alloc on, journal
 * commit every 5 s, no fast_commit. From Documentation/filesystems/ext4/journal.rst ("by
 * default only writes filesystem metadata through the journal... file data blocks are not
 * guaranteed to be in any consistent state after a crash"; data=ordered: data is flushed
 * before the metadata that refers to it is committed) and Documentation/admin-guide/ext4.rst
 * (auto_da_alloc: "ext4 will detect the replace-via-rename and replace-via-truncate patterns
 * and force that any delayed allocation blocks are allocated such that at the next journal
 * commit ... the data blocks of the new file are forced to disk before the rename() operation
 * is committed", avoiding "the zero-length problem").
 *   E1. Metadata: every name op and every truncate (a size change) joins the one running jbd2
 *       transaction; transactions commit in order. So after a crash the surviving metadata is
 *       a PREFIX of the metadata ops in trace order: the cut may fall anywhere (a periodic
 *       commit may have happened at any moment; the clock is pinned, so no time is trusted).
 *   E2. An fsync of ANY inode, file or directory, commits the running transaction: every
 *       earlier metadata op becomes durable (names included: a file's fsync also makes earlier
 *       directory operations durable), plus that inode's data written before it. An fdatasync
 *       commits only when the inode has metadata a read needs still uncommitted (ext4 waits for
 *       the inode's datasync transaction): here, a pending metadata op about the inode (its
 *       create, link, rename, unlink, truncate) or a pending delayed write (E3: it allocates and
 *       grows the size). Otherwise it only writes the inode's overwrites (E5), and commits
 *       nothing else.
 *   E3. Delayed allocation: a write that reaches past the file's allocated size (its size at
 *       its last fsync; 0 for a new file) gets blocks only at writeback, and the size grows in
 *       the transaction running then. It survives only whole-or-sector-prefix and only if the
 *       journal cut is after it (its size update commits after it), and even then only if the
 *       plan says writeback happened. Hence a committed create or rename may name a file whose
 *       data is lost (size 0 or its older size): the classic zero-length file after a crash.
 *       data=ordered means the size never exposes garbage: a torn delayed write keeps a prefix
 *       of whole sectors and the size ends where it does (atomicSector does not apply).
 *   E4. auto_da_alloc: a rename over an existing regular file forces the source's delayed
 *       writes out before the rename commits: they survive whenever the rename does (cut after
 *       it). A truncate to 0 of a non-empty file (replace-via-truncate) forces the writes that
 *       follow it (until the file's next fsync) out at the next commit: we have no close
 *       events, so each such write survives whenever the cut is after it. Forced writes are
 *       not torn (the commit waits for them). (A doubt: the kernel only starts writeback at
 *       the rename, so a large file may still be partly lost; we model the documented promise.)
 *   E5. Overwrites of blocks already allocated (entirely below the allocated size) are not
 *       journalled or ordered: each may be lost or torn (as P4) whatever the cut.
 *   Plans under ext4: `none` keeps only E2's durable set; `all` everything; `prefix` and
 *   `subset` draw the moment of the last commit (E1: just before one of the pending metadata
 *   or delayed writes, or after them all; a moment between two overwrites changes nothing),
 *   then the data writes still eligible (E3 after the cut are lost, E4 forced ones before it
 *   kept) by a prefix or by coins.
 */
import type { Prng } from './prng.js';
import type { FsModelName, FsState, OpChoice, StateEvent, TraceCrashPlan, TraceOp } from './traceCrash.js';
import { parentOf, TraceError } from './trace.js';

/** One model's rules, stateful over one trace (a fresh one per TraceCrashModel). */
export interface FsModel {
  readonly name: FsModelName;
  /** Classes a new op and indexes it, seeing the state just before it applies. */
  admit(op: TraceOp, current: FsState): void;
  /** An fsync (fdatasync with `dataOnly`) of `ino` at event `index`: marks what it makes durable. */
  sync(ino: number, dataOnly: boolean, index: number, current: FsState): void;
  /** The fate of each pending op (in trace order), drawing from `prng` only. */
  choose(pending: readonly TraceOp[], plan: TraceCrashPlan, prng: Prng): OpChoice[];
}

export function createFsModel(name: FsModelName): FsModel {
  return name === 'posix' ? new PosixModel() : new Ext4Model();
}

type WriteEvent = Extract<StateEvent, { kind: 'write' }>;

class PosixModel implements FsModel {
  readonly name = 'posix' as const;
  private readonly dataByIno = new Map<number, TraceOp[]>();
  private readonly namesByDir = new Map<number, TraceOp[]>();

  admit(op: TraceOp, current: FsState): void {
    if (op.event.kind === 'write' || op.event.kind === 'truncate') {
      op.opClass = 'data';
      pushTo(this.dataByIno, op.ino, op);
      return;
    }
    op.opClass = 'name';
    op.waitingDirs = new Set(parentDirs(op.event).map((dir) => parentInode(current, dir)));
    for (const dirIno of op.waitingDirs) pushTo(this.namesByDir, dirIno, op);
  }

  sync(ino: number, _dataOnly: boolean, _index: number, current: FsState): void {
    if (current.isDir(ino)) {
      for (const op of this.namesByDir.get(ino) ?? []) {
        op.waitingDirs?.delete(ino);
        if (op.waitingDirs?.size === 0) op.durable = true;
      }
      this.namesByDir.delete(ino);
      return;
    }
    for (const op of this.dataByIno.get(ino) ?? []) op.durable = true;
    this.dataByIno.delete(ino);
  }

  choose(pending: readonly TraceOp[], plan: TraceCrashPlan, prng: Prng): OpChoice[] {
    return chooseIndependent(pending, plan, prng, (op) => tearSectors(op.event as WriteEvent, plan, prng));
  }
}

class Ext4Model implements FsModel {
  readonly name = 'ext4' as const;
  private pendingMeta: TraceOp[] = [];
  private forced: TraceOp[] = [];
  private readonly dataByIno = new Map<number, TraceOp[]>();
  /** Bytes with blocks allocated for certain: the size at the inode's last fsync. */
  private readonly allocatedBytes = new Map<number, number>();
  /** Inodes truncated to 0 from a non-empty size since their last fsync (replace-via-truncate). */
  private readonly replacing = new Set<number>();

  admit(op: TraceOp, current: FsState): void {
    const event = op.event;
    if (event.kind === 'write') {
      const endBytes = event.offsetBytes + event.data.length;
      op.opClass = endBytes <= (this.allocatedBytes.get(op.ino) ?? 0) ? 'overwrite' : 'delayed';
      if (op.opClass === 'delayed' && this.replacing.has(op.ino)) this.force(op, op.index);
      pushTo(this.dataByIno, op.ino, op);
      return;
    }
    op.opClass = 'meta';
    this.pendingMeta.push(op);
    if (event.kind === 'truncate') {
      if (event.sizeBytes === 0 && current.sizeOf(op.ino) > 0) this.replacing.add(op.ino);
      this.allocatedBytes.set(op.ino, Math.min(this.allocatedBytes.get(op.ino) ?? 0, event.sizeBytes));
    } else if (event.kind === 'rename' && !current.isDir(op.ino)) {
      const replaced = current.lookup(event.to);
      if (replaced === undefined || current.isDir(replaced) || replaced === op.ino) return;
      // Replace-via-rename: the source's delayed blocks are allocated before the rename's handle starts.
      for (const write of this.dataByIno.get(op.ino) ?? []) {
        if (write.opClass === 'delayed' && write.forcedAt === null) this.force(write, op.index);
      }
    }
  }

  sync(ino: number, dataOnly: boolean, index: number, current: FsState): void {
    const data = this.dataByIno.get(ino) ?? [];
    for (const op of data) op.durable = true;
    this.dataByIno.delete(ino);
    const commits = !dataOnly || data.some((op) => op.opClass === 'delayed') || this.pendingMeta.some((op) => op.ino === ino);
    if (!commits) return;
    for (const op of this.pendingMeta) op.durable = true;
    this.pendingMeta = [];
    this.allocatedBytes.set(ino, current.sizeOf(ino));
    this.replacing.delete(ino);
    // The commit carries every write forced out before an op it now commits.
    const stillPending: TraceOp[] = [];
    for (const op of this.forced) {
      if (op.durable) continue;
      if (op.forcedAt !== null && op.forcedAt < index) {
        op.durable = true;
        this.allocatedBytes.set(op.ino, Math.max(this.allocatedBytes.get(op.ino) ?? 0, current.sizeOf(op.ino)));
      } else {
        stillPending.push(op);
      }
    }
    this.forced = stillPending;
  }

  choose(pending: readonly TraceOp[], plan: TraceCrashPlan, prng: Prng): OpChoice[] {
    // The last commit happened just before event `cutIndex`: only the ops it may separate
    // (journalled metadata, delayed writes, which also fix what forced writes survive) matter.
    const cuts = [...pending.filter((op) => op.opClass !== 'overwrite').map((op) => op.index), Number.POSITIVE_INFINITY];
    const cutAt = plan.survival === 'none' ? 0 : plan.survival === 'all' ? cuts.length - 1 : prng.below(cuts.length);
    const cutIndex = cuts[cutAt]!;
    const choices: OpChoice[] = [];
    const eligible: TraceOp[] = [];
    const eligibleAt: number[] = [];
    for (const op of pending) {
      if (op.opClass === 'meta') {
        choices.push(op.index < cutIndex ? COMMITTED : NOT_COMMITTED);
      } else if (op.forcedAt !== null && op.forcedAt < cutIndex) {
        choices.push(FORCED);
      } else if (op.opClass === 'delayed' && op.index >= cutIndex) {
        choices.push(NOT_ALLOCATED);
      } else {
        eligibleAt.push(choices.length);
        eligible.push(op);
        choices.push(NOT_DURABLE);
      }
    }
    const drawn = chooseIndependent(eligible, plan, prng, (op) => (op.opClass === 'delayed'
      ? tearPrefix(op.event as WriteEvent, plan, prng)
      : tearSectors(op.event as WriteEvent, plan, prng)));
    eligibleAt.forEach((at, position) => { choices[at] = drawn[position]!; });
    return choices;
  }

  private force(op: TraceOp, atIndex: number): void {
    op.forcedAt = atIndex;
    this.forced.push(op);
  }
}

/**
 * P3's draw, shared by ext4's data writes: `none` drops all, `all` keeps all untorn, `prefix`
 * keeps a seeded prefix (the last kept write may be torn), `subset` keeps each by a coin
 * (each kept write may be torn).
 */
function chooseIndependent(ops: readonly TraceOp[], plan: TraceCrashPlan, prng: Prng, tear: (op: TraceOp) => OpChoice): OpChoice[] {
  switch (plan.survival) {
    case 'none': return ops.map(() => NOT_DURABLE);
    case 'all': return ops.map(() => KEPT_ALL);
    case 'prefix': {
      const keptCount = prng.below(ops.length + 1);
      return ops.map((op, position) => {
        if (position >= keptCount) return AFTER_PREFIX;
        if (position === keptCount - 1 && op.event.kind === 'write' && plan.tear && prng.coin()) return tear(op);
        return IN_PREFIX;
      });
    }
    case 'subset': return ops.map((op) => {
      if (!prng.coin()) return LOST_BY_COIN;
      if (op.event.kind === 'write' && plan.tear && prng.coin()) return tear(op);
      return KEPT_BY_COIN;
    });
  }
}

// Shared choices: an image makes one per pending op, so they are not allocated each time.
const NOT_DURABLE: OpChoice = { fate: 'dropped', reason: 'not durable (plan none)' };
const KEPT_ALL: OpChoice = { fate: 'kept', reason: 'plan all' };
const AFTER_PREFIX: OpChoice = { fate: 'dropped', reason: 'after the surviving prefix' };
const IN_PREFIX: OpChoice = { fate: 'kept', reason: 'in the surviving prefix' };
const LOST_BY_COIN: OpChoice = { fate: 'dropped', reason: 'lost by its coin' };
const KEPT_BY_COIN: OpChoice = { fate: 'kept', reason: 'kept by its coin' };
const COMMITTED: OpChoice = { fate: 'kept', reason: 'committed before the journal cut' };
const NOT_COMMITTED: OpChoice = { fate: 'dropped', reason: 'after the journal cut' };
const FORCED: OpChoice = { fate: 'kept', reason: 'forced out by auto_da_alloc before a commit that happened' };
const NOT_ALLOCATED: OpChoice = { fate: 'dropped', reason: 'delayed allocation: its size update is after the journal cut' };

/** Tears a write sector by sector, each sector kept or lost, or (not atomic) cut to a prefix. */
function tearSectors(event: WriteEvent, plan: TraceCrashPlan, prng: Prng): OpChoice {
  const pieces: Array<{ offsetBytes: number; data: Uint8Array }> = [];
  const endBytes = event.offsetBytes + event.data.length;
  for (let start = event.offsetBytes; start < endBytes;) {
    const sectorEnd = Math.min(endBytes, (Math.floor(start / plan.sectorBytes) + 1) * plan.sectorBytes);
    if (prng.coin()) {
      const keptEnd = plan.atomicSector ? sectorEnd : start + prng.below(sectorEnd - start + 1);
      if (keptEnd > start) pieces.push({ offsetBytes: start, data: event.data.subarray(start - event.offsetBytes, keptEnd - event.offsetBytes) });
    }
    start = sectorEnd;
  }
  return { fate: 'torn', reason: `torn in ${plan.sectorBytes}-byte sectors`, pieces: mergePieces(pieces) };
}

/** E3's tear: writeback reached a prefix of whole sectors, and the size ends with it. */
function tearPrefix(event: WriteEvent, plan: TraceCrashPlan, prng: Prng): OpChoice {
  const endBytes = event.offsetBytes + event.data.length;
  const boundaries: number[] = [event.offsetBytes];
  for (let at = (Math.floor(event.offsetBytes / plan.sectorBytes) + 1) * plan.sectorBytes; at < endBytes; at += plan.sectorBytes) boundaries.push(at);
  const keptEnd = boundaries[prng.below(boundaries.length)]!;
  const pieces = keptEnd > event.offsetBytes ? [{ offsetBytes: event.offsetBytes, data: event.data.subarray(0, keptEnd - event.offsetBytes) }] : [];
  return { fate: 'torn', reason: `writeback reached ${keptEnd - event.offsetBytes} of ${event.data.length} bytes (whole sectors)`, pieces };
}

function mergePieces(pieces: Array<{ offsetBytes: number; data: Uint8Array }>): Array<{ offsetBytes: number; data: Uint8Array }> {
  const merged: Array<{ offsetBytes: number; data: Uint8Array }> = [];
  for (const piece of pieces) {
    const last = merged[merged.length - 1];
    if (last !== undefined && last.offsetBytes + last.data.length === piece.offsetBytes && last.data.buffer === piece.data.buffer
      && last.data.byteOffset + last.data.length === piece.data.byteOffset) {
      merged[merged.length - 1] = { offsetBytes: last.offsetBytes, data: new Uint8Array(last.data.buffer, last.data.byteOffset, last.data.length + piece.data.length) };
    } else {
      merged.push(piece);
    }
  }
  return merged;
}

/** The parent directories a name op changes (a rename: both sides). */
export function parentDirs(event: StateEvent): string[] {
  switch (event.kind) {
    case 'rename': return [...new Set([parentOf(event.from), parentOf(event.to)])];
    case 'link': return [parentOf(event.to)];
    case 'create': case 'mkdir': case 'unlink': case 'rmdir': return [parentOf(event.path)];
    case 'write': case 'truncate': return [];
  }
}

function parentInode(current: FsState, dir: string): number {
  const ino = current.lookup(dir);
  if (ino === undefined || !current.isDir(ino)) throw new TraceError(`the parent ${JSON.stringify(dir)} of a trace name is not a directory`);
  return ino;
}

function pushTo(map: Map<number, TraceOp[]>, key: number, op: TraceOp): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [op]);
  else list.push(op);
}
