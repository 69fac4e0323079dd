/**
 * What each fs call records, independent of its form (callback, *Sync, promises, FileHandle):
 * a plan looks at the arguments before the call (what existed, the fd's offset, a copy of the
 * bytes) and returns what to emit once the call has succeeded, given its normalised result
 * (an fd, a byte count, a path), or null when the call touches nothing under the root.
 * FileHandle methods reach the same plans with the handle's fd as the first argument.
 */
import { flagsOf, OPEN_FLAGS, positionOf, type FdEntry, type RecorderState, type Reservation } from './recorderState.js';

/** What to emit when the call succeeded; `failed` (optional) when it did not, to let go of what it reserved. */
export type After = ((result: unknown) => void) & { failed?: () => void };
export type Plan = (state: RecorderState, args: readonly unknown[]) => After | null;

const { O_CREAT, O_TRUNC, O_APPEND, O_SYNC, O_DSYNC } = OPEN_FLAGS;

/** An fd argument: a number, or a FileHandle (which carries its fd). */
function fdOf(target: unknown): number | null {
  if (typeof target === 'number') return target;
  if (typeof target === 'object' && target !== null && typeof (target as { fd?: unknown }).fd === 'number') return (target as { fd: number }).fd;
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !ArrayBuffer.isView(value);
}

/** Bytes of a view, copied now: the caller may reuse its buffer as soon as the call returns. */
function copyOf(view: ArrayBufferView, start = 0, count = view.byteLength - start): Uint8Array {
  return new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice(start, start + count);
}

/** writeFile's data as bytes, or null for forms only known after the call (iterables, streams). */
function dataBytes(data: unknown, encoding: unknown): Uint8Array | null {
  if (typeof data === 'string') return new Uint8Array(Buffer.from(data, typeof encoding === 'string' ? encoding as BufferEncoding : 'utf8'));
  if (ArrayBuffer.isView(data)) return copyOf(data);
  return null;
}

/** write(fd, buffer, offset?, length?, position?), write(fd, buffer, options), write(fd, string, position?, encoding?). */
function writeArgs(data: unknown, rest: readonly unknown[]): { bytes: Uint8Array; position: number | null } {
  if (typeof data === 'string') {
    return { bytes: new Uint8Array(Buffer.from(data, typeof rest[1] === 'string' ? rest[1] as BufferEncoding : 'utf8')), position: positionOf(rest[0]) };
  }
  if (!ArrayBuffer.isView(data)) throw new TypeError('the recorder cannot decode a write of neither a string nor a buffer');
  let [offset, length, position] = rest;
  if (isObject(offset)) ({ offset, length, position } = offset);
  const start = typeof offset === 'number' ? offset : 0;
  return { bytes: copyOf(data, start, typeof length === 'number' ? length : data.byteLength - start), position: positionOf(position) };
}

/**
 * A write through an fd: where it lands is decided now, at issue, so that several in flight on
 * one fd (appends especially) each get their own place. O_APPEND ignores the position (even
 * pwrite's, on Linux): the bytes land at the end. A write at the fd's offset moves it now.
 */
function fdWrite(state: RecorderState, fd: number, entry: FdEntry, bytes: Uint8Array, position: number | null): After {
  let offsetBytes: number;
  let reservation: Reservation | null = null;
  if (entry.append) {
    reservation = state.reserve(`ino:${entry.ino}`, state.original.fstatSync(fd).size, (endBytes) => endBytes + bytes.length);
    offsetBytes = reservation.endBytes;
  } else {
    offsetBytes = position ?? entry.positionBytes;
  }
  if (position === null || entry.append) entry.positionBytes = offsetBytes + bytes.length;
  const after: After = (writtenResult) => {
    reservation?.release();
    const written = Number(writtenResult);
    if (written === 0) return;
    state.emit({ kind: 'write', ino: entry.ino, offsetBytes, data: written === bytes.length ? bytes : bytes.slice(0, written) });
    if (entry.sync !== 'none') state.emit({ kind: 'fsync', ino: entry.ino, dataOnly: entry.sync === 'data' });
  };
  after.failed = () => reservation?.release();
  return after;
}

const open: Plan = (state, [target, flagArg]) => {
  const abs = state.absOf(target);
  const rel = state.relOf(abs);
  // A new fd outside the root may reuse the number of one closed behind the recorder's back.
  if (abs === null || rel === null) return (fd) => { state.fds.delete(Number(fd)); };
  const flags = flagsOf(flagArg);
  const truncates = (flags & O_TRUNC) !== 0;
  // Shares appendFile's key: an open that creates the file is what the next writeFile in flight finds.
  const reservation = state.reserve(`path:${rel}`, state.lstat(abs)?.size ?? null, (endBytes) => (truncates ? 0 : endBytes));
  const existed = reservation.existed;
  const after: After = (fdResult) => {
    reservation.release();
    const fd = Number(fdResult);
    const stats = state.original.fstatSync(fd);
    let ino: number;
    if (!existed && (flags & O_CREAT) !== 0) {
      ino = state.freshIno(stats);
      state.emit({ kind: 'create', path: rel, ino });
    } else {
      ino = state.inoOf(stats);
      if ((flags & O_TRUNC) !== 0 && stats.isFile()) state.emit({ kind: 'truncate', ino, sizeBytes: 0 });
    }
    const sync = (flags & O_SYNC) === O_SYNC ? 'full' : (flags & O_DSYNC) !== 0 ? 'data' : 'none';
    state.fds.set(fd, { ino, positionBytes: 0, append: (flags & O_APPEND) !== 0, sync });
  };
  after.failed = reservation.release;
  return after;
};

