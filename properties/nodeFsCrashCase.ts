/**
 * One crash case against a node-fs target (targets/nodefs/): the library runs the workload
 * unchanged in a child whose `fs` is recorded (captureTrace.ts); crash images are built from the
 * trace by the file-system model asked for (`posix` or `ext4`, fault/traceCrash.ts) at a sample
 * of crash points, several plans each; every distinct image is recovered in a worker
 * (recoveryPool.ts) and judged by the one oracle against the commit history the trace's
 * markers give at that point. The lint (fault/traceLint.ts) says what each acknowledged commit
 * left unsynced: the explanation a reader wants first.
 *
 * A crash point is a position in the trace: the power fails before event `k` takes effect,
 * with every marker before `k` in the history. Positions right after an `acked` marker matter
 * most (everything acknowledged must be there), so they are always candidates.
 */
import { createHash } from 'node:crypto';
import { Prng } from '../fault/prng.js';
import { TraceCrashModel, type FsModelName, type TraceCrashPlan } from '../fault/traceCrash.js';
import { lintAcks, type AckLint } from '../fault/traceLint.js';
import { TraceError, type DirImage, type Trace, type TraceEvent } from '../fault/trace.js';
import { CommitHistory, type CommitRecord, type LogicalState } from '../model/commitHistory.js';
import type { DigestScope } from '../model/stateTimeline.js';
import type { ViolationKind } from '../recovery/classify.js';
import { captureTrace, type CaptureOptions, type CaptureResult, type CaptureServer } from '../targets/nodefs/captureTrace.js';
import type { TracedAdapter } from '../targets/nodefs/nodeFsAdapter.js';
import type { ImageRecoverer, Recovered } from '../targets/nodefs/recoveryPool.js';
import type { ContractLevel, TargetTxn } from '../targets/target.js';
import { crashPoints, breaks, judgeState } from './targetCrashCase.js';

export interface NodeFsCrashCase {
  readonly adapter: TracedAdapter;
  /** The adapter's module (path or file URL): loaded by the traced child and the recovery worker. */
  readonly adapterModule: string;
  /** Package name → the folder it is installed in (ensureTargetPackage's answers). */
  readonly packages: Readonly<Record<string, string>>;
  readonly txns: readonly TargetTxn[];
  readonly fsModel: FsModelName;
  readonly sectorBytes: 512 | 4096;
  readonly atomicSector: boolean;
  /** Crash points to sample, and plans (images) per point. */
  readonly pointsPerCase: number;
  readonly plansPerPoint: number;
  /** The survivals the plans cycle through (default all four; the conformance test keeps only `all`). */
  readonly survivals?: readonly TraceCrashPlan['survival'][] | undefined;
  readonly seed: number;
  readonly contract?: ContractLevel | undefined;
  readonly pool: ImageRecoverer;
  /** Captures in this server's worker threads (else a process per case). */
  readonly server?: CaptureServer | undefined;
  /** Captures instead of the fs recorder in `server`: another tier's (the native tier's strace), or the campaign's look-ahead (captureAhead.ts). */
  readonly capture?: ((txns: readonly TargetTxn[], seed: number) => Promise<CaptureResult>) | undefined;
  /** Replay this saved trace instead of running the library (a saved failure's own trace). */
  readonly savedTrace?: Trace | undefined;
  /** The child's bound (a library that never acknowledges is a hang). */
  readonly captureTimeoutMs?: number | undefined;
}

export interface NodeFsFinding {
  readonly kind: ViolationKind;
  readonly detail: string;
  /** The trace position the power failed before, and that event in words. */
  readonly crashAt: number;
  readonly point: string;
  readonly plan: TraceCrashPlan;
  readonly acknowledged: number;
}

export interface NodeFsCaseResult {
  readonly contract: ContractLevel;
  readonly fsModel: FsModelName;
  readonly events: number;
  /** Distinct images recovered (identical images are recovered once). */
  readonly images: number;
  /** (image, history) pairs judged. */
  readonly judged: number;
  readonly violation: NodeFsFinding | null;
  readonly findings: readonly NodeFsFinding[];
  readonly lint: readonly AckLint[];
  readonly trace: Trace;
  readonly traceHash: string;
}

const MAX_POINTS_PER_CASE = 1024;
/** A library that has not finished a small workload in this long is hung (the child is killed). */
const DEFAULT_CAPTURE_TIMEOUT_MS = 60_000;
const MAX_PLANS_PER_POINT = 64;
const SURVIVALS = ['none', 'all', 'prefix', 'subset'] as const;

