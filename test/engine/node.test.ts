// node.ts: page layouts (leaf, branch, overflow) round trip at every page size, size bounds hold, garbage decodes to CORRUPTION.
import assert from 'node:assert/strict';
import test from 'ava';
import fc from 'fast-check';
import { EngineError } from '../../engine/errors.js';
import { MAX_PAGE_BYTES, MIN_PAGE_BYTES } from '../../engine/format.js';
import {
  BRANCH_CHILD_BYTES, BRANCH_KEY_DIR_BYTES, compareBytes, computeSize, decodeNode, decodeOverflow, encodeNode,
  encodeOverflow, LEAF_DIR_BYTES, Layout, OVERFLOW_HEADER_BYTES, OVERFLOW_STUB_BYTES, PAGE_HEADER_BYTES, PageType,
  type BranchNode, type LeafNode, type Node, type StoredValue,
} from '../../engine/node.js';
import { hex, valueOf } from './engineFixtures.js';

const PAGE_SIZES_BYTES = [512, 1024, 4096, 16384, 65536];
const ALL_PAGE_SIZES_BYTES = [512, 1024, 2048, 4096, 8192, 16384, 32768, 65536];

/** Comparable form of a node: hex bytes, so a view and a copy of the same bytes compare equal. */
function normalize(node: Node): unknown {
  if (node.kind === 'leaf') {
    return {
      kind: 'leaf',
      keys: node.keys.map(hex),
      values: node.values.map((value) => (value instanceof Uint8Array ? hex(value) : { ...value })),
      size: node.size,
    };
  }
  return {
    kind: 'branch',
    keys: node.keys.map(hex),
    children: node.children.map((child) => ({ page: child.page, crc: child.crc })),
    size: node.size,
  };
}

/** Sorts, dedupes and keeps the longest prefix whose bytes fit in one page. */
function buildLeaf(layout: Layout, entries: Array<{ key: Uint8Array; value: StoredValue }>): LeafNode {
  const sorted = [...entries].sort((a, b) => compareBytes(a.key, b.key));
  const leaf: LeafNode = { kind: 'leaf', keys: [], values: [], size: 0 };
  for (const { key, value } of sorted) {
    const last = leaf.keys[leaf.keys.length - 1];
    if (last !== undefined && compareBytes(last, key) === 0) continue;
    const entryBytes = LEAF_DIR_BYTES + key.length + (value instanceof Uint8Array ? value.length : OVERFLOW_STUB_BYTES);
    if (leaf.size + entryBytes > layout.usableBytes) break;
    leaf.keys.push(key);
    leaf.values.push(value);
    leaf.size += entryBytes;
  }
  return leaf;
}

/** Byte strings of a chosen length, cheap to generate even when they are 16 KiB long. */
function bytesArb(maxLengthBytes: number): fc.Arbitrary<Uint8Array> {
  const lengthBytes = fc.oneof(fc.integer({ min: 0, max: Math.min(8, maxLengthBytes) }), fc.integer({ min: 0, max: maxLengthBytes }));
  return fc.tuple(lengthBytes, fc.nat()).map(([length, salt]) => valueOf(salt, length));
}

const overflowRefArb = fc.record({
  page: fc.integer({ min: 1, max: 0xffffffff }),
  crc: fc.integer({ min: 0, max: 0xffffffff }),
  lengthBytes: fc.integer({ min: 0, max: 0xffffffff }),
});

function leafArb(layout: Layout): fc.Arbitrary<LeafNode> {
  const entry = bytesArb(layout.maxKeyBytes).chain((key) => fc.record({
    key: fc.constant(key),
    value: fc.oneof<fc.Arbitrary<StoredValue>[]>(bytesArb(layout.maxEntryBytes - LEAF_DIR_BYTES - key.length), overflowRefArb),
  }));
  return fc.array(entry, { maxLength: 300 }).map((entries) => buildLeaf(layout, entries));
}

function branchArb(layout: Layout): fc.Arbitrary<BranchNode> {
  const child = fc.record({ page: fc.integer({ min: 1, max: 0xffffffff }), crc: fc.integer({ min: 0, max: 0xffffffff }) });
  return fc.tuple(fc.array(bytesArb(layout.maxKeyBytes), { maxLength: 300 }), fc.array(child, { minLength: 301, maxLength: 301 }))
    .map(([rawKeys, children]) => {
      const keys = [...new Map(rawKeys.map((key) => [hex(key), key])).values()].sort(compareBytes);
      const node: BranchNode = { kind: 'branch', keys: [], children: [], size: BRANCH_CHILD_BYTES };
      node.children.push({ ...children[0]!, node: null });
      for (const [i, key] of keys.entries()) {
        const entryBytes = BRANCH_CHILD_BYTES + BRANCH_KEY_DIR_BYTES + key.length;
        if (node.size + entryBytes > layout.usableBytes) break;
        node.keys.push(key);
        node.children.push({ ...children[i + 1]!, node: null });
        node.size += entryBytes;
      }
      return node;
    });
}

