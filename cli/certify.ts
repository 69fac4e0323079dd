/**
 * `crashlab certify`: runs the whole durability matrix within a time budget and writes a
 * certificate (certificate.json + certificate.md) that says what was tested against which
 * engine source: fault kinds (crash only; + injected errors; + corruption; + a crash during
 * recovery) x barrier policy x write-buffer budget x page size, plus the process-kill tiers.
 * `compareCertificates` diffs two certificates (before/after a durability change) and
 * `mergeCertificates` sums the certificates of CI shards.
 *
 * The time budget is shared evenly: the kill tiers run a fixed number of kills first, then
 * each crash cell gets an equal share of what is left (recomputed as cells finish, so an
 * overrunning cell does not starve the rest) and runs campaigns in chunks of runs, each chunk
 * under its own seed derived from (seed, shard, cell, chunk), until its share is used up.
 * At least one chunk per cell, so a tiny budget still touches every cell.
 *
 * Run as a script, it replays one failing case of a cell:
 *   node dist/cli/certify.js --replay CELL --seed S --path P
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import type { ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import * as referenceEngine from '../engine/index.js';
import type { EngineUnderTest } from '../recovery/checkImage.js';
import { crashCaseArb, PROFILES, type CrashProfile } from '../properties/crashArbitraries.js';
import { PLANTED_BUGS } from '../mutants/plantEngine.js';
import { engineFor } from './plant.js';
import { DEFAULT_KILL_RETRIES, runKillCampaign, type KillTier } from '../properties/processKill.js';
import { median, MUTANT_GROUPS, percentile, runMutants, type MutantResult, type MutantScore } from '../mutants/mutantRunner.js';
import { runCrashCampaign, type ProfileName } from '../properties/runCrash.js';
import { addShapes, EMPTY_SHAPE, formatShape, type CampaignShape } from '../properties/campaignShape.js';
import { deriveSeed, formatShard, type Shard } from '../properties/shard.js';
import { engineSourceHash as sourceHash, repoRoot } from './engineHash.js';
import { groupLine, mutantsSummary, verdictLine } from './mutantsCommand.js';

export const CERTIFICATE_FORMAT = 'crashlab-certificate/1';

export const FAULT_KINDS = ['crash', 'errors', 'corruption', 'recovery-crash'] as const;
export type FaultKind = typeof FAULT_KINDS[number];
export const BARRIERS = ['always', 'wal-aware'] as const;
export type Barrier = typeof BARRIERS[number];
/** Write-buffer budgets in pages: eviction on nearly every commit, sometimes, never. */
export const WRITE_BUFFER_PAGES = [2, 16, 1024] as const;
export const PAGE_BYTES = [512, 4096] as const;
export const KILL_TIERS = ['plain', 'power'] as const satisfies readonly KillTier[];

/** The workload sizes of every crash cell (a named profile, so the numbers mean something). */
export const CERTIFY_PROFILE: ProfileName = 'default';
export const DEFAULT_KILLS_PER_TIER = 2;

export interface CertifyOptions {
  readonly budgetSeconds: number;
  readonly seed: number;
  /** This machine's shard: every cell runs under the shard's own seeds. */
  readonly shard?: Shard | undefined;
  /** Kills per process-kill tier (default 2; 0 skips the tiers). */
  readonly killsPerTier?: number | undefined;
  /** The engine under test (default: the reference engine). Kill tiers always run the reference engine, so they are skipped for another. */
  readonly engine?: EngineUnderTest | undefined;
  /** Names the engine in the certificate (default 'reference', or 'custom' when `engine` is given). */
  readonly engineLabel?: string | undefined;
  /** Where a failed kill keeps its directory (killed image, reports, case) for its deterministic replay; the system's temporary folder by default. */
  readonly killsDir?: string | undefined;
  /** The mutant `engine` is (`certify --plant NAME`): part of the certificate's identity, and of its replay commands. */
  readonly plant?: string | undefined;
  /**
   * Shrink violations before reporting them: 'first' (the default) shrinks only the first one
   * found, so that a badly broken engine (a violation in every cell) still ends near the budget.
   */
  readonly shrink?: boolean | 'first' | undefined;
  /** Told the progress of each phase (`lasting`: a line that stays, like a verdict); for the CLI. */
  readonly onProgress?: Progress | undefined;
  /**
   * The mutation run (crashlab mutants, automatic mutants included) after the matrix: its part
   * of `budgetSeconds` (default DEFAULT_MUTANTS_SHARE of it; 0 skips it), optionally only some
   * mutants. A surviving non-equivalent mutant fails the certificate; one not killed in time
   * makes it inconclusive.
   */
  readonly mutants?: { readonly budgetSeconds: number; readonly only?: readonly string[] | undefined } | undefined;
}


/** The harness's power, measured against the engine's mutants: what `certificateOk` also requires. */
export interface CertificateMutation {
  readonly score: number;
  readonly killed: number;
  readonly survived: number;
  readonly equivalent: number;
  readonly errors: number;
  readonly excluded: number;
  readonly medianMsToKill: number | null;
  /** The 90th percentile time to kill (absent in certificates from before it was measured). */
  readonly p90MsToKill?: number | null | undefined;
  readonly maxMsToKill: number | null;
  readonly budgetSeconds: number;
  /** Mutants not killed (survived or errored), with what they stand for. */
  readonly survivors: ReadonlyArray<{ readonly name: string; readonly status: string; readonly description: string }>;
  /** Mutants not killed before their time ran out, seeds left untried (absent in older certificates). */
  readonly inconclusive?: ReadonlyArray<{ readonly name: string; readonly status: string; readonly description: string }> | undefined;
  /** Killed mutants by the violation kind that killed them. */
  readonly killedBy: Record<string, number>;
  /** Kill rate and times per group: the catalog, durability operators, structural operators (absent in older certificates). */
  readonly groups?: Readonly<Record<string, MutantScore>> | undefined;
  /** The times to kill per group, so that merge can add shards' runs up (absent in older certificates). */
  readonly killTimesMs?: Readonly<Record<string, readonly number[]>> | undefined;
  /** The shards whose mutants this covers (each shard runs every N-th mutant). */
  readonly shards?: readonly string[] | undefined;
}

