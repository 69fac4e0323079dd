// One job of bench/peers (one store, one workload, one round) in a process of its own, so the
// peak RSS is this store's alone and a native crash ends only this job. The parent passes the
// job as JSON in argv[2] and receives a WorkerReply over the IPC channel.
import fs from 'node:fs';
import os from 'node:os';
import { pathToFileURL } from 'node:url';
import { adapterFor, type PeerAdapter, type PeerStore, type StoreName } from './peerStores.js';
import {
  GET_SEED, KEY_BYTES, Prng, commitEntries, indexOfKey, keyOf, keysPerKeyspace, valueMatches, type WorkloadName, type WorkloadSize,
} from './peerWorkload.js';

/** 'probe' opens the store, writes and reads one small commit: it tells whether the store runs here at all. */
export type JobKind = WorkloadName | 'probe';

export interface Job {
  readonly store: StoreName;
  readonly workload: JobKind;
  /** The store's directory: fresh for writes; for reads, the one the same round's durable writes filled. */
  readonly directory: string;
  readonly size: WorkloadSize;
  /** Where the peer packages are installed (bench/peers). */
  readonly peersDir: string;
}

export interface JobResult {
  /** Puts, gets or scanned keys in the timed part. */
  readonly operations: number;
  readonly elapsedMs: number;
  readonly commits: number;
  /** fsyncs the store counted itself during the timed part; null when it does not count them. */
  readonly fsyncs: number | null;
  readonly rssBytes: number;
}

export type WorkerReply = { readonly ok: true; readonly result: JobResult } | { readonly ok: false; readonly error: string };

/**
 * A cheap, otherwise unused system call (getpriority) around the timed part, so that an strace
 * of this process can tell which of its fsyncs belong to the workload and not to open or close.
 */
function markPhase(): void {
  os.getPriority();
}

const peakRssBytes = (): number => process.resourceUsage().maxRSS * 1024;

function fsyncDelta(before: number | null, after: number | null): number | null {
  return before === null || after === null ? null : after - before;
}

async function writeAll(store: PeerStore, size: WorkloadSize): Promise<void> {
  // Every keyspace writes concurrently (the seed's cf_comparison); a synchronous store just
  // takes the commits in turn.
  await Promise.all(Array.from({ length: size.keyspaces }, async (_, keyspace) => {
    for (let commit = 0; commit < size.commits; commit++) await store.commit(keyspace, commitEntries(keyspace, commit, size.batch));
  }));
}

async function writeWorkload(adapter: PeerAdapter, job: Job, durable: boolean): Promise<JobResult> {
  // A small unreported run in a scratch directory first, so the timed run does not pay for JIT warm-up.
  const scratch = `${job.directory}.warmup`;
  fs.mkdirSync(scratch, { recursive: true });
  const warm = await adapter.open(scratch, { keyspaces: 2, durable });
  await writeAll(warm, { ...job.size, keyspaces: 2, commits: 3, batch: Math.min(job.size.batch, 1_000) });
  await warm.close();
  fs.rmSync(scratch, { recursive: true, force: true });

  fs.mkdirSync(job.directory, { recursive: true });
  const store = await adapter.open(job.directory, { keyspaces: job.size.keyspaces, durable });
  const fsyncsBefore = store.fsyncs();
  markPhase();
  const startMs = performance.now();
  await writeAll(store, job.size);
  const elapsedMs = performance.now() - startMs;
  markPhase();
  const fsyncs = fsyncDelta(fsyncsBefore, store.fsyncs());
  await store.close();
  const commits = job.size.keyspaces * job.size.commits;
  return { operations: commits * job.size.batch, elapsedMs, commits, fsyncs, rssBytes: peakRssBytes() };
}

/** `count` seeded uniform gets over every keyspace; returns how many missed or read a wrong value. */
async function getRandom(store: PeerStore, size: WorkloadSize, count: number, seed: number): Promise<number> {
  const prng = new Prng(seed);
  const perKeyspace = keysPerKeyspace(size);
  let wrong = 0;
  for (let i = 0; i < count; i++) {
    const keyspace = prng.below(size.keyspaces);
    const index = prng.below(perKeyspace);
    const pending = store.get(keyspace, keyOf(index));
    // Await only what is a promise: a synchronous store should not pay a microtask per get.
    const value = pending instanceof Promise ? await pending : pending;
    if (!valueMatches(value, index)) wrong++;
  }
  return wrong;
}

