// Benchmark: the harness's own throughput, crash images checked per second (figures only, never assertions).
//
// Usage: node dist/bench/harness.js [--seed N] [--cases N] [--keys 100,1000,10000] [--txns 4,16,64] [--campaign-runs N] [--json]
//
// Each cell of the table is a database of K keys (built once, durable, the model knowing its
// commits) and, from it, a number of crash cases of T transactions each: one run on the
// in-memory FaultyVfs with crash images sampled at its I/O events (the default profile's
// count), each image recovered, integrity-checked, read and classified, exactly as a drawn case
// is (runCrashCase). Everything is derived from the seed (no Math.random); only the stopwatch is
// real. A last row runs the default-profile campaign itself (drawn cases, with injected errors,
// corruption and crashes during recovery). Each row splits its time by stage (StageProbe).
// With --json the last line printed is one JSON object holding every figure.
import os from 'node:os';
import { PerformanceObserver } from 'node:perf_hooks';
import * as referenceEngine from '../engine/index.js';
import type { ColumnFamilyOptions } from '../engine/index.js';
import { FaultyVfs, type CrashPlan } from '../fault/faultyVfs.js';
import { Prng } from '../fault/prng.js';
import type { ModelOp } from '../model/commitHistory.js';
import type { Stage, StageProbe } from '../recovery/checkImage.js';
import { PROFILES } from '../properties/crashArbitraries.js';
import { runCrashCase, type CaseStart, type CrashCase } from '../properties/crashCase.js';
import { familyName, type Step, type Workload } from '../properties/crashWorkload.js';
import { runCrashCampaign } from '../properties/runCrash.js';
import { benchMain, BenchUsageError } from './benchMain.js';

export const STAGES: readonly Stage[] = [
  'workload', 'capture', 'mount', 'recovery-crash', 'open', 'integrity', 'read-state', 'close', 'classify', 'second-life', 'other',
];

/** One engine configuration for every cell: a shared WAL, pages written at each commit. */
export const BENCH_OPTIONS: ColumnFamilyOptions = { wal: true, barrier: 'always', pageBytes: 4096 };
const KEYS_PER_COMMIT = 1_000;
const VALUE_BYTES = 100;
const OPS_PER_TXN = 4;
const TABLE = 't0';

/** Adds the time since the last `enter` to the stage then current (the clock is injected). */
export class StageTimer implements StageProbe {
  readonly ms = new Map<Stage, number>();
  /** How many times each stage was entered ('open': the recoveries run). */
  readonly entries = new Map<Stage, number>();
  private current: Stage = 'other';
  private sinceMs: number;

  constructor(private readonly now: () => number) {
    this.sinceMs = now();
  }

  enter(stage: Stage): void {
    const nowMs = this.now();
    this.ms.set(this.current, (this.ms.get(this.current) ?? 0) + nowMs - this.sinceMs);
    if (stage !== this.current) this.entries.set(stage, (this.entries.get(stage) ?? 0) + 1);
    this.current = stage;
    this.sinceMs = nowMs;
  }

  /** Closes the stage in progress; the total is every stage's time since construction. */
  totalMs(): number {
    this.enter(this.current);
    let total = 0;
    for (const ms of this.ms.values()) total += ms;
    return total;
  }
}

export function keyOf(index: number): Uint8Array {
  const key = new Uint8Array(8);
  new DataView(key.buffer).setBigUint64(0, BigInt(index));
  return key;
}

function valueOf(prng: Prng): Uint8Array {
  const value = new Uint8Array(VALUE_BYTES);
  const fill = prng.below(256);
  for (let i = 0; i < VALUE_BYTES; i++) value[i] = (fill + i * 13) & 0xff;
  return value;
}

/** The commits that build a database of `keys` keys, KEYS_PER_COMMIT at a time. */
export function populationCommits(keys: number, seed: number): Array<{ family: string; ops: ModelOp[] }> {
  const prng = new Prng(seed);
  const commits: Array<{ family: string; ops: ModelOp[] }> = [];
  for (let first = 0; first < keys; first += KEYS_PER_COMMIT) {
    const ops: ModelOp[] = [];
    for (let i = first; i < Math.min(keys, first + KEYS_PER_COMMIT); i++) ops.push({ op: 'insert', table: TABLE, key: keyOf(i), value: valueOf(prng) });
    commits.push({ family: familyName(0), ops });
  }
  return commits;
}

