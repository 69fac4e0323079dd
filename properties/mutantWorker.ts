/**
 * One mutant's hunt, in a forked worker process: plants the mutant (its own module graph) and runs the
 * crash property seed after seed, without shrinking, until the first violation or until its
 * budget is spent (checked between seeds; the runner also stops a worker that overruns).
 */
import { plantBug, plantEngine, type Patch } from './plantEngine.js';
import { runCrashCampaign, type ProfileName } from './runCrash.js';

export interface MutantJob {
  readonly name: string;
  readonly seeds: readonly number[];
  readonly runsPerSeed: number;
  readonly profile: ProfileName;
  readonly budgetMs: number;
  /** The mutant's patches; when absent, `name` is looked up in PLANTED_BUGS. */
  readonly patches?: readonly Patch[] | undefined;
}

export type MutantOutcome =
  | { readonly status: 'killed'; readonly msToKill: number; readonly seed: number; readonly runs: number; readonly kind: string; readonly path: string; readonly detail: string; readonly seedsTried: number }
  | { readonly status: 'survived'; readonly ms: number; readonly seedsTried: number }
  | { readonly status: 'error'; readonly ms: number; readonly error: string };

export async function huntMutant(job: MutantJob): Promise<MutantOutcome> {
  const started = performance.now();
  try {
    const engine = job.patches === undefined ? await plantBug(job.name) : await plantEngine(job.name, job.patches);
    let seedsTried = 0;
    for (const seed of job.seeds) {
      if (seedsTried > 0 && performance.now() - started >= job.budgetMs) break;
      seedsTried++;
      const result = await runCrashCampaign({ seed, numRuns: job.runsPerSeed, profile: job.profile, engine, shrink: false });
      if (result.failure !== null) {
        const { violation, path } = result.failure;
        return {
          status: 'killed', msToKill: Math.round(performance.now() - started), seed, runs: Number(path.split(':')[0]) + 1,
          kind: violation.kind, path, detail: violation.detail.slice(0, 200), seedsTried,
        };
      }
    }
    return { status: 'survived', ms: Math.round(performance.now() - started), seedsTried };
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
