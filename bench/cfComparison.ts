// Benchmark: the seed plan's cf_comparison workload (column families written concurrently) on real files, per barrier policy, with and without the WAL (figures only, never assertions).
//
// Usage: node dist/bench/cfComparison.js [--families N] [--commits N] [--batch N] [--json]
// Each of N families (default 8) runs its own loop of commits (default 50), each inserting a
// batch of keys (default 1,000; 8-byte big-endian integers, 150-byte values) with immediate
// durability; all families at once (Promise.all). After a small unreported warm-up, runs four configurations in fresh temporary
// directories: WAL + barrier 'always', WAL + barrier 'wal-aware', and no WAL (where the barrier
// does not apply, so both of its rows measure the same thing: they show the run-to-run noise).
// Every fsync is counted by a wrapper around the VFS: WAL and data file separately. With
// --json the last line printed is one JSON object holding every figure.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ColumnFamilyDatabase, DEFAULT_CF_FILE_NAME, FileVfs, type Barrier, type Clock, type OpenOptions, type Storage,
} from '../engine/index.js';
import { ForwardingStorage, ForwardingVfs } from '../fault/forwarding.js';
import { positiveInteger } from './positiveInteger.js';
import { benchMain, BenchUsageError } from './benchMain.js';

const VALUE_BYTES = 150;
const TABLE = 'bench';

interface Arguments {
  readonly families: number;
  readonly commits: number;
  readonly batch: number;
  readonly json: boolean;
}

function parseArguments(argv: readonly string[]): Arguments {
  const parsed = { families: 8, commits: 50, batch: 1_000, json: false };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (argument === '--json') parsed.json = true;
    else if (argument === '--families') parsed.families = positiveInteger(argument, argv[++i]);
    else if (argument === '--commits') parsed.commits = positiveInteger(argument, argv[++i]);
    else if (argument === '--batch') parsed.batch = positiveInteger(argument, argv[++i]);
    else throw new BenchUsageError(`unknown argument ${String(argument)} (usage: [--families N] [--commits N] [--batch N] [--json])`);
  }
  return parsed;
}

function keyOf(index: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(index));
  return key;
}

function valueOf(family: number, index: number): Uint8Array {
  const value = new Uint8Array(VALUE_BYTES);
  value.set(keyOf(index), 0);
  for (let i = 8; i < VALUE_BYTES; i++) value[i] = (index * 31 + i * 7 + family) & 0xff;
  return value;
}

/** Real time, for the engine's checkpoint interval and group-commit window. */
class SystemClock implements Clock {
  nowMicros(): number {
    return Math.round(performance.now() * 1000);
  }

  sleep(durationMicros: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, durationMicros / 1000));
  }
}

interface FileCounters {
  syncs: number;
  bytesWritten: number;
}

/** A VFS that counts, per file, the syncs that succeeded and the bytes written. */
class CountingVfs extends ForwardingVfs {
  readonly counters = new Map<string, FileCounters>();

  countersOf(name: string): FileCounters {
    let counters = this.counters.get(name);
    if (counters === undefined) this.counters.set(name, counters = { syncs: 0, bytesWritten: 0 });
    return counters;
  }

  snapshot(name: string): FileCounters {
    return { ...this.countersOf(name) };
  }

  override open(name: string, options: OpenOptions): Storage {
    return new CountingStorage(this.inner.open(name, options), this.countersOf(name));
  }
}

class CountingStorage extends ForwardingStorage {
  constructor(inner: Storage, private readonly counters: FileCounters) {
    super(inner);
  }

  override write(offset: number, data: Uint8Array): void {
    this.inner.write(offset, data);
    this.counters.bytesWritten += data.length;
  }

  override async sync(): Promise<void> {
    await this.inner.sync();
    this.counters.syncs++;
  }
}

interface Config {
  readonly label: string;
  readonly wal: boolean;
  readonly barrier: Barrier;
}

const CONFIGS: readonly Config[] = [
  { label: 'WAL, barrier always', wal: true, barrier: 'always' },
  { label: 'WAL, barrier wal-aware', wal: true, barrier: 'wal-aware' },
  { label: 'no WAL (barrier always, ignored)', wal: false, barrier: 'always' },
  { label: 'no WAL (barrier wal-aware, ignored)', wal: false, barrier: 'wal-aware' },
];

interface Result {
  readonly label: string;
  readonly wal: boolean;
  readonly barrier: Barrier;
  readonly inserts: number;
  readonly commits: number;
  readonly seconds: number;
  readonly insertsPerSecond: number;
  readonly commitsPerSecond: number;
  /** WAL syncs plus data-file syncs during the workload, per commit. */
  readonly fsyncsPerCommit: number;
  readonly walSyncs: number;
  readonly dataSyncs: number;
  readonly walBytesWritten: number;
  readonly dataBytesWritten: number;
  readonly pagesWritten: number;
  readonly evictions: number;
  /** Close (a final checkpoint with the WAL): its time and syncs, not in the figures above. */
  readonly closeSeconds: number;
  readonly closeSyncs: number;
  readonly fileBytes: number;
  /** Blocks the data file really holds (st_blocks x 512): a sparse file's apparent size overstates it. */
  readonly allocatedBytes: number;
  readonly walFileBytes: number;
  /** Keys and values inserted (8 + VALUE_BYTES each, no key twice): what the files store. */
  readonly logicalBytes: number;
  /** Data file and log after close, apparent bytes, per logical byte (issue 12's space figure). */
  readonly bytesPerLogicalByte: number;
}

