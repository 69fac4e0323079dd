// Damaged files: any corrupted byte of a committed database gives CORRUPTION (or INVALID_FORMAT) or the exact committed data, never wrong data.
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { Database } from '../../engine/database.js';
import { EngineError } from '../../engine/errors.js';
import { SLOT_BYTES, SLOT_MIRROR_OFFSETS, SLOT_OFFSETS } from '../../engine/format.js';
import { MemoryVfs } from '../../engine/memoryVfs.js';
import {
  commitEntries, dumpDatabase, hex, keyOf, mapPages, rawSlots, valueOf, type Dump, type PageKind,
} from './engineFixtures.js';

const NAME = 'crashlab.db';
const PAGE_BYTES = 512;

interface Committed {
  /** The file after the last commit, closed cleanly. */
  readonly file: Uint8Array;
  /** The state of the newest commit, and of the one before it (what the older slot names). */
  readonly newest: Dump;
  readonly previous: Dump;
}

/** A small database with branch, leaf and overflow pages in two tables, and two valid slots. */
async function committedDatabase(): Promise<Committed> {
  const vfs = new MemoryVfs();
  const db = await Database.open(vfs, { pageBytes: PAGE_BYTES });
  await commitEntries(db, 'a', Array.from({ length: 80 }, (_, i) => [keyOf(i), valueOf(i, 20)]));
  await commitEntries(db, 'b', [600, 1200, 2000].map((lengthBytes, i) => [keyOf(i), valueOf(i, lengthBytes)]));
  const previous = dumpDatabase(db);
  await commitEntries(db, 'a', [[keyOf(3), valueOf(3, 20, 1)], [keyOf(100), valueOf(100, 20)]]);
  const newest = dumpDatabase(db);
  await db.close();
  return { file: vfs.snapshot().get(NAME)!, newest, previous };
}

type Outcome = { kind: 'data'; dump: Dump } | { kind: 'error'; code: string } | { kind: 'crash'; error: string };

/** Opens a damaged copy and reads everything twice (range and point gets); never throws. */
async function openAndReadAll(file: Uint8Array): Promise<Outcome> {
  let db: Database | undefined;
  try {
    db = await Database.open(MemoryVfs.fromSnapshot(new Map([[NAME, file]])));
    const dump = dumpDatabase(db);
    const reader = db.beginRead();
    for (const [name, entries] of Object.entries(dump)) {
      const table = reader.openTable(name);
      for (const [key, value] of entries) {
        const got = table.get(Uint8Array.from(Buffer.from(key, 'hex')));
        if (got === undefined || hex(got) !== value) return { kind: 'crash', error: `get of ${key} in ${name} disagrees with range` };
      }
    }
    reader.close();
    const report = db.checkIntegrity();
    if (!report.ok) return { kind: 'crash', error: `opened, but integrity fails: ${report.problems.join('; ')}` };
    return { kind: 'data', dump };
  } catch (error) {
    if (error instanceof EngineError) return { kind: 'error', code: error.code };
    return { kind: 'crash', error: String(error) };
  } finally {
    await db?.close().catch(() => undefined);
  }
}

function flipped(file: Uint8Array, offsets: readonly number[], mask = 0x5a): Uint8Array {
  const copy = file.slice();
  for (const offset of offsets) copy[offset]! ^= mask;
  return copy;
}

function assertOneOf(t: ExecutionContext, outcome: Outcome, allowed: { states: Dump[]; codes: string[] }, what: string): void {
  if (outcome.kind === 'data') {
    t.true(allowed.states.some((state) => JSON.stringify(state) === JSON.stringify(outcome.dump)), `${what}: opened with data that was never committed`);
  } else if (outcome.kind === 'error') {
    t.true(allowed.codes.includes(outcome.code), `${what}: ${outcome.code}`);
  } else {
    t.fail(`${what}: ${outcome.error}`);
  }
}

