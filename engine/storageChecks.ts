/**
 * Argument checks shared by every `Storage`/`Vfs` implementation, so that all backends reject
 * exactly the same calls with exactly the same errors.
 */
import { EngineError } from './errors.js';
import type { OpenOptions } from './storage.js';

/** The largest file either backend accepts (64 GiB): far above any test, far below 2^53. */
export const MAX_FILE_BYTES = 2 ** 36;

/** A file name is one plain path component, so no name can escape the directory. */
export function checkName(name: string): void {
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new TypeError(`invalid file name ${JSON.stringify(name)}: must be a plain name`);
  }
}

export function checkOpenOptions(options: OpenOptions): void {
  if (typeof options !== 'object' || options === null || typeof options.create !== 'boolean') {
    throw new TypeError('open options must be { create: boolean, readOnly?: boolean }');
  }
  if (options.readOnly !== undefined && typeof options.readOnly !== 'boolean') throw new TypeError('open options: readOnly must be a boolean');
  if (options.readOnly === true && options.create) throw new TypeError('open options: a read-only open cannot create the file (readOnly with create: true)');
}

/**
 * The lock of one file in an in-memory backend, as flock(2) gives FileVfs: one writable handle
 * alone, or any number of read-only handles together. Lives on the file, not the name.
 */
export class FileLock {
  private writer = false;
  private readers = 0;

  get held(): boolean {
    return this.writer || this.readers > 0;
  }

  /** Takes the lock for one handle, or throws `LOCKED` naming the file. */
  acquire(name: string, readOnly: boolean): void {
    if (this.writer || (!readOnly && this.readers > 0)) {
      throw new EngineError('LOCKED', `${name} is locked by another handle${this.writer ? '' : ' (read-only)'}`);
    }
    if (readOnly) this.readers++;
    else this.writer = true;
  }

  release(readOnly: boolean): void {
    if (readOnly) {
      if (this.readers <= 0) throw new TypeError('a read-only lock released more often than taken');
      this.readers--;
    } else {
      if (!this.writer) throw new TypeError('a write lock released that was not taken');
      this.writer = false;
    }
  }
}

function checkByteCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new TypeError(`${what} must be a non-negative safe integer, got ${String(value)}`);
  }
}

/** Validates a read of `lengthBytes` at `offset` against a file of `fileLengthBytes`. */
export function checkRead(name: string, offset: number, lengthBytes: number, fileLengthBytes: number): void {
  checkByteCount(offset, 'offset');
  checkByteCount(lengthBytes, 'length');
  if (offset + lengthBytes > fileLengthBytes) {
    throw new EngineError(
      'IO',
      `read of ${lengthBytes} bytes at offset ${offset} is past the end of ${name} (${fileLengthBytes} bytes)`,
    );
  }
}

export function checkWrite(name: string, offset: number, data: Uint8Array): void {
  checkByteCount(offset, 'offset');
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
  if (offset + data.length > MAX_FILE_BYTES) {
    throw new EngineError(
      'TOO_LARGE',
      `write of ${data.length} bytes at offset ${offset} would grow ${name} past ${MAX_FILE_BYTES} bytes`,
    );
  }
}

export function checkSetLen(name: string, lengthBytes: number): void {
  checkByteCount(lengthBytes, 'length');
  if (lengthBytes > MAX_FILE_BYTES) {
    throw new EngineError('TOO_LARGE', `cannot set ${name} to ${lengthBytes} bytes (max ${MAX_FILE_BYTES})`);
  }
}