const close: Plan = (state, [fdArg]) => {
  const fd = fdOf(fdArg);
  return fd === null ? null : () => { state.fds.delete(fd); };
};

const write: Plan = (state, [fdArg, data, ...rest]) => {
  const fd = fdOf(fdArg);
  const entry = fd === null ? undefined : state.fds.get(fd);
  if (fd === null || entry === undefined) return null;
  const { bytes, position } = writeArgs(data, rest);
  return fdWrite(state, fd, entry, bytes, position);
};

const writev: Plan = (state, [fdArg, buffers, positionArg]) => {
  const fd = fdOf(fdArg);
  const entry = fd === null ? undefined : state.fds.get(fd);
  if (fd === null || entry === undefined || !Array.isArray(buffers)) return null;
  const bytes = new Uint8Array(Buffer.concat((buffers as ArrayBufferView[]).map((view) => copyOf(view))));
  return fdWrite(state, fd, entry, bytes, positionOf(positionArg));
};

/** Reads change nothing, but one at the fd's offset moves it, and later writes depend on it. */
const read: Plan = (state, [fdArg, first, second, , fourth]) => {
  const fd = fdOf(fdArg);
  const entry = fd === null ? undefined : state.fds.get(fd);
  if (entry === undefined) return null;
  let position: unknown = null;
  if (ArrayBuffer.isView(first)) position = isObject(second) ? second['position'] : fourth;
  else if (isObject(first)) position = first['position'];
  if (positionOf(position) !== null) return null;
  return (bytesRead) => { entry.positionBytes += Number(bytesRead); };
};

const readv: Plan = (state, [fdArg, , positionArg]) => {
  const fd = fdOf(fdArg);
  const entry = fd === null ? undefined : state.fds.get(fd);
  if (entry === undefined || positionOf(positionArg) !== null) return null;
  return (bytesRead) => { entry.positionBytes += Number(bytesRead); };
};

/** readFile on an fd reads from its offset to the end, and leaves the offset there. */
const readFile: Plan = (state, [target]) => {
  const fd = fdOf(target);
  const entry = fd === null ? undefined : state.fds.get(fd);
  if (fd === null || entry === undefined) return null;
  return () => { entry.positionBytes = Math.max(entry.positionBytes, state.original.fstatSync(fd).size); };
};

/** writeFile / appendFile on a path: create or truncate, then one write of everything. */
function writeFilePlan(defaultFlag: 'w' | 'a'): Plan {
  return (state, [target, data, options]) => {
    const encoding = typeof options === 'string' ? options : isObject(options) ? options['encoding'] : undefined;
    const bytes = dataBytes(data, encoding);
    const fd = fdOf(target);
    if (fd !== null) return writeFileToFd(state, fd, bytes);
    const abs = state.absOf(target);
    const rel = state.relOf(abs);
    if (abs === null || rel === null || rel === '') return null;
    const flags = flagsOf(isObject(options) ? options['flag'] : undefined, defaultFlag);
    const appends = (flags & O_APPEND) !== 0;
    const truncates = (flags & O_TRUNC) !== 0;
    const lengthBytes = bytes?.length ?? 0;
    const reservation = state.reserve(`path:${rel}`, state.lstat(abs)?.size ?? null,
      (endBytes) => (appends ? endBytes + lengthBytes : truncates ? lengthBytes : Math.max(endBytes, lengthBytes)));
    const after: After = () => {
      reservation.release();
      const offsetBytes = appends ? reservation.endBytes : 0;
      // Only forms whose bytes are unknown before the call (async iterables) are read back.
      const content = bytes ?? new Uint8Array(state.original.readFileSync(abs)).slice(offsetBytes);
      state.emitContent(abs, rel, { existed: reservation.existed, truncates }, content, offsetBytes);
    };
    after.failed = reservation.release;
    return after;
  };
}

/** writeFile on an fd (or FileHandle) writes at the fd's offset, like one big write. */
function writeFileToFd(state: RecorderState, fd: number, bytes: Uint8Array | null): After | null {
  const entry = state.fds.get(fd);
  if (entry === undefined) return null;
  if (bytes === null) throw new TypeError('the recorder cannot decode writeFile of a stream or iterable to an fd');
  const after = fdWrite(state, fd, entry, bytes, null);
  const done: After = () => after(bytes.length);
  done.failed = () => after.failed?.();
  return done;
}

const ftruncate: Plan = (state, [fdArg, length]) => {
  const fd = fdOf(fdArg);
  const entry = fd === null ? undefined : state.fds.get(fd);
  if (entry === undefined) return null;
  return () => state.emit({ kind: 'truncate', ino: entry.ino, sizeBytes: typeof length === 'number' ? length : 0 });
};

const truncate: Plan = (state, args) => {
  if (fdOf(args[0]) !== null) return ftruncate(state, args);
  const abs = state.absOf(args[0]);
  if (abs === null || state.relOf(abs) === null) return null;
  return () => state.emit({ kind: 'truncate', ino: state.inoOfPath(abs), sizeBytes: typeof args[1] === 'number' ? args[1] : 0 });
};

function fsyncPlan(dataOnly: boolean): Plan {
  return (state, [fdArg]) => {
    const fd = fdOf(fdArg);
    const entry = fd === null ? undefined : state.fds.get(fd);
    return entry === undefined ? null : () => state.emit({ kind: 'fsync', ino: entry.ino, dataOnly });
  };
}

export const FD_PLANS = { open, close, write, writev, read, readv, readFile, ftruncate, truncate, fsync: fsyncPlan(false), fdatasync: fsyncPlan(true), writeFile: writeFilePlan('w'), appendFile: writeFilePlan('a') };
