// Workload generation shared by every store of bench/peers: the keys, the values, the seeded
// PRNG and the names of the workloads. Written once, so that every store writes and reads
// exactly the same bytes in exactly the same order.

export const KEY_BYTES = 8;
export const VALUE_BYTES = 150;

/** The workloads, in the order a round runs them: the reads use the durable writes' data. */
export const WORKLOADS = ['durable-writes', 'nondurable-writes', 'random-gets', 'full-scan'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

export const UNITS: Readonly<Record<WorkloadName, string>> = {
  'durable-writes': 'puts/s',
  'nondurable-writes': 'puts/s',
  'random-gets': 'gets/s',
  'full-scan': 'keys/s',
};

export function isWriteWorkload(workload: WorkloadName): boolean {
  return workload === 'durable-writes' || workload === 'nondurable-writes';
}

export interface WorkloadSize {
  /** Column families, sub-databases, tables or key prefixes: whatever is native to the store. */
  readonly keyspaces: number;
  /** Commits per keyspace. */
  readonly commits: number;
  /** Puts per commit. */
  readonly batch: number;
  /** Point gets of the random-gets workload, over all keyspaces. */
  readonly gets: number;
}

/** The seed plan's cf_comparison: 8 keyspaces x 50 commits x 1,000 puts, plus 400,000 gets. */
export const DEFAULT_SIZE: WorkloadSize = { keyspaces: 8, commits: 50, batch: 1_000, gets: 400_000 };

export function keysPerKeyspace(size: WorkloadSize): number {
  return size.commits * size.batch;
}

/**
 * mulberry32: a tiny seeded generator, so that every store (each in its own process) reads
 * the same keys in the same order; Math.random could not be replayed across processes.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, bound) for bound up to 2^32 (the modulo bias is far below the noise). */
  below(bound: number): number {
    return this.nextUint32() % bound;
  }
}

export const GET_SEED = 0x5eed_0007;
const VALUE_POOL_SEED = 0x0dd_ba11;
/** Values are windows of this pool: random bytes, so LevelDB's and RocksDB's default compression gains nothing. */
const VALUE_POOL_BYTES = 1 << 20;
let valuePool: Buffer | null = null;

function pool(): Buffer {
  if (valuePool !== null) return valuePool;
  const prng = new Prng(VALUE_POOL_SEED);
  const bytes = Buffer.allocUnsafe(VALUE_POOL_BYTES);
  for (let offset = 0; offset < VALUE_POOL_BYTES; offset += 4) bytes.writeUInt32LE(prng.nextUint32(), offset);
  return (valuePool = bytes);
}

/** The key of entry `index` of a keyspace: an 8-byte big-endian integer, so byte order is numeric order. */
export function keyOf(index: number): Buffer {
  const key = Buffer.allocUnsafe(KEY_BYTES);
  key.writeUInt32BE(Math.floor(index / 2 ** 32), 0);
  key.writeUInt32BE(index >>> 0, 4);
  return key;
}

/** Reads back the index in the first 8 bytes of a key or value (byte by byte: the scans call this per entry). */
export function indexOfKey(bytes: Uint8Array): number {
  const high = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const low = ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0;
  return high * 2 ** 32 + low;
}

/** The value of entry `index` of `keyspace`: the key, then a window of the random pool chosen by both. */
export function valueOf(keyspace: number, index: number): Buffer {
  const value = Buffer.allocUnsafe(VALUE_BYTES);
  value.writeUInt32BE(Math.floor(index / 2 ** 32), 0);
  value.writeUInt32BE(index >>> 0, 4);
  const windowBytes = VALUE_BYTES - KEY_BYTES;
  const mixed = Math.imul(index ^ Math.imul(keyspace + 1, 0x9e3779b1), 0x85ebca6b) >>> 0;
  const start = mixed % (VALUE_POOL_BYTES - windowBytes);
  pool().copy(value, KEY_BYTES, start, start + windowBytes);
  return value;
}

/** True when `value` is the value `valueOf` makes for a key of this index (its first 8 bytes). */
export function valueMatches(value: Uint8Array | undefined, index: number): boolean {
  return value !== undefined && value.length === VALUE_BYTES && indexOfKey(value) === index;
}

export interface Entry {
  readonly key: Buffer;
  readonly value: Buffer;
}

/** The puts of commit number `commit` of one keyspace: keys commit*batch .. commit*batch+batch-1. */
export function commitEntries(keyspace: number, commit: number, batch: number): Entry[] {
  const entries: Entry[] = [];
  const first = commit * batch;
  for (let index = first; index < first + batch; index++) entries.push({ key: keyOf(index), value: valueOf(keyspace, index) });
  return entries;
}