/**
 * Runs the population commits (and `extra` ones after them) on a FaultyVfs and closes: the
 * durable image every case starts from.
 */
export async function populate(keys: number, seed: number, extra: ReadonlyArray<{ family: string; ops: ModelOp[] }> = []): Promise<CaseStart> {
  const commits = [...populationCommits(keys, seed), ...extra];
  const vfs = new FaultyVfs();
  const db = await referenceEngine.ColumnFamilyDatabase.open(vfs, BENCH_OPTIONS);
  const family = await db.columnFamily(familyName(0));
  for (const commit of commits) {
    const txn = await family.beginWrite();
    for (const op of commit.ops) if (op.op === 'insert') txn.openTable(op.table).insert(op.key, op.value);
    await txn.commit();
  }
  await db.close();
  // A snapshot, not a copy: every case mounts it copy on write (a plain image was copied whole
  // for each case, 12 MB at 100,000 keys, which the workload stage paid for).
  const { image } = vfs.crashSnapshot({ survival: 'none', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 0 });
  return { image, commits };
}

/** A crash case of `txns` one-transaction steps over a database of `keys` keys, all drawn from `seed`. */
export function benchCase(keys: number, txns: number, seed: number): CrashCase {
  const prng = new Prng(seed);
  const steps: Step[] = [];
  for (let t = 0; t < txns; t++) {
    const ops: ModelOp[] = [];
    for (let o = 0; o < OPS_PER_TXN; o++) {
      // A tenth of the inserts add keys past the population; one op in five removes.
      const key = keyOf(prng.below(Math.max(1, Math.ceil(keys * 1.1))));
      ops.push(prng.below(5) === 0 ? { op: 'remove', table: TABLE, key } : { op: 'insert', table: TABLE, key, value: valueOf(prng) });
    }
    steps.push({ kind: 'txns', txns: [{ family: 0, ops, durability: prng.below(4) === 0 ? 'none' : 'immediate', abort: false }] });
  }
  const workload: Workload = { families: 1, options: BENCH_OPTIONS, steps, scheduleSeed: prng.nextU32() >>> 1 };
  return { workload, plan: benchPlan(prng), errors: {}, corruption: [], imagesPerRun: PROFILES.default.imagesPerRun, recoveryCrash: null };
}

function benchPlan(prng: Prng): CrashPlan {
  const survivals = ['none', 'all', 'prefix', 'subset'] as const;
  return {
    survival: survivals[prng.below(survivals.length)]!,
    tear: prng.coin(),
    sectorBytes: prng.coin() ? 512 : 4096,
    atomicSector: prng.coin(),
    keepUnsyncedDirOps: prng.coin(),
    seed: prng.nextU32() >>> 1,
  };
}

export interface RowResult {
  readonly name: string;
  readonly keys: number | null;
  readonly txns: number | null;
  readonly cases: number;
  /** First-life crash images judged (second lives apart). */
  readonly images: number;
  /** Distinct first-life recoveries: byte-equal images of a case share one recovery and count once. */
  readonly recoveries: number;
  readonly secondLifeImages: number;
  readonly eventsPerCase: number;
  readonly seconds: number;
  /** The figure: distinct recoveries per second of first-life time (second lives' time excluded). */
  readonly imagesPerSecond: number;
  /** Process CPU time (user + system) in the row: steadier than the wall clock on a shared machine. */
  readonly cpuSeconds: number;
  /** Distinct recoveries per CPU-second of first-life time (CPU apportioned by the stages' wall time). */
  readonly imagesPerCpuSecond: number;
  /** The same figure without the engine's own open (its recovery), which the harness does not control. */
  readonly imagesPerSecondBesidesOpen: number;
  /** Milliseconds by stage; they add up to `seconds`. */
  readonly stagesMs: Readonly<Record<string, number>>;
  /** Garbage collection inside the row (overlaps the stages). */
  readonly gcMs: number;
}

