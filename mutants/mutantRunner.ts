/**
 * Runs the harness's properties (the differential property and the crash campaign, see
 * mutantWorker.ts) against every hand-written mutant of the catalog (PLANTED_BUGS), in
 * parallel worker processes (each mutant's engine is its own module graph), stopping each at its
 * first kill, and scores the harness: killed / (killed + survived). Equivalent mutants are
 * listed, not run.
 *
 * Budget: the total wall-clock budget is split evenly over the mutants to run, times the
 * number of lanes (mutants run `concurrency` at a time). A mutant stops between seeds once its
 * share is spent; a worker still running at twice its share (plus a grace), or at the end of
 * the whole budget, is terminated. Then the budget the quick kills left over is split over the
 * mutants still alive, which go on from the first seed they have not tried; a kill's time
 * counts both passes. The whole budget is a bound: no mutant starts after it, and a mutant not
 * killed when its time ran out is `inconclusive`, not survived (`survived` means every seed of
 * every property was tried). Seeds are deterministic: 1, 2, 3, ... unless given.
 */
import os from 'node:os';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { generateMutants, STRUCTURAL_OPERATORS } from './mutantGenerator.js';
import { AUTOMATIC_EQUIVALENTS } from './mutantTriage.js';
import { PLANTED_BUGS, type PlantedBug } from './plantEngine.js';
import type { HuntProperty, MutantJob, MutantOutcome } from './mutantWorker.js';
import type { ProfileName } from '../properties/runCrash.js';

/** `inconclusive`: its time ran out before a kill, with seeds still untried; `survived`: every seed tried, no kill. */
export type MutantStatus = 'killed' | 'survived' | 'inconclusive' | 'equivalent' | 'error';

export interface MutantRun {
  /** Total wall-clock budget for the whole run, in seconds. */
  readonly budgetSeconds: number;
  /** Only these mutants (by name); all of the catalog when undefined. */
  readonly only?: string | readonly string[] | undefined;
  /** Worker threads at once; the number of CPUs by default. */
  readonly concurrency?: number | undefined;
  /** Seeds tried in order (each `runsPerSeed` cases); 1, 2, 3, ... by default. */
  readonly seeds?: readonly number[] | undefined;
  readonly runsPerSeed?: number | undefined;
  /** Differential runs per seed (DEFAULT_DIFFERENTIAL_RUNS_PER_SEED). */
  readonly differentialRunsPerSeed?: number | undefined;
  /** The properties to hunt with, in order per seed; both (differential, then crash) by default. */
  readonly properties?: readonly HuntProperty[] | undefined;
  readonly profile?: ProfileName | undefined;
  /** The catalog to draw from (PLANTED_BUGS by default). */
  readonly catalog?: readonly PlantedBug[] | undefined;
  /**
   * Also run the automatic mutants (generateMutants over dist/engine), appended to the catalog;
   * those of EXCLUDED_ENGINE_FILES are listed in `excluded`, those of AUTOMATIC_EQUIVALENTS are
   * marked equivalent. Default false.
   */
  readonly automatic?: boolean | undefined;
  /** This machine's part (CI shards): every `total`-th mutant of the selection from the `index`-th (1-based); all when undefined. */
  readonly shard?: { readonly index: number; readonly total: number } | undefined;
  /** Told each mutant's verdict as it lands, with how many are done of how many to run. */
  readonly onResult?: ((result: MutantResult, done: number, total: number) => void) | undefined;
}

/** An automatic mutant that is not run at all: its file is never executed by the crash harness. */
export interface ExcludedMutant {
  readonly name: string;
  readonly description: string;
  readonly reason: string;
}

/**
 * Engine files the in-memory crash harness never executes as the disk: their mutants cannot be
 * killed (nor survive meaningfully) here, so they are listed as excluded, not run.
 */
export const EXCLUDED_ENGINE_FILES: Readonly<Record<string, string>> = {
  'fileVfs.js': 'real files: only the SIGKILL tiers use it, never the in-memory crash harness',
  'memoryVfs.js': 'the crash harness runs the engine on its own fault-injecting in-memory disk, not on MemoryVfs',
};

