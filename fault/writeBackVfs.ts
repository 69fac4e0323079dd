/**
 * THE CRASH MODEL OF THE POWER-LOSS KILL TIER (ARCHITECTURE.md section 4, "process kills")
 *
 * A SIGKILL is not a power cut: the OS page cache outlives the process, so every write(2)
 * a killed process made is still there for the next one. To make a real kill behave like a
 * power cut, this Vfs keeps every unsynced operation in the process's own memory, where the
 * kill destroys it:
 *   - `write` and `setLen` go to an in-memory overlay per file: the ordered list of the
 *     operations made since the file's last sync. Reads and `len` see the base file with the
 *     overlay applied on top, as a program sees the page cache.
 *   - `sync` applies the pending operations, in order, to the base file (one pwrite or
 *     ftruncate each), then calls the base's `sync` (fdatasync), and only then resolves.
 *   - Closing a file keeps its overlay in this Vfs, so a reopen in the same process sees it
 *     (as it would see the page cache); `remove` drops the overlay with the file.
 *   - `open` (and so creation), `remove`, `exists` and `syncDir` go straight to the base.
 *
 * What a SIGKILL leaves in the base files, then:
 *   - everything a resolved `sync` covered;
 *   - of a `sync` that had started but not resolved: every operation it applied (a sync
 *     applies its whole list in one synchronous stretch, so a kill leaves all of it or, when
 *     the kill lands inside that stretch, a PREFIX of it: survival 'prefix' of faultyVfs.ts);
 *   - no `write` or `setLen` that no `sync` had started to apply;
 *   - every creation and removal, synced or not (faultyVfs.ts's `keepUnsyncedDirOps`), since
 *     they go to the base directory at once. Lost creations are the FaultyVfs's job.
 * The parent then reads the base files from the page cache: what a reboot would find after a
 * power cut at the moment of the kill, on a disk that keeps what fdatasync acknowledged.
 *
 * Failures follow fsyncgate as the base does: once a sync has failed (applying or syncing),
 * every later sync of that handle rejects, so data it covered is never reported durable.
 */
import { EngineError, ioError } from '../engine/errors.js';
import type { OpenOptions, Storage, Vfs } from '../engine/storage.js';
import { checkRead, checkSetLen, checkWrite } from '../engine/storageChecks.js';

type PendingOp =
  | { readonly kind: 'write'; readonly offset: number; readonly data: Uint8Array }
  | { readonly kind: 'setLen'; readonly lengthBytes: number };

/** One file's unsynced state: it outlives a handle (like the page cache) but not the process. */
class Overlay {
  pending: PendingOp[] = [];

  constructor(public lengthBytes: number) {}
}

/** Paints `op` over `window`, the bytes [offset, offset + window.length) of the file view. */
function paint(window: Uint8Array, offset: number, op: PendingOp): void {
  const end = offset + window.length;
  if (op.kind === 'setLen') {
    // Bytes past a truncation read as zeros from then on, until something writes them again.
    if (op.lengthBytes < end) window.fill(0, Math.max(0, op.lengthBytes - offset));
    return;
  }
  const from = Math.max(offset, op.offset);
  const to = Math.min(end, op.offset + op.data.length);
  if (from < to) window.set(op.data.subarray(from - op.offset, to - op.offset), from - offset);
}

export class WriteBackStorage implements Storage {
  readonly name: string;
  readonly #base: Storage;
  readonly #overlay: Overlay;
  readonly #onClose: (overlay: Overlay) => void;
  #closed = false;
  #syncsInFlight = 0;
  /** The first failed sync: every later one rejects too (fsyncgate, see the header). */
  #syncFailure: unknown = undefined;

  /** @internal Use `WriteBackVfs.open`. */
  constructor(name: string, base: Storage, overlay: Overlay, onClose: (overlay: Overlay) => void) {
    this.name = name;
    this.#base = base;
    this.#overlay = overlay;
    this.#onClose = onClose;
  }

  /** Operations written or set since the last sync began: what a kill now would lose. */
  pendingOps(): number {
    this.#checkOpen();
    return this.#overlay.pending.length;
  }

  len(): number {
    this.#checkOpen();
    return this.#overlay.lengthBytes;
  }

