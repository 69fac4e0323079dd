/**
 * B-tree pages in memory and on disk (see docs/format.md for the byte layout).
 *
 * Every page starts with an 8-byte header: type (u8), zero (u8), count (u16), u32 aux.
 * Leaves hold (key, value) pairs behind a fixed-size directory, so a key can be found by binary
 * search over the directory; branches hold child pointers, each carrying the child's CRC-32,
 * and separator keys. Values too large to sit inline live in a chain of overflow pages.
 *
 * Sizes are bounded so that every entry is at most a quarter of a page: a split of an
 * overflowing node, or a redistribution of two siblings, always yields two nodes that fit and
 * are at least a quarter full.
 */
import { assert, corruption } from './errors.js';

export const PAGE_HEADER_BYTES = 8;
export const LEAF_DIR_BYTES = 8;
export const BRANCH_CHILD_BYTES = 8;
export const BRANCH_KEY_DIR_BYTES = 4;
export const OVERFLOW_STUB_BYTES = 12;
export const OVERFLOW_HEADER_BYTES = 16;
export const OVERFLOW_MARK = 0xffff;
/** Largest value stored, inline or in overflow pages. */
export const MAX_VALUE_BYTES = 2 ** 26;

/** Page type bytes (offset 0 of every non-header page). */
export const PageType = {
  Leaf: 1,
  Branch: 2,
  Overflow: 3,
} as const;

/** A value stored in a chain of overflow pages; the leaf keeps only this stub. */
export interface OverflowRef {
  readonly page: number;
  readonly crc: number;
  readonly lengthBytes: number;
}

export type StoredValue = Uint8Array | OverflowRef;

export function isOverflow(value: StoredValue): value is OverflowRef {
  return !(value instanceof Uint8Array);
}

/**
 * A pointer to a child page with the child's checksum. While a transaction owns the child
 * (it was created or copied in this transaction), `node` holds it and `crc` is stale until
 * the commit encodes it; clean refs have `node === null` and are never mutated.
 */
export interface ChildRef {
  page: number;
  crc: number;
  node: Node | null;
}

export interface LeafNode {
  readonly kind: 'leaf';
  keys: Uint8Array[];
  values: StoredValue[];
  /** Bytes the entries take in the page (directory included), kept up to date on mutation. */
  size: number;
}

export interface BranchNode {
  readonly kind: 'branch';
  /** keys[i] separates children[i] (keys < keys[i]) from children[i + 1] (keys >= keys[i]). */
  keys: Uint8Array[];
  children: ChildRef[];
  /** Bytes the children and keys take in the page, kept up to date on mutation. */
  size: number;
}

export type Node = LeafNode | BranchNode;

/** Size limits derived from the page size; one object per database. */
export class Layout {
  readonly pageBytes: number;
  readonly usableBytes: number;
  /** No leaf entry or branch (child + key) entry is larger than this. */
  readonly maxEntryBytes: number;
  readonly maxKeyBytes: number;
  /** Below this many used bytes a non-root node is rebalanced with a sibling. */
  readonly minFillBytes: number;

  constructor(pageBytes: number) {
    this.pageBytes = pageBytes;
    // Offsets in a page are u16: with 64 KiB pages the last byte stays unused, so that no
    // entry can start at offset 65536 (which would wrap to 0).
    this.usableBytes = Math.min(pageBytes, 0xffff) - PAGE_HEADER_BYTES;
    this.maxEntryBytes = Math.floor(this.usableBytes / 4);
    this.maxKeyBytes = this.maxEntryBytes - LEAF_DIR_BYTES - OVERFLOW_STUB_BYTES;
    this.minFillBytes = Math.floor(this.usableBytes / 4);
    assert(this.maxKeyBytes > 64, 'page size leaves room for useful keys');
  }

