/**
 * One crash case: run a workload once on a FaultyVfs, taking crash images at a seeded sample
 * of its I/O events (every event when the trace is short), plus one after the last event;
 * then recover each image (optionally crashing once more during recovery) and judge it.
 * An image taken before event k is exactly what "power fails at event k" leaves, so one run
 * yields many crash points without re-running the workload.
 */
import type { CrashImage } from '../fault/crashImage.js';
import { DEFAULT_CF_FILE_NAME } from '../engine/columnFamilyDatabase.js';
import { assert, osErrorCode } from '../engine/errors.js';
import { FORMAT_VERSION, MAGIC } from '../engine/format.js';
import { MASTER_MAGIC, MASTER_VERSION } from '../engine/masterHeader.js';
import {
  DURABLE_ONLY, FaultyVfs, type CrashDecision, type CrashPlan, type Corruption, type ErrorPlan, type FaultyVfsOptions, type IoEvent,
} from '../fault/faultyVfs.js';
import { Prng } from '../fault/prng.js';
import { CommitHistory, type CommitRecord, type FamilyChange, type ModelOp } from '../model/commitHistory.js';
import { FrozenBase, type DigestScope, type OverlayState } from '../model/stateTimeline.js';
import type { DigestMemo } from '../engine/subtreeDigest.js';
import { caseKeys, planReads, type ReadPlan } from '../recovery/readPlan.js';
import type { Reading } from '../recovery/readState.js';
import {
  contractOf, failureCode, judgeRecovered, readInFull, recoverImage, stateKept, withinTurns, type CheckOptions, type EngineUnderTest, type Recovered,
  type StageProbe,
} from '../recovery/checkImage.js';
import { damageImage } from './aimedFlips.js';
import { engineForWorkload } from './singleFileStore.js';
import { commitsOfBytes, secondLifeCase } from './secondLife.js';
import type { DiffLine, Verdict, ViolationKind } from '../recovery/classify.js';
import { runWorkload, syncScheduler, type LiveViolation, type Workload, type WorkloadTally } from './crashWorkload.js';
import { baseStart } from './baseDatabase.js';

export interface RecoveryCrash {
  /** Where in recovery's own I/O the second power cut falls (a fraction of its events). */
  readonly atFraction: number;
  readonly plan: CrashPlan;
}

export interface CrashCase {
  readonly workload: Workload;
  readonly plan: CrashPlan;
  readonly errors: ErrorPlan;
  readonly corruption: readonly Corruption[];
  /** Crash images sampled from the run (all events when there are no more than this). */
  readonly imagesPerRun: number;
  readonly recoveryCrash: RecoveryCrash | null;
}

export interface Violation {
  readonly kind: ViolationKind | LiveViolation['kind'];
  readonly detail: string;
  readonly diff: readonly DiffLine[];
  /** The I/O event the power failed before (events = the whole run). */
  readonly crashAt: number;
  readonly eventsAround: readonly IoEvent[];
  /** Every I/O event up to and including the crash point (the last EVENTS_KEPT of them), for reports. */
  readonly events?: readonly IoEvent[];
  /** What the crash plan did to each unsynced change at the crash point (absent for live violations). */
  readonly crash?: { readonly plan: CrashPlan; readonly decisions: readonly CrashDecision[] };
  /** The commits issued before the crash point, with the I/O event counts at issue and acknowledgement. */
  readonly commits?: readonly CommitTiming[];
}

/** When a commit was issued and settled, in I/O events (`settledAt` absent: in flight at the crash). */
export interface CommitTiming {
  readonly index: number;
  readonly family: string;
  readonly durability: 'immediate' | 'none';
  /** Set for a family deletion or creation (properties/crashWorkload.ts `drop` steps). */
  readonly change?: FamilyChange | undefined;
  readonly issuedAt: number;
  readonly settledAt?: number;
  readonly outcome?: 'acked' | 'failed';
}

/**
 * The digests after each prefix of a case's commits, built once for the whole case (one pass
 * over its operations, laid over the base: model/stateTimeline.ts). The oracle asks every
 * image's history for them. A commit's operations never change once issued, so each capture's
 * commit order is a prefix of the finished run's, and its digests are the first ones of the run's.
 */
class SharedPrefixDigests {
  private readonly built = new Map<string, number[]>();

  constructor(private readonly live: CommitHistory) {}

