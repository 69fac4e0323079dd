/**
 * SQLite's VFS, mapped onto crashlab's `Vfs`, so every byte SQLite (as WebAssembly, through
 * wa-sqlite) reads or writes goes through the fault-injecting file layer and its crash model
 * (fault/faultyVfs.ts), in-process and deterministically.
 *
 * What the bridge promises, method by method:
 * - xRead/xWrite/xTruncate/xFileSize map one to one onto `Storage`; a short read zero-fills
 *   and says SQLITE_IOERR_SHORT_READ, as SQLite requires.
 * - xSync is synchronous in SQLite, so it uses the storage's synchronous durable path
 *   (`Storage.syncNow`): one I/O event, the same fsyncgate rules as `sync()`; a crash point
 *   falls exactly on it. A `Vfs` without `syncNow` cannot host SQLite (TypeError at open).
 * - Directory syncs follow the native unix VFS (os_unix.c): the first xSync of a file opened
 *   with SQLITE_OPEN_CREATE as a main journal, super journal or WAL also syncs the directory
 *   (its entry becomes durable), and xDelete syncs the directory only when SQLite asks for it
 *   (`syncDir`, which the pager sets with `synchronous=EXTRA`).
 * - xShmMap/xShmLock/xShmBarrier/xShmUnmap keep the WAL index in WebAssembly memory: `-shm`
 *   is never durable state, so a crash (a new bridge) starts with none, as after a reboot.
 *   Without them `journal_mode=WAL` silently stays `delete`.
 * - xSectorSize and xDeviceCharacteristics report the case's device traits: its sector size,
 *   whether a sector is written atomically, and powersafe overwrite (the crash model only ever
 *   changes the bytes a write named, so it holds for every plan).
 * - xRandomness (journal nonces, WAL salts) and xCurrentTime come from an injected seed and
 *   clock: the same seed gives the same bytes on disk. Locks are tracked per file but never
 *   contended: one connection per database.
 * - Any error from the `Vfs` becomes an SQLite error code (ENOSPC: SQLITE_FULL; an injected
 *   EIO or a power cut: the SQLITE_IOERR_* of the operation); the error itself is kept as
 *   `lastError`, so a report names the real cause.
 */
import type { Storage, Vfs } from '../../engine/storage.js';
import { Prng } from '../../fault/prng.js';
import type { Clock, DeviceTraits } from '../target.js';
import { SQLITE } from './sqliteCodes.js';
import type { WaSqliteModule } from './waSqlite.js';

interface OpenFile {
  readonly name: string;
  readonly storage: Storage;
  readonly flags: number;
  /** Set until the file's first sync: that sync also syncs the directory (os_unix.c UNIXFILE_DIRSYNC). */
  dirSyncPending: boolean;
  lockLevel: number;
}

/** Julian day of the Unix epoch, in milliseconds (os_unix.c's unixEpoch). */
const UNIX_EPOCH_JULIAN_MS = 210866760000000;
/** SQLite asks for at most this many bytes of randomness at a time (a bound on every copy). */
const MAX_RANDOM_BYTES = 4096;
const MAX_SHM_REGIONS = 1024;

/** One case's backing: the files, the device, the seeded randomness and the clock. */
interface Mount {
  readonly vfs: Vfs;
  readonly device: DeviceTraits;
  readonly prng: Prng;
  readonly clock: Clock;
}

/**
 * Registered with SQLite once per process (a registration cannot be taken back cheaply);
 * each case mounts its own `Vfs` on it and unmounts it at the end, one case at a time.
 */
export class SqliteVfsBridge {
  readonly mxPathname = 512;
  private readonly files = new Map<number, OpenFile>();
  /** WAL-index regions per database file name: shared by its connections, lost at a crash. */
  private readonly shm = new Map<string, number[]>();
  private mounted: Mount | null = null;
  private tempFiles = 0;
  /** The last error a `Vfs` call raised (the SQLite code says less). */
  lastError: unknown = null;

