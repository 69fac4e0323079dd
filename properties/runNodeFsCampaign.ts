/**
 * The crash campaign for a node-fs target: fast-check draws workloads of what the adapter's
 * capabilities allow (small values: these stores rewrite or append whole documents), each case
 * is traced once and crashed at a sample of its trace positions under the file-system model
 * asked for, and a violation is shrunk and reported with its seed, path, fs model and a
 * one-line replay command. The failing case is then run once more: its trace must come out
 * byte-identical (the child's randomness, clock and pid are pinned), or the replay would not
 * show the same crash.
 */
import fc from 'fast-check';
import type { Trace } from '../fault/trace.js';
import type { FsModelName, TraceCrashPlan } from '../fault/traceCrash.js';
import type { AckLint } from '../fault/traceLint.js';
import type { TracedAdapter } from '../targets/nodefs/nodeFsAdapter.js';
import { CaptureAhead, MAX_LOOKAHEAD_REQUESTS } from '../targets/nodefs/captureAhead.js';
import { CaptureServer, captureTrace, type CaptureResult } from '../targets/nodefs/captureTrace.js';
import { RecoveryPool, type ImageRecoverer } from '../targets/nodefs/recoveryPool.js';
import { builtInNodeFsTargets } from '../targets/registry.js';
import type { ContractLevel, TargetTxn } from '../targets/target.js';
import { captureRequest, runNodeFsCrashCase, type NodeFsCaseResult, type NodeFsFinding } from './nodeFsCrashCase.js';
import { txnArb, type CampaignSettings } from './runTargetCampaign.js';

/**
 * How a traced tier captures and recovers: by default the fs recorder (in capture servers) and
 * recovery in worker threads; the native tier gives strace and recovery processes.
 */
export interface TracedDriver {
  readonly pool: () => ImageRecoverer;
  readonly capture: (txns: readonly TargetTxn[], seed: number) => Promise<CaptureResult>;
}

export interface NodeFsCampaign extends CampaignSettings {
  readonly adapter: TracedAdapter;
  /** The native tier's capture and recovery (absent: the node-fs tier's). */
  readonly driver?: TracedDriver | undefined;
  /** Only these survivals (a class of crash plan, as the SQLite cross-check compares); default all four. */
  readonly survivals?: readonly TraceCrashPlan['survival'][] | undefined;
  readonly adapterModule: string;
  /** Package name → the folder it is installed in. */
  readonly packages: Readonly<Record<string, string>>;
  readonly fsModel: FsModelName;
  readonly pointsPerCase?: number | undefined;
  readonly plansPerPoint?: number | undefined;
  /** With `path`: rebuild that case's images from this saved trace instead of running the library. */
  readonly savedTrace?: Trace | undefined;
  /** Recovery workers of this campaign's pool (default: the pool's, one per core up to 4); shards run at once share the cores. */
  readonly recoveryWorkers?: number | undefined;
  /** Capture in this server (shards run at once share one; the campaign does not close it) instead of a server of its own. */
  readonly captureServer?: CaptureServer | undefined;
}

export interface NodeFsCase {
  readonly txns: readonly TargetTxn[];
  readonly sectorBytes: 512 | 4096;
  readonly atomicSector: boolean;
  readonly seed: number;
}

export interface NodeFsCampaignResult {
  readonly ok: boolean;
  readonly target: string;
  readonly contract: ContractLevel;
  readonly fsModel: FsModelName;
  readonly seed: number;
  readonly cases: number;
  readonly crashImages: number;
  readonly judged: number;
  /** Violating cases found: the campaign stops at the first (0 or 1); `cases` counts shrinking runs too. */
  readonly violations: number;
  readonly findings: Readonly<Record<string, number>>;
  /** The first case's finding of each kind (for the README table and the plain report). */
  readonly examples: readonly NodeFsFinding[];
  readonly failure: {
    readonly path: string; readonly counterexample: NodeFsCase; readonly violation: NodeFsFinding; readonly replay: string;
    readonly traceHash: string; readonly replayedIdentically: boolean; readonly lint: readonly AckLint[]; readonly trace: Trace;
  } | null;
}

const DEFAULT_POINTS_PER_CASE = 128;
/** Workloads up to this many commits (drawn with fast-check's `medium` size): a capture costs a worker start, so a case should give many images. */
const MAX_TXNS = 40;
const DEFAULT_PLANS_PER_POINT = 8;
/** Values up to this size: the whole store is rewritten per commit by most of these libraries. */
const LARGE_VALUE_BYTES = 600;

export function nodeFsCaseArb(adapter: TracedAdapter): fc.Arbitrary<NodeFsCase> {
  return fc.record({
    txns: fc.array(txnArb(adapter.capabilities, LARGE_VALUE_BYTES), { minLength: 1, maxLength: MAX_TXNS, size: 'medium' }),
    sectorBytes: fc.constantFrom(512 as const, 4096 as const),
    atomicSector: fc.boolean(),
    seed: fc.nat(),
  });
}

/** `npx crashlab run --target lowdb --fs posix --seed S --path P --runs 1`. */
export function nodeFsReplayCommand(campaign: Pick<NodeFsCampaign, 'targetFlag' | 'seed' | 'contract' | 'fsModel'>, path: string): string {
  const contract = campaign.contract === undefined ? '' : ` --contract ${campaign.contract}`;
  return `npx crashlab run ${campaign.targetFlag} --fs ${campaign.fsModel} --seed ${campaign.seed} --path ${path} --runs 1${contract}`;
}

