/**
 * A crash image held in memory, with the few fs operations the built-in node-fs targets make
 * while they recover (memoryFsPatch.ts routes Node's fs to it): recovering an image on real
 * files cost a syscall (and, for the asynchronous calls, a thread-pool round trip) per
 * mkdir, write, open, read, fsync, rename, readdir and unlink, most of nedb's recovery.
 *
 * Each operation follows Linux's answer for the same call on a tmpfs holding the same tree,
 * errors included, worded as Node words them (`ENOENT: no such file or directory, open '…'`,
 * with errno, code, syscall, path and dest), since a refusal's words are part of a finding.
 * Whatever it does not model (directory renames, flags other than r, r+ and w, positional
 * forms it was not written for, paths a kernel would read differently from path.resolve)
 * is refused with NodeFsError RECOVERY_FS_UNSUPPORTED, never approximated. There are no
 * permissions (the harness runs as root here, where they are not checked either) and no
 * symlinks (the recorder refuses them, so no image has one).
 */
import path from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import util from 'node:util';
import type { DirImage } from '../../fault/trace.js';
import { NodeFsError } from './nodeFsError.js';

interface MemFile { readonly kind: 'file'; bytes: Buffer; size: number }
interface MemDir { readonly kind: 'dir'; readonly entries: Map<string, MemNode> }
type MemNode = MemFile | MemDir;

interface OpenFile { readonly node: MemNode; position: number; readonly readable: boolean; readonly writable: boolean }

/** Memory descriptors start here: far above any real one, and below Node's int32 limit, so both kinds pass Node's checks and never collide. */
export const MEMORY_FD_BASE = 0x4000_0000;
/** Node's promises readFile reads (and decodes) at most this much at a time (internal/fs/utils kReadFileBufferLength). */
const READ_FILE_CHUNK_BYTES = 512 * 1024;

type ErrnoName = 'ENOENT' | 'EISDIR' | 'ENOTDIR' | 'EEXIST' | 'EBADF';
const ERRNOS = new Map([...util.getSystemErrorMap()].map(([errno, [name, description]]) => [name, { errno, description }]));

/** The error Node's fs raises for a failed system call (internal/errors.js UVException). */
export function systemError(name: ErrnoName, syscall: string, file?: string, dest?: string): NodeJS.ErrnoException {
  const known = ERRNOS.get(name);
  if (known === undefined) throw new Error(`no errno called ${name} on this system`);
  const where = `${file === undefined ? '' : ` '${file}'`}${dest === undefined ? '' : ` -> '${dest}'`}`;
  const error: NodeJS.ErrnoException = new Error(`${name}: ${known.description}, ${syscall}${where}`);
  Object.assign(error, { errno: known.errno, code: name, syscall }, file === undefined ? {} : { path: file }, dest === undefined ? {} : { dest });
  return error;
}

export function unsupported(what: string): NodeFsError {
  return new NodeFsError('RECOVERY_FS_UNSUPPORTED', `the in-memory recovery fs does not model ${what}`);
}

/** A planted fault, for the test that shows the real-vs-memory comparison catches a wrong memory fs. */
export type MemoryFsFault = { readonly kind: 'drop-write'; readonly nth: number } | { readonly kind: 'lose-last-byte' };

let nextFd = MEMORY_FD_BASE;
/** A `.` or `..` segment, an empty one (`//`) or a trailing slash: what path.resolve rewrites. */
const DOT_OR_EMPTY_SEGMENT = /\/(\.{1,2})?(\/|$)/;

export class MemoryFs {
  private readonly tree: MemDir = { kind: 'dir', entries: new Map() };
  private readonly fds = new Map<number, OpenFile>();
  private readonly issued = new Set<number>();
  private writes = 0;
  private readonly prefix: string;

  /** `root`: the absolute path the image appears at (nothing is created there on disk). */
  constructor(readonly root: string, image: DirImage, private readonly fault: MemoryFsFault | null = null) {
    if (path.resolve(root) !== root || path.sep !== '/') throw new RangeError(`the memory fs's root must be an absolute, normal POSIX path, not ${root}`);
    this.prefix = `${root}/`;
    for (const dir of [...image.dirs].sort()) this.mkdir(path.join(root, dir), { recursive: true });
    for (const [name, bytes] of image.files) this.place(path.join(root, name), Buffer.from(bytes));
  }

