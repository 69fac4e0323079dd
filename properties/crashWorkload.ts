/**
 * A crash workload: a program of transactions over a few column families, run against the
 * engine on a FaultyVfs while the commit history (the model) records what was issued and
 * what was acknowledged. Transactions of one step run concurrently (different families), so
 * group commit really groups and the order of their acknowledgements varies with the seed.
 */
import type { ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import type { ReadTransaction, WriteTransaction } from '../engine/transaction.js';
import type { FaultyVfs } from '../fault/faultyVfs.js';
import { Prng } from '../fault/prng.js';
import { CommitHistory, statesEqual, toHex, type FamilyChange, type ModelOp } from '../model/commitHistory.js';
import { DEFAULT_PAGE_BYTES } from '../engine/format.js';
import { readState } from '../recovery/readState.js';
import type { EngineUnderTest, FamilyUnderTest, StoreUnderTest } from '../recovery/checkImage.js';
import { expandOps, keyPrefix, refused, type WorkloadOp } from './workloadShapes.js';

export interface TxnSpec {
  readonly family: number;
  /** The model's operations and bulk specs, expanded when the transaction runs (workloadShapes.ts). */
  readonly ops: readonly WorkloadOp[];
  readonly durability: 'immediate' | 'none';
  readonly abort: boolean;
}

export type Step =
  | { readonly kind: 'txns'; readonly txns: readonly TxnSpec[] }
  | { readonly kind: 'checkpoint' }
  | { readonly kind: 'reopen' }
  /** Deletes family `family` with all its data, then creates it again, empty (families store only). */
  | { readonly kind: 'drop'; readonly family: number }
  /**
   * Opens a read snapshot of family `family` and holds it across the later steps (commits,
   * checkpoints, eviction), until the workload ends or its family is reopened or dropped: then it
   * must still read exactly the family's state when it was opened, in full and over the bounded
   * range of key indices [from, to), forwards and reversed.
   */
  | { readonly kind: 'snapshot'; readonly family: number; readonly from: number; readonly to: number };

/**
 * A durable, checkpointed database a case starts from instead of an empty directory: in each
 * family, table `t0` holds keys 0..keys-1 (workloadShapes.ts `bulkKey`, `widthBytes` wide) with
 * values of `valueBytes`. Built once per configuration and shared between cases (baseDatabase.ts).
 */
export interface BaseSpec {
  readonly keys: number;
  readonly widthBytes: number;
  readonly valueBytes: number;
}

export interface Workload {
  /**
   * `families` (the default): the column-family database. `single`: the standalone
   * single-file Database as one family (properties/singleFileStore.ts; one family, no WAL).
   */
  readonly store?: 'families' | 'single' | undefined;
  readonly families: number;
  readonly options: ColumnFamilyOptions;
  readonly steps: readonly Step[];
  /** Seeds the order in which sync completions are observed. */
  readonly scheduleSeed: number;
  /** The database the case starts from; an empty directory when undefined. */
  readonly base?: BaseSpec | undefined;
}

export const familyName = (i: number): string => `cf${i}`;

/** What a workload run found besides crash images: a broken rule of the live engine. */
export interface LiveViolation {
  readonly kind: 'poisoning' | 'clean-reopen' | 'unexpected-error' | 'hang' | 'snapshot';
  readonly detail: string;
}

/** Delays each sync completion by a seeded number of microtask turns, to interleave commits. */
export function syncScheduler(seed: number): (file: string, completion: Promise<void>) => Promise<void> {
  const prng = new Prng(seed);
  return async (_file, completion) => {
    await completion;
    for (let turns = prng.below(4); turns > 0; turns--) await Promise.resolve();
  };
}

/**
 * Performs a transaction's operations through the engine's API (shared with the kill worker).
 * An insert the engine must refuse (`refused`: a key past its limit) must fail with TOO_LARGE
 * and leave the transaction usable; one it takes anyway is a harness error (the workload fails).
 */
export function applyOps(txn: WriteTransaction, ops: readonly ModelOp[], keyLimitBytes?: number): void {
  for (const op of ops) {
    if (refused(op, keyLimitBytes)) {
      expectRefused(txn, op);
      continue;
    }
    switch (op.op) {
      case 'insert': txn.openTable(op.table).insert(op.key, op.value); break;
      case 'remove': txn.openTable(op.table).remove(op.key); break;
      case 'removeRange': removeRange(txn, op.table, op.start, op.end); break;
      case 'clear': txn.openTable(op.table).clear(); break;
      case 'create': txn.openTable(op.table); break;
      case 'delete': txn.deleteTable(op.table); break;
    }
  }
}

/** The engine has no range removal: the keys of the range are read, then removed one by one. */
function removeRange(txn: WriteTransaction, name: string, start: Uint8Array | undefined, end: Uint8Array | undefined): void {
  const table = txn.openTable(name);
  const keys = [...table.range(start, end)].map(([key]) => key);
  for (const key of keys) table.remove(key);
}

function expectRefused(txn: WriteTransaction, op: ModelOp): void {
  if (op.op !== 'insert') return;
  try {
    txn.openTable(op.table).insert(op.key, op.value);
  } catch (error) {
    if (codeOf(error) === 'TOO_LARGE') return;
    throw error;
  }
  throw new Error(`harness: the engine stored a key of ${op.key.length} bytes, past the limit it names`);
}

/** A refused insert stores nothing, but opening its table (to insert) created the table, as any operation does. */
export function asModelled(op: ModelOp, keyLimitBytes: number | undefined): ModelOp {
  return refused(op, keyLimitBytes) ? { op: 'create', table: op.table } : op;
}

/**
 * Begins a write transaction and performs `ops` in it; returns it ready to commit, or null
 * when the spec aborts it (a failed operation aborts it too, and rethrows). Shared with the
 * kill worker, so both run transactions the same way.
 */
export async function prepareTxn(family: FamilyUnderTest, ops: readonly ModelOp[], abort: boolean, keyLimitBytes?: number): Promise<WriteTransaction | null> {
  const txn = await family.beginWrite();
  try {
    applyOps(txn, ops, keyLimitBytes);
  } catch (error) {
    txn.abort();
    throw error;
  }
  if (!abort) return txn;
  txn.abort();
  return null;
}

/** Runs `work` for the commit just issued as `index`, settling it acked or failed by the outcome. */
async function settled<T>(history: CommitHistory, index: number, work: () => Promise<T>): Promise<T> {
  try {
    const value = await work();
    history.settle(index, 'acked');
    return value;
  } catch (error) {
    history.settle(index, 'failed');
    throw error;
  }
}

/** One transaction: run its ops, then abort or commit, recording the commit in the history. */
async function runTxn(family: FamilyUnderTest, spec: TxnSpec, history: CommitHistory, keyLimitBytes: number | undefined): Promise<void> {
  const ops = expandOps(spec.ops, keyLimitBytes);
  const txn = await prepareTxn(family, ops, spec.abort, keyLimitBytes);
  if (txn === null) return;
  // Issued now: the commit's WAL append happens synchronously inside the call `settled` makes.
  const index = history.issue(family.name, ops.map((op) => asModelled(op, keyLimitBytes)), spec.durability);
  await settled(history, index, () => txn.commit({ durability: spec.durability }));
}

/** Issues a family change as a commit, runs `work` for it and settles it by the outcome. */
export type ChangeRunner = <T>(family: string, change: FamilyChange, work: () => Promise<T>) => Promise<T>;

/**
 * Deletes family `index` with its data and creates it again, empty: two commits of the model,
 * each acknowledged (durable) when the engine's call resolves. Shared with the kill worker.
 */
export async function recreateFamily(db: StoreUnderTest, index: number, runChange: ChangeRunner): Promise<FamilyUnderTest> {
  const name = familyName(index);
  const deleted = await runChange(name, 'drop', () => db.deleteColumnFamily(name));
  if (!deleted) throw new Error(`harness: family ${name} to drop does not exist`);
  return runChange(name, 'create', () => db.columnFamily(name));
}

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/**
 * After a failed commit, the database must refuse all work until reopened (fsyncgate: it
 * cannot know what reached the disk). Returns a violation when a family still takes writes.
 */
async function checkRefusesWork(session: Session, failure: unknown): Promise<LiveViolation | null> {
  const code = codeOf(failure);
  if (code !== 'IO' && code !== 'PREVIOUS_IO') {
    return { kind: 'unexpected-error', detail: `a transaction failed with ${String(failure)}` };
  }
  // The store itself refuses too: a checkpoint, and (with families) creating a new family,
  // which would otherwise write the file a failed fsync may have left with holes.
  const asks: Ask[] = session.families.map((family): Ask => [`family ${family.name}'s beginWrite`, () => family.beginWrite().then((txn) => txn.abort())]);
  asks.push(['checkpoint', () => session.db.checkpoint()]);
  if (session.store !== 'single') asks.push([`creating family ${REFUSED_FAMILY}`, () => session.db.columnFamily(REFUSED_FAMILY)]);
  for (const [what, ask] of asks) {
    const outcome = await ask().then(() => 'accepted', (error: unknown) => codeOf(error));
    if (outcome !== 'PREVIOUS_IO' && outcome !== 'CLOSED') {
      return { kind: 'poisoning', detail: `after ${String(failure)}, ${what} answered with ${outcome ?? 'an untyped error'}` };
    }
  }
  return null;
}

/** One thing a failed store is asked to do (it must refuse), named for the report. */
type Ask = readonly [string, () => Promise<unknown>];

/** A family no workload uses: asked for only after a failure, when it must be refused. */
const REFUSED_FAMILY = 'after-failure';

interface Session {
  readonly store: 'families' | 'single';
  db: StoreUnderTest;
  families: FamilyUnderTest[];
  /** Read snapshots held open (`snapshot` steps), oldest first. */
  snapshots: HeldSnapshot[];
}

/** A read snapshot the workload holds, with its family's state (the model's) when it was opened. */
interface HeldSnapshot {
  readonly family: number;
  readonly txn: ReadTransaction;
  readonly expected: ReadonlyMap<string, ReadonlyMap<string, string>>;
  readonly from: number;
  readonly to: number;
}

/** What a workload exercised that only the harness sees (the engine counts its own paths). */
export interface WorkloadTally {
  /** Read snapshots held across later steps and checked. */
  snapshots: number;
  /** Bounded range reads compared with the model. */
  boundedRanges: number;
}

/** Every commit issued so far has settled acknowledged (a failure ends the workload): a new snapshot sees them all. */
function holdSnapshot(session: Session, step: Extract<Step, { kind: 'snapshot' }>, history: CommitHistory): void {
  const family = session.families[step.family]!;
  const expected = history.stateAfter(history.all().length).get(family.name) ?? new Map<string, Map<string, string>>();
  session.snapshots.push({ family: step.family, txn: family.beginRead(), expected, from: step.from, to: step.to });
}

/**
 * Reads the held snapshots `which` picks and closes them: each must give exactly its family's
 * state when it was opened, in full and over its bounded range both ways. An I/O error (one the
 * case injects) is rethrown, to end the workload as a failure; any other error is a violation,
 * since a page reused under a live reader reads as damage.
 */
function checkSnapshots(session: Session, which: (held: HeldSnapshot) => boolean, tally: WorkloadTally): LiveViolation | null {
  const picked = session.snapshots.filter(which);
  session.snapshots = session.snapshots.filter((held) => !which(held));
  try {
    for (const held of picked) {
      const problem = snapshotProblem(held, tally);
      tally.snapshots++;
      if (problem !== null) return { kind: 'snapshot', detail: `a read snapshot of ${familyName(held.family)} held across later steps ${problem}` };
    }
    return null;
  } catch (error) {
    // An injected I/O error (a failed read) ends the workload as a failed transaction does.
    const code = codeOf(error);
    if (code === 'IO' || code === 'PREVIOUS_IO') throw error;
    return { kind: 'snapshot', detail: `reading a read snapshot of a family held across later steps failed: ${String(error)}` };
  } finally {
    for (const held of picked) held.txn.close();
  }
}

function snapshotProblem(held: HeldSnapshot, tally: WorkloadTally): string | null {
  const names = held.txn.listTables();
  if (names.length !== held.expected.size || names.some((name) => !held.expected.has(name))) {
    return `lists tables [${names.join(', ')}], not [${[...held.expected.keys()].join(', ')}]`;
  }
  const start = keyPrefix(held.from);
  const end = keyPrefix(held.to);
  for (const name of names) {
    const table = held.txn.openTable(name);
    const expected = held.expected.get(name)!;
    const all = [...table.range()];
    if (all.length !== expected.size || all.some(([key, value]) => expected.get(toHex(key)) !== toHex(value))) {
      return `reads ${all.length} entries of table ${name} that differ from the ${expected.size} it held when opened`;
    }
    const within = [...expected].filter(([key]) => key >= toHex(start) && key < toHex(end)).sort(([a], [b]) => (a < b ? -1 : 1));
    for (const reverse of [false, true]) {
      tally.boundedRanges++;
      const read = [...table.range(start, end, { reverse })].map(([key, value]) => `${toHex(key)}=${toHex(value)}`);
      const wanted = within.map(([key, value]) => `${key}=${value}`);
      if (reverse) wanted.reverse();
      if (read.length !== wanted.length || read.some((entry, i) => entry !== wanted[i])) {
        return `reads ${read.length} entries of table ${name} in [${held.from}, ${held.to})${reverse ? ' reversed' : ''}, not the ${wanted.length} it held`;
      }
    }
  }
  return null;
}

async function openSession(engine: EngineUnderTest, vfs: FaultyVfs, workload: Workload, history: CommitHistory): Promise<Session> {
  const db = await engine.ColumnFamilyDatabase.open(vfs, workload.options);
  const families: FamilyUnderTest[] = [];
  for (let i = 0; i < workload.families; i++) {
    families.push(await db.columnFamily(familyName(i)));
    history.addFamily(familyName(i));
  }
  return { store: workload.store ?? 'families', db, families, snapshots: [] };
}

/** A clean close and reopen must lose nothing at all: every commit, acknowledged or `none`. */
async function reopen(engine: EngineUnderTest, vfs: FaultyVfs, workload: Workload, history: CommitHistory, session: Session,
  tally: WorkloadTally): Promise<LiveViolation | null> {
  const held = checkSnapshots(session, () => true, tally);
  if (held !== null) return held;
  await session.db.close();
  Object.assign(session, await openSession(engine, vfs, workload, history));
  const recovered = await readState(session.db);
  if (statesEqual(recovered, history.stateAfter(history.all().length))) return null;
  return { kind: 'clean-reopen', detail: 'after a clean close and reopen the state differs from every commit applied' };
}

/**
 * Runs the workload to its end, or to the first failure (then checks the database refuses
 * work). The history records every commit as it is issued and settled.
 */
export async function runWorkload(engine: EngineUnderTest, vfs: FaultyVfs, workload: Workload, history: CommitHistory,
  tally: WorkloadTally = { snapshots: 0, boundedRanges: 0 }): Promise<LiveViolation | null> {
  const keyLimitBytes = engine.maxKeyBytes?.(workload.options.pageBytes ?? DEFAULT_PAGE_BYTES);
  let session: Session;
  try {
    session = await openSession(engine, vfs, workload, history);
  } catch (error) {
    // An injected I/O failure while opening or creating families: nothing was committed yet.
    const code = codeOf(error);
    if (code === 'IO' || code === 'PREVIOUS_IO') return null;
    return { kind: 'unexpected-error', detail: `opening failed with ${String(error)}` };
  }
  try {
    for (const step of workload.steps) {
      const outcome = await runStep(engine, vfs, workload, history, session, step, { tally, keyLimitBytes });
      if (outcome !== 'next') return outcome;
    }
    return checkSnapshots(session, () => true, tally);
  } catch (error) {
    return await checkRefusesWork(session, error);
  } finally {
    for (const held of session.snapshots) held.txn.close();
    await session.db.close().catch(() => undefined);
  }
}

/**
 * One step of the workload: 'next' to go on, or what ends the workload (a violation, or null
 * after a failed transaction whose database then refused work as it must).
 */
async function runStep(engine: EngineUnderTest, vfs: FaultyVfs, workload: Workload, history: CommitHistory, session: Session, step: Step,
  { tally, keyLimitBytes }: { readonly tally: WorkloadTally; readonly keyLimitBytes: number | undefined }): Promise<LiveViolation | null | 'next'> {
  if (step.kind === 'checkpoint') {
    await session.db.checkpoint();
  } else if (step.kind === 'snapshot') {
    holdSnapshot(session, step, history);
  } else if (step.kind === 'drop') {
    const held = checkSnapshots(session, (snapshot) => snapshot.family === step.family, tally);
    if (held !== null) return held;
    const runChange: ChangeRunner = (family, change, work) => settled(history, history.issue(family, [], 'immediate', change), work);
    session.families[step.family] = await recreateFamily(session.db, step.family, runChange);
  } else if (step.kind === 'reopen') {
    return (await reopen(engine, vfs, workload, history, session, tally)) ?? 'next';
  } else {
    const results = await Promise.allSettled(step.txns.map((spec) => runTxn(session.families[spec.family]!, spec, history, keyLimitBytes)));
    const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed !== undefined) return checkRefusesWork(session, failed.reason);
  }
  return 'next';
}
