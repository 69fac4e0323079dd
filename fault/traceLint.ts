/**
 * The cheap explanation a user reads first: at every `acked` marker of a trace, what the
 * library had promised (the transaction resolved) that the file-system model did not make
 * durable yet. No crash image is built; the same durability rules as the crash model decide
 * (fault/fsModels.ts, fed through TraceCrashModel), so an item here is an op that some crash
 * plan at that point can lose.
 *
 * Three kinds of item, each with a one-line explanation in plain English:
 *   - `data`: a file whose writes or truncates since its last fsync are not durable (grouped
 *     by inode, named by its current names; an inode with no name left is not listed);
 *   - `name`: a create, mkdir, link, unlink, rmdir or rename that is not durable (posix: its
 *     directory was not fsynced after it; ext4: no fsync of anything committed the journal);
 *   - `renameData`: a rename whose source's data was not durable when it happened and still
 *     is not (the rename may survive over a file without that data). Under ext4, data that
 *     auto_da_alloc forces out with the rename is not listed here: it survives when the
 *     rename does.
 */
import { TraceCrashModel, type FsModelName, type TraceOp } from './traceCrash.js';
import type { TraceEvent } from './trace.js';

export interface AckLintItem {
  readonly kind: 'data' | 'name' | 'renameData';
  /** The event index of the op (for `data`, the first op not durable). */
  readonly index: number;
  readonly txn: number | null;
  /** The file or name concerned (`from → to` for a rename). */
  readonly path: string;
  /** `data` and `renameData`: the bytes written and not durable. */
  readonly bytesUnsynced?: number;
  readonly explanation: string;
}

export interface AckLint {
  readonly txn: number;
  /** The event index of the `acked` marker. */
  readonly ackIndex: number;
  readonly items: readonly AckLintItem[];
}

/** A rename made while its source had data not durable (that data unforced). */
interface RiskyRename {
  readonly op: TraceOp;
  readonly dataOps: readonly TraceOp[];
}

/** For every `acked` marker, in trace order, what was not durable then under `model`. */
export function lintAcks(events: readonly TraceEvent[], model: FsModelName): AckLint[] {
  const crashModel = new TraceCrashModel(model);
  const lints: AckLint[] = [];
  let risky: RiskyRename[] = [];
  for (const [index, event] of events.entries()) {
    if (event.kind === 'marker' && event.marker === 'acked') {
      risky = risky.filter((rename) => rename.dataOps.some((op) => !op.durable));
      lints.push({ txn: event.txn, ackIndex: index, items: itemsNow(crashModel, risky) });
    }
    const sourceData = event.kind === 'rename' ? pendingDataOf(crashModel, event.from) : [];
    crashModel.apply(event);
    if (event.kind !== 'rename') continue;
    const unforced = sourceData.filter((op) => op.forcedAt === null);
    const renameOp = crashModel.pendingOps().find((op) => op.index === index);
    if (unforced.length > 0 && renameOp !== undefined) risky.push({ op: renameOp, dataOps: unforced });
  }
  return lints;
}

function pendingDataOf(crashModel: TraceCrashModel, path: string): TraceOp[] {
  const ino = crashModel.current.lookup(path);
  if (ino === undefined) return [];
  return crashModel.pendingOps().filter((op) => op.ino === ino && isDataOp(op));
}

function isDataOp(op: TraceOp): boolean {
  return op.event.kind === 'write' || op.event.kind === 'truncate';
}

function itemsNow(crashModel: TraceCrashModel, risky: readonly RiskyRename[]): AckLintItem[] {
  const items: AckLintItem[] = [];
  const dataByIno = new Map<number, TraceOp[]>();
  for (const op of crashModel.pendingOps()) {
    if (!isDataOp(op)) {
      items.push(nameItem(crashModel, op));
      continue;
    }
    const list = dataByIno.get(op.ino);
    if (list === undefined) dataByIno.set(op.ino, [op]);
    else list.push(op);
  }
  for (const [ino, ops] of dataByIno) {
    const names = crashModel.current.namesOf(ino);
    if (names.length > 0) items.push(dataItem(crashModel.model, names.join(', '), ops));
  }
  for (const rename of risky) items.push(renameDataItem(crashModel.model, rename));
  return items.sort((a, b) => a.index - b.index || a.kind.localeCompare(b.kind));
}

function txnLabel(txn: number | null): string {
  return txn === null ? '' : ` (txn ${txn})`;
}

function writtenBytes(ops: readonly TraceOp[]): number {
  return ops.reduce((sum, op) => sum + (op.event.kind === 'write' ? op.event.data.length : 0), 0);
}

function nameItem(crashModel: TraceCrashModel, op: TraceOp): AckLintItem {
  const what = `${op.event.kind} ${op.what}${txnLabel(op.txn)}`;
  let why: string;
  if (crashModel.model === 'ext4') {
    why = 'no fsync of any file or directory committed the journal after it, so a crash may lose it';
  } else {
    const dirs = [...(op.waitingDirs ?? [])].map((dirIno) => `'${crashModel.current.namesOf(dirIno)[0] ?? `inode ${dirIno}`}'`);
    why = dirs.length === 1 ? `the directory ${dirs[0]!} was never fsynced after it` : `the directories ${dirs.join(' and ')} were never fsynced after it`;
  }
  return { kind: 'name', index: op.index, txn: op.txn, path: op.what, explanation: `${what}: ${why}` };
}

function dataItem(model: FsModelName, path: string, ops: readonly TraceOp[]): AckLintItem {
  const first = ops[0]!;
  const bytesUnsynced = writtenBytes(ops);
  const truncates = ops.length - ops.filter((op) => op.event.kind === 'write').length;
  const what = `data of ${path}${txnLabel(first.txn)}: ${bytesUnsynced} bytes written${truncates > 0 ? ` and ${truncates} truncate(s)` : ''} not durable`;
  let why = 'the file was not fsynced after them';
  if (model === 'ext4') {
    if (ops.some((op) => op.forcedAt !== null)) why = 'auto_da_alloc forces them out only with the journal commit of the rename or truncate, and none has happened';
    else if (ops.some((op) => op.opClass === 'delayed')) why = 'with delayed allocation they may never reach the disk, leaving the older size (zero for a new file)';
    else if (ops.some((op) => op.opClass === 'overwrite')) why = 'overwrites of allocated blocks are written back in any order, or not at all';
    else why = 'a truncate is journalled metadata, and no fsync of anything committed the journal after it';
  }
  return { kind: 'data', index: first.index, txn: first.txn, path, bytesUnsynced, explanation: `${what}: ${why}` };
}

function renameDataItem(model: FsModelName, rename: RiskyRename): AckLintItem {
  const event = rename.op.event;
  const [from, to] = event.kind === 'rename' ? [event.from, event.to] : ['?', '?'];
  const pending = rename.dataOps.filter((op) => !op.durable);
  const bytesUnsynced = writtenBytes(pending);
  const excuse = model === 'ext4' ? ' (not a rename over an existing file, so auto_da_alloc does not force them out)' : '';
  return {
    kind: 'renameData', index: rename.op.index, txn: rename.op.txn, path: `${from} → ${to}`, bytesUnsynced,
    explanation: `rename ${from} → ${to}${txnLabel(rename.op.txn)}: ${bytesUnsynced} bytes of ${from} were not fsynced before the rename${excuse}, so ${to} may survive without them`,
  };
}
