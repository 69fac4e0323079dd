/**
 * Copy-on-write B+tree operations over pages (redb's design): the page store is below, the
 * transactions above. A node reached through a clean ref is shared and immutable; to change
 * it, a transaction copies it to a newly allocated page (`mutable`) and frees the old page,
 * which the allocator keeps from reuse until no durable header or reader can reach it.
 * Nothing here writes a page until `commitTree` encodes the owned nodes bottom-up, because a
 * parent's pointer carries its child's checksum.
 */
import { checksum } from './checksum.js';
import { assert, corruption, EngineError } from './errors.js';
import {
  BRANCH_CHILD_BYTES, BRANCH_KEY_DIR_BYTES, branchPageChild, branchPageChildCrc, branchPageChildPage, compareBytes,
  copyBytes, encodeNode, encodeOverflow, isLeafPage, isOverflow, leafEntryBytes, leafPageKey, leafPageLowerBound, leafPageStored,
  leafPageValue, MAX_VALUE_BYTES, pageEntryCount,
  type BranchNode, type ChildRef, type Layout, type LeafNode, type Node, type OverflowRef, type StoredValue,
} from './node.js';
import type { Pager } from './pager.js';
import { shape } from './shape.js';

/** What tree code needs from a transaction: pages to read, and page ownership for writes. */
export interface TreeContext {
  readonly layout: Layout;
  readonly pager: Pager;
  allocate(): number;
  /** Frees a page this tree no longer references (at once or deferred, as the owner decides). */
  free(page: number): void;
}

/** A tree is its root ref; `null` is the empty tree. */
export interface TreeRoot {
  root: ChildRef | null;
}

interface Split {
  readonly key: Uint8Array;
  readonly right: ChildRef;
}

/** A node cut in two: the left half stays in the original object. */
interface NodeSplit {
  readonly key: Uint8Array;
  readonly right: Node;
}

export function nodeOf(ctx: TreeContext, ref: ChildRef): Node {
  return ref.node ?? ctx.pager.loadNode(ref.page, ref.crc);
}

/** Returns the node behind `ref`, copying it to a new page first unless this txn owns it. */
function mutable(ctx: TreeContext, ref: ChildRef): Node {
  if (ref.node !== null) return ref.node;
  // loadNode decodes afresh: its arrays and child refs are this transaction's own copy.
  const copy = ctx.pager.loadNode(ref.page, ref.crc);
  ctx.free(ref.page);
  ref.page = ctx.allocate();
  ref.node = copy;
  return copy;
}

/** Refs inside a shared node must never be mutated, so an owner takes copies of them. */
function cleanCopy(ref: ChildRef): ChildRef {
  assert(ref.node === null, 'a shared node has only clean children');
  return { page: ref.page, crc: ref.crc, node: null };
}

function newRef(ctx: TreeContext, node: Node): ChildRef {
  return { page: ctx.allocate(), crc: 0, node };
}

