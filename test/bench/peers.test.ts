// bench/peers without the native peers: the summary, the ratios, the strace count, the JSON
// line, a peer that is not installed, and a tiny real run of crashlab's engine (both barriers)
// and the append-only log, each job in its own child process as in the real command.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import {
  computeRatios, countSyncsBetweenMarkers, formatTable, jsonLine, parseArguments, runSuite, summarize, type ResultRow, type SuiteOptions,
} from '../../bench/peers.js';
import { Prng, commitEntries, indexOfKey, keyOf, valueMatches, valueOf, type WorkloadName } from '../../bench/peerWorkload.js';
import type { StoreName } from '../../bench/peerStores.js';

const TINY = { keyspaces: 2, commits: 3, batch: 50, gets: 500 };

function suiteOptions(stores: readonly StoreName[], overrides: Partial<SuiteOptions> = {}): SuiteOptions {
  return { stores, rounds: 1, size: TINY, peersDir: path.resolve('bench/peers'), strace: false, timeoutMs: 120_000, log: () => {}, ...overrides };
}

function row(store: StoreName, workload: WorkloadName, median: number | null): ResultRow {
  return { store, workload, median, min: median, max: median, unit: 'puts/s', rssBytes: null, fsyncsPerCommit: null, diskBytesPerLogicalByte: null, rounds: median === null ? 0 : 1 };
}

