/**
 * Base databases: a case may start from a durable, checkpointed database of many keys
 * (Workload.base) instead of an empty directory, so that its few transactions work on a tree of
 * real depth. Each base is built once per engine and configuration (what shapes the file: the
 * store, the families, the page size, the log, the segment and pre-allocation sizes, the base
 * itself) and shared between cases copy on write (FaultyVfs.fromImage forks it), so a large
 * tree costs its building once, not once per case.
 *
 * Deterministic: the same configuration builds byte-equal files (the engine is deterministic
 * and no fault is injected while building).
 */
import type { ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import { FaultyVfs, type CrashPlan } from '../fault/faultyVfs.js';
import type { ModelOp } from '../model/commitHistory.js';
import type { EngineUnderTest } from '../recovery/checkImage.js';
import type { CaseStart } from './crashCase.js';
import { familyName, type Workload } from './crashWorkload.js';
import { engineForWorkload } from './singleFileStore.js';
import { bulkKey } from './workloadShapes.js';

/** The table a base fills (the workloads' first table, so their operations meet its keys). */
export const BASE_TABLE = 't0';
/** Keys per commit while building: a few large commits, not one huge one. */
const KEYS_PER_COMMIT = 2_000;
/** A generous write buffer while building (the file's bytes do not depend on it): fewer evictions, faster builds. */
const BUILD_BUFFER_BYTES = 8 * 1024 * 1024;
/** Everything was synced by the clean close: what is kept of unsynced writes does not matter. */
const CLOSED: CrashPlan = { survival: 'all', tear: false, sectorBytes: 4096, atomicSector: true, keepUnsyncedDirOps: true, seed: 0 };

const built = new WeakMap<EngineUnderTest, Map<string, Promise<CaseStart>>>();

/** The options that shape the base's file; the rest (buffer, barrier, windows) only shape the run. */
function configuration(workload: Workload): string {
  const { pageBytes, wal, initialSegmentBytes, preallocateBytes } = workload.options;
  return JSON.stringify([workload.store ?? 'families', workload.families, pageBytes, wal, initialSegmentBytes, preallocateBytes, workload.base]);
}

/** The start of a case whose workload names a base (built on first use, then shared). */
export function baseStart(engine: EngineUnderTest, workload: Workload): Promise<CaseStart> {
  let byConfiguration = built.get(engine);
  if (byConfiguration === undefined) {
    byConfiguration = new Map();
    built.set(engine, byConfiguration);
  }
  const key = configuration(workload);
  let start = byConfiguration.get(key);
  if (start === undefined) {
    start = buildBase(engine, workload);
    byConfiguration.set(key, start);
  }
  return start;
}

/** The ops that fill one family's base, in the commits the build makes (the model has the same commits). */
function baseCommits(workload: Workload): ModelOp[][] {
  const ops = baseOps(workload);
  const commits: ModelOp[][] = [];
  for (let from = 0; from < ops.length; from += KEYS_PER_COMMIT) commits.push(ops.slice(from, from + KEYS_PER_COMMIT));
  return commits;
}

function baseOps(workload: Workload): ModelOp[] {
  const base = workload.base!;
  const ops: ModelOp[] = [{ op: 'create', table: BASE_TABLE }];
  for (let i = 0; i < base.keys; i++) {
    const value = new Uint8Array(base.valueBytes).fill(i & 0xff);
    ops.push({ op: 'insert', table: BASE_TABLE, key: bulkKey(i, base.widthBytes), value });
  }
  return ops;
}

async function buildBase(engineGiven: EngineUnderTest, workload: Workload): Promise<CaseStart> {
  const engine = engineForWorkload(engineGiven, workload);
  const vfs = new FaultyVfs();
  const options: ColumnFamilyOptions = { ...workload.options, writeBufferBytes: BUILD_BUFFER_BYTES };
  const db = await engine.ColumnFamilyDatabase.open(vfs, options);
  const byCommit = baseCommits(workload);
  // One model commit per engine commit: damage that sends a family back to an older header
  // slot recovers a state after some of them, which the oracle must know as a prefix.
  const commits: Array<{ family: string; ops: ModelOp[] }> = [];
  for (let f = 0; f < workload.families; f++) {
    const family = await db.columnFamily(familyName(f));
    for (const ops of byCommit) {
      const txn = await family.beginWrite();
      for (const op of ops) {
        if (op.op === 'create') txn.openTable(op.table);
        else if (op.op === 'insert') txn.openTable(op.table).insert(op.key, op.value);
      }
      await txn.commit();
      commits.push({ family: familyName(f), ops });
    }
  }
  await db.checkpoint();
  await db.close();
  return { image: vfs.crashSnapshot(CLOSED).image, commits };
}
