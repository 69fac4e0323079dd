/**
 * Determinism in the traced child: the same seed must give the same trace, so whatever a
 * library draws at random or reads from the clock is pinned before it loads.
 *
 * Pinned: Math.random (SplitMix32 from the seed); node:crypto randomBytes (and its aliases),
 * randomFillSync, randomFill, randomInt, randomUUID, getRandomValues, and the same on
 * globalThis.crypto / crypto.webcrypto (one stream, from the same seed); Date.now and
 * `new Date()` / `Date()` (a fixed epoch, advancing 1 ms per reading); process.pid and
 * process.ppid (fixed values); fs.mkdtemp's random suffix (libuv draws it from the OS: here it
 * is made over fs.mkdir, so the recorder sees a plain mkdir).
 *
 * Not pinned (a library that branches on them may still differ between runs):
 * performance.now, process.hrtime / hrtime.bigint and process.uptime (monotonic clocks; timers
 * rely on them, and libuv's timers read the real clock anyway); the race between a timer and
 * I/O in flight (captureTrace runs the child with UV_THREADPOOL_SIZE=1, so concurrent fs calls
 * at least complete in the order issued); crypto.subtle key generation, crypto.generateKeyPair* and other keys made
 * in OpenSSL; file times (stat mtime/atime/ctime/birthtime) and real inode numbers; os.hostname,
 * os.uptime, os.freemem and friends; Intl time zone.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import workerThreads from 'node:worker_threads';
import { Prng } from '../../fault/prng.js';

/** 2020-01-01T00:00:00Z: far from any real "now", so a pinned clock is recognisable. */
export const PINNED_EPOCH_MS = 1_577_836_800_000;
export const PINNED_PID = 4242;

/** Replaces the process's sources of randomness and time with ones drawn from `seed`. */
export function pinDeterminism(seed: number): void {
  if (!Number.isInteger(seed)) throw new TypeError(`a determinism seed must be an integer, not ${seed}`);
  const prng = new Prng(seed);
  Math.random = () => prng.nextU32() / 2 ** 32;
  pinCrypto(prng);
  pinClock();
  pinMkdtemp(prng);
  Object.defineProperty(process, 'pid', { value: PINNED_PID, writable: false, enumerable: true, configurable: true });
  Object.defineProperty(process, 'ppid', { value: PINNED_PID - 1, writable: false, enumerable: true, configurable: true });
  pinThread();
  // `import { randomBytes } from 'node:crypto'` must see the pinned functions too.
  syncBuiltinESMExports();
}

function fill(prng: Prng, view: ArrayBufferView): void {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
  for (let index = 0; index < bytes.length; index += 4) {
    const word = prng.nextU32();
    for (let lane = 0; lane < 4 && index + lane < bytes.length; lane++) bytes[index + lane] = (word >>> (8 * lane)) & 0xff;
  }
}

type Callback = (error: Error | null, result?: unknown) => void;

function pinCrypto(prng: Prng): void {
  const randomBytes = (size: number, callback?: Callback): Buffer | undefined => {
    const bytes = Buffer.alloc(size);
    fill(prng, bytes);
    if (callback === undefined) return bytes;
    process.nextTick(callback, null, bytes);
    return undefined;
  };
  const randomFillSync = <T extends ArrayBufferView>(view: T, offset = 0, size?: number): T => {
    const total = view.byteLength;
    fill(prng, new Uint8Array(view.buffer, view.byteOffset + offset, size ?? total - offset));
    return view;
  };
  const randomFill = (view: ArrayBufferView, ...rest: unknown[]): void => {
    const callback = rest.pop() as Callback;
    randomFillSync(view, ...(rest as [number?, number?]));
    process.nextTick(callback, null, view);
  };
  const randomInt = (minOrMax: number, maxOrCallback?: unknown, maybeCallback?: Callback): number | undefined => {
    const [min, max] = typeof maxOrCallback === 'number' ? [minOrMax, maxOrCallback] : [0, minOrMax];
    const value = min + prng.below(max - min);
    const callback = typeof maxOrCallback === 'function' ? maxOrCallback as Callback : maybeCallback;
    if (callback === undefined) return value;
    process.nextTick(callback, null, value);
    return undefined;
  };
  const randomUUID = (): string => {
    // RFC 4122 version 4: the version and variant bits fixed, the rest drawn.
    const bytes = randomBytes(16) as Buffer;
    bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
    bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };
  const getRandomValues = <T extends ArrayBufferView | null>(view: T): T => {
    if (view !== null) fill(prng, view);
    return view;
  };
  const pins: Record<string, unknown> = { randomBytes, pseudoRandomBytes: randomBytes, prng: randomBytes, rng: randomBytes, randomFillSync, randomFill, randomInt, randomUUID, getRandomValues };
  for (const [name, value] of Object.entries(pins)) {
    const descriptor = Object.getOwnPropertyDescriptor(crypto, name);
    // node:crypto's getRandomValues is a fixed getter that forwards to webcrypto's, pinned below.
    if (descriptor?.configurable === true) Object.defineProperty(crypto, name, { value, writable: true, configurable: true, enumerable: descriptor.enumerable ?? true });
  }
  for (const webcrypto of new Set([crypto.webcrypto, globalThis.crypto])) {
    Object.defineProperty(webcrypto, 'getRandomValues', { value: getRandomValues, writable: true, configurable: true });
    Object.defineProperty(webcrypto, 'randomUUID', { value: randomUUID, writable: true, configurable: true });
  }
}

