/**
 * The node-fs tier's recorder: patches Node's `fs` in the traced child so that every
 * successful, state-changing call under one root directory becomes the primitive events of
 * fault/trace.ts, in the order the calls completed. Installed before the library loads
 * (libraries such as stubborn-fs keep references to fs functions taken at load time), it
 * patches the callback API, the *Sync API, `fs.promises` and the FileHandle prototype, then
 * syncs the ESM named exports so `require('fs')` and `import { writeFile } from 'fs'` agree.
 *
 * What each call records is in recorderPlans.ts and namespacePlans.ts; this file only wraps.
 * A re-entrancy guard (an AsyncLocalStorage flag) keeps a high-level call from recording twice
 * when Node implements it over the patched functions (callback writeFile calls fs.open,
 * fs.write, fs.close); the caller's own callback is bound back to the caller's context, so the
 * guard never leaks into I/O the caller starts from it (a WriteStream opened in the callback).
 *
 * I/O the recorder cannot see is refused, not missed: worker_threads.Worker, every
 * child_process spawner, process.dlopen (native add-ons) and a symlink under the root throw
 * NodeFsError UNSUPPORTED_IO and are remembered in `refusals` (a library that swallows the
 * error is still refused). Determinism (determinism.ts) pins Math.random, crypto's random
 * functions, Date, process.pid and mkdtemp; it cannot pin performance.now, process.hrtime/uptime,
 * timers racing I/O, OpenSSL key generation, file times, os.* readings (the full list is in
 * determinism.ts's header).
 *
 * Not covered: symlinks and fs.watch (refused or irrelevant), chmod/chown/utimes (no trace
 * event), fs.opendir, fs.readLines and read streams' effect on an fd's offset.
 */
import { AsyncLocalStorage, AsyncResource } from 'node:async_hooks';
import childProcess from 'node:child_process';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import workerThreads from 'node:worker_threads';
import type { TraceEvent } from '../../fault/trace.js';
import { NAMESPACE_PLANS } from './namespacePlans.js';
import { NodeFsError } from './nodeFsError.js';
import { FD_PLANS, type After, type Plan } from './recorderPlans.js';
import { RecorderState, type OriginalFs, type TraceSink } from './recorderState.js';

export type { OriginalFs, TraceSink } from './recorderState.js';

export interface Recorder {
  readonly root: string;
  readonly events: readonly TraceEvent[];
  /** UNSUPPORTED_IO errors raised so far: any one refuses the run. */
  readonly refusals: readonly NodeFsError[];
  /** The recorder's own failures (a call form it could not decode): the trace is not to be trusted. */
  readonly faults: readonly Error[];
  /** The unpatched functions (`original.promises` too): the harness's own I/O, and tests' way around the recorder. */
  readonly original: OriginalFs;
  /** Records a workload marker (the child's entry brackets each transaction with them). */
  marker(marker: 'issued' | 'acked', txn: number): void;
  uninstall(): void;
}

export interface RecorderOptions {
  /** Refuse worker threads, child processes and native add-ons (default true). */
  readonly refuseBypasses?: boolean;
}

const PLANS = { ...FD_PLANS, ...NAMESPACE_PLANS };
type Family = keyof typeof PLANS;
type AnyFn = (this: unknown, ...args: unknown[]) => unknown;

const CALLBACK_AND_SYNC: readonly Family[] = ['open', 'close', 'write', 'writev', 'read', 'readv', 'readFile', 'writeFile', 'appendFile', 'ftruncate', 'truncate', 'fsync', 'fdatasync',
  'rename', 'link', 'unlink', 'mkdir', 'mkdtemp', 'rm', 'rmdir', 'copyFile', 'cp', 'symlink'];
const PROMISES: readonly Family[] = ['open', 'readFile', 'writeFile', 'appendFile', 'truncate', 'rename', 'link', 'unlink', 'mkdir', 'mkdtemp', 'rm', 'rmdir', 'copyFile', 'cp', 'symlink'];
const HANDLE_METHODS: ReadonlyArray<readonly [string, Family]> = [['close', 'close'], ['write', 'write'], ['writev', 'writev'], ['read', 'read'], ['readv', 'readv'], ['readFile', 'readFile'],
  ['writeFile', 'writeFile'], ['appendFile', 'appendFile'], ['truncate', 'ftruncate'], ['sync', 'fsync'], ['datasync', 'fdatasync']];
const SPAWNERS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;

