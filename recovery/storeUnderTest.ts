/**
 * What the oracle needs of a store under test: named families, each with write and read
 * transactions and an integrity check, and a store that checkpoints and closes. The column-family
 * database is one such store; the standalone single-file Database, seen as one family, is the
 * other (properties/singleFileStore.ts). Structural types, so a mutant's copy of the engine (a
 * separate module graph with its own classes) satisfies them as well as the reference does.
 */
import type { ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import type { Database, DatabaseOptions } from '../engine/database.js';
import type { IntegrityReport } from '../engine/integrity.js';
import type { DigestMemo, EntryDigest, StateDigestReport } from '../engine/subtreeDigest.js';
import type { Vfs } from '../engine/storage.js';
import type { ReadTransaction, WriteTransaction } from '../engine/transaction.js';
import type { ShapeCounts } from '../engine/shape.js';

export interface FamilyUnderTest {
  readonly name: string;
  beginWrite(): Promise<WriteTransaction>;
  beginRead(): ReadTransaction;
  checkIntegrity(): IntegrityReport;
  /**
   * Optional: the integrity walk's checks and every table's digest under `hashFor`, remembering
   * verified parts in `memo` across calls (the reference engine's: engine/subtreeDigest.ts,
   * with the trust assumption it rests on). Without it, every image is read in full.
   */
  digestState?(hashFor: (table: string) => EntryDigest, memo: DigestMemo): StateDigestReport;
}

export interface StoreUnderTest {
  listColumnFamilies(): string[];
  /** Opens a family, creating it when it does not exist. */
  columnFamily(name: string): Promise<FamilyUnderTest>;
  /** Deletes a family with its data, durably; false when there is no such family. */
  deleteColumnFamily(name: string): Promise<boolean>;
  checkpoint(): Promise<unknown>;
  close(): Promise<void>;
}

/**
 * What a store promises about damage, beyond what every store promises (a typed error or the
 * right data, never wrong data). Defined here once, so every kind of store under test declares
 * it the same way.
 */
export interface StoreContract {
  /**
   * True: when bytes that were durable and acknowledged are damaged, the store may open without
   * an error and serve an older state (each family some prefix of its commits), losing
   * acknowledged commits silently. False (strict): such a loss is a `silent-loss` violation;
   * damage must be reported with an error instead.
   */
  readonly mayRollBackUnderDamage: boolean;
}

/** The contract of a store that declares none: the strict one. */
export const STRICT_CONTRACT: StoreContract = { mayRollBackUnderDamage: false };

/** The engine under test, injected so a patched copy (a mutant) can stand in for it. */
export interface EngineUnderTest {
  /** Optional: the store's declared contract under damage; without it, STRICT_CONTRACT. */
  readonly contract?: StoreContract | undefined;
  readonly ColumnFamilyDatabase: { open(target: Vfs, options?: ColumnFamilyOptions): Promise<StoreUnderTest> };
  /** The standalone single-file database (no WAL, one tree of tables): redb's own shape. */
  readonly Database: { open(target: Vfs, options?: DatabaseOptions): Promise<Database> };
  /**
   * Optional: the largest key the engine stores with pages of `pageBytes` (a larger one must be
   * refused with TOO_LARGE). Without it, workloads draw no key near the limit.
   */
  readonly maxKeyBytes?: ((pageBytes: number) => number) | undefined;
  /**
   * Optional: the engine's structural counters so far (splits, merges, ...; they only grow), for
   * the campaign's shape line. Without it, the line reports the harness's own counts only.
   */
  readonly shapeCounts?: (() => ShapeCounts) | undefined;
}