  /** True when a value of this size is stored inline next to a key of this size. */
  fitsInline(keyBytes: number, valueBytes: number): boolean {
    return LEAF_DIR_BYTES + keyBytes + valueBytes <= this.maxEntryBytes;
  }

  get overflowDataBytes(): number {
    return this.pageBytes - OVERFLOW_HEADER_BYTES;
  }
}

/** The largest key a database of `pageBytes` pages stores (a larger one is refused with TOO_LARGE). */
export function maxKeyBytes(pageBytes: number): number {
  return new Layout(pageBytes).maxKeyBytes;
}

export function valueStoredBytes(value: StoredValue): number {
  return isOverflow(value) ? OVERFLOW_STUB_BYTES : value.length;
}

export function leafEntryBytes(key: Uint8Array, value: StoredValue): number {
  return LEAF_DIR_BYTES + key.length + valueStoredBytes(value);
}

/** Recomputes a node's used bytes from scratch (the integrity check compares it with `size`). */
export function computeSize(node: Node): number {
  let total = 0;
  if (node.kind === 'leaf') {
    for (let i = 0; i < node.keys.length; i++) total += leafEntryBytes(node.keys[i]!, node.values[i]!);
    return total;
  }
  total += node.children.length * BRANCH_CHILD_BYTES;
  for (const key of node.keys) total += BRANCH_KEY_DIR_BYTES + key.length;
  return total;
}

export function encodeNode(node: Node, pageBytes: number): Uint8Array {
  assert(node.size <= pageBytes - PAGE_HEADER_BYTES, 'node fits in a page');
  const page = new Uint8Array(pageBytes);
  const view = new DataView(page.buffer);
  if (node.kind === 'leaf') encodeLeaf(node, page, view);
  else encodeBranch(node, page, view);
  return page;
}

function encodeLeaf(node: LeafNode, page: Uint8Array, view: DataView): void {
  const count = node.keys.length;
  assert(count === node.values.length, 'leaf keys and values pair up');
  view.setUint8(0, PageType.Leaf);
  view.setUint16(2, count, true);
  let dataOffset = PAGE_HEADER_BYTES + count * LEAF_DIR_BYTES;
  for (let i = 0; i < count; i++) {
    const key = node.keys[i]!;
    const value = node.values[i]!;
    const dir = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
    view.setUint16(dir, dataOffset, true);
    view.setUint16(dir + 2, key.length, true);
    page.set(key, dataOffset);
    dataOffset += key.length;
    view.setUint16(dir + 4, dataOffset, true);
    if (isOverflow(value)) {
      view.setUint16(dir + 6, OVERFLOW_MARK, true);
      view.setUint32(dataOffset, value.page, true);
      view.setUint32(dataOffset + 4, value.crc, true);
      view.setUint32(dataOffset + 8, value.lengthBytes, true);
      dataOffset += OVERFLOW_STUB_BYTES;
    } else {
      view.setUint16(dir + 6, value.length, true);
      page.set(value, dataOffset);
      dataOffset += value.length;
    }
  }
  assert(dataOffset <= page.length, 'leaf fits in its page');
}

function encodeBranch(node: BranchNode, page: Uint8Array, view: DataView): void {
  const count = node.children.length;
  assert(count >= 1 && node.keys.length === count - 1, 'branch has one key fewer than children');
  view.setUint8(0, PageType.Branch);
  view.setUint16(2, count, true);
  for (let i = 0; i < count; i++) {
    const child = node.children[i]!;
    assert(child.node === null, 'children are encoded before their parent');
    view.setUint32(PAGE_HEADER_BYTES + i * BRANCH_CHILD_BYTES, child.page, true);
    view.setUint32(PAGE_HEADER_BYTES + i * BRANCH_CHILD_BYTES + 4, child.crc, true);
  }
  const keyDir = PAGE_HEADER_BYTES + count * BRANCH_CHILD_BYTES;
  let dataOffset = keyDir + (count - 1) * BRANCH_KEY_DIR_BYTES;
  for (let i = 0; i < count - 1; i++) {
    const key = node.keys[i]!;
    view.setUint16(keyDir + i * BRANCH_KEY_DIR_BYTES, dataOffset, true);
    view.setUint16(keyDir + i * BRANCH_KEY_DIR_BYTES + 2, key.length, true);
    page.set(key, dataOffset);
    dataOffset += key.length;
  }
  assert(dataOffset <= page.length, 'branch fits in its page');
}