/** Set while a patched call runs: calls Node makes on its behalf are its parts, not new calls. */
const guard = new AsyncLocalStorage<true>();
let active: { recorder: Recorder; state: RecorderState } | null = null;

/** The recorder installed in this process, if any (the child's entry reads its events here). */
export function activeRecorder(): Recorder | null {
  return active?.recorder ?? null;
}

/**
 * Patches fs for `rootDir` (which must exist) and returns the recorder; `sink` sees each event
 * as it is recorded. One recorder per process at a time.
 */
export async function installRecorder(rootDir: string, sink: TraceSink = () => undefined, options: RecorderOptions = {}): Promise<Recorder> {
  if (active !== null) throw new Error(`a recorder is already installed (root ${active.recorder.root})`);
  const original = { ...guardedCopy(fs), promises: guardedCopy(fs.promises) };
  const probe = await original.promises.open(rootDir, 'r');
  const handlePrototype = Object.getPrototypeOf(probe) as Record<string, unknown>;
  await probe.close();
  const state = new RecorderState(rootDir, original, sink);
  const restores: Array<() => void> = [];
  const patch = (target: object, name: string, make: (orig: AnyFn) => unknown): void => {
    const descriptor = Object.getOwnPropertyDescriptor(target, name);
    const orig = (target as Record<string, unknown>)[name];
    if (descriptor === undefined || typeof orig !== 'function') return;
    Object.defineProperty(target, name, { ...descriptor, value: withSymbols(make(orig as AnyFn) as AnyFn, orig as AnyFn) });
    restores.push(() => Object.defineProperty(target, name, descriptor));
  };
  patchFs(state, patch, handlePrototype);
  if (options.refuseBypasses !== false) patchBypasses(state, patch);
  syncBuiltinESMExports();
  const recorder: Recorder = {
    root: state.root, events: state.events, refusals: state.refusals, faults: state.faults, original,
    marker: (marker, txn) => state.emit({ kind: 'marker', marker, txn }),
    uninstall() {
      state.live = false;
      for (const restore of restores.reverse()) restore();
      syncBuiltinESMExports();
      if (active?.recorder === recorder) active = null;
    },
  };
  active = { recorder, state };
  return recorder;
}

/**
 * The module's functions as they are now, each run inside the guard: Node's own writeFileSync
 * calls fs.openSync through the module object, which would otherwise reach the patch.
 */
function guardedCopy<T extends object>(module: T): T {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(module)) {
    // Lower-case names are functions to call; upper-case ones are classes (Stats, WriteStream) to keep as they are.
    const callable = typeof value === 'function' && /^[a-z]/.test(name);
    copy[name] = callable ? function guarded(this: unknown, ...args: unknown[]): unknown { return guard.run(true, () => (value as AnyFn).apply(module, args)); } : value;
  }
  return copy as T;
}

type Patcher = (target: object, name: string, make: (orig: AnyFn) => unknown) => void;

function patchFs(state: RecorderState, patch: Patcher, handlePrototype: object): void {
  for (const family of CALLBACK_AND_SYNC) {
    patch(fs, family, (orig) => wrapCallback(state, orig, PLANS[family], family === 'close'));
    patch(fs, `${family}Sync`, (orig) => wrapSync(state, orig, PLANS[family]));
  }
  for (const family of PROMISES) patch(fs.promises, family, (orig) => wrapPromise(state, orig, PLANS[family], false));
  for (const [method, family] of HANDLE_METHODS) patch(handlePrototype, method, (orig) => wrapPromise(state, orig, PLANS[family], true));
}

function patchBypasses(state: RecorderState, patch: Patcher): void {
  for (const name of SPAWNERS) patch(childProcess, name, (orig) => refuser(state, `child_process.${name}`, orig));
  patch(workerThreads, 'Worker', (orig) => function RefusedWorker(this: unknown, ...args: unknown[]): unknown {
    if (!state.live) return Reflect.construct(orig, args, new.target ?? orig) as unknown;
    throw state.refuse('worker_threads.Worker');
  });
  patch(process, 'dlopen', (orig) => refuser(state, 'a native add-on (process.dlopen)', orig));
}

function refuser(state: RecorderState, what: string, orig: AnyFn): AnyFn {
  return function refused(this: unknown, ...args: unknown[]): unknown {
    if (!state.live) return orig.apply(this, args);
    throw state.refuse(what);
  };
}