  /** The digests for `commits` of `history`, or null when they are not a prefix of a live order. */
  of(history: CommitHistory, commits: readonly CommitRecord[], scope: DigestScope): number[] | null {
    const families = history.familyNames();
    const liveFamilies = this.live.familyNames();
    // The state before any commit holds every known family: it must be the same set.
    if (families.length !== liveFamilies.length || families.some((family, i) => liveFamilies[i] !== family)) return null;
    if (history.baseOf().base !== this.live.baseOf().base || history.baseOf().count !== this.live.baseOf().count) return null;
    const key = commits.every((commit, i) => commit.index === i) ? null : commits[0]!.family;
    const order = key === null ? this.live.all() : this.live.ofFamily(key);
    if (commits.length > order.length || commits.some((commit, i) => order[i]!.index !== commit.index)) return null;
    const id = JSON.stringify([key, scope.family]);
    let digests = this.built.get(id);
    if (digests === undefined || digests.length < commits.length + 1) {
      digests = this.live.prefixDigests(order, scope);
      this.built.set(id, digests);
    }
    return digests.slice(0, commits.length + 1);
  }

  private readonly overlays = new Map<string, OverlayState>();

  /** The state after `k` of `commits`, shared by every capture (null as `of`). */
  overlayAfter(history: CommitHistory, commits: readonly CommitRecord[], k: number): OverlayState | null {
    if (this.of(history, commits, { family: null }) === null) return null;
    const id = JSON.stringify([commits.length === 0 ? null : commits.every((commit, i) => commit.index === i) ? null : commits[0]!.family, k]);
    let state = this.overlays.get(id);
    if (state === undefined) {
      state = this.live.overlayAfter(commits.length === 0 || commits.every((commit, i) => commit.index === i) ? this.live.all() : this.live.ofFamily(commits[0]!.family), k);
      this.overlays.set(id, state);
    }
    return state;
  }
}

/** A capture's frozen history, answering `prefixDigests` from the case's shared ones. */
class CaptureHistory extends CommitHistory {
  constructor(private readonly shared: SharedPrefixDigests) {
    super();
  }

  override prefixDigests(commits: readonly CommitRecord[], scope: DigestScope): number[] {
    return this.shared.of(this, commits, scope) ?? super.prefixDigests(commits, scope);
  }

  /** Takes `live`'s commits as they are now (statuses frozen), sharing their operations. */
  adopt(live: CommitHistory): void {
    this.copyFrom(live);
  }

  override overlayAfter(commits: readonly CommitRecord[], k: number): OverlayState {
    return this.shared.overlayAfter(this, commits, k) ?? super.overlayAfter(commits, k);
  }
}

/** A commit history that also notes the I/O event count at each issue and settlement. */
class TimedHistory extends CommitHistory {
  readonly timings: CommitTiming[] = [];
  private readonly shared = new SharedPrefixDigests(this);

  constructor(private readonly clock: () => number) {
    super();
  }

  /** Statuses frozen as they are now, as `CommitHistory.snapshot`, sharing the prefix states. */
  override snapshot(): CommitHistory {
    const copy = new CaptureHistory(this.shared);
    copy.adopt(this);
    return copy;
  }

  override issue(family: string, ops: Parameters<CommitHistory['issue']>[1], durability: 'immediate' | 'none', change?: FamilyChange): number {
    const index = super.issue(family, ops, durability, change);
    this.timings[index] = { index, family, durability, change, issuedAt: this.clock() };
    return index;
  }

  override settle(index: number, outcome: 'acked' | 'failed'): void {
    super.settle(index, outcome);
    const timing = this.timings[index];
    if (timing !== undefined) this.timings[index] = { ...timing, settledAt: this.clock(), outcome };
  }

  /** The commits as a crash before event `at` sees them. */
  until(at: number): CommitTiming[] {
    return this.timings.filter((t) => t.issuedAt <= at).map((t) => {
      if (t.settledAt === undefined || t.settledAt <= at) return t;
      return { index: t.index, family: t.family, durability: t.durability, change: t.change, issuedAt: t.issuedAt };
    });
  }
}

/** Events a violation carries for reports (the events before the crash point, newest kept). */
export const EVENTS_KEPT = 2_000;

export interface CaseResult {
  readonly images: number;
  /** Crash images judged, by the I/O event the power failed before (e.g. "sync wal", "write data"). */
  readonly crashPoints: Readonly<Record<string, number>>;
  readonly events: number;
  readonly traceHash: string;
  readonly violation: Violation | null;
  /** Distinct images recovered (byte-equal images share one recovery), first life only. */
  readonly recoveries?: number;
  /** Of `images`, those judged in the second life (properties/secondLife.ts). */
  readonly secondLifeImages?: number;
  /** What the workloads (this case's and its second life's) exercised that only the harness sees. */
  readonly tally: WorkloadTally;
}

