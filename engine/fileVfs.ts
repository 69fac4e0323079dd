/**
 * Real-file `Vfs`: the `Storage`/`Vfs` contracts of storage.ts over a directory on disk, with
 * positional reads and writes (pread/pwrite), fdatasync for `sync`, an fsync of the directory
 * for `syncDir`, and an exclusive non-blocking flock(2) per open file, so a second handle (from
 * this process or another) fails at once with `LOCKED`. This is the only engine file that
 * imports node:fs; every fs failure leaves it as an `EngineError`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { assert, EngineError, ioError } from './errors.js';
import {
  checkName, checkOpenOptions, checkRead, checkSetLen, checkWrite, MAX_FILE_BYTES,
} from './storageChecks.js';
import type { OpenOptions, Storage, Vfs } from './storage.js';

function errnoCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** For cleanup on a path that is already failing: the first error is the one worth reporting. */
function closeQuietly(fd: number): void {
  try {
    fs.closeSync(fd);
  } catch {
    // Ignored on purpose: see above.
  }
}

function fdatasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fdatasync(fd, (error) => (error ? reject(error) : resolve()));
  });
}

function fsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => {
    fs.fsync(fd, (error) => (error ? reject(error) : resolve()));
  });
}

type FsExt = typeof import('fs-ext');
let fsExt: FsExt | null = null;

/**
 * fs-ext is loaded on the first real file, not with this module: its native add-on is not
 * worker-safe (a second worker thread that loads it aborts the process in its init, seen on
 * Node 20), and workers that never open a real file (the target campaign's) must not pay that.
 */
function loadFsExt(): FsExt {
  fsExt ??= createRequire(import.meta.url)('fs-ext') as FsExt;
  return fsExt;
}

/**
 * flock is per open file description, so even a second open in this process is refused. A
 * read-only handle takes a shared lock: read-only handles share, a writer and they exclude.
 */
function lockFile(fd: number, filePath: string, readOnly: boolean): void {
  try {
    loadFsExt().flockSync(fd, readOnly ? 'shnb' : 'exnb');
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
      throw new EngineError('LOCKED', `${filePath} is locked by another handle${readOnly ? ' for writing' : ''}`, { cause: error });
    }
    throw ioError(`flock of ${filePath} failed`, error);
  }
}

export class FileStorage implements Storage {
  readonly path: string;
  readonly #fd: number;
  /** Tracked in memory (the file is ours while locked) so `len()` costs no system call. */
  #lengthBytes: number;
  #closed = false;
  #syncsInFlight = 0;
  /** The first failed fdatasync. Kept because Linux clears the error: a retry would "succeed". */
  #syncFailure: unknown = undefined;

  /** Takes ownership of `fd`, which must already hold the exclusive lock. */
  constructor(filePath: string, fd: number, lengthBytes: number) {
    assert(Number.isSafeInteger(fd) && fd >= 0, 'a valid file descriptor');
    assert(Number.isSafeInteger(lengthBytes) && lengthBytes >= 0, 'a valid file length');
    this.path = filePath;
    this.#fd = fd;
    this.#lengthBytes = lengthBytes;
  }

  len(): number {
    this.#checkOpen();
    return this.#lengthBytes;
  }