export interface FaultCounts {
  /** Crash images recovered and judged (each one a power cut survived). */
  crash: number;
  /** Cases that drew an injected error plan (EIO/ENOSPC/fsyncgate) and passed. */
  errors: number;
  /** Cases that drew corruption (bit flips, unreadable sectors) and passed. */
  corruption: number;
  /** Cases that drew a second crash during recovery and passed. */
  'recovery-crash': number;
  /** Process kills survived (both tiers). */
  kill: number;
}

export interface CertificateChunk {
  readonly seed: number;
  readonly runs: number;
  readonly shard: string;
}

export interface CertificateCell {
  readonly id: string;
  readonly kind: 'crash' | 'kill';
  readonly faults: FaultKind | null;
  readonly barrier: Barrier | null;
  readonly writeBufferPages: number | null;
  readonly pageBytes: number | null;
  readonly tier: KillTier | null;
  /** Cases (crash cells) or kills (kill tiers). */
  runs: number;
  images: number;
  events: number;
  violations: number;
  ms: number;
  chunks: CertificateChunk[];
  faultsSurvived: FaultCounts;
  /** Crash images judged, by what the power cut interrupted ("sync wal", "write data"...). */
  crashPoints: Record<string, number>;
  /** What the cell's cases exercised (properties/campaignShape.ts); absent in older certificates. */
  shape?: CampaignShape;
  /** Why the cell did not run (e.g. kill tiers against a planted engine), else null. */
  skipped: string | null;
}

export interface CertificateFailure {
  readonly cell: string;
  readonly shard: string;
  readonly seed: number;
  readonly path: string | null;
  readonly kind: string;
  readonly detail: string;
  /** The I/O event the power failed before (crash cells), else null. */
  readonly crashAt: number | null;
  readonly replay: string;
  /** A kill-tier failure: the command that reruns the kill itself, with retries (its `replay` re-judges the kept image). */
  readonly rerun?: string | undefined;
}

export interface Certificate {
  readonly format: typeof CERTIFICATE_FORMAT;
  /** `plant`: the mutant certified instead of the engine (absent in older certificates: none); merge refuses to mix plants. */
  readonly engine: { readonly label: string; readonly hash: string; readonly hashedFrom: string; readonly files: number; readonly plant?: string | null };
  readonly createdAt: string;
  readonly seeds: number[];
  /** 'I/N' of every shard this certificate covers ('1/1': unsharded). */
  readonly shards: string[];
  readonly profile: ProfileName;
  readonly budgetSeconds: number;
  /** Wall-clock time summed over the merged runs. */
  readonly elapsedMs: number;
  readonly matrix: {
    readonly faults: readonly FaultKind[];
    readonly barriers: readonly Barrier[];
    readonly writeBufferPages: readonly number[];
    readonly pageBytes: readonly number[];
    readonly killTiers: readonly KillTier[];
    readonly killsPerTier: number;
  };
  readonly cells: CertificateCell[];
  readonly totals: {
    readonly runs: number;
    readonly images: number;
    readonly events: number;
    readonly kills: number;
    readonly violations: number;
    readonly faultsSurvived: FaultCounts;
    /** What the crash cells' cases exercised, summed (the deepest tree over all); absent in older certificates. */
    readonly shape?: CampaignShape;
  };
  readonly failures: CertificateFailure[];
  /** killed / (killed + survived) over the engine's mutants; null when not measured. */
  readonly mutationScore: number | null;
  /** The mutation run in detail; null when skipped (budget 0, another engine, or a shard other than 1). */
  readonly mutation: CertificateMutation | null;
  /** Why the mutation run was skipped, else null. */
  readonly mutationSkipped: string | null;
  /** How the whole budget was split (absent in older certificates). */
  readonly budgetSplit?: BudgetSplit | undefined;
}

const noFaults = (): FaultCounts => ({ crash: 0, errors: 0, corruption: 0, 'recovery-crash': 0, kill: 0 });

export function crashCellId(faults: FaultKind, barrier: Barrier, writeBufferPages: number, pageBytes: number): string {
  return `${faults}/${barrier}/buf${writeBufferPages}/page${pageBytes}`;
}

interface CrashCellSpec {
  readonly id: string;
  readonly faults: FaultKind;
  readonly barrier: Barrier;
  readonly writeBufferPages: number;
  readonly pageBytes: number;
}

function crashCells(): CrashCellSpec[] {
  const cells: CrashCellSpec[] = [];
  for (const faults of FAULT_KINDS) {
    for (const barrier of BARRIERS) {
      for (const writeBufferPages of WRITE_BUFFER_PAGES) {
        for (const pageBytes of PAGE_BYTES) cells.push({ id: crashCellId(faults, barrier, writeBufferPages, pageBytes), faults, barrier, writeBufferPages, pageBytes });
      }
    }
  }
  return cells;
}

/** The crash profile of a cell id (`FAULTS/BARRIER/bufPAGES/pageBYTES`); throws a TypeError for an unknown id. */
export function cellProfile(id: string): CrashProfile {
  const match = /^(crash|errors|corruption|recovery-crash)\/(always|wal-aware)\/buf(\d+)\/page(\d+)$/.exec(id);
  if (match === null) throw new TypeError(`not a crash cell id (FAULTS/BARRIER/bufPAGES/pageBYTES, e.g. errors/wal-aware/buf16/page4096): ${JSON.stringify(id)}`);
  const faults = match[1] as FaultKind;
  const barrier = match[2] as Barrier;
  const pages = Number(match[3]);
  const pageBytes = Number(match[4]);
  const overrides: Partial<ColumnFamilyOptions> = { barrier, pageBytes, writeBufferBytes: pages * pageBytes };
  return {
    ...PROFILES[CERTIFY_PROFILE],
    errors: faults === 'errors', corruption: faults === 'corruption', recoveryCrash: faults === 'recovery-crash',
    barrier, overrides,
  };
}

/** The command that replays one case of a cell; `plant` names a planted bug (PLANTED_BUGS) to replay against. */
export function cellReplayCommand(cell: string, seed: number, casePath: string, plant?: string): string {
  const planted = plant === undefined ? '' : ` --plant ${plant}`;
  return `node dist/cli/certify.js --replay ${cell} --seed ${seed} --path '${casePath}'${planted}`;
}

// ---------------------------------------------------------------------------------------------
// Engine source hash