/** Durable files a case starts from (a populated database) and the commits that made them. */
export interface CaseStart {
  readonly image: ReadonlyMap<string, Uint8Array> | CrashImage;
  /** Every one acknowledged and durable: the model starts with them. */
  readonly commits: ReadonlyArray<{ readonly family: string; readonly ops: readonly ModelOp[] }>;
}

/** How to run a case besides the case itself: where it starts, and who times its stages. */
export interface CaseRunOptions {
  /** An empty directory when undefined (as every drawn case starts). */
  readonly start?: CaseStart | undefined;
  readonly probe?: StageProbe | undefined;
  /** One recovered image lives on (properties/secondLife.ts); default true. */
  readonly secondLife?: boolean | undefined;
}

/** Event-loop turns a whole in-memory workload may take before it counts as a hang. */
const WORKLOAD_TURN_BUDGET = 50_000;

interface Capture {
  readonly at: number;
  /** What the power cut interrupted (see `crashPoint`). */
  readonly point: string;
  /** Built lazily (copy on write): a capture the reservoir drops costs almost nothing. */
  readonly image: CrashImage;
  readonly decisions: readonly CrashDecision[];
  readonly history: CommitHistory;
}

/** Keeps a uniform sample of `size` captures over a stream of unknown length. */
class Reservoir {
  readonly kept: Capture[] = [];
  private readonly prng: Prng;

  constructor(private readonly size: number, seed: number) {
    this.prng = new Prng(seed);
  }

  offer(index: number, take: () => Capture): void {
    if (this.kept.length < this.size) {
      this.kept.push(take());
      return;
    }
    const slot = this.prng.below(index + 1);
    if (slot < this.size) this.kept[slot] = take();
  }
}

/** Names a crash point by what was about to happen and to which kind of file. */
function crashPoint(op: IoEvent['op'], file: string): string {
  const kind = file === '.' ? 'directory' : file.endsWith('.wal') ? 'wal' : 'data';
  return `${op} ${kind}`;
}

/** The model of a case that starts from `start`: its commits issued and acknowledged, at event 0. */
function startHistory(start: CaseStart | undefined, clock: () => number): TimedHistory {
  const history = new TimedHistory(clock);
  for (const commit of start?.commits ?? []) {
    history.addFamily(commit.family);
    history.settle(history.issue(commit.family, commit.ops, 'immediate'), 'acked');
  }
  if (start !== undefined) history.setBase(frozenStart(start));
  return history;
}

/** Each start's state, frozen once and shared by every case that starts from it (a base database). */
const FROZEN_STARTS = new WeakMap<CaseStart, FrozenBase>();

function frozenStart(start: CaseStart): FrozenBase {
  let frozen = FROZEN_STARTS.get(start);
  if (frozen === undefined) {
    const history = new CommitHistory();
    for (const commit of start.commits) {
      history.addFamily(commit.family);
      history.issue(commit.family, commit.ops, 'immediate');
    }
    frozen = new FrozenBase(history.stateAfter(start.commits.length));
    FROZEN_STARTS.set(start, frozen);
  }
  return frozen;
}

