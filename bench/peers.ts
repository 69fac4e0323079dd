// Benchmark: crashlab's engine against the stores Node users pick (lmdb, better-sqlite3,
// classic-level, @nxtedition/rocksdb) and a hand-written append-only log, on the same workloads,
// interleaved (every store once per workload per round), each job in a child process of its own.
// Figures only, never assertions.
//
// Usage: node dist/bench/peers.js [--rounds N] [--keyspaces N] [--commits N] [--batch N] [--gets N]
//        [--only store,store] [--no-install] [--no-strace] [--json]
// The peers live in bench/peers/node_modules, installed on demand (npm ci --prefix bench/peers).
// With --json the last line printed is one JSON object: { config, results, ratios }.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRASHLAB_STORES, DEFAULT_PEERS_DIR, PEER_PACKAGES, STORES, type StoreName } from './peerStores.js';
import type { Job, JobKind, JobResult, WorkerReply } from './peerWorker.js';
import { DEFAULT_SIZE, KEY_BYTES, UNITS, VALUE_BYTES, WORKLOADS, isWriteWorkload, keysPerKeyspace, type WorkloadName, type WorkloadSize } from './peerWorkload.js';
import { positiveInteger } from './positiveInteger.js';
import { benchMain, BenchUsageError } from './benchMain.js';

const WORKER_PATH = fileURLToPath(new URL('./peerWorker.js', import.meta.url));

export interface SuiteOptions {
  readonly stores: readonly StoreName[];
  readonly rounds: number;
  readonly size: WorkloadSize;
  readonly peersDir: string;
  /** Count the peers' fsyncs with one extra, untimed strace run of each write workload. */
  readonly strace: boolean;
  readonly timeoutMs: number;
  /** Progress lines (to stderr in the command, so stdout is the configuration, the tables and the JSON). */
  readonly log: (line: string) => void;
}

export interface ResultRow {
  readonly store: StoreName;
  readonly workload: WorkloadName;
  readonly median: number | null;
  readonly min: number | null;
  readonly max: number | null;
  readonly unit: string;
  /** The highest peak RSS of the rounds' child processes. */
  readonly rssBytes: number | null;
  readonly fsyncsPerCommit: number | null;
  /**
   * The durable writes only: bytes the store's folder takes on disk (allocated blocks, every
   * file, after close) per logical byte written (keys and values), the median over rounds.
   */
  readonly diskBytesPerLogicalByte: number | null;
  /** Rounds that produced a figure. */
  readonly rounds: number;
  readonly error?: string;
}

/** ratios[peer][workload]: crashlab's best configuration divided by the peer (above 1: crashlab is faster). */
export type Ratios = Record<string, Partial<Record<WorkloadName, number | null>>>;

export interface Summary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summarize wants at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export function computeRatios(rows: readonly ResultRow[]): Ratios {
  const ratios: Ratios = {};
  for (const workload of WORKLOADS) {
    const medians = rows.filter((row) => row.workload === workload && CRASHLAB_STORES.includes(row.store))
      .map((row) => row.median).filter((median): median is number => median !== null);
    const best = medians.length === 0 ? null : Math.max(...medians);
    for (const row of rows) {
      if (row.workload !== workload || CRASHLAB_STORES.includes(row.store)) continue;
      const perPeer = ratios[row.store] ??= {};
      perPeer[workload] = best === null || row.median === null || row.median <= 0 ? null : best / row.median;
    }
  }
  return ratios;
}

/**
 * fsync and fdatasync calls of an `strace -f -o` log between the worker's two getpriority
 * markers (the timed part); null when the markers are not both there.
 */
