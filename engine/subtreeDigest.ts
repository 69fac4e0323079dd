/**
 * A crash harness's capability, not part of the storage engine's own work: the checks of the
 * integrity walk (integrity.ts) and a digest of every table's entries, over the last committed
 * state, remembering each verified subtree by its child pointer, so that the thousands of crash
 * images of one run, which share almost all their pages, each cost only the pages they do not
 * share. The caller supplies the entry hash (so the digest can be compared with a model's, in
 * code the engine does not contain) and the memo (one per family, kept across images).
 *
 * TRUST ASSUMPTION (written here, where the shortcut is taken): a child pointer (page, CRC-32)
 * equal to one verified earlier through the same memo names the subtree verified then. A page
 * whose checksum equals a verified one is the verified one, and so is everything under it,
 * since every pointer carries its child's checksum. What this gives up: a page overwritten in
 * place while a root still reaches it is not re-read when the memo already holds the pointer to
 * it, so that damage is not seen here. The harness reads a sampled share of images, and the
 * last of every run, in full (the full integrity walk and every key through `range`) for it.
 *
 * Page accounting (reachable + free + pending = every page, once each) is checked with counts
 * and a sum of page hashes instead of a set, so memoized subtrees need not list their pages.
 */
import { orProblem, readCheckedPage, walkTables } from './integrity.js';
import {
  compareBytes, computeSize, copyBytes, decodeNode, decodeOverflow, isOverflow, type ChildRef, type Layout, type Node,
  type OverflowRef, type StoredValue,
} from './node.js';
import type { Pager } from './pager.js';

/** The caller's hash of one entry: an integer in [0, 2^52). Digests are sums modulo 2^52. */
export type EntryDigest = (key: Uint8Array, value: Uint8Array) => number;

const MODULUS = 2 ** 52;

function add(a: number, b: number): number {
  const sum = a + b;
  return sum >= MODULUS ? sum - MODULUS : sum;
}

/** What a verified subtree amounts to, remembered by its pointer. */
export interface SubtreeSummary {
  readonly digest: number;
  readonly entries: number;
  /** 0 for a leaf. */
  readonly height: number;
  readonly minKey: Uint8Array | null;
  readonly maxKey: Uint8Array | null;
  /** Pages of the subtree, overflow pages included, and the sum of their page hashes. */
  readonly pages: number;
  readonly pageSum: number;
  /** Facts about the top node that are wrong only for a node that is not a root. */
  readonly underfull: boolean;
  readonly oneChild: boolean;
  readonly emptyLeaf: boolean;
}

/** Table name -> (page * 2^32 + crc) -> summary. One per family, kept by the caller across images. */
export type DigestMemo = Map<string, Map<number, SubtreeSummary>>;

export interface TableDigest {
  readonly name: string;
  /** Sum of the caller's entry hashes over the table. */
  readonly digest: number;
  readonly entries: number;
}

export interface StateDigestReport {
  readonly tables: TableDigest[];
  /** The integrity walk's problems (empty when the state is sound). */
  readonly problems: string[];
  /** Pages this call read (the ones the memo did not hold). */
  readonly pagesRead: number;
}

export interface PageAccounting {
  readonly pageCount: number;
  readonly free: readonly number[];
  readonly pending: readonly number[];
  /** Pages of the persisted free list (freeList.ts): counted as integrity.ts's checkTree counts them. */
  readonly listPages: readonly number[];
}

const MAX_PROBLEMS = 50;
/** Pointers are packed as page * 2^32 + crc: exact while pages stay below 2^21. */
const MAX_MEMO_PAGE = 2 ** 21;

/** murmur3's finalizer (model/stateDigest.ts has its own: the engine and the model import nothing of each other). */
function mix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function pageHash(page: number): number {
  return mix32(page ^ 0x9e3779b9) * 2 ** 20 + (mix32(Math.imul(page, 0x27d4eb2d) ^ 0x165667b1) >>> 12);
}

/** pageHashPrefix[n] = sum of pageHash(1..n-1), grown on demand. */
const pageHashPrefix: number[] = [0, 0];

function pageHashesBelow(pageCount: number): number {
  while (pageHashPrefix.length <= pageCount) {
    const n = pageHashPrefix.length;
    pageHashPrefix.push(add(pageHashPrefix[n - 1]!, pageHash(n - 1)));
  }
  return pageHashPrefix[Math.max(1, pageCount)]!;
}

interface Bounds {
  readonly low: Uint8Array | null;
  readonly high: Uint8Array | null;
}

/** How one tree is walked: its name in problems, its entry hash and memo, or a visitor (the catalog). */
interface TreeWalk {
  readonly what: string;
  readonly hash: EntryDigest | null;
  readonly memo: Map<number, SubtreeSummary> | null;
  readonly visit: ((key: Uint8Array, value: StoredValue) => void) | null;
}

