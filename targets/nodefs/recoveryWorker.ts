/**
 * The worker that recovers crash images of a node-fs target: a module graph of its own (the
 * library is loaded here, never in the harness's), which lays each image out in a fresh
 * directory, opens the library on it, reads the whole state, closes, and removes the
 * directory. Images come one message each and are answered in order, so the parent knows
 * which image a hang belongs to. Several images share one module graph ("batched where
 * sound"): the canary test puts a known-bad image inside a batch and expects it still to fail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { DirImage } from '../../fault/trace.js';
import type { TargetState } from '../target.js';
import type { TracedAdapter } from './nodeFsAdapter.js';
import { loadPackage } from './packageLoader.js';
import { RECOVERY_DATA_ENV } from './recoveryProcess.js';

export interface RecoveryWorkerData {
  readonly adapterUrl: string;
  /** Package name → the folder it is installed in. */
  readonly packages: Readonly<Record<string, string>>;
  readonly scratchDir: string;
  readonly seed: number;
}

export type RecoveryRequest = { readonly id: number; readonly image: DirImage };
export type RecoveryReply =
  | { readonly id: number; readonly ok: true; readonly state: TargetState }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly code: string | undefined };

/** A worker thread's data, or a recovery process's (recoveryProcess.ts) from its environment. */
const data = (parentPort !== null ? workerData : JSON.parse(process.env[RECOVERY_DATA_ENV] ?? 'null')) as RecoveryWorkerData;
let adapter: Promise<TracedAdapter> | null = null;

async function loadAdapter(): Promise<TracedAdapter> {
  const loaded = await import(data.adapterUrl) as { default?: TracedAdapter };
  if (loaded.default?.tier !== 'node-fs' && loaded.default?.tier !== 'native') throw new TypeError(`${data.adapterUrl} exports no node-fs or native adapter`);
  return loaded.default;
}

/**
 * Writes `image` under `dir`: directories first (sorted, so parents come first), then files.
 * Synchronous on purpose: nothing else runs in this worker meanwhile, and a thread-pool round
 * trip per file was most of an image's cost.
 */
export function layOut(dir: string, image: DirImage): void {
  fs.mkdirSync(dir, { recursive: true });
  for (const sub of [...image.dirs].sort()) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  for (const [name, bytes] of image.files) fs.writeFileSync(path.join(dir, name), bytes);
}

/**
 * `context.load`, once per specifier in this worker: the module graph caches the module anyway,
 * and finding its entry (reading the package's manifest, probing files) was a tenth of an image.
 */
const loaded = new Map<string, Promise<unknown>>();
function loadOnce(specifier: string): Promise<unknown> {
  let module = loaded.get(specifier);
  if (module === undefined) {
    module = loadPackage(data.packages, specifier);
    loaded.set(specifier, module);
  }
  return module;
}

async function recover(request: RecoveryRequest): Promise<RecoveryReply> {
  const dir = path.join(data.scratchDir, `image-${request.id}`);
  try {
    adapter ??= loadAdapter();
    const library = await adapter;
    layOut(dir, request.image);
    const store = await library.open(dir, { seed: data.seed, load: loadOnce });
    const state = await store.readState();
    await store.close();
    return { id: request.id, ok: true, state };
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    // The image's folder differs run to run: name it `<image>`, so a replay gives the same message.
    return { id: request.id, ok: false, message: messageWithCause(error).split(dir).join('<image>'), code };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** An error's message and its causes' (classic-level's "Database failed to open" says why only in its cause). */
function messageWithCause(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error, depth = 0; current !== undefined && current !== null && depth < 4; depth++) {
    parts.push(current instanceof Error ? current.message : JSON.stringify(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}

/** The channel to the pool: the worker's port, or a recovery process's IPC channel. */
const port = parentPort ?? (process.send === undefined || data === null ? null
  : { on: (event: 'message', listener: (request: RecoveryRequest) => void) => process.on(event, listener), postMessage: (reply: RecoveryReply) => process.send?.(reply) });
if (port !== null) {
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (request: RecoveryRequest) => {
    queue = queue.then(async () => { port.postMessage(await recover(request)); });
  });
}