/** dist/engine, next to this compiled module's folder (dist/properties). */
const ENGINE_DIR = fileURLToPath(new URL('../engine/', import.meta.url));

/** The automatic mutants in the catalog shape (equivalents marked), and the excluded ones. */
export function automaticCatalog(engineDir: string = ENGINE_DIR): { readonly mutants: PlantedBug[]; readonly excluded: ExcludedMutant[] } {
  const mutants: PlantedBug[] = [];
  const excluded: ExcludedMutant[] = [];
  for (const m of generateMutants(engineDir)) {
    const description = `${m.operator} at ${m.file}:${m.line}: ${m.description}`;
    const reason = EXCLUDED_ENGINE_FILES[m.file];
    if (reason !== undefined) {
      excluded.push({ name: m.name, description, reason: `${m.file}: ${reason}` });
      continue;
    }
    const equivalent = Object.hasOwn(AUTOMATIC_EQUIVALENTS, m.name) ? AUTOMATIC_EQUIVALENTS[m.name] : undefined;
    const bug: PlantedBug = { name: m.name, description, patches: m.patches, operator: m.operator };
    mutants.push(equivalent === undefined ? bug : { ...bug, equivalent });
  }
  return { mutants, excluded };
}

/** `--only` named a mutant that does not exist: bad input, exit 2 at the command line. */
export class UnknownMutantError extends Error {
  readonly code = 'UNKNOWN_MUTANT';
}

/** Where a mutant comes from: the hand-written catalog, or a durability or structural operator. */
export type MutantGroup = 'catalog' | 'durability' | 'structural';
export const MUTANT_GROUPS: readonly MutantGroup[] = ['catalog', 'durability', 'structural'];

function groupOf(bug: PlantedBug): MutantGroup {
  if (bug.operator === undefined) return 'catalog';
  return (STRUCTURAL_OPERATORS as readonly string[]).includes(bug.operator) ? 'structural' : 'durability';
}

/** A group's kill rate and times to kill. */
export interface MutantScore {
  readonly killed: number;
  readonly survived: number;
  /** Not killed within its time, seeds left untried (counted in the score's denominator). */
  readonly inconclusive: number;
  readonly equivalent: number;
  readonly errors: number;
  /** killed / (killed + survived + inconclusive); 1 when nothing was run. */
  readonly score: number;
  readonly medianMsToKill: number | null;
  /** The 90th percentile of the times to kill (nearest rank). */
  readonly p90MsToKill: number | null;
  readonly maxMsToKill: number | null;
}

export interface MutantResult {
  readonly name: string;
  readonly description: string;
  readonly group: MutantGroup;
  readonly status: MutantStatus;
  /** Wall-clock from planting to the first violation; null unless killed. */
  readonly msToKill: number | null;
  /** The property that killed it; null unless killed. */
  readonly property: HuntProperty | null;
  /** The killing seed, the case number within it (1-based), fast-check's path and the violation. */
  readonly seed: number | null;
  readonly runs: number | null;
  readonly path: string | null;
  readonly kind: string | null;
  readonly detail: string | null;
  /** Seeds started (0 for equivalent mutants). */
  readonly seedsTried: number;
  /** Why it is equivalent, or the error that stopped it. */
  readonly reason: string | null;
}

export interface MutantReport extends MutantScore {
  readonly mutants: readonly MutantResult[];
  /** The same figures per group (catalog, durability operators, structural operators). */
  readonly groups: Readonly<Record<MutantGroup, MutantScore>>;
  /** Automatic mutants not run (their engine file is never executed by the harness), with why. */
  readonly excluded: readonly ExcludedMutant[];
  /** Kills by the property that made them. */
  readonly killedBy: Readonly<Record<HuntProperty, number>>;
  readonly budgetSeconds: number;
  readonly perMutantMs: number;
  readonly concurrency: number;
  readonly profile: ProfileName;
  readonly ms: number;
}

