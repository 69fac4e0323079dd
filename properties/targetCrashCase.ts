/**
 * One crash case against a target (targets/target.ts): a workload of transactions over
 * families, run once to count its I/O events, then crashed at a sample of them; each crash
 * image (the plan decides what survives of the unsynced writes) is reopened by the target,
 * checked by its own integrity check, read whole and judged by the one oracle
 * (model/commitHistory.ts, recovery/classify.ts) against the target's declared contract or a
 * stronger one asked for.
 *
 * The model records every commit with the durability it asked for, so the oracle names every
 * departure from full durability (a lost acknowledged commit included) as a finding; the
 * contract then says which findings break it: `durable` every one; `prefix` all but
 * `lost-ack` (a state equal to an earlier prefix of the commit order: a suffix was lost);
 * `atomic` only torn or invented data, damage and refusal (any subset of commits may be lost);
 * under `none` nothing is a violation.
 */
import type { Vfs } from '../engine/storage.js';
import type { CrashImage } from '../fault/crashImage.js';
import { FaultyVfs, type CrashPlan, type ErrorPlan, type IoEvent } from '../fault/faultyVfs.js';
import { Prng } from '../fault/prng.js';
import { CommitHistory } from '../model/commitHistory.js';
import { classify, type Verdict, type ViolationKind } from '../recovery/classify.js';
import { checkOpenTarget, type ContractLevel, type OpenContext, type OpenTarget, type Target, type TargetContract, type TargetState, type TargetTxn } from '../targets/target.js';