  read(offset: number, length: number): Uint8Array {
    this.#checkOpen();
    checkRead(this.name, offset, length, this.#overlay.lengthBytes);
    const window = new Uint8Array(length);
    const fromBaseBytes = Math.max(0, Math.min(length, this.#base.len() - offset));
    if (fromBaseBytes > 0) window.set(this.#base.read(offset, fromBaseBytes));
    for (const op of this.#overlay.pending) paint(window, offset, op);
    return window;
  }

  write(offset: number, data: Uint8Array): void {
    this.#checkOpen();
    checkWrite(this.name, offset, data);
    // An empty write extends nothing (as pwrite), so it is not worth remembering either.
    if (data.length === 0) return;
    this.#overlay.pending.push({ kind: 'write', offset, data: data.slice() });
    this.#overlay.lengthBytes = Math.max(this.#overlay.lengthBytes, offset + data.length);
  }

  setLen(length: number): void {
    this.#checkOpen();
    checkSetLen(this.name, length);
    this.#overlay.pending.push({ kind: 'setLen', lengthBytes: length });
    this.#overlay.lengthBytes = length;
  }

  async sync(): Promise<void> {
    this.#checkOpen();
    if (this.#syncFailure !== undefined) {
      throw new EngineError('IO', `an earlier sync of ${this.name} failed; its data is lost`, { cause: this.#syncFailure });
    }
    this.#syncsInFlight += 1;
    try {
      // Synchronous: no read can observe the list half moved (the bytes are the same anyway).
      this.#applyPending();
      await this.#base.sync();
    } catch (error) {
      this.#syncFailure ??= error;
      throw error instanceof EngineError ? error : ioError(`sync of ${this.name} failed`, error);
    } finally {
      this.#syncsInFlight -= 1;
    }
  }

  close(): void {
    this.#checkOpen();
    if (this.#syncsInFlight > 0) {
      throw new TypeError(`close() of ${this.name} while a sync() is in flight: await it first`);
    }
    this.#base.close();
    this.#closed = true;
    this.#onClose(this.#overlay);
  }

  /** Moves the pending operations to the base file in order; on a failure the rest stay pending. */
  #applyPending(): void {
    const pending = this.#overlay.pending;
    let applied = 0;
    try {
      for (const op of pending) {
        if (op.kind === 'write') this.#base.write(op.offset, op.data);
        else this.#base.setLen(op.lengthBytes);
        applied += 1;
      }
    } finally {
      pending.splice(0, applied);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new EngineError('CLOSED', `${this.name} is closed`);
  }
}

/** A `Vfs` whose unsynced writes live in this process's memory only (see the header). */
export class WriteBackVfs implements Vfs {
  readonly base: Vfs;
  /** Overlays of files by name, kept across close and reopen until the file is removed. */
  readonly #overlays = new Map<string, Overlay>();

  constructor(base: Vfs) {
    this.base = base;
  }

  open(name: string, options: OpenOptions): WriteBackStorage {
    // The base checks the arguments and takes the lock first: a refused open changes nothing here.
    const base = this.base.open(name, options);
    let overlay = this.#overlays.get(name);
    if (overlay === undefined) {
      overlay = new Overlay(base.len());
      this.#overlays.set(name, overlay);
    }
    return new WriteBackStorage(name, base, overlay, (closed) => this.#release(name, closed));
  }

  remove(name: string): void {
    this.base.remove(name);
    // An open handle keeps its own overlay object: the file lives on for it, unnamed.
    this.#overlays.delete(name);
  }

  exists(name: string): boolean {
    return this.base.exists(name);
  }

  syncDir(): Promise<void> {
    return this.base.syncDir();
  }

  /** Operations pending over every file this Vfs knows by name (for tests and reports). */
  pendingOps(): number {
    let count = 0;
    for (const overlay of this.#overlays.values()) count += overlay.pending.length;
    return count;
  }

  /** A closed file with nothing pending needs no overlay; one of a removed file is not ours. */
  #release(name: string, overlay: Overlay): void {
    if (overlay.pending.length === 0 && this.#overlays.get(name) === overlay) this.#overlays.delete(name);
  }
}
