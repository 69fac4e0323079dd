// Shared fixtures for the engine tests: keys and values, error assertions, a failing VFS, database dumps and a raw page map.
import type { ExecutionContext } from 'ava';
import { decodeTableMeta } from '../../engine/catalog.js';
import type { Database } from '../../engine/database.js';
import { EngineError, type EngineErrorCode } from '../../engine/errors.js';
import { decodeSlot, decodeStaticHeader, SLOT_BYTES, SLOT_OFFSETS, type CommitSlot } from '../../engine/format.js';
import { decodeNode, decodeOverflow, isOverflow, OVERFLOW_HEADER_BYTES } from '../../engine/node.js';
import type { OpenOptions, Storage, Vfs } from '../../engine/storage.js';
import { ForwardingStorage, ForwardingVfs } from '../../fault/forwarding.js';

/** 8-byte big-endian key: byte order equals numeric order, as the engine sorts unsigned bytes. */
export function keyOf(index: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(index));
  return key;
}

export function indexOf(key: Uint8Array): number {
  return Number(new DataView(key.buffer, key.byteOffset, key.byteLength).getBigUint64(0));
}

/** A value whose every byte depends on (index, length, salt), so a misplaced page shows up. */
export function valueOf(index: number, lengthBytes: number, salt = 0): Uint8Array {
  const value = new Uint8Array(lengthBytes);
  let state = (index * 2654435761 + lengthBytes * 40503 + salt * 977 + 1) >>> 0;
  for (let i = 0; i < lengthBytes; i++) {
    // xorshift32: cheap and deterministic, no Math.random in tests that must replay.
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    value[i] = state & 0xff;
  }
  return value;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function throwsCode(t: ExecutionContext, action: () => unknown, code: EngineErrorCode): EngineError | undefined {
  const error = t.throws(action, { instanceOf: EngineError });
  t.is(error?.code, code, error?.message);
  return error;
}

export async function rejectsCode(t: ExecutionContext, action: () => Promise<unknown>, code: EngineErrorCode): Promise<EngineError | undefined> {
  const error = await t.throwsAsync(action, { instanceOf: EngineError });
  t.is(error?.code, code, error?.message);
  return error;
}

/** Every table's entries as hex pairs, in key order: deepEqual-friendly and readable on failure. */
export type Dump = Record<string, Array<[string, string]>>;

export function dumpDatabase(db: Database): Dump {
  const txn = db.beginRead();
  try {
    const dump: Dump = {};
    for (const name of txn.listTables()) {
      dump[name] = [...txn.openTable(name).range()].map(([key, value]) => [hex(key), hex(value)]);
    }
    return dump;
  } finally {
    txn.close();
  }
}

/** Inserts `entries` into `table` and commits, in one write transaction. */
export async function commitEntries(db: Database, table: string, entries: Iterable<[Uint8Array, Uint8Array]>,
  durability: 'immediate' | 'none' = 'immediate'): Promise<void> {
  const txn = await db.beginWrite();
  const handle = txn.openTable(table);
  for (const [key, value] of entries) handle.insert(key, value);
  await txn.commit({ durability });
}

/** A promise with its resolver outside, for holding an operation until the test releases it. */
export interface Gate {
  readonly promise: Promise<void>;
  release(): void;
}

export function gate(): Gate {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => { release = resolve; });
  return { promise, release };
}

/**
 * A test-only VFS over another one that fails on request: `failSyncs` makes every sync reject
 * (the inner file is not synced), `failWrites` makes every write throw before any byte
 * moves, and `holdSyncs` parks each sync until the test releases it, so completion order is
 * the test's choice (as with fdatasync on a thread pool).
 */
export class FlakyVfs extends ForwardingVfs {
  failSyncs = false;
  /** When set, this many more syncs succeed; the one after fails and sets `failSyncs`. */
  syncsBeforeFailure: number | null = null;
  failWrites = false;
  holdSyncs = false;
  readonly heldSyncs: Gate[] = [];
  syncCalls = 0;

  /** The wrapped VFS, for tests that reach past the faults. */
  get base(): Vfs {
    return this.inner;
  }

  override open(name: string, options: OpenOptions): Storage {
    return new FlakyStorage(this, this.inner.open(name, options));
  }
}

class FlakyStorage extends ForwardingStorage {
  /** Own count, because a held sync is in flight here before the inner file sees it. */
  private syncsInFlight = 0;

