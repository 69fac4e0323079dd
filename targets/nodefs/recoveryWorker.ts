/**
 * The worker that recovers crash images of a node-fs target: a module graph of its own (the
 * library is loaded here, never in the harness's), which lays each image out in a fresh
 * directory, opens the library on it, reads the whole state, closes, and removes the
 * directory. Images come one message each and are answered in order, so the parent knows
 * which image a hang belongs to. Several images share one module graph ("batched where
 * sound"): the canary test puts a known-bad image inside a batch and expects it still to fail.
 *
 * With `memory` (the built-in targets), the directory is not written: the image is mounted in
 * an in-memory fs at the same path (memoryFs.ts, memoryFsPatch.ts), installed before the
 * library loads, so the library's reads, writes, renames and fsyncs cost no system call. A call
 * the memory fs does not model fails the run (RECOVERY_FS_UNSUPPORTED), not the image.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import type { DirImage } from '../../fault/trace.js';
import type { TargetState } from '../target.js';
import { MemoryFs, type MemoryFsFault } from './memoryFs.js';
import { installMemoryFs } from './memoryFsPatch.js';
import type { TracedAdapter } from './nodeFsAdapter.js';
import { loadPackage } from './packageLoader.js';
import { RECOVERY_DATA_ENV } from './recoveryProcess.js';

export interface RecoveryWorkerData {
  readonly adapterUrl: string;
  /** Package name → the folder it is installed in. */
  readonly packages: Readonly<Record<string, string>>;
  readonly scratchDir: string;
  readonly seed: number;
  /** Recover from memory (null: on real files), with a fault planted in the memory fs (the equivalence test's check of itself). */
  readonly memory: { readonly fault: MemoryFsFault | null } | null;
  /** Send back the files the library left after recovering each image (the equivalence test compares them). */
  readonly returnFiles: boolean;
}

export type RecoveryRequest = { readonly id: number; readonly image: DirImage };
/**
 * `state` is null when this worker already sent a state of the same `stateKey` (the pool keeps
 * the states each worker sent): many crash images recover to one state, and sending it again
 * cost more than recovering it.
 */
export type RecoveryReply =
  | { readonly id: number; readonly ok: true; readonly stateKey: string; readonly state: TargetState | null; readonly files?: DirImage }
  | { readonly id: number; readonly ok: false; readonly message: string; readonly code: string | undefined; readonly files?: DirImage }
  /** The memory fs refused a call: this answer is not the one real files would give, and the run stops. */
  | { readonly id: number; readonly ok: false; readonly unsupported: string };

/** A worker thread's data, or a recovery process's (recoveryProcess.ts) from its environment. */
const data = (parentPort !== null ? workerData : JSON.parse(process.env[RECOVERY_DATA_ENV] ?? 'null')) as RecoveryWorkerData;
let adapter: Promise<TracedAdapter> | null = null;
/** Installed now, before any adapter or library loads (a module keeps the fs functions it took at load). */
const memory = data !== null && data.memory !== null ? installMemoryFs() : null;

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

/**
 * A state's identity: SHA-256 over its families, tables and rows in sorted order, each name
 * length-prefixed, so two states share a key exactly when they hold the same rows.
 */
export function stateKeyOf(state: TargetState): string {
  const hash = createHash('sha256');
  const named = (tag: string, name: string): void => void hash.update(`${tag}${name.length}:${name}\0`);
  for (const family of [...state.keys()].sort()) {
    named('f', family);
    const tables = state.get(family)!;
    for (const table of [...tables.keys()].sort()) {
      named('t', table);
      const rows = tables.get(table)!;
      for (const key of [...rows.keys()].sort()) {
        named('k', key);
        named('v', rows.get(key)!);
      }
    }
  }
  return hash.digest('hex');
}

/** The state keys this worker has sent the states of (the pool's lane keeps those states until the worker ends). */
const sentStates = new Set<string>();

async function recover(request: RecoveryRequest): Promise<RecoveryReply> {
  const dir = path.join(data.scratchDir, `image-${request.id}`);
  adapter ??= loadAdapter();
  if (memory === null || data.memory === null) {
    try {
      const reply = await recoverAt(dir, request, () => layOut(dir, request.image));
      return data.returnFiles ? { ...reply, files: readTree(dir) } : reply;
    } finally {
      removeTree(dir);
    }
  }
  const image = new MemoryFs(dir, request.image, data.memory.fault);
  memory.mount(image);
  let reply: RecoveryReply;
  let refusals: readonly Error[] = [];
  try {
    reply = await recoverAt(dir, request, () => undefined);
  } finally {
    refusals = memory.unmount();
  }
  // Checked after the answer: a library may have swallowed the refusal and answered anyway.
  if (refusals.length > 0) return { id: request.id, ok: false, unsupported: refusals.map((refusal) => refusal.message).join('; ') };
  return data.returnFiles ? { ...reply, files: image.image() } : reply;
}

/** Opens the library on the image at `dir` (laid out by `prepare`), reads its state, closes it. */
async function recoverAt(dir: string, request: RecoveryRequest, prepare: () => void): Promise<Extract<RecoveryReply, { message: string } | { ok: true }>> {
  try {
    const library = await adapter!;
    prepare();
    const store = await library.open(dir, { seed: data.seed, load: loadOnce });
    const state = await store.readState();
    await store.close();
    const stateKey = stateKeyOf(state);
    const sent = sentStates.has(stateKey);
    sentStates.add(stateKey);
    return { id: request.id, ok: true, stateKey, state: sent ? null : state };
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
    // The image's folder differs run to run: name it `<image>`, so a replay gives the same message.
    return { id: request.id, ok: false, message: messageWithCause(error).split(dir).join('<image>'), code };
  }
}

/** The files and folders under `dir`, in the order MemoryFs.image() gives them. */
function readTree(dir: string, prefix = '', into: { files: Map<string, Uint8Array>; dirs: Set<string> } = { files: new Map(), dirs: new Set() }): DirImage {
  for (const entry of fs.readdirSync(path.join(dir, prefix), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      into.dirs.add(relative);
      readTree(dir, relative, into);
    } else into.files.set(relative, new Uint8Array(fs.readFileSync(path.join(dir, relative))));
  }
  return into;
}

/**
 * Removes an image's folder: one readdir per folder and an unlink per file, which is what
 * rmSync's retrying walk (an lstat per entry) cost twice over; anything unusual (a folder the
 * library made unwritable) falls back to rmSync.
 */
function removeTree(dir: string): void {
  try {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const child = path.join(dir, entry.name);
      if (entry.isDirectory()) removeTree(child);
      else fs.unlinkSync(child);
    }
    fs.rmdirSync(dir);
  } catch {
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