/**
 * sha256 over the sorted engine/*.ts sources (the repository's engine/ folder), else over
 * dist/engine/*.js: the same hash a failure record carries (cli/engineHash.ts).
 */
export async function engineSourceHash(): Promise<{ hash: string; hashedFrom: string; files: number }> {
  const root = repoRoot();
  const sources = path.join(root, 'engine');
  const [dir, suffix, hashedFrom] = existsSync(sources) ? [sources, '.ts', 'engine/*.ts'] : [path.join(root, 'dist', 'engine'), '.js', 'dist/engine/*.js'];
  const files = (await readdir(dir)).filter((name) => name.endsWith(suffix) && !name.endsWith('.d.ts')).length;
  if (files === 0) throw new Error(`no engine sources found to hash in ${dir}`);
  return { hash: sourceHash(root), hashedFrom, files };
}

// ---------------------------------------------------------------------------------------------
// Running the matrix

/** Counts the fault kinds the cases of a passing chunk drew (fc.sample draws what fc.check ran). */
function countDrawnFaults(profile: CrashProfile, seed: number, runs: number, into: FaultCounts): void {
  if (!profile.errors && !profile.corruption && !profile.recoveryCrash) return;
  for (const crashCase of fc.sample(crashCaseArb(profile), { seed, numRuns: runs })) {
    if (Object.keys(crashCase.errors).length > 0) into.errors += 1;
    if (crashCase.corruption.length > 0) into.corruption += 1;
    if (crashCase.recoveryCrash !== null) into['recovery-crash'] += 1;
  }
}

const FIRST_CHUNK_RUNS = 2;
const MAX_CHUNK_RUNS = 400;

async function runCrashCell(spec: CrashCellSpec, cellSeed: number, shareMs: number, options: CertifyOptions, shardText: string,
  cell: CertificateCell, failures: CertificateFailure[]): Promise<void> {
  const profile = cellProfile(spec.id);
  const started = performance.now();
  let msPerRun = 0;
  let lastRuns = FIRST_CHUNK_RUNS;
  for (let chunk = 0; ; chunk++) {
    const spent = performance.now() - started;
    const left = shareMs - spent;
    if (chunk > 0 && (left <= 0 || left < msPerRun)) break;
    // Later runs of a campaign draw bigger cases (fast-check grows sizes), so a chunk at most
    // doubles the last one: an estimate from small runs would overshoot the share.
    const runs = chunk === 0 ? FIRST_CHUNK_RUNS : Math.max(1, Math.min(MAX_CHUNK_RUNS, 2 * lastRuns, Math.floor(left / Math.max(msPerRun, 1))));
    lastRuns = runs;
    const seed = deriveSeed(cellSeed, chunk);
    const chunkStarted = performance.now();
    const shrinkOption = options.shrink ?? 'first';
    const result = await runCrashCampaign({
      seed, numRuns: runs, profile: CERTIFY_PROFILE, barrier: spec.barrier, faults: profile, overrides: profile.overrides,
      ...(options.engine === undefined ? {} : { engine: options.engine }),
      shrink: shrinkOption === 'first' ? failures.length === 0 : shrinkOption,
    });
    const chunkMs = performance.now() - chunkStarted;
    cell.runs += result.numRuns;
    cell.images += result.images;
    cell.events += result.events;
    addCounts(cell.crashPoints, result.crashPoints);
    cell.shape = addShapes(cell.shape, result.shape);
    cell.chunks.push({ seed, runs: result.numRuns, shard: shardText });
    if (result.ok) {
      cell.faultsSurvived.crash += result.images;
      countDrawnFaults(profile, seed, result.numRuns, cell.faultsSurvived);
      msPerRun = chunkMs / Math.max(1, result.numRuns);
      continue;
    }
    cell.violations += 1;
    const failure = result.failure;
    failures.push(failure === null
      ? { cell: spec.id, shard: shardText, seed, path: null, kind: 'campaign-failed', detail: 'the campaign failed without a violation', crashAt: null, replay: `node dist/cli/certify.js --replay ${spec.id} --seed ${seed} --runs ${runs}` }
      : {
        cell: spec.id, shard: shardText, seed, path: failure.path, kind: failure.violation.kind, detail: failure.violation.detail,
        crashAt: failure.violation.crashAt,
        replay: cellReplayCommand(spec.id, seed, failure.path, plantOf(options) ?? undefined),
      });
    break; // one violation per cell is enough: it is what the certificate must show
  }
  cell.ms = performance.now() - started;
}

/** The mutant a certify run certifies: `plant`, or a catalog name given as the label; null for the engine itself. */
function plantOf(options: Pick<CertifyOptions, 'plant' | 'engineLabel'>): string | null {
  if (options.plant !== undefined) return options.plant;
  return PLANTED_BUGS.some((bug) => bug.name === options.engineLabel) ? options.engineLabel! : null;
}

function emptyCell(fields: Pick<CertificateCell, 'id' | 'kind' | 'faults' | 'barrier' | 'writeBufferPages' | 'pageBytes' | 'tier'>): CertificateCell {
  return { ...fields, runs: 0, images: 0, events: 0, violations: 0, ms: 0, chunks: [], faultsSurvived: noFaults(), crashPoints: {}, shape: EMPTY_SHAPE, skipped: null };
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>> | undefined): void {
  for (const [key, count] of Object.entries(from ?? {})) into[key] = (into[key] ?? 0) + count;
}

/** Which I/O events the power was cut before, summed per barrier policy: the coverage of the sync points. */
function crashPointsByBarrier(cells: readonly CertificateCell[]): string[] {
  const byBarrier = new Map<string, Record<string, number>>();
  for (const cell of cells) {
    if (cell.barrier === null) continue;
    const into = byBarrier.get(cell.barrier) ?? {};
    addCounts(into, cell.crashPoints);
    byBarrier.set(cell.barrier, into);
  }
  const points = [...new Set([...byBarrier.values()].flatMap((counts) => Object.keys(counts)))].sort();
  const barriers = [...byBarrier.keys()];
  return [
    `| crash point | ${barriers.join(' | ')} |`,
    `| --- | ${barriers.map(() => '---:').join(' | ')} |`,
    ...points.map((point) => `| ${point} | ${barriers.map((b) => byBarrier.get(b)?.[point] ?? 0).join(' | ')} |`),
  ];
}

