/**
 * The second life of a crash image: a real process does not stop after recovery, it commits
 * on. So one recovered image per case is opened again (recovery runs once more, now with
 * crash images taken during it) and the workload's steps run a second time on that disk,
 * whatever recovery left unsynced (a log it created, a directory entry it did not sync, a
 * scan end it got wrong). The model of this life starts from the state the first recovery
 * returned, all of it durable (the image's bytes are the disk), plus the new commits.
 *
 * A damaged case lives on too: from the disk its recovery mounted (the bit flips and the crash
 * during recovery applied), when that recovery opened and returned a state (properties/
 * crashCase.ts `secondLife`). Whatever the first recovery made of the damage (a fallback to an
 * older header slot or master copy, a log cut short) is the start, and must hold from then on.
 *
 * Bugs only a second life shows: the log re-created at recovery without its directory entry
 * synced; appends placed after a scan end that skipped damage, which the next recovery never
 * reaches; sequence numbers handed out again after recovery; after a fallback to the older log
 * header slot, a log header whose start sequence is not the next record's (issue 11).
 */
import type { LogicalState, ModelOp } from '../model/commitHistory.js';
import type { CaseStart, CrashCase } from './crashCase.js';
import type { Step, Workload } from './crashWorkload.js';
import type { WorkloadOp } from './workloadShapes.js';

/** Hex (as the model keeps keys and values) back to bytes. */
function fromHex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** family -> table -> entries as bytes (what a full read returned: recovery/readState.ts `Reading.tablesRead`). */
export type ByteState = ReadonlyMap<string, ReadonlyMap<string, ReadonlyArray<readonly [Uint8Array, Uint8Array]>>>;

/** Commits that build `state` from nothing: per family, its tables created and filled. */
export function commitsOf(state: LogicalState): CaseStart['commits'] {
  const bytes = new Map([...state].map(([family, tables]) => [family,
    new Map([...tables].map(([table, entries]) => [table, [...entries].map(([key, value]) => [fromHex(key), fromHex(value)] as const)]))]));
  return commitsOfBytes(bytes);
}

/** `commitsOf` from the bytes a full read returned, shared as they are (no hex round trip: a start of 100,000 keys). */
export function commitsOfBytes(state: ByteState): CaseStart['commits'] {
  const commits: Array<{ family: string; ops: ModelOp[] }> = [];
  for (const [family, tables] of state) {
    const ops: ModelOp[] = [];
    for (const [table, entries] of tables) {
      ops.push({ op: 'create', table });
      for (const [key, value] of entries) ops.push({ op: 'insert', table, key, value });
    }
    commits.push({ family, ops });
  }
  return commits;
}

/**
 * The case a second life runs: the same workload (its values changed, see `secondLifeOp`) and
 * crash plan, no injected errors, no corruption and no crash during recovery (the image already
 * carries what those did), and half the crash images (the second life costs a whole workload
 * run more).
 */
export function secondLifeCase(crashCase: CrashCase): CrashCase {
  return {
    ...crashCase, workload: secondLifeWorkload(crashCase.workload), errors: {}, corruption: [], recoveryCrash: null,
    imagesPerRun: Math.max(1, Math.floor(crashCase.imagesPerRun / 2)),
  };
}

/** XORed into every value byte a second life inserts (an empty value becomes this one byte). */
const LIFE_MARK = 0x5a;
/** Mixed into a bulk insert's seed in a second life (its values differ, its keys and order do not). */
const LIFE_SEED_SALT = 0x2f1e_5eed;

/**
 * One operation as the second life runs it: the same keys, each value different from the first
 * life's. The first life's commits are in the state the second life starts from, so a second
 * life inserting the very same values would change nothing: losing its commits would be
 * invisible (a bug that loses the commits after a recovery, like the skipPast one of issue 11,
 * could only show through removes).
 */
export function secondLifeOp(op: WorkloadOp): WorkloadOp {
  if (op.op === 'insert') return { ...op, value: op.value.length === 0 ? Uint8Array.of(LIFE_MARK) : op.value.map((byte) => byte ^ LIFE_MARK) };
  if (op.op === 'bulk') return { ...op, seed: (op.seed ^ LIFE_SEED_SALT) >>> 0 };
  return op;
}

function secondLifeWorkload(workload: Workload): Workload {
  const step = (each: Step): Step => (each.kind !== 'txns' ? each
    : { ...each, txns: each.txns.map((txn) => ({ ...txn, ops: txn.ops.map(secondLifeOp) })) });
  return { ...workload, steps: workload.steps.map(step) };
}
