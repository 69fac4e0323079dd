/**
 * The only door to I/O. Every byte the engine reads or writes goes through `Storage`, and
 * every file is reached through a `Vfs`, so the fault layer (fault/) can sit underneath the
 * engine without the engine knowing. Modelled on redb's `StorageBackend` and SQLite's VFS.
 *
 * Reads and writes are synchronous: pages are small and mostly cached. `sync` is asynchronous
 * so that concurrent commits can share one fsync (group commit) and so that a test scheduler
 * can reorder completions.
 */
export interface Storage {
  /** Current length in bytes: the largest offset ever written or set, not what is durable. */
  len(): number;
  /**
   * Returns exactly `length` bytes starting at `offset`. Reading past `len()` throws an
   * `EngineError` with code `IO`. The returned array is the caller's to keep (a copy).
   */
  read(offset: number, length: number): Uint8Array;
  /**
   * Optional: `read` without the copy, for callers that only look (the pager's page reads). The
   * bytes may be shared with the storage and must never be written by the caller; the storage
   * in turn never changes them (a later write to that range leaves the returned array as it
   * was), so they may be kept. The same checks and failures as `read`.
   */
  readShared?(offset: number, length: number): Uint8Array;
  /**
   * Writes `data` at `offset`. May extend the file; a gap between the old end and `offset`
   * reads as zeros. The write is not durable until a later `sync()` resolves.
   * `data` is not retained: the caller may reuse its buffer after the call returns.
   */
  write(offset: number, data: Uint8Array): void;
  /** Truncates or extends to `length` bytes; new bytes read as zeros. Durable after `sync()`. */
  setLen(length: number): void;
  /**
   * Makes every earlier `write` and `setLen` on this file durable. On failure it rejects with
   * an `IO` error and the data it covered must be treated as lost: a later successful sync
   * does NOT make it durable (Linux fsyncgate). Callers must never retry and report success.
   */
  sync(): Promise<void>;
  /**
   * Optional: `sync` done synchronously, with the same durability and the same failure rules,
   * for callers whose own sync is synchronous (SQLite's `xSync` through a WebAssembly VFS).
   * It cannot share an fsync with concurrent commits, so the engine itself never calls it.
   */
  syncNow?(): void;
  /** Releases the handle and its lock. Unsynced data may or may not survive a crash. */
  close(): void;
}

export interface OpenOptions {
  /** Create the file (empty) when it does not exist; otherwise a missing file is `NOT_FOUND`. */
  readonly create: boolean;
  /**
   * Open for reading only, under a shared lock (default false): other read-only handles may
   * share the file, a writable open meets `LOCKED`, and so does a read-only open of a file a
   * writable handle holds. Never with `create`. The engine calls no write, `setLen` or `sync`
   * on such a handle (it wraps it in `ReadOnlyStorage`, which refuses them with `READ_ONLY`).
   */
  readonly readOnly?: boolean;
}

/**
 * A directory of files. A file is locked exclusively while it is open for writing: a second
 * `open` of the same name, from this or another process, fails at once with `LOCKED`.
 * Read-only opens share a lock of their own (see `OpenOptions.readOnly`).
 */
export interface Vfs {
  open(name: string, options: OpenOptions): Storage;
  /** Removes a file. Like creation, the removal is durable only after `syncDir()`. */
  remove(name: string): void;
  exists(name: string): boolean;
  /** Makes earlier creations and removals in this directory durable. */
  syncDir(): Promise<void>;
  /** Optional: `syncDir` done synchronously (see `Storage.syncNow`). */
  syncDirNow?(): void;
}