function totalsOf(cells: readonly CertificateCell[]): Certificate['totals'] {
  const faultsSurvived = noFaults();
  let runs = 0; let images = 0; let events = 0; let kills = 0; let violations = 0;
  let shape = EMPTY_SHAPE;
  for (const cell of cells) {
    shape = addShapes(shape, cell.shape);
    if (cell.kind === 'kill') kills += cell.runs; else runs += cell.runs;
    images += cell.images;
    events += cell.events;
    violations += cell.violations;
    for (const key of Object.keys(faultsSurvived) as (keyof FaultCounts)[]) faultsSurvived[key] += cell.faultsSurvived[key];
  }
  return { runs, images, events, kills, violations, faultsSurvived, shape };
}

/** The mutants' part of the whole budget when --mutants-budget does not set it. */
export const DEFAULT_MUTANTS_SHARE = 0.5;

/** How certify spends `--budget`: the matrix (kill tiers, then the crash cells), then the mutants. */
export interface BudgetSplit {
  readonly matrixSeconds: number;
  readonly mutantsSeconds: number;
  /** Why the mutants do not run (their part then goes to the matrix), else null. */
  readonly mutantsSkipped: string | null;
}

/** The split of the whole budget, stated before anything runs; a mutants budget not below the whole is a TypeError (exit 2). */
export function budgetSplit(options: Pick<CertifyOptions, 'budgetSeconds' | 'mutants' | 'engine' | 'shard'>): BudgetSplit {
  const whole = options.budgetSeconds;
  const given = options.mutants?.budgetSeconds;
  const skipped = given === 0 ? 'the mutants budget is 0'
    : options.engine !== undefined && options.engine !== referenceEngine ? 'mutants are patches of the reference engine; not run against another engine' : null;
  if (skipped !== null) return { matrixSeconds: whole, mutantsSeconds: 0, mutantsSkipped: skipped };
  if (given !== undefined && given >= whole) {
    throw new TypeError(`--mutants-budget ${given} must be less than --budget ${whole}: --budget is the whole time, the mutants' part included`);
  }
  const mutantsSeconds = given ?? Math.max(1, Math.round(whole * DEFAULT_MUTANTS_SHARE));
  return { matrixSeconds: whole - mutantsSeconds, mutantsSeconds, mutantsSkipped: null };
}

/** The split in words, as certify states it at the start. */
export function describeSplit(split: BudgetSplit, whole: number): string {
  const matrix = `${split.matrixSeconds} s for the matrix (the kill tiers, then ${crashCells().length} crash cells in equal shares)`;
  return `budget ${whole} s in all: ${matrix}, ${split.mutantsSkipped === null ? `${split.mutantsSeconds} s for the mutants (--mutants-budget sets it)` : `no mutants (${split.mutantsSkipped})`}`;
}

/** The kill tiers: a fixed number of kills (real processes), both tiers in one campaign; skipped against another engine. */
async function runKillTiers(options: CertifyOptions, killsPerTier: number, shardSeed: number, shardText: string, failures: CertificateFailure[], progress: Progress): Promise<CertificateCell[]> {
  const killCells = KILL_TIERS.map((tier) => emptyCell({ id: `kill/${tier}`, kind: 'kill', faults: null, barrier: null, writeBufferPages: null, pageBytes: null, tier }));
  const skipped = options.engine !== undefined && options.engine !== referenceEngine ? 'process kills run the reference engine only; not run against another engine'
    : killsPerTier === 0 ? 'killsPerTier is 0' : null;
  if (skipped !== null) {
    for (const cell of killCells) cell.skipped = skipped;
    return killCells;
  }
  progress(`kill tiers: ${killsPerTier * KILL_TIERS.length} SIGKILLs...`, false);
  const killSeed = deriveSeed(shardSeed, 0x6b696c6c);
  const killStarted = performance.now();
  const result = await runKillCampaign({ seed: killSeed, kills: killsPerTier * KILL_TIERS.length, tier: 'both', profile: PROFILES.quick, concurrency: 2, keepFailedDir: options.killsDir ?? true });
  const killMs = performance.now() - killStarted;
  for (const cell of killCells) {
    const counts = result.byTier[cell.tier!];
    cell.runs = counts.kills;
    cell.images = counts.kills;
    cell.ms = killMs / KILL_TIERS.length;
    cell.chunks.push({ seed: killSeed, runs: counts.kills, shard: shardText });
    cell.violations = result.failure !== null && result.failure.tier === cell.tier ? 1 : 0;
    cell.faultsSurvived.kill = counts.clean;
  }
  if (result.failure !== null) {
    const verdict = result.failure.result.verdict;
    failures.push({
      cell: `kill/${result.failure.tier}`, shard: shardText, seed: result.failure.caseSeed, path: null,
      kind: verdict.ok ? 'kill-violation' : verdict.kind, detail: verdict.ok ? 'the kill case failed' : verdict.detail,
      crashAt: null, replay: result.failure.replay, rerun: result.failure.rerun,
    });
  }
  for (const cell of killCells) progress(`${cell.violations === 0 ? 'ok' : 'FAILED'}: ${cell.id}: ${cell.runs} kills`, true);
  return killCells;
}

/** A progress report: `lasting` lines stay (a verdict, a failed cell), the others show the state of a long phase. */
export type Progress = (line: string, lasting: boolean) => void;

/** The crash cells in turn, each an equal share of the matrix time left. */
async function runCrashCells(options: CertifyOptions, shardSeed: number, shardText: string, deadline: number, failures: CertificateFailure[], progress: Progress): Promise<CertificateCell[]> {
  const specs = crashCells();
  const cells: CertificateCell[] = [];
  let images = 0;
  for (const [index, spec] of specs.entries()) {
    const cell = emptyCell({ id: spec.id, kind: 'crash', faults: spec.faults, barrier: spec.barrier, writeBufferPages: spec.writeBufferPages, pageBytes: spec.pageBytes, tier: null });
    const shareMs = Math.max(0, (deadline - performance.now()) / (specs.length - index));
    await runCrashCell(spec, deriveSeed(shardSeed, index + 1), shareMs, options, shardText, cell, failures);
    cells.push(cell);
    images += cell.images;
    if (cell.violations > 0) progress(`FAILED: ${cell.id}: ${cell.runs} cases, ${cell.images} crash images, ${cell.events} I/O events, ${Math.round(cell.ms)} ms`, true);
    const left = Math.max(0, Math.round((deadline - performance.now()) / 1000));
    progress(`matrix: ${index + 1}/${specs.length} cells, ${images} crash images, ${failures.length} violations, ${left} s left`, false);
  }
  return cells;
}