/** Index of the first key >= `key` (and whether it is equal). */
function lowerBound(keys: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(keys[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the child whose key range holds `key`. */
function childIndex(node: BranchNode, key: Uint8Array): number {
  let lo = 0;
  let hi = node.keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(key, node.keys[mid]!) < 0) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/**
 * Finds the stored value for `key`, or undefined. Touches one page per level. Clean pages are
 * searched in their bytes, without decoding (the hot path of every get); nodes this
 * transaction owns are searched in their decoded form.
 */
export function lookup(ctx: TreeContext, tree: TreeRoot, key: Uint8Array): StoredValue | undefined {
  let owned = tree.root;
  let page = 0;
  let crc = 0;
  for (let depth = 0; owned !== null; depth++) {
    if (depth > MAX_DEPTH) throw corruption('tree deeper than any valid tree (a cycle?)');
    const node = owned.node;
    if (node === null) {
      page = owned.page;
      crc = owned.crc;
      break;
    }
    if (node.kind === 'leaf') return leafValue(node, key);
    owned = node.children[childIndex(node, key)]!;
  }
  if (owned === null) return undefined;
  for (let depth = 0; ; depth++) {
    if (depth > MAX_DEPTH) throw corruption('tree deeper than any valid tree (a cycle?)');
    const bytes = ctx.pager.loadNodePage(page, crc);
    if (isLeafPage(bytes)) return leafPageValue(bytes, key);
    const child = branchPageChild(bytes, key);
    page = branchPageChildPage(bytes, child);
    crc = branchPageChildCrc(bytes, child);
  }
}

function leafValue(node: LeafNode, key: Uint8Array): StoredValue | undefined {
  const i = lowerBound(node.keys, key);
  if (i < node.keys.length && compareBytes(node.keys[i]!, key) === 0) return node.values[i];
  return undefined;
}

/** No valid tree is this deep: each level at least doubles the number of reachable pages. */
const MAX_DEPTH = 40;

/**
 * Stores `value` (inline or in overflow pages) under `key`. Returns true if it replaced one.
 * Takes ownership of both arrays: the caller must not change them afterwards.
 */
export function insert(ctx: TreeContext, tree: TreeRoot, key: Uint8Array, value: Uint8Array): boolean {
  checkSizes(ctx.layout, key, value);
  const stored: StoredValue = ctx.layout.fitsInline(key.length, value.length)
    ? value
    : writeOverflow(ctx, value);
  let replaced = false;
  updateLeaf(ctx, tree, key, (leaf) => {
    const i = lowerBound(leaf.keys, key);
    if (i < leaf.keys.length && compareBytes(leaf.keys[i]!, key) === 0) {
      const old = leaf.values[i]!;
      freeValue(ctx, old);
      leaf.size += leafEntryBytes(key, stored) - leafEntryBytes(key, old);
      leaf.values[i] = stored;
      replaced = true;
    } else {
      leaf.keys.splice(i, 0, key);
      leaf.values.splice(i, 0, stored);
      leaf.size += leafEntryBytes(key, stored);
    }
  });
  return replaced;
}

function checkSizes(layout: Layout, key: Uint8Array, value: Uint8Array): void {
  if (key.length > layout.maxKeyBytes) {
    throw new EngineError('TOO_LARGE', `key of ${key.length} bytes exceeds ${layout.maxKeyBytes}`);
  }
  if (value.length > MAX_VALUE_BYTES) {
    throw new EngineError('TOO_LARGE', `value of ${value.length} bytes exceeds ${MAX_VALUE_BYTES}`);
  }
}

/** Removes `key`. Returns false (and copies no page) when the key is absent. */
export function remove(ctx: TreeContext, tree: TreeRoot, key: Uint8Array): boolean {
  if (lookup(ctx, tree, key) === undefined) return false;
  updateLeaf(ctx, tree, key, (leaf) => {
    const i = lowerBound(leaf.keys, key);
    assert(i < leaf.keys.length && compareBytes(leaf.keys[i]!, key) === 0, 'removed key exists');
    const value = leaf.values[i]!;
    freeValue(ctx, value);
    leaf.size -= leafEntryBytes(key, value);
    leaf.keys.splice(i, 1);
    leaf.values.splice(i, 1);
  });
  return true;
}

/**
 * Copies the path to the leaf for `key`, applies `change` to that leaf, then restores the
 * tree's bounds on the way up: overflowing nodes split, underfull ones merge or borrow, a
 * root with one child hands over to it and an empty root leaf leaves an empty tree.
 */
function updateLeaf(ctx: TreeContext, tree: TreeRoot, key: Uint8Array, change: (leaf: LeafNode) => void): void {
  if (tree.root === null) tree.root = newRef(ctx, { kind: 'leaf', keys: [], values: [], size: 0 });
  const split = updateNode(ctx, tree.root, key, change, 1);
  if (split !== null) {
    shape.count('rootGrowths');
    const children = [tree.root, split.right];
    const size = 2 * BRANCH_CHILD_BYTES + BRANCH_KEY_DIR_BYTES + split.key.length;
    tree.root = newRef(ctx, { kind: 'branch', keys: [split.key], children, size });
    return;
  }
  const root = nodeOf(ctx, tree.root);
  if (root.kind === 'branch' && root.children.length === 1) {
    shape.count('rootShrinks');
    const only = root.children[0]!;
    ctx.free(tree.root.page);
    tree.root = only;
  } else if (root.kind === 'leaf' && root.keys.length === 0) {
    ctx.free(tree.root.page);
    tree.root = null;
  }
}

function updateNode(ctx: TreeContext, ref: ChildRef, key: Uint8Array, change: (leaf: LeafNode) => void, depth: number): Split | null {
  const node = mutable(ctx, ref);
  if (node.kind === 'leaf') {
    shape.leafAt(depth);
    change(node);
  } else {
    const i = childIndex(node, key);
    const split = updateNode(ctx, node.children[i]!, key, change, depth + 1);
    if (split !== null) {
      node.keys.splice(i, 0, split.key);
      node.children.splice(i + 1, 0, split.right);
      node.size += BRANCH_CHILD_BYTES + BRANCH_KEY_DIR_BYTES + split.key.length;
    } else if (isUnderfull(ctx.layout, nodeOf(ctx, node.children[i]!))) {
      rebalance(ctx, node, i);
    }
  }
  if (node.size <= ctx.layout.usableBytes) return null;
  shape.count(node.kind === 'leaf' ? 'leafSplits' : 'branchSplits');
  const halves = node.kind === 'leaf' && compareBytes(node.keys[node.keys.length - 1]!, key) === 0
    ? splitLeafAppending(node, ctx.layout)
    : splitNode(node);
  return { key: halves.key, right: newRef(ctx, halves.right) };
}

function splitNode(node: Node): NodeSplit {
  return node.kind === 'leaf' ? splitLeaf(node) : splitBranch(node);
}

/** Entry sizes of a leaf, for choosing a balanced split point. */
function leafSizes(node: LeafNode): number[] {
  return node.keys.map((key, i) => leafEntryBytes(key, node.values[i]!));
}

/** The split index in [min, max] that best balances the bytes on each side. */
function balancedIndex(min: number, max: number, cost: (left: number) => number): number {
  assert(min <= max, 'a split point exists');
  let best = min;
  let bestCost = Infinity;
  for (let m = min; m <= max; m++) {
    const c = cost(m);
    if (c < bestCost) { best = m; bestCost = c; }
  }
  return best;
}

function splitLeaf(node: LeafNode): NodeSplit {
  const sizes = leafSizes(node);
  const prefix = prefixSums(sizes);
  const total = prefix[sizes.length]!;
  const m = balancedIndex(1, sizes.length - 1, (left) => Math.abs(2 * prefix[left]! - total));
  const right: LeafNode = {
    kind: 'leaf', keys: node.keys.splice(m), values: node.values.splice(m), size: total - prefix[m]!,
  };
  node.size = prefix[m]!;
  return { key: right.keys[0]!, right };
}

/**
 * Splits a leaf that overflowed at its last key (keys arriving in ascending order) so that
 * the right leaf, where the next keys will go, gets only a quarter page: the left one stays
 * three quarters full instead of half, so appends fill pages (fewer pages written per commit,
 * fewer to cache). Both sides stay within bounds: the left holds at most the node minus a
 * quarter page, which fits since one entry (at most a quarter page) made it overflow.
 */
function splitLeafAppending(node: LeafNode, layout: Layout): NodeSplit {
  const sizes = leafSizes(node);
  const prefix = prefixSums(sizes);
  const total = prefix[sizes.length]!;
  let m = sizes.length - 1;
  while (m > 1 && total - prefix[m]! < layout.minFillBytes) m--;
  if (prefix[m]! > layout.usableBytes || total - prefix[m]! < layout.minFillBytes) return splitLeaf(node);
  const right: LeafNode = {
    kind: 'leaf', keys: node.keys.splice(m), values: node.values.splice(m), size: total - prefix[m]!,
  };
  node.size = prefix[m]!;
  return { key: right.keys[0]!, right };
}

function prefixSums(sizes: readonly number[]): number[] {
  const prefix = [0];
  for (const size of sizes) prefix.push(prefix[prefix.length - 1]! + size);
  return prefix;
}

/** Bytes a branch would use with children [from, to) and the keys between them. */
function branchBytes(keyPrefix: readonly number[], from: number, to: number): number {
  return (to - from) * BRANCH_CHILD_BYTES + keyPrefix[to - 1]! - keyPrefix[from]!;
}

function splitBranch(node: BranchNode): NodeSplit {
  const n = node.children.length;
  const keyPrefix = prefixSums(node.keys.map((key) => BRANCH_KEY_DIR_BYTES + key.length));
  const m = balancedIndex(2, n - 2,
    (left) => Math.abs(branchBytes(keyPrefix, 0, left) - branchBytes(keyPrefix, left, n)));
  const up = node.keys[m - 1]!;
  const right: BranchNode = {
    kind: 'branch', keys: node.keys.splice(m), children: node.children.splice(m), size: branchBytes(keyPrefix, m, n),
  };
  node.keys.pop();
  node.size = branchBytes(keyPrefix, 0, m);
  return { key: up, right };
}

export function isUnderfull(layout: Layout, node: Node): boolean {
  if (node.kind === 'branch' && node.children.length < 2) return true;
  if (node.kind === 'leaf' && node.keys.length === 0) return true;
  return node.size < layout.minFillBytes;
}

/**
 * Fixes the underfull child `i` of `parent` with a neighbour: merge the two when they fit in
 * one page, otherwise share their entries evenly. Either way both results are in bounds.
 */
function rebalance(ctx: TreeContext, parent: BranchNode, i: number): void {
  assert(parent.children.length >= 2, 'an underfull child has a sibling');
  const j = i > 0 ? i - 1 : i;
  const leftRef = parent.children[j]!;
  const rightRef = parent.children[j + 1]!;
  const separator = parent.keys[j]!;
  const left = mutable(ctx, leftRef);
  const right = nodeOf(ctx, rightRef);
  const rightOwned = rightRef.node !== null;
  const mergedBytes = left.size + right.size
    + (left.kind === 'branch' ? BRANCH_KEY_DIR_BYTES + separator.length : 0);
  if (mergedBytes <= ctx.layout.usableBytes) {
    shape.merge();
    appendInto(left, right, separator, rightOwned);
    ctx.free(rightRef.page);
    parent.keys.splice(j, 1);
    parent.children.splice(j + 1, 1);
    parent.size -= BRANCH_CHILD_BYTES + BRANCH_KEY_DIR_BYTES + separator.length;
    return;
  }
  shape.count('redistributions');
  const rightMutable = mutable(ctx, rightRef);
  appendInto(left, rightMutable, separator, true);
  const split = splitNode(left);
  rightRef.node = split.right;
  parent.size += split.key.length - separator.length;
  parent.keys[j] = split.key;
}

/** Moves every entry of `right` to the end of `left` (with the separator between branches). */
function appendInto(left: Node, right: Node, separator: Uint8Array, rightOwned: boolean): void {
  if (left.kind === 'leaf') {
    assert(right.kind === 'leaf', 'siblings are of one kind');
    left.keys.push(...right.keys);
    left.values.push(...right.values);
    left.size += right.size;
    return;
  }
  assert(right.kind === 'branch', 'siblings are of one kind');
  left.keys.push(separator, ...right.keys);
  left.children.push(...(rightOwned ? right.children : right.children.map(cleanCopy)));
  left.size += right.size + BRANCH_KEY_DIR_BYTES + separator.length;
}

/** Keys in [start, end), in key order or reversed. Bounds are optional. */
export interface RangeBounds {
  readonly start?: Uint8Array | undefined;
  readonly end?: Uint8Array | undefined;
  readonly reverse?: boolean | undefined;
}

/**
 * The entries [from, to) of one leaf a scan passes: a node the transaction owns, or the bytes
 * of a clean page (verified and checked by checkNodePage), searched and read without decoding.
 */
export type LeafRun =
  | { readonly node: LeafNode; readonly page: null; readonly from: number; readonly to: number }
  | { readonly node: null; readonly page: Uint8Array; readonly from: number; readonly to: number };

/** Key `i` of a run's leaf (a view: the caller copies what it keeps). */
export function runKey(run: LeafRun, i: number): Uint8Array {
  return run.node !== null ? run.node.keys[i]! : leafPageKey(run.page, i);
}

/** Stored value `i` of a run's leaf (a view, or an overflow stub). */
export function runValue(run: LeafRun, i: number): StoredValue {
  return run.node !== null ? run.node.values[i]! : leafPageStored(run.page, i);
}

/** Yields stored entries of the range, touching only the pages that overlap it. */
export function* scan(ctx: TreeContext, tree: TreeRoot, bounds: RangeBounds): Generator<[Uint8Array, StoredValue]> {
  for (const run of scanLeaves(ctx, tree, bounds)) {
    for (let k = 0; k < run.to - run.from; k++) {
      const i = bounds.reverse === true ? run.to - 1 - k : run.from + k;
      yield [runKey(run, i), runValue(run, i)];
    }
  }
}

/**
 * The leaves of the range in scan order (the last first when reversed), each with the part of
 * it inside the bounds: a full scan costs a generator step per leaf, not one per entry and level.
 */
export function* scanLeaves(ctx: TreeContext, tree: TreeRoot, bounds: RangeBounds): Generator<LeafRun> {
  if (tree.root === null) return;
  if (bounds.start !== undefined || bounds.end !== undefined) shape.count('boundedScans');
  if (bounds.start !== undefined && bounds.end !== undefined && compareBytes(bounds.start, bounds.end) >= 0) return;
  yield* scanRef(ctx, tree.root, bounds, 0);
}

function* scanRef(ctx: TreeContext, ref: ChildRef, bounds: RangeBounds, depth: number): Generator<LeafRun> {
  if (depth > MAX_DEPTH) throw corruption('tree deeper than any valid tree (a cycle?)');
  const { start, end } = bounds;
  const node = ref.node;
  if (node !== null) {
    if (node.kind === 'leaf') {
      yield { node, page: null, from: start === undefined ? 0 : lowerBound(node.keys, start), to: end === undefined ? node.keys.length : lowerBound(node.keys, end) };
      return;
    }
    const from = start === undefined ? 0 : childIndex(node, start);
    const to = end === undefined ? node.children.length - 1 : childIndex(node, end);
    yield* scanChildren(ctx, from, to, (i) => node.children[i]!, bounds, depth);
    return;
  }
  // A clean page, as lookup reads it: the bytes the read cache verified, never decoded.
  const page = ctx.pager.loadNodePage(ref.page, ref.crc);
  const count = pageEntryCount(page);
  if (isLeafPage(page)) {
    yield { node: null, page, from: start === undefined ? 0 : leafPageLowerBound(page, start), to: end === undefined ? count : leafPageLowerBound(page, end) };
    return;
  }
  const from = start === undefined ? 0 : branchPageChild(page, start);
  const to = end === undefined ? count - 1 : branchPageChild(page, end);
  yield* scanChildren(ctx, from, to, (i) => ({ page: branchPageChildPage(page, i), crc: branchPageChildCrc(page, i), node: null }), bounds, depth);
}

/** Children [from, to] of a branch in scan order, each scanned in turn. */
function* scanChildren(ctx: TreeContext, from: number, to: number, child: (i: number) => ChildRef, bounds: RangeBounds, depth: number): Generator<LeafRun> {
  for (let k = 0; k <= to - from; k++) yield* scanRef(ctx, child(bounds.reverse === true ? to - k : from + k), bounds, depth + 1);
}

/** Writes a large value to a chain of new overflow pages, last page first. */
function writeOverflow(ctx: TreeContext, value: Uint8Array): OverflowRef {
  const chunkBytes = ctx.layout.overflowDataBytes;
  const chunks = Math.max(1, Math.ceil(value.length / chunkBytes));
  shape.count('overflowChains');
  let next = 0;
  let nextCrc = 0;
  for (let i = chunks - 1; i >= 0; i--) {
    const page = ctx.allocate();
    const bytes = encodeOverflow(value.subarray(i * chunkBytes, (i + 1) * chunkBytes), next, nextCrc, ctx.layout.pageBytes);
    nextCrc = checksum(bytes);
    next = page;
    ctx.pager.writePage(page, bytes);
  }
  return { page: next, crc: nextCrc, lengthBytes: value.length };
}

/** Visits each page of an overflow chain, verifying checksums and the chain's length. */
function walkOverflow(ctx: TreeContext, value: OverflowRef, visit: (page: number, data: Uint8Array) => void): void {
  const chunkBytes = ctx.layout.overflowDataBytes;
  const expectedPages = Math.max(1, Math.ceil(value.lengthBytes / chunkBytes));
  let page = value.page;
  let crc = value.crc;
  let total = 0;
  for (let i = 0; i < expectedPages; i++) {
    if (page === 0) throw corruption(`overflow chain ends after ${i} of ${expectedPages} pages`);
    const overflow = ctx.pager.loadOverflow(page, crc);
    visit(page, overflow.data);
    total += overflow.data.length;
    page = overflow.next;
    crc = overflow.nextCrc;
  }
  if (page !== 0 || total !== value.lengthBytes) {
    throw corruption(`overflow chain holds ${total} bytes, its stub says ${value.lengthBytes}`);
  }
}

/** The value's bytes, as a fresh copy the caller owns. */
export function readValue(ctx: TreeContext, value: StoredValue): Uint8Array {
  if (!isOverflow(value)) return copyBytes(value);
  const out = new Uint8Array(value.lengthBytes);
  let offset = 0;
  walkOverflow(ctx, value, (_page, data) => { out.set(data, offset); offset += data.length; });
  return out;
}

/** Pages of an overflow value (for freeing and for page accounting). */
export function overflowPages(ctx: TreeContext, value: OverflowRef): number[] {
  const pages: number[] = [];
  walkOverflow(ctx, value, (page) => pages.push(page));
  return pages;
}

function freeValue(ctx: TreeContext, value: StoredValue): void {
  if (isOverflow(value)) for (const page of overflowPages(ctx, value)) ctx.free(page);
}

/** Frees every page of a tree (used by deleteTable and clear). */
export function freeTree(ctx: TreeContext, tree: TreeRoot): void {
  if (tree.root !== null) freeSubtree(ctx, tree.root, 0);
  tree.root = null;
}

function freeSubtree(ctx: TreeContext, ref: ChildRef, depth: number): void {
  if (depth > MAX_DEPTH) throw corruption('tree deeper than any valid tree (a cycle?)');
  const node = nodeOf(ctx, ref);
  if (node.kind === 'branch') {
    for (const child of node.children) freeSubtree(ctx, child, depth + 1);
  } else {
    for (const value of node.values) freeValue(ctx, value);
  }
  ctx.free(ref.page);
}

/**
 * Encodes every node this transaction owns, children before parents (a parent records its
 * children's checksums), and hands the pages to the write buffer. Afterwards the tree is clean.
 */
export function commitTree(ctx: TreeContext, tree: TreeRoot): void {
  if (tree.root !== null) commitRef(ctx, tree.root);
}

function commitRef(ctx: TreeContext, ref: ChildRef): void {
  const node = ref.node;
  if (node === null) return;
  if (node.kind === 'branch') for (const child of node.children) commitRef(ctx, child);
  const bytes = encodeNode(node, ctx.layout.pageBytes);
  ref.crc = checksum(bytes);
  ctx.pager.writePage(ref.page, bytes);
  ctx.pager.remember(ref.page, ref.crc, bytes);
  ref.node = null;
}
