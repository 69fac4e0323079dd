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
import { totalOf, type StateDigest } from '../model/stateDigest.js';
import type { OverlayState } from '../model/stateTimeline.js';
import { classify, matchDigests, matchState, silentLoss, type DiffLine, type OrderMatch, type Verdict } from './classify.js';
import type { ReadPlan } from './readPlan.js';
import { readRecovered, type Observation, type Reading } from './readState.js';
import { STRICT_CONTRACT, type EngineUnderTest, type StoreContract } from './storeUnderTest.js';

export type { EngineUnderTest, FamilyUnderTest, StoreContract, StoreUnderTest } from './storeUnderTest.js';

/** The contract an engine declares, or the strict one when it declares none. */
export function contractOf(engine: EngineUnderTest): StoreContract {
  return engine.contract ?? STRICT_CONTRACT;
}

/** Turns of the event loop a recovery may take before it counts as a hang (no wall clock). */
export const RECOVERY_TURN_BUDGET = 10_000;

export interface CheckOptions {
  readonly options: ColumnFamilyOptions;
  readonly sharedLog: boolean;
  /** The image was corrupted on purpose: a typed detection error is an acceptable outcome. */
  readonly corrupted: boolean;
  /**
   * The corruption struck a structure and its redundant copy alike (twin flips): beyond what the
   * format can tell, so a rollback is the declared limit, never a silent-loss violation.
   */
  readonly beyondRedundancy?: boolean;
  /** The store's declared contract under damage (`contractOf(engine)`): may it roll back silently? */
  readonly contract: StoreContract;
  /**
   * Whether the data file, after the corruption, no longer begins as a current crashlab file
   * (magic and version). When it still does, the file is recognisably ours and damage anywhere
   * must be reported as CORRUPTION, never INVALID_FORMAT ("not a crashlab file" would send an
   * operator after the wrong problem). Unknown (undefined): either.
   */
  readonly looksForeign?: boolean | undefined;
  /** Told when each stage of the judgement starts (a benchmark's clock; this file has none). */
  readonly probe?: StageProbe | undefined;
  /** What to read besides the state (point gets, ranges), and whether by digest; undefined: the full read alone. */
  readonly plan?: ReadPlan | undefined;
}

/**
 * Where a crash case spends its time: running the workload, taking crash images, mounting
 * one (with corruption, and comparing it with the case's earlier ones), a second crash during
 * recovery, the engine's open (its recovery), the integrity walk, reading the state, closing,
 * classifying the state against the commits, and anything else (drawing cases).
 */
export type Stage =
  | 'workload' | 'capture' | 'mount' | 'recovery-crash' | 'open' | 'integrity' | 'read-state' | 'close' | 'classify' | 'second-life' | 'other';

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

/** What recovering one image gave: what was read (state or digests, and problems), an error, or a hang. */
export type Recovered = { readonly value: Reading } | { readonly error: unknown } | 'hang';

/** Whether a recovery read the whole state (else only digests: a violation must be read again in full). */
export function readInFull(recovered: Recovered): boolean {
  return recovered === 'hang' || !('value' in recovered) || recovered.value.full;
}

/** Whether a recovery holds the whole state it read (ReadPlan.keepsState): what a diff or a second life needs. */
export function stateKept(recovered: Recovered): boolean {
  return recovered === 'hang' || !('value' in recovered) || recovered.value.state !== null;
}

export async function checkImage(engine: EngineUnderTest, vfs: Vfs, history: CommitHistory, check: CheckOptions): Promise<Verdict> {
  return judgeRecovered(await recoverImage(engine, vfs, check), history, check);
}

/**
 * Recovers the mounted image and reads it: the half of `checkImage` that depends on the
 * image alone (in memory it is deterministic), so equal images of one case may share it.
 */
export async function recoverImage(engine: EngineUnderTest, vfs: Vfs, check: Pick<CheckOptions, 'options' | 'probe' | 'plan'>): Promise<Recovered> {
  check.probe?.enter('open');
  const outcome = await withinTurns(recoverState(engine, vfs, check), RECOVERY_TURN_BUDGET);
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
  const { problems } = outcome.value;
  if (problems.length > 0) {
    if (check.corrupted) return { ok: true, prefix: -1 };
    return { ok: false, kind: 'integrity', detail: problems.slice(0, 5).join('; '), diff: [] };
  }
  return judgeReading(outcome.value, history, check);
}

/** The recovered digest as the history sees it: a family it does not know counts only if it has tables. */
function digestOf(reading: Reading, history: CommitHistory): StateDigest {
  const known = new Set(history.familyNames());
  const families = new Map([...reading.families].filter(([family, read]) => known.has(family) || read.tables > 0).map(([family, read]) => [family, read.digest]));
  return { families, total: totalOf(families) };
}

/**
 * The state's verdict: its digest must equal an acceptable prefix's, and every point get and
 * range read must return what that prefix holds. Without a match, the full state (when read)
 * says what went wrong; a reading of digests only gets a placeholder violation, and the caller
 * reads the image again in full (`readInFull`).
 */
