/**
 * What the fs recorder (fsRecorder.ts) knows between calls: the root, the recorder's inode
 * numbers for the real (dev, ino) pairs it has seen, every open fd under the root with its own
 * position (Node does not expose an fd's offset, so the recorder tracks it), and the events
 * and refusals so far. It only ever touches the disk through the unpatched functions captured
 * before the patch, so its own stats and reads are never recorded.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TRACE_MAX_EVENTS, type TraceEvent } from '../../fault/trace.js';
import { NodeFsError } from './nodeFsError.js';

export type TraceSink = (event: TraceEvent) => void;

/** The unpatched `fs` functions: the recorder's own I/O, and a way around it for tests. */
export type OriginalFs = typeof fs;

export interface FdEntry {
  readonly ino: number;
  /** The fd's file offset as the recorder tracks it (reads and writes at the current position move it). */
  positionBytes: number;
  readonly append: boolean;
  /** O_SYNC / O_DSYNC: every write is also a sync of the file. */
  readonly sync: 'none' | 'data' | 'full';
}

/** One entry of a directory tree, relative to the root. */
export interface TreeEntry {
  readonly rel: string;
  readonly abs: string;
  readonly dir: boolean;
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_TRUNC, O_APPEND, O_EXCL, O_SYNC, O_DSYNC } = fs.constants;

