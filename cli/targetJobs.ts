/**
 * `run --target X --jobs N`: a Vfs target's campaign split over N worker threads, as N shards
 * of the seed (properties/shard.ts: shard i of N runs its share of the cases under its own
 * derived seed), so a 2-core machine checks twice the images per second. A failure's replay
 * line names its shard's seed, so it replays alone, with one job. With one job the campaign is
 * exactly `run` without `--jobs`.
 */
import type { TargetCampaign, TargetCampaignResult } from '../properties/runTargetCampaign.js';
import { shardRun } from '../properties/shard.js';
import { runWatched, type WatchedOutcome } from './targetWatchdog.js';

export const JOBS_MAX = 64;

type Named = { adapterFile: string } | { targetName: string };
type Campaign = Omit<TargetCampaign, 'target' | 'onCase'>;

function merged(campaign: Campaign, results: readonly TargetCampaignResult[]): TargetCampaignResult {
  const findings: Record<string, number> = {};
  for (const result of results) for (const [kind, count] of Object.entries(result.findings)) findings[kind] = (findings[kind] ?? 0) + count;
  const sum = (pick: (result: TargetCampaignResult) => number): number => results.reduce((total, result) => total + pick(result), 0);
  const first = results[0];
  if (first === undefined) throw new Error('no job ran');
  return {
    ok: results.every((result) => result.ok), target: first.target, contract: first.contract, seed: campaign.seed,
    cases: sum((r) => r.cases), crashImages: sum((r) => r.crashImages), violations: sum((r) => r.violations), findings,
    failure: results.find((result) => result.failure !== null)?.failure ?? null,
  };
}

/** Runs `jobs` shards of the campaign at once, each in a watched worker; a hang in any is the answer. */
export async function runJobs(named: Named, campaign: Campaign, jobs: number, hangTimeoutMs: number,
  onCase: ((cases: number, images: number) => void) | undefined): Promise<WatchedOutcome> {
  if (!(Number.isSafeInteger(jobs) && jobs >= 2 && jobs <= JOBS_MAX)) throw new RangeError(`jobs must be in [2, ${JOBS_MAX}], not ${jobs}`);
  if (campaign.path !== undefined) throw new RangeError('a case path replays one case: it runs as one job');
  const progress = Array.from({ length: jobs }, () => ({ cases: 0, images: 0 }));
  const outcomes = await Promise.all(progress.map((mine, index) => {
    const part = shardRun(campaign.seed, campaign.numRuns, { index: index + 1, total: jobs });
    if (part.runs === 0) return Promise.resolve(null);
    return runWatched({ ...campaign, ...named, seed: part.seed, numRuns: part.runs }, hangTimeoutMs, (cases, images) => {
      mine.cases = cases;
      mine.images = images;
      onCase?.(progress.reduce((n, p) => n + p.cases, 0), progress.reduce((n, p) => n + p.images, 0));
    });
  }));
  const hang = outcomes.find((outcome) => outcome?.kind === 'hang');
  if (hang !== undefined && hang !== null) return hang;
  const results = outcomes.flatMap((outcome) => (outcome?.kind === 'done' ? [outcome.result] : []));
  return { kind: 'done', result: merged(campaign, results) };
}