/**
 * Decodes a B-tree page whose checksum the caller has verified. Structural nonsense (bad
 * type, offsets outside the page) is still reported as CORRUPTION: a checksum only proves the
 * bytes are the ones written, and a bug or a misdirected write may have written them.
 * Keys and inline values are views into `page`, which must therefore never be mutated.
 */
export function decodeNode(page: Uint8Array, pageNumber: number): Node {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const type = view.getUint8(0);
  const count = view.getUint16(2, true);
  if (type === PageType.Leaf) return decodeLeaf(page, view, count, pageNumber);
  if (type === PageType.Branch) return decodeBranch(page, view, count, pageNumber);
  throw corruption(`page ${pageNumber}: expected a B-tree page, found type ${type}`);
}

function slice(page: Uint8Array, offset: number, length: number, pageNumber: number): Uint8Array {
  if (offset < PAGE_HEADER_BYTES || offset + length > page.length) {
    throw corruption(`page ${pageNumber}: entry at ${offset}+${length} lies outside the page`);
  }
  return page.subarray(offset, offset + length);
}

function decodeLeaf(page: Uint8Array, view: DataView, count: number, pageNumber: number): LeafNode {
  if (PAGE_HEADER_BYTES + count * LEAF_DIR_BYTES > page.length) {
    throw corruption(`page ${pageNumber}: leaf count ${count} too large`);
  }
  const keys = new Array<Uint8Array>(count);
  const values = new Array<StoredValue>(count);
  let size = count * LEAF_DIR_BYTES;
  for (let i = 0; i < count; i++) {
    const dir = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
    keys[i] = slice(page, view.getUint16(dir, true), view.getUint16(dir + 2, true), pageNumber);
    const valueOffset = view.getUint16(dir + 4, true);
    const valueLength = view.getUint16(dir + 6, true);
    if (valueLength === OVERFLOW_MARK) {
      const stub = slice(page, valueOffset, OVERFLOW_STUB_BYTES, pageNumber);
      const stubView = new DataView(stub.buffer, stub.byteOffset, OVERFLOW_STUB_BYTES);
      values[i] = {
        page: stubView.getUint32(0, true),
        crc: stubView.getUint32(4, true),
        lengthBytes: stubView.getUint32(8, true),
      };
      size += keys[i]!.length + OVERFLOW_STUB_BYTES;
    } else {
      values[i] = slice(page, valueOffset, valueLength, pageNumber);
      size += keys[i]!.length + valueLength;
    }
  }
  return { kind: 'leaf', keys, values, size };
}

function decodeBranch(page: Uint8Array, view: DataView, count: number, pageNumber: number): BranchNode {
  const keyDir = PAGE_HEADER_BYTES + count * BRANCH_CHILD_BYTES;
  if (count < 1 || keyDir + (count - 1) * BRANCH_KEY_DIR_BYTES > page.length) {
    throw corruption(`page ${pageNumber}: branch child count ${count} out of range`);
  }
  const children = new Array<ChildRef>(count);
  for (let i = 0; i < count; i++) {
    const at = PAGE_HEADER_BYTES + i * BRANCH_CHILD_BYTES;
    children[i] = { page: view.getUint32(at, true), crc: view.getUint32(at + 4, true), node: null };
  }
  const keys = new Array<Uint8Array>(count - 1);
  let size = count * BRANCH_CHILD_BYTES;
  for (let i = 0; i < count - 1; i++) {
    const at = keyDir + i * BRANCH_KEY_DIR_BYTES;
    keys[i] = slice(page, view.getUint16(at, true), view.getUint16(at + 2, true), pageNumber);
    size += BRANCH_KEY_DIR_BYTES + keys[i]!.length;
  }
  return { kind: 'branch', keys, children, size };
}