for (const pageBytes of PAGE_SIZES_BYTES) {
  const layout = new Layout(pageBytes);

  test(`leaf encode/decode round trips at ${pageBytes}-byte pages`, (t) => {
    // node:assert inside properties: a throw lets fast-check shrink to the smallest failing leaf.
    fc.assert(fc.property(leafArb(layout), (leaf) => {
      const page = encodeNode(leaf, pageBytes);
      assert.equal(page.length, pageBytes);
      assert.equal(page[0], PageType.Leaf);
      const decoded = decodeNode(page, 7);
      assert.deepEqual(normalize(decoded), normalize(leaf));
      assert.equal(computeSize(decoded), leaf.size);
    }), { numRuns: pageBytes >= 16384 ? 30 : 100 });
    t.pass();
  });

  test(`branch encode/decode round trips at ${pageBytes}-byte pages`, (t) => {
    fc.assert(fc.property(branchArb(layout), (branch) => {
      const page = encodeNode(branch, pageBytes);
      assert.equal(page[0], PageType.Branch);
      const decoded = decodeNode(page, 7);
      assert.deepEqual(normalize(decoded), normalize(branch));
      assert.equal(computeSize(decoded), branch.size);
    }), { numRuns: pageBytes >= 16384 ? 30 : 100 });
    t.pass();
  });

  test(`overflow encode/decode round trips at ${pageBytes}-byte pages`, (t) => {
    const chunkBytes = layout.overflowDataBytes;
    t.is(chunkBytes, pageBytes - OVERFLOW_HEADER_BYTES);
    for (const lengthBytes of [0, 1, chunkBytes - 1, chunkBytes]) {
      const data = valueOf(lengthBytes, lengthBytes);
      const page = encodeOverflow(data, 0xfffffffe, 0xdeadbeef, pageBytes);
      t.is(page.length, pageBytes);
      const decoded = decodeOverflow(page, 3);
      t.is(hex(decoded.data), hex(data));
      t.is(decoded.next, 0xfffffffe);
      t.is(decoded.nextCrc, 0xdeadbeef);
    }
  });

  // Offsets in the directory are u16: at 64 KiB pages the end of a full page is 65536, one past u16.
  test(`a leaf filled to the last byte, ending in an empty value, round trips at ${pageBytes}-byte pages`, (t) => {
    const leaf = exactlyFullLeaf(layout);
    t.is(leaf.size, layout.usableBytes);
    const decoded = (() => {
      try {
        return decodeNode(encodeNode(leaf, pageBytes), 9);
      } catch (error) {
        t.fail(`decode of an exactly full leaf failed: ${(error as Error).message}`);
        return undefined;
      }
    })();
    if (decoded !== undefined) t.deepEqual(normalize(decoded), normalize(leaf));
  });
}

/** Entries summing to exactly usableBytes; the last (largest) key is maxKeyBytes long with an empty value. */
function exactlyFullLeaf(layout: Layout): LeafNode {
  const lastEntryBytes = LEAF_DIR_BYTES + layout.maxKeyBytes;
  const restBytes = layout.usableBytes - lastEntryBytes;
  const count = Math.ceil(restBytes / layout.maxEntryBytes);
  const entries: Array<{ key: Uint8Array; value: StoredValue }> = [];
  for (let i = 0; i < count; i++) {
    const entryBytes = Math.floor(restBytes / count) + (i < restBytes % count ? 1 : 0);
    entries.push({ key: Uint8Array.of(i), value: valueOf(i, entryBytes - LEAF_DIR_BYTES - 1) });
  }
  entries.push({ key: new Uint8Array(layout.maxKeyBytes).fill(0xff), value: new Uint8Array(0) });
  return buildLeaf(layout, entries);
}

