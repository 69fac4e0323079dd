/**
 * From system calls to a file-system trace (fault/trace.ts): the completed calls of strace's
 * output (straceLines.ts) are interpreted in order against a replica of the files under the
 * root, and every call that changed them becomes the trace's primitive events. What it models:
 *
 * - Descriptors point at OPEN FILE DESCRIPTIONS: `dup`, `dup2`, `dup3` and `fcntl(F_DUPFD*)`
 *   share one, so they share its offset and its `O_APPEND`; `close` drops the descriptor only.
 *   All traced threads share one descriptor table (one process; a forked child would not).
 * - Offsets: `write`/`writev` at the description's offset and advance it; `pwrite64`/`pwritev`
 *   at their own and leave it (`pwritev2` with offset -1 uses and advances it); `lseek` sets it
 *   to what the call returned. `O_APPEND` (and `RWF_APPEND`) writes land at the file's size, as
 *   Linux does even for `pwrite`. A short write keeps only the bytes the call says it wrote.
 * - Synced writes: a write through an `O_DSYNC` (`O_SYNC`) description, or with `RWF_DSYNC`
 *   (`RWF_SYNC`), is followed by an fdatasync (fsync) of its inode: it is durable when it returns.
 * - `sync_file_range` starts writeback and waits for nothing a crash respects (no metadata, no
 *   device cache flush): it makes nothing durable, and is not an event.
 * - Names: `openat`/`creat` with `O_CREAT` of a new name is a create, `O_TRUNC` of a non-empty
 *   file a truncate to 0; rename/renameat/renameat2 (not `RENAME_EXCHANGE`), unlink/unlinkat,
 *   mkdir/mkdirat, link/linkat; truncate/ftruncate; `fallocate` that grows the size (mode 0,
 *   `ZERO_RANGE`) or zeroes a range (`PUNCH_HOLE`, `ZERO_RANGE`); `copy_file_range` and
 *   `sendfile` into a file under the root copy bytes the replica knows (the source must be under
 *   the root too). Paths come from `-y` (the returned descriptor's path, a dirfd's path).
 * - Markers: lines `issued N` / `acked N` written to the marker file are the workload's markers,
 *   in their place among the engine's calls.
 * - VOLATILE files (the target's list, matched by relative path or by base name) are not
 *   durable state: their calls are left out of the trace, and they may be mapped shared.
 *
 * What it refuses, with a NativeError (never a guess): a durable file mapped `MAP_SHARED` and
 * writable (SHARED_MMAP), io_uring (IO_URING), and UNSUPPORTED_IO for an exchange or whiteout
 * rename, `O_TMPFILE`, a rename or link across the root's edge, a copy from a file outside it,
 * a string strace cut short, a state-changing call on a root file whose result is unknown.
 * A call that names a root file the replica does not know is TRACE_INCOMPLETE.
 */
import path from 'node:path';
import { TraceError, TraceFs, type TraceEvent } from '../../fault/trace.js';
import { NativeError } from './nativeError.js';
import { fdArg, flagsArg, iovecBytes, numberArg, parseStraceText, quotedBytes, type SyscallLine } from './straceLines.js';

export interface SyscallTraceOptions {
  /** The traced root, absolute and real (symlinks resolved, as `-y` prints paths). */
  readonly root: string;
  /** The marker file (absolute, outside the root). */
  readonly markerPath: string;
  /** The traced process's working directory (for relative paths with AT_FDCWD). */
  readonly cwd: string;
  /** Files that are never durable state (`LOCK`, `lock.mdb`, `db-shm`). */
  readonly volatileFiles: readonly string[];
}

/** One open file description: what descriptors dup'd from one `open` share. */
interface Description {
  readonly kind: 'file' | 'dir' | 'volatile' | 'marker';
  readonly ino: number;
  readonly path: string;
  offset: number;
  append: boolean;
  readonly sync: 'none' | 'data' | 'full';
}

/** The events of a whole strace output. */
export function eventsFromStrace(text: string, options: SyscallTraceOptions): TraceEvent[] {
  const interpreter = new SyscallInterpreter(options);
  for (const call of parseStraceText(text)) interpreter.apply(call);
  return interpreter.events;
}

type Handler = (this: SyscallInterpreter, call: SyscallLine) => void;

export class SyscallInterpreter {
  readonly events: TraceEvent[] = [];
  private readonly replica = new TraceFs();
  private readonly fds = new Map<number, Description>();
  private nextIno = 1;
  private markerText = '';