  constructor(readonly name: string, private readonly module: WaSqliteModule) {
    if (!/^[a-z0-9-]{1,40}$/.test(name)) throw new TypeError(`VFS name must be short and plain, not ${JSON.stringify(name)}`);
  }

  /** Puts a case's files under SQLite; the previous case must have closed every file. */
  mount(vfs: Vfs, device: DeviceTraits, seed: number, clock: Clock): void {
    // One store at a time per process: SQLite's calls do not say which connection they serve.
    if (this.mounted !== null) throw new TypeError('one SQLite store at a time: close (or abandon) the open one first');
    if (typeof vfs.syncDirNow !== 'function') throw new TypeError('SQLite needs a Vfs with syncDirNow() (a synchronous directory sync)');
    this.dispose();
    this.mounted = { vfs, device, prng: new Prng(seed), clock };
    this.tempFiles = 0;
    this.lastError = null;
  }

  /** Forgets the case (after a crash its handles are dead: they are dropped, not closed). */
  unmount(): void {
    this.files.clear();
    this.dispose();
    this.mounted = null;
  }

  private get vfs(): Vfs {
    if (this.mounted === null) throw new TypeError('SQLite reached the crashlab VFS with no case mounted');
    return this.mounted.vfs;
  }

  private get device(): DeviceTraits {
    return this.mounted?.device ?? { sectorBytes: 512, atomicSector: false };
  }

  hasAsyncMethod(_method: string): boolean {
    return false;
  }

  /** The names of the files open now (for reports and for checks that all were closed). */
  openFiles(): string[] {
    return [...this.files.values()].map((file) => file.name);
  }

  private heap(): Uint8Array {
    // Memory may grow (and be replaced) during any call into SQLite: never keep a view.
    return this.module.HEAPU8;
  }

  private view(): DataView {
    const heap = this.heap();
    return new DataView(heap.buffer, heap.byteOffset, heap.byteLength);
  }

  private fail(error: unknown, code: number): number {
    this.lastError = error;
    const cause = (error as { cause?: { code?: unknown }; code?: unknown } | null);
    if (cause?.code === 'ENOSPC' || cause?.cause?.code === 'ENOSPC') return SQLITE.FULL;
    return code;
  }

  private file(pFile: number): OpenFile {
    const file = this.files.get(pFile);
    if (file === undefined) throw new TypeError(`SQLite used file handle ${pFile}, which is not open`);
    return file;
  }

  xOpen(_pVfs: number, zName: number, pFile: number, flags: number, pOutFlags: number): number {
    const name = zName === 0 ? `sqlite-temp-${++this.tempFiles}` : this.module.UTF8ToString(zName);
    try {
      const storage = this.vfs.open(name, { create: (flags & SQLITE.OPEN_CREATE) !== 0 });
      if (typeof storage.syncNow !== 'function') {
        storage.close();
        throw new TypeError('SQLite needs storage with syncNow() (a synchronous sync)');
      }
      const journalKinds = SQLITE.OPEN_MAIN_JOURNAL | SQLITE.OPEN_SUPER_JOURNAL | SQLITE.OPEN_WAL;
      const dirSyncPending = (flags & SQLITE.OPEN_CREATE) !== 0 && (flags & journalKinds) !== 0;
      this.files.set(pFile, { name, storage, flags, dirSyncPending, lockLevel: 0 });
      if (pOutFlags !== 0) this.view().setInt32(pOutFlags, flags, true);
      return SQLITE.OK;
    } catch (error) {
      return this.fail(error, SQLITE.CANTOPEN);
    }
  }

  xDelete(_pVfs: number, zName: number, syncDir: number): number {
    const name = this.module.UTF8ToString(zName);
    try {
      if (!this.vfs.exists(name)) return SQLITE.IOERR_DELETE_NOENT;
      this.vfs.remove(name);
      if (syncDir !== 0) this.vfs.syncDirNow!();
      return SQLITE.OK;
    } catch (error) {
      return this.fail(error, SQLITE.IOERR_DELETE);
    }
  }