async function getWorkload(adapter: PeerAdapter, job: Job): Promise<JobResult> {
  const store = await adapter.open(job.directory, { keyspaces: job.size.keyspaces, durable: true });
  // Warm-up on another seed: the timed gets still find most pages cold.
  await getRandom(store, job.size, Math.min(job.size.gets, 2_000), GET_SEED + 1);
  markPhase();
  const startMs = performance.now();
  const wrong = await getRandom(store, job.size, job.size.gets, GET_SEED);
  const elapsedMs = performance.now() - startMs;
  markPhase();
  await store.close();
  if (wrong > 0) throw new Error(`${wrong} of ${job.size.gets} gets missed or read a wrong value`);
  return { operations: job.size.gets, elapsedMs, commits: 0, fsyncs: null, rssBytes: peakRssBytes() };
}

/** Scans one keyspace and checks it holds exactly keys 0..n-1 in ascending order with their values. */
async function scanKeyspace(store: PeerStore, keyspace: number, expected: number): Promise<void> {
  let count = 0;
  let misplaced = 0;
  await store.scan(keyspace, (key, value) => {
    if (key.length !== KEY_BYTES || indexOfKey(key) !== count || !valueMatches(value, count)) misplaced++;
    count++;
  });
  if (count !== expected || misplaced > 0) {
    throw new Error(`keyspace ${keyspace}: scanned ${count} of ${expected} keys, ${misplaced} out of place or wrong`);
  }
}

async function scanWorkload(adapter: PeerAdapter, job: Job): Promise<JobResult> {
  const store = await adapter.open(job.directory, { keyspaces: job.size.keyspaces, durable: true });
  const perKeyspace = keysPerKeyspace(job.size);
  markPhase();
  const startMs = performance.now();
  for (let keyspace = 0; keyspace < job.size.keyspaces; keyspace++) await scanKeyspace(store, keyspace, perKeyspace);
  const elapsedMs = performance.now() - startMs;
  markPhase();
  await store.close();
  return { operations: perKeyspace * job.size.keyspaces, elapsedMs, commits: 0, fsyncs: null, rssBytes: peakRssBytes() };
}

async function probe(adapter: PeerAdapter, job: Job): Promise<JobResult> {
  fs.mkdirSync(job.directory, { recursive: true });
  const options = { keyspaces: 1, durable: true };
  const store = await adapter.open(job.directory, options);
  await store.commit(0, commitEntries(0, 0, 10));
  await store.close();
  // Read back after a reopen, as the read workloads do.
  const reopened = await adapter.open(job.directory, options);
  try {
    const pending = reopened.get(0, keyOf(3));
    if (!valueMatches(pending instanceof Promise ? await pending : pending, 3)) throw new Error('probe: a put did not read back after reopen');
  } finally {
    await reopened.close();
  }
  return { operations: 10, elapsedMs: 0, commits: 1, fsyncs: null, rssBytes: peakRssBytes() };
}

export async function runJob(job: Job): Promise<JobResult> {
  const adapter = adapterFor(job.store, job.peersDir);
  switch (job.workload) {
    case 'durable-writes': return writeWorkload(adapter, job, true);
    case 'nondurable-writes': return writeWorkload(adapter, job, false);
    case 'random-gets': return getWorkload(adapter, job);
    case 'full-scan': return scanWorkload(adapter, job);
    case 'probe': return probe(adapter, job);
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as Job;
  let reply: WorkerReply;
  try {
    reply = { ok: true, result: await runJob(job) };
  } catch (error) {
    reply = { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  if (process.send === undefined) throw new Error('peerWorker.js runs only as a child of bench/peers (no IPC channel)');
  // Exit once the reply is out: a native store may keep a thread alive past close().
  process.send(reply, () => process.exit(0));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