export async function runCrashCase(engineGiven: EngineUnderTest, crashCase: CrashCase, run: CaseRunOptions = {}): Promise<CaseResult> {
  const engine = engineForWorkload(engineGiven, crashCase.workload);
  const { probe } = run;
  const start = run.start ?? (crashCase.workload.base === undefined ? undefined : await baseStart(engineGiven, crashCase.workload));
  const tally: WorkloadTally = { snapshots: 0, boundedRanges: 0 };
  probe?.enter('workload');
  let vfsEvents = (): number => 0;
  const history = startHistory(start, () => vfsEvents());
  const reservoir = new Reservoir(crashCase.imagesPerRun, crashCase.plan.seed);
  const pinned: Capture[] = [];
  const capture = (at: number, op: IoEvent['op'], file: string): void => {
    probe?.enter('capture');
    const take = (): Capture => ({ at, point: crashPoint(op, file), ...vfs.crashSnapshot(crashCase.plan), history: history.snapshot() });
    // Just before a directory sync, the files created since the last one may each come back or
    // not: the few such points are all kept, since a uniform sample of hundreds misses them.
    if (op === 'syncDir' && pinned.length < MAX_PINNED_CAPTURES) pinned.push(take());
    else reservoir.offer(at, take);
    probe?.enter('workload');
  };
  const vfsOptions = { errors: crashCase.errors, scheduleSync: syncScheduler(crashCase.workload.scheduleSeed), onEvent: capture };
  const vfs: FaultyVfs = start === undefined ? new FaultyVfs(vfsOptions) : FaultyVfs.fromImage(start.image, vfsOptions);
  vfsEvents = () => vfs.events;
  const outcome = await withinTurns(runWorkload(engine, vfs, crashCase.workload, history, tally), WORKLOAD_TURN_BUDGET);
  const live: LiveViolation | null = outcome === 'hang'
    ? { kind: 'hang', detail: `the workload did not settle within ${WORKLOAD_TURN_BUDGET} turns (a commit or lock that never resolves)` }
    : 'error' in outcome ? { kind: 'unexpected-error', detail: `the workload threw ${String(outcome.error)}` } : outcome.value;
  const around = (at: number): IoEvent[] => vfs.recentEvents().filter((event) => event.index >= at - 8 && event.index <= at + 2);
  const upTo = (at: number): IoEvent[] => vfs.recentEvents().filter((event) => event.index <= at).slice(-EVENTS_KEPT);
  const crashPoints: Record<string, number> = {};
  const recoveries: RecoveryMemo = [];
  const result = (violation: Violation | null, images: number, secondLifeImages = 0): CaseResult => ({
    images, crashPoints, events: vfs.events, traceHash: vfs.traceHash(), violation, tally,
    recoveries: recoveries.filter((entry) => entry.distinct).length, secondLifeImages,
  });
  if (live !== null) return result({ ...live, diff: [], crashAt: vfs.events, eventsAround: around(vfs.events), events: upTo(vfs.events), commits: history.until(vfs.events) }, 0);
  probe?.enter('capture');
  const captures = [...pinned, ...reservoir.kept, { at: vfs.events, point: 'after the last event', ...vfs.crashSnapshot(crashCase.plan), history: history.snapshot() }];
  captures.sort((a, b) => a.at - b.at);
  let checked = 0;
  const memos = memosOf(start);
  const keys = caseKeys(history);
  // A small state is cheaper read in full than digested and compared with the model's overlay.
  const small = keys.reduce((sum, table) => sum + table.touched.size + history.baseOf().base.sortedKeys(table.family, table.table).length, 0) <= SMALL_STATE_KEYS;
  // The image a second life will start from keeps its full read's entries; a large one read in
  // full for its check alone keeps only its digest (a violation is read again, keeping them).
  const startsSecondLife = run.secondLife === false || captures.length === 0 ? null : secondLifeCapture(captures, crashCase.plan.seed).image;
  for (const capture of captures) {
    checked++;
    crashPoints[capture.point] = (crashPoints[capture.point] ?? 0) + 1;
    const last = checked === captures.length;
    const full = small || last || readsInFull(crashCase.plan.seed, checked);
    const keepsState = small || (startsSecondLife !== null && capture.image.equals(startsSecondLife));
    const plan = planReads(history.baseOf().base, keys, (crashCase.plan.seed ^ Math.imul(checked, 0x9e3779b1)) >>> 0, { full, closes: last, memos, keepsState });
    const verdict = await checkCapture(engine, crashCase, capture, recoveries, probe, plan);
    if (!verdict.ok) {
      return result({
        kind: verdict.kind, detail: verdict.detail, diff: verdict.diff, crashAt: capture.at, eventsAround: around(capture.at),
        events: upTo(capture.at), crash: { plan: crashCase.plan, decisions: capture.decisions }, commits: history.until(capture.at),
      }, checked);
    }
  }
  if (run.secondLife === false) return result(null, checked);
  const second = await secondLife(engineGiven, crashCase, captures, recoveries, probe, memos);
  for (const [point, count] of Object.entries(second?.crashPoints ?? {})) crashPoints[`second life: ${point}`] = count;
  tally.snapshots += second?.tally.snapshots ?? 0;
  tally.boundedRanges += second?.tally.boundedRanges ?? 0;
  return result(second?.violation ?? null, checked + (second?.images ?? 0), second?.images ?? 0);
}

/**
 * One image in FULL_READ_EVERY (drawn from the plan's seed), besides the last of every case, is
 * read in full: every page walked and every key read through `range`, trusting no memo (see
 * the trust assumption of the digest capability, engine/subtreeDigest.ts).
 */
const FULL_READ_EVERY = 16;

/** At most this many keys (the base's and the ones the case touched): every image is read in full. */
const SMALL_STATE_KEYS = 512;

function readsInFull(seed: number, capture: number): boolean {
  // The product's high bits mix every input bit (its low bits see only the inputs' low bits):
  // scaled to [0, FULL_READ_EVERY), one value in FULL_READ_EVERY reads in full.
  const mixed = Math.imul((seed ^ Math.imul(capture, 0x85ebca6b)) >>> 0, 0x27d4eb2d) >>> 0;
  return Math.floor((mixed / 2 ** 32) * FULL_READ_EVERY) === 0;
}