/** Runs the certification matrix and the mutants within `budgetSeconds` (the whole) and returns its certificate. */
export async function runCertify(options: CertifyOptions): Promise<Certificate> {
  if (!(Number.isFinite(options.budgetSeconds) && options.budgetSeconds > 0)) throw new TypeError(`budgetSeconds must be a positive number, not ${options.budgetSeconds}`);
  if (!(Number.isSafeInteger(options.seed) && options.seed >= 0 && options.seed < 2 ** 32)) throw new TypeError(`seed must be an integer in [0, 2^32), not ${options.seed}`);
  const killsPerTier = options.killsPerTier ?? DEFAULT_KILLS_PER_TIER;
  if (!(Number.isSafeInteger(killsPerTier) && killsPerTier >= 0)) throw new TypeError(`killsPerTier must be a non-negative integer, not ${killsPerTier}`);
  const split = budgetSplit(options);
  const shard = options.shard ?? { index: 1, total: 1 };
  const shardText = formatShard(shard);
  // Shard 1/1 keeps the given seed; shard I/N runs under its own.
  const shardSeed = shard.total === 1 ? options.seed : deriveSeed(options.seed, shard.index);
  const progress: Progress = options.onProgress ?? (() => undefined);
  const started = performance.now();
  const engineInfo = await engineSourceHash();
  const failures: CertificateFailure[] = [];
  const killCells = await runKillTiers(options, killsPerTier, shardSeed, shardText, failures, progress);
  const cells = await runCrashCells(options, shardSeed, shardText, started + split.matrixSeconds * 1000, failures, progress);
  cells.push(...killCells);
  // The mutants get their part, or what is left of the whole if the matrix overran (at least a second).
  const leftSeconds = Math.max(1, Math.floor(options.budgetSeconds - (performance.now() - started) / 1000));
  const mutation = split.mutantsSkipped === null
    ? await runCertifyMutants(Math.min(split.mutantsSeconds, leftSeconds), options.mutants?.only, shard, progress)
    : { result: null, skipped: split.mutantsSkipped };

  return {
    format: CERTIFICATE_FORMAT,
    engine: options.engine === undefined || options.engine === referenceEngine
      ? { label: options.engineLabel ?? 'reference', ...engineInfo, plant: null }
      : { label: options.engineLabel ?? options.plant ?? 'custom', ...engineInfo, hashedFrom: `${engineInfo.hashedFrom}; the engine under test is a patched copy of these sources`, plant: plantOf(options) },
    createdAt: new Date().toISOString(),
    seeds: [options.seed],
    shards: [shardText],
    profile: CERTIFY_PROFILE,
    budgetSeconds: options.budgetSeconds,
    elapsedMs: Math.round(performance.now() - started),
    matrix: { faults: FAULT_KINDS, barriers: BARRIERS, writeBufferPages: WRITE_BUFFER_PAGES, pageBytes: PAGE_BYTES, killTiers: KILL_TIERS, killsPerTier },
    cells,
    totals: totalsOf(cells),
    failures,
    mutationScore: mutation.result?.score ?? null,
    mutation: mutation.result,
    mutationSkipped: mutation.skipped,
    budgetSplit: split,
  };
}

/** Runs the engine's mutants (after the matrix) on their part of the budget, printing each verdict as it lands. */
async function runCertifyMutants(budgetSeconds: number, only: readonly string[] | undefined, shard: Shard, progress: Progress): Promise<{ result: CertificateMutation | null; skipped: string | null }> {
  progress(`mutants: ${budgetSeconds} s${shard.total === 1 ? '' : `, shard ${formatShard(shard)}: every ${shard.total}th mutant`}...`, false);
  const report = await runMutants({ budgetSeconds, automatic: true, only, shard, onResult: (m, done, total) => progress(verdictLine(m, done, total).trimStart(), true) });
  const killTimesMs = Object.fromEntries(MUTANT_GROUPS.map((group) => [group, report.mutants.flatMap((m) => (m.group === group && m.msToKill !== null ? [m.msToKill] : []))]));
  const killedBy: Record<string, number> = {};
  for (const m of report.mutants) if (m.status === 'killed' && m.kind !== null) killedBy[m.kind] = (killedBy[m.kind] ?? 0) + 1;
  const named = (m: MutantResult): { name: string; status: string; description: string } => ({ name: m.name, status: m.status, description: m.reason === null ? m.description : `${m.description} (${m.reason})` });
  const survivors = report.mutants.filter((m) => m.status === 'survived' || m.status === 'error').map(named);
  const inconclusive = report.mutants.filter((m) => m.status === 'inconclusive').map(named);
  progress(`${survivors.length > 0 ? 'FAILED' : inconclusive.length > 0 ? 'INCONCLUSIVE' : 'ok'}: mutants: ${mutantsSummary(report)}`, true);
  return {
    result: {
      score: report.score, killed: report.killed, survived: report.survived, equivalent: report.equivalent, errors: report.errors,
      excluded: report.excluded.length, medianMsToKill: report.medianMsToKill, p90MsToKill: report.p90MsToKill, maxMsToKill: report.maxMsToKill, budgetSeconds, survivors, killedBy,
      groups: report.groups, inconclusive, killTimesMs, shards: [formatShard(shard)],
    },
    skipped: null,
  };
}

export type CertificateVerdict = 'PASSED' | 'FAILED' | 'INCONCLUSIVE';

/**
 * FAILED: a violation in some cell, or a mutant that survived every seed (or erred);
 * INCONCLUSIVE: neither, but some mutant was not killed before its time ran out (exit 3);
 * PASSED otherwise (skipped cells do not fail).
 */
export function certificateVerdict(cert: Certificate): CertificateVerdict {
  const violations = cert.failures.length > 0 || cert.cells.some((cell) => cell.violations > 0);
  if (violations || (cert.mutation !== null && cert.mutation.survivors.length > 0)) return 'FAILED';
  return (cert.mutation?.inconclusive?.length ?? 0) > 0 ? 'INCONCLUSIVE' : 'PASSED';
}

