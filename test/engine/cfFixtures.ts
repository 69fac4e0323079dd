// Shared fixtures for the WAL and column-family tests: a crash-image VFS, logical dumps of a column-family database, small helpers.
import type { ExecutionContext } from 'ava';
import type { ColumnFamily, ColumnFamilyDatabase } from '../../engine/columnFamilyDatabase.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import type { OpenOptions, Storage, Vfs } from '../../engine/storage.js';
import { ForwardingStorage } from '../../fault/forwarding.js';
import { hex, keyOf, valueOf } from './engineFixtures.js';

export type Image = Map<string, Uint8Array>;

/**
 * A MemoryVfs that also keeps, per file, the bytes as of its last successful sync: the image a
 * power loss leaves (every unsynced write dropped). `cacheImage()` is the image a process
 * crash leaves (the OS page cache survived). `onSynced` runs after each successful sync, so a
 * test can take an image at every durability point (during recovery or a checkpoint too).
 */
export class CrashVfs implements Vfs {
  readonly inner: MemoryVfs;
  readonly durable = new Map<string, Uint8Array>();
  readonly syncsByFile = new Map<string, number>();
  onSynced: ((name: string) => void) | null = null;
  /** Event-loop turns each sync takes (0: one microtask), so other commits run while it is in flight. */
  syncDelayTurns = 0;

  constructor(inner: MemoryVfs = new MemoryVfs(), durable: Image = new Map()) {
    this.inner = inner;
    for (const [name, bytes] of durable) this.durable.set(name, bytes.slice());
  }

  /** A directory holding `image`, all of it durable. */
  static from(image: Image): CrashVfs {
    return new CrashVfs(MemoryVfs.fromSnapshot(image), image);
  }

  open(name: string, options: OpenOptions): Storage {
    return new CrashStorage(this, name, this.inner.open(name, options));
  }

  remove(name: string): void {
    this.inner.remove(name);
    this.durable.delete(name);
  }

  exists(name: string): boolean {
    return this.inner.exists(name);
  }

  syncDir(): Promise<void> {
    return this.inner.syncDir();
  }

  syncs(name: string): number {
    return this.syncsByFile.get(name) ?? 0;
  }

  /** What a process crash leaves: every write, synced or not. */
  cacheImage(): Image {
    return this.inner.snapshot();
  }

  /** What a power loss leaves: each file as of its last successful sync. */
  durableImage(): Image {
    const image: Image = new Map();
    for (const [name, bytes] of this.durable) image.set(name, bytes.slice());
    return image;
  }

  /** @internal */
  synced(name: string, bytes: Uint8Array): void {
    this.durable.set(name, bytes);
    this.syncsByFile.set(name, this.syncs(name) + 1);
    this.onSynced?.(name);
  }
}

class CrashStorage extends ForwardingStorage {
  constructor(private readonly vfs: CrashVfs, private readonly name: string, inner: Storage) {
    super(inner);
  }

  override async sync(): Promise<void> {
    // What the sync covers is fixed when it begins: later writes are not made durable by it.
    const covered = this.inner.read(0, this.inner.len());
    await turns(this.vfs.syncDelayTurns);
    await this.inner.sync();
    this.vfs.synced(this.name, covered);
  }
}

/** Every family's every table's entries as hex pairs, in key order. */
export type FamilyDump = Record<string, Record<string, Array<[string, string]>>>;

export function dumpFamily(family: ColumnFamily): Record<string, Array<[string, string]>> {
  const txn = family.beginRead();
  try {
    const dump: Record<string, Array<[string, string]>> = {};
    for (const name of txn.listTables()) {
      dump[name] = [...txn.openTable(name).range()].map(([key, value]) => [hex(key), hex(value)]);
    }
    return dump;
  } finally {
    txn.close();
  }
}

export async function dumpAll(db: ColumnFamilyDatabase): Promise<FamilyDump> {
  const dump: FamilyDump = {};
  for (const name of db.listColumnFamilies()) dump[name] = dumpFamily(await db.columnFamily(name));
  return dump;
}

/** Asserts checkIntegrity is ok on every family, with the problems in the message. */
export async function assertIntegrity(t: ExecutionContext, db: ColumnFamilyDatabase, label = ''): Promise<void> {
  for (const name of db.listColumnFamilies()) {
    const report = (await db.columnFamily(name)).checkIntegrity();
    t.true(report.ok, `${label} family ${name}: ${report.problems.join('; ')}`);
  }
}

/** Yields to the event loop `turns` times (lets sync rounds and scheduled work run). */
export async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Keys `from` .. `from + count - 1` into table 't' of `family`, one commit each (immediate), values of `valueBytes` salted by `salt`. */
export async function putKeys(family: ColumnFamily, from: number, count: number, valueBytes: number, salt: number): Promise<void> {
  for (let i = from; i < from + count; i++) {
    const txn = await family.beginWrite();
    txn.openTable('t').insert(keyOf(i), valueOf(i, valueBytes, salt));
    await txn.commit();
  }
}