  constructor(private readonly options: SyscallTraceOptions) {}

  apply(call: SyscallLine): void {
    const handler = HANDLERS[call.name];
    if (handler === undefined) return;
    if (call.name === 'io_uring_setup' && call.value !== null && call.value >= 0) throw new NativeError('IO_URING', `the engine set up io_uring (strace line ${call.line}): its submissions bypass the system calls the trace sees, so this configuration cannot be crash-tested here`);
    if (call.errno !== null) return;
    try {
      handler.call(this, call);
    } catch (error) {
      if (error instanceof TraceError) throw new NativeError('TRACE_INCOMPLETE', `strace line ${call.line} (${call.name}) does not apply to the files the trace knows: ${error.message}`, { cause: error });
      throw error;
    }
  }

  /** `path` (absolute, or relative to descriptor `dirfd`'s path) relative to the root; null outside it. */
  relative(dirArg: string | null, pathArg: string): string | null {
    const given = Buffer.from(quotedBytes(pathArg).bytes).toString('utf8');
    const base = dirArg === null ? this.options.cwd : fdArg(dirArg).path ?? this.descriptorPath(fdArg(dirArg).fd);
    return this.rootRelative(path.posix.resolve(base, given));
  }

  private descriptorPath(fd: number): string {
    if (fd === -100) return this.options.cwd;
    const description = this.fds.get(fd);
    if (description === undefined || description.kind === 'marker') throw new NativeError('UNSUPPORTED_IO', `a path relative to descriptor ${fd}, whose path strace did not print`);
    return description.path === '' ? this.options.root : `${this.options.root}/${description.path}`;
  }

  private isVolatile(rel: string): boolean {
    return this.options.volatileFiles.includes(rel) || this.options.volatileFiles.includes(path.posix.basename(rel));
  }

  private emit(event: TraceEvent): void {
    this.events.push(event);
    this.replica.apply(event);
  }

  /** The description of a root file or directory behind `arg`, or null (outside the root, or volatile). */
  private described(arg: string, call: SyscallLine): Description | null {
    const description = this.fds.get(fdArg(arg).fd);
    if (description === undefined || description.kind === 'volatile') return null;
    if (call.value === null && description.kind !== 'dir') throw unknownResult(call);
    return description;
  }

  open(call: SyscallLine, dirArg: string | null, pathArg: string, flagsText: string): void {
    const flags = flagsArg(flagsText);
    const rel = call.resultPath !== null ? this.rootRelative(call.resultPath) : this.relative(dirArg, pathArg);
    if (call.value === null) throw unknownResult(call);
    this.closeFd(call.value);
    if (rel === null) {
      if (path.posix.resolve(this.options.cwd, call.resultPath ?? '') === this.options.markerPath) this.fds.set(call.value, { kind: 'marker', ino: -1, path: '', offset: 0, append: true, sync: 'none' });
      return;
    }
    if (flags.has('O_TMPFILE')) throw new NativeError('UNSUPPORTED_IO', `strace line ${call.line}: O_TMPFILE files are not followed`);
    const sync = flags.has('O_SYNC') || flags.has('O_RSYNC') ? 'full' : flags.has('O_DSYNC') ? 'data' : 'none';
    const base = { path: rel, offset: 0, append: flags.has('O_APPEND'), sync } as const;
    if (this.isVolatile(rel)) return void this.fds.set(call.value, { ...base, kind: 'volatile', ino: -1 });
    if (!this.replica.has(rel)) {
      if (!flags.has('O_CREAT')) throw new NativeError('TRACE_INCOMPLETE', `strace line ${call.line}: ${JSON.stringify(rel)} was opened but the trace never created it`, { path: rel });
      this.emit({ kind: 'create', path: rel, ino: this.nextIno++ });
    }
    const ino = rel === '' ? 0 : this.replica.lookup(rel);
    if (this.replica.isDir(ino)) return void this.fds.set(call.value, { ...base, kind: 'dir', ino });
    const writable = flags.has('O_WRONLY') || flags.has('O_RDWR');
    if (flags.has('O_TRUNC') && writable && this.replica.bytes(ino).length > 0) this.emit({ kind: 'truncate', ino, sizeBytes: 0 });
    this.fds.set(call.value, { ...base, kind: 'file', ino });
  }

  rootRelative(absolute: string): string | null {
    if (absolute === this.options.root) return '';
    return absolute.startsWith(`${this.options.root}/`) ? absolute.slice(this.options.root.length + 1) : null;
  }