/** One overflow page: a slice of a large value and the pointer to the next page. */
export function encodeOverflow(data: Uint8Array, next: number, nextCrc: number, pageBytes: number): Uint8Array {
  assert(data.length <= pageBytes - OVERFLOW_HEADER_BYTES, 'overflow slice fits in a page');
  const page = new Uint8Array(pageBytes);
  const view = new DataView(page.buffer);
  view.setUint8(0, PageType.Overflow);
  view.setUint32(4, data.length, true);
  view.setUint32(8, next, true);
  view.setUint32(12, nextCrc, true);
  page.set(data, OVERFLOW_HEADER_BYTES);
  return page;
}

export interface OverflowPage {
  readonly data: Uint8Array;
  readonly next: number;
  readonly nextCrc: number;
}

export function decodeOverflow(page: Uint8Array, pageNumber: number): OverflowPage {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  if (view.getUint8(0) !== PageType.Overflow) {
    throw corruption(`page ${pageNumber}: expected an overflow page, found type ${view.getUint8(0)}`);
  }
  const lengthBytes = view.getUint32(4, true);
  if (OVERFLOW_HEADER_BYTES + lengthBytes > page.length) {
    throw corruption(`page ${pageNumber}: overflow length ${lengthBytes} exceeds the page`);
  }
  return {
    data: page.subarray(OVERFLOW_HEADER_BYTES, OVERFLOW_HEADER_BYTES + lengthBytes),
    next: view.getUint32(8, true),
    nextCrc: view.getUint32(12, true),
  };
}

/**
 * A private copy of caller bytes. Not `.slice()`: on a Node Buffer that returns a view of the
 * same memory, and the caller could then change committed data behind the engine's back.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** Copies up to this size share chunks; larger ones get an array of their own. */
const ARENA_MAX_COPY_BYTES = 1024;
const ARENA_CHUNK_BYTES = 64 * 1024;

/**
 * Private copies of small caller arrays, carved out of shared chunks: one allocation per
 * chunk instead of one ArrayBuffer per key and value, which dominated the cost of an insert
 * (and its garbage collection). The views are engine-internal and never mutated; a chunk lives
 * as long as a view of it does (a write transaction's tree and redo, until they are encoded).
 */
export class CopyArena {
  private chunk = new Uint8Array(0);
  private usedBytes = 0;

  copy(bytes: Uint8Array): Uint8Array {
    return this.carve(bytes, ARENA_MAX_COPY_BYTES);
  }

  /**
   * A copy of a whole page (or of anything up to a quarter of a chunk): a range copies each
   * clean leaf once and hands out views of that copy, two views per entry instead of two copies.
   */
  copyPage(page: Uint8Array): Uint8Array {
    return this.carve(page, ARENA_CHUNK_BYTES / 4);
  }

  private carve(bytes: Uint8Array, maxBytes: number): Uint8Array {
    const lengthBytes = bytes.length;
    if (lengthBytes > maxBytes) return copyBytes(bytes);
    if (this.usedBytes + lengthBytes > this.chunk.length) {
      this.chunk = new Uint8Array(ARENA_CHUNK_BYTES);
      this.usedBytes = 0;
    }
    const at = this.usedBytes;
    this.chunk.set(bytes, at);
    this.usedBytes += lengthBytes;
    return this.chunk.subarray(at, at + lengthBytes);
  }
}

/** Keys up to this length compare faster in a JS loop than through a call into Buffer.compare. */
const INLINE_COMPARE_BYTES = 64;