function judgeReading(reading: Reading, history: CommitHistory, check: CheckOptions): Verdict {
  const digest = digestOf(reading, history);
  // Damage to a header or to the log may leave each family at some prefix of its own commits
  // (the log stopped at the damaged record): never wrong data, but a loss of acknowledged
  // commits, which only a store declaring it may roll back under damage may serve silently.
  const strict = matchDigests(history, digest, check.sharedLog);
  const matched = strict ?? (check.corrupted ? matchDigests(history, digest, false, 'any-prefix') : null);
  if (matched !== null) {
    const wrong = checkObservations(reading.observations, matchedState(history, matched));
    const lost = strict === null ? lossUnderDamage(history, matched, check) : null;
    return wrong ?? lost ?? { ok: true, prefix: matched.reduce((sum, match) => sum + match.k, 0) };
  }
  const state = reading.state;
  if (state === null) return { ok: false, kind: 'other-divergence', detail: 'the recovered digest matches no acceptable prefix', diff: [] };
  const verdict = classify(history, state, check.sharedLog);
  if (verdict.ok || !check.corrupted) return verdict;
  const relaxed = classify(history, state, false, 'any-prefix');
  if (relaxed.ok) {
    const matches = matchState(history, state, false, 'any-prefix');
    return (matches === null ? null : lossUnderDamage(history, matches, check)) ?? relaxed;
  }
  return { ok: false, kind: 'undetected-corruption', detail: `corrupted bytes were read as data: ${verdict.detail}`, diff: verdict.diff };
}

/** A silent-loss violation for per-family prefixes of a damaged image, unless the contract allows the rollback. */
function lossUnderDamage(history: CommitHistory, matched: readonly OrderMatch[], check: CheckOptions): Verdict | null {
  return check.contract.mayRollBackUnderDamage || check.beyondRedundancy === true ? null : silentLoss(history, matched);
}

/** What the matched prefix holds, as the observations are judged against it. */
type Expected = Pick<OverlayState, 'get' | 'range'>;

/**
 * The matched prefix's state, per family: the model's, laid over the base (shared by the
 * images of a case). Never the state read in full, even when one was: its model form costs a
 * hex copy of every entry, and a range over it a filter and sort of its table, per image.
 */
function matchedState(history: CommitHistory, matched: readonly OrderMatch[]): (family: string) => Expected | null {
  const states = new Map<string | null, OverlayState>();
  return (family) => {
    const match = matched.find((candidate) => candidate.family === null || candidate.family === family);
    if (match === undefined) return null;
    let overlay = states.get(match.family);
    if (overlay === undefined) {
      overlay = history.overlayAfter(match.commits, match.k);
      states.set(match.family, overlay);
    }
    return overlay;
  };
}

/** The first point get or range read that disagrees with the matched prefix, as a violation. */
function checkObservations(observations: readonly Observation[], stateFor: (family: string) => Expected | null): Verdict | null {
  for (const observation of observations) {
    const { family, table } = observation.read;
    const state = stateFor(family);
    if (state === null || !observation.tableExists) continue;
    const wrong = observation.kind === 'get' ? wrongGet(observation, state) : wrongRange(observation, state);
    if (wrong !== null) return { ok: false, kind: 'other-divergence', detail: `${family}/${table}: ${wrong.detail}`, diff: [wrong.line] };
  }
  return null;
}

const hex = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : Buffer.from(bytes).toString('hex'));

function wrongGet(observation: Extract<Observation, { kind: 'get' }>, state: Expected): { detail: string; line: DiffLine } | null {
  const { family, table, key } = observation.read;
  const keyHex = observation.read.keyHex ?? hex(key)!;
  const expected = state.get(family, table, keyHex);
  if (expected === observation.value) return null;
  return {
    detail: `get(${keyHex}) returned ${observation.value ?? 'nothing'} where the recovered prefix (which the state's digest matches) holds ${expected ?? 'nothing'}`,
    line: { family, table, key: keyHex, expected, recovered: observation.value },
  };
}

function wrongRange(observation: Extract<Observation, { kind: 'range' }>, state: Expected): { detail: string; line: DiffLine } | null {
  const { family, table, start, end, reverse } = observation.read;
  const expected = state.range(family, table, hex(start), hex(end));
  if (reverse) expected.reverse();
  const at = expected.findIndex((entry, i) => observation.entries[i]?.[0] !== entry[0] || observation.entries[i]?.[1] !== entry[1]);
  const first = at >= 0 ? at : expected.length < observation.entries.length ? expected.length : -1;
  if (first < 0) return null;
  const got = observation.entries[first];
  const want = expected[first];
  const bounds = `[${hex(start) ?? ''}, ${hex(end) ?? ''})${reverse ? ' reversed' : ''}`;
  return {
    detail: `range ${bounds} returned ${observation.entries.length} entries where the matched prefix holds ${expected.length}; entry ${first} is ${got?.join('=') ?? 'missing'}, expected ${want?.join('=') ?? 'none'}`,
    line: { family, table, key: got?.[0] ?? want?.[0] ?? '', expected: want?.[1], recovered: got?.[1] },
  };
}

async function recoverState(engine: EngineUnderTest, vfs: Vfs, check: Pick<CheckOptions, 'options' | 'probe' | 'plan'>): Promise<Reading> {
  const db = await engine.ColumnFamilyDatabase.open(vfs, check.options);
  const reading = await readRecovered(db, check.plan, check.probe).catch(async (error: unknown) => {
    await db.close().catch(() => undefined);
    throw error;
  });
  if (check.plan?.closes ?? true) {
    check.probe?.enter('close');
    await db.close().catch(() => undefined);
  }
  return reading;
}