/** Times `work` with a StageTimer and a GC observer, and shapes the row. */
async function timed(name: string, keys: number | null, txns: number | null,
  work: (probe: StageTimer) => Promise<{ cases: number; images: number; events: number; recoveries: number; secondLifeImages: number }>): Promise<RowResult> {
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => { for (const entry of list.getEntries()) gcMs += entry.duration; });
  observer.observe({ entryTypes: ['gc'] });
  const timer = new StageTimer(() => performance.now());
  const cpuBefore = process.cpuUsage();
  const { cases, images, events, recoveries, secondLifeImages } = await work(timer);
  const totalMs = timer.totalMs();
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  for (const entry of observer.takeRecords()) gcMs += entry.duration;
  observer.disconnect();
  const stagesMs = Object.fromEntries(STAGES.map((stage) => [stage, timer.ms.get(stage) ?? 0]));
  const seconds = totalMs / 1000;
  const firstLifeMs = Math.max(1e-9, totalMs - (stagesMs['second-life'] ?? 0));
  const firstLifeCpuSeconds = cpuSeconds * (firstLifeMs / Math.max(1e-9, totalMs));
  return {
    name, keys, txns, cases, images: images - secondLifeImages, recoveries, secondLifeImages, eventsPerCase: events / Math.max(1, cases), seconds,
    imagesPerSecond: recoveries / (firstLifeMs / 1000), cpuSeconds, imagesPerCpuSecond: recoveries / firstLifeCpuSeconds,
    imagesPerSecondBesidesOpen: recoveries / (Math.max(1e-9, firstLifeMs - (stagesMs.open ?? 0)) / 1000), stagesMs, gcMs,
  };
}

async function runCell(start: CaseStart, keys: number, txns: number, cases: number, seed: number): Promise<RowResult> {
  return timed(`${keys} keys, ${txns} txns`, keys, txns, async (probe) => {
    const total = { cases, images: 0, events: 0, recoveries: 0, secondLifeImages: 0 };
    for (let c = 0; c < cases; c++) {
      const result = await runCrashCase(referenceEngine, benchCase(keys, txns, seed + c), { start, probe });
      if (result.violation !== null) throw new Error(`bench case ${seed + c} found a violation: ${result.violation.kind} ${result.violation.detail}`);
      total.images += result.images;
      total.events += result.events;
      total.recoveries += result.recoveries ?? 0;
      total.secondLifeImages += result.secondLifeImages ?? 0;
    }
    return total;
  });
}

async function runCampaignRow(seed: number, runs: number): Promise<RowResult> {
  return timed(`default campaign, ${runs} runs x 2 barriers`, null, null, async (probe) => {
    const total = { cases: runs * 2, images: 0, events: 0, recoveries: 0, secondLifeImages: 0 };
    for (const barrier of ['always', 'wal-aware'] as const) {
      const result = await runCrashCampaign({ seed, numRuns: runs, profile: 'default', barrier, probe });
      if (!result.ok) throw new Error(`the default campaign of seed ${seed} failed: ${result.failure?.violation.kind ?? 'no violation'}`);
      total.images += result.images;
      total.events += result.events;
      total.recoveries += result.recoveries ?? 0;
      total.secondLifeImages += result.secondLifeImages ?? 0;
    }
    return total;
  });
}

export interface Arguments {
  readonly seed: number;
  readonly cases: number;
  readonly campaignRuns: number;
  readonly keys: readonly number[];
  readonly txns: readonly number[];
  readonly json: boolean;
}

const USAGE = 'usage: [--seed N] [--cases N] [--campaign-runs N] [--keys 100,1000,10000] [--txns 4,16,64] [--json]';

function positiveList(text: string | undefined, flag: string): number[] {
  const values = (text ?? '').split(',').map(Number);
  if (values.length === 0 || !values.every((v) => Number.isSafeInteger(v) && v >= 1)) throw new BenchUsageError(`${flag} wants positive integers, not ${text ?? 'nothing'} (${USAGE})`);
  return values;
}