/** Keeps the original's symbol-keyed properties (util.promisify reads fs.write's custom result shape there). */
function withSymbols(wrapper: AnyFn, orig: AnyFn): AnyFn {
  for (const symbol of Object.getOwnPropertySymbols(orig)) Object.defineProperty(wrapper, symbol, Object.getOwnPropertyDescriptor(orig, symbol) ?? {});
  Object.defineProperty(wrapper, 'name', { value: orig.name });
  return wrapper;
}

function recording(state: RecorderState): boolean {
  return state.live && guard.getStore() !== true;
}

/** Runs a plan before its call; a refusal propagates, any other failure of the recorder is a fault, never the library's error. */
function prepare(state: RecorderState, plan: Plan, args: readonly unknown[]): After | null {
  try {
    // Inside the guard: the unpatched readFileSync still calls fs.openSync through the (patched) module.
    return guard.run(true, () => plan(state, args));
  } catch (error) {
    if (error instanceof NodeFsError) throw error;
    state.faults.push(error instanceof Error ? error : new Error(String(error)));
    return null;
  }
}

/** The call failed: nothing to record, but what its plan reserved is let go. */
function failed(state: RecorderState, after: After | null): void {
  try {
    if (after?.failed !== undefined) guard.run(true, after.failed);
  } catch (error) {
    state.faults.push(error instanceof Error ? error : new Error(String(error)));
  }
}

function finish(state: RecorderState, after: After | null, result: unknown): void {
  if (after === null) return;
  try {
    guard.run(true, () => after(normalise(result)));
  } catch (error) {
    state.faults.push(error instanceof Error ? error : new Error(String(error)));
  }
}

/** One result shape for every form: FileHandle → its fd, { bytesWritten } / { bytesRead } → the count. */
function normalise(result: unknown): unknown {
  if (typeof result !== 'object' || result === null) return result;
  const fields = result as { fd?: unknown; bytesWritten?: unknown; bytesRead?: unknown };
  if (typeof fields.bytesWritten === 'number') return fields.bytesWritten;
  if (typeof fields.bytesRead === 'number') return fields.bytesRead;
  if (typeof fields.fd === 'number') return fields.fd;
  return result;
}

function wrapSync(state: RecorderState, orig: AnyFn, plan: Plan): AnyFn {
  return function patchedSync(this: unknown, ...args: unknown[]): unknown {
    if (!recording(state)) return orig.apply(this, args);
    const after = prepare(state, plan, args);
    let result: unknown;
    try {
      result = guard.run(true, () => orig.apply(this, args));
    } catch (error) {
      failed(state, after);
      throw error;
    }
    finish(state, after, result);
    return result;
  };
}

/** `callbackOptional`: fs.close(fd) without a callback is allowed (Node supplies a no-op); the recorder still has to see it finish. */
function wrapCallback(state: RecorderState, orig: AnyFn, plan: Plan, callbackOptional = false): AnyFn {
  return function patchedCallback(this: unknown, ...args: unknown[]): unknown {
    if (callbackOptional && recording(state) && typeof args[args.length - 1] !== 'function') args.push(() => undefined);
    const last = args.length - 1;
    if (!recording(state) || typeof args[last] !== 'function') return orig.apply(this, args);
    const after = prepare(state, plan, args.slice(0, last));
    // The caller's callback runs in the caller's async context, outside the guard: what it starts is recorded.
    const callback = AsyncResource.bind(args[last] as AnyFn);
    const wrapped = [...args.slice(0, last), (error: unknown, ...results: unknown[]): unknown => {
      if (error === null || error === undefined) finish(state, after, results[0]);
      else failed(state, after);
      return callback(error, ...results);
    }];
    try {
      return guard.run(true, () => orig.apply(this, wrapped));
    } catch (error) {
      failed(state, after);
      throw error;
    }
  };
}

/** fs.promises functions, and FileHandle methods (`self`: the handle's fd goes first to the plan). */
function wrapPromise(state: RecorderState, orig: AnyFn, plan: Plan, self: boolean): AnyFn {
  return function patchedPromise(this: unknown, ...args: unknown[]): unknown {
    if (!recording(state)) return orig.apply(this, args);
    let after: After | null;
    try {
      // Read the fd now: a closed FileHandle reports -1.
      after = prepare(state, plan, self ? [(this as { fd?: unknown }).fd, ...args] : args);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    let promise: Promise<unknown>;
    try {
      promise = guard.run(true, () => orig.apply(this, args)) as Promise<unknown>;
    } catch (error) {
      failed(state, after);
      throw error;
    }
    return promise.then((result) => {
      finish(state, after, result);
      return result;
    }, (error: unknown) => {
      failed(state, after);
      throw error;
    });
  };
}