/** The digest memos of a case: shared by every case of one start (its base database), else the case's own. */
const START_MEMOS = new WeakMap<CaseStart, Map<string, DigestMemo>>();

function memosOf(start: CaseStart | undefined): Map<string, DigestMemo> {
  if (start === undefined) return new Map();
  let memos = START_MEMOS.get(start);
  if (memos === undefined) {
    memos = new Map();
    START_MEMOS.set(start, memos);
  }
  return memos;
}

/**
 * One kept capture, drawn by the plan's seed, lives on: recovered again and run through the
 * workload a second time (properties/secondLife.ts). It starts from the disk its recovery
 * mounted: the captured image with the case's bit flips and its crash during recovery applied.
 * So a second life also starts after damage the engine detected and survived (a fallback to an
 * older header or master copy, a log cut short at a damaged record): the state that recovery
 * returned is the start, all of it durable, and the second life is judged as an undamaged case
 * (what the first recovery made of the damage must hold from then on). When the damage made a
 * strict recovery fail with CORRUPTION, the second life starts from what a `recover: 'salvage'`
 * open makes of it (an engine without salvage fails the same way, and has no second life here).
 * None when recovery failed otherwise or hung (there is no state to start from), or when the case
 * makes sectors unreadable (a second life would need the same bad sectors under it).
 */
async function secondLife(engineGiven: EngineUnderTest, crashCase: CrashCase, captures: readonly Capture[], recoveries: RecoveryMemo,
  probe: StageProbe | undefined, memos: Map<string, DigestMemo>): Promise<CaseResult | null> {
  if (crashCase.corruption.some((corruption) => corruption.kind === 'unreadable') || captures.length === 0) return null;
  // Every stage of the second life counts as 'second-life': the benchmark reports it apart.
  probe?.enter('second-life');
  const tagged: StageProbe | undefined = probe === undefined ? undefined : { enter: () => probe.enter('second-life') };
  const chosen = secondLifeCapture(captures, crashCase.plan.seed);
  const engine = engineForWorkload(engineGiven, crashCase.workload);
  const memo = await fullRecovery(engine, crashCase, chosen.image, recoveries, tagged);
  let recovered = memo?.recovered;
  let mounted = memo?.mounted;
  if (memo !== undefined && recovered !== undefined && failureCode(recovered) === 'CORRUPTION') {
    // The salvage's checkpoint makes what it kept final: the second life starts from that disk.
    const salvaging = FaultyVfs.fromImage(memo.mounted);
    recovered = await recoverImage(engine, salvaging, { options: { ...crashCase.workload.options, recover: 'salvage' }, probe: tagged });
    mounted = salvaging.crashSnapshot(DURABLE_ONLY).image;
  }
  if (mounted === undefined || recovered === undefined || recovered === 'hang' || 'error' in recovered || recovered.value.problems.length > 0) return null;
  const start = secondLifeStart(mounted, recovered.value, memos);
  const second = await runCrashCase(engineGiven, secondLifeCase(crashCase), { start, probe: tagged, secondLife: false });
  if (second.violation === null) return second;
  const described = describeDamage(crashCase);
  const damage = described === '' ? '' : ` after ${described}`;
  const detail = `second life (the image at I/O event ${chosen.at} recovered${damage}, then the workload run again on it): ${second.violation.detail}`;
  return { ...second, violation: { ...second.violation, detail } };
}

/**
 * A second life's start: the mounted disk and the state its recovery read in full, frozen from
 * that reading's own bytes and digests (the start is by definition what was read, so nothing
 * is re-hashed or copied through a model replay), and the first life's digest memos (its
 * images are this disk's ancestors: the trust assumption of engine/subtreeDigest.ts is the
 * one the cases of a base database already share).
 */
function secondLifeStart(mounted: CrashImage, reading: Reading, memos: Map<string, DigestMemo>): CaseStart {
  const tables = reading.tablesRead;
  const state = reading.state;
  assert(tables !== null && state !== null, 'a second life starts from a state read in full');
  const start: CaseStart = { image: mounted, commits: commitsOfBytes(tables) };
  FROZEN_STARTS.set(start, new FrozenBase(state, new Map([...reading.families].map(([family, read]) => [family, read.digest]))));
  START_MEMOS.set(start, memos);
  return start;
}

