/**
 * The integrity walk: reads every page reachable from a committed root straight from the
 * write buffer or the file (never from the read cache), and checks checksums, page
 * types, key order within and across pages, fill bounds, uniform leaf depth, overflow chains,
 * table lengths, and that no page is reached twice. `checkIntegrity` adds page accounting
 * against the allocator, whose free space `Database.open` reads from the persisted free list
 * (freeList.ts) instead of walking: this walk is what checks that list against the tree. Pages
 * that pass their checks are offered to the read cache (kept while it has room): open pays
 * for reading them already, and the first gets after it need not read them again.
 */
import { checksum } from './checksum.js';
import { decodeTableMeta, tableNameOf, type TableMeta } from './catalog.js';
import { assert, EngineError } from './errors.js';
import {
  checkNodePage, compareBytes, computeSize, decodeNode, decodeOverflow, isLeafPage, isOverflow, leafPageCompare, leafPageCompareKeys, leafPageKey,
  leafPageOverflow, leafPageSize, leafPageStored, pageEntryCount, type BranchNode, type ChildRef, type Layout, type StoredValue, type OverflowRef,
} from './node.js';
import type { Pager } from './pager.js';

/** Walks stop recording after this many problems: one is enough to fail, a few help to debug. */
const MAX_PROBLEMS = 50;

export interface TableSummary {
  readonly name: string;
  readonly entries: number;
  readonly depth: number;
}

export interface IntegrityReport {
  readonly ok: boolean;
  readonly problems: string[];
  /** Pages in the file's page space, header included. */
  readonly pageCount: number;
  readonly reachablePages: number;
  readonly freePages: number;
  readonly pendingFreePages: number;
  /** Pages of the persisted free list (freeList.ts) the durable slot, or one being written, names. */
  readonly freeListPages: number;
  readonly tables: TableSummary[];
}

export interface WalkResult {
  readonly reachable: Set<number>;
  readonly problems: string[];
  readonly tables: TableSummary[];
}

interface Bounds {
  readonly low: Uint8Array | null;
  readonly high: Uint8Array | null;
}

/** What the shape checks look at, of a decoded branch or of a leaf's bytes. */
interface Shape {
  readonly leaf: boolean;
  /** Keys (a branch has one fewer than children). */
  readonly keys: number;
  readonly children: number;
  readonly size: number;
  /** compareBytes(key i - 1, key i). */
  order(i: number): number;
  /** compareBytes(key i, bound). */
  against(i: number, bound: Uint8Array): number;
}

function branchShape(node: BranchNode): Shape {
  const { keys } = node;
  return {
    leaf: false, keys: keys.length, children: node.children.length, size: computeSize(node),
    order: (i) => compareBytes(keys[i - 1]!, keys[i]!), against: (i, bound) => compareBytes(keys[i]!, bound),
  };
}

/** A leaf checked in its bytes (by checkNodePage): no key is decoded or viewed. */
function leafPageShape(page: Uint8Array): Shape {
  return {
    leaf: true, keys: pageEntryCount(page), children: 0, size: leafPageSize(page),
    order: (i) => leafPageCompareKeys(page, i - 1, i), against: (i, bound) => leafPageCompare(page, i, bound),
  };
}

/** A visitor of leaf entries; null when the walk only checks (a table's entries). */
type Visit = ((key: Uint8Array, value: Uint8Array | OverflowRef) => void) | null;

/**
 * The message of a CORRUPTION error, which the walk records as a problem. Anything else (an
 * I/O failure above all) is not a fact about the file's structure: it propagates as it is.
 */
function corruptionMessage(error: unknown): string {
  if (error instanceof EngineError && error.code === 'CORRUPTION') return error.message;
  throw error;
}

/**
 * Runs `work`; a CORRUPTION it throws becomes a problem (`what: message`) and null. Anything
 * else propagates (corruptionMessage). Shared with the memoized walk of subtreeDigest.ts.
 */
export function orProblem<T>(what: string, problem: (message: string) => void, work: () => T): T | null {
  try {
    return work();
  } catch (error) {
    problem(`${what}: ${corruptionMessage(error)}`);
    return null;
  }
}

/**
 * Reads one page straight from the write buffer or the file (never the read cache) and checks
 * it against the checksum its parent recorded; a failure is told to `problem`, not thrown.
 * Shared with the memoized walk of subtreeDigest.ts (as `readCheckedPage`).
 */