  xAccess(_pVfs: number, zName: number, _flags: number, pResOut: number): number {
    try {
      this.view().setInt32(pResOut, this.vfs.exists(this.module.UTF8ToString(zName)) ? 1 : 0, true);
      return SQLITE.OK;
    } catch (error) {
      return this.fail(error, SQLITE.IOERR_ACCESS);
    }
  }

  xFullPathname(_pVfs: number, zName: number, nOut: number, zOut: number): number {
    // Names are plain names inside the Vfs's one directory: the full path is the name.
    const encoded = new TextEncoder().encode(this.module.UTF8ToString(zName));
    if (encoded.length + 1 > nOut) return SQLITE.CANTOPEN;
    this.heap().set(encoded, zOut);
    this.heap()[zOut + encoded.length] = 0;
    return SQLITE.OK;
  }

  xGetLastError(_pVfs: number, _nBuf: number, _zBuf: number): number {
    return SQLITE.OK;
  }

  xRandomness(_pVfs: number, nByte: number, zOut: number): number {
    const count = Math.min(nByte, MAX_RANDOM_BYTES);
    const heap = this.heap();
    const prng = this.mounted?.prng ?? new Prng(0);
    for (let i = 0; i < count; i++) heap[zOut + i] = prng.below(256);
    return count;
  }

  xSleep(_pVfs: number, microseconds: number): number {
    return microseconds;
  }

  xCurrentTime(_pVfs: number, pOut: number): number {
    this.view().setFloat64(pOut, (UNIX_EPOCH_JULIAN_MS + this.now()) / 86_400_000, true);
    return SQLITE.OK;
  }

  xCurrentTimeInt64(_pVfs: number, pOut: number): number {
    this.view().setBigInt64(pOut, BigInt(UNIX_EPOCH_JULIAN_MS + Math.floor(this.now())), true);
    return SQLITE.OK;
  }

  private now(): number {
    return this.mounted?.clock() ?? 0;
  }

  xClose(pFile: number): number {
    const file = this.files.get(pFile);
    if (file === undefined) return SQLITE.OK;
    this.files.delete(pFile);
    try {
      file.storage.close();
      if ((file.flags & SQLITE.OPEN_DELETEONCLOSE) !== 0 && this.vfs.exists(file.name)) this.vfs.remove(file.name);
      return SQLITE.OK;
    } catch (error) {
      return this.fail(error, SQLITE.IOERR_CLOSE);
    }
  }

  xRead(pFile: number, pData: number, iAmt: number, iOffsetLo: number, iOffsetHi: number): number {
    const offset = joinOffset(iOffsetLo, iOffsetHi);
    try {
      const { storage } = this.file(pFile);
      const available = Math.max(0, Math.min(iAmt, storage.len() - offset));
      const heap = this.heap();
      if (available > 0) heap.set(storage.read(offset, available), pData);
      if (available === iAmt) return SQLITE.OK;
      this.heap().fill(0, pData + available, pData + iAmt);
      return SQLITE.IOERR_SHORT_READ;
    } catch (error) {
      return this.fail(error, SQLITE.IOERR_READ);
    }
  }

  xWrite(pFile: number, pData: number, iAmt: number, iOffsetLo: number, iOffsetHi: number): number {
    try {
      // The storage copies what it keeps: a view of the heap is enough.
      this.file(pFile).storage.write(joinOffset(iOffsetLo, iOffsetHi), this.heap().subarray(pData, pData + iAmt));
      return SQLITE.OK;
    } catch (error) {
      return this.fail(error, SQLITE.IOERR_WRITE);
    }
  }

  xTruncate(pFile: number, sizeLo: number, sizeHi: number): number {
    try {
      this.file(pFile).storage.setLen(joinOffset(sizeLo, sizeHi));
      return SQLITE.OK;
    } catch (error) {
      return this.fail(error, SQLITE.IOERR_TRUNCATE);
    }
  }

