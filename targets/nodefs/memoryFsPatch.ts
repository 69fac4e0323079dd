/**
 * Routes Node's fs to a mounted MemoryFs (memoryFs.ts) in a recovery worker: at the patch
 * points the recorder uses (fsRecorder.ts), every function of `fs` and `fs.promises` is
 * wrapped before the library loads (nedb keeps `fs.promises.rename` from its load; lowdb's ESM
 * named imports follow syncBuiltinESMExports). A call whose path (first or second argument) is
 * under the mounted root, or whose descriptor or FileHandle is a memory one, is answered from
 * memory when the memory fs models it, and refused otherwise; every other call goes to the real
 * fs untouched (the worker's own module loading, for one).
 *
 * Modelled: fs.promises access, mkdir, readFile, writeFile, rename, unlink and open (a handle
 * with fd, sync, datasync, close); the callback open, read, write, writev, close, fsync and
 * fdatasync that read and write streams are built on (createReadStream and createWriteStream
 * run as they are, over those). Nothing synchronous. A refusal throws (or rejects with)
 * NodeFsError RECOVERY_FS_UNSUPPORTED and is remembered until unmount, so a library that
 * swallows it (nedb's existsAsync turns any error into `false`) still fails the image.
 * Answers come on the next tick (callbacks) or as settled promises: what a real call gives
 * later, in the poll phase; the built-in targets' recoveries do not depend on that timing,
 * and the equivalence test (real files against memory, per target) is what says so.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { fileURLToPath } from 'node:url';
import { MEMORY_FD_BASE, unsupported, type MemoryFs } from './memoryFs.js';
import { NodeFsError } from './nodeFsError.js';

type AnyFn = (this: unknown, ...args: unknown[]) => unknown;
type Op = (memory: MemoryFs, args: unknown[]) => unknown;

export interface MemoryFsRouter {
  mount(memory: MemoryFs): void;
  /** Ends the mount; the refusals raised during it and since the last unmount (any one: the image's answer is not real files' answer). */
  unmount(): readonly NodeFsError[];
  /** Puts fs back (tests). */
  uninstall(): void;
}

let mounted: MemoryFs | null = null;
let refusals: NodeFsError[] = [];
let router: MemoryFsRouter | null = null;

/** Built over the patched primitives: left as they are, so they reach the memory fs through fs.open/read/write/close. */
const COMPOSED = new Set(['createReadStream', 'createWriteStream']);

const PROMISE_OPS: Readonly<Record<string, Op>> = {
  access: (memory, [file, mode]) => memory.access(pathIn(memory, file), mode),
  mkdir: (memory, [file, options]) => memory.mkdir(pathIn(memory, file), options),
  readFile: (memory, [file, options]) => memory.readFile(pathIn(memory, file), options),
  writeFile: (memory, [file, data, options]) => memory.writeFile(pathIn(memory, file), data, options),
  rename: (memory, [from, to]) => memory.rename(pathIn(memory, from), pathIn(memory, to)),
  unlink: (memory, [file]) => memory.unlink(pathIn(memory, file)),
  open: (memory, [file, flags]) => new MemoryFileHandle(memory, memory.open(pathIn(memory, file), flags)),
};