const DEFAULT_SEEDS = Array.from({ length: 1000 }, (_, i) => i + 1);
const DEFAULT_RUNS_PER_SEED = 100;
/** Differential runs per seed: a few, so a mutant only the crash campaign sees loses little time. */
export const DEFAULT_DIFFERENTIAL_RUNS_PER_SEED = 5;
/** A second pass shorter than this is not worth starting a worker for. */
const MIN_SECOND_PASS_MS = 2_000;
/** Extra time a worker may take past twice its share before it is terminated. */
const GRACE_MS = 5_000;

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The nearest-rank percentile `p` (0..100] of `values`; null when there are none. */
export function percentile(values: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new TypeError('a percentile is in (0, 100]');
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil((p / 100) * sorted.length) - 1]!;
}

function onlyNames(only: MutantRun['only']): readonly string[] | undefined {
  return only === undefined ? undefined : typeof only === 'string' ? [only] : only;
}

/** The mutants named by `only` (all when undefined); a name among `excluded` is skipped, an unknown one throws. */
function selectMutants(catalog: readonly PlantedBug[], only: MutantRun['only'], excluded: readonly ExcludedMutant[] = []): PlantedBug[] {
  const names = onlyNames(only);
  if (names === undefined) return [...catalog];
  return names.flatMap((name) => {
    const bug = catalog.find((candidate) => candidate.name === name);
    if (bug !== undefined) return [bug];
    if (excluded.some((m) => m.name === name)) return [];
    throw new UnknownMutantError(`no mutant named ${JSON.stringify(name)} (known: ${catalog.map((b) => b.name).join(", ")}; --automatic adds the generated ones)`);
  });
}