test('a damaged newest slot is read past through its mirror; with its mirror damaged too, open falls back to the older slot and its exact state', async (t) => {
  const { file, newest, previous } = await committedDatabase();
  const slots = rawSlots(file);
  t.true(slots[0] !== null && slots[1] !== null, 'both slots hold a commit');
  const newestIndex = slots[0]!.txnId > slots[1]!.txnId ? 0 : 1;
  t.deepEqual((await openAndReadAll(file)), { kind: 'data', dump: newest });
  for (const offsetInSlot of [0, 8, 12, 16, 25, 32, 50, SLOT_BYTES - 1]) {
    const copyOnly = await openAndReadAll(flipped(file, [SLOT_OFFSETS[newestIndex] + offsetInSlot]));
    t.deepEqual(copyOnly, { kind: 'data', dump: newest }, `byte ${offsetInSlot} of the newest slot: its mirror holds it`);
    const mirrorOnly = await openAndReadAll(flipped(file, [SLOT_MIRROR_OFFSETS[newestIndex] + offsetInSlot]));
    t.deepEqual(mirrorOnly, { kind: 'data', dump: newest }, `byte ${offsetInSlot} of the newest slot's mirror`);
    const both = await openAndReadAll(flipped(file, [SLOT_OFFSETS[newestIndex] + offsetInSlot, SLOT_MIRROR_OFFSETS[newestIndex] + offsetInSlot]));
    t.deepEqual(both, { kind: 'data', dump: previous }, `byte ${offsetInSlot} of the newest slot and its mirror (the declared limit)`);
  }
  // A damaged older slot changes nothing.
  const outcome = await openAndReadAll(flipped(file, [SLOT_OFFSETS[1 - newestIndex]! + 5]));
  t.deepEqual(outcome, { kind: 'data', dump: newest });
});

test('both slots damaged: CORRUPTION', async (t) => {
  const { file } = await committedDatabase();
  for (const [a, b] of [[0, 0], [63, 1], [20, 40]] as const) {
    const outcome = await openAndReadAll(flipped(file, [SLOT_OFFSETS[0] + a, SLOT_OFFSETS[1] + b, SLOT_MIRROR_OFFSETS[0] + a, SLOT_MIRROR_OFFSETS[1] + b]));
    t.deepEqual(outcome, { kind: 'error', code: 'CORRUPTION' });
  }
  const zeroed = file.slice();
  zeroed.fill(0, SLOT_OFFSETS[0], SLOT_MIRROR_OFFSETS[1] + SLOT_BYTES);
  t.deepEqual(await openAndReadAll(zeroed), { kind: 'error', code: 'CORRUPTION' });
});

test('a damaged static header: bad magic is INVALID_FORMAT, other bytes CORRUPTION', async (t) => {
  const { file } = await committedDatabase();
  for (let offset = 0; offset < 8; offset++) {
    t.deepEqual(await openAndReadAll(flipped(file, [offset])), { kind: 'error', code: 'INVALID_FORMAT' }, `byte ${offset}`);
  }
  for (let offset = 8; offset < 20; offset++) {
    t.deepEqual(await openAndReadAll(flipped(file, [offset])), { kind: 'error', code: 'CORRUPTION' }, `byte ${offset}`);
  }
});

for (const kind of ['branch', 'leaf', 'overflow'] as const satisfies readonly PageKind[]) {
  test(`a damaged ${kind} page is CORRUPTION, wherever the byte is`, async (t) => {
    const { file, newest } = await committedDatabase();
    const map = mapPages(file);
    const pages = map.pages.filter((page) => page.kind === kind);
    t.true(pages.length > 0, `the database has ${kind} pages`);
    for (const { page, owner } of pages) {
      for (const offsetInPage of [0, 2, 9, PAGE_BYTES / 2, PAGE_BYTES - 1]) {
        const outcome = await openAndReadAll(flipped(file, [page * PAGE_BYTES + offsetInPage]));
        t.deepEqual(outcome, { kind: 'error', code: 'CORRUPTION' }, `${kind} page ${page} of ${owner}, byte ${offsetInPage}`);
      }
    }
    t.deepEqual(await openAndReadAll(file), { kind: 'data', dump: newest });
  });
}

test('a damaged catalog page is CORRUPTION', async (t) => {
  const { file } = await committedDatabase();
  const catalog = mapPages(file).pages.filter((page) => page.owner === 'catalog');
  t.true(catalog.length > 0);
  for (const { page } of catalog) {
    t.deepEqual(await openAndReadAll(flipped(file, [page * PAGE_BYTES + 20])), { kind: 'error', code: 'CORRUPTION' });
  }
});

