/**
 * The crash campaign for any target (targets/target.ts): fast-check draws cases (a workload of
 * the operations the target's capabilities allow, a crash plan, sometimes injected errors),
 * each case is crashed at a sample of its I/O events and every image judged against the
 * target's contract (targetCrashCase.ts); a violation is shrunk and reported with its seed, its
 * path and a one-line replay command.
 *
 * Values are drawn as (length, fill) and expanded when the case runs, so a shrunk case stays
 * small to print while the bytes on disk span pages and overflow chains.
 */
import fc from 'fast-check';
import type { CrashPlan, ErrorPlan } from '../fault/faultyVfs.js';
import type { ContractLevel, Target, TargetCapabilities, TargetOp, TargetTxn } from '../targets/target.js';
import { runTargetCrashCase, type TargetFinding } from './targetCrashCase.js';

/** What every target campaign takes, whatever the tier. */
export interface CampaignSettings {
  /** How `--target` or `--adapter` named it, for the replay command. */
  readonly targetFlag: string;
  readonly seed: number;
  readonly numRuns: number;
  /** Judge against a stronger contract than the target's own. */
  readonly contract?: ContractLevel | undefined;
  /** fast-check's path of one counterexample: replays exactly that case. */
  readonly path?: string | undefined;
  /** Told after each case (progress lines). */
  readonly onCase?: ((cases: number, images: number) => void) | undefined;
}

export interface TargetCampaign extends CampaignSettings {
  readonly target: Target;
  /** Crash images per case (every event when the trace is shorter). */
  readonly imagesPerCase?: number | undefined;
  /** Only these survivals (a class of crash plan, as the SQLite cross-check compares); default all four. */
  readonly survivals?: readonly CrashPlan['survival'][] | undefined;
  /** Inject EIO, failed fsyncs and full disks in some cases (default true). */
  readonly injectErrors?: boolean | undefined;
  /** Only these `keepUnsyncedDirOps` (default all three). */
  readonly dirOps?: readonly CrashPlan['keepUnsyncedDirOps'][] | undefined;
  /** Only these `tear` (default both). */
  readonly tears?: readonly boolean[] | undefined;
}

export interface TargetCase {
  readonly txns: readonly TargetTxn[];
  readonly plan: CrashPlan;
  readonly errors: ErrorPlan | undefined;
  readonly seed: number;
}

export interface TargetCampaignResult {
  readonly ok: boolean;
  readonly target: string;
  readonly contract: ContractLevel;
  readonly seed: number;
  readonly cases: number;
  readonly crashImages: number;
  /** Violating cases found: the campaign stops at the first (0 or 1); `cases` counts shrinking runs too. */
  readonly violations: number;
  /** What the oracle found, by kind, whether the contract allows it or not. */
  readonly findings: Readonly<Record<string, number>>;
  readonly failure: { readonly path: string; readonly counterexample: TargetCase; readonly violation: TargetFinding; readonly replay: string } | null;
}

const DEFAULT_IMAGES_PER_CASE = 48;
const TABLES = ['t0', 't1'];

/** Bytes of a drawn value: a deterministic pattern of `lengthBytes` from `fill`. */
function valueOf(lengthBytes: number, fill: number): Uint8Array {
  const value = new Uint8Array(lengthBytes);
  for (let i = 0; i < lengthBytes; i++) value[i] = (fill + i * 31) & 0xff;
  return value;
}

/** Value lengths: mostly small, sometimes `largeBytes` (pages and overflow chains for an engine). */
function opArb(largeBytes: number): fc.Arbitrary<TargetOp> {
  const table = fc.constantFrom(...TABLES);
  const key = fc.integer({ min: 0, max: 40 }).map((k) => Uint8Array.of(k >> 4, k & 0xf));
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ table, key, length: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: largeBytes })), fill: fc.nat(255) })
      .map(({ table: t, key: k, length, fill }): TargetOp => ({ op: 'insert', table: t, key: k, value: valueOf(length, fill) })) },
    { weight: 3, arbitrary: fc.record({ table, key }).map(({ table: t, key: k }): TargetOp => ({ op: 'remove', table: t, key: k })) },
    { weight: 1, arbitrary: table.map((t): TargetOp => ({ op: 'clear', table: t })) },
  );
}