function read(pager: Pager, ref: { readonly page: number; readonly crc: number }, what: string,
  problem: (message: string) => void): Uint8Array | null {
  try {
    const bytes = pager.readPage(ref.page);
    const actual = checksum(bytes);
    if (actual === ref.crc) return bytes;
    problem(`${what}: page ${ref.page} checksum ${actual}, parent recorded ${ref.crc}`);
  } catch (error) {
    if (!(error instanceof EngineError && error.code === 'CORRUPTION')) throw error;
    problem(`${what}: ${error.message}`);
  }
  return null;
}

export { read as readCheckedPage };

class Walker {
  readonly reachable = new Set<number>();
  readonly problems: string[] = [];
  private leafDepth = -1;

  constructor(private readonly pager: Pager, private readonly layout: Layout) {}

  problem(message: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(message);
  }

  private claim(page: number, what: string): boolean {
    if (page < 1) {
      this.problem(`${what}: points at page ${page}`);
      return false;
    }
    if (this.reachable.has(page)) {
      this.problem(`${what}: page ${page} is reachable twice`);
      return false;
    }
    this.reachable.add(page);
    return true;
  }

  /** Reads and verifies one page; a failure becomes a problem, not an exception. */
  private readPage(ref: ChildRef, what: string): Uint8Array | null {
    return read(this.pager, ref, what, (message) => this.problem(message));
  }

  /** Walks one tree; returns its entries (visit sees each leaf entry in order). */
  tree(root: ChildRef | null, what: string, visit: Visit): { entries: number; depth: number } {
    this.leafDepth = -1;
    if (root === null) return { entries: 0, depth: 0 };
    const entries = this.node(root, { low: null, high: null }, 0, what, visit);
    return { entries, depth: this.leafDepth + 1 };
  }

  private node(ref: ChildRef, bounds: Bounds, depth: number, what: string, visit: Visit): number {
    if (!this.claim(ref.page, what)) return 0;
    const bytes = this.readPage(ref, what);
    if (bytes === null) return 0;
    // The checks decodeNode makes, with its messages, without decoding: a leaf is checked in its bytes.
    if (orProblem(what, (message) => this.problem(message), () => checkNodePage(bytes, ref.page)) === null) return 0;
    // Verified against its parent's checksum and structurally sound: cacheable.
    this.pager.offer(ref.page, ref.crc, bytes);
    if (isLeafPage(bytes)) {
      const count = pageEntryCount(bytes);
      this.checkShape(leafPageShape(bytes), ref.page, depth, bounds, what);
      // Every entry visited first, then the overflow chains: the order the problems were always told in.
      if (visit !== null) for (let i = 0; i < count; i++) visit(leafPageKey(bytes, i), leafPageStored(bytes, i));
      for (let i = 0; i < count; i++) {
        const overflow = leafPageOverflow(bytes, i);
        if (overflow !== null) this.overflow(overflow, `${what} overflow`);
      }
      return count;
    }
    const node = decodeNode(bytes, ref.page);
    assert(node.kind === 'branch', 'a checked page that is not a leaf is a branch');
    this.checkShape(branchShape(node), ref.page, depth, bounds, what);
    let entries = 0;
    node.children.forEach((child, i) => {
      const low = i === 0 ? bounds.low : node.keys[i - 1]!;
      const high = i === node.children.length - 1 ? bounds.high : node.keys[i]!;
      entries += this.node(child, { low, high }, depth + 1, what, visit);
    });
    return entries;
  }

  private checkShape(node: Shape, page: number, depth: number, bounds: Bounds, what: string): void {
    const where = `${what}: page ${page}`;
    const size = node.size;
    if (size > this.layout.usableBytes) this.problem(`${where} uses ${size} bytes, more than a page`);
    const isRoot = depth === 0;
    if (!isRoot && !node.leaf && node.children < 2) this.problem(`${where} is a branch with one child`);
    if (!isRoot && size < Math.floor(this.layout.minFillBytes / 2)) this.problem(`${where} is underfull (${size} bytes)`);
    if (isRoot && node.leaf && node.keys === 0) this.problem(`${where} is an empty root leaf`);
    for (let i = 0; i < node.keys; i++) {
      if (i > 0 && node.order(i) >= 0) this.problem(`${where} keys out of order at ${i}`);
      if (bounds.low !== null && node.against(i, bounds.low) < 0) this.problem(`${where} key ${i} below its parent's bound`);
      if (bounds.high !== null && node.against(i, bounds.high) >= 0) this.problem(`${where} key ${i} above its parent's bound`);
    }
    if (node.leaf) {
      if (this.leafDepth >= 0 && this.leafDepth !== depth) this.problem(`${where} is a leaf at depth ${depth}, others at ${this.leafDepth}`);
      this.leafDepth = depth;
    }
  }

