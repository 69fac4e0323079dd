/**
 * A crash workload: a program of transactions over a few column families, run against the
 * engine on a FaultyVfs while the commit history (the model) records what was issued and
 * what was acknowledged. Transactions of one step run concurrently (different families), so
 * group commit really groups and the order of their acknowledgements varies with the seed.
 */
import type { ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import type { WriteTransaction } from '../engine/transaction.js';
import type { FaultyVfs } from '../fault/faultyVfs.js';
import { Prng } from '../fault/prng.js';
import { CommitHistory, statesEqual, type FamilyChange, type ModelOp } from '../model/commitHistory.js';
import { readState } from '../recovery/readState.js';
import type { EngineUnderTest, FamilyUnderTest, StoreUnderTest } from '../recovery/checkImage.js';

export interface TxnSpec {
  readonly family: number;
  readonly ops: readonly ModelOp[];
  readonly durability: 'immediate' | 'none';
  readonly abort: boolean;
}

export type Step =
  | { readonly kind: 'txns'; readonly txns: readonly TxnSpec[] }
  | { readonly kind: 'checkpoint' }
  | { readonly kind: 'reopen' }
  /** Deletes family `family` with all its data, then creates it again, empty (families store only). */
  | { readonly kind: 'drop'; readonly family: number };

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
}

export const familyName = (i: number): string => `cf${i}`;

/** What a workload run found besides crash images: a broken rule of the live engine. */
export interface LiveViolation {
  readonly kind: 'poisoning' | 'clean-reopen' | 'unexpected-error' | 'hang';
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

/** Performs a transaction's operations through the engine's API (shared with the kill worker). */
export function applyOps(txn: WriteTransaction, ops: readonly ModelOp[]): void {
  for (const op of ops) {
    switch (op.op) {
      case 'insert': txn.openTable(op.table).insert(op.key, op.value); break;
      case 'remove': txn.openTable(op.table).remove(op.key); break;
      case 'clear': txn.openTable(op.table).clear(); break;
      case 'create': txn.openTable(op.table); break;
      case 'delete': txn.deleteTable(op.table); break;
    }
  }
}

/**
 * Begins a write transaction and performs `ops` in it; returns it ready to commit, or null
 * when the spec aborts it (a failed operation aborts it too, and rethrows). Shared with the
 * kill worker, so both run transactions the same way.
 */
export async function prepareTxn(family: FamilyUnderTest, ops: readonly ModelOp[], abort: boolean): Promise<WriteTransaction | null> {
  const txn = await family.beginWrite();
  try {
    applyOps(txn, ops);
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
async function runTxn(family: FamilyUnderTest, spec: TxnSpec, history: CommitHistory): Promise<void> {
  const txn = await prepareTxn(family, spec.ops, spec.abort);
  if (txn === null) return;
  // Issued now: the commit's WAL append happens synchronously inside the call `settled` makes.
  const index = history.issue(family.name, spec.ops, spec.durability);
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
}

async function openSession(engine: EngineUnderTest, vfs: FaultyVfs, workload: Workload, history: CommitHistory): Promise<Session> {
  const db = await engine.ColumnFamilyDatabase.open(vfs, workload.options);
  const families: FamilyUnderTest[] = [];
  for (let i = 0; i < workload.families; i++) {
    families.push(await db.columnFamily(familyName(i)));
    history.addFamily(familyName(i));
  }
  return { store: workload.store ?? 'families', db, families };
}

/** A clean close and reopen must lose nothing at all: every commit, acknowledged or `none`. */
async function reopen(engine: EngineUnderTest, vfs: FaultyVfs, workload: Workload, history: CommitHistory, session: Session): Promise<LiveViolation | null> {
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
export async function runWorkload(engine: EngineUnderTest, vfs: FaultyVfs, workload: Workload, history: CommitHistory): Promise<LiveViolation | null> {
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
      if (step.kind === 'checkpoint') {
        await session.db.checkpoint();
      } else if (step.kind === 'drop') {
        const runChange: ChangeRunner = (family, change, work) => settled(history, history.issue(family, [], 'immediate', change), work);
        session.families[step.family] = await recreateFamily(session.db, step.family, runChange);
      } else if (step.kind === 'reopen') {
        const violation = await reopen(engine, vfs, workload, history, session);
        if (violation !== null) return violation;
      } else {
        const results = await Promise.allSettled(step.txns.map((spec) => runTxn(session.families[spec.family]!, spec, history)));
        const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
        if (failed !== undefined) return await checkRefusesWork(session, failed.reason);
      }
    }
    return null;
  } catch (error) {
    return await checkRefusesWork(session, error);
  } finally {
    await session.db.close().catch(() => undefined);
  }
}
