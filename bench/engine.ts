// Benchmark: single-database insert and point-get throughput on real files and in memory (figures only, never assertions).
//
// Usage: node dist/bench/engine.js [--keys N] [--json]
// Inserts N keys (8-byte big-endian integers, 150-byte values, 1,000 inserts per commit, every
// commit immediate), closes, reopens, then gets every key once in a shuffled order. With --json
// the last line printed is one JSON object holding every figure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Database, DEFAULT_FILE_NAME, FileVfs, MemoryVfs, type Vfs } from '../engine/index.js';
import { positiveInteger } from './positiveInteger.js';
import { benchMain, BenchUsageError } from './benchMain.js';

const VALUE_BYTES = 150;
const INSERTS_PER_COMMIT = 1_000;

interface Arguments {
  readonly keyCount: number;
  readonly json: boolean;
}

function parseArguments(argv: readonly string[]): Arguments {
  let keyCount = 1_000_000;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (argument === '--json') {
      json = true;
    } else if (argument === '--keys') {
      keyCount = positiveInteger('--keys', argv[++i]);
    } else {
      throw new BenchUsageError(`unknown argument ${argument} (usage: [--keys N] [--json])`);
    }
  }
  return { keyCount, json };
}

function keyOf(index: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(index));
  return key;
}

function valueOf(index: number): Uint8Array {
  const value = new Uint8Array(VALUE_BYTES);
  value.set(keyOf(index), 0);
  for (let i = 8; i < VALUE_BYTES; i++) value[i] = (index * 31 + i * 7) & 0xff;
  return value;
}

/** A seeded permutation (xorshift32 Fisher-Yates): the same get order on every run. */
function shuffledIndexes(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  let state = 0x9e3779b9;
  for (let i = count - 1; i > 0; i--) {
    state ^= state << 13; state >>>= 0; state ^= state >>> 17; state ^= state << 5; state >>>= 0;
    const j = state % (i + 1);
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return order;
}

interface BackendResult {
  readonly backend: string;
  readonly keys: number;
  readonly commits: number;
  readonly insertSeconds: number;
  readonly insertsPerSecond: number;
  readonly fsyncsPerCommit: number;
  readonly pagesWritten: number;
  readonly evictions: number;
  readonly closeSeconds: number;
  readonly reopenSeconds: number;
  readonly getSeconds: number;
  readonly getsPerSecond: number;
  readonly cacheHitRatio: number;
  readonly fileBytes: number;
  readonly pageCount: number;
  /** Peak resident set of the whole process so far (it never goes down). */
  readonly peakRssBytes: number;
}

async function run(backend: string, vfs: Vfs, keyCount: number, fileBytesOf: () => number): Promise<BackendResult> {
  const db = await Database.open(vfs);
  const insertStartMs = performance.now();
  let commits = 0;
  for (let first = 0; first < keyCount; first += INSERTS_PER_COMMIT) {
    const txn = await db.beginWrite();
    const table = txn.openTable('bench');
    const end = Math.min(keyCount, first + INSERTS_PER_COMMIT);
    for (let i = first; i < end; i++) table.insert(keyOf(i), valueOf(i));
    await txn.commit();
    commits++;
  }
  const insertSeconds = (performance.now() - insertStartMs) / 1000;
  const written = db.stats();
  const closeStartMs = performance.now();
  await db.close();
  const closeSeconds = (performance.now() - closeStartMs) / 1000;

  // Gets on a reopened handle: the read cache starts cold, as after a restart.
  const reopenStartMs = performance.now();
  const reopened = await Database.open(vfs);
  const reopenSeconds = (performance.now() - reopenStartMs) / 1000;
  const reader = reopened.beginRead();
  const table = reader.openTable('bench');
  const order = shuffledIndexes(keyCount);
  let missing = 0;
  const getStartMs = performance.now();
  for (let i = 0; i < keyCount; i++) {
    const value = table.get(keyOf(order[i]!));
    if (value?.length !== VALUE_BYTES) missing++;
  }
  const getSeconds = (performance.now() - getStartMs) / 1000;
  if (missing > 0) throw new Error(`${backend}: ${missing} keys did not read back`);
  const read = reopened.stats();
  reader.close();
  await reopened.close();
  return {
    backend,
    keys: keyCount,
    commits,
    insertSeconds,
    insertsPerSecond: keyCount / insertSeconds,
    fsyncsPerCommit: written.syncs / commits,
    pagesWritten: written.pagesWritten,
    evictions: written.evictions,
    closeSeconds,
    reopenSeconds,
    getSeconds,
    getsPerSecond: keyCount / getSeconds,
    cacheHitRatio: read.cacheHits / Math.max(1, read.cacheHits + read.cacheMisses),
    fileBytes: fileBytesOf(),
    pageCount: written.pageCount,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
  };
}

function describe(result: BackendResult): string {
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return [
    `${result.backend}: ${result.keys} keys in ${result.commits} commits`,
    `  insert   ${result.insertsPerSecond.toFixed(0)} inserts/s (${result.insertSeconds.toFixed(2)} s), `
      + `${result.fsyncsPerCommit.toFixed(2)} fsyncs/commit, ${result.pagesWritten} pages written, ${result.evictions} evictions`,
    `  get      ${result.getsPerSecond.toFixed(0)} gets/s (${result.getSeconds.toFixed(2)} s, shuffled, after reopen), `
      + `cache hit ratio ${(result.cacheHitRatio * 100).toFixed(1)}%`,
    `  close ${result.closeSeconds.toFixed(2)} s, reopen ${result.reopenSeconds.toFixed(2)} s (walks every page)`,
    `  file     ${mib(result.fileBytes)} (${result.pageCount} pages), peak RSS so far ${mib(result.peakRssBytes)}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { keyCount, json } = parseArguments(process.argv.slice(2));
  const results: BackendResult[] = [];
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-bench-'));
  try {
    const filePath = path.join(directory, DEFAULT_FILE_NAME);
    results.push(await run('file', new FileVfs(directory), keyCount, () => fs.statSync(filePath).size));
    console.log(describe(results[results.length - 1]!));
  } finally {
    fs.rmSync(directory, { recursive: true, force: true });
  }
  const memory = new MemoryVfs();
  results.push(await run('memory', memory, keyCount, () => {
    const file = memory.open(DEFAULT_FILE_NAME, { create: false });
    try {
      return file.len();
    } finally {
      file.close();
    }
  }));
  console.log(describe(results[results.length - 1]!));
  if (json) {
    console.log(JSON.stringify({
      bench: 'engine', node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length,
      keyBytes: 8, valueBytes: VALUE_BYTES, insertsPerCommit: INSERTS_PER_COMMIT, results,
    }));
  }
}

await benchMain(import.meta.url, main);