  overflow(value: OverflowRef, what: string): void {
    const chunkBytes = this.layout.overflowDataBytes;
    const expectedPages = Math.max(1, Math.ceil(value.lengthBytes / chunkBytes));
    let ref: ChildRef = { page: value.page, crc: value.crc, node: null };
    let total = 0;
    for (let i = 0; i < expectedPages; i++) {
      if (!this.claim(ref.page, what)) return;
      const bytes = this.readPage(ref, what);
      if (bytes === null) return;
      const page = orProblem(what, (message) => this.problem(message), () => decodeOverflow(bytes, ref.page));
      if (page === null) return;
      total += page.data.length;
      ref = { page: page.next, crc: page.nextCrc, node: null };
    }
    if (ref.page !== 0 || total !== value.lengthBytes) {
      this.problem(`${what}: chain holds ${total} bytes over ${expectedPages} pages, stub says ${value.lengthBytes}`);
    }
  }
}

/**
 * The catalog half of a walk, shared by the plain walk and the memoized one (subtreeDigest.ts):
 * `walkCatalog` walks the catalog tree, each entry's table meta is decoded (a bad one is a
 * problem), `walkTable` walks that table and returns its entry count, which must match the meta.
 */
export function walkTables(walkCatalog: (visit: (key: Uint8Array, value: StoredValue) => void) => void, problem: (message: string) => void,
  walkTable: (name: string, meta: TableMeta) => number): void {
  const metas: Array<{ name: string; bytes: Uint8Array }> = [];
  walkCatalog((key, value) => {
    if (isOverflow(value)) problem('catalog: a table entry points at overflow pages');
    else metas.push({ name: tableNameOf(key), bytes: value });
  });
  for (const { name, bytes } of metas) {
    const meta = orProblem(`table ${name}`, problem, () => decodeTableMeta(bytes, name));
    if (meta === null) continue;
    const entries = walkTable(name, meta);
    if (entries !== meta.length) problem(`table ${name}: ${entries} entries, catalog says ${meta.length}`);
  }
}

/** Walks the catalog and every table of a committed state. */
export function walkDatabase(pager: Pager, layout: Layout, catalog: ChildRef | null): WalkResult {
  const walker = new Walker(pager, layout);
  const tables: TableSummary[] = [];
  walkTables((visit) => walker.tree(catalog, 'catalog', visit), (message) => walker.problem(message), (name, meta) => {
    const { entries, depth } = walker.tree(meta.root, `table ${name}`, null);
    tables.push({ name, entries, depth });
    return entries;
  });
  return { reachable: walker.reachable, problems: walker.problems, tables };
}

/**
 * Adds page accounting to a walk: every page is reachable, free, pending or a page of the
 * persisted free list (`listPages`, freeList.ts), exactly once (invariant 7).
 */
export function checkTree(walk: WalkResult, pageCount: number, free: readonly number[], pending: readonly number[],
  listPages: readonly number[] = []): IntegrityReport {
  const problems = [...walk.problems];
  const seen = new Uint8Array(pageCount);
  const mark = (page: number, what: string): void => {
    if (page < 1 || page >= pageCount) problems.push(`${what} page ${page} outside the file's ${pageCount} pages`);
    else if (seen[page] !== 0) problems.push(`page ${page} is ${what} and already counted elsewhere`);
    else seen[page] = 1;
  };
  for (const page of walk.reachable) mark(page, 'reachable');
  for (const page of free) mark(page, 'free');
  for (const page of pending) mark(page, 'pending-free');
  for (const page of listPages) mark(page, 'free-list');
  let leaked = 0;
  for (let page = 1; page < pageCount; page++) if (seen[page] === 0) leaked++;
  if (leaked > 0) problems.push(`${leaked} pages are neither reachable nor free (leaked)`);
  return {
    ok: problems.length === 0,
    problems: problems.slice(0, MAX_PROBLEMS),
    pageCount,
    reachablePages: walk.reachable.size,
    freePages: free.length,
    pendingFreePages: pending.length,
    freeListPages: listPages.length,
    tables: walk.tables,
  };
}
