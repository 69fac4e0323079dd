/**
 * A file-system trace: what a program outside the reference engine did to the files under one
 * root directory, as a list of primitive, successful, state-changing operations in the order
 * they took effect, plus the commit markers of the workload that drove it. The node-fs tier
 * (a preload that patches `fs`, targets/nodefs/) and the syscall tier (strace, targets/native/)
 * both produce it; the crash model over traces (fault/traceCrash.ts) builds crash images from
 * it, and nothing else needs to know where it came from.
 *
 * Conventions, so that one trace means one thing:
 * - Paths are relative to the root, with `/` separators, never `.`/`..` segments; the root
 *   itself is `''` and is inode 0, which always exists.
 * - Inodes are the recorder's own numbers (1, 2, ... in order of first sight), never the real
 *   `st_ino`, so the same seed gives the same trace. Two names of one inode (a hard link)
 *   carry the same number.
 * - High-level calls are decomposed by the recorder: `writeFile` is `create` (when the name is
 *   new) or `truncate` to 0, then `write`; `appendFile` and `O_APPEND` writes are positional
 *   writes at the size the file had; `copyFile` is a `create` and a `write` of the source's bytes.
 * - Only operations that succeeded are recorded; reads are not (they change nothing).
 * - `fsync` on a directory's inode is a directory sync; `dataOnly` marks `fdatasync`.
 * - Markers: `issued` when the workload starts transaction `txn` (0-based, in workload order),
 *   `acked` when the library's promise for it resolved (or its call returned).
 */

export type TraceEvent =
  | { readonly kind: 'create'; readonly path: string; readonly ino: number }
  | { readonly kind: 'mkdir'; readonly path: string; readonly ino: number }
  | { readonly kind: 'write'; readonly ino: number; readonly offsetBytes: number; readonly data: Uint8Array }
  | { readonly kind: 'truncate'; readonly ino: number; readonly sizeBytes: number }
  | { readonly kind: 'fsync'; readonly ino: number; readonly dataOnly: boolean }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string }
  | { readonly kind: 'link'; readonly from: string; readonly to: string }
  | { readonly kind: 'unlink'; readonly path: string }
  | { readonly kind: 'rmdir'; readonly path: string }
  | { readonly kind: 'marker'; readonly marker: 'issued' | 'acked'; readonly txn: number };

export type TraceEventKind = TraceEvent['kind'];

export interface Trace {
  /** What produced it: `node-fs` (preload) or `syscalls` (strace). */
  readonly tier: 'node-fs' | 'syscalls';
  readonly events: readonly TraceEvent[];
}

/** The files and directories under the root at some moment: what a crash image is. */
export interface DirImage {
  /** Regular files by path (a hard-linked inode appears under each of its names). */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Directories by path, the root (`''`) excluded. */
  readonly dirs: ReadonlySet<string>;
}

/** Limits, so a runaway program cannot exhaust memory through its trace. */
export const TRACE_MAX_EVENTS = 1_000_000;
export const TRACE_MAX_FILE_BYTES = 256 * 1024 * 1024;

export class TraceError extends Error {
  readonly code = 'BAD_TRACE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TraceError';
  }
}

/** The parent of a path (`''` for a top-level name). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** Checks one path against the conventions above. */
export function checkTracePath(path: string): string {
  if (typeof path !== 'string' || path === '' || path.startsWith('/') || path.endsWith('/')) throw new TraceError(`bad trace path ${JSON.stringify(path)}`);
  if (path.split('/').some((part) => part === '' || part === '.' || part === '..')) throw new TraceError(`bad trace path ${JSON.stringify(path)}`);
  return path;
}

/**
 * A file system with nothing lost: every event applied, in order. The recorder's completeness
 * check compares this with the real directory at the end of a run; the crash model uses it as
 * the `all` plan's answer. Throws TraceError on an event that cannot apply (a bad trace).
 */
export function replayAll(events: readonly TraceEvent[]): DirImage {
  const fs = new TraceFs();
  for (const event of events) fs.apply(event);
  return fs.image();
}

/** A namespace of names → inodes and inodes → bytes, applying trace events strictly. */
export class TraceFs {
  private readonly names = new Map<string, number>();
  private readonly dirInodes = new Set<number>([0]);
  private readonly data = new Map<number, Uint8Array>();

  apply(event: TraceEvent): void {
    switch (event.kind) {
      case 'create': return this.bind(event.path, event.ino, false);
      case 'mkdir': return this.bind(event.path, event.ino, true);
      case 'write': return this.write(event.ino, event.offsetBytes, event.data);
      case 'truncate': return this.truncate(event.ino, event.sizeBytes);
      case 'rename': return this.rename(event.from, event.to);
      case 'link': return this.bind(event.to, this.lookup(event.from), false);
      case 'unlink': this.lookup(event.path); this.names.delete(event.path); return;
      case 'rmdir': return this.rmdir(event.path);
      case 'fsync': case 'marker': return;
    }
  }

  /** The inode a name points at, or a TraceError. */
  lookup(path: string): number {
    const ino = this.names.get(checkTracePath(path));
    if (ino === undefined) throw new TraceError(`trace names ${JSON.stringify(path)}, which does not exist`);
    return ino;
  }

  /** Whether `path` names a file or directory now (the root always exists). */
  has(path: string): boolean {
    return path === '' || this.names.has(path);
  }