/** The case's damage to its images, for a second life's report ('' for none; no unreadable sectors: those cases have none). */
function describeDamage(crashCase: CrashCase): string {
  const parts = crashCase.corruption.map((flip) => `a bit flip in ${flip.file}`);
  if (crashCase.recoveryCrash !== null) parts.push('a crash during recovery');
  if (parts.length === 0) return '';
  return parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]!}`;
}

/** Keeps the second life's draw independent of the plan's other uses of its seed. */
const SECOND_LIFE_SALT = 0x5ec0_11fe;

/** Captures kept at directory syncs besides the reservoir's sample (a bound on the extra work). */
const MAX_PINNED_CAPTURES = 4;

/**
 * The capture a second life starts from: half the time one where the crash split what the
 * process did (see `splitByCrash`) when there is one, else any. Those images are where a live
 * process trips later: stale records past the recovered end of the log, where its appends
 * will land, and a file whose directory entry was lost beside one that was kept.
 */
function secondLifeCapture(captures: readonly Capture[], seed: number): Capture {
  assert(captures.length > 0, 'a second life starts from a capture');
  const prng = new Prng(seed ^ SECOND_LIFE_SALT);
  const split = captures.filter(splitByCrash);
  const pool = split.length > 0 && prng.coin() ? split : captures;
  return pool[prng.below(pool.length)]!;
}

/**
 * Whether the crash kept part of what was unsynced and dropped an earlier part: of one file's
 * writes (a later write kept after an earlier one dropped or torn), or of the directory (one
 * new entry kept, another lost).
 */
export function splitByCrash(capture: { readonly decisions: readonly CrashDecision[] }): boolean {
  const entries = new Set<string>();
  const lostWrites = new Set<string>();
  for (const decision of capture.decisions) {
    if (decision.kind === 'create' || decision.kind === 'remove') {
      entries.add(decision.fate);
    } else if (decision.fate !== 'kept') {
      lostWrites.add(decision.file);
    } else if (lostWrites.has(decision.file)) {
      return true;
    }
  }
  return entries.size > 1;
}

/**
 * The case's images recovered so far. In memory, recovery (with the case's corruption and
 * second crash) is a function of the image alone, so an image equal to an earlier one recovers
 * the same way and only its judgement, against its own history, is redone.
 */
type RecoveryMemo = Array<{ readonly image: CrashImage; readonly distinct: boolean } & Recoveries>;

/** An image's recovery, and (for a case with a read error) its recovery through that error. */
interface Recoveries {
  /** The disk recovery ran on: the image with the case's bit flips and crash during recovery applied. */
  readonly mounted: CrashImage;
  readonly recovered: Recovered;
  /** The flaky-disk recovery (see `recoverThroughReadError`); null when the case injects no read error. */
  readonly throughReadError: Recovered | null;
  /** The full-disk recovery (see `recoverOnFullDisk`); null when the case fills no disk and the image was not picked. */
  readonly onFullDisk: Recovered | null;
}

/**
 * The image's recovery read in full (the state itself, for a second life to start from): an
 * equal image's if one of the case was read so, else a new one. Undefined only if none was recovered.
 */
async function fullRecovery(engine: EngineUnderTest, crashCase: CrashCase, image: CrashImage, recoveries: RecoveryMemo,
  probe: StageProbe | undefined): Promise<Recoveries | undefined> {
  const equal = recoveries.filter((earlier) => earlier.image.equals(image));
  if (equal.length === 0) return undefined;
  const full = equal.find((earlier) => stateKept(earlier.recovered));
  if (full !== undefined) return full;
  const check: CheckOptions = { options: crashCase.workload.options, sharedLog: crashCase.workload.options.wal !== false, corrupted: false, contract: contractOf(engine), probe };
  const memo = await recoverCapture(engine, crashCase, image, check, false);
  recoveries.push({ image, ...memo, distinct: false });
  return memo;
}

/**
 * Recovers a capture and judges it by `plan`; a violation found on digests alone, or on a full
 * read that kept no entries, is judged again on a full read that keeps them, so that the
 * classifier names it with a diff (in memory an image recovers the same way every time).
 */
async function checkCapture(engine: EngineUnderTest, crashCase: CrashCase, capture: Capture, recoveries: RecoveryMemo,
  probe: StageProbe | undefined, plan: ReadPlan): Promise<Verdict> {
  const verdict = await judgeCapture(engine, crashCase, capture, recoveries, probe, plan);
  if (verdict.ok || (plan.full && plan.keepsState !== false)) return verdict;
  const full = await judgeCapture(engine, crashCase, capture, recoveries, probe, { ...plan, full: true, keepsState: true });
  // The digest capability checks no more than the full walk (it trusts its memo: engine/
  // subtreeDigest.ts), so a problem only it reports is its own error. Accepted silently, that
  // error would turn every image's fast path into a second, full read (as the free list's pages
  // missing from its accounting once did), or hide a capability that has drifted from the store.
  if (full.ok && !plan.full && verdict.kind === 'integrity') {
    return { ok: false, kind: 'integrity', detail: `the store's digest capability reports what its full read does not: ${verdict.detail}`, diff: [] };
  }
  return full;
}