  setAppend(fdText: string, append: boolean): void {
    const description = this.fds.get(fdArg(fdText).fd);
    if (description !== undefined) description.append = append;
  }

  closeFd(fd: number): void {
    this.fds.delete(fd);
  }

  dupTo(oldArg: string, fd: number | null): void {
    const description = this.fds.get(fdArg(oldArg).fd);
    if (fd === null) return;
    this.fds.delete(fd);
    if (description !== undefined) this.fds.set(fd, description);
  }

  /** A write of `bytes` at `offset` (null: the description's offset, advanced). */
  write(call: SyscallLine, fdText: string, data: { bytes: Uint8Array; truncated: boolean }, offset: number | null, flags: Set<string> = new Set()): void {
    const description = this.fds.get(fdArg(fdText).fd);
    if (description === undefined || description.kind === 'volatile' || description.kind === 'dir') return;
    if (call.value === null) throw unknownResult(call);
    if (data.truncated) throw new NativeError('UNSUPPORTED_IO', `strace line ${call.line}: strace cut the data of a ${call.name} short (more than -s bytes)`);
    const bytes = data.bytes.subarray(0, call.value);
    if (description.kind === 'marker') return this.markers(bytes, call);
    const append = description.append || flags.has('RWF_APPEND');
    const at = append ? this.replica.bytes(description.ino).length : offset ?? description.offset;
    if (bytes.length > 0) this.emit({ kind: 'write', ino: description.ino, offsetBytes: at, data: new Uint8Array(bytes) });
    if (offset === null || append) description.offset = at + bytes.length;
    const sync = description.sync !== 'none' ? description.sync : flags.has('RWF_SYNC') ? 'full' : flags.has('RWF_DSYNC') ? 'data' : 'none';
    if (sync !== 'none' && bytes.length > 0) this.emit({ kind: 'fsync', ino: description.ino, dataOnly: sync === 'data' });
  }