  isDir(ino: number): boolean {
    return this.dirInodes.has(ino);
  }

  /** A regular file's bytes, named or not (a view: never change it); a TraceError for no file. */
  bytes(ino: number): Uint8Array {
    return this.fileData(ino);
  }

  image(): DirImage {
    const files = new Map<string, Uint8Array>();
    const dirs = new Set<string>();
    for (const [path, ino] of [...this.names].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (this.dirInodes.has(ino)) dirs.add(path);
      else files.set(path, this.data.get(ino) ?? new Uint8Array(0));
    }
    return { files, dirs };
  }

  private bind(path: string, ino: number, directory: boolean): void {
    checkTracePath(path);
    if (this.names.has(path)) throw new TraceError(`trace creates ${JSON.stringify(path)}, which exists`);
    this.checkParent(path);
    this.names.set(path, ino);
    if (directory) this.dirInodes.add(ino);
    else if (!this.data.has(ino)) this.data.set(ino, new Uint8Array(0));
  }

  private checkParent(path: string): void {
    const parent = parentOf(path);
    if (parent !== '' && !this.dirInodes.has(this.lookup(parent))) throw new TraceError(`the parent of ${JSON.stringify(path)} is not a directory`);
  }

  private write(ino: number, offsetBytes: number, bytes: Uint8Array): void {
    const old = this.fileData(ino);
    const end = offsetBytes + bytes.length;
    if (!Number.isSafeInteger(offsetBytes) || offsetBytes < 0 || end > TRACE_MAX_FILE_BYTES) throw new TraceError(`write at ${offsetBytes} of ${bytes.length} bytes is out of bounds`);
    const next = end > old.length ? new Uint8Array(end) : old;
    if (next !== old) next.set(old);
    next.set(bytes, offsetBytes);
    this.data.set(ino, next);
  }

  private truncate(ino: number, sizeBytes: number): void {
    const old = this.fileData(ino);
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0 || sizeBytes > TRACE_MAX_FILE_BYTES) throw new TraceError(`truncate to ${sizeBytes} bytes is out of bounds`);
    const next = new Uint8Array(sizeBytes);
    next.set(old.subarray(0, Math.min(sizeBytes, old.length)));
    this.data.set(ino, next);
  }

  private fileData(ino: number): Uint8Array {
    const bytes = this.data.get(ino);
    if (bytes === undefined) throw new TraceError(`trace writes inode ${ino}, which is no regular file`);
    return bytes;
  }

  private rename(from: string, to: string): void {
    const ino = this.lookup(from);
    checkTracePath(to);
    this.checkParent(to);
    const replaced = this.names.get(to);
    if (replaced !== undefined && this.dirInodes.has(replaced) !== this.dirInodes.has(ino)) throw new TraceError(`rename of ${JSON.stringify(from)} over ${JSON.stringify(to)} mixes a file and a directory`);
    this.names.delete(from);
    this.names.set(to, ino);
    if (this.dirInodes.has(ino)) this.renameChildren(from, to);
  }

  private renameChildren(from: string, to: string): void {
    for (const [path, ino] of [...this.names]) {
      if (!path.startsWith(`${from}/`)) continue;
      this.names.delete(path);
      this.names.set(`${to}${path.slice(from.length)}`, ino);
    }
  }

  private rmdir(path: string): void {
    const ino = this.lookup(path);
    if (!this.dirInodes.has(ino)) throw new TraceError(`rmdir of ${JSON.stringify(path)}, which is no directory`);
    if ([...this.names.keys()].some((name) => name.startsWith(`${path}/`))) throw new TraceError(`rmdir of ${JSON.stringify(path)}, which is not empty`);
    this.names.delete(path);
  }
}

/** Serialises a trace as JSON lines (data as base64): what a saved failure stores and replays. */
export function traceToJsonLines(trace: Trace): string {
  const header = JSON.stringify({ format: 'crashlab-trace', version: 1, tier: trace.tier });
  const lines = trace.events.map((event) => JSON.stringify(event.kind === 'write' ? { ...event, data: Buffer.from(event.data).toString('base64') } : event));
  return `${[header, ...lines].join('\n')}\n`;
}

/** Parses `traceToJsonLines`' output; a TraceError names the line that is wrong. */
export function traceFromJsonLines(text: string): Trace {
  const lines = text.split('\n').filter((line) => line !== '');
  const header = parseLine(lines[0] ?? '', 1) as { format?: unknown; version?: unknown; tier?: unknown };
  if (header.format !== 'crashlab-trace' || header.version !== 1) throw new TraceError('not a crashlab trace (version 1)');
  if (header.tier !== 'node-fs' && header.tier !== 'syscalls') throw new TraceError(`unknown trace tier ${JSON.stringify(header.tier)}`);
  if (lines.length - 1 > TRACE_MAX_EVENTS) throw new TraceError(`trace has more than ${TRACE_MAX_EVENTS} events`);
  const events = lines.slice(1).map((line, index) => {
    const event = parseLine(line, index + 2) as TraceEvent & { data?: string };
    return event.kind === 'write' ? { ...event, data: new Uint8Array(Buffer.from(String(event.data), 'base64')) } : event;
  });
  return { tier: header.tier, events };
}

function parseLine(line: string, lineNumber: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch (error) {
    throw new TraceError(`trace line ${lineNumber} is not JSON`, { cause: error });
  }
}