function runWorker(job: MutantJob, hardLimitMs: number): Promise<MutantOutcome> {
  return new Promise((resolve) => {
    const child = fork(fileURLToPath(new URL('./mutantWorker.js', import.meta.url)), [], {
      // A flag meant for the main script (`node --input-type=module -e ...`) breaks a child started from a file.
      execArgv: process.execArgv.filter((arg) => !arg.startsWith('--input-type')),
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const started = performance.now();
    let settled = false;
    const finish = (outcome: MutantOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(outcome);
      if (child.exitCode === null) child.kill('SIGKILL');
    };
    const timer = setTimeout(() => finish({ status: 'survived', ms: Math.round(performance.now() - started), seedsTried: -1 }), hardLimitMs);
    child.once('message', (outcome: MutantOutcome) => finish(outcome));
    child.once('error', (error) => finish({ status: 'error', ms: Math.round(performance.now() - started), error: String(error) }));
    child.once('exit', (code, signal) => finish({ status: 'error', ms: Math.round(performance.now() - started), error: `worker exited (${signal ?? code}) before reporting` }));
    child.send(job);
  });
}

/** A second pass's outcome, counted from the start of the first (its time and seeds added). */
function continued(before: MutantOutcome | undefined, after: MutantOutcome): MutantOutcome {
  if (before?.status !== 'survived') return after;
  switch (after.status) {
    case 'killed': return { ...after, msToKill: before.ms + after.msToKill };
    case 'survived': return { ...after, ms: before.ms + after.ms };
    case 'error': return after;
  }
}

/** Every seed of every property tried (a survivor in full), as opposed to stopped by its time. */
function exhausted(outcome: MutantOutcome, seedCount: number, properties: readonly HuntProperty[]): boolean {
  if (outcome.status !== 'survived' || outcome.seedsDone === undefined) return false;
  return properties.every((p) => (outcome.seedsDone![p] ?? 0) >= seedCount);
}

function inconclusiveReason(seedsTried: number): string {
  if (seedsTried < 0) return 'stopped: over its budget';
  return seedsTried === 0 ? 'not started: the whole budget was spent' : `its time ran out after ${seedsTried} seeds without a kill`;
}

function resultOf(bug: PlantedBug, outcome: MutantOutcome, complete: boolean): MutantResult {
  const base = { name: bug.name, description: bug.description, group: groupOf(bug), msToKill: null, property: null, seed: null, runs: null, path: null, kind: null, detail: null, reason: null };
  switch (outcome.status) {
    case 'killed':
      return { ...base, status: 'killed', msToKill: outcome.msToKill, property: outcome.property, seed: outcome.seed, runs: outcome.runs, path: outcome.path, kind: outcome.kind, detail: outcome.detail, seedsTried: outcome.seedsTried };
    case 'survived':
      if (complete) return { ...base, status: 'survived', seedsTried: outcome.seedsTried };
      return { ...base, status: 'inconclusive', seedsTried: outcome.seedsTried, reason: inconclusiveReason(outcome.seedsTried) };
    case 'error':
      return { ...base, status: 'error', seedsTried: 0, reason: outcome.error };
  }
}

function scoreOf(mutants: readonly MutantResult[]): MutantScore {
  const count = (status: MutantStatus): number => mutants.filter((m) => m.status === status).length;
  const killed = count('killed');
  const survived = count('survived');
  const inconclusive = count('inconclusive');
  const kills = mutants.flatMap((m) => (m.msToKill === null ? [] : [m.msToKill]));
  const run = killed + survived + inconclusive;
  return {
    killed, survived, inconclusive, equivalent: count('equivalent'), errors: count('error'),
    score: run === 0 ? 1 : killed / run,
    medianMsToKill: median(kills), p90MsToKill: percentile(kills, 90), maxMsToKill: kills.length === 0 ? null : Math.max(...kills),
  };
}

/** What one hunt (a pass over some mutants) needs besides the mutants and their share. */
interface HuntContext {
  readonly run: MutantRun;
  readonly seeds: readonly number[];
  readonly runsPerSeed: number;
  readonly differentialRunsPerSeed: number;
  readonly profile: ProfileName;
  readonly lanes: number;
  /** performance.now() past which no mutant starts and every worker is stopped. */
  readonly deadlineMs: number;
  readonly outcomes: Map<string, MutantOutcome>;
  /** Called with a mutant whose verdict is final. */
  readonly settle: (bug: PlantedBug) => void;
}

/** Runs `bugs` `lanes` at a time, each on `budgetMs`; `final` says whether a survivor's verdict is final after this pass. */
async function hunt(context: HuntContext, bugs: readonly PlantedBug[], budgetMs: number, final: boolean): Promise<void> {
  const { run, outcomes } = context;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < bugs.length) {
      const bug = bugs[next++]!;
      const before = outcomes.get(bug.name);
      const leftMs = context.deadlineMs - performance.now();
      if (leftMs <= 0) {
        // The whole budget is spent: not started (its verdict stays inconclusive).
        outcomes.set(bug.name, before ?? { status: 'survived', ms: 0, seedsTried: 0 });
        context.settle(bug);
        continue;
      }
      // A survivor of the first pass goes on from the seeds each property has not tried.
      const seedsDone = before?.status === 'survived' ? before.seedsDone : undefined;
      const job: MutantJob = {
        name: bug.name, seeds: context.seeds, seedsDone, runsPerSeed: context.runsPerSeed, differentialRunsPerSeed: context.differentialRunsPerSeed,
        properties: run.properties, profile: context.profile, budgetMs: Math.min(budgetMs, leftMs), patches: bug.patches,
      };
      const outcome = continued(before, await runWorker(job, Math.min(2 * budgetMs + GRACE_MS, Math.max(1_000, leftMs))));
      outcomes.set(bug.name, outcome);
      if (final || outcome.status !== 'survived') context.settle(bug);
    }
  };
  await Promise.all(Array.from({ length: Math.min(context.lanes, bugs.length) }, lane));
}