  read(offset: number, length: number): Uint8Array {
    this.#checkOpen();
    checkRead(this.path, offset, length, this.#lengthBytes);
    const bytes = new Uint8Array(length);
    let doneBytes = 0;
    while (doneBytes < length) {
      let readBytes: number;
      try {
        readBytes = fs.readSync(this.#fd, bytes, doneBytes, length - doneBytes, offset + doneBytes);
      } catch (error) {
        throw ioError(`read of ${length} bytes at offset ${offset} of ${this.path} failed`, error);
      }
      // Only possible if something outside this handle shrank the file despite the lock.
      if (readBytes === 0) throw new EngineError('IO', `short read at offset ${offset} of ${this.path}`);
      doneBytes += readBytes;
    }
    return bytes;
  }

  write(offset: number, data: Uint8Array): void {
    this.#checkOpen();
    checkWrite(this.path, offset, data);
    // pwrite of nothing does not extend the file, so the tracked length must not move either.
    if (data.length === 0) return;
    let doneBytes = 0;
    while (doneBytes < data.length) {
      let writtenBytes: number;
      try {
        writtenBytes = fs.writeSync(this.#fd, data, doneBytes, data.length - doneBytes, offset + doneBytes);
      } catch (error) {
        // A partial write may have extended the file: learn its length from the kernel.
        this.#refreshLength();
        throw ioError(`write of ${data.length} bytes at offset ${offset} of ${this.path} failed`, error);
      }
      assert(writtenBytes > 0, 'pwrite makes progress or throws');
      doneBytes += writtenBytes;
    }
    this.#lengthBytes = Math.max(this.#lengthBytes, offset + data.length);
  }

  setLen(length: number): void {
    this.#checkOpen();
    checkSetLen(this.path, length);
    try {
      fs.ftruncateSync(this.#fd, length);
    } catch (error) {
      this.#refreshLength();
      throw ioError(`truncate of ${this.path} to ${length} bytes failed`, error);
    }
    this.#lengthBytes = length;
  }

  async sync(): Promise<void> {
    this.#checkOpen();
    if (this.#syncFailure !== undefined) {
      throw new EngineError('IO', `an earlier sync of ${this.path} failed; its data is lost`, {
        cause: this.#syncFailure,
      });
    }
    this.#syncsInFlight += 1;
    try {
      await fdatasync(this.#fd);
    } catch (error) {
      this.#syncFailure ??= error;
      throw ioError(`fdatasync of ${this.path} failed`, error);
    } finally {
      this.#syncsInFlight -= 1;
    }
  }

  close(): void {
    this.#checkOpen();
    if (this.#syncsInFlight > 0) {
      // The kernel could reuse the fd number at once, and the pending fdatasync would then sync
      // (and report success for) some other file.
      throw new TypeError(`close() of ${this.path} while a sync() is in flight: await it first`);
    }
    this.#closed = true;
    try {
      fs.closeSync(this.#fd); // Also releases the flock.
    } catch (error) {
      throw ioError(`close of ${this.path} failed`, error);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new EngineError('CLOSED', `${this.path} is closed`);
  }

  #refreshLength(): void {
    try {
      this.#lengthBytes = fs.fstatSync(this.#fd).size;
    } catch {
      // Best effort on a path that is already failing; the caller reports the first error.
    }
  }
}

export class FileVfs implements Vfs {
  readonly directoryPath: string;

  /** `directoryPath` must already exist: creating it silently would hide a mistyped path. */
  constructor(directoryPath: string) {
    if (typeof directoryPath !== 'string' || directoryPath === '') {
      throw new TypeError('directoryPath must be a non-empty string');
    }
    // Resolved now, so a later process.chdir cannot move the database.
    this.directoryPath = path.resolve(directoryPath);
    let stats: fs.Stats;
    try {
      stats = fs.statSync(this.directoryPath);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        throw new EngineError('NOT_FOUND', `directory ${this.directoryPath} does not exist`, { cause: error });
      }
      throw ioError(`stat of directory ${this.directoryPath} failed`, error);
    }
    if (!stats.isDirectory()) throw new EngineError('NOT_FOUND', `${this.directoryPath} is not a directory`);
  }

  open(name: string, options: OpenOptions): FileStorage {
    checkName(name);
    checkOpenOptions(options);
    const filePath = path.join(this.directoryPath, name);
    // O_CREAT without O_TRUNC or O_EXCL: create when missing, never truncate what exists.
    // A read-only open asks for no write permission (a file the user may only read still opens).
    const readOnly = options.readOnly === true;
    const flags = (readOnly ? fs.constants.O_RDONLY : fs.constants.O_RDWR) | (options.create ? fs.constants.O_CREAT : 0);
    let fd: number;
    try {
      fd = fs.openSync(filePath, flags, 0o644);
    } catch (error) {
      if (!options.create && errnoCode(error) === 'ENOENT') {
        throw new EngineError('NOT_FOUND', `${filePath} does not exist`, { cause: error });
      }
      throw ioError(`open of ${filePath} failed`, error);
    }
    let lengthBytes: number;
    try {
      lockFile(fd, filePath, readOnly);
      lengthBytes = fs.fstatSync(fd).size;
    } catch (error) {
      closeQuietly(fd);
      throw ioError(`open of ${filePath} failed`, error);
    }
    if (lengthBytes > MAX_FILE_BYTES) {
      closeQuietly(fd);
      throw new EngineError('TOO_LARGE', `${filePath} is ${lengthBytes} bytes (max ${MAX_FILE_BYTES})`);
    }
    return new FileStorage(filePath, fd, lengthBytes);
  }

  remove(name: string): void {
    checkName(name);
    const filePath = path.join(this.directoryPath, name);
    try {
      fs.unlinkSync(filePath);
    } catch (error) {
      if (errnoCode(error) === 'ENOENT') {
        throw new EngineError('NOT_FOUND', `${filePath} does not exist`, { cause: error });
      }
      throw ioError(`unlink of ${filePath} failed`, error);
    }
  }

  exists(name: string): boolean {
    checkName(name);
    return fs.existsSync(path.join(this.directoryPath, name));
  }

  async syncDir(): Promise<void> {
    let fd: number;
    try {
      fd = fs.openSync(this.directoryPath, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    } catch (error) {
      throw ioError(`open of directory ${this.directoryPath} failed`, error);
    }
    try {
      await fsync(fd);
    } catch (error) {
      closeQuietly(fd);
      throw ioError(`fsync of directory ${this.directoryPath} failed`, error);
    }
    try {
      fs.closeSync(fd);
    } catch (error) {
      throw ioError(`close of directory ${this.directoryPath} failed`, error);
    }
  }
}