/** Node's string flags (lib/internal/fs/utils.js stringToFlags), as numbers. */
const FLAG_STRINGS: Readonly<Record<string, number>> = {
  'r': O_RDONLY, 'rs': O_RDONLY | O_SYNC, 'sr': O_RDONLY | O_SYNC,
  'r+': O_RDWR, 'rs+': O_RDWR | O_SYNC, 'sr+': O_RDWR | O_SYNC,
  'w': O_TRUNC | O_CREAT | O_WRONLY, 'wx': O_TRUNC | O_CREAT | O_WRONLY | O_EXCL, 'xw': O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR, 'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL, 'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  'a': O_APPEND | O_CREAT | O_WRONLY, 'ax': O_APPEND | O_CREAT | O_WRONLY | O_EXCL, 'xa': O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  'as': O_APPEND | O_CREAT | O_WRONLY | O_SYNC, 'sa': O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR, 'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL, 'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC, 'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

/** Open flags as a number (Node's default is 'r'); an unknown string is Node's error to raise, so it maps to read-only. */
export function flagsOf(flags: unknown, fallback = 'r'): number {
  if (typeof flags === 'number') return flags;
  return FLAG_STRINGS[typeof flags === 'string' ? flags : fallback] ?? O_RDONLY;
}

export const OPEN_FLAGS = { O_CREAT, O_TRUNC, O_APPEND, O_SYNC, O_DSYNC } as const;

/** A position argument: a non-negative number (or bigint) is positional, anything else means "at the fd's offset". */
export function positionOf(value: unknown): number | null {
  if (typeof value === 'number' && value >= 0) return value;
  if (typeof value === 'bigint' && value >= 0n) return Number(value);
  return null;
}

/** What a call finds when it runs, counting the calls on the same file issued before it and still in flight. */
export interface Reservation {
  readonly existed: boolean;
  /** The file's end when this call runs (an append's offset). */
  readonly endBytes: number;
  /** When the call completed or failed. */
  readonly release: () => void;
}

export class RecorderState {
  readonly root: string;
  readonly events: TraceEvent[] = [];
  readonly refusals: NodeFsError[] = [];
  /** The recorder's own failures (a bug, or a call form it cannot decode): the trace cannot be trusted. */
  readonly faults: Error[] = [];
  readonly fds = new Map<number, FdEntry>();
  /** False once uninstalled: wrappers that outlive the patch (captured by a library) pass straight through. */
  live = true;
  private readonly roots: readonly string[];
  private readonly inodes = new Map<string, number>();
  private readonly inFlight = new Map<string, { count: number; endBytes: number }>();
  private nextIno = 1;

  constructor(rootDir: string, readonly original: OriginalFs, private readonly sink: TraceSink) {
    this.root = path.resolve(rootDir);
    const real = original.realpathSync(this.root);
    // Both spellings of the root count as "under root": a caller may hold either.
    this.roots = real === this.root ? [this.root] : [this.root, real];
    const stats = original.statSync(this.root);
    if (!stats.isDirectory()) throw new TypeError(`the recorder's root ${this.root} is not a directory`);
    this.inodes.set(this.keyOf(stats), 0);
  }

  emit(event: TraceEvent): void {
    if (this.events.length >= TRACE_MAX_EVENTS) {
      // A runaway program: stop growing the trace; the fault makes the run TRACE_INCOMPLETE.
      if (this.faults.length === 0) this.faults.push(new Error(`the trace reached ${TRACE_MAX_EVENTS} events`));
      return;
    }
    this.events.push(event);
    this.sink(event);
  }

  refuse(what: string): NodeFsError {
    const error = new NodeFsError('UNSUPPORTED_IO', `${what} is not supported under the node-fs recorder: its I/O would bypass the trace`);
    this.refusals.push(error);
    return error;
  }

  /**
   * Predicts what a call on `key` (a path, or an inode) finds when it runs: whether the file
   * exists and where it ends, from the disk now (`sizeBytes`, null: missing) and the calls on
   * it still in flight. It holds because the traced child runs one thread-pool thread, so
   * calls run in the order issued; `nextEnd` says where this call leaves the end.
   */
  reserve(key: string, sizeBytes: number | null, nextEnd: (endBytes: number) => number): Reservation {
    const earlier = this.inFlight.get(key);
    const existed = sizeBytes !== null || earlier !== undefined;
    const endBytes = earlier?.endBytes ?? sizeBytes ?? 0;
    const slot = earlier ?? { count: 0, endBytes };
    slot.count++;
    slot.endBytes = nextEnd(endBytes);
    this.inFlight.set(key, slot);
    let released = false;
    return {
      existed, endBytes,
      release: () => {
        if (released) return;
        released = true;
        if (--slot.count === 0 && this.inFlight.get(key) === slot) this.inFlight.delete(key);
      },
    };
  }

  /** A path argument (string, Buffer or file: URL) as an absolute path, or null for an fd or junk. */
  absOf(target: unknown): string | null {
    if (typeof target === 'string') return path.resolve(target);
    if (Buffer.isBuffer(target)) return path.resolve(target.toString());
    if (target instanceof URL) return path.resolve(fileURLToPath(target));
    return null;
  }

  /** The root-relative trace path of `abs` ('' for the root), or null when it is outside. */
  relOf(abs: string | null): string | null {
    if (abs === null) return null;
    for (const root of this.roots) {
      if (abs === root) return '';
      if (abs.startsWith(root + path.sep)) return abs.slice(root.length + 1).split(path.sep).join('/');
    }
    return null;
  }

  lstat(abs: string): fs.Stats | null {
    return this.original.lstatSync(abs, { throwIfNoEntry: false }) ?? null;
  }

  /** A new inode for a name that was just created (the real st_ino may be reused after an unlink; ours never is). */
  freshIno(stats: fs.Stats): number {
    const ino = this.nextIno++;
    this.inodes.set(this.keyOf(stats), ino);
    return ino;
  }

  /** The recorder's number for an existing inode (a new number on first sight). */
  inoOf(stats: fs.Stats): number {
    return this.inodes.get(this.keyOf(stats)) ?? this.freshIno(stats);
  }

  inoOfPath(abs: string): number {
    return this.inoOf(this.original.lstatSync(abs));
  }

  /** The tree at `abs` (itself included), parents before children, names sorted; empty when missing. */
  tree(abs: string): TreeEntry[] {
    const rel = this.relOf(abs);
    const stats = this.lstat(abs);
    if (rel === null || stats === null) return [];
    if (stats.isSymbolicLink()) throw this.refuse(`a symlink under the root (${rel})`);
    const entries: TreeEntry[] = [{ rel, abs, dir: stats.isDirectory() }];
    if (!stats.isDirectory()) return entries;
    for (const name of this.original.readdirSync(abs).sort()) entries.push(...this.tree(path.join(abs, name)));
    return entries;
  }

  /** Events for content just written by name: create (or truncate), then one write. */
  emitContent(abs: string, rel: string, how: { existed: boolean; truncates: boolean }, content: Uint8Array, offsetBytes = 0): void {
    const stats = this.original.lstatSync(abs);
    let ino: number;
    if (how.existed) {
      ino = this.inoOf(stats);
      if (how.truncates) this.emit({ kind: 'truncate', ino, sizeBytes: 0 });
    } else {
      ino = this.freshIno(stats);
      this.emit({ kind: 'create', path: rel, ino });
    }
    if (content.length > 0) this.emit({ kind: 'write', ino, offsetBytes, data: content });
  }

  /** Events that bring the trace's view of the tree at `abs` in line with the disk, given what existed before. */
  emitImport(abs: string, before: ReadonlySet<string>): void {
    for (const entry of this.tree(abs)) {
      if (entry.rel === '') continue;
      if (entry.dir) {
        if (!before.has(entry.rel)) this.emit({ kind: 'mkdir', path: entry.rel, ino: this.freshIno(this.original.lstatSync(entry.abs)) });
      } else {
        this.emitContent(entry.abs, entry.rel, { existed: before.has(entry.rel), truncates: true }, new Uint8Array(this.original.readFileSync(entry.abs)));
      }
    }
  }

  /** Events for a tree that just went away (children first): `entries` is its listing from before. */
  emitRemoval(entries: readonly TreeEntry[]): void {
    for (const entry of [...entries].reverse()) {
      if (entry.rel === '') continue;
      this.emit(entry.dir ? { kind: 'rmdir', path: entry.rel } : { kind: 'unlink', path: entry.rel });
    }
  }

  private keyOf(stats: fs.Stats): string {
    return `${stats.dev}:${stats.ino}`;
  }
}
