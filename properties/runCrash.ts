/**
 * Runs the crash property under one seed: fast-check draws crash cases (workload, engine
 * configuration, crash plan, faults), each case checks many crash images, and a failure is
 * shrunk (operations and faults together) and reported with its seed, its path and a
 * one-line command that replays exactly that case.
 *
 * No clock here (ARCHITECTURE.md section 6): callers time the campaign.
 */
import fc from 'fast-check';
import * as referenceEngine from '../engine/index.js';
import type { EngineUnderTest, StageProbe } from '../recovery/checkImage.js';
import { crashCaseArb, GENERATOR_VERSION, PROFILES, type CrashProfile } from './crashArbitraries.js';
import { runCrashCase, type CrashCase, type Violation } from './crashCase.js';
import { countShape, type CampaignShape } from './campaignShape.js';
import { assertPathNamesCase } from './replayPath.js';
import type { WorkloadTally } from './crashWorkload.js';

export type ProfileName = keyof typeof PROFILES;

export interface CrashRun {
  readonly seed: number;
  readonly numRuns: number;
  readonly profile: ProfileName;
  readonly barrier?: 'always' | 'wal-aware' | undefined;
  /** Which fault kinds to draw (the profile's own when undefined). */
  readonly faults?: Pick<CrashProfile, 'errors' | 'corruption' | 'recoveryCrash'> | undefined;
  /**
   * Engine options pinned for every case (CrashProfile.overrides). `crashReplayCommand` does
   * not carry faults or overrides: such a campaign (a certify cell) replays through its own command.
   */
  readonly overrides?: CrashProfile['overrides'];
  /** fast-check's path of one counterexample: replays exactly that case. */
  readonly path?: string | undefined;
  /** The engine under test; the reference engine by default, a patched copy for mutants. */
  readonly engine?: EngineUnderTest;
  /** Shrink a failure to a minimal case (default true); finding one is enough for mutants. */
  readonly shrink?: boolean;
  /** Told where each case spends its time (the harness benchmark); drawing cases counts as 'other'. */
  readonly probe?: StageProbe | undefined;
  /** One recovered image per case lives on (properties/secondLife.ts); default true. */
  readonly secondLife?: boolean | undefined;
}

export interface CrashFailure {
  readonly path: string;
  readonly counterexample: CrashCase;
  readonly violation: Violation;
  readonly replay: string;
}

export interface CrashCampaignResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly profile: ProfileName;
  readonly numRuns: number;
  /** Crash images recovered and judged (shrinking included). */
  readonly images: number;
  /** Of `images`, those judged in second lives; and the distinct first-life recoveries (byte-equal images count once). */
  readonly secondLifeImages?: number;
  readonly recoveries?: number;
  /** I/O events the workloads issued (the crash-point space). */
  readonly events: number;
  /** Crash images judged, by the I/O event the power failed before ("sync wal", "write data"...). */
  readonly crashPoints: Readonly<Record<string, number>>;
  /** What the cases exercised (properties/campaignShape.ts), shrinking included. */
  readonly shape: CampaignShape;
  readonly failure: CrashFailure | null;
}

/** Thrown inside the property so fast-check records (and shrinks) the violation. */
export class CrashViolation extends Error {
  constructor(readonly violation: Violation) {
    super(`${violation.kind} at I/O event ${violation.crashAt}: ${violation.detail}`);
    this.name = 'CrashViolation';
  }
}

/** The command that replays one case; it names the generator version, so another generator refuses it rather than run another case. */
export function crashReplayCommand(run: CrashRun, path: string): string {
  const barrier = run.barrier === undefined ? '' : ` --barrier ${run.barrier}`;
  return `node dist/cli/main.js run --seed ${run.seed} --profile ${run.profile}${barrier} --path '${path}' --runs 1 --generator ${GENERATOR_VERSION}`;
}

export function profileOf(run: Pick<CrashRun, 'profile' | 'barrier' | 'faults' | 'overrides'>): CrashProfile {
  const profile: CrashProfile = { ...PROFILES[run.profile], barrier: run.barrier };
  const faults = run.faults === undefined ? {} : { errors: run.faults.errors, corruption: run.faults.corruption, recoveryCrash: run.faults.recoveryCrash };
  return run.overrides === undefined ? { ...profile, ...faults } : { ...profile, ...faults, overrides: run.overrides };
}

/** The case a path names ran and passed: stop before fast-check tries the next one. */
class PathDone extends Error {}

export async function runCrashCampaign(run: CrashRun): Promise<CrashCampaignResult> {
  if (!(Number.isSafeInteger(run.seed) && run.seed >= 0 && run.seed < 2 ** 32)) throw new TypeError('seed must be an integer in [0, 2^32)');
  if (!(Number.isSafeInteger(run.numRuns) && run.numRuns >= 1)) throw new TypeError('numRuns must be a positive integer');
  const engine = run.engine ?? referenceEngine;
  let images = 0;
  let events = 0;
  let secondLifeImages = 0;
  let recoveries = 0;
  const crashPoints: Record<string, number> = {};
  const tally: WorkloadTally = { snapshots: 0, boundedRanges: 0 };
  const endShape = countShape(engine);
  const arb = crashCaseArb(profileOf(run));
  // A path names one case: check it does before anything runs, then run that case only (past a
  // passing value, fast-check would go on through its shrink siblings).
  if (run.path !== undefined) assertPathNamesCase(arb, run.seed, run.path);
  let executions = 0;
  const property = fc.asyncProperty(arb, async (crashCase) => {
    executions++;
    if (run.path !== undefined && executions > 1) throw new PathDone();
    const result = await runCrashCase(engine, crashCase, { probe: run.probe, secondLife: run.secondLife });
    run.probe?.enter('other');
    images += result.images;
    events += result.events;
    secondLifeImages += result.secondLifeImages ?? 0;
    recoveries += result.recoveries ?? 0;
    tally.snapshots += result.tally.snapshots;
    tally.boundedRanges += result.tally.boundedRanges;
    for (const [point, count] of Object.entries(result.crashPoints)) crashPoints[point] = (crashPoints[point] ?? 0) + count;
    if (result.violation !== null) throw new CrashViolation(result.violation);
  });
  const details = await fc.check(property, {
    seed: run.seed, numRuns: run.numRuns,
    endOnFailure: run.path !== undefined || run.shrink === false,
    ...(run.path === undefined ? {} : { path: run.path }),
  });
  const base = { seed: run.seed, profile: run.profile, numRuns: details.numRuns, images, events, crashPoints, secondLifeImages, recoveries, shape: endShape(tally) };
  if (details.errorInstance instanceof PathDone) return { ...base, numRuns: 1, ok: true, failure: null };
  if (!details.failed || details.counterexample === null || details.counterexamplePath === null) {
    return { ...base, ok: !details.failed, failure: null };
  }
  const error = details.errorInstance;
  if (!(error instanceof CrashViolation)) throw error;
  const path = details.counterexamplePath;
  return { ...base, ok: false, failure: { path, counterexample: details.counterexample[0], violation: error.violation, replay: crashReplayCommand(run, path) } };
}