  constructor(private readonly vfs: FlakyVfs, inner: Storage) {
    super(inner);
  }

  override write(offset: number, data: Uint8Array): void {
    if (this.vfs.failWrites) throw new Error(`EIO (injected) writing ${data.length} bytes at ${offset}`);
    this.inner.write(offset, data);
  }

  override async sync(): Promise<void> {
    this.vfs.syncCalls++;
    this.syncsInFlight++;
    try {
      if (this.vfs.holdSyncs) {
        const held = gate();
        this.vfs.heldSyncs.push(held);
        await held.promise;
      }
      if (this.vfs.syncsBeforeFailure !== null) {
        if (this.vfs.syncsBeforeFailure === 0) this.vfs.failSyncs = true;
        else this.vfs.syncsBeforeFailure--;
      }
      if (this.vfs.failSyncs) throw new Error('EIO (injected) in fsync');
      await this.inner.sync();
    } finally {
      this.syncsInFlight--;
    }
  }

  override close(): void {
    // The Storage contract, as both real backends enforce it.
    if (this.syncsInFlight > 0) throw new TypeError('close() while a sync() is in flight');
    this.inner.close();
  }
}

/** Yields to the event loop so queued microtasks and resolved promises run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export type PageKind = 'branch' | 'leaf' | 'overflow' | 'free-list';

export interface MappedPage {
  readonly page: number;
  readonly kind: PageKind;
  /** 'catalog', the table's name, or 'free list'. */
  readonly owner: string;
}

export interface PageMap {
  readonly pageBytes: number;
  readonly slot: CommitSlot;
  readonly slotIndex: number;
  readonly pages: MappedPage[];
}

/** Both commit slots of a raw file, decoded (null when invalid). */
export function rawSlots(file: Uint8Array): Array<CommitSlot | null> {
  return SLOT_OFFSETS.map((offset) => decodeSlot(file.subarray(offset, offset + SLOT_BYTES)));
}

/**
 * Maps every page the newest valid slot reaches, using the engine's own decoders on the raw
 * file bytes (no Database involved), so corruption tests can aim at a page of a chosen kind.
 */
export function mapPages(file: Uint8Array): PageMap {
  const pageBytes = decodeStaticHeader(file.subarray(0, 20));
  const slots = rawSlots(file);
  let slotIndex = -1;
  slots.forEach((slot, i) => {
    if (slot !== null && (slotIndex < 0 || slot.txnId > slots[slotIndex]!.txnId)) slotIndex = i;
  });
  if (slotIndex < 0) throw new Error('no valid slot');
  const slot = slots[slotIndex]!;
  const pages: MappedPage[] = [];
  const pageAt = (page: number): Uint8Array => file.subarray(page * pageBytes, (page + 1) * pageBytes);
  const chunkBytes = pageBytes - OVERFLOW_HEADER_BYTES;

  const walk = (page: number, owner: string, onLeafEntry: (key: Uint8Array, value: Uint8Array) => void): void => {
    const node = decodeNode(pageAt(page), page);
    pages.push({ page, kind: node.kind, owner });
    if (node.kind === 'branch') {
      for (const child of node.children) walk(child.page, owner, onLeafEntry);
      return;
    }
    node.values.forEach((value, i) => {
      if (!isOverflow(value)) {
        onLeafEntry(node.keys[i]!, value);
        return;
      }
      let next = value.page;
      const chainPages = Math.max(1, Math.ceil(value.lengthBytes / chunkBytes));
      for (let k = 0; k < chainPages; k++) {
        pages.push({ page: next, kind: 'overflow', owner });
        next = decodeOverflow(pageAt(next), next).next;
      }
    });
  };

  if (slot.catalogPage !== 0) {
    const tables: Array<{ name: string; root: number }> = [];
    walk(slot.catalogPage, 'catalog', (key, value) => {
      const name = new TextDecoder().decode(key);
      const meta = decodeTableMeta(value, name);
      if (meta.root !== null) tables.push({ name, root: meta.root.page });
    });
    for (const { name, root } of tables) walk(root, name, () => {});
  }
  // The free-list chain the slot names (u32 next page at offset 8 of each chain page).
  for (let page = slot.freeListPage; page !== 0;) {
    pages.push({ page, kind: 'free-list', owner: 'free list' });
    const bytes = pageAt(page);
    page = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(8, true);
  }
  return { pageBytes, slot, slotIndex, pages };
}