async function run(config: Config, args: Arguments, directory: string): Promise<Result> {
  const vfs = new CountingVfs(new FileVfs(directory));
  const walName = `${DEFAULT_CF_FILE_NAME}.wal`;
  const db = await ColumnFamilyDatabase.open(vfs, { wal: config.wal, barrier: config.barrier, clock: new SystemClock() });
  const families = [];
  for (let f = 0; f < args.families; f++) families.push(await db.columnFamily(`cf${f}`));
  const walBefore = vfs.snapshot(walName);
  const dataBefore = vfs.snapshot(DEFAULT_CF_FILE_NAME);

  const startMs = performance.now();
  await Promise.all(families.map(async (family, f) => {
    for (let commit = 0; commit < args.commits; commit++) {
      const txn = await family.beginWrite();
      const table = txn.openTable(TABLE);
      const first = commit * args.batch;
      for (let i = first; i < first + args.batch; i++) table.insert(keyOf(i), valueOf(f, i));
      await txn.commit({ durability: 'immediate' });
    }
  }));
  const seconds = (performance.now() - startMs) / 1000;

  const walAfter = vfs.snapshot(walName);
  const dataAfter = vfs.snapshot(DEFAULT_CF_FILE_NAME);
  let pagesWritten = 0;
  let evictions = 0;
  for (const family of families) {
    const stats = family.stats();
    pagesWritten += stats.pagesWritten;
    evictions += stats.evictions;
    const reader = family.beginRead();
    const entries = reader.openTable(TABLE).len();
    reader.close();
    if (entries !== args.commits * args.batch) throw new Error(`${config.label}: ${family.name} holds ${entries} entries`);
  }
  const closeStartMs = performance.now();
  await db.close();
  const closeSeconds = (performance.now() - closeStartMs) / 1000;
  const closed = { wal: vfs.snapshot(walName), data: vfs.snapshot(DEFAULT_CF_FILE_NAME) };

  const commits = args.families * args.commits;
  const walSyncs = walAfter.syncs - walBefore.syncs;
  const dataSyncs = dataAfter.syncs - dataBefore.syncs;
  return {
    label: config.label,
    wal: config.wal,
    barrier: config.barrier,
    inserts: commits * args.batch,
    commits,
    seconds,
    insertsPerSecond: (commits * args.batch) / seconds,
    commitsPerSecond: commits / seconds,
    fsyncsPerCommit: (walSyncs + dataSyncs) / commits,
    walSyncs,
    dataSyncs,
    walBytesWritten: walAfter.bytesWritten - walBefore.bytesWritten,
    dataBytesWritten: dataAfter.bytesWritten - dataBefore.bytesWritten,
    pagesWritten,
    evictions,
    closeSeconds,
    closeSyncs: closed.wal.syncs - walAfter.syncs + closed.data.syncs - dataAfter.syncs,
    ...spaceOf(directory, args.families * args.commits * args.batch * (8 + VALUE_BYTES)),
  };
}

function spaceOf(directory: string, logicalBytes: number): Pick<Result, 'fileBytes' | 'allocatedBytes' | 'walFileBytes' | 'logicalBytes' | 'bytesPerLogicalByte'> {
  const data = fs.statSync(path.join(directory, DEFAULT_CF_FILE_NAME));
  const walFile = path.join(directory, `${DEFAULT_CF_FILE_NAME}.wal`);
  const walFileBytes = fs.existsSync(walFile) ? fs.statSync(walFile).size : 0;
  return { fileBytes: data.size, allocatedBytes: data.blocks * 512, walFileBytes, logicalBytes, bytesPerLogicalByte: (data.size + walFileBytes) / logicalBytes };
}

function describe(result: Result): string {
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return [
    `${result.label}: ${result.inserts} inserts in ${result.commits} commits, ${result.seconds.toFixed(2)} s`,
    `  ${result.insertsPerSecond.toFixed(0)} inserts/s, ${result.commitsPerSecond.toFixed(0)} commits/s, `
      + `${result.fsyncsPerCommit.toFixed(2)} fsyncs/commit (WAL ${result.walSyncs}, data ${result.dataSyncs})`,
    `  written: data ${mib(result.dataBytesWritten)} (${result.pagesWritten} pages, ${result.evictions} evictions), WAL ${mib(result.walBytesWritten)}`,
    `  close ${result.closeSeconds.toFixed(2)} s with ${result.closeSyncs} syncs; data file ${mib(result.fileBytes)} (${mib(result.allocatedBytes)} allocated), `
      + `log ${mib(result.walFileBytes)}: ${result.bytesPerLogicalByte.toFixed(2)} bytes on disk per logical byte (${mib(result.logicalBytes)} of keys and values)`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  console.log(`cf_comparison: ${args.families} families x ${args.commits} commits x ${args.batch} inserts `
    + `(${args.families * args.commits * args.batch} inserts), ${VALUE_BYTES}-byte values, immediate durability, real files`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-cf-bench-'));
  const results: Result[] = [];
  try {
    // A small unreported run first, so the first configuration does not pay for JIT warm-up.
    const warmup = path.join(root, 'warmup');
    fs.mkdirSync(warmup);
    await run(CONFIGS[0]!, { ...args, families: 2, commits: 3, batch: Math.min(args.batch, 1_000) }, warmup);
    fs.rmSync(warmup, { recursive: true, force: true });
    for (const [i, config] of CONFIGS.entries()) {
      const directory = path.join(root, `run-${i}`);
      fs.mkdirSync(directory);
      results.push(await run(config, args, directory));
      console.log(describe(results[results.length - 1]!));
      fs.rmSync(directory, { recursive: true, force: true });
    }
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  if (args.json) {
    console.log(JSON.stringify({
      bench: 'cf_comparison', node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length,
      families: args.families, commitsPerFamily: args.commits, insertsPerCommit: args.batch, keyBytes: 8, valueBytes: VALUE_BYTES,
      tmpdir: os.tmpdir(), results,
    }));
  }
}

await benchMain(import.meta.url, main);
