/**
 * The hang watchdog for targets that run synchronously: the campaign runs in a worker thread
 * (properties/targetCampaignWorker.ts) and reports after every case; when no report comes for
 * `hangTimeoutMs` (wall clock, which only this folder reads), the worker is terminated and the
 * case that hung is reported with the command that replays it (fast-check's path `k` is the
 * k-th drawn case of the seed, unshrunk).
 */
import { Worker } from 'node:worker_threads';
import type { TargetCampaignResult } from '../properties/runTargetCampaign.js';
import type { WorkerCampaign, WorkerMessage } from '../properties/targetCampaignWorker.js';

export type WatchedOutcome =
  | { readonly kind: 'done'; readonly result: TargetCampaignResult }
  | { readonly kind: 'hang'; readonly caseIndex: number; readonly replay: string; readonly images: number };

export class WorkerFailure extends Error {
  constructor(message: string, readonly code: string | undefined, readonly originalName: string) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

const WORKER_URL = new URL('../properties/targetCampaignWorker.js', import.meta.url);

export function runWatched(campaign: WorkerCampaign, hangTimeoutMs: number, onCase?: (cases: number, images: number) => void): Promise<WatchedOutcome> {
  if (!(hangTimeoutMs >= 100)) throw new RangeError(`hang timeout must be at least 100 ms, not ${hangTimeoutMs}`);
  const worker = new Worker(WORKER_URL, { workerData: campaign });
  let cases = 0;
  let images = 0;
  return new Promise<WatchedOutcome>((resolve, reject) => {
    let timer = setTimeout(onHang, hangTimeoutMs);
    function settle(outcome: () => void): void {
      clearTimeout(timer);
      outcome();
    }
    function onHang(): void {
      void worker.terminate();
      const caseIndex = cases;
      const contract = campaign.contract === undefined ? '' : ` --contract ${campaign.contract}`;
      resolve({ kind: 'hang', caseIndex, images, replay: `npx crashlab run ${campaign.targetFlag} --seed ${campaign.seed} --path ${caseIndex} --runs 1${contract}` });
    }
    worker.on('message', (message: WorkerMessage) => {
      if (message.kind === 'case') {
        ({ cases, images } = message);
        onCase?.(cases, images);
        clearTimeout(timer);
        timer = setTimeout(onHang, hangTimeoutMs);
      } else if (message.kind === 'done') {
        // Resolve only once the worker is gone, so the next campaign never overlaps its teardown.
        settle(() => void worker.terminate().then(() => resolve({ kind: 'done', result: message.result })));
      } else {
        settle(() => void worker.terminate().then(() => reject(new WorkerFailure(message.message, message.code, message.name))));
      }
    });
    worker.on('error', (error) => settle(() => reject(error)));
  });
}