class DigestWalker {
  readonly problems: string[] = [];
  /** Every problem counted, also past MAX_PROBLEMS: a subtree with any is never remembered. */
  problemCount = 0;
  pages = 0;
  pageSum = 0;
  pagesRead = 0;

  constructor(private readonly pager: Pager, private readonly layout: Layout) {}

  problem(message: string): void {
    this.problemCount++;
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(message);
  }

  private read(ref: { readonly page: number; readonly crc: number }, what: string): Uint8Array | null {
    if (ref.page < 1) {
      this.problem(`${what}: points at page ${ref.page}`);
      return null;
    }
    this.pagesRead++;
    return readCheckedPage(this.pager, ref, what, (message) => this.problem(message));
  }

  tree(root: ChildRef | null, walk: TreeWalk): { digest: number; entries: number } {
    if (root === null) return { digest: 0, entries: 0 };
    const summary = this.node(root, { low: null, high: null }, true, walk);
    if (summary === null) return { digest: 0, entries: 0 };
    if (summary.emptyLeaf) this.problem(`${walk.what}: page ${root.page} is an empty root leaf`);
    this.pages += summary.pages;
    this.pageSum = add(this.pageSum, summary.pageSum);
    return { digest: summary.digest, entries: summary.entries };
  }

  private node(ref: ChildRef, bounds: Bounds, isRoot: boolean, walk: TreeWalk): SubtreeSummary | null {
    const key = ref.page * 2 ** 32 + ref.crc;
    const remembered = ref.page >= 1 && ref.page < MAX_MEMO_PAGE ? walk.memo?.get(key) : undefined;
    const summary = remembered ?? this.fresh(ref, bounds, walk);
    if (summary === null) return null;
    const where = `${walk.what}: page ${ref.page}`;
    if (remembered !== undefined) {
      if (bounds.low !== null && summary.minKey !== null && compareBytes(summary.minKey, bounds.low) < 0) this.problem(`${where} holds a key below its parent's bound`);
      if (bounds.high !== null && summary.maxKey !== null && compareBytes(summary.maxKey, bounds.high) >= 0) this.problem(`${where} holds a key above its parent's bound`);
    }
    if (!isRoot && summary.oneChild) this.problem(`${where} is a branch with one child`);
    if (!isRoot && summary.underfull) this.problem(`${where} is underfull`);
    return summary;
  }

  /** Reads, verifies and summarizes a subtree the memo does not hold, and remembers it if sound. */
  private fresh(ref: ChildRef, bounds: Bounds, walk: TreeWalk): SubtreeSummary | null {
    const before = this.problemCount;
    const bytes = this.read(ref, walk.what);
    if (bytes === null) return null;
    const node = orProblem(walk.what, (message) => this.problem(message), () => decodeNode(bytes, ref.page));
    if (node === null) return null;
    this.checkShape(node, ref.page, bounds, walk.what);
    const summary = node.kind === 'leaf' ? this.leaf(node, ref.page, walk) : this.branch(node, ref.page, bounds, walk);
    if (summary !== null && this.problemCount === before && walk.memo !== null && ref.page < MAX_MEMO_PAGE) {
      walk.memo.set(ref.page * 2 ** 32 + ref.crc, summary);
    }
    return summary;
  }

  private checkShape(node: Node, page: number, bounds: Bounds, what: string): void {
    const where = `${what}: page ${page}`;
    const size = computeSize(node);
    if (size > this.layout.usableBytes) this.problem(`${where} uses ${size} bytes, more than a page`);
    node.keys.forEach((key, i) => {
      if (i > 0 && compareBytes(node.keys[i - 1]!, key) >= 0) this.problem(`${where} keys out of order at ${i}`);
      if (bounds.low !== null && compareBytes(key, bounds.low) < 0) this.problem(`${where} key ${i} below its parent's bound`);
      if (bounds.high !== null && compareBytes(key, bounds.high) >= 0) this.problem(`${where} key ${i} above its parent's bound`);
    });
  }

  private underfull(node: Node): boolean {
    return computeSize(node) < Math.floor(this.layout.minFillBytes / 2);
  }

  private leaf(node: Extract<Node, { kind: 'leaf' }>, page: number, walk: TreeWalk): SubtreeSummary {
    let digest = 0;
    let pages = 1;
    let pageSum = pageHash(page);
    node.keys.forEach((key, i) => {
      const stored = node.values[i]!;
      walk.visit?.(key, stored);
      let value: Uint8Array | null = isOverflow(stored) ? null : stored;
      if (isOverflow(stored)) {
        const chain = this.overflow(stored, `${walk.what} overflow`);
        if (chain === null) return;
        value = chain.data;
        pages += chain.pages;
        pageSum = add(pageSum, chain.pageSum);
      }
      if (walk.hash !== null && value !== null) digest = add(digest, walk.hash(key, value));
    });
    const count = node.keys.length;
    return {
      digest, entries: count, height: 0, minKey: count === 0 ? null : copyBytes(node.keys[0]!), maxKey: count === 0 ? null : copyBytes(node.keys[count - 1]!),
      pages, pageSum, underfull: this.underfull(node), oneChild: false, emptyLeaf: count === 0,
    };
  }

