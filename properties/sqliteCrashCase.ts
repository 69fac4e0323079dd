/**
 * One crash case against SQLite (targets/sqlite): a workload of transactions over families
 * (tables of one database), run once to count its I/O events, then crashed at a sample of
 * them; each crash image (the plan decides what survives of the unsynced writes) is reopened
 * by SQLite, checked with `PRAGMA integrity_check`, read whole and judged by the same oracle as
 * the reference engine (model/commitHistory.ts, recovery/classify.ts) against the contract
 * SQLite's documentation gives the configuration, or a stronger one asked for.
 *
 * The contract sets how the model records an acknowledged commit: `durable` as `immediate`
 * (it must survive every crash), `prefix` as `none` (a suffix of the commit order may be
 * lost, never a commit before a surviving one); under `none` nothing is a violation, and what
 * the oracle finds is reported as findings.
 */
import type { Vfs } from '../engine/storage.js';
import { FaultyVfs, type CrashPlan, type ErrorPlan } from '../fault/faultyVfs.js';
import { Prng } from '../fault/prng.js';
import { CommitHistory } from '../model/commitHistory.js';
import { classify, type ViolationKind } from '../recovery/classify.js';
import { SqliteStore, type SqliteConfig, type SqliteOp } from '../targets/sqlite/sqliteStore.js';
import { sqliteContract, type ContractLevel } from '../targets/sqlite/sqliteContract.js';

export interface SqliteTxn {
  readonly family: string;
  readonly ops: readonly SqliteOp[];
}

export interface SqliteCrashCase {
  readonly config: SqliteConfig;
  readonly txns: readonly SqliteTxn[];
  readonly plan: CrashPlan;
  /** Injected errors (EIO on the Nth write or sync, ENOSPC past a capacity), if any. */
  readonly errors?: ErrorPlan | undefined;
  /** Crash points to sample (every event when the trace is shorter). */
  readonly imagesPerCase: number;
  /** Seeds SQLite's randomness (journal nonces, WAL salts) and the choice of crash points. */
  readonly seed: number;
  /** Judge against this contract instead of the configuration's own (a stronger one). */
  readonly contract?: ContractLevel | undefined;
  /** The disk the workload runs on, around the fault layer (a planted lying disk, in tests). */
  readonly disk?: ((vfs: Vfs) => Vfs) | undefined;
}

export interface SqliteFinding {
  readonly kind: ViolationKind;
  readonly detail: string;
  /** The crash point: the I/O event the power failed before. */
  readonly crashAtEvent: number;
  /** Commits acknowledged before the crash. */
  readonly acknowledged: number;
}

export interface SqliteCaseResult {
  readonly contract: ContractLevel;
  readonly events: number;
  readonly images: number;
  /** The first finding that breaks the contract judged by (null: none). */
  readonly violation: SqliteFinding | null;
  /** Every finding, whether the contract allows it or not (under `none`, all of them). */
  readonly findings: readonly SqliteFinding[];
  /** The I/O trace hash of the uncrashed run: the same seed gives the same trace. */
  readonly traceHash: string;
}

/** A bound on crash points per case, whatever the caller asks. */
const MAX_IMAGES_PER_CASE = 4096;

export async function runSqliteCrashCase(crashCase: SqliteCrashCase): Promise<SqliteCaseResult> {
  if (!(Number.isSafeInteger(crashCase.imagesPerCase) && crashCase.imagesPerCase >= 1 && crashCase.imagesPerCase <= MAX_IMAGES_PER_CASE)) {
    throw new RangeError(`imagesPerCase must be in [1, ${MAX_IMAGES_PER_CASE}], not ${crashCase.imagesPerCase}`);
  }
  const contract = crashCase.contract ?? sqliteContract(crashCase.config);
  const reference = new FaultyVfs(crashCase.errors === undefined ? {} : { errors: crashCase.errors });
  await runWorkload(reference, crashCase, new CommitHistory(), true);
  const events = reference.events;
  const findings: SqliteFinding[] = [];
  let violation: SqliteFinding | null = null;
  const points = crashPoints(events, crashCase.imagesPerCase, crashCase.seed);
  for (const crashAtEvent of points) {
    const finding = await crashAt(crashCase, crashAtEvent);
    if (finding === null) continue;
    findings.push(finding);
    if (violation === null && contract !== 'none') violation = finding;
  }
  return { contract, events, images: points.length, violation, findings, traceHash: reference.traceHash() };
}