test('Layout bounds: maxKeyBytes, maxEntryBytes and fitsInline at every page size', (t) => {
  for (const pageBytes of ALL_PAGE_SIZES_BYTES) {
    const layout = new Layout(pageBytes);
    // In-page offsets are u16, so a 64 KiB page keeps its last byte unused.
    const usableBytes = Math.min(pageBytes, 0xffff) - PAGE_HEADER_BYTES;
    t.is(layout.usableBytes, usableBytes);
    t.is(layout.maxEntryBytes, Math.floor(usableBytes / 4));
    // A key of maxKeyBytes with an overflow stub is exactly the largest entry.
    t.is(layout.maxKeyBytes, layout.maxEntryBytes - LEAF_DIR_BYTES - OVERFLOW_STUB_BYTES);
    t.true(layout.maxKeyBytes > 64);
    // Four largest entries fit in one page, so a split always yields two legal halves.
    t.true(4 * layout.maxEntryBytes <= usableBytes);
    t.true(4 * (BRANCH_CHILD_BYTES + BRANCH_KEY_DIR_BYTES + layout.maxKeyBytes) <= usableBytes);
    for (const keyBytes of [0, 1, 8, layout.maxKeyBytes]) {
      const inlineMaxBytes = layout.maxEntryBytes - LEAF_DIR_BYTES - keyBytes;
      t.true(layout.fitsInline(keyBytes, inlineMaxBytes), `${pageBytes}: key ${keyBytes}, value ${inlineMaxBytes}`);
      t.false(layout.fitsInline(keyBytes, inlineMaxBytes + 1), `${pageBytes}: key ${keyBytes}, value ${inlineMaxBytes + 1}`);
    }
    t.true(layout.fitsInline(layout.maxKeyBytes, 0));
    t.is(layout.overflowDataBytes, pageBytes - OVERFLOW_HEADER_BYTES);
  }
  t.is(ALL_PAGE_SIZES_BYTES[0], MIN_PAGE_BYTES);
  t.is(ALL_PAGE_SIZES_BYTES[ALL_PAGE_SIZES_BYTES.length - 1], MAX_PAGE_BYTES);
});

test('a leaf of four largest entries encodes into one page', (t) => {
  for (const pageBytes of ALL_PAGE_SIZES_BYTES) {
    const layout = new Layout(pageBytes);
    const valueBytes = layout.maxEntryBytes - LEAF_DIR_BYTES - 2;
    const leaf = buildLeaf(layout, [0, 1, 2, 3].map((i) => ({ key: Uint8Array.of(i, i), value: valueOf(i, valueBytes) })));
    t.is(leaf.keys.length, 4);
    t.deepEqual(normalize(decodeNode(encodeNode(leaf, pageBytes), 1)), normalize(leaf));
  }
});

/** Decoding must either succeed or throw CORRUPTION; anything else (RangeError...) is a crash. */
function decodesOrCorruption(decode: () => unknown): true | string {
  try {
    decode();
    return true;
  } catch (error) {
    if (error instanceof EngineError && error.code === 'CORRUPTION') return true;
    return `${(error as Error).name}: ${(error as Error).message}`;
  }
}

test('decoding random full pages yields a node or CORRUPTION, never another error', (t) => {
  for (const pageBytes of [512, 4096]) {
    // Type byte and count are steered towards the interesting cases; the rest is noise.
    const garbage = fc.tuple(
      fc.uint8Array({ minLength: pageBytes, maxLength: pageBytes }),
      fc.oneof(fc.constantFrom(PageType.Leaf, PageType.Branch, PageType.Overflow), fc.nat({ max: 255 })),
      fc.oneof(fc.nat({ max: 80 }), fc.nat({ max: 0xffff })),
      fc.oneof(fc.nat({ max: pageBytes }), fc.nat({ max: 0xffffffff })),
    ).map(([bytes, type, count, length]) => {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      view.setUint8(0, type);
      view.setUint16(2, count, true);
      if (type === PageType.Overflow) view.setUint32(4, length, true);
      return bytes;
    });
    fc.assert(fc.property(garbage, (page) => {
      assert.equal(decodesOrCorruption(() => decodeNode(page, 5)), true);
      assert.equal(decodesOrCorruption(() => decodeOverflow(page, 5)), true);
    }), { numRuns: 500 });
  }
  t.pass();
});

test('decoded entries are views inside their page, never past it', (t) => {
  const layout = new Layout(512);
  fc.assert(fc.property(leafArb(layout), (leaf) => {
    const page = encodeNode(leaf, 512);
    const decoded = decodeNode(page, 1);
    assert.equal(decoded.kind, 'leaf');
    if (decoded.kind !== 'leaf') return;
    for (const part of [...decoded.keys, ...decoded.values]) {
      if (!(part instanceof Uint8Array)) continue;
      assert.equal(part.buffer, page.buffer);
      assert.ok(part.byteOffset >= PAGE_HEADER_BYTES && part.byteOffset + part.length <= page.length);
    }
  }), { numRuns: 200 });
  t.pass();
});

