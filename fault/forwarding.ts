/**
 * A Storage and a Vfs that forward every call to another one: the base for wrappers that
 * count, record, delay or fail some calls (benchmarks and tests) and leave the rest alone.
 */
import type { OpenOptions, Storage, Vfs } from '../engine/storage.js';

export class ForwardingStorage implements Storage {
  constructor(protected readonly inner: Storage) {}

  len(): number {
    return this.inner.len();
  }

  read(offset: number, length: number): Uint8Array {
    return this.inner.read(offset, length);
  }

  write(offset: number, data: Uint8Array): void {
    this.inner.write(offset, data);
  }

  setLen(length: number): void {
    this.inner.setLen(length);
  }

  sync(): Promise<void> {
    return this.inner.sync();
  }

  syncNow(): void {
    if (this.inner.syncNow === undefined) throw new TypeError('the wrapped storage has no synchronous sync');
    this.inner.syncNow();
  }

  close(): void {
    this.inner.close();
  }
}

export class ForwardingVfs implements Vfs {
  constructor(protected readonly inner: Vfs) {}

  open(name: string, options: OpenOptions): Storage {
    return this.inner.open(name, options);
  }

  remove(name: string): void {
    this.inner.remove(name);
  }

  exists(name: string): boolean {
    return this.inner.exists(name);
  }

  syncDir(): Promise<void> {
    return this.inner.syncDir();
  }

  syncDirNow(): void {
    if (this.inner.syncDirNow === undefined) throw new TypeError('the wrapped directory has no synchronous sync');
    this.inner.syncDirNow();
  }
}