export function parseArguments(argv: readonly string[]): Arguments {
  const parsed = { seed: 1, cases: 12, campaignRuns: 100, keys: [100, 1_000, 10_000, 100_000], txns: [4, 16, 64], json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--json') parsed.json = true;
    else if (flag === '--seed') parsed.seed = positiveList(argv[++i], flag)[0]!;
    else if (flag === '--cases') parsed.cases = positiveList(argv[++i], flag)[0]!;
    else if (flag === '--campaign-runs') parsed.campaignRuns = positiveList(argv[++i], flag)[0]!;
    else if (flag === '--keys') parsed.keys = positiveList(argv[++i], flag);
    else if (flag === '--txns') parsed.txns = positiveList(argv[++i], flag);
    else throw new BenchUsageError(`unknown argument ${flag} (${USAGE})`);
  }
  return parsed;
}

/** One table line: the rate, then each stage's share of the row's time. */
export function formatRow(row: RowResult): string {
  const totalMs = row.seconds * 1000;
  const shares = STAGES.map((stage) => `${(totalMs > 0 ? (100 * (row.stagesMs[stage] ?? 0)) / totalMs : 0).toFixed(0).padStart(4)}%`);
  const gc = `${(totalMs > 0 ? (100 * row.gcMs) / totalMs : 0).toFixed(0).padStart(3)}%`;
  return `${row.name.padEnd(36)} ${String(row.images).padStart(6)} ${String(row.recoveries).padStart(6)} ${String(row.secondLifeImages).padStart(6)} ${row.eventsPerCase.toFixed(0).padStart(7)} `
    + `${row.imagesPerSecond.toFixed(0).padStart(8)} ${row.imagesPerCpuSecond.toFixed(0).padStart(8)} ${row.imagesPerSecondBesidesOpen.toFixed(0).padStart(8)} ${shares.join(' ')} ${gc}`;
}

/** Column titles for the stages (five characters each). */
const STAGE_TITLES: Readonly<Record<Stage, string>> = {
  'workload': 'work', 'capture': 'image', 'mount': 'mount', 'recovery-crash': 'rcrsh', 'open': 'open',
  'integrity': 'integ', 'read-state': 'read', 'close': 'close', 'classify': 'class', 'second-life': '2life', 'other': 'other',
};

export function formatHeader(): string {
  const stages = STAGES.map((stage) => STAGE_TITLES[stage].padStart(5)).join(' ');
  return `${'row'.padEnd(36)} ${'images'.padStart(6)} ${'recov'.padStart(6)} ${'2life'.padStart(6)} ${'ev/case'.padStart(7)} ${'recov/s'.padStart(8)} ${'r/cpu-s'.padStart(8)} ${'r/s-open'.padStart(8)} ${stages} ${'gc'.padStart(4)}`;
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  console.log(`crashlab harness bench: seed ${args.seed}, ${args.cases} cases per cell, ${PROFILES.default.imagesPerRun} images sampled per case (default profile), `
    + `options ${JSON.stringify(BENCH_OPTIONS)}; stage columns are shares of each row's time`);
  console.log(formatHeader());
  const rows: RowResult[] = [];
  for (const keys of args.keys) {
    const start = await populate(keys, args.seed);
    for (const txns of args.txns) {
      rows.push(await runCell(start, keys, txns, args.cases, args.seed * 1_000_003 + keys + txns));
      console.log(formatRow(rows[rows.length - 1]!));
    }
  }
  rows.push(await runCampaignRow(args.seed, args.campaignRuns));
  console.log(formatRow(rows[rows.length - 1]!));
  if (args.json) {
    console.log(JSON.stringify({
      bench: 'harness', node: process.version, platform: `${os.platform()} ${os.arch()}`, cpus: os.cpus().length,
      seed: args.seed, casesPerCell: args.cases, imagesPerCase: PROFILES.default.imagesPerRun, options: BENCH_OPTIONS, rows,
    }));
  }
}

// Run only as a program: the test imports the pieces above.
await benchMain(import.meta.url, main);