export interface TargetCrashCase {
  readonly target: Target;
  readonly txns: readonly TargetTxn[];
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

export interface TargetFinding {
  readonly kind: ViolationKind;
  readonly detail: string;
  /** The crash point: the I/O event the power failed before. */
  readonly crashAtEvent: number;
  /** Commits acknowledged before the crash. */
  readonly acknowledged: number;
  /** The crash point in the target's own terms: the I/O that did not happen, and the last one that did. */
  readonly point: string;
}

export interface TargetCaseResult {
  readonly contract: ContractLevel;
  readonly events: number;
  readonly images: number;
  /** The first finding that breaks the contract judged by (null: none). */
  readonly violation: TargetFinding | null;
  /** Every finding, whether the contract allows it or not (under `none`, all of them). */
  readonly findings: readonly TargetFinding[];
  /** The I/O trace hash of the uncrashed run: the same seed gives the same trace. */
  readonly traceHash: string;
}

/** A bound on crash points per case, whatever the caller asks. */
const MAX_IMAGES_PER_CASE = 4096;

export async function runTargetCrashCase(crashCase: TargetCrashCase): Promise<TargetCaseResult> {
  if (!(Number.isSafeInteger(crashCase.imagesPerCase) && crashCase.imagesPerCase >= 1 && crashCase.imagesPerCase <= MAX_IMAGES_PER_CASE)) {
    throw new RangeError(`imagesPerCase must be in [1, ${MAX_IMAGES_PER_CASE}], not ${crashCase.imagesPerCase}`);
  }
  const contract = crashCase.contract ?? crashCase.target.contract.level;
  const errors = crashCase.errors === undefined ? {} : { errors: crashCase.errors };
  // One run counts the events; a second, identical run takes an image at each chosen one
  // ("the power fails just before event k") with the history as it stands at that moment.
  const counting = new FaultyVfs(errors);
  const refused = await runWorkload(counting, crashCase, new CommitHistory());
  const events = counting.events;
  if (refused !== null && crashCase.errors === undefined) {
    // No crash, no injected fault, yet a transaction failed: the target refused valid work.
    const finding: TargetFinding = { kind: 'unexpected-error', detail: `a transaction failed with no fault injected: ${refused instanceof Error ? refused.message : JSON.stringify(refused)}`, crashAtEvent: -1, acknowledged: 0, point: 'no crash' };
    return { contract, events, images: 0, violation: contract === 'none' ? null : finding, findings: [finding], traceHash: counting.traceHash() };
  }
  const points = new Set(crashPoints(events, crashCase.imagesPerCase, crashCase.seed));
  const history = new CommitHistory();
  const captures: Capture[] = [];
  const vfs: FaultyVfs = new FaultyVfs({
    ...errors,
    onEvent: (index, op, file) => {
      if (points.has(index)) captures.push({ crashAtEvent: index, point: describePoint(op, file, vfs.recentEvents().at(-1)), image: vfs.crashSnapshot(crashCase.plan).image, history: history.snapshot() });
    },
  });
  await runWorkload(vfs, crashCase, history);
  if (vfs.traceHash() !== counting.traceHash()) throw new Error(`target ${crashCase.target.name} is not deterministic: two runs of one case gave different I/O traces`);
  const findings: TargetFinding[] = [];
  let violation: TargetFinding | null = null;
  for (const capture of captures) {
    const finding = await judgeCapture(crashCase, capture);
    if (finding === null) continue;
    findings.push(finding);
    if (violation === null && breaks(contract, finding.kind, crashCase.target.contract)) violation = finding;
  }
  return { contract, events, images: captures.length, violation, findings, traceHash: counting.traceHash() };
}

/** `before the sync of crash.db-wal, after a write of 4120 bytes at 32 in crash.db-wal`. */
function describePoint(op: IoEvent['op'], file: string, last: IoEvent | undefined): string {
  const before = `before the ${op} of ${file}`;
  if (last === undefined) return `${before}, the first I/O`;
  const what = last.op === 'write' ? `a write of ${last.lengthBytes} bytes at ${last.offset} in ${last.file}` : `the ${last.op} of ${last.file}`;
  return `${before}, after ${what}${last.outcome === 'ok' ? '' : ` (${last.outcome})`}`;
}

/** A crash image taken just before event `crashAtEvent`, with the commit history at that moment. */
interface Capture {
  readonly crashAtEvent: number;
  readonly point: string;
  readonly image: CrashImage;
  readonly history: CommitHistory;
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

/** Whether a finding of `kind` breaks `contract` (the rest are findings the contract allows). */
export function breaks(contract: ContractLevel, kind: ViolationKind, declared: TargetContract): boolean {
  if (contract === 'none') return false;
  if (kind === 'unexpected-error' || kind === 'hang') return declared.refusalIsViolation;
  if (contract === 'atomic') return kind === 'torn-transaction' || kind === 'phantom-value' || kind === 'integrity' || kind === 'undetected-corruption';
  if (contract === 'prefix') return kind !== 'lost-ack';
  return true;
}

function contextOf(crashCase: TargetCrashCase, seed: number): OpenContext {
  return { seed, device: { sectorBytes: crashCase.plan.sectorBytes, atomicSector: crashCase.plan.atomicSector }, clock: () => 0 };
}

/**
 * Runs the workload, then a clean close, recording every commit in `history`. Returns the
 * error of the first transaction that failed while the power was on (null: none did).
 */
async function runWorkload(vfs: FaultyVfs, crashCase: TargetCrashCase, history: CommitHistory): Promise<unknown> {
  for (const txn of crashCase.txns) history.addFamily(txn.family);
  let opened: OpenTarget;
  try {
    opened = checkOpenTarget(crashCase.target.name, await crashCase.target.open(crashCase.disk?.(vfs) ?? vfs, contextOf(crashCase, crashCase.seed)));
  } catch (error) {
    if (error instanceof TypeError) throw error;
    return vfs.crashed ? null : error; // the crash (or an injected error) came before the store was ready
  }
  let failed: unknown = null;
  for (const txn of crashCase.txns) {
    const index = history.issue(txn.family, txn.ops, txn.durability);
    try {
      await opened.apply(txn);
      history.settle(index, 'acked');
    } catch (error) {
      history.settle(index, 'failed');
      failed = vfs.crashed ? null : error;
      break;
    }
  }
  if (failed !== null || vfs.crashed) await opened.abandon();
  else await opened.close().catch(() => opened.abandon());
  return failed;
}

/** The oracle's verdict on a state a target read back (a family without tables may read as absent: it is empty). */
export function judgeState(history: CommitHistory, state: TargetState): Verdict {
  for (const family of history.familyNames()) if (!state.has(family)) state.set(family, new Map());
  return classify(history, state, true);
}

async function judgeCapture(crashCase: TargetCrashCase, capture: Capture): Promise<TargetFinding | null> {
  const { crashAtEvent, history } = capture;
  const acknowledged = history.all().filter((commit) => commit.status.startsWith('acked')).length;
  const found = (kind: ViolationKind, detail: string): TargetFinding => ({ kind, detail, crashAtEvent, acknowledged, point: capture.point });
  const recovered = FaultyVfs.fromImage(capture.image);
  let opened: OpenTarget;
  try {
    opened = checkOpenTarget(crashCase.target.name, await crashCase.target.open(recovered, contextOf(crashCase, crashCase.seed + 1)));
  } catch (error) {
    if (error instanceof TypeError) throw error;
    return found('unexpected-error', `the target could not reopen the crash image: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    const problems = await opened.integrityProblems?.() ?? [];
    if (problems.length > 0) return found('integrity', `integrity check: ${problems.slice(0, 3).join('; ')}`);
    const verdict = judgeState(history, await opened.readState());
    return verdict.ok ? null : found(verdict.kind, verdict.detail);
  } catch (error) {
    return found('unexpected-error', `reading the recovered state failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    // Judged: what the target would write on the way out (a checkpoint at close) is of no use.
    recovered.powerCut();
    await opened.abandon();
  }
}