test('summarize: the median of odd and even counts, with min and max, whatever the order', (t) => {
  t.deepEqual(summarize([30, 10, 20]), { median: 20, min: 10, max: 30 });
  t.deepEqual(summarize([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
  t.deepEqual(summarize([7]), { median: 7, min: 7, max: 7 });
  t.throws(() => summarize([]), { instanceOf: RangeError });
});

test("computeRatios: crashlab's best configuration over each peer, null where either side has no figure", (t) => {
  const ratios = computeRatios([
    row('crashlab-always', 'durable-writes', 100), row('crashlab-wal-aware', 'durable-writes', 300),
    row('crashlab-always', 'random-gets', 50), row('crashlab-wal-aware', 'random-gets', null),
    row('lmdb', 'durable-writes', 600), row('lmdb', 'random-gets', 25),
    row('rocksdb', 'durable-writes', null), row('append-log', 'durable-writes', 150),
  ]);
  t.deepEqual(ratios, {
    lmdb: { 'durable-writes': 0.5, 'random-gets': 2 },
    rocksdb: { 'durable-writes': null },
    'append-log': { 'durable-writes': 2 },
  });
  t.deepEqual(computeRatios([row('crashlab-always', 'full-scan', null), row('lmdb', 'full-scan', 10)]), { lmdb: { 'full-scan': null } });
});

test('countSyncsBetweenMarkers counts fsync and fdatasync of the timed part only, across threads', (t) => {
  const trace = [
    '100 fdatasync(5) = 0', // open: before the first marker
    '100 getpriority(PRIO_PROCESS, 0) = 20',
    '100 fdatasync(7 <unfinished ...>',
    '101 fsync(9) = 0',
    '100 <... fdatasync resumed>) = 0',
    '102 fdatasync(7) = 0',
    '100 getpriority(PRIO_PROCESS, 0) = 20',
    '100 fsync(7) = 0', // close: after the second marker
  ].join('\n');
  t.is(countSyncsBetweenMarkers(trace), 3);
  t.is(countSyncsBetweenMarkers('100 getpriority(PRIO_PROCESS, 0) = 20\n100 fsync(3) = 0\n'), null);
});

test('the workload: seeded, so every process reads the same keys; values carry their key and differ per keyspace', (t) => {
  const draw = (seed: number) => Array.from({ length: 5 }, ((prng) => () => prng.below(1000))(new Prng(seed)));
  t.deepEqual(draw(7), draw(7));
  t.notDeepEqual(draw(7), draw(8));
  t.is(indexOfKey(keyOf(2 ** 40 + 5)), 2 ** 40 + 5);
  t.true(Buffer.compare(keyOf(255), keyOf(256)) < 0);
  t.true(valueMatches(valueOf(3, 1234), 1234));
  t.false(valueMatches(valueOf(3, 1234), 1235));
  t.notDeepEqual(valueOf(0, 1234), valueOf(1, 1234));
  const entries = commitEntries(1, 2, 10);
  t.deepEqual(entries.map(({ key }) => indexOfKey(key)), Array.from({ length: 10 }, (_, i) => 20 + i));
});

test('parseArguments: the issue sizes by default; --only keeps the listed stores and refuses unknown ones', (t) => {
  const defaults = parseArguments([]);
  t.deepEqual(defaults.size, { keyspaces: 8, commits: 50, batch: 1_000, gets: 400_000 });
  t.is(defaults.rounds, 3);
  t.is(defaults.stores.length, 7);
  const small = parseArguments(['--rounds', '1', '--commits', '4', '--gets', '100', '--only', 'append-log,crashlab-always', '--json']);
  t.deepEqual(small.stores, ['crashlab-always', 'append-log']);
  t.like(small, { rounds: 1, json: true, size: { keyspaces: 8, commits: 4, batch: 1_000, gets: 100 } });
  t.throws(() => parseArguments(['--only', 'mysql']), { message: /--only/ });
  t.throws(() => parseArguments(['--commits', '0']), { message: /--commits/ });
});

test('a peer that is not installed stays in the results as unavailable, with its reason', async (t) => {
  const emptyPeersDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-no-peers-'));
  try {
    const { rows, ratios } = await runSuite(suiteOptions(['lmdb'], { peersDir: emptyPeersDir }));
    t.is(rows.length, 4);
    for (const result of rows) {
      t.is(result.median, null);
      t.regex(result.error ?? '', /^unavailable: lmdb is not installed/);
    }
    t.deepEqual(ratios, { lmdb: { 'durable-writes': null, 'nondurable-writes': null, 'random-gets': null, 'full-scan': null } });
  } finally {
    fs.rmSync(emptyPeersDir, { recursive: true, force: true });
  }
});

test('a tiny real run of crashlab (both barriers) and the append-only log, in child processes', async (t) => {
  const stores: StoreName[] = ['crashlab-always', 'crashlab-wal-aware', 'append-log'];
  const { rows, ratios } = await runSuite(suiteOptions(stores, { rounds: 2 }));
  t.is(rows.length, 12);
  for (const result of rows) {
    t.is(result.error, undefined, `${result.store} ${result.workload}`);
    t.is(result.rounds, 2);
    t.true(result.median! > 0 && result.min! <= result.median! && result.median! <= result.max!);
    t.true(result.rssBytes! > 10 * 2 ** 20, 'the peak RSS of a Node process');
  }
  const fsyncs = (store: StoreName, workload: WorkloadName) => rows.find((r) => r.store === store && r.workload === workload)?.fsyncsPerCommit;
  t.is(fsyncs('append-log', 'durable-writes'), 1);
  t.is(fsyncs('append-log', 'nondurable-writes'), 0);
  for (const store of ['crashlab-always', 'crashlab-wal-aware'] as const) {
    const durable = fsyncs(store, 'durable-writes')!;
    t.true(durable > 0 && durable <= 2, `${store}: ${durable} fsyncs per durable commit`);
    t.true(fsyncs(store, 'nondurable-writes')! < durable, 'a non-durable commit waits for no fsync of its own');
    t.is(fsyncs(store, 'random-gets'), null);
  }
  // The space figure: the durable writes' folder on disk per logical byte, and only there.
  const space = (store: StoreName, workload: WorkloadName) => rows.find((r) => r.store === store && r.workload === workload)?.diskBytesPerLogicalByte;
  const log = space('append-log', 'durable-writes')!;
  t.true(log >= 1 && log < 2, `an append-only log holds every byte once, plus framing and block rounding: ${log}`);
  for (const store of stores) {
    t.true(space(store, 'durable-writes')! > 0, store);
    t.is(space(store, 'random-gets'), null);
  }
  t.deepEqual(Object.keys(ratios), ['append-log']);
  t.true(Object.values(ratios['append-log']!).every((ratio) => typeof ratio === 'number' && ratio > 0));

  const parsed = JSON.parse(jsonLine(rows, ratios, { rounds: 2 })) as { results: Array<Record<string, unknown>>; ratios: unknown };
  t.is(parsed.results.length, 12);
  for (const result of parsed.results) {
    for (const field of ['store', 'workload', 'median', 'min', 'max', 'unit', 'rssBytes']) t.true(field in result, field);
  }
  t.deepEqual(parsed.ratios, ratios);
  const table = formatTable(rows, TINY);
  for (const store of stores) t.regex(table, new RegExp(`^  ${store} +[0-9,]+ `, 'm'));
});