  private markers(bytes: Uint8Array, call: SyscallLine): void {
    this.markerText += Buffer.from(bytes).toString('utf8');
    const lines = this.markerText.split('\n');
    this.markerText = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^(issued|acked) (\d+)$/.exec(line);
      if (match === null) throw new NativeError('BAD_STRACE', `strace line ${call.line}: a marker line it cannot read: ${JSON.stringify(line)}`);
      this.events.push({ kind: 'marker', marker: match[1] as 'issued' | 'acked', txn: Number(match[2]) });
    }
  }

  seek(call: SyscallLine): void {
    const description = this.fds.get(fdArg(call.args[0]!).fd);
    if (description !== undefined && call.value !== null) description.offset = call.value;
  }

  sync(call: SyscallLine, dataOnly: boolean): void {
    const description = this.described(call.args[0]!, call);
    if (description !== null && description.kind !== 'marker') this.emit({ kind: 'fsync', ino: description.ino, dataOnly });
  }

  ftruncate(call: SyscallLine): void {
    const description = this.described(call.args[0]!, call);
    if (description?.kind === 'file') this.emit({ kind: 'truncate', ino: description.ino, sizeBytes: numberArg(call.args[1]!) ?? 0 });
  }

  /** A name op on two paths (rename, link): both under the root, or neither. */
  twoPaths(call: SyscallLine, from: string | null, to: string | null, make: (from: string, to: string) => TraceEvent): void {
    if (from === null && to === null) return;
    if (call.value === null) throw unknownResult(call);
    if (from === null || to === null) throw new NativeError('UNSUPPORTED_IO', `strace line ${call.line}: ${call.name} across the root's edge (${from ?? 'outside'} → ${to ?? 'outside'})`);
    const volatile = [this.isVolatile(from), this.isVolatile(to)];
    if (volatile[0] && volatile[1]) return;
    if (volatile[0] !== volatile[1]) throw new NativeError('UNSUPPORTED_IO', `strace line ${call.line}: ${call.name} between a volatile file and a durable one (${from} → ${to})`);
    this.emit(make(from, to));
  }

  onePath(call: SyscallLine, rel: string | null, make: (rel: string) => TraceEvent): void {
    if (rel === null || this.isVolatile(rel)) return;
    if (call.value === null) throw unknownResult(call);
    this.emit(make(rel));
  }

  mkdir(call: SyscallLine, rel: string | null): void {
    this.onePath(call, rel, (name) => ({ kind: 'mkdir', path: name, ino: this.nextIno++ }));
  }

  fallocate(call: SyscallLine): void {
    const description = this.described(call.args[0]!, call);
    if (description === null || description.kind !== 'file') return;
    const mode = flagsArg(call.args[1]!);
    const offset = numberArg(call.args[2]!) ?? 0;
    const length = numberArg(call.args[3]!) ?? 0;
    const size = this.replica.bytes(description.ino).length;
    const known = ['0', 'FALLOC_FL_KEEP_SIZE', 'FALLOC_FL_PUNCH_HOLE', 'FALLOC_FL_ZERO_RANGE'];
    if ([...mode].some((flag) => !known.includes(flag))) throw new NativeError('UNSUPPORTED_IO', `strace line ${call.line}: fallocate mode ${call.args[1]} is not followed`);
    const keepSize = mode.has('FALLOC_FL_KEEP_SIZE');
    if (mode.has('FALLOC_FL_PUNCH_HOLE') || mode.has('FALLOC_FL_ZERO_RANGE')) {
      const end = keepSize ? Math.min(size, offset + length) : offset + length;
      if (end > offset) this.emit({ kind: 'write', ino: description.ino, offsetBytes: offset, data: new Uint8Array(end - offset) });
    } else if (!keepSize && offset + length > size) {
      this.emit({ kind: 'truncate', ino: description.ino, sizeBytes: offset + length });
    }
  }

  /** copy_file_range and sendfile into a root file: bytes the replica knows, from a root file. */
  copy(call: SyscallLine, inArg: string, inOffset: number | null, outArg: string, outOffset: number | null): void {
    const out = this.fds.get(fdArg(outArg).fd);
    const source = this.fds.get(fdArg(inArg).fd);
    if (out === undefined || out.kind === 'volatile') {
      if (source !== undefined && inOffset === null && call.value !== null) source.offset += call.value;
      return;
    }
    if (call.value === null) throw unknownResult(call);
    if (source === undefined || source.kind !== 'file') throw new NativeError('UNSUPPORTED_IO', `strace line ${call.line}: ${call.name} into a root file from a file the trace does not know`);
    const from = inOffset ?? source.offset;
    const bytes = this.replica.bytes(source.ino).slice(from, from + call.value);
    if (inOffset === null) source.offset += bytes.length;
    this.write({ ...call, value: bytes.length }, outArg, { bytes, truncated: false }, outOffset);
  }

  mmap(call: SyscallLine): void {
    const [, , prot, flags, fdText] = call.args;
    const description = fdText === undefined || /^-1/.test(fdText) ? undefined : this.fds.get(fdArg(fdText).fd);
    if (description?.kind !== 'file' || !flagsArg(prot ?? '').has('PROT_WRITE')) return;
    const mapFlags = flagsArg(flags ?? '');
    if (mapFlags.has('MAP_SHARED') || mapFlags.has('MAP_SHARED_VALIDATE')) {
      throw new NativeError('SHARED_MMAP', `the engine mapped ${JSON.stringify(description.path)} shared and writable (strace line ${call.line}): its writes through memory leave no system call in the trace (only msync at most), so this configuration cannot be crash-tested by tracing; use one that writes with write(2) (for lmdb: no useWritemap)`);
    }
  }

  lookupIno(rel: string): number {
    return rel === '' ? 0 : this.replica.lookup(rel);
  }
}

function unknownResult(call: SyscallLine): NativeError {
  return new NativeError('UNSUPPORTED_IO', `strace line ${call.line}: the result of ${call.name} on a root file is unknown (?)`);
}

/** `renameat2`'s flags: RENAME_NOREPLACE is a rename; an exchange or a whiteout is refused. */
function renameFlags(call: SyscallLine, text: string | undefined): void {
  const flags = flagsArg(text ?? '0');
  if (flags.has('RENAME_EXCHANGE') || flags.has('RENAME_WHITEOUT')) throw new NativeError('UNSUPPORTED_IO', `strace line ${call.line}: renameat2 with ${text} is not followed`);
}

function linkFlags(call: SyscallLine, text: string | undefined): void {
  if (flagsArg(text ?? '0').has('AT_EMPTY_PATH')) throw new NativeError('UNSUPPORTED_IO', `strace line ${call.line}: linkat with AT_EMPTY_PATH is not followed`);
}

const rename = (from: string, to: string): TraceEvent => ({ kind: 'rename', from, to });
const link = (from: string, to: string): TraceEvent => ({ kind: 'link', from, to });