/** The callback forms, each answering the callback's results after `null`. */
const CALLBACK_OPS: Readonly<Record<string, Op>> = {
  open: (memory, [file, flags]) => [memory.open(pathIn(memory, file), flags)],
  read: (memory, args) => {
    const [fd, buffer, offset, length, position] = args;
    if (args.length !== 5 || !ArrayBuffer.isView(buffer) || typeof offset !== 'number' || typeof length !== 'number') throw unsupported('fs.read but as fs.read(fd, buffer, offset, length, position, callback)');
    return [memory.read(fd as number, buffer, offset, length, position), buffer];
  },
  write: (memory, args) => {
    const [fd, buffer, offset, length, position] = args;
    if (args.length !== 5 || !ArrayBuffer.isView(buffer) || typeof offset !== 'number' || typeof length !== 'number') throw unsupported('fs.write but as fs.write(fd, buffer, offset, length, position, callback)');
    return [memory.write(fd as number, buffer, offset, length, position), buffer];
  },
  writev: (memory, [fd, buffers, position]) => {
    if (!Array.isArray(buffers) || !buffers.every((buffer) => ArrayBuffer.isView(buffer))) throw unsupported('fs.writev of anything but byte arrays');
    return [memory.writev(fd as number, buffers, position), buffers];
  },
  close: (memory, [fd]) => {
    memory.close(fd as number);
    return [];
  },
  fsync: (memory, [fd]) => {
    memory.sync(fd as number, 'fsync');
    return [];
  },
  fdatasync: (memory, [fd]) => {
    memory.sync(fd as number, 'fdatasync');
    return [];
  },
};

/** A FileHandle's methods the memory handle does not model: each refuses. */
const UNMODELLED_HANDLE_METHODS = ['appendFile', 'chmod', 'chown', 'createReadStream', 'createWriteStream', 'read', 'readableWebStream', 'readFile', 'readLines', 'readv', 'stat', 'truncate', 'utimes', 'write', 'writeFile', 'writev'];

/** fs.promises.open's answer for a memory file: the descriptor, sync, datasync and close. */
export class MemoryFileHandle {
  constructor(private readonly memory: MemoryFs, private descriptor: number) {}

  get fd(): number {
    return this.descriptor;
  }

  sync(): Promise<void> {
    return this.settle(() => this.memory.sync(this.open(), 'fsync'));
  }

  datasync(): Promise<void> {
    return this.settle(() => this.memory.sync(this.open(), 'fdatasync'));
  }

  /** Closing a closed handle resolves, as Node's does. */
  close(): Promise<void> {
    if (this.descriptor === -1) return Promise.resolve();
    const fd = this.descriptor;
    this.descriptor = -1;
    return this.settle(() => this.memory.close(fd));
  }

  private open(): number {
    if (this.descriptor === -1) throw unsupported('a call on a closed FileHandle');
    return this.descriptor;
  }

  private settle(run: () => void): Promise<void> {
    return promised(() => run()) as Promise<void>;
  }
}
for (const method of UNMODELLED_HANDLE_METHODS) {
  Object.defineProperty(MemoryFileHandle.prototype, method, { value: () => promised(() => { throw unsupported(`FileHandle.${method}`); }) });
}

/**
 * Wraps fs and fs.promises once per thread (again after uninstall). Call it before the library
 * loads: a function a module kept from its load is the one it calls.
 */
export function installMemoryFs(): MemoryFsRouter {
  if (router !== null) return router;
  const restores: Array<() => void> = [];
  const patch = (target: Record<string, unknown>, name: string, wrapped: (orig: AnyFn) => AnyFn): void => {
    const descriptor = Object.getOwnPropertyDescriptor(target, name);
    const orig = target[name];
    if (descriptor === undefined || typeof orig !== 'function' || !/^[a-z]/.test(name) || COMPOSED.has(name)) return;
    const value = wrapped(orig as AnyFn);
    // The original's own properties: util.promisify reads fs.read's and fs.exists's custom forms there, and callers use fs.realpathSync.native.
    for (const key of Reflect.ownKeys(orig)) {
      if (key !== 'length' && key !== 'prototype') Object.defineProperty(value, key, Object.getOwnPropertyDescriptor(orig, key) ?? {});
    }
    Object.defineProperty(target, name, { ...descriptor, value });
    restores.push(() => Object.defineProperty(target, name, descriptor));
  };
  const promises = fs.promises as unknown as Record<string, unknown>;
  for (const name of Object.keys(promises)) patch(promises, name, (orig) => routed(orig, `fs.promises.${name}`, PROMISE_OPS[name], 'promise'));
  for (const name of Object.keys(fs)) patch(fs, name, (orig) => routed(orig, `fs.${name}`, name.endsWith('Sync') ? undefined : CALLBACK_OPS[name], name.endsWith('Sync') ? 'sync' : 'callback'));
  syncBuiltinESMExports();
  router = {
    mount(memory) {
      if (mounted !== null) throw new Error(`a memory fs is already mounted at ${mounted.root}`);
      // Refusals raised while nothing was mounted (an image's leftover acting after its unmount) stay, and fail this image.
      mounted = memory;
    },
    unmount() {
      mounted = null;
      const raised = refusals;
      refusals = [];
      return raised;
    },
    uninstall() {
      for (const restore of restores.reverse()) restore();
      syncBuiltinESMExports();
      mounted = null;
      router = null;
    },
  };
  return router;
}