/** Unsigned lexicographic byte order, the only key order the engine knows. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a.length > INLINE_COMPARE_BYTES && b.length > INLINE_COMPARE_BYTES) return Buffer.compare(a, b);
  return compareAt(a, 0, a.length, b);
}

/** Compares `page[offset, offset + lengthBytes)` with `key` like compareBytes, without a view. */
function compareAt(page: Uint8Array, offset: number, lengthBytes: number, key: Uint8Array): number {
  const common = Math.min(lengthBytes, key.length);
  for (let i = 0; i < common; i++) {
    const diff = page[offset + i]! - key[i]!;
    if (diff !== 0) return diff;
  }
  return lengthBytes - key.length;
}

/**
 * Checks once, when a page enters the read cache, everything the in-page searches below rely
 * on: the type, the count, and every directory entry inside the page. The same structural
 * nonsense decodeNode reports is CORRUPTION here (a checksum only proves who wrote the bytes).
 */
export function checkNodePage(page: Uint8Array, pageNumber: number): void {
  const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
  const type = view.getUint8(0);
  const count = view.getUint16(2, true);
  if (type === PageType.Leaf) {
    if (PAGE_HEADER_BYTES + count * LEAF_DIR_BYTES > page.length) throw corruption(`page ${pageNumber}: leaf count ${count} too large`);
    for (let i = 0; i < count; i++) {
      const dir = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
      checkEntry(page, view.getUint16(dir, true), view.getUint16(dir + 2, true), pageNumber);
      const valueLength = view.getUint16(dir + 6, true);
      checkEntry(page, view.getUint16(dir + 4, true), valueLength === OVERFLOW_MARK ? OVERFLOW_STUB_BYTES : valueLength, pageNumber);
    }
    return;
  }
  if (type !== PageType.Branch) throw corruption(`page ${pageNumber}: expected a B-tree page, found type ${type}`);
  const keyDir = PAGE_HEADER_BYTES + count * BRANCH_CHILD_BYTES;
  if (count < 1 || keyDir + (count - 1) * BRANCH_KEY_DIR_BYTES > page.length) {
    throw corruption(`page ${pageNumber}: branch child count ${count} out of range`);
  }
  for (let i = 0; i < count - 1; i++) {
    const at = keyDir + i * BRANCH_KEY_DIR_BYTES;
    checkEntry(page, view.getUint16(at, true), view.getUint16(at + 2, true), pageNumber);
  }
}

function checkEntry(page: Uint8Array, offset: number, length: number, pageNumber: number): void {
  if (offset < PAGE_HEADER_BYTES || offset + length > page.length) {
    throw corruption(`page ${pageNumber}: entry at ${offset}+${length} lies outside the page`);
  }
}

function u16(page: Uint8Array, at: number): number {
  return page[at]! | (page[at + 1]! << 8);
}

function u32(page: Uint8Array, at: number): number {
  return (page[at]! | (page[at + 1]! << 8) | (page[at + 2]! << 16) | (page[at + 3]! << 24)) >>> 0;
}

export function isLeafPage(page: Uint8Array): boolean {
  return page[0] === PageType.Leaf;
}

/**
 * Index of the child of a branch page (checked by checkNodePage) whose key range holds `key`:
 * childIndex of btree.ts, by binary search over the page's key directory, allocating nothing.
 */