export function traceHash(trace: Trace): string {
  const hash = createHash('sha256');
  for (const event of trace.events) {
    hash.update(JSON.stringify(event.kind === 'write' ? { ...event, data: event.data.length } : event));
    if (event.kind === 'write') hash.update(event.data);
  }
  return hash.digest('hex').slice(0, 16);
}

/** `a write of 42 bytes at 0 to inode 3`: the event the power failed before. */
export function describeEvent(event: TraceEvent | undefined): string {
  if (event === undefined) return 'the end of the run';
  switch (event.kind) {
    case 'write': return `a write of ${event.data.length} bytes at ${event.offsetBytes} to inode ${event.ino}`;
    case 'truncate': return `a truncate of inode ${event.ino} to ${event.sizeBytes} bytes`;
    case 'fsync': return `the ${event.dataOnly ? 'fdatasync' : 'fsync'} of inode ${event.ino}${event.ino === 0 ? ' (the root directory)' : ''}`;
    case 'rename': case 'link': return `the ${event.kind} ${event.from} → ${event.to}`;
    case 'create': case 'mkdir': case 'unlink': case 'rmdir': return `the ${event.kind} of ${event.path}`;
    case 'marker': return `the ${event.marker} marker of txn ${event.txn}`;
  }
}

/** Trace positions worth crashing at: before every state-changing event, after every ack, the end. */
function candidatePositions(events: readonly TraceEvent[]): number[] {
  const positions: number[] = [];
  for (let k = 0; k <= events.length; k++) {
    const before = events[k - 1];
    const at = events[k];
    if (k === events.length || at?.kind !== 'marker' || (before?.kind === 'marker' && before.marker === 'acked')) positions.push(k);
  }
  return positions;
}

/** The plans for one point: every survival in turn, torn or not, seeded by the case and the point. */
function plansAt(crashCase: NodeFsCrashCase, position: number): TraceCrashPlan[] {
  const prng = new Prng((crashCase.seed ^ Math.imul(position + 1, 0x9e3779b1)) >>> 0);
  const survivals = crashCase.survivals ?? SURVIVALS;
  return Array.from({ length: crashCase.plansPerPoint }, (_, i) => ({
    survival: survivals[i % survivals.length] ?? 'all',
    tear: Math.floor(i / survivals.length) % 2 === 1,
    sectorBytes: crashCase.sectorBytes,
    atomicSector: crashCase.atomicSector,
    seed: prng.nextU32(),
  }));
}

function imageKey(image: DirImage): string {
  const hash = createHash('sha256');
  for (const dir of image.dirs) hash.update(`d:${dir}\0`);
  for (const [name, bytes] of image.files) hash.update(`f:${name}:${bytes.length}\0`).update(bytes);
  return hash.digest('hex');
}

/**
 * The commit orders of one case's histories (each the history after some markers of the trace)
 * are prefixes of the whole trace's issue order, and a prefix's digest and state depend on the
 * commits' operations alone, never on their statuses: so they are computed once per case, over
 * the whole trace's history, instead of once per judgement (most of a judgement's cost).
 */
class CasePrefixes {
  private digests: number[] | null = null;
  private states: LogicalState[] | null = null;
  constructor(private readonly whole: CommitHistory) {}

  /** The first `count + 1` prefix digests, once `commits` are checked to be the whole order's first `count`. */
  digestsOf(commits: readonly CommitRecord[]): number[] {
    this.checkPrefix(commits);
    this.digests ??= this.whole.prefixDigests(this.whole.all(), { family: null });
    return this.digests.slice(0, commits.length + 1);
  }

  /** The first `count + 1` prefix states (shared: the oracle only reads them). */
  statesOf(commits: readonly CommitRecord[]): LogicalState[] {
    this.checkPrefix(commits);
    this.states ??= this.whole.prefixStates(this.whole.all());
    return this.states.slice(0, commits.length + 1);
  }

  private checkPrefix(commits: readonly CommitRecord[]): void {
    const whole = this.whole.all();
    // The same operation objects (issue copies the list, not the operations), in the same order.
    const same = (a: CommitRecord, b: CommitRecord | undefined): boolean => b !== undefined && a.index === b.index && a.family === b.family && a.change === b.change
      && a.ops.length === b.ops.length && a.ops.every((op, i) => op === b.ops[i]);
    if (commits.length > whole.length || !commits.every((commit, i) => same(commit, whole[i]))) {
      throw new Error('a case history whose commits are not a prefix of the whole trace\'s');
    }
  }
}

