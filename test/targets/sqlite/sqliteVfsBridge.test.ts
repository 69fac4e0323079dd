// The SQLite VFS bridge: SQLite really runs in the mode asked for on crashlab's Vfs, its syncs and directory syncs are the native unix VFS's, its randomness is the seed's, and injected faults reach it as SQLite errors.
import test from 'ava';
import { FaultyVfs } from '../../../fault/faultyVfs.js';
import { SqliteStore, parseSqliteTarget, type SqliteConfig } from '../../../targets/sqlite/sqliteStore.js';

const DEVICE = { sectorBytes: 512, atomicSector: false } as const;
const key = (i: number): Uint8Array => Uint8Array.of(i >> 8, i & 0xff);

async function withStore<T>(vfs: FaultyVfs, config: SqliteConfig, seed: number, work: (store: SqliteStore) => Promise<T>): Promise<T> {
  const store = await SqliteStore.open(vfs, config, DEVICE, seed);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

async function commits(store: SqliteStore, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await store.apply('f0', [{ op: 'insert', table: 't', key: key(i), value: new Uint8Array(100).fill(i) }]);
}

/** A FaultyVfs that lists its I/O events as `op file`. */
function recording(): { vfs: FaultyVfs; ops: string[] } {
  const ops: string[] = [];
  return { vfs: new FaultyVfs({ onEvent: (_index, op, file) => ops.push(`${op} ${file}`) }), ops };
}

test.serial('journal_mode=WAL really runs as WAL (the -wal file holds the commits) and reads back after a reopen', async (t) => {
  const vfs = new FaultyVfs();
  const config = parseSqliteTarget('sqlite:wal-full');
  await withStore(vfs, config, 1, async (store) => {
    await commits(store, 5);
    t.true(vfs.exists('crash.db-wal'), 'WAL mode writes a -wal file');
    t.deepEqual(await store.integrityProblems(), []);
  });
  const state = await withStore(FaultyVfs.fromImage(vfs.crashImage({ survival: 'none', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 0 })), config, 2, (store) => store.readState());
  t.is(state.get('f0')?.get('t')?.size, 5, 'every synced commit survives a power cut');
});

test.serial('a second store while one is open is refused at once, and the first keeps working', async (t) => {
  const vfs = new FaultyVfs();
  await withStore(vfs, parseSqliteTarget('sqlite:wal-full'), 1, async (store) => {
    await t.throwsAsync(() => SqliteStore.open(new FaultyVfs(), parseSqliteTarget('sqlite:wal-full'), DEVICE, 2), { instanceOf: TypeError, message: /one SQLite store at a time/ });
    await commits(store, 2);
    t.is((await store.readState()).get('f0')?.get('t')?.size, 2);
  });
});

test.serial('an unknown target name is a TypeError naming the part that is wrong', (t) => {
  t.throws(() => parseSqliteTarget('sqlite:wall-full'), { instanceOf: TypeError, message: /journal one of delete, truncate/ });
  t.throws(() => parseSqliteTarget('sqlite:wal-fulll'), { instanceOf: TypeError, message: /synchronous must be one of/ });
  t.throws(() => parseSqliteTarget('postgres'), { instanceOf: TypeError });
});

test.serial('the same seed gives the same I/O trace, byte for byte; another seed gives other journal nonces and WAL salts', async (t) => {
  const run = async (seed: number): Promise<string> => {
    const vfs = new FaultyVfs();
    await withStore(vfs, parseSqliteTarget('sqlite:wal-full'), seed, (store) => commits(store, 3));
    return vfs.traceHash();
  };
  t.is(await run(7), await run(7));
  t.not(await run(7), await run(8));
});

test.serial('directory syncs follow the unix VFS: the new WAL\'s first sync syncs the directory; a journal unlink does only under EXTRA', async (t) => {
  const wal = recording();
  await withStore(wal.vfs, parseSqliteTarget('sqlite:wal-full'), 1, (store) => commits(store, 1));
  const walOps = wal.ops;
  const firstWalSync = walOps.indexOf('sync crash.db-wal');
  t.true(firstWalSync >= 0);
  t.is(walOps[firstWalSync + 1], 'syncDir .', 'the directory is synced right after the new WAL\'s first sync');

  const syncDirsAfterUnlink = async (name: string): Promise<number> => {
    const { vfs, ops: trace } = recording();
    await withStore(vfs, parseSqliteTarget(name), 1, (store) => commits(store, 3));
    return trace.filter((op, i) => op === 'remove crash.db-journal' && trace[i + 1] === 'syncDir .').length;
  };
  t.is(await syncDirsAfterUnlink('sqlite:delete-full'), 0, 'FULL leaves the unlink unsynced (the documented window)');
  t.true(await syncDirsAfterUnlink('sqlite:delete-extra') >= 3, 'EXTRA syncs the directory after every journal unlink');
});

test.serial('an injected ENOSPC reaches the caller as SQLITE_FULL, and the Vfs error is kept as the cause', async (t) => {
  const vfs = new FaultyVfs({ errors: { capacityBytes: 64 * 1024 } });
  const store = await SqliteStore.open(vfs, parseSqliteTarget('sqlite:delete-full'), DEVICE, 1);
  const error = await t.throwsAsync(async () => {
    for (let i = 0; i < 1000; i++) await store.apply('f0', [{ op: 'insert', table: 't', key: key(i), value: new Uint8Array(1000).fill(1) }]);
  });
  t.regex(error?.message ?? '', /full/i);
  t.regex(String((store.lastVfsError as Error | null)?.message), /ENOSPC/);
  await store.abandon();
});

test.serial('an injected fsync failure fails the commit with an I/O error (SQLite is told, not lied to)', async (t) => {
  // The syncs opening takes (journal mode, schema), counted on a reference run: fail the next one.
  const reference = recording();
  await withStore(reference.vfs, parseSqliteTarget('sqlite:wal-full'), 1, async () => undefined);
  const openSyncs = reference.ops.filter((op) => op.startsWith('sync ')).length;
  const vfs = new FaultyVfs({ errors: { failSyncAt: openSyncs + 1 } });
  const store = await SqliteStore.open(vfs, parseSqliteTarget('sqlite:wal-full'), DEVICE, 1);
  const error = await t.throwsAsync(() => commits(store, 5));
  t.regex(error?.message ?? '', /I\/O|disk/i);
  t.regex(String((store.lastVfsError as Error | null)?.message), /EIO/);
  await store.abandon();
});
