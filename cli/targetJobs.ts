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

type OnCase = ((cases: number, images: number) => void) | undefined;

/** Findings by kind, summed over several results (shards, certify chunks). */
export function sumFindings(results: ReadonlyArray<{ readonly findings: Readonly<Record<string, number>> }>): Record<string, number> {
  const findings: Record<string, number> = {};
  for (const result of results) for (const [kind, count] of Object.entries(result.findings)) findings[kind] = (findings[kind] ?? 0) + count;
  return findings;
}

/**
 * Runs the shards of a campaign of `numRuns` cases under `seed` at once (those with no case are
 * skipped), each with its own derived seed, and tells `onCase` the summed progress.
 */
export function inShards<R>(campaign: { readonly seed: number; readonly numRuns: number; readonly path?: string | undefined }, jobs: number, onCase: OnCase,
  run: (part: { seed: number; runs: number }, onCase: (cases: number, images: number) => void) => Promise<R>): Promise<R[]> {
  if (!(Number.isSafeInteger(jobs) && jobs >= 2 && jobs <= JOBS_MAX)) throw new RangeError(`jobs must be in [2, ${JOBS_MAX}], not ${jobs}`);
  if (campaign.path !== undefined) throw new RangeError('a case path replays one case: it runs as one job');
  const shards = Array.from({ length: jobs }, (_, index) => shardRun(campaign.seed, campaign.numRuns, { index: index + 1, total: jobs })).filter((part) => part.runs > 0);
  const progress = shards.map(() => ({ cases: 0, images: 0 }));
  return Promise.all(shards.map((part, index) => run(part, (cases, images) => {
    progress[index] = { cases, images };
    onCase?.(progress.reduce((n, p) => n + p.cases, 0), progress.reduce((n, p) => n + p.images, 0));
  })));
}

function merged(campaign: Campaign, results: readonly TargetCampaignResult[]): TargetCampaignResult {
  const sum = (pick: (result: TargetCampaignResult) => number): number => results.reduce((total, result) => total + pick(result), 0);
  const first = results[0];
  if (first === undefined) throw new Error('no job ran');
  return {
    ok: results.every((result) => result.ok), target: first.target, contract: first.contract, seed: campaign.seed,
    cases: sum((r) => r.cases), crashImages: sum((r) => r.crashImages), violations: sum((r) => r.violations), findings: sumFindings(results),
    failure: results.find((result) => result.failure !== null)?.failure ?? null,
  };
}

/** Runs `jobs` shards of the campaign at once, each in a watched worker; a hang in any is the answer. */
export async function runJobs(named: Named, campaign: Campaign, jobs: number, hangTimeoutMs: number, onCase: OnCase): Promise<WatchedOutcome> {
  const outcomes = await inShards(campaign, jobs, onCase, (part, told) => runWatched({ ...campaign, ...named, seed: part.seed, numRuns: part.runs }, hangTimeoutMs, told));
  const hang = outcomes.find((outcome) => outcome.kind === 'hang');
  if (hang !== undefined) return hang;
  const results = outcomes.flatMap((outcome) => (outcome.kind === 'done' ? [outcome.result] : []));
  return { kind: 'done', result: merged(campaign, results) };
}