/** Recovers a capture (or finds an equal one recovered, read in full if the plan wants) and judges it against its history. */
async function judgeCapture(engine: EngineUnderTest, crashCase: CrashCase, capture: Capture, recoveries: RecoveryMemo,
  probe: StageProbe | undefined, plan: ReadPlan): Promise<Verdict> {
  probe?.enter('mount');
  const check: CheckOptions = {
    options: crashCase.workload.options,
    sharedLog: crashCase.workload.options.wal !== false,
    corrupted: crashCase.corruption.length > 0,
    beyondRedundancy: crashCase.corruption.some((corruption) => corruption.kind === 'flip' && corruption.twin === true),
    contract: contractOf(engine),
    probe,
    plan,
  };
  // Newest first: equal images are mostly neighbours (nothing reached the disk between them).
  const equal = recoveries.findLast((earlier) => earlier.image.equals(capture.image));
  // A full plan needs an image walked in full, and its entries too when it keeps them.
  const usable = (earlier: Recoveries): boolean => !plan.full || (plan.keepsState !== false ? stateKept(earlier.recovered) : readInFull(earlier.recovered));
  let memo: Recoveries | undefined = equal !== undefined && usable(equal) ? equal : undefined;
  if (memo === undefined) {
    memo = await recoverCapture(engine, crashCase, capture.image, check, recoveries.length % FULL_DISK_EVERY === 0);
    recoveries.push({ image: capture.image, ...memo, distinct: equal === undefined });
  }
  probe?.enter('classify');
  const judge = (recovered: Recovered): Verdict => {
    // Only an INVALID_FORMAT answer to a corrupted image needs the (costly) look at its head.
    const foreign = check.corrupted && failureCode(recovered) === 'INVALID_FORMAT' ? looksForeign(capture.image, crashCase.corruption) : undefined;
    return judgeRecovered(recovered, capture.history, { ...check, looksForeign: foreign });
  };
  const verdict = judge(memo.recovered);
  if (!verdict.ok) return verdict;
  if (memo.onFullDisk !== null) {
    const full = judgeOnFullDisk(memo.onFullDisk, capture.history, judge);
    if (!full.ok) return full;
  }
  if (memo.throughReadError === null) return verdict;
  const flaky = judge(memo.throughReadError);
  return flaky.ok ? verdict : { ...flaky, detail: `with the case's read error striking recovery: ${flaky.detail}` };
}


/** What a current crashlab data file begins with: a magic (standalone or column families) and its version. */
const OUR_HEADS = [{ magic: MAGIC, version: FORMAT_VERSION }, { magic: MASTER_MAGIC, version: MASTER_VERSION }] as const;

/**
 * Whether the data file, corrupted, no longer begins as a current crashlab file (see
 * CheckOptions.looksForeign). Read off the corrupted image itself: a torn creation may never
 * have had its magic, and a live flip lands where earlier flips left live bytes.
 */
function looksForeign(image: CrashImage, corruption: readonly Corruption[]): boolean {
  const bytes = damageImage(image, corruption).fork(DEFAULT_CF_FILE_NAME);
  if (bytes === undefined || bytes.length < 12) return true;
  const head = bytes.read(0, 12);
  const version = new DataView(head.buffer, head.byteOffset, 12).getUint32(8, true);
  return !OUR_HEADS.some((ours) => ours.version === version && ours.magic.every((byte, i) => head[i] === byte));
}

/** What a process that exits (or fails) leaves: its page cache, every write and entry kept. */
const PROCESS_EXIT: CrashPlan = { survival: 'all', tear: false, sectorBytes: 4096, atomicSector: true, keepUnsyncedDirOps: true, seed: 0 };

/**
 * Besides every image of a case that fills its disk, one recovered image in this many is also
 * recovered on a disk with no room (recoverOnFullDisk): a full disk at reboot does not need a
 * full disk before the crash, and the recoveries that must write (a log to checkpoint) are
 * spread over all cases.
 */
const FULL_DISK_EVERY = 6;

