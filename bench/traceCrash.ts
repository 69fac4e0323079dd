// Benchmark: crash images over a file-system trace (fault/traceCrash.ts), per model and trace
// shape: figures only, never assertions.
//
// Usage: node dist/bench/traceCrash.js [--events 200] [--images 20] [--json]
//
// Each row builds a trace of about E events in the shape a JSON-file store leaves (per
// transaction: issued, create a temp file, write 1-4 KiB to it, rename it over the database,
// acked), either with no fsync at all (lowdb: every op stays pending, the worst case) or with
// the correct fsyncs (file, then directory: the pending list stays short); or an append-only log
// (nedb: one file, each transaction appends 100-400 bytes and fsyncs it, the directory never
// fsynced, so under posix the create stays pending for ever). It then feeds the
// trace to one TraceCrashModel and takes I images at every crash point, the plans cycling over
// every survival, tear, sector size and seed, as a campaign does. The figure is images per
// CPU second, the trace feeding included.
import { Prng } from '../fault/prng.js';
import type { TraceEvent } from '../fault/trace.js';
import { FS_MODELS, TraceCrashModel, type FsModelName, type TraceCrashPlan } from '../fault/traceCrash.js';
import { benchMain, BenchUsageError } from './benchMain.js';

type Shape = 'no-fsync' | 'fsync' | 'append-log';
const SHAPES: readonly Shape[] = ['no-fsync', 'fsync', 'append-log'];

interface Row {
  readonly model: FsModelName;
  readonly shape: Shape;
  readonly events: number;
  readonly images: number;
  readonly cpuMs: number;
}

function cpuMs(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
}

/** A JSON-file store's trace: temp file, write, rename over the database, per transaction. */
export function storeTrace(eventsWanted: number, synced: boolean, seed: number): TraceEvent[] {
  const prng = new Prng(seed);
  const events: TraceEvent[] = [];
  let ino = 1;
  for (let txn = 0; events.length < eventsWanted; txn += 1) {
    ino += 1;
    events.push({ kind: 'marker', marker: 'issued', txn });
    events.push({ kind: 'create', path: 'db.json.tmp', ino });
    events.push({ kind: 'write', ino, offsetBytes: 0, data: new Uint8Array(1024 + prng.below(3072)).fill(txn & 0xff) });
    if (synced) events.push({ kind: 'fsync', ino, dataOnly: false });
    events.push({ kind: 'rename', from: 'db.json.tmp', to: 'db.json' });
    if (synced) events.push({ kind: 'fsync', ino: 0, dataOnly: false });
    events.push({ kind: 'marker', marker: 'acked', txn });
  }
  return events.slice(0, eventsWanted);
}

/** An append-only log fsynced after every append, its directory never. */
export function appendTrace(eventsWanted: number, seed: number): TraceEvent[] {
  const prng = new Prng(seed);
  const events: TraceEvent[] = [{ kind: 'create', path: 'log.db', ino: 1 }];
  let sizeBytes = 0;
  for (let txn = 0; events.length < eventsWanted; txn += 1) {
    const data = new Uint8Array(100 + prng.below(300)).fill(txn & 0xff);
    events.push({ kind: 'marker', marker: 'issued', txn });
    events.push({ kind: 'write', ino: 1, offsetBytes: sizeBytes, data });
    events.push({ kind: 'fsync', ino: 1, dataOnly: true });
    events.push({ kind: 'marker', marker: 'acked', txn });
    sizeBytes += data.length;
  }
  return events.slice(0, eventsWanted);
}

function plans(count: number): TraceCrashPlan[] {
  const survivals = ['none', 'all', 'prefix', 'subset'] as const;
  return Array.from({ length: count }, (_, i) => ({
    survival: survivals[i % 4]!, tear: i % 3 === 0, sectorBytes: i % 5 === 0 ? 4096 : 512, atomicSector: i % 2 === 0, seed: i * 7919 + 1,
  }));
}

export function measure(model: FsModelName, shape: Row['shape'], eventsWanted: number, imagesPerPoint: number): Row {
  const events = shape === 'append-log' ? appendTrace(eventsWanted, 1) : storeTrace(eventsWanted, shape === 'fsync', 1);
  const crashPlans = plans(imagesPerPoint);
  const before = cpuMs();
  const crashModel = new TraceCrashModel(model);
  let images = 0;
  let bytes = 0;
  for (let crashAt = 0; crashAt <= events.length; crashAt += 1) {
    for (const crashPlan of crashPlans) {
      bytes += crashModel.image(crashPlan).image.files.size;
      images += 1;
    }
    if (crashAt < events.length) crashModel.apply(events[crashAt]!);
  }
  const cpuMsUsed = cpuMs() - before;
  if (bytes < 0) throw new Error('unreachable: keeps the images alive');
  return { model, shape, events: events.length, images, cpuMs: cpuMsUsed };
}

function positive(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new BenchUsageError(`expected a positive integer, not ${text}`);
  return value;
}

function main(): void {
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const eventsWanted = positive(flag('--events'), 200);
  const imagesPerPoint = positive(flag('--images'), 20);
  console.log(`crashlab trace crash bench: ${eventsWanted}-event traces, ${imagesPerPoint} images per crash point`);
  console.log(`${'model'.padEnd(6)} ${'shape'.padEnd(10)} ${'images'.padStart(8)} ${'cpu-ms'.padStart(9)} ${'images/cpu-s'.padStart(13)}`);
  const rows: Row[] = [];
  for (const model of FS_MODELS) {
    for (const shape of SHAPES) {
      const row = measure(model, shape, eventsWanted, imagesPerPoint);
      rows.push(row);
      const perSecond = row.images / (row.cpuMs / 1000);
      console.log(`${model.padEnd(6)} ${shape.padEnd(10)} ${String(row.images).padStart(8)} ${row.cpuMs.toFixed(1).padStart(9)} ${perSecond.toFixed(0).padStart(13)}`);
    }
  }
  if (argv.includes('--json')) console.log(JSON.stringify({ bench: 'traceCrash', node: process.version, eventsWanted, imagesPerPoint, rows }));
}

await benchMain(import.meta.url, main);
