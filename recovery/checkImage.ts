/**
 * Recovery and judgement of one crash image: mount it, open the database (which replays the
 * log), check every family's integrity, read the whole logical state, and classify it
 * against the commit history. Any failure to open is a violation too, unless the image was
 * deliberately corrupted and the engine said so (CORRUPTION / INVALID_FORMAT / IO on an
 * unreadable sector): detected corruption is the right answer, wrong data never is.
 */
import type { ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import type { Vfs } from '../engine/storage.js';
import type { CommitHistory } from '../model/commitHistory.js';
import { classify, type Verdict } from './classify.js';
import { readState } from './readState.js';
import type { EngineUnderTest } from './storeUnderTest.js';

export type { EngineUnderTest, FamilyUnderTest, StoreUnderTest } from './storeUnderTest.js';

/** Turns of the event loop a recovery may take before it counts as a hang (no wall clock). */
export const RECOVERY_TURN_BUDGET = 10_000;

export interface CheckOptions {
  readonly options: ColumnFamilyOptions;
  readonly sharedLog: boolean;
  /** The image was corrupted on purpose: a typed detection error is an acceptable outcome. */
  readonly corrupted: boolean;
  /**
   * Whether the data file, after the corruption, no longer begins as a current crashlab file
   * (magic and version). When it still does, the file is recognisably ours and damage anywhere
   * must be reported as CORRUPTION, never INVALID_FORMAT ("not a crashlab file" would send an
   * operator after the wrong problem). Unknown (undefined): either.
   */
  readonly looksForeign?: boolean | undefined;
  /** Told when each stage of the judgement starts (a benchmark's clock; this file has none). */
  readonly probe?: StageProbe | undefined;
}

/**
 * Where a crash case spends its time: running the workload, taking crash images, mounting
 * one (with corruption, and comparing it with the case's earlier ones), a second crash during
 * recovery, the engine's open (its recovery), the integrity walk, reading the state, closing,
 * classifying the state against the commits, and anything else (drawing cases).
 */
export type Stage =
  | 'workload' | 'capture' | 'mount' | 'recovery-crash' | 'open' | 'integrity' | 'read-state' | 'close' | 'classify' | 'other';

/** Told when a stage starts; the time until the next call belongs to that stage. */
export interface StageProbe {
  enter(stage: Stage): void;
}

const DETECTION_CODES = new Set(['CORRUPTION', 'INVALID_FORMAT', 'IO', 'PREVIOUS_IO']);

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

/** The code of the error recovery failed with, if it failed with one. */
export function failureCode(recovered: Recovered): string | undefined {
  return recovered !== 'hang' && 'error' in recovered ? errorCode(recovered.error) : undefined;
}

/**
 * Settles `work` or reports a hang: in-memory recovery runs entirely on microtasks, so a
 * promise still pending after many turns of the event loop is waiting for nothing.
 */
export async function withinTurns<T>(work: Promise<T>, turns: number): Promise<{ value: T } | { error: unknown } | 'hang'> {
  let outcome: { value: T } | { error: unknown } | undefined;
  work.then((value) => { outcome = { value }; }, (error: unknown) => { outcome = { error }; });
  for (let turn = 0; turn < turns && outcome === undefined; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
  return outcome ?? 'hang';
}

/** What recovering one image gave: the state read and the integrity problems, an error, or a hang. */
export type Recovered = { readonly value: RecoveredState } | { readonly error: unknown } | 'hang';

interface RecoveredState {
  readonly state: Awaited<ReturnType<typeof readState>>;
  readonly problems: readonly string[];
}

export async function checkImage(engine: EngineUnderTest, vfs: Vfs, history: CommitHistory, check: CheckOptions): Promise<Verdict> {
  return judgeRecovered(await recoverImage(engine, vfs, check), history, check);
}

/**
 * Recovers the mounted image and reads it: the half of `checkImage` that depends on the
 * image alone (in memory it is deterministic), so equal images of one case may share it.
 */
export async function recoverImage(engine: EngineUnderTest, vfs: Vfs, check: Pick<CheckOptions, 'options' | 'probe'>): Promise<Recovered> {
  check.probe?.enter('open');
  const outcome = await withinTurns(recoverState(engine, vfs, check.options, check.probe), RECOVERY_TURN_BUDGET);
  check.probe?.enter('classify');
  return outcome;
}

/** Judges what recovery gave against the commit history (the other half of `checkImage`). */
export function judgeRecovered(outcome: Recovered, history: CommitHistory, check: CheckOptions): Verdict {
  if (outcome === 'hang') return { ok: false, kind: 'hang', detail: `recovery did not finish within ${RECOVERY_TURN_BUDGET} turns`, diff: [] };
  if ('error' in outcome) {
    const code = errorCode(outcome.error);
    const misnamed = code === 'INVALID_FORMAT' && check.looksForeign === false;
    if (check.corrupted && code !== undefined && DETECTION_CODES.has(code) && !misnamed) return { ok: true, prefix: -1 };
    const detail = outcome.error instanceof Error ? `${outcome.error.name}: ${outcome.error.message}` : String(outcome.error);
    const kind = code === 'CORRUPTION' && !check.corrupted ? 'integrity' : 'unexpected-error';
    return { ok: false, kind, detail, diff: [] };
  }
  const { state, problems } = outcome.value;
  if (problems.length > 0) {
    if (check.corrupted) return { ok: true, prefix: -1 };
    return { ok: false, kind: 'integrity', detail: problems.slice(0, 5).join('; '), diff: [] };
  }
  const verdict = classify(history, state, check.sharedLog);
  if (verdict.ok || !check.corrupted) return verdict;
  // Damage to a header or to the log may roll a family back to an older commit (the log stops
  // at the damaged record, as at a torn tail): a loss, but never wrong data. Under deliberate
  // corruption, each family must still hold some prefix of its own commits, or it is wrong data.
  const relaxed = classify(history, state, false, 'any-prefix');
  if (relaxed.ok) return relaxed;
  return { ok: false, kind: 'undetected-corruption', detail: `corrupted bytes were read as data: ${verdict.detail}`, diff: verdict.diff };
}

async function recoverState(engine: EngineUnderTest, vfs: Vfs, options: ColumnFamilyOptions, probe: StageProbe | undefined): Promise<RecoveredState> {
  const db = await engine.ColumnFamilyDatabase.open(vfs, options);
  try {
    probe?.enter('integrity');
    const problems: string[] = [];
    for (const name of db.listColumnFamilies()) {
      const report = (await db.columnFamily(name)).checkIntegrity();
      problems.push(...report.problems.map((problem) => `${name}: ${problem}`));
    }
    probe?.enter('read-state');
    return { state: await readState(db), problems };
  } finally {
    probe?.enter('close');
    await db.close().catch(() => undefined);
  }
}