/** A case's history at one point, its prefix digests and states taken from the case's (CasePrefixes). */
class CaseHistory extends CommitHistory {
  constructor(private readonly prefixes: CasePrefixes | null) {
    super();
  }

  override prefixDigests(commits: readonly CommitRecord[], scope: DigestScope): number[] {
    return this.prefixes !== null && scope.family === null && commits === this.all() ? this.prefixes.digestsOf(commits) : super.prefixDigests(commits, scope);
  }

  override prefixStates(commits: readonly CommitRecord[] = this.all()): LogicalState[] {
    return this.prefixes !== null && commits === this.all() ? this.prefixes.statesOf(commits) : super.prefixStates(commits);
  }
}

/** The commit history after the markers of `events[0, position)`. */
function historyAt(crashCase: NodeFsCrashCase, events: readonly TraceEvent[], position: number, prefixes: CasePrefixes | null = null): CommitHistory {
  const history = new CaseHistory(prefixes);
  for (const txn of crashCase.txns) history.addFamily(txn.family);
  const issued = new Map<number, number>();
  for (const event of events.slice(0, position)) {
    if (event.kind !== 'marker') continue;
    const txn = crashCase.txns[event.txn];
    if (txn === undefined) throw new Error(`trace marker names txn ${event.txn}, the workload has ${crashCase.txns.length}`);
    if (event.marker === 'issued') issued.set(event.txn, history.issue(txn.family, txn.ops, txn.durability));
    else history.settle(issued.get(event.txn) ?? -1, 'acked');
  }
  return history;
}

interface Probe {
  readonly position: number;
  readonly plan: TraceCrashPlan;
  readonly key: string;
}

/** The saved trace, checked to belong to this case's workload (its markers name its transactions). */
function savedTraceOf(crashCase: NodeFsCrashCase): Trace {
  const trace = crashCase.savedTrace!;
  const issued = trace.events.filter((event) => event.kind === 'marker' && event.marker === 'issued').length;
  const foreign = trace.events.some((event) => event.kind === 'marker' && event.txn >= crashCase.txns.length);
  if (foreign || issued !== crashCase.txns.length) throw new TraceError(`the saved trace has markers of ${issued} transactions, this case has ${crashCase.txns.length}: it is the trace of another case (check --seed and --path)`);
  return trace;
}

/** What the capture of this case runs: the campaign's look-ahead draws the same requests. */
export function captureRequest(crashCase: Pick<NodeFsCrashCase, 'adapterModule' | 'packages' | 'txns' | 'seed' | 'captureTimeoutMs'>): Omit<CaptureOptions, 'server'> {
  return { adapterModule: crashCase.adapterModule, packages: crashCase.packages, workload: crashCase.txns, seed: crashCase.seed, timeoutMs: crashCase.captureTimeoutMs ?? DEFAULT_CAPTURE_TIMEOUT_MS };
}

export async function runNodeFsCrashCase(crashCase: NodeFsCrashCase): Promise<NodeFsCaseResult> {
  if (!(crashCase.pointsPerCase >= 1 && crashCase.pointsPerCase <= MAX_POINTS_PER_CASE)) throw new RangeError(`pointsPerCase must be in [1, ${MAX_POINTS_PER_CASE}], not ${crashCase.pointsPerCase}`);
  if (!(crashCase.plansPerPoint >= 1 && crashCase.plansPerPoint <= MAX_PLANS_PER_POINT)) throw new RangeError(`plansPerPoint must be in [1, ${MAX_PLANS_PER_POINT}], not ${crashCase.plansPerPoint}`);
  const contract = crashCase.contract ?? crashCase.adapter.contract.level;
  const { trace, outcome } = crashCase.savedTrace !== undefined ? { trace: savedTraceOf(crashCase), outcome: { kind: 'ok' as const } }
    : await (crashCase.capture ?? ((txns, seed) => captureTrace({ ...captureRequest({ ...crashCase, txns, seed }), server: crashCase.server })))(crashCase.txns, crashCase.seed);
  const events = trace.events;
  const base = { contract, fsModel: crashCase.fsModel, events: events.length, trace, traceHash: traceHash(trace), lint: lintAcks(events, crashCase.fsModel) };
  if (outcome.kind !== 'ok') {
    // No crash, no fault: the library refused valid work (or hung) while the power was on.
    const finding: NodeFsFinding = { kind: 'unexpected-error', detail: `with no crash the library failed${outcome.txn === null ? '' : ` txn ${outcome.txn}`}: ${outcome.message}`, crashAt: events.length, point: 'no crash', plan: plansAt(crashCase, 0)[0]!, acknowledged: 0 };
    return { ...base, images: 0, judged: 0, violation: contract === 'none' ? null : finding, findings: [finding] };
  }
  const candidates = candidatePositions(events);
  const positions = crashPoints(candidates.length, crashCase.pointsPerCase, crashCase.seed).map((index) => candidates[index] ?? events.length);
  const distinct = new Map<string, DirImage>();
  const probes: Probe[] = [];
  // One pass: the model is fed the trace once and asked for images at each chosen position.
  const model = new TraceCrashModel(crashCase.fsModel);
  for (const position of positions) {
    while (model.eventCount < position) model.apply(events[model.eventCount]!);
    for (const plan of plansAt(crashCase, position)) {
      const { image } = model.image(plan);
      const key = imageKey(image);
      if (!distinct.has(key)) distinct.set(key, image);
      probes.push({ position, plan, key });
    }
  }
  const keys = [...distinct.keys()];
  const answers = await crashCase.pool.recoverAll(keys.map((key) => distinct.get(key)!));
  const recovered = new Map(keys.map((key, i) => [key, answers[i]!]));
  const findings = judgeProbes(crashCase, events, probes, recovered);
  const violation = findings.find((finding) => breaks(contract, finding.kind, crashCase.adapter.contract)) ?? null;
  return { ...base, images: keys.length, judged: probes.length, violation, findings };
}