  /** Whether `file` names something under the root (the root included). */
  contains(file: string): boolean {
    // Most calls name a normal path under the root or one far from it: path.resolve is for the rest (relative, `..`).
    if (file === this.root || (file.startsWith(this.prefix) && !DOT_OR_EMPTY_SEGMENT.test(file))) return true;
    if (file.startsWith('/') && !file.startsWith(this.root) && !DOT_OR_EMPTY_SEGMENT.test(file)) return false;
    const resolved = path.resolve(file);
    return resolved === this.root || resolved.startsWith(this.prefix);
  }

  /** Whether this fs gave out `fd` (open or closed since: a closed one answers EBADF, as the kernel's would). */
  issuedFd(fd: number): boolean {
    return this.issued.has(fd);
  }

  /** The tree now, as the image type (what the library left: the equivalence test compares it with the real files'). */
  image(): DirImage {
    const files = new Map<string, Uint8Array>();
    const dirs = new Set<string>();
    const walk = (dir: MemDir, prefix: string): void => {
      for (const [name, node] of [...dir.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const relative = prefix === '' ? name : `${prefix}/${name}`;
        if (node.kind === 'dir') {
          dirs.add(relative);
          walk(node, relative);
        } else files.set(relative, new Uint8Array(node.bytes.subarray(0, node.size)));
      }
    };
    walk(this.tree, '');
    return { files, dirs };
  }

  access(file: string, mode: unknown): void {
    // X_OK needs an execute bit even for root, and images carry no modes.
    if (mode !== undefined && (typeof mode !== 'number' || (mode & 1) !== 0)) throw unsupported(`access mode ${util.inspect(mode)}`);
    if (this.lookup(file, 'access').node === undefined) throw systemError('ENOENT', 'access', file);
  }

  /** Returns what Node's mkdir returns: with `recursive`, the first directory made (undefined if none). */
  mkdir(file: string, options: unknown): string | undefined {
    const recursive = typeof options === 'object' && options !== null && (options as { recursive?: unknown }).recursive === true;
    if (!recursive) {
      const { parent, name, node } = this.lookup(file, 'mkdir');
      if (node !== undefined) throw systemError('EEXIST', 'mkdir', file);
      if (parent === null) throw systemError('EEXIST', 'mkdir', file);
      parent.entries.set(name, { kind: 'dir', entries: new Map() });
      return undefined;
    }
    let dir = this.tree;
    let first: string | undefined;
    const parts = this.parts(file);
    for (const [index, part] of parts.entries()) {
      const next = dir.entries.get(part);
      if (next?.kind === 'file') throw systemError(index === parts.length - 1 ? 'EEXIST' : 'ENOTDIR', 'mkdir', file);
      if (next === undefined) {
        const made: MemDir = { kind: 'dir', entries: new Map() };
        dir.entries.set(part, made);
        first ??= path.join(this.root, ...parts.slice(0, index + 1));
        dir = made;
      } else dir = next;
    }
    return first;
  }

  readFile(file: string, options: unknown): Buffer | string {
    const { encoding, flag } = fileOptions(options);
    if (flag !== undefined && flag !== 'r') throw unsupported(`readFile with flag ${util.inspect(flag)}`);
    const node = this.lookup(file, 'open').node;
    if (node === undefined) throw systemError('ENOENT', 'open', file);
    if (node.kind === 'dir') throw systemError('EISDIR', 'read');
    const bytes = Buffer.from(node.bytes.subarray(0, this.visibleSize(node)));
    if (encoding === undefined) return bytes;
    if (bytes.length <= READ_FILE_CHUNK_BYTES) return bytes.toString(encoding);
    // Node decodes a large file chunk by chunk: the same decoder over the same chunks, so torn UTF-8 decodes as it would.
    const decoder = new StringDecoder(encoding);
    let text = '';
    for (let at = 0; at < bytes.length; at += READ_FILE_CHUNK_BYTES) text += decoder.write(bytes.subarray(at, at + READ_FILE_CHUNK_BYTES));
    return text + decoder.end();
  }

  writeFile(file: string, data: unknown, options: unknown): void {
    const { encoding, flag } = fileOptions(options);
    if (flag !== undefined && flag !== 'w') throw unsupported(`writeFile with flag ${util.inspect(flag)}`);
    let bytes: Buffer;
    if (typeof data === 'string') bytes = Buffer.from(data, encoding ?? 'utf8');
    else if (ArrayBuffer.isView(data)) bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    else throw unsupported('writeFile of anything but a string or a byte array');
    const fd = this.open(file, 'w');
    this.write(fd, bytes, 0, bytes.length, null);
    this.close(fd);
  }

  rename(from: string, to: string): void {
    const source = this.lookup(from, 'rename', to);
    if (source.node === undefined || source.parent === null) throw systemError('ENOENT', 'rename', from, to);
    if (source.node.kind === 'dir') throw unsupported('renaming a directory');
    const target = this.lookup(to, 'rename', from, true);
    if (target.parent === null || target.node?.kind === 'dir') throw systemError('EISDIR', 'rename', from, to);
    if (target.node === source.node) return;
    source.parent.entries.delete(source.name);
    target.parent.entries.set(target.name, source.node);
  }

  unlink(file: string): void {
    const { parent, name, node } = this.lookup(file, 'unlink');
    if (node === undefined) throw systemError('ENOENT', 'unlink', file);
    if (node.kind === 'dir' || parent === null) throw systemError('EISDIR', 'unlink', file);
    parent.entries.delete(name);
  }

  /** `r` (a directory too), `r+` (an existing file), `w` (create or truncate): what the built-in targets' recoveries open with. */
  open(file: string, flags: unknown): number {
    const mode = flags ?? 'r';
    if (mode !== 'r' && mode !== 'r+' && mode !== 'w') throw unsupported(`open with flags ${util.inspect(flags)}`);
    const { parent, name, node } = this.lookup(file, 'open');
    let opened = node;
    if (opened?.kind === 'dir' && mode !== 'r') throw systemError('EISDIR', 'open', file);
    if (opened === undefined) {
      if (mode !== 'w' || parent === null) throw systemError('ENOENT', 'open', file);
      opened = { kind: 'file', bytes: Buffer.alloc(0), size: 0 };
      parent.entries.set(name, opened);
    } else if (mode === 'w' && opened.kind === 'file') opened.size = 0;
    const fd = nextFd++;
    this.issued.add(fd);
    this.fds.set(fd, { node: opened, position: 0, readable: mode !== 'w', writable: mode !== 'r' });
    return fd;
  }

  /** pread at `position`, or read at the descriptor's offset (null, undefined or -1), as fs.read. */
  read(fd: number, buffer: ArrayBufferView, offset: number, length: number, position: unknown): number {
    const open = this.descriptor(fd, 'read');
    if (!open.readable) throw systemError('EBADF', 'read');
    if (open.node.kind === 'dir') throw systemError('EISDIR', 'read');
    const at = this.positionOf(open, position);
    const count = Math.max(0, Math.min(length, this.visibleSize(open.node) - at));
    open.node.bytes.copy(new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength), offset, at, at + count);
    if (position === null || position === undefined || position === -1) open.position = at + count;
    return count;
  }