export function branchPageChild(page: Uint8Array, key: Uint8Array): number {
  const count = u16(page, 2);
  const keyDir = PAGE_HEADER_BYTES + count * BRANCH_CHILD_BYTES;
  let lo = 0;
  let hi = count - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = keyDir + mid * BRANCH_KEY_DIR_BYTES;
    if (compareAt(page, u16(page, at), u16(page, at + 2), key) > 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export function branchPageChildPage(page: Uint8Array, index: number): number {
  return u32(page, PAGE_HEADER_BYTES + index * BRANCH_CHILD_BYTES);
}

export function branchPageChildCrc(page: Uint8Array, index: number): number {
  return u32(page, PAGE_HEADER_BYTES + index * BRANCH_CHILD_BYTES + 4);
}

/** Entries of a leaf page, children of a branch page (checked by checkNodePage). */
export function pageEntryCount(page: Uint8Array): number {
  return u16(page, 2);
}

/** Index of the first key >= `key` in a leaf page (checked by checkNodePage): lowerBound of btree.ts in the bytes. */
export function leafPageLowerBound(page: Uint8Array, key: Uint8Array): number {
  let lo = 0;
  let hi = u16(page, 2);
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const dir = PAGE_HEADER_BYTES + mid * LEAF_DIR_BYTES;
    if (compareAt(page, u16(page, dir), u16(page, dir + 2), key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** compareBytes(key `i` of a leaf page (checked by checkNodePage), `key`), with no view made. */
export function leafPageCompare(page: Uint8Array, i: number, key: Uint8Array): number {
  const dir = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
  return compareAt(page, u16(page, dir), u16(page, dir + 2), key);
}

/** compareBytes(key `i`, key `j`) of one leaf page (checked by checkNodePage), with no view made. */
export function leafPageCompareKeys(page: Uint8Array, i: number, j: number): number {
  const a = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
  const b = PAGE_HEADER_BYTES + j * LEAF_DIR_BYTES;
  const aOffset = u16(page, a);
  const bOffset = u16(page, b);
  const aLength = u16(page, a + 2);
  const bLength = u16(page, b + 2);
  const common = Math.min(aLength, bLength);
  for (let k = 0; k < common; k++) {
    const diff = page[aOffset + k]! - page[bOffset + k]!;
    if (diff !== 0) return diff;
  }
  return aLength - bLength;
}

/** Key `i` of a leaf page (checked by checkNodePage): a view of the page. */
export function leafPageKey(page: Uint8Array, i: number): Uint8Array {
  const dir = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
  const offset = u16(page, dir);
  return page.subarray(offset, offset + u16(page, dir + 2));
}

/** Value `i` of a leaf page (checked by checkNodePage): a view of the page, or its overflow stub. */
export function leafPageStored(page: Uint8Array, i: number): StoredValue {
  const dir = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
  const valueOffset = u16(page, dir + 4);
  return leafPageOverflow(page, i) ?? page.subarray(valueOffset, valueOffset + u16(page, dir + 6));
}

/** The overflow stub of value `i` of a leaf page (checked by checkNodePage), or null for an inline value. */
export function leafPageOverflow(page: Uint8Array, i: number): OverflowRef | null {
  const dir = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
  if (u16(page, dir + 6) !== OVERFLOW_MARK) return null;
  const at = u16(page, dir + 4);
  return { page: u32(page, at), crc: u32(page, at + 4), lengthBytes: u32(page, at + 8) };
}

/** computeSize of a leaf page (checked by checkNodePage), from its directory alone. */
export function leafPageSize(page: Uint8Array): number {
  const count = u16(page, 2);
  let total = 0;
  for (let i = 0; i < count; i++) {
    const dir = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
    const valueLength = u16(page, dir + 6);
    total += LEAF_DIR_BYTES + u16(page, dir + 2) + (valueLength === OVERFLOW_MARK ? OVERFLOW_STUB_BYTES : valueLength);
  }
  return total;
}

/** The value stored under `key` in a leaf page (checked by checkNodePage), or undefined. */
export function leafPageValue(page: Uint8Array, key: Uint8Array): StoredValue | undefined {
  const i = leafPageLowerBound(page, key);
  if (i >= u16(page, 2)) return undefined;
  const dir = PAGE_HEADER_BYTES + i * LEAF_DIR_BYTES;
  return compareAt(page, u16(page, dir), u16(page, dir + 2), key) === 0 ? leafPageStored(page, i) : undefined;
}