/** Every event when there are few; else a seeded, evenly spread sample that keeps the last. */
export function crashPoints(events: number, wanted: number, seed: number): number[] {
  if (events <= wanted) return Array.from({ length: events }, (_, i) => i);
  const prng = new Prng(seed ^ 0x5eed);
  const points = new Set<number>([events - 1]);
  const stride = events / wanted;
  for (let i = 0; points.size < wanted && i < wanted; i++) points.add(Math.min(events - 1, Math.floor(i * stride + prng.below(Math.max(1, Math.floor(stride))))));
  return [...points].sort((a, b) => a - b);
}

/** Runs the workload (and, when `close`, a clean close) recording every commit in `history`. */
async function runWorkload(vfs: FaultyVfs, crashCase: SqliteCrashCase, history: CommitHistory, close: boolean): Promise<void> {
  const durability = (crashCase.contract ?? sqliteContract(crashCase.config)) === 'durable' ? 'immediate' : 'none';
  for (const txn of crashCase.txns) history.addFamily(txn.family);
  const device = { sectorBytes: crashCase.plan.sectorBytes, atomicSector: crashCase.plan.atomicSector };
  let store: SqliteStore;
  try {
    store = await SqliteStore.open(crashCase.disk?.(vfs) ?? vfs, crashCase.config, device, crashCase.seed);
  } catch {
    return; // the crash (or an injected error) came before the database was ready
  }
  try {
    for (const txn of crashCase.txns) {
      const index = history.issue(txn.family, txn.ops, durability);
      try {
        await store.apply(txn.family, txn.ops);
        history.settle(index, 'acked');
      } catch {
        history.settle(index, 'failed');
        break;
      }
    }
  } finally {
    if (close) await store.close().catch(() => undefined);
    else await store.abandon();
  }
}

async function crashAt(crashCase: SqliteCrashCase, crashAtEvent: number): Promise<SqliteFinding | null> {
  const vfs = new FaultyVfs({ crashAtEvent, ...(crashCase.errors === undefined ? {} : { errors: crashCase.errors }) });
  const history = new CommitHistory();
  await runWorkload(vfs, crashCase, history, true);
  const acknowledged = history.all().filter((commit) => commit.status.startsWith('acked')).length;
  const found = (kind: ViolationKind, detail: string): SqliteFinding => ({ kind, detail, crashAtEvent, acknowledged });
  const recovered = FaultyVfs.fromImage(vfs.crashImage(crashCase.plan));
  let store: SqliteStore;
  try {
    store = await SqliteStore.open(recovered, crashCase.config, { sectorBytes: crashCase.plan.sectorBytes, atomicSector: crashCase.plan.atomicSector }, crashCase.seed + 1);
  } catch (error) {
    return found('unexpected-error', `SQLite could not reopen the crash image: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const problems = await store.integrityProblems();
    if (problems.length > 0) return found('integrity', `PRAGMA integrity_check: ${problems.slice(0, 3).join('; ')}`);
    const state = await store.readState();
    // A family is only a name in SQLite's rows: one without tables reads as absent, and is empty.
    for (const family of history.familyNames()) if (!state.has(family)) state.set(family, new Map());
    const verdict = classify(history, state, true);
    return verdict.ok ? null : found(verdict.kind, verdict.detail);
  } catch (error) {
    return found('unexpected-error', `reading the recovered database failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await store.close().catch(() => undefined);
  }
}