  write(fd: number, buffer: ArrayBufferView, offset: number, length: number, position: unknown): number {
    const open = this.descriptor(fd, 'write');
    if (!open.writable || open.node.kind !== 'file') throw systemError('EBADF', 'write');
    const at = this.positionOf(open, position);
    const bytes = Buffer.from(buffer.buffer, buffer.byteOffset + offset, length);
    if (!(this.fault?.kind === 'drop-write' && ++this.writes === this.fault.nth)) writeAt(open.node, at, bytes);
    if (position === null || position === undefined || position === -1) open.position = at + length;
    return length;
  }

  writev(fd: number, buffers: readonly ArrayBufferView[], position: unknown): number {
    let written = 0;
    const at = position === null || position === undefined || position === -1 ? null : this.positionOf(this.descriptor(fd, 'write'), position);
    for (const buffer of buffers) written += this.write(fd, buffer, 0, buffer.byteLength, at === null ? null : at + written);
    return written;
  }

  /** fsync and fdatasync: the image is already what recovery sees; a descriptor must be open, as the kernel asks. */
  sync(fd: number, syscall: 'fsync' | 'fdatasync'): void {
    this.descriptor(fd, syscall);
  }

  close(fd: number): void {
    this.descriptor(fd, 'close');
    this.fds.delete(fd);
  }

