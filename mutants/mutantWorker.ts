/**
 * One mutant's hunt, in a forked worker process: plants the mutant (its own module graph) and
 * runs the properties against it, each seed after seed, without shrinking, until the first
 * violation or until its budget is spent (checked between steps; the runner also stops a worker
 * that overruns). The properties share the time evenly: the next step is always a seed of the
 * property that has used the least time so far (the differential property first: engine against
 * the model, no crashes, cheap, and the one that sees a wrong tree at once). A crash seed costs
 * seconds and a differential seed a tenth of that, so a mutant only the crash campaign kills
 * loses one differential step per crash seed, and a tree mutant only the differential property
 * kills gets dozens of differential seeds per crash seed.
 */
import { plantBug, plantEngine, type Patch, type PlantedEngine } from './plantEngine.js';
import { runCrashCampaign, type ProfileName } from '../properties/runCrash.js';
import { runDifferential } from '../properties/runDifferential.js';

/** The properties a mutant is hunted with, in the order each seed runs them. */
export const HUNT_PROPERTIES = ['differential', 'crash'] as const;
export type HuntProperty = (typeof HUNT_PROPERTIES)[number];

export interface MutantJob {
  readonly name: string;
  readonly seeds: readonly number[];
  /** Crash cases per seed. */
  readonly runsPerSeed: number;
  /** Differential runs per seed (each up to 100 commands). */
  readonly differentialRunsPerSeed: number;
  /** The properties to hunt with (HUNT_PROPERTIES by default; the first one starts). */
  readonly properties?: readonly HuntProperty[] | undefined;
  /** Per property, how many of `seeds` an earlier pass tried already (it goes on after them). */
  readonly seedsDone?: Readonly<Partial<Record<HuntProperty, number>>> | undefined;
  readonly profile: ProfileName;
  readonly budgetMs: number;
  /** The mutant's patches; when absent, `name` is looked up in PLANTED_BUGS. */
  readonly patches?: readonly Patch[] | undefined;
}

export type MutantOutcome =
  | {
    readonly status: 'killed'; readonly msToKill: number; readonly property: HuntProperty; readonly seed: number; readonly runs: number;
    readonly kind: string; readonly path: string; readonly detail: string; readonly seedsTried: number;
  }
  | { readonly status: 'survived'; readonly ms: number; readonly seedsTried: number; readonly seedsDone?: Readonly<Partial<Record<HuntProperty, number>>> }
  | { readonly status: 'error'; readonly ms: number; readonly error: string };

/** A violation one property found under one seed: the case number (1-based), path, kind and detail. */
interface Kill {
  readonly runs: number;
  readonly path: string;
  readonly kind: string;
  readonly detail: string;
}

async function huntCrash(engine: PlantedEngine, job: MutantJob, seed: number): Promise<Kill | null> {
  const result = await runCrashCampaign({ seed, numRuns: job.runsPerSeed, profile: job.profile, engine, shrink: false });
  if (result.failure === null) return null;
  const { violation, path } = result.failure;
  return { runs: Number(path.split(':')[0]) + 1, path, kind: violation.kind, detail: violation.detail };
}

async function huntDifferential(engine: PlantedEngine, job: MutantJob, seed: number): Promise<Kill | null> {
  const result = await runDifferential({ seed, numRuns: job.differentialRunsPerSeed, vfs: 'memory', engine, shrink: false });
  if (result.ok) return null;
  return { runs: result.numRuns, path: result.path, kind: result.kind === 'mismatch' ? 'differential-mismatch' : 'differential-error', detail: result.error };
}

const HUNTERS: Record<HuntProperty, (engine: PlantedEngine, job: MutantJob, seed: number) => Promise<Kill | null>> = {
  differential: huntDifferential,
  crash: huntCrash,
};

/** The property to run next: the one with seeds left that has used the least time (the first on a tie). */
function nextProperty(properties: readonly HuntProperty[], spentMs: Map<HuntProperty, number>, done: Map<HuntProperty, number>, seedCount: number): HuntProperty | undefined {
  let best: HuntProperty | undefined;
  for (const property of properties) {
    if (done.get(property)! >= seedCount) continue;
    if (best === undefined || spentMs.get(property)! < spentMs.get(best)!) best = property;
  }
  return best;
}

export async function huntMutant(job: MutantJob): Promise<MutantOutcome> {
  const started = performance.now();
  const properties = job.properties ?? HUNT_PROPERTIES;
  try {
    const engine = job.patches === undefined ? await plantBug(job.name) : await plantEngine(job.name, job.patches);
    const spentMs = new Map(properties.map((p) => [p, 0]));
    const done = new Map(properties.map((p) => [p, Math.max(0, job.seedsDone?.[p] ?? 0)]));
    let steps = 0;
    for (;;) {
      if (steps > 0 && performance.now() - started >= job.budgetMs) break;
      const property = nextProperty(properties, spentMs, done, job.seeds.length);
      if (property === undefined) break;
      const seed = job.seeds[done.get(property)!]!;
      done.set(property, done.get(property)! + 1);
      steps++;
      const stepStarted = performance.now();
      const kill = await HUNTERS[property](engine, job, seed);
      spentMs.set(property, spentMs.get(property)! + performance.now() - stepStarted);
      if (kill === null) continue;
      return {
        status: 'killed', msToKill: Math.round(performance.now() - started), property, seed, runs: kill.runs,
        kind: kill.kind, path: kill.path, detail: kill.detail.slice(0, 200), seedsTried: Math.max(...done.values()),
      };
    }
    return { status: 'survived', ms: Math.round(performance.now() - started), seedsTried: Math.max(...done.values()), seedsDone: Object.fromEntries(done) };
  } catch (error) {
    return { status: 'error', ms: Math.round(performance.now() - started), error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) };
  }
}

// Run as a forked child: one job in, one outcome out. (A process, not a thread: the engine
// loads a native addon, fs-ext, that is not safe to load and tear down in worker threads.)
if (process.send !== undefined) {
  process.once('message', (job: MutantJob) => {
    void huntMutant(job).then((outcome) => process.send?.(outcome));
  });
}