export async function runMutants(run: MutantRun): Promise<MutantReport> {
  if (!(Number.isFinite(run.budgetSeconds) && run.budgetSeconds > 0)) throw new TypeError('budgetSeconds must be a positive number');
  const concurrency = run.concurrency ?? os.availableParallelism();
  if (!(Number.isSafeInteger(concurrency) && concurrency >= 1)) throw new TypeError('concurrency must be a positive integer');
  const seeds = run.seeds ?? DEFAULT_SEEDS;
  if (seeds.length === 0) throw new TypeError('seeds must not be empty');
  const differentialRunsPerSeed = run.differentialRunsPerSeed ?? DEFAULT_DIFFERENTIAL_RUNS_PER_SEED;
  if (!(Number.isSafeInteger(differentialRunsPerSeed) && differentialRunsPerSeed >= 1)) throw new TypeError('differentialRunsPerSeed must be a positive integer');
  const automatic = run.automatic === true ? automaticCatalog() : { mutants: [], excluded: [] };
  const shard = run.shard ?? { index: 1, total: 1 };
  const selected = selectMutants([...(run.catalog ?? PLANTED_BUGS), ...automatic.mutants], run.only, automatic.excluded)
    .filter((_, i) => i % shard.total === shard.index - 1);
  const names = onlyNames(run.only);
  // The excluded mutants are listed once, by the first shard.
  const excluded = shard.index !== 1 ? [] : names === undefined ? automatic.excluded : automatic.excluded.filter((m) => names.includes(m.name));
  const toRun = selected.filter((bug) => bug.equivalent === undefined);
  const lanes = Math.max(1, Math.min(concurrency, toRun.length));
  const perMutantMs = Math.max(1, Math.floor((run.budgetSeconds * 1000 * lanes) / Math.max(1, toRun.length)));
  const started = performance.now();
  // The worker's default (HUNT_PROPERTIES; not imported: that module listens for a job when loaded in a child process).
  const properties: readonly HuntProperty[] = run.properties ?? ['differential', 'crash'];
  const outcomes = new Map<string, MutantOutcome>();
  const resultFor = (bug: PlantedBug): MutantResult | undefined => {
    const outcome = outcomes.get(bug.name);
    return outcome && resultOf(bug, outcome, exhausted(outcome, seeds.length, properties));
  };
  const settled = new Set<string>();
  const context: HuntContext = {
    run, seeds, runsPerSeed: run.runsPerSeed ?? DEFAULT_RUNS_PER_SEED, differentialRunsPerSeed, profile: run.profile ?? 'default', lanes,
    deadlineMs: started + run.budgetSeconds * 1000, outcomes,
    settle: (bug) => {
      if (settled.has(bug.name)) return;
      settled.add(bug.name);
      run.onResult?.(resultFor(bug)!, settled.size, toRun.length);
    },
  };
  // First every mutant gets an even share; then the time quick kills left goes to the mutants
  // still alive, on the seeds they have not tried (a slow kill on a busy machine still counts).
  await hunt(context, toRun, perMutantMs, false);
  const alive = toRun.filter((bug) => {
    const o = outcomes.get(bug.name);
    return !settled.has(bug.name) && o?.status === 'survived' && !exhausted(o, seeds.length, properties);
  });
  const leftMs = context.deadlineMs - performance.now();
  if (alive.length > 0 && leftMs >= MIN_SECOND_PASS_MS) await hunt(context, alive, Math.floor((leftMs * lanes) / alive.length), true);
  else for (const bug of alive) context.settle(bug);
  return report(run, selected, resultFor, { excluded, perMutantMs, lanes, profile: context.profile, ms: Math.round(performance.now() - started) });
}

function report(run: MutantRun, selected: readonly PlantedBug[], resultFor: (bug: PlantedBug) => MutantResult | undefined,
  figures: Pick<MutantReport, 'excluded' | 'perMutantMs' | 'profile' | 'ms'> & { lanes: number }): MutantReport {
  const mutants = selected.map((bug): MutantResult => resultFor(bug) ?? {
    name: bug.name, description: bug.description, group: groupOf(bug), status: 'equivalent', msToKill: null, property: null, seed: null, runs: null,
    path: null, kind: null, detail: null, seedsTried: 0, reason: bug.equivalent ?? null,
  });
  const groups = Object.fromEntries(MUTANT_GROUPS.map((group) => [group, scoreOf(mutants.filter((m) => m.group === group))])) as Record<MutantGroup, MutantScore>;
  return {
    mutants, excluded: figures.excluded, ...scoreOf(mutants), groups,
    killedBy: { differential: mutants.filter((m) => m.property === 'differential').length, crash: mutants.filter((m) => m.property === 'crash').length },
    budgetSeconds: run.budgetSeconds, perMutantMs: figures.perMutantMs, concurrency: figures.lanes, profile: figures.profile, ms: figures.ms,
  };
}