  /** A file's size as reads see it: all of it, unless the planted fault hides its last byte. */
  private visibleSize(file: MemFile): number {
    return this.fault?.kind === 'lose-last-byte' ? Math.max(0, file.size - 1) : file.size;
  }

  private descriptor(fd: number, syscall: string): OpenFile {
    const open = this.fds.get(fd);
    if (open === undefined) throw systemError('EBADF', syscall);
    return open;
  }

  private positionOf(open: OpenFile, position: unknown): number {
    if (position === null || position === undefined || position === -1) return open.position;
    if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) throw unsupported(`the position ${util.inspect(position)}`);
    return position;
  }

  private place(file: string, bytes: Buffer): void {
    const { parent, name } = this.lookup(file, 'open');
    if (parent === null) throw new RangeError('an image file at the root itself');
    parent.entries.set(name, { kind: 'file', bytes, size: bytes.length });
  }

  /** The components under the root; a path the kernel would read otherwise than path.resolve (a trailing slash, `..`, `//`) is refused. */
  private parts(file: string): string[] {
    if (file === this.root) return [];
    // Under the root and normal (what path.join gives): the names are the components as they are.
    if (file.startsWith(this.prefix) && !DOT_OR_EMPTY_SEGMENT.test(file)) return file.slice(this.prefix.length).split('/');
    if (this.contains(file)) throw unsupported(`the path ${JSON.stringify(file)} (not absolute and normal)`);
    throw new RangeError(`${file} is not under the memory fs's root ${this.root}`);
  }

  /**
   * The parent directory, the last name and what it names. A missing parent is ENOENT and a
   * file in the way ENOTDIR, both for `syscall` on `file` (-> `dest`), as Linux reports them;
   * with `destSide`, the path reported first is `dest` (a rename's target names the source first).
   */
  private lookup(file: string, syscall: string, dest?: string, destSide = false): { parent: MemDir | null; name: string; node: MemNode | undefined } {
    const parts = this.parts(file);
    const fail = (name: ErrnoName): NodeJS.ErrnoException => (destSide ? systemError(name, syscall, dest, file) : systemError(name, syscall, file, dest));
    if (parts.length === 0) return { parent: null, name: '', node: this.tree };
    let dir: MemNode = this.tree;
    for (const part of parts.slice(0, -1)) {
      const next: MemNode | undefined = dir.entries.get(part);
      if (next === undefined) throw fail('ENOENT');
      if (next.kind !== 'dir') throw fail('ENOTDIR');
      dir = next;
    }
    const name = parts[parts.length - 1]!;
    return { parent: dir, name, node: dir.entries.get(name) };
  }
}

function writeAt(file: MemFile, at: number, bytes: Buffer): void {
  const end = at + bytes.length;
  if (end > file.bytes.length) {
    const grown = Buffer.alloc(Math.max(end, file.bytes.length * 2));
    file.bytes.copy(grown, 0, 0, file.size);
    file.bytes = grown;
  }
  // A write past the end leaves a gap that reads as zeros, as on disk.
  if (at > file.size) file.bytes.fill(0, file.size, at);
  bytes.copy(file.bytes, at);
  file.size = Math.max(file.size, end);
}

/** readFile's and writeFile's options: an encoding name, or an object with `encoding` and `flag` (a signal is not modelled). */
function fileOptions(options: unknown): { encoding: BufferEncoding | undefined; flag: unknown } {
  if (options === undefined || options === null) return { encoding: undefined, flag: undefined };
  if (typeof options === 'string') return { encoding: checkedEncoding(options), flag: undefined };
  if (typeof options !== 'object') throw unsupported(`the options ${util.inspect(options)}`);
  const { encoding, flag, signal } = options as { encoding?: unknown; flag?: unknown; signal?: unknown };
  if (signal !== undefined) throw unsupported('an abort signal');
  return { encoding: encoding === undefined || encoding === null ? undefined : checkedEncoding(encoding), flag };
}

function checkedEncoding(encoding: unknown): BufferEncoding {
  if (typeof encoding !== 'string' || !Buffer.isEncoding(encoding)) throw unsupported(`the encoding ${util.inspect(encoding)}`);
  return encoding;
}