async function recoverCapture(engine: EngineUnderTest, crashCase: CrashCase, captured: CrashImage, check: CheckOptions,
  fullDiskToo: boolean): Promise<Recoveries> {
  let image = damageImage(captured, crashCase.corruption);
  if (crashCase.recoveryCrash !== null) {
    check.probe?.enter('recovery-crash');
    image = await crashDuringRecovery(engine, crashCase, image, crashCase.recoveryCrash);
    check.probe?.enter('mount');
  }
  const unreadable = crashCase.corruption.filter((c): c is Extract<Corruption, { kind: 'unreadable' }> => c.kind === 'unreadable');
  const recovered = await recoverImage(engine, FaultyVfs.fromImage(image, { unreadable }), check);
  const failReadAt = crashCase.errors.failReadAt;
  const throughReadError = failReadAt === undefined ? null : await recoverThroughReadError(engine, image, unreadable, failReadAt, check);
  const onFullDisk = crashCase.errors.capacityBytes === undefined && !fullDiskToo ? null : await recoverOnFullDisk(engine, image, unreadable, check);
  return { mounted: image, recovered, throughReadError, onFullDisk };
}

/**
 * The case's full disk is still full after the reboot, with not one byte of room: recovery must
 * still serve every acknowledged commit (a store may refuse writes until space exists, never the
 * reads), so it is judged as the plain recovery is (`judgeOnFullDisk`).
 */
async function recoverOnFullDisk(engine: EngineUnderTest, image: CrashImage, unreadable: NonNullable<FaultyVfsOptions['unreadable']>,
  check: CheckOptions): Promise<Recovered> {
  return recoverImage(engine, FaultyVfs.fromImage(image, { unreadable, errors: { capacityBytes: image.sizeBytes() } }), check);
}

/**
 * A full-disk recovery's verdict: as any recovery's, except that failing with ENOSPC is allowed
 * while nothing was durable yet (every commit that must survive changes nothing: a second life's
 * start may hold an empty family): a store that never finished creating its files may need room
 * to create them, and there is nothing to lose.
 */
function judgeOnFullDisk(recovered: Recovered, history: CommitHistory, judge: (recovered: Recovered) => Verdict): Verdict {
  const nothingDurable = history.all().slice(0, history.acceptable().min).every((commit) => commit.ops.length === 0);
  if (nothingDurable && recovered !== 'hang' && 'error' in recovered && osErrorCode(recovered.error) === 'ENOSPC') return { ok: true, prefix: -1 };
  const verdict = judge(recovered);
  return verdict.ok ? verdict : { ...verdict, detail: `with the disk still full at recovery (not a byte of room): ${verdict.detail}` };
}

/**
 * The case's read error strikes recovery too (a flaky disk after the reboot): recovery must
 * fail with IO, never call the image corrupt or return wrong data, and the next attempt, on
 * what the failed one left (its page cache), must recover the image.
 */
async function recoverThroughReadError(engine: EngineUnderTest, image: CrashImage, unreadable: NonNullable<FaultyVfsOptions['unreadable']>,
  failReadAt: number, check: CheckOptions): Promise<Recovered> {
  const flaky = FaultyVfs.fromImage(image, { unreadable, errors: { failReadAt } });
  const first = await recoverImage(engine, flaky, check);
  if (failureCode(first) !== 'IO') return first;
  return recoverImage(engine, FaultyVfs.fromImage(flaky.crashSnapshot(PROCESS_EXIT).image, { unreadable }), check);
}

/**
 * Runs recovery on the image and returns what a second power cut at the planned fraction of
 * its I/O events leaves. One run: an image taken before each event is exactly what a second
 * run cut at that event would leave (the run before the cut is the same run), and the number
 * of events is known only at the end.
 */
async function crashDuringRecovery(engine: EngineUnderTest, crashCase: CrashCase, image: CrashImage,
  recoveryCrash: RecoveryCrash): Promise<CrashImage> {
  const before: CrashImage[] = [];
  const dry: FaultyVfs = FaultyVfs.fromImage(image, { onEvent: () => before.push(dry.crashSnapshot(recoveryCrash.plan).image) });
  await openAndClose(engine, dry, crashCase);
  const crashAtEvent = Math.floor(recoveryCrash.atFraction * dry.events);
  // No events at all: the cut never comes, and the run leaves what it ends with.
  return before[crashAtEvent] ?? dry.crashSnapshot(recoveryCrash.plan).image;
}

async function openAndClose(engine: EngineUnderTest, vfs: FaultyVfs, crashCase: CrashCase): Promise<void> {
  try {
    const db = await engine.ColumnFamilyDatabase.open(vfs, crashCase.workload.options);
    await db.close();
  } catch {
    // A power cut (or detected corruption) ends this recovery early: that is the point.
  }
}
