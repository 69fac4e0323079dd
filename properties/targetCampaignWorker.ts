/**
 * Runs a target campaign inside a worker thread, for targets that run synchronously
 * (WebAssembly): a loop inside such a target never yields, so counting event-loop turns cannot
 * see it hang; the parent (cli/targetWatchdog.ts) watches this worker's progress messages
 * instead and terminates it when they stop. The target is named again here (a built-in name or
 * an adapter file), since a target object cannot cross threads.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadAdapter, resolveTarget } from '../targets/registry.js';
import { checkConformance } from './conformance.js';
import { runTargetCampaign, type TargetCampaign } from './runTargetCampaign.js';

/** A campaign as it crosses threads: the target by name (built-in) or by file (adapter). */
export type WorkerCampaign = Omit<TargetCampaign, 'target' | 'onCase'> & {
  readonly targetName?: string | undefined;
  readonly adapterFile?: string | undefined;
};

/** Messages to the parent: progress after every case, then the result (or the error). */
export type WorkerMessage =
  | { readonly kind: 'case'; readonly cases: number; readonly images: number }
  | { readonly kind: 'done'; readonly result: Awaited<ReturnType<typeof runTargetCampaign>> }
  | { readonly kind: 'error'; readonly message: string; readonly name: string; readonly code: string | undefined };

async function work(campaign: WorkerCampaign): Promise<void> {
  const port = parentPort!;
  try {
    const target = campaign.adapterFile !== undefined ? await loadAdapter(campaign.adapterFile) : resolveTarget(campaign.targetName!);
    if (campaign.adapterFile !== undefined) await checkConformance(target);
    const result = await runTargetCampaign({ ...campaign, target, onCase: (cases, images) => port.postMessage({ kind: 'case', cases, images } satisfies WorkerMessage) });
    port.postMessage({ kind: 'done', result } satisfies WorkerMessage);
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String((error).code) : undefined;
    port.postMessage({ kind: 'error', message: error instanceof Error ? error.message : String(error), name: error instanceof Error ? error.name : 'Error', code } satisfies WorkerMessage);
  }
}

if (parentPort !== null) void work(workerData as WorkerCampaign);