test('a truncated file is CORRUPTION', async (t) => {
  const { file } = await committedDatabase();
  const lastReachable = Math.max(...mapPages(file).pages.map(({ page }) => page));
  for (const lengthBytes of [lastReachable * PAGE_BYTES, lastReachable * PAGE_BYTES + 100, 2 * PAGE_BYTES]) {
    t.deepEqual(await openAndReadAll(file.slice(0, lengthBytes)), { kind: 'error', code: 'CORRUPTION' }, `${lengthBytes} bytes`);
  }
});

// The first sector holds the static header and both slots; losing it must not look like "never created".
test('a committed database whose first sector reads as zeros is refused, never re-initialized as empty', async (t) => {
  const { file } = await committedDatabase();
  t.true(file.length <= 65536, 'small enough to look like an unfinished creation');
  for (const zeroedBytes of [PAGE_BYTES, 192]) {
    const damaged = file.slice();
    damaged.fill(0, 0, zeroedBytes);
    const vfs = MemoryVfs.fromSnapshot(new Map([[NAME, damaged]]));
    const outcome = await Database.open(vfs).then(async (db) => {
      const tables = db.beginRead().listTables();
      await db.close();
      return `opened with tables [${tables.join(', ')}]`;
    }, (error: unknown) => (error instanceof EngineError ? error.code : String(error)));
    t.true(outcome === 'CORRUPTION' || outcome === 'INVALID_FORMAT', `zeroed first ${zeroedBytes} bytes: ${outcome}`);
    t.true(Buffer.from(vfs.snapshot().get(NAME)!).equals(Buffer.from(damaged)), 'the file is left as it was');
  }
});

test('property: one damaged byte anywhere gives CORRUPTION, INVALID_FORMAT or exactly committed data', async (t) => {
  const { file, newest, previous } = await committedDatabase();
  const slots = rawSlots(file);
  const newestIndex = slots[0]!.txnId > slots[1]!.txnId ? 0 : 1;
  const newestSlotStart = SLOT_OFFSETS[newestIndex];
  const reachable = new Set(mapPages(file).pages.map(({ page }) => page));
  const outcomes = new Map<string, number>();
  // Unbiased offsets cover the whole file; fast-check's default bias would crowd the header.
  const offsetArb = fc.oneof({ weight: 4, arbitrary: fc.noBias(fc.nat({ max: file.length - 1 })) }, { weight: 1, arbitrary: fc.nat({ max: file.length - 1 }) });
  await fc.assert(fc.asyncProperty(offsetArb, fc.integer({ min: 1, max: 255 }), async (offset, mask) => {
    const outcome = await openAndReadAll(flipped(file, [offset], mask));
    const inNewestSlot = offset >= newestSlotStart && offset < newestSlotStart + SLOT_BYTES;
    const page = Math.floor(offset / PAGE_BYTES);
    const label = outcome.kind === 'data' ? (JSON.stringify(outcome.dump) === JSON.stringify(newest) ? 'newest' : 'previous')
      : outcome.kind === 'error' ? outcome.code : 'crash';
    outcomes.set(label, (outcomes.get(label) ?? 0) + 1);
    if (outcome.kind === 'crash') throw new Error(`byte ${offset} ^ ${mask}: ${outcome.error}`);
    if (outcome.kind === 'error') {
      if (!['CORRUPTION', 'INVALID_FORMAT'].includes(outcome.code)) throw new Error(`byte ${offset}: ${outcome.code}`);
      // Damage the engine never reads must not stop it: a free page, or page 0 outside header and slots.
      const unreadInHeader = page === 0 && ((offset >= 20 && offset < SLOT_OFFSETS[0]) || offset >= SLOT_OFFSETS[1] + SLOT_BYTES);
      const unread = unreadInHeader || (page > 0 && !reachable.has(page));
      if (unread) throw new Error(`byte ${offset} (never read: page ${page}) made the database unopenable`);
      return;
    }
    const allowed = inNewestSlot ? [newest, previous] : [newest];
    if (!allowed.some((state) => JSON.stringify(state) === JSON.stringify(outcome.dump))) {
      throw new Error(`byte ${offset} ^ ${mask}: opened with data that was never committed`);
    }
    if (reachable.has(page)) throw new Error(`byte ${offset} in reachable page ${page} went unnoticed`);
  }), { numRuns: 1000 });
  t.log(`file of ${file.length} bytes, outcomes: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assertOneOf(t, await openAndReadAll(file), { states: [newest], codes: [] }, 'the undamaged file');
});
