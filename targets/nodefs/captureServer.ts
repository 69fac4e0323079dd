/**
 * The capture server: one long-lived process per campaign (started with one thread-pool thread,
 * so concurrent fs calls complete in the order issued) that runs each capture in a worker thread
 * of its own (captureWorkerMain.ts) instead of a new process per case: the same fresh module
 * graph and patched fs, without paying a Node start per case. Requests come over IPC as
 * `{ id, config }`; the answer `{ id, exitCode }` comes when the worker has exited, its trace
 * and result already written to the files its config names (captureTrace.ts reads them).
 */
import { Worker } from 'node:worker_threads';
import type { ChildConfig } from './traceProtocol.js';

export interface CaptureRequest { readonly id: number; readonly config: ChildConfig }
export interface CaptureReply { readonly id: number; readonly exitCode: number; readonly error: string | null }

const WORKER_URL = new URL('./captureWorkerMain.js', import.meta.url);

/** A worker started ahead of its case, its own modules loaded while the last case is judged. */
interface Spare {
  readonly worker: Worker;
  readonly exited: Promise<{ exitCode: number; error: string | null }>;
}

function startSpare(): Spare {
  const worker = new Worker(WORKER_URL, { stdout: false, stderr: false });
  let error: string | null = null;
  worker.on('error', (failure) => { error = failure instanceof Error ? failure.stack ?? failure.message : String(failure); });
  const exited = new Promise<{ exitCode: number; error: string | null }>((resolve) => worker.on('exit', (exitCode) => resolve({ exitCode, error })));
  return { worker, exited };
}

let spare: Spare | null = null;

async function capture(request: CaptureRequest): Promise<CaptureReply> {
  const mine = spare ?? startSpare();
  mine.worker.postMessage(request.config);
  spare = startSpare();
  const { exitCode, error } = await mine.exited;
  return { id: request.id, exitCode, error };
}

if (process.send !== undefined) {
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (request: CaptureRequest) => {
    queue = queue.then(async () => { process.send?.(await capture(request)); });
  });
  process.on('disconnect', () => process.exit(0));
  spare = startSpare();
}