/** Transactions of what `capabilities` allow: families, `none` commits, several operations. */
export function txnArb(capabilities: TargetCapabilities, largeBytes = 6000): fc.Arbitrary<TargetTxn> {
  const families = capabilities.families ? ['f0', 'f1', 'f2'] : ['f0'];
  const durability = capabilities.noneCommits ? fc.constantFrom('immediate' as const, 'immediate' as const, 'none' as const) : fc.constant('immediate' as const);
  const maxOps = capabilities.transactions === false ? 1 : 6;
  return fc.record({ family: fc.constantFrom(...families), ops: fc.array(opArb(largeBytes), { minLength: 1, maxLength: maxOps }), durability });
}

export function targetCaseArb(target: Target, options: Pick<TargetCampaign, 'survivals' | 'injectErrors' | 'dirOps' | 'tears'> = {}): fc.Arbitrary<TargetCase> {
  const txn = txnArb(target.capabilities);
  const plan = fc.record({
    survival: fc.constantFrom(...(options.survivals ?? ['none' as const, 'all' as const, 'prefix' as const, 'subset' as const])),
    tear: fc.constantFrom(...(options.tears ?? [false, true])),
    sectorBytes: fc.constantFrom(512 as const, 4096 as const),
    atomicSector: fc.boolean(),
    keepUnsyncedDirOps: fc.constantFrom(...(options.dirOps ?? [false, true, 'some' as const])),
    seed: fc.nat(),
  });
  const errors = fc.option(fc.oneof(
    fc.record({ failSyncAt: fc.integer({ min: 0, max: 40 }) }),
    fc.record({ failWriteAt: fc.integer({ min: 0, max: 80 }) }),
    fc.record({ capacityBytes: fc.integer({ min: 8_192, max: 262_144 }) }),
  ), { freq: 4, nil: undefined });
  return fc.record({ txns: fc.array(txn, { minLength: 1, maxLength: 10 }), plan, errors: options.injectErrors === false ? fc.constant(undefined) : errors, seed: fc.nat() });
}

/** `crashlab run --target NAME --seed S --path P`: exactly one case, again. */
export function targetReplayCommand(campaign: Pick<TargetCampaign, 'targetFlag' | 'seed' | 'contract'>, path: string): string {
  const contract = campaign.contract === undefined ? '' : ` --contract ${campaign.contract}`;
  return `npx crashlab run ${campaign.targetFlag} --seed ${campaign.seed} --path ${path} --runs 1${contract}`;
}

class TargetViolation extends Error {
  constructor(readonly finding: TargetFinding) {
    super(`${finding.kind}: ${finding.detail}`);
  }
}

export async function runTargetCampaign(campaign: TargetCampaign): Promise<TargetCampaignResult> {
  const imagesPerCase = campaign.imagesPerCase ?? DEFAULT_IMAGES_PER_CASE;
  const findings: Record<string, number> = {};
  let cases = 0;
  let crashImages = 0;
  const property = fc.asyncProperty(targetCaseArb(campaign.target, campaign), async (drawn) => {
    const result = await runTargetCrashCase({ target: campaign.target, txns: drawn.txns, plan: drawn.plan, errors: drawn.errors, imagesPerCase, seed: drawn.seed, contract: campaign.contract });
    cases++;
    crashImages += result.images;
    for (const finding of result.findings) findings[finding.kind] = (findings[finding.kind] ?? 0) + 1;
    campaign.onCase?.(cases, crashImages);
    if (result.violation !== null) {
      throw new TargetViolation(result.violation);
    }
  });
  const details = await fc.check(property, {
    seed: campaign.seed, numRuns: campaign.numRuns, endOnFailure: campaign.path !== undefined,
    ...(campaign.path === undefined ? {} : { path: campaign.path }),
  });
  const contract = campaign.contract ?? campaign.target.contract.level;
  const base = { target: campaign.target.name, contract, seed: campaign.seed, cases, crashImages, violations: details.failed ? 1 : 0, findings };
  if (!details.failed || details.counterexample === null || details.counterexamplePath === null) return { ...base, ok: !details.failed, failure: null };
  const error = details.errorInstance;
  if (!(error instanceof TargetViolation)) throw error;
  const path = details.counterexamplePath;
  return { ...base, ok: false, failure: { path, counterexample: details.counterexample[0], violation: error.finding, replay: targetReplayCommand(campaign, path) } };
}