/** How many markers lie before each trace position: the history at a position is a function of that count alone. */
function markersBefore(events: readonly TraceEvent[]): number[] {
  const counts = [0];
  for (const event of events) counts.push(counts[counts.length - 1]! + (event.kind === 'marker' ? 1 : 0));
  return counts;
}

/** What a verdict depends on of a recovery: the state's rows, or the refusal's words. */
function answerKey(answer: Recovered): string {
  if (answer.kind === 'state') return `s:${answer.stateKey}`;
  return answer.kind === 'hang' ? 'h' : `r:${JSON.stringify([answer.message, answer.code ?? null])}`;
}

/**
 * Judges every probe; one finding per (position, kind), the first plan that shows it. A verdict
 * is a function of the history and the recovered answer alone, and the history of the markers
 * before the position: probes with the same marker count and answer share one judgement (most
 * plans at a point, and every point between two markers, give few distinct recovered states).
 */
function judgeProbes(crashCase: NodeFsCrashCase, events: readonly TraceEvent[], probes: readonly Probe[], recovered: ReadonlyMap<string, Recovered>): NodeFsFinding[] {
  const findings: NodeFsFinding[] = [];
  const seen = new Set<string>();
  const markers = markersBefore(events);
  const prefixes = new CasePrefixes(historyAt(crashCase, events, events.length));
  const histories = new Map<number, CommitHistory>();
  const verdicts = new Map<string, ReturnType<typeof verdictOf>>();
  for (const probe of probes) {
    const markerCount = markers[probe.position];
    const answer = recovered.get(probe.key);
    if (answer === undefined || markerCount === undefined) throw new Error('a probe without its recovery or outside the trace');
    let history = histories.get(markerCount);
    if (history === undefined) {
      history = historyAt(crashCase, events, probe.position, prefixes);
      histories.set(markerCount, history);
    }
    const memo = `${markerCount}:${answerKey(answer)}`;
    const verdict = verdicts.has(memo) ? verdicts.get(memo)! : verdictOf(history, answer);
    verdicts.set(memo, verdict);
    if (verdict === null || seen.has(`${probe.position}:${verdict.kind}`)) continue;
    seen.add(`${probe.position}:${verdict.kind}`);
    const acknowledged = history.all().filter((commit) => commit.status.startsWith('acked')).length;
    findings.push({ ...verdict, crashAt: probe.position, point: `before ${describeEvent(events[probe.position])}`, plan: probe.plan, acknowledged });
  }
  return findings;
}

function verdictOf(history: CommitHistory, answer: Recovered): { kind: ViolationKind; detail: string } | null {
  if (answer.kind === 'hang') return { kind: 'hang', detail: 'recovery answered nothing within the hang timeout' };
  if (answer.kind === 'refused') return { kind: 'unexpected-error', detail: `the library could not open the crash image: ${answer.message}` };
  const verdict = judgeState(history, answer.state);
  return verdict.ok ? null : { kind: verdict.kind, detail: verdict.detail };
}
