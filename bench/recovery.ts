// Benchmark: the reference engine's own recovery (open of a crash image, then close), per
// database size: figures only, never assertions.
//
// Usage: node dist/bench/recovery.js [--keys 100,1000,10000,100000] [--txns 16] [--opens N] [--json]
//
// Each row builds a durable database of K keys (bench/harness.ts's population, closed
// cleanly), then runs T more commits of four operations each (immediate, barrier 'always') and
// takes the crash image where every synced write survived: the log holds the T records, so
// each open replays them and checkpoints, as a recovery in the crash campaign does. That image
// is opened and closed N times, each time on a fresh FaultyVfs mounted from it. The figure is
// CPU milliseconds per open and close: it should grow with T, not with K.
import { ColumnFamilyDatabase } from '../engine/index.js';
import { FaultyVfs } from '../fault/faultyVfs.js';

type CrashImage = Map<string, Uint8Array>;
import { Prng } from '../fault/prng.js';
import { familyName } from '../properties/crashWorkload.js';
import { BENCH_OPTIONS, keyOf, populate } from './harness.js';
import { benchMain, BenchUsageError } from './benchMain.js';

interface Row {
  readonly keys: number;
  readonly txns: number;
  readonly opens: number;
  readonly openCpuMs: number;
  readonly closeCpuMs: number;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** The population image plus `txns` committed, unclosed transactions: what a crash leaves. */
export async function crashedImage(keys: number, txns: number, seed: number): Promise<CrashImage> {
  const start = await populate(keys, seed);
  const vfs = FaultyVfs.fromImage(start.image);
  const db = await ColumnFamilyDatabase.open(vfs, BENCH_OPTIONS);
  const family = await db.columnFamily(familyName(0));
  const prng = new Prng(seed);
  for (let t = 0; t < txns; t++) {
    const txn = await family.beginWrite();
    for (let o = 0; o < 4; o++) txn.openTable('t0').insert(keyOf(prng.below(keys + 1)), Uint8Array.of(t, o));
    await txn.commit();
  }
  return vfs.crashImage({ survival: 'none', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 0 });
}

export async function measure(keys: number, txns: number, opens: number): Promise<Row> {
  const image = await crashedImage(keys, txns, 1);
  let openCpuMs = 0;
  let closeCpuMs = 0;
  for (let i = 0; i < opens; i++) {
    const vfs = FaultyVfs.fromImage(image);
    const before = cpuMs();
    const db = await ColumnFamilyDatabase.open(vfs, BENCH_OPTIONS);
    const opened = cpuMs();
    await db.close();
    closeCpuMs += cpuMs() - opened;
    openCpuMs += opened - before;
  }
  return { keys, txns, opens, openCpuMs: openCpuMs / opens, closeCpuMs: closeCpuMs / opens };
}

function list(text: string | undefined, fallback: number[]): number[] {
  if (text === undefined) return fallback;
  const values = text.split(',').map(Number);
  if (!values.every((v) => Number.isSafeInteger(v) && v >= 1)) throw new BenchUsageError(`expected positive integers, not ${text}`);
  return values;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const keysList = list(flag('--keys'), [100, 1_000, 10_000, 100_000]);
  const txns = list(flag('--txns'), [16])[0]!;
  const opens = list(flag('--opens'), [200])[0]!;
  console.log(`crashlab recovery bench: ${txns} logged transactions replayed per open, ${opens} opens per row, options ${JSON.stringify(BENCH_OPTIONS)}`);
  console.log(`${'keys'.padStart(8)} ${'open cpu-ms'.padStart(12)} ${'close cpu-ms'.padStart(12)} ${'opens/cpu-s'.padStart(12)}`);
  const rows: Row[] = [];
  for (const keys of keysList) {
    const row = await measure(keys, txns, opens);
    rows.push(row);
    const perSecond = 1000 / (row.openCpuMs + row.closeCpuMs);
    console.log(`${String(keys).padStart(8)} ${row.openCpuMs.toFixed(3).padStart(12)} ${row.closeCpuMs.toFixed(3).padStart(12)} ${perSecond.toFixed(0).padStart(12)}`);
  }
  if (argv.includes('--json')) console.log(JSON.stringify({ bench: 'recovery', node: process.version, txns, opens, rows }));
}

await benchMain(import.meta.url, main);