/** The real Date, taken when this module loads: a capture worker pins once per case, and each pin must wrap this one, not the last pin's proxy. */
const REAL_DATE = Date;

function pinClock(): void {
  const RealDate = REAL_DATE;
  let nowMs = PINNED_EPOCH_MS;
  const next = (): number => nowMs++;
  RealDate.now = next;
  // A proxy rather than a subclass: `Date()` without `new` must keep working (it returns a string).
  globalThis.Date = new Proxy(RealDate, {
    construct: (target, args: unknown[], newTarget: (new (...a: unknown[]) => object)) => Reflect.construct(target, args.length === 0 ? [next()] : args, newTarget) as object,
    apply: () => new RealDate(next()).toString(),
  });
}

const SUFFIX_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Tries before mkdtemp gives up on EEXIST (libuv gives up after as many). */
const MKDTEMP_TRIES = 100;

type MkdtempCallback = (error: NodeJS.ErrnoException | null, folder?: string | Buffer) => void;

/** mkdtemp with a suffix from the PRNG, over the (recorded) fs.mkdirSync. */
function pinMkdtemp(prng: Prng): void {
  const mkdtempSync = (prefix: string, options?: unknown): string | Buffer => {
    for (let attempt = 0; attempt < MKDTEMP_TRIES; attempt++) {
      const folder = `${String(prefix)}${Array.from({ length: 6 }, () => SUFFIX_CHARS[prng.below(SUFFIX_CHARS.length)]).join('')}`;
      try {
        fs.mkdirSync(folder, 0o700);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw error;
      }
      const encoding = typeof options === 'string' ? options : (options as { encoding?: unknown } | undefined)?.encoding;
      return encoding === 'buffer' ? Buffer.from(folder) : folder;
    }
    throw Object.assign(new Error(`EEXIST: mkdtemp found no free name for ${String(prefix)}`), { code: 'EEXIST' });
  };
  const mkdtemp = (prefix: string, options: unknown, callback?: MkdtempCallback): void => {
    const done = (typeof options === 'function' ? options : callback) as MkdtempCallback;
    try {
      const folder = mkdtempSync(prefix, typeof options === 'function' ? undefined : options);
      process.nextTick(done, null, folder);
    } catch (error) {
      process.nextTick(done, error);
    }
  };
  Object.assign(fs, { mkdtempSync, mkdtemp });
  Object.assign(fs.promises, { mkdtemp: async (prefix: string, options?: unknown) => mkdtempSync(prefix, options) });
}

/**
 * A capture may run in a worker thread of the capture server (captureServer.ts): the library
 * must not see it (write-file-atomic names its temporary files after `threadId` in a worker),
 * so the thread reads as the main thread of a process of its own.
 */
function pinThread(): void {
  const threads = workerThreads as { threadId: number; isMainThread: boolean };
  Object.defineProperty(threads, 'threadId', { value: 0, writable: false, enumerable: true, configurable: true });
  Object.defineProperty(threads, 'isMainThread', { value: true, writable: false, enumerable: true, configurable: true });
}
