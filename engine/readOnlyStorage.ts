/**
 * A read-only open's file: reads go through, every call that could change a byte (write,
 * setLen, sync) is refused with `READ_ONLY` naming the file and the call, before it reaches the
 * Vfs. So a read-only open writes nothing by construction, not by care in each caller: a replay
 * that would have to evict dirty pages, for one, fails here instead of writing them.
 */
import { EngineError } from './errors.js';
import type { Storage } from './storage.js';

export class ReadOnlyStorage implements Storage {
  constructor(private readonly inner: Storage, private readonly name: string) {}

  len(): number {
    return this.inner.len();
  }

  read(offset: number, length: number): Uint8Array {
    return this.inner.read(offset, length);
  }

  readShared(offset: number, length: number): Uint8Array {
    return this.inner.readShared !== undefined ? this.inner.readShared(offset, length) : this.inner.read(offset, length);
  }

  write(offset: number, data: Uint8Array): void {
    throw this.refused(`a write of ${data.length} bytes at ${offset}`);
  }

  setLen(length: number): void {
    throw this.refused(`setting its length to ${length}`);
  }

  sync(): Promise<void> {
    return Promise.reject(this.refused('a sync'));
  }

  close(): void {
    this.inner.close();
  }

  private refused(what: string): EngineError {
    return new EngineError('READ_ONLY', `${this.name} is open read-only: ${what} refused`);
  }
}