  xSync(pFile: number, _flags: number): number {
    const file = this.file(pFile);
    try {
      file.storage.syncNow!();
    } catch (error) {
      return this.fail(error, SQLITE.IOERR_FSYNC);
    }
    if (!file.dirSyncPending) return SQLITE.OK;
    try {
      this.vfs.syncDirNow!();
      file.dirSyncPending = false;
      return SQLITE.OK;
    } catch (error) {
      return this.fail(error, SQLITE.IOERR_DIR_FSYNC);
    }
  }

  xFileSize(pFile: number, pSize: number): number {
    try {
      this.view().setBigInt64(pSize, BigInt(this.file(pFile).storage.len()), true);
      return SQLITE.OK;
    } catch (error) {
      return this.fail(error, SQLITE.IOERR_FSTAT);
    }
  }

  xLock(pFile: number, lockType: number): number {
    this.file(pFile).lockLevel = Math.max(this.file(pFile).lockLevel, lockType);
    return SQLITE.OK;
  }

  xUnlock(pFile: number, lockType: number): number {
    this.file(pFile).lockLevel = Math.min(this.file(pFile).lockLevel, lockType);
    return SQLITE.OK;
  }

  xCheckReservedLock(_pFile: number, pResOut: number): number {
    this.view().setInt32(pResOut, 0, true);
    return SQLITE.OK;
  }

  xFileControl(_pFile: number, _op: number, _pArg: number): number {
    return SQLITE.NOTFOUND;
  }

  xSectorSize(_pFile: number): number {
    return this.device.sectorBytes;
  }

  xDeviceCharacteristics(_pFile: number): number {
    const atomic = this.device.sectorBytes === 512 ? SQLITE.IOCAP_ATOMIC512 : SQLITE.IOCAP_ATOMIC4K;
    return SQLITE.IOCAP_POWERSAFE_OVERWRITE | (this.device.atomicSector ? atomic : 0);
  }

  xShmMap(pFile: number, iRegion: number, szRegion: number, bExtend: number, pp: number): number {
    const { name } = this.file(pFile);
    const regions = this.shm.get(name) ?? [];
    this.shm.set(name, regions);
    if (iRegion >= MAX_SHM_REGIONS) return SQLITE.IOERR_SHMSIZE;
    while (regions.length <= iRegion && bExtend !== 0) {
      const region = this.module._sqlite3_malloc(szRegion);
      if (region === 0) return SQLITE.NOMEM;
      this.heap().fill(0, region, region + szRegion);
      regions.push(region);
    }
    this.view().setUint32(pp, regions[iRegion] ?? 0, true);
    return SQLITE.OK;
  }

  xShmLock(_pFile: number, _offset: number, _n: number, _flags: number): number {
    return SQLITE.OK;
  }

  xShmBarrier(_pFile: number): void {
    // One thread, one connection: memory is always consistent.
  }

  xShmUnmap(pFile: number, deleteFlag: number): number {
    const { name } = this.file(pFile);
    if (deleteFlag === 0) return SQLITE.OK;
    for (const region of this.shm.get(name) ?? []) this.module._sqlite3_free(region);
    this.shm.delete(name);
    return SQLITE.OK;
  }

  /** Frees the WAL-index memory (a crash or the end of a case: -shm is never durable). */
  dispose(): void {
    for (const regions of this.shm.values()) for (const region of regions) this.module._sqlite3_free(region);
    this.shm.clear();
  }
}

/** SQLite passes 64-bit offsets as two 32-bit halves (the low one signed). */
function joinOffset(lo: number, hi: number): number {
  const offset = (hi >>> 0) * 2 ** 32 + (lo >>> 0);
  if (!Number.isSafeInteger(offset)) throw new RangeError(`offset beyond 2^53: ${hi}:${lo}`);
  return offset;
}