/** True when the verdict is PASSED. Exit code 0 only then. */
export function certificateOk(cert: Certificate): boolean {
  return certificateVerdict(cert) === 'PASSED';
}

// ---------------------------------------------------------------------------------------------
// Reading, writing, rendering

/** Parses and checks a certificate read from JSON; throws a TypeError naming `source` otherwise. */
export function parseCertificate(text: string, source = 'certificate'): Certificate {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TypeError(`${source}: not JSON (${(error as Error).message})`);
  }
  const cert = value as Partial<Certificate> | null;
  if (cert === null || typeof cert !== 'object' || cert.format !== CERTIFICATE_FORMAT || !Array.isArray(cert.cells) || !Array.isArray(cert.failures)
    || typeof cert.engine?.hash !== 'string' || cert.totals === undefined) {
    throw new TypeError(`${source}: not a crashlab certificate (format ${CERTIFICATE_FORMAT})`);
  }
  // Certificates written before the mutation run existed say nothing of it.
  const mutation = cert.mutation ?? null;
  return { ...cert, mutation, mutationSkipped: cert.mutationSkipped ?? (mutation === null ? 'not recorded in this certificate' : null) } as Certificate;
}

export async function readCertificate(file: string): Promise<Certificate> {
  return parseCertificate(await readFile(file, 'utf8'), file);
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

function mutationLine(cert: Certificate): string {
  const m = cert.mutation;
  if (m === null) return `not measured (${cert.mutationSkipped ?? 'skipped'})`;
  const kinds = Object.entries(m.killedBy).sort((a, b) => b[1] - a[1]).map(([kind, count]) => `${kind} ${count}`).join(', ');
  return `${(m.score * 100).toFixed(1)}% (${m.killed} killed, ${m.survived} survived, ${m.inconclusive?.length ?? 0} inconclusive, ${m.equivalent} equivalent, ${m.excluded} excluded; `
    + `time to kill median ${m.medianMsToKill ?? '-'} ms, p90 ${m.p90MsToKill ?? '-'} ms, max ${m.maxMsToKill ?? '-'} ms; killed by ${kinds === '' ? '-' : kinds})`
    + MUTANT_GROUPS.flatMap((group) => { const score = m.groups?.[group]; return score === undefined ? [] : [`\n  - ${groupLine(group, score)}`]; }).join('')
    + m.survivors.map((survivor) => `\n  - SURVIVED ${survivor.name}: ${survivor.description}`).join('')
    + (m.inconclusive ?? []).map((left) => `\n  - INCONCLUSIVE ${left.name}: ${left.description}`).join('');
}

/** The certificate as markdown (what certificate.md holds). */
export function renderCertificate(cert: Certificate): string {
  const t = cert.totals;
  const lines = [
    `# crashlab durability certificate: ${certificateVerdict(cert)}`,
    '',
    `- engine: ${cert.engine.label}${cert.engine.plant == null ? '' : ` (planted mutant --plant ${cert.engine.plant}: a certificate of the harness, not of the engine)`}, sha256 \`${cert.engine.hash}\` over ${cert.engine.files} files (${cert.engine.hashedFrom})`,
    `- seeds: ${cert.seeds.join(', ')}; shards: ${cert.shards.join(', ')}; profile: ${cert.profile}`,
    `- budget: ${cert.budgetSeconds} s in all${cert.budgetSplit === undefined ? '' : ` (matrix ${cert.budgetSplit.matrixSeconds} s, mutants ${cert.budgetSplit.mutantsSeconds} s)`}; time: ${secs(cert.elapsedMs)}; created: ${cert.createdAt}`,
    `- ${t.runs} crash cases, ${t.images} crash images, ${t.events} I/O events, ${t.kills} process kills, ${t.violations} violations`,
    `- faults survived: ${t.faultsSurvived.crash} power cuts (crash images), ${t.faultsSurvived.errors} injected-error cases, `
      + `${t.faultsSurvived.corruption} corruption cases, ${t.faultsSurvived['recovery-crash']} crashes during recovery, ${t.faultsSurvived.kill} process kills`,
    `- ${formatShape(t.shape ?? EMPTY_SHAPE)}`,
    `- mutation score: ${mutationLine(cert)}`,
    '',
    '## Matrix',
    '',
    '| cell | runs | crash images | I/O events | faults survived | violations | time |',
    '| --- | ---: | ---: | ---: | --- | ---: | ---: |',
    ...cert.cells.map((cell) => {
      const f = cell.faultsSurvived;
      const survived = cell.kind === 'kill' ? `${f.kill} kills`
        : [`${f.crash} crashes`, ...(f.errors > 0 ? [`${f.errors} errors`] : []), ...(f.corruption > 0 ? [`${f.corruption} corruptions`] : []),
          ...(f['recovery-crash'] > 0 ? [`${f['recovery-crash']} recovery crashes`] : [])].join(', ');
      return `| ${cell.id} | ${cell.skipped === null ? cell.runs : `skipped: ${cell.skipped}`} | ${cell.images} | ${cell.events} | ${survived} | ${cell.violations} | ${secs(cell.ms)} |`;
    }),
    '',
    '## Crash points (crash images judged, by what the power cut interrupted)',
    '',
    ...crashPointsByBarrier(cert.cells),
    '',
    '## Violations',
    '',
    ...(cert.failures.length === 0 ? ['None.']
      : cert.failures.flatMap((failure) => [
        `- **${failure.cell}** (shard ${failure.shard}, seed ${failure.seed}): ${failure.kind}${failure.crashAt === null ? '' : ` at I/O event ${failure.crashAt}`}: ${failure.detail}`,
        `  - replay: \`${failure.replay}\`${failure.rerun === undefined ? '' : ' (re-judges the killed image it kept: deterministic, reproduces on the first try)'}`,
        ...(failure.rerun === undefined ? [] : [`  - rerun the kill itself: \`${failure.rerun}\` (where a kill lands depends on both processes' timing: it retries up to ${DEFAULT_KILL_RETRIES} times and says on which try it reproduced)`]),
      ])),
    '',
  ];
  return lines.join('\n');
}

/** Writes `certificate.json` and `certificate.md` into `dir` (created if needed); returns both paths. */
export async function writeCertificate(cert: Certificate, dir: string): Promise<{ json: string; markdown: string }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, 'certificate.json');
  const markdown = path.join(dir, 'certificate.md');
  await writeFile(json, `${JSON.stringify(cert, null, 2)}\n`);
  await writeFile(markdown, renderCertificate(cert));
  return { json, markdown };
}

