/**
 * In-memory `Vfs`: the fast backend for unit tests and the base the fault layer (fault/) wraps.
 * It implements the `Storage`/`Vfs` contracts of storage.ts and mirrors real files wherever the
 * engine could tell the difference: a file is locked while open (a second `open` is `LOCKED`),
 * a removed file lives on for the handles still open on it (like an unlinked inode), and a gap
 * or an extension reads as zeros. It does not model crashes: the fault layer decides what a
 * crash keeps, using `snapshot()` and `fromSnapshot()`.
 */
import { assert, EngineError, ioError } from './errors.js';
import type { OpenOptions, Storage, Vfs } from './storage.js';
import { checkName, checkOpenOptions, checkRead, checkSetLen, checkWrite, FileLock, MAX_FILE_BYTES } from './storageChecks.js';

/** Small files stay small; larger ones double, so n appends cost O(n) copying in total. */
const INITIAL_CAPACITY_BYTES = 4096;

/**
 * One file's bytes, shared by its directory entry and the handle that has it open. Internal to
 * the memory backend; exported only because `MemoryStorage`'s constructor names it.
 * Invariant: every byte in `bytes` at or beyond `lengthBytes` is zero, so growing needs no fill.
 */
export class MemoryFile {
  bytes: Uint8Array;
  lengthBytes: number;
  /** The lock lives on the file, not the name: after `remove`, a new file of that name is free. */
  readonly lock = new FileLock();

  constructor(bytes: Uint8Array, lengthBytes: number) {
    assert(lengthBytes <= bytes.length, 'file length within capacity');
    this.bytes = bytes;
    this.lengthBytes = lengthBytes;
  }
}

export class MemoryStorage implements Storage {
  /** Completed `sync()` calls, for tests that check durability is actually requested. */
  syncCount = 0;
  readonly #name: string;
  readonly #file: MemoryFile;
  #closed = false;
  #syncsInFlight = 0;

  readonly #readOnly: boolean;

  constructor(name: string, file: MemoryFile, readOnly = false) {
    assert(file.lock.held, 'a handle is only made for a file it has locked');
    this.#name = name;
    this.#file = file;
    this.#readOnly = readOnly;
  }

  len(): number {
    this.#checkOpen();
    return this.#file.lengthBytes;
  }

  read(offset: number, length: number): Uint8Array {
    this.#checkOpen();
    checkRead(this.#name, offset, length, this.#file.lengthBytes);
    // slice, not subarray: the caller keeps the result, and a view would alias the file.
    return this.#file.bytes.slice(offset, offset + length);
  }

  write(offset: number, data: Uint8Array): void {
    this.#checkOpen();
    checkWrite(this.#name, offset, data);
    // Like pwrite, writing nothing changes nothing, even past the end: no byte was written.
    if (data.length === 0) return;
    const endBytes = offset + data.length;
    this.#ensureCapacity(endBytes);
    // Copies data; the gap between the old end and offset is already zero by the invariant.
    this.#file.bytes.set(data, offset);
    this.#file.lengthBytes = Math.max(this.#file.lengthBytes, endBytes);
  }

  setLen(length: number): void {
    this.#checkOpen();
    checkSetLen(this.#name, length);
    const file = this.#file;
    if (length < file.lengthBytes) {
      // Keep the invariant: a later extension must read zeros, not the truncated bytes.
      file.bytes.fill(0, length, file.lengthBytes);
    } else {
      this.#ensureCapacity(length);
    }
    file.lengthBytes = length;
  }

  async sync(): Promise<void> {
    this.#checkOpen();
    this.#syncsInFlight += 1;
    try {
      // Yield once, so callers cannot come to rely on sync completing synchronously.
      await Promise.resolve();
      this.syncCount += 1;
    } finally {
      this.#syncsInFlight -= 1;
    }
  }

  /** A synchronous sync (Storage.syncNow): in memory there is nothing to wait for. */
  syncNow(): void {
    this.#checkOpen();
    this.syncCount += 1;
  }

  close(): void {
    this.#checkOpen();
    if (this.#syncsInFlight > 0) {
      // Mirrors FileStorage, where closing the fd under a pending fsync could sync a reused fd.
      throw new TypeError(`close() of ${this.#name} while a sync() is in flight: await it first`);
    }
    this.#closed = true;
    this.#file.lock.release(this.#readOnly);
  }

  #checkOpen(): void {
    if (this.#closed) throw new EngineError('CLOSED', `${this.#name} is closed`);
  }

  #ensureCapacity(neededBytes: number): void {
    assert(neededBytes <= MAX_FILE_BYTES, 'size checked against MAX_FILE_BYTES before growing');
    const file = this.#file;
    if (neededBytes <= file.bytes.length) return;
    let capacityBytes = Math.max(file.bytes.length, INITIAL_CAPACITY_BYTES);
    while (capacityBytes < neededBytes) capacityBytes *= 2;
    capacityBytes = Math.min(capacityBytes, MAX_FILE_BYTES);
    let grown: Uint8Array;
    try {
      grown = new Uint8Array(capacityBytes);
    } catch (error) {
      // V8 caps typed arrays (2^32 bytes on Node 20): running out of memory is the IO of RAM.
      throw ioError(`cannot grow ${this.#name} to ${capacityBytes} bytes in memory`, error);
    }
    grown.set(file.bytes.subarray(0, file.lengthBytes));
    file.bytes = grown;
  }
}

export class MemoryVfs implements Vfs {
  /** Completed `syncDir()` calls. */
  syncDirCount = 0;
  readonly #files = new Map<string, MemoryFile>();

  /** A directory holding copies of `files`, none of them open. */
  static fromSnapshot(files: ReadonlyMap<string, Uint8Array>): MemoryVfs {
    const vfs = new MemoryVfs();
    for (const [name, bytes] of files) {
      checkName(name);
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`snapshot of ${name} must be a Uint8Array`);
      checkSetLen(name, bytes.length);
      vfs.#files.set(name, new MemoryFile(bytes.slice(), bytes.length));
    }
    return vfs;
  }

  open(name: string, options: OpenOptions): MemoryStorage {
    checkName(name);
    checkOpenOptions(options);
    let file = this.#files.get(name);
    if (file === undefined) {
      if (!options.create) throw new EngineError('NOT_FOUND', `${name} does not exist`);
      file = new MemoryFile(new Uint8Array(0), 0);
      this.#files.set(name, file);
    }
    file.lock.acquire(name, options.readOnly === true);
    return new MemoryStorage(name, file, options.readOnly === true);
  }

  remove(name: string): void {
    checkName(name);
    // An open handle keeps its MemoryFile, as an open fd keeps an unlinked inode.
    if (!this.#files.delete(name)) throw new EngineError('NOT_FOUND', `${name} does not exist`);
  }

  exists(name: string): boolean {
    checkName(name);
    return this.#files.has(name);
  }

  async syncDir(): Promise<void> {
    await Promise.resolve();
    this.syncDirCount += 1;
  }

  syncDirNow(): void {
    this.syncDirCount += 1;
  }

  /** Copies of every file's bytes (its first `len()` bytes), whether open or not. */
  snapshot(): Map<string, Uint8Array> {
    const copies = new Map<string, Uint8Array>();
    for (const [name, file] of this.#files) copies.set(name, file.bytes.slice(0, file.lengthBytes));
    return copies;
  }
}