export function countSyncsBetweenMarkers(trace: string): number | null {
  let markers = 0;
  let syncs = 0;
  for (const line of trace.split('\n')) {
    if (/\bgetpriority\(/.test(line)) {
      if (++markers === 2) return syncs;
    } else if (markers === 1 && /\b(?:fsync|fdatasync)\(/.test(line)) {
      syncs++;
    }
  }
  return null;
}

/** Runs one job in a child process; a crash, a timeout or a missing reply becomes an error reply. */
export function runWorker(job: Job, timeoutMs: number, tracePath?: string): Promise<WorkerReply> {
  const workerArgs = [WORKER_PATH, JSON.stringify(job)];
  const [command, args] = tracePath === undefined
    ? [process.execPath, workerArgs]
    // --seccomp-bpf stops the process only at the traced calls, so everything else runs at full speed.
    : ['strace', ['-f', '--seccomp-bpf', '-qq', '-e', 'trace=fsync,fdatasync,getpriority', '-o', tracePath, process.execPath, ...workerArgs]];
  return new Promise((resolve) => {
    // The child's stdout goes to our stderr: a native library's chatter must not end up after the JSON line.
    const child = spawn(command, args, { stdio: ['ignore', 2, 2, 'ipc'] });
    let reply: WorkerReply | null = null;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (message) => {
      reply = message as WorkerReply;
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, error: `could not start ${command}: ${error.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ ok: false, error: `timed out after ${timeoutMs / 1000} s` });
      else resolve(reply ?? { ok: false, error: signal !== null ? `worker killed by ${signal}` : `worker exited with code ${String(code)} without a reply` });
    });
  });
}

interface Samples {
  readonly results: JobResult[];
  readonly errors: string[];
  /** Allocated bytes of the store's folder after each round's durable writes. */
  readonly diskBytes: number[];
}

/** Allocated bytes (st_blocks) of every file under `directory`. */
export function allocatedBytes(directory: string): number {
  let total = 0;
  for (const entry of fs.readdirSync(directory, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += fs.statSync(path.join(entry.parentPath, entry.name)).blocks * 512;
  }
  return total;
}

/** Keys and values the durable writes put: what the space figure divides by. */
export function logicalBytes(size: WorkloadSize): number {
  return size.keyspaces * keysPerKeyspace(size) * (KEY_BYTES + VALUE_BYTES);
}

const sampleKey = (store: StoreName, workload: WorkloadName): string => `${store}|${workload}`;

/** Which stores run here: a tiny probe job each; the reason for each that does not. */
async function probeStores(options: SuiteOptions, root: string): Promise<Map<StoreName, string>> {
  const unavailable = new Map<StoreName, string>();
  for (const store of options.stores) {
    const job: Job = { store, workload: 'probe', directory: path.join(root, `probe-${store}`), size: options.size, peersDir: options.peersDir };
    const reply = await runWorker(job, options.timeoutMs);
    if (!reply.ok) {
      unavailable.set(store, reply.error);
      options.log(`${store}: unavailable: ${reply.error}`);
    }
  }
  return unavailable;
}

function rateOf(result: JobResult): number {
  return result.operations / (result.elapsedMs / 1000);
}

async function runRound(options: SuiteOptions, stores: readonly StoreName[], roundDir: string, round: number,
  samples: Map<string, Samples>): Promise<void> {
  const wrote = new Set<StoreName>();
  for (const workload of WORKLOADS) {
    for (const store of stores) {
      const entry = samples.get(sampleKey(store, workload))!;
      // The reads reopen what this round's durable writes left: the same data for every store.
      const dataWorkload: JobKind = isWriteWorkload(workload) ? workload : 'durable-writes';
      if (!isWriteWorkload(workload) && !wrote.has(store)) {
        entry.errors.push('no data: the durable writes failed in this round');
        continue;
      }
      const directory = path.join(roundDir, `${store}-${dataWorkload}`);
      const reply = await runWorker({ store, workload, directory, size: options.size, peersDir: options.peersDir }, options.timeoutMs);
      if (reply.ok) {
        entry.results.push(reply.result);
        if (workload === 'durable-writes') {
          wrote.add(store);
          entry.diskBytes.push(allocatedBytes(directory));
        }
        options.log(`round ${round}: ${store} ${workload}: ${Math.round(rateOf(reply.result))} ${UNITS[workload]}`);
      } else {
        entry.errors.push(reply.error);
        options.log(`round ${round}: ${store} ${workload}: FAILED: ${reply.error}`);
      }
      // Only the durable writes' data is read later; drop the rest at once (disk space).
      if (workload === 'nondurable-writes') fs.rmSync(directory, { recursive: true, force: true });
    }
  }
}

function straceAvailable(): boolean {
  return spawnSync('strace', ['-V'], { stdio: 'ignore' }).status === 0;
}

/** fsyncs per commit under strace, for the stores that do not count their own; untimed. */
async function straceFsyncs(options: SuiteOptions, stores: readonly StoreName[], root: string,
  samples: Map<string, Samples>): Promise<Map<string, number>> {
  const counted = new Map<string, number>();
  for (const workload of WORKLOADS.filter(isWriteWorkload)) {
    for (const store of stores) {
      const entry = samples.get(sampleKey(store, workload))!;
      if (entry.results.length === 0 || entry.results.some((result) => result.fsyncs !== null)) continue;
      const directory = path.join(root, 'strace', `${store}-${workload}`);
      const tracePath = `${directory}.trace`;
      fs.mkdirSync(path.dirname(tracePath), { recursive: true });
      const reply = await runWorker({ store, workload, directory, size: options.size, peersDir: options.peersDir }, options.timeoutMs, tracePath);
      const syncs = reply.ok && fs.existsSync(tracePath) ? countSyncsBetweenMarkers(fs.readFileSync(tracePath, 'utf8')) : null;
      if (reply.ok && syncs !== null) counted.set(sampleKey(store, workload), syncs / reply.result.commits);
      else options.log(`strace ${store} ${workload}: no count (${reply.ok ? 'markers missing' : reply.error})`);
      fs.rmSync(directory, { recursive: true, force: true });
      fs.rmSync(tracePath, { force: true });
    }
  }
  return counted;
}

function rowOf(store: StoreName, workload: WorkloadName, samples: Samples | undefined, unavailable: string | undefined,
  straced: number | undefined, rounds: number, logical: number): ResultRow {
  const empty = { store, workload, median: null, min: null, max: null, unit: UNITS[workload], rssBytes: null, fsyncsPerCommit: null, diskBytesPerLogicalByte: null, rounds: 0 };
  if (unavailable !== undefined) return { ...empty, error: `unavailable: ${unavailable}` };
  const results = samples?.results ?? [];
  const errors = samples?.errors ?? [];
  const error = errors.length > 0 ? `${errors.length} of ${rounds} rounds failed: ${errors[0]}` : undefined;
  if (results.length === 0) return { ...empty, ...(error === undefined ? {} : { error }) };
  const ownCounts = results.flatMap((result) => (result.fsyncs === null ? [] : [result.fsyncs / result.commits]));
  return {
    ...empty,
    ...summarize(results.map(rateOf)),
    rssBytes: Math.max(...results.map((result) => result.rssBytes)),
    fsyncsPerCommit: !isWriteWorkload(workload) ? null : ownCounts.length > 0 ? summarize(ownCounts).median : straced ?? null,
    diskBytesPerLogicalByte: samples === undefined || samples.diskBytes.length === 0 ? null : summarize(samples.diskBytes).median / logical,
    rounds: results.length,
    ...(error === undefined ? {} : { error }),
  };
}

/** Probes, runs the rounds, counts fsyncs: one row per store and workload, unavailable stores included. */
export async function runSuite(options: SuiteOptions): Promise<{ rows: ResultRow[]; ratios: Ratios }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-peers-'));
  const samples = new Map<string, Samples>();
  for (const store of options.stores) for (const workload of WORKLOADS) samples.set(sampleKey(store, workload), { results: [], errors: [], diskBytes: [] });
  try {
    const unavailable = await probeStores(options, root);
    const stores = options.stores.filter((store) => !unavailable.has(store));
    for (let round = 1; round <= options.rounds; round++) {
      const roundDir = path.join(root, `round-${round}`);
      await runRound(options, stores, roundDir, round, samples);
      fs.rmSync(roundDir, { recursive: true, force: true });
    }
    const straced = options.strace && straceAvailable() ? await straceFsyncs(options, stores, root, samples) : new Map<string, number>();
    const rows = options.stores.flatMap((store) => WORKLOADS.map((workload) => rowOf(store, workload,
      samples.get(sampleKey(store, workload)), unavailable.get(store), straced.get(sampleKey(store, workload)), options.rounds, logicalBytes(options.size))));
    return { rows, ratios: computeRatios(rows) };
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Output.

const integer = (value: number): string => Math.round(value).toLocaleString('en-US');
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

export function formatTable(rows: readonly ResultRow[], size: WorkloadSize): string {
  const puts = integer(size.keyspaces * size.commits * size.batch);
  const titles: Record<WorkloadName, string> = {
    'durable-writes': `(a) durable writes: ${size.keyspaces} keyspaces x ${size.commits} commits x ${integer(size.batch)} puts (${puts}), every commit durable`,
    'nondurable-writes': `(b) non-durable writes: the same, commits acknowledged before they are durable`,
    'random-gets': `(c) random gets: ${integer(size.gets)} uniform point gets after reopen`,
    'full-scan': `(d) full scan: every key of every keyspace, in key order, after reopen`,
  };
  const lines: string[] = [];
  for (const workload of WORKLOADS) {
    lines.push('', titles[workload], `  ${'store'.padEnd(20)}${`median ${UNITS[workload]}`.padStart(16)}${'min - max'.padStart(24)}`
      + `${'fsyncs/commit'.padStart(15)}${'peak RSS'.padStart(10)}${workload === 'durable-writes' ? 'disk/logical'.padStart(14) : ''}`);
    for (const row of rows.filter((candidate) => candidate.workload === workload)) {
      const figures = row.median === null ? ''
        : `${integer(row.median).padStart(16)}${`${integer(row.min ?? 0)} - ${integer(row.max ?? 0)}`.padStart(24)}`
          + `${(row.fsyncsPerCommit === null ? '-' : row.fsyncsPerCommit.toFixed(2)).padStart(15)}`
          + `${(row.rssBytes === null ? '-' : mib(row.rssBytes)).padStart(10)}`
          + (workload === 'durable-writes' ? `${(row.diskBytesPerLogicalByte === null ? '-' : `${row.diskBytesPerLogicalByte.toFixed(2)}x`).padStart(14)}` : '');
      lines.push(`  ${row.store.padEnd(20)}${figures}${row.error === undefined ? '' : `  ${row.error}`}`);
    }
  }
  return lines.join('\n');
}

export function formatRatios(ratios: Ratios): string {
  const lines = ['', "crashlab's best configuration / peer (above 1: crashlab is faster)",
    `  ${'peer'.padEnd(20)}${WORKLOADS.map((workload) => workload.padStart(19)).join('')}`];
  for (const [peer, perWorkload] of Object.entries(ratios)) {
    const cells = WORKLOADS.map((workload) => {
      const ratio = perWorkload[workload];
      return (ratio === undefined || ratio === null ? '-' : `${ratio.toFixed(2)}x`).padStart(19);
    });
    lines.push(`  ${peer.padEnd(20)}${cells.join('')}`);
  }
  return lines.join('\n');
}

/** The --json line: every row (the fields the issue names, plus fsyncsPerCommit and any error) and the ratios. */
export function jsonLine(rows: readonly ResultRow[], ratios: Ratios, config: object): string {
  const results = rows.map(({ store, workload, median, min, max, unit, rssBytes, fsyncsPerCommit, diskBytesPerLogicalByte, rounds, error }) => (
    { store, workload, median, min, max, unit, rssBytes, fsyncsPerCommit, diskBytesPerLogicalByte, rounds, ...(error === undefined ? {} : { error }) }));
  return JSON.stringify({ config, results, ratios });
}

// ---------------------------------------------------------------------------------------------
// The command.

interface Arguments {
  readonly rounds: number;
  readonly size: WorkloadSize;
  readonly stores: readonly StoreName[];
  readonly install: boolean;
  readonly strace: boolean;
  readonly json: boolean;
}

const USAGE = '[--rounds N] [--keyspaces N] [--commits N] [--batch N] [--gets N] [--only store,store] [--no-install] [--no-strace] [--json]';

export function parseArguments(argv: readonly string[]): Arguments {
  const parsed = { rounds: 3, ...DEFAULT_SIZE, stores: [...STORES] as StoreName[], install: true, strace: true, json: false };
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i];
    if (argument === '--json') parsed.json = true;
    else if (argument === '--no-install') parsed.install = false;
    else if (argument === '--no-strace') parsed.strace = false;
    else if (argument === '--only') parsed.stores = parseStores(argv[++i]);
    else if (argument === '--rounds' || argument === '--keyspaces' || argument === '--commits' || argument === '--batch' || argument === '--gets') {
      parsed[argument.slice(2) as 'rounds' | 'keyspaces' | 'commits' | 'batch' | 'gets'] = positiveInteger(argument, argv[++i]);
    } else {
      throw new BenchUsageError(`unknown argument ${String(argument)} (usage: ${USAGE})`);
    }
  }
  if (parsed.keyspaces > 255) throw new BenchUsageError('--keyspaces wants at most 255 (the append-only log stores the keyspace in one byte)');
  const { rounds, keyspaces, commits, batch, gets, stores, install, strace, json } = parsed;
  return { rounds, size: { keyspaces, commits, batch, gets }, stores, install, strace, json };
}

function parseStores(text: string | undefined): StoreName[] {
  const names = (text ?? '').split(',').map((name) => name.trim()).filter((name) => name.length > 0);
  const unknown = names.filter((name) => !(STORES as readonly string[]).includes(name));
  if (names.length === 0 || unknown.length > 0) throw new BenchUsageError(`--only wants store names among ${STORES.join(', ')}; not ${unknown.join(', ') || '(none)'}`);
  return STORES.filter((store) => names.includes(store));
}

/** npm ci into bench/peers when its node_modules is missing; a failed install leaves the peers unavailable, not the run. */
function ensurePeersInstalled(peersDir: string): string {
  if (fs.existsSync(path.join(peersDir, 'node_modules', '.package-lock.json'))) return 'already installed';
  console.error(`installing the peers: npm ci --prefix ${peersDir} (native modules; better-sqlite3 may build from source, minutes)`);
  const startMs = performance.now();
  const result = spawnSync('npm', ['ci', '--prefix', peersDir, '--no-audit', '--no-fund'], { stdio: ['ignore', 2, 2] });
  const seconds = ((performance.now() - startMs) / 1000).toFixed(0);
  return result.status === 0 ? `installed in ${seconds} s` : `npm ci failed after ${seconds} s (${result.error?.message ?? `exit ${String(result.status)}`})`;
}

function peerVersions(peersDir: string): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const packageName of Object.values(PEER_PACKAGES)) {
    try {
      const manifest = JSON.parse(fs.readFileSync(path.join(peersDir, 'node_modules', packageName, 'package.json'), 'utf8')) as { version?: string };
      versions[packageName] = manifest.version ?? 'unknown';
    } catch {
      versions[packageName] = 'not installed';
    }
  }
  return versions;
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const install = args.install ? ensurePeersInstalled(DEFAULT_PEERS_DIR) : 'not attempted (--no-install)';
  const config = {
    bench: 'peers', date: new Date().toISOString(), node: process.version, platform: `${os.platform()} ${os.arch()}`,
    cpus: os.cpus().length, tmpdir: os.tmpdir(), rounds: args.rounds, ...args.size, keyBytes: 8, valueBytes: 150,
    stores: args.stores, peers: peerVersions(DEFAULT_PEERS_DIR), install,
  };
  console.log(`bench:peers: ${args.stores.join(', ')}; ${args.rounds} rounds, interleaved, each job in its own process`);
  console.log(`  writes: ${args.size.keyspaces} keyspaces x ${args.size.commits} commits x ${args.size.batch} puts, 8-byte keys, 150-byte values; `
    + `${args.size.gets} random gets; full scans`);
  console.log(`  ${config.node}, ${config.platform}, ${config.cpus} cpus, files in ${config.tmpdir}; peers (${install}): `
    + Object.entries(config.peers).map(([name, version]) => `${name} ${version}`).join(', '));
  const { rows, ratios } = await runSuite({
    stores: args.stores, rounds: args.rounds, size: args.size, peersDir: DEFAULT_PEERS_DIR, strace: args.strace,
    timeoutMs: 15 * 60_000, log: (line) => console.error(line),
  });
  console.log(formatTable(rows, args.size));
  console.log(formatRatios(ratios));
  if (args.json) console.log(jsonLine(rows, ratios, config));
}

await benchMain(import.meta.url, main);