// ---------------------------------------------------------------------------------------------
// Compare and merge

const failureKey = (failure: CertificateFailure): string => `${failure.cell}\u0000${failure.kind}\u0000${failure.replay}`;
const signed = (delta: number): string => (delta > 0 ? `+${delta}` : `${delta}`);

/** A readable markdown diff of two certificates: engine hash, per-cell numbers, new and gone failures. */
export function compareCertificates(old: Certificate, current: Certificate): string {
  const lines: string[] = ['# crashlab certificate comparison', ''];
  const verdict = certificateVerdict;
  lines.push(`- verdict: ${verdict(old)} -> ${verdict(current)}`);
  lines.push(old.engine.hash === current.engine.hash
    ? `- engine: unchanged (\`${current.engine.hash.slice(0, 16)}\`)`
    : `- engine: CHANGED \`${old.engine.hash.slice(0, 16)}\` -> \`${current.engine.hash.slice(0, 16)}\``);
  lines.push(`- seeds: ${old.seeds.join(', ')} -> ${current.seeds.join(', ')}; budget ${old.budgetSeconds} s -> ${current.budgetSeconds} s`);
  const ot = old.totals; const nt = current.totals;
  lines.push(`- totals: runs ${ot.runs} -> ${nt.runs}, crash images ${ot.images} -> ${nt.images}, I/O events ${ot.events} -> ${nt.events}, `
    + `kills ${ot.kills} -> ${nt.kills}, violations ${ot.violations} -> ${nt.violations}`);
  const score = (cert: Certificate): string => (cert.mutationScore === null ? 'not measured' : `${(cert.mutationScore * 100).toFixed(1)}%`);
  lines.push(`- mutation score: ${score(old)} -> ${score(current)}`);
  lines.push('', '## Cells', '', '| cell | runs | crash images | violations | note |', '| --- | --- | --- | --- | --- |');
  const oldCells = new Map(old.cells.map((cell) => [cell.id, cell]));
  const newCells = new Map(current.cells.map((cell) => [cell.id, cell]));
  for (const id of [...new Set([...oldCells.keys(), ...newCells.keys()])]) {
    const a = oldCells.get(id); const b = newCells.get(id);
    if (a === undefined || b === undefined) {
      lines.push(`| ${id} | ${a?.runs ?? '-'} -> ${b?.runs ?? '-'} | ${a?.images ?? '-'} -> ${b?.images ?? '-'} | ${a?.violations ?? '-'} -> ${b?.violations ?? '-'} | ${a === undefined ? 'new cell' : 'cell gone'} |`);
      continue;
    }
    const note = b.violations > a.violations ? 'NEW VIOLATION' : b.violations < a.violations ? 'fixed' : b.skipped !== null ? 'skipped' : b.runs === 0 ? 'NOT RUN' : '';
    lines.push(`| ${id} | ${a.runs} -> ${b.runs} (${signed(b.runs - a.runs)}) | ${a.images} -> ${b.images} (${signed(b.images - a.images)}) | ${a.violations} -> ${b.violations} | ${note} |`);
  }
  const oldKeys = new Set(old.failures.map(failureKey));
  const newKeys = new Set(current.failures.map(failureKey));
  const added = current.failures.filter((failure) => !oldKeys.has(failureKey(failure)));
  const gone = old.failures.filter((failure) => !newKeys.has(failureKey(failure)));
  lines.push('', '## New failures', '');
  lines.push(...(added.length === 0 ? ['None.'] : added.flatMap((f) => [`- **${f.cell}**: ${f.kind}: ${f.detail}`, `  - replay: \`${f.replay}\``])));
  lines.push('', '## Failures gone', '');
  lines.push(...(gone.length === 0 ? ['None.'] : gone.map((f) => `- ${f.cell}: ${f.kind}: ${f.detail}`)));
  lines.push('');
  return lines.join('\n');
}

/** A score from counts and kill times (the same figures runMutants reports). */
function scoreFrom(counts: Pick<MutantScore, 'killed' | 'survived' | 'inconclusive' | 'equivalent' | 'errors'>, times: readonly number[]): MutantScore {
  const run = counts.killed + counts.survived + (counts.inconclusive ?? 0);
  return {
    ...counts, score: run === 0 ? 1 : counts.killed / run,
    medianMsToKill: median(times), p90MsToKill: percentile(times, 90), maxMsToKill: times.length === 0 ? null : Math.max(...times),
  };
}

/**
 * The shards' mutation runs as one: counts, survivors and kills added up, the score and the
 * times to kill recomputed. One run (or runs of older certificates, without their kill times)
 * is kept as it is.
 */
function mergeMutations(runs: readonly CertificateMutation[]): CertificateMutation | null {
  if (runs.length <= 1 || runs.some((m) => m.killTimesMs === undefined)) return runs[0] ?? null;
  const sum = (pick: (m: CertificateMutation) => number): number => runs.reduce((total, m) => total + pick(m), 0);
  const killTimesMs = Object.fromEntries(MUTANT_GROUPS.map((group) => [group, runs.flatMap((m) => m.killTimesMs?.[group] ?? [])]));
  const groups = Object.fromEntries(MUTANT_GROUPS.map((group) => {
    const of = (key: 'killed' | 'survived' | 'inconclusive' | 'equivalent' | 'errors'): number => sum((m) => m.groups?.[group]?.[key] ?? 0);
    return [group, scoreFrom({ killed: of('killed'), survived: of('survived'), inconclusive: of('inconclusive'), equivalent: of('equivalent'), errors: of('errors') }, killTimesMs[group]!)];
  }));
  const killedBy: Record<string, number> = {};
  for (const m of runs) for (const [kind, count] of Object.entries(m.killedBy)) killedBy[kind] = (killedBy[kind] ?? 0) + count;
  const inconclusive = runs.flatMap((m) => m.inconclusive ?? []);
  const total = scoreFrom({ killed: sum((m) => m.killed), survived: sum((m) => m.survived), inconclusive: inconclusive.length, equivalent: sum((m) => m.equivalent), errors: sum((m) => m.errors) }, Object.values(killTimesMs).flat());
  return {
    score: total.score, killed: total.killed, survived: total.survived, equivalent: total.equivalent, errors: total.errors, excluded: sum((m) => m.excluded),
    medianMsToKill: total.medianMsToKill, p90MsToKill: total.p90MsToKill, maxMsToKill: total.maxMsToKill, budgetSeconds: sum((m) => m.budgetSeconds),
    survivors: runs.flatMap((m) => m.survivors), inconclusive, killedBy, groups, killTimesMs, shards: runs.flatMap((m) => m.shards ?? []),
  };
}