test('crafted structural nonsense is CORRUPTION', (t) => {
  const pageBytes = 512;
  const corrupt = (build: (view: DataView, page: Uint8Array) => void, decode: (page: Uint8Array) => unknown): void => {
    const page = new Uint8Array(pageBytes);
    build(new DataView(page.buffer), page);
    const error = t.throws(() => decode(page), { instanceOf: EngineError });
    t.is(error?.code, 'CORRUPTION');
  };
  // Unknown page types, including the zeroed page a never-written page reads as.
  corrupt(() => {}, (page) => decodeNode(page, 1));
  corrupt((view) => view.setUint8(0, 9), (page) => decodeNode(page, 1));
  corrupt((view) => view.setUint8(0, PageType.Overflow), (page) => decodeNode(page, 1));
  corrupt((view) => view.setUint8(0, PageType.Leaf), (page) => decodeOverflow(page, 1));
  // A leaf whose directory alone is larger than the page.
  corrupt((view) => { view.setUint8(0, PageType.Leaf); view.setUint16(2, 64, true); }, (page) => decodeNode(page, 1));
  // A leaf entry pointing into the page header, or past the end.
  corrupt((view) => {
    view.setUint8(0, PageType.Leaf); view.setUint16(2, 1, true);
    view.setUint16(8, 4, true); view.setUint16(10, 2, true);
  }, (page) => decodeNode(page, 1));
  corrupt((view) => {
    view.setUint8(0, PageType.Leaf); view.setUint16(2, 1, true);
    view.setUint16(8, 16, true); view.setUint16(10, 0, true); view.setUint16(12, 500, true); view.setUint16(14, 13, true);
  }, (page) => decodeNode(page, 1));
  // An overflow stub that runs off the page.
  corrupt((view) => {
    view.setUint8(0, PageType.Leaf); view.setUint16(2, 1, true);
    view.setUint16(8, 16, true); view.setUint16(10, 0, true); view.setUint16(12, 505, true); view.setUint16(14, 0xffff, true);
  }, (page) => decodeNode(page, 1));
  // Branches with no child, or more children than fit.
  corrupt((view) => { view.setUint8(0, PageType.Branch); view.setUint16(2, 0, true); }, (page) => decodeNode(page, 1));
  corrupt((view) => { view.setUint8(0, PageType.Branch); view.setUint16(2, 60, true); }, (page) => decodeNode(page, 1));
  // A branch key outside the page.
  corrupt((view) => {
    view.setUint8(0, PageType.Branch); view.setUint16(2, 2, true);
    view.setUint16(8 + 16, 510, true); view.setUint16(8 + 18, 4, true);
  }, (page) => decodeNode(page, 1));
  // An overflow page claiming more data than it holds.
  corrupt((view) => { view.setUint8(0, PageType.Overflow); view.setUint32(4, pageBytes - OVERFLOW_HEADER_BYTES + 1, true); },
    (page) => decodeOverflow(page, 1));
  corrupt((view) => { view.setUint8(0, PageType.Overflow); view.setUint32(4, 0xffffffff, true); }, (page) => decodeOverflow(page, 1));
});

/** The order the engine promises: unsigned bytes, then shorter first. */
function referenceCompare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

test('compareBytes is unsigned lexicographic order', (t) => {
  t.true(compareBytes(Uint8Array.of(0x80), Uint8Array.of(0x7f)) > 0);
  t.true(compareBytes(Uint8Array.of(0xff), Uint8Array.of(0x00, 0xff)) > 0);
  t.true(compareBytes(Uint8Array.of(1), Uint8Array.of(1, 0)) < 0);
  t.true(compareBytes(new Uint8Array(0), Uint8Array.of(0)) < 0);
  t.is(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2)), 0);
  // Views at an offset compare by their own bytes, not their buffer's.
  const buffer = Uint8Array.of(9, 0x80, 1, 9);
  t.is(compareBytes(buffer.subarray(1, 3), Uint8Array.of(0x80, 1)), 0);
  // Small alphabets make equal prefixes (the interesting case) common.
  const bytes = fc.oneof(fc.uint8Array({ maxLength: 12 }), fc.uint8Array({ maxLength: 6, min: 0x7e, max: 0x81 }));
  const sign = (n: number): number => (n > 0 ? 1 : n < 0 ? -1 : 0);
  fc.assert(fc.property(bytes, bytes, (a, b) => {
    assert.equal(sign(compareBytes(a, b)), sign(referenceCompare(a, b)));
    assert.equal(sign(compareBytes(b, a)), -sign(referenceCompare(a, b)) || 0);
  }), { numRuns: 2000 });
});
