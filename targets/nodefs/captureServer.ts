/**
 * The capture server: one long-lived process per campaign (started with one thread-pool thread,
 * so concurrent fs calls complete in the order issued) that runs each capture in a worker thread
 * (captureWorkerMain.ts) instead of a new process per case: the same module graph of its own and
 * patched fs, without paying a Node start per case. Requests come over IPC as
 * `{ id, config, reuse }`; the answer `{ id, exitCode }` comes when the capture is over, its trace
 * and result already written to the files its config names (captureTrace.ts reads them). A fresh
 * capture's thread exits after it; a reusing one (the built-in targets) keeps its thread for the
 * next reusing capture while the thread says it may (captureWorkerMain.ts), which saves a thread
 * start and the loading of crashlab's and the library's modules per case.
 */
import { Worker } from 'node:worker_threads';
import type { CaptureWorkerDone, CaptureWorkerRequest } from './captureWorkerMain.js';
import type { ChildConfig } from './traceProtocol.js';

export interface CaptureRequest { readonly id: number; readonly config: ChildConfig; readonly reuse: boolean }
export interface CaptureReply { readonly id: number; readonly exitCode: number; readonly error: string | null }

const WORKER_URL = new URL('./captureWorkerMain.js', import.meta.url);

interface Exit { readonly exitCode: number; readonly error: string | null }

/** A capture thread, started ahead of its case so its own modules load while the last case is judged. */
interface Thread {
  readonly worker: Worker;
  readonly exited: Promise<Exit>;
}

function startThread(): Thread {
  const worker = new Worker(WORKER_URL, { stdout: false, stderr: false });
  let error: string | null = null;
  worker.on('error', (failure) => { error = failure instanceof Error ? failure.stack ?? failure.message : String(failure); });
  const exited = new Promise<Exit>((resolve) => worker.on('exit', (exitCode) => resolve({ exitCode, error })));
  return { worker, exited };
}

let spare: Thread | null = null;
/** The thread the last reusing capture left for the next one. */
let reused: Thread | null = null;

async function captureFresh(request: CaptureRequest): Promise<Exit> {
  const mine = spare ?? startThread();
  mine.worker.postMessage({ config: request.config, reuse: false } satisfies CaptureWorkerRequest);
  spare = startThread();
  return mine.exited;
}

async function captureReusing(request: CaptureRequest): Promise<Exit> {
  const mine = reused ?? spare ?? startThread();
  if (mine === spare) spare = null;
  reused = null;
  const done = new Promise<CaptureWorkerDone>((resolve) => mine.worker.once('message', resolve));
  mine.worker.postMessage({ config: request.config, reuse: true } satisfies CaptureWorkerRequest);
  const outcome = await Promise.race([done, mine.exited]);
  if (!('done' in outcome)) return outcome;
  // A retiring thread exits by itself; its successor starts now, while this case is judged.
  if (outcome.reusable) reused = mine;
  else spare ??= startThread();
  return { exitCode: 0, error: null };
}

async function capture(request: CaptureRequest): Promise<CaptureReply> {
  const { exitCode, error } = request.reuse ? await captureReusing(request) : await captureFresh(request);
  return { id: request.id, exitCode, error };
}

if (process.send !== undefined) {
  let queue: Promise<void> = Promise.resolve();
  process.on('message', (request: CaptureRequest) => {
    queue = queue.then(async () => { process.send?.(await capture(request)); });
  });
  process.on('disconnect', () => process.exit(0));
  spare = startThread();
}