  private branch(node: Extract<Node, { kind: 'branch' }>, page: number, bounds: Bounds, walk: TreeWalk): SubtreeSummary | null {
    let digest = 0;
    let entries = 0;
    let pages = 1;
    let pageSum = pageHash(page);
    let height = -1;
    let failed = false;
    const children: Array<SubtreeSummary | null> = node.children.map((child, i) => {
      const low = i === 0 ? bounds.low : node.keys[i - 1]!;
      const high = i === node.children.length - 1 ? bounds.high : node.keys[i]!;
      return this.node(child, { low, high }, false, walk);
    });
    for (const child of children) {
      if (child === null) {
        failed = true;
        continue;
      }
      if (height >= 0 && child.height !== height) this.problem(`${walk.what}: page ${page} has leaves at different depths below it`);
      height = Math.max(height, child.height);
      digest = add(digest, child.digest);
      entries += child.entries;
      pages += child.pages;
      pageSum = add(pageSum, child.pageSum);
    }
    if (failed) return null;
    return {
      digest, entries, height: height + 1, minKey: children[0]!.minKey, maxKey: children[children.length - 1]!.maxKey,
      pages, pageSum, underfull: this.underfull(node), oneChild: node.children.length < 2, emptyLeaf: false,
    };
  }

  /** Reads an overflow chain as integrity.ts checks it, and returns its bytes and pages. */
  private overflow(value: OverflowRef, what: string): { data: Uint8Array; pages: number; pageSum: number } | null {
    const chunkBytes = this.layout.overflowDataBytes;
    const expectedPages = Math.max(1, Math.ceil(value.lengthBytes / chunkBytes));
    const data = new Uint8Array(value.lengthBytes);
    let ref = { page: value.page, crc: value.crc };
    let total = 0;
    let pageSum = 0;
    for (let i = 0; i < expectedPages; i++) {
      const bytes = this.read(ref, what);
      if (bytes === null) return null;
      const page = orProblem(what, (message) => this.problem(message), () => decodeOverflow(bytes, ref.page));
      if (page === null) return null;
      if (total + page.data.length <= data.length) data.set(page.data, total);
      total += page.data.length;
      pageSum = add(pageSum, pageHash(ref.page));
      ref = { page: page.next, crc: page.nextCrc };
    }
    if (ref.page !== 0 || total !== value.lengthBytes) {
      this.problem(`${what}: chain holds ${total} bytes over ${expectedPages} pages, stub says ${value.lengthBytes}`);
      return null;
    }
    return { data, pages: expectedPages, pageSum };
  }
}

/** The memoized walk of a committed state: every table's digest, and the integrity walk's problems. */
export function digestDatabase(pager: Pager, layout: Layout, catalog: ChildRef | null, hashFor: (table: string) => EntryDigest,
  memo: DigestMemo, accounting: PageAccounting): StateDigestReport {
  const walker = new DigestWalker(pager, layout);
  const tables: TableDigest[] = [];
  const walkCatalog = (visit: (key: Uint8Array, value: StoredValue) => void): void => {
    walker.tree(catalog, { what: 'catalog', hash: null, memo: null, visit });
  };
  walkTables(walkCatalog, (message) => walker.problem(message), (name, meta) => {
    let tableMemo = memo.get(name);
    if (tableMemo === undefined) {
      tableMemo = new Map();
      memo.set(name, tableMemo);
    }
    const { digest, entries } = walker.tree(meta.root, { what: `table ${name}`, hash: hashFor(name), memo: tableMemo, visit: null });
    tables.push({ name, digest, entries });
    return entries;
  });
  checkAccounting(walker, accounting);
  return { tables, problems: walker.problems, pagesRead: walker.pagesRead };
}

/** Reachable, free, pending and free-list pages are every page of the file but the header, once each. */
function checkAccounting(walker: DigestWalker, { pageCount, free, pending, listPages }: PageAccounting): void {
  let count = walker.pages;
  let sum = walker.pageSum;
  for (const page of [...free, ...pending, ...listPages]) {
    count++;
    sum = add(sum, pageHash(page));
  }
  if (count !== pageCount - 1 || sum !== pageHashesBelow(pageCount)) {
    walker.problem(`page accounting: ${walker.pages} reachable, ${free.length} free, ${pending.length} pending and ${listPages.length} free-list pages do not make up the file's ${pageCount - 1} pages once each (a leak, a double use or a page out of range)`);
  }
}