/** Certificates that cannot be merged (different engines or plants): bad input, exit 2 at the command line. */
export class MergeError extends Error {
  readonly code = 'MERGE_REFUSED';
}

/**
 * One certificate from several (CI shards): cells summed by id, failures united, seeds and
 * shards listed. All must certify the same engine (same hash), else an Error.
 */
export function mergeCertificates(list: readonly Certificate[]): Certificate {
  const first = list[0];
  if (first === undefined) throw new TypeError('merge needs at least one certificate');
  const other = list.find((cert) => cert.engine.hash !== first.engine.hash);
  if (other !== undefined) {
    throw new MergeError(`cannot merge certificates of different engines: ${first.engine.hash.slice(0, 16)} (${first.shards.join(',')}) vs ${other.engine.hash.slice(0, 16)} (${other.shards.join(',')})`);
  }
  const plantText = (cert: Certificate): string => cert.engine.plant ?? 'none';
  const mixed = list.find((cert) => plantText(cert) !== plantText(first));
  if (mixed !== undefined) {
    throw new MergeError(`cannot merge certificates of different planted mutants: --plant ${plantText(first)} (${first.shards.join(',')}) vs --plant ${plantText(mixed)} (${mixed.shards.join(',')})`);
  }
  const cells = new Map<string, CertificateCell>();
  for (const cert of list) {
    for (const cell of cert.cells) {
      const into = cells.get(cell.id);
      if (into === undefined) {
        cells.set(cell.id, { ...cell, chunks: [...cell.chunks], faultsSurvived: { ...cell.faultsSurvived }, crashPoints: { ...(cell.crashPoints ?? {}) } });
        continue;
      }
      addCounts(into.crashPoints, cell.crashPoints);
      into.shape = addShapes(into.shape, cell.shape);
      into.runs += cell.runs;
      into.images += cell.images;
      into.events += cell.events;
      into.violations += cell.violations;
      into.ms += cell.ms;
      into.chunks.push(...cell.chunks);
      for (const key of Object.keys(into.faultsSurvived) as (keyof FaultCounts)[]) into.faultsSurvived[key] += cell.faultsSurvived[key];
      // A cell counts as run if any shard ran it.
      if (into.skipped !== null && cell.skipped === null) into.skipped = null;
    }
  }
  const failures = new Map<string, CertificateFailure>();
  for (const cert of list) for (const failure of cert.failures) failures.set(failureKey(failure), failure);
  const merged = [...cells.values()];
  const unique = <T>(values: readonly T[]): T[] => [...new Set(values)];
  const mutation = mergeMutations(list.flatMap((cert) => (cert.mutation === null ? [] : [cert.mutation])));
  return {
    ...first,
    createdAt: new Date().toISOString(),
    seeds: unique(list.flatMap((cert) => cert.seeds)),
    shards: unique(list.flatMap((cert) => cert.shards)),
    budgetSeconds: list.reduce((sum, cert) => sum + cert.budgetSeconds, 0),
    elapsedMs: list.reduce((sum, cert) => sum + cert.elapsedMs, 0),
    matrix: { ...first.matrix, killsPerTier: list.reduce((sum, cert) => sum + cert.matrix.killsPerTier, 0) },
    cells: merged,
    totals: totalsOf(merged),
    failures: [...failures.values()],
    // Each shard ran its part of the mutants: the merged certificate adds them up.
    mutationScore: mutation?.score ?? null,
    mutation,
    mutationSkipped: mutation !== null ? null : first.mutationSkipped,
  };
}

// ---------------------------------------------------------------------------------------------
// Replay one case of a cell (script entry)

/** Replays one case of a crash cell (the path of a certificate's failure); prints it, returns the exit code. */
export async function replayCell(cell: string, seed: number, casePath: string | undefined,
  options: { readonly runs?: number; readonly engine?: EngineUnderTest; readonly plant?: string } = {}): Promise<number> {
  const profile = cellProfile(cell);
  const engine = options.engine ?? (await engineFor(options.plant ?? null)) ?? referenceEngine;
  const result = await runCrashCampaign({
    seed, numRuns: options.runs ?? 1, profile: CERTIFY_PROFILE, barrier: profile.barrier, faults: profile, overrides: profile.overrides, path: casePath, engine,
  });
  if (result.failure === null) {
    console.log(`${result.ok ? 'ok' : 'FAILED'}: ${cell}: seed ${seed}, ${result.numRuns} cases, ${result.images} crash images`);
    return result.ok ? 0 : 1;
  }
  const v = result.failure.violation;
  console.log(`VIOLATION (${cell}): ${v.kind} at I/O event ${v.crashAt}: ${v.detail}`);
  for (const e of v.eventsAround) console.log(`  ${e.index === v.crashAt ? '>' : ' '} #${e.index} ${e.op} ${e.file} @${e.offset}+${e.lengthBytes} ${e.outcome}`);
  console.log(`  case: ${JSON.stringify({ plan: result.failure.counterexample.plan, errors: result.failure.counterexample.errors, options: result.failure.counterexample.workload.options })}`);
  console.log(`  replay: ${cellReplayCommand(cell, seed, result.failure.path, options.plant)}`);
  return 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const argv = process.argv.slice(2);
  const get = (name: string): string | undefined => { const at = argv.indexOf(`--${name}`); return at >= 0 ? argv[at + 1] : undefined; };
  const cell = get('replay');
  const seed = Number(get('seed'));
  if (cell === undefined || !Number.isSafeInteger(seed)) {
    console.error('usage: node dist/cli/certify.js --replay CELL --seed S [--path P] [--runs N] [--plant BUG]');
    process.exitCode = 2;
  } else {
    const plant = get('plant');
    process.exitCode = await replayCell(cell, seed, get('path'), { runs: Number(get('runs') ?? 1), ...(plant === undefined ? {} : { plant }) });
  }
}