class NodeFsViolation extends Error {
  constructor(readonly result: NodeFsCaseResult, readonly finding: NodeFsFinding) {
    super(`${finding.kind}: ${finding.detail}`);
  }
}

/**
 * The look-ahead of a campaign's drawn cases (captureAhead.ts): the cases `fc.check` will draw
 * for this seed, in order. None for a replayed path or saved trace (one case, nothing to overlap).
 */
function captureAhead(campaign: NodeFsCampaign, capture: (txns: readonly TargetTxn[], seed: number) => Promise<CaptureResult>): CaptureAhead | null {
  if (campaign.path !== undefined || campaign.savedTrace !== undefined) return null;
  const drawn = fc.sample(nodeFsCaseArb(campaign.adapter), { seed: campaign.seed, numRuns: Math.min(campaign.numRuns, MAX_LOOKAHEAD_REQUESTS) });
  return new CaptureAhead(drawn.map(({ txns, seed }) => ({ txns, seed })), (request) => capture(request.txns, request.seed));
}

/**
 * Whether captures may share a thread (captureWorkerMain.ts) and images recover from memory
 * (memoryFs.ts): only for a built-in target's own module, whose reused traces are tested
 * byte-identical to fresh ones and whose recoveries from memory are tested equal to real
 * files'; an adapter of the user's gets a fresh thread per case and real files, since nothing
 * shows its library keeps no state across cases or calls only what the memory fs models.
 */
function isBuiltInModule(adapterModule: string): boolean {
  return builtInNodeFsTargets().some((target) => target.module === adapterModule);
}

export async function runNodeFsCampaign(campaign: NodeFsCampaign): Promise<NodeFsCampaignResult> {
  if (campaign.savedTrace !== undefined && campaign.path === undefined) throw new RangeError('a saved trace replays one case: give its path');
  const builtIn = isBuiltInModule(campaign.adapterModule);
  const pool = campaign.driver?.pool() ?? new RecoveryPool({ adapterModule: campaign.adapterModule, packages: campaign.packages, seed: campaign.seed, memory: builtIn, workers: campaign.recoveryWorkers });
  const server = campaign.driver === undefined ? campaign.captureServer ?? new CaptureServer() : undefined;
  const reuseWorker = builtIn;
  const capture = campaign.driver?.capture ?? ((txns: readonly TargetTxn[], seed: number): Promise<CaptureResult> => captureTrace({ ...captureRequest({ ...campaign, txns, seed }), server, reuseWorker }));
  const ahead = captureAhead(campaign, capture);
  const findings: Record<string, number> = {};
  const examples: NodeFsFinding[] = [];
  const totals = { cases: 0, crashImages: 0, judged: 0 };
  const runCase = (drawn: NodeFsCase): Promise<NodeFsCaseResult> => runNodeFsCrashCase({
    adapter: campaign.adapter, adapterModule: campaign.adapterModule, packages: campaign.packages, txns: drawn.txns,
    fsModel: campaign.fsModel, sectorBytes: drawn.sectorBytes, atomicSector: drawn.atomicSector, seed: drawn.seed, contract: campaign.contract, pool, server, capture: ahead === null ? capture : (txns, seed) => ahead.capture({ txns, seed }), savedTrace: campaign.savedTrace,
    pointsPerCase: campaign.pointsPerCase ?? DEFAULT_POINTS_PER_CASE, plansPerPoint: campaign.plansPerPoint ?? DEFAULT_PLANS_PER_POINT, survivals: campaign.survivals,
  });
  const property = fc.asyncProperty(nodeFsCaseArb(campaign.adapter), async (drawn) => {
    const result = await runCase(drawn);
    totals.cases++;
    totals.crashImages += result.images;
    totals.judged += result.judged;
    for (const finding of result.findings) {
      if (findings[finding.kind] === undefined) examples.push(finding);
      findings[finding.kind] = (findings[finding.kind] ?? 0) + 1;
    }
    campaign.onCase?.(totals.cases, totals.crashImages);
    if (result.violation !== null) {
      throw new NodeFsViolation(result, result.violation);
    }
  });
  try {
    const details = await fc.check(property, { seed: campaign.seed, numRuns: campaign.numRuns, endOnFailure: campaign.path !== undefined, ...(campaign.path === undefined ? {} : { path: campaign.path }) });
    const contract = campaign.contract ?? campaign.adapter.contract.level;
    const base = { target: campaign.adapter.name, contract, fsModel: campaign.fsModel, seed: campaign.seed, ...totals, violations: details.failed ? 1 : 0, findings, examples };
    if (!details.failed || details.counterexample === null || details.counterexamplePath === null) return { ...base, ok: !details.failed, failure: null };
    const error = details.errorInstance;
    if (!(error instanceof NodeFsViolation)) throw error;
    const counterexample = details.counterexample[0];
    const again = await runCase(counterexample);
    const path = details.counterexamplePath;
    const failure = {
      path, counterexample, violation: error.finding, replay: nodeFsReplayCommand(campaign, path), traceHash: error.result.traceHash,
      replayedIdentically: again.traceHash === error.result.traceHash, trace: error.result.trace, lint: error.result.lint.filter((item) => item.txn < error.finding.acknowledged + 1),
    };
    return { ...base, ok: false, failure };
  } finally {
    await ahead?.settle();
    if (server !== campaign.captureServer) server?.close();
    await pool.close();
  }
}