/** The memory fs a call is for (null: the real fs's), from its first two arguments. */
function memoryOf(args: readonly unknown[]): MemoryFs | null {
  for (const arg of args.slice(0, 2)) {
    if (arg instanceof MemoryFileHandle || (typeof arg === 'number' && arg >= MEMORY_FD_BASE)) {
      // A memory descriptor outliving its image (a library's leftover reaching the next one) is refused.
      if (mounted === null || (typeof arg === 'number' && !mounted.issuedFd(arg))) throw remember(unsupported(`the descriptor ${typeof arg === 'number' ? arg : arg.fd} of an image no longer mounted`));
      return mounted;
    }
    if (mounted !== null && isPathLike(arg) && mounted.contains(pathText(arg))) return mounted;
  }
  return null;
}

function routed(orig: AnyFn, name: string, op: Op | undefined, style: 'promise' | 'callback' | 'sync'): AnyFn {
  return function routedCall(this: unknown, ...args: unknown[]): unknown {
    let memory: MemoryFs | null;
    try {
      memory = memoryOf(args);
    } catch (error) {
      if (style === 'promise') return Promise.reject(asError(error));
      throw error;
    }
    if (memory === null) return orig.apply(this, args);
    const target = memory;
    if (style === 'promise') return promised(() => (op === undefined ? refuse(name) : op(target, args)));
    if (op === undefined) return refuse(name);
    const callback = typeof args[args.length - 1] === 'function' ? args.pop() as AnyFn : name === 'fs.close' ? () => undefined : refuse(`${name} without a callback`);
    let results: unknown;
    try {
      results = op(target, args);
    } catch (error) {
      if (error instanceof NodeFsError) throw remember(error);
      process.nextTick(callback, error);
      return undefined;
    }
    process.nextTick(() => callback(null, ...(results as unknown[])));
    return undefined;
  };
}

/** `run`'s answer as a settled promise; a refusal is remembered. */
function promised(run: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(run());
  } catch (error) {
    if (error instanceof NodeFsError) remember(error);
    return Promise.reject(asError(error));
  }
}

/** Everything the memory fs throws is an Error already; the check keeps the promise's reason typed. */
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function refuse(name: string): never {
  throw remember(unsupported(name));
}

function remember(error: NodeFsError): NodeFsError {
  if (!refusals.includes(error)) refusals.push(error);
  return error;
}

function isPathLike(arg: unknown): arg is string | Buffer | URL {
  return (typeof arg === 'string' && arg.length < 4096) || Buffer.isBuffer(arg) || arg instanceof URL;
}

function pathText(arg: string | Buffer | URL): string {
  if (typeof arg === 'string') return arg;
  return Buffer.isBuffer(arg) ? arg.toString() : arg.protocol === 'file:' ? fileURLToPath(arg) : arg.href;
}

/** A path argument of a modelled call, checked to be under `memory`'s root (a rename across the root's edge is refused). */
function pathIn(memory: MemoryFs, arg: unknown): string {
  if (!isPathLike(arg)) throw unsupported(`the path argument ${String(arg)}`);
  const text = pathText(arg);
  if (!memory.contains(text)) throw unsupported(`a call that names both the image and ${text} outside it`);
  return text;
}