const HANDLERS: Readonly<Record<string, Handler>> = {
  openat(call) { this.open(call, call.args[0]!, call.args[1]!, call.args[2]!); },
  creat(call) { this.open(call, null, call.args[0]!, 'O_WRONLY|O_CREAT|O_TRUNC'); },
  close(call) { this.closeFd(fdArg(call.args[0]!).fd); },
  dup(call) { this.dupTo(call.args[0]!, call.value); },
  dup2(call) { this.dupTo(call.args[0]!, call.value); },
  dup3(call) { this.dupTo(call.args[0]!, call.value); },
  fcntl(call) { fcntl(this, call); },
  write(call) { this.write(call, call.args[0]!, quotedBytes(call.args[1]!), null); },
  pwrite64(call) { this.write(call, call.args[0]!, quotedBytes(call.args[1]!), numberArg(call.args[3]!)); },
  writev(call) { this.write(call, call.args[0]!, iovecBytes(call.args[1]!), null); },
  pwritev(call) { this.write(call, call.args[0]!, iovecBytes(call.args[1]!), numberArg(call.args[3]!)); },
  pwritev2(call) {
    const offset = numberArg(call.args[3]!);
    this.write(call, call.args[0]!, iovecBytes(call.args[1]!), offset === -1 ? null : offset, flagsArg(call.args[4] ?? '0'));
  },
  lseek(call) { this.seek(call); },
  fsync(call) { this.sync(call, false); },
  fdatasync(call) { this.sync(call, true); },
  sync_file_range() { /* makes nothing durable: see the header */ },
  ftruncate(call) { this.ftruncate(call); },
  truncate(call) {
    const rel = this.relative(null, call.args[0]!);
    this.onePath(call, rel, (name) => ({ kind: 'truncate', ino: this.lookupIno(name), sizeBytes: numberArg(call.args[1]!) ?? 0 }));
  },
  fallocate(call) { this.fallocate(call); },
  rename(call) { this.twoPaths(call, this.relative(null, call.args[0]!), this.relative(null, call.args[1]!), rename); },
  renameat(call) { this.twoPaths(call, this.relative(call.args[0]!, call.args[1]!), this.relative(call.args[2]!, call.args[3]!), rename); },
  renameat2(call) {
    renameFlags(call, call.args[4]);
    this.twoPaths(call, this.relative(call.args[0]!, call.args[1]!), this.relative(call.args[2]!, call.args[3]!), rename);
  },
  link(call) { this.twoPaths(call, this.relative(null, call.args[0]!), this.relative(null, call.args[1]!), link); },
  linkat(call) {
    linkFlags(call, call.args[4]);
    this.twoPaths(call, this.relative(call.args[0]!, call.args[1]!), this.relative(call.args[2]!, call.args[3]!), link);
  },
  unlink(call) { this.onePath(call, this.relative(null, call.args[0]!), (name) => ({ kind: 'unlink', path: name })); },
  unlinkat(call) {
    const removeDir = flagsArg(call.args[2] ?? '0').has('AT_REMOVEDIR');
    this.onePath(call, this.relative(call.args[0]!, call.args[1]!), (name) => (removeDir ? { kind: 'rmdir', path: name } : { kind: 'unlink', path: name }));
  },
  mkdir(call) { this.mkdir(call, this.relative(null, call.args[0]!)); },
  mkdirat(call) { this.mkdir(call, this.relative(call.args[0]!, call.args[1]!)); },
  copy_file_range(call) { this.copy(call, call.args[0]!, numberArg(call.args[1]!), call.args[2]!, numberArg(call.args[3]!)); },
  sendfile(call) { this.copy(call, call.args[1]!, numberArg(call.args[2]!), call.args[0]!, null); },
  mmap(call) { this.mmap(call); },
  msync() { /* a shared writable map of a durable file was refused at its mmap */ },
  io_uring_setup() { /* refused in apply() when it succeeded */ },
};

/** fcntl: F_DUPFD* shares the description; F_SETFL sets or clears its O_APPEND. */
function fcntl(interpreter: SyscallInterpreter, call: SyscallLine): void {
  const command = call.args[1] ?? '';
  if (command === 'F_DUPFD' || command === 'F_DUPFD_CLOEXEC') interpreter.dupTo(call.args[0]!, call.value);
  else if (command === 'F_SETFL') interpreter.setAppend(call.args[0]!, flagsArg(call.args[2] ?? '0').has('O_APPEND'));
}
