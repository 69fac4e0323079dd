/**
 * Reads a recovered database in the model's terms, so the oracle can compare the two without
 * trusting the engine: the complete logical state (every family, table and key, through
 * `range`), or, when the store offers the digest capability and the plan allows, each family's
 * digest from it; in both cases the plan's point gets and bounded range reads through the
 * store's ordinary read transactions.
 */
import { toHex, type LogicalState } from '../model/commitHistory.js';
import { addDigests, entryHasher, tableMark } from '../model/stateDigest.js';
import type { PointRead, RangeRead, ReadPlan } from './readPlan.js';
import type { StageProbe } from './checkImage.js';
import type { FamilyUnderTest, StoreUnderTest } from './storeUnderTest.js';

/** Reads every family's last committed state through ordinary read transactions. */
export async function readState(db: StoreUnderTest): Promise<LogicalState> {
  const reading = await readRecovered(db, undefined, undefined);
  return reading.state!;
}

/** One family as read: its digest (tables with their marks, the family's own mark excluded) and how many tables. */
export interface FamilyReading {
  readonly digest: number;
  readonly tables: number;
}

/** What a point get or a range read returned (hex), or that the table does not exist. */
export type Observation =
  | { readonly kind: 'get'; readonly read: PointRead; readonly value: string | undefined; readonly tableExists: boolean }
  | { readonly kind: 'range'; readonly read: RangeRead; readonly entries: ReadonlyArray<readonly [string, string]>; readonly tableExists: boolean };

/** Every table's entries as `range` returned them, per family. */
type RawState = Map<string, Map<string, Array<readonly [Uint8Array, Uint8Array]>>>;

/** What was read of a recovered store; the model's hex form of a full read is built only when asked for. */
export class Reading {
  private hex: LogicalState | null = null;

  /** `full`: every page was walked and every entry read (`raw` null: and not kept, see ReadPlan.keepsState). */
  constructor(readonly families: ReadonlyMap<string, FamilyReading>, readonly problems: readonly string[],
    readonly observations: readonly Observation[], private readonly raw: RawState | null, readonly full = raw !== null) {}

  /** Entries kept of a full read (0 when only digests were read, or none kept). */
  get entries(): number {
    let count = 0;
    for (const tables of this.raw?.values() ?? []) for (const entries of tables.values()) count += entries.length;
    return count;
  }

  /** Every table's entries as bytes, as `range` returned them, when read in full and kept (else null). */
  get tablesRead(): ReadonlyMap<string, ReadonlyMap<string, ReadonlyArray<readonly [Uint8Array, Uint8Array]>>> | null {
    return this.raw;
  }

  /** The whole state, when it was read in full and kept (else null). */
  get state(): LogicalState | null {
    if (this.raw === null) return null;
    this.hex ??= new Map([...this.raw].map(([family, tables]) => [family, new Map([...tables].map(([table, entries]) => [table, hexTable(entries)]))]));
    return this.hex;
  }
}

/** A table's entries in the model's hex form, without a pair array per entry (a second life's start of 100,000 keys). */
function hexTable(entries: ReadonlyArray<readonly [Uint8Array, Uint8Array]>): Map<string, string> {
  const table = new Map<string, string>();
  for (const [key, value] of entries) table.set(toHex(key), toHex(value));
  return table;
}

/** Reads the recovered store: in full, or by digest where `plan` allows and the store can. */
export async function readRecovered(db: StoreUnderTest, plan: ReadPlan | undefined, probe: StageProbe | undefined): Promise<Reading> {
  const families = new Map<string, FamilyReading>();
  const problems: string[] = [];
  const observations: Observation[] = [];
  let raw: RawState | null = new Map();
  let full = true;
  const keeps = plan?.keepsState ?? true;
  for (const name of db.listColumnFamilies()) {
    const family = await db.columnFamily(name);
    probe?.enter('integrity');
    if (plan !== undefined && !plan.full && family.digestState !== undefined) {
      families.set(name, digestFamily(family, name, plan, problems));
      raw = null;
      full = false;
    } else {
      const report = family.checkIntegrity();
      problems.push(...report.problems.map((problem) => `${name}: ${problem}`));
      probe?.enter('read-state');
      const { tables, reading } = readFamily(family, name, keeps);
      families.set(name, reading);
      raw?.set(name, tables);
    }
    probe?.enter('read-state');
    if (plan !== undefined) observations.push(...observe(family, name, plan));
  }
  return new Reading(families, problems, observations, keeps ? raw : null, full);
}

function digestFamily(family: FamilyUnderTest, name: string, plan: ReadPlan, problems: string[]): FamilyReading {
  let memo = plan.memos.get(name);
  if (memo === undefined) {
    memo = new Map();
    plan.memos.set(name, memo);
  }
  const report = family.digestState!((table) => entryHasher(name, table), memo);
  problems.push(...report.problems.map((problem) => `${name}: ${problem}`));
  let digest = 0;
  for (const table of report.tables) digest = addDigests(digest, addDigests(tableMark(name, table.name), table.digest));
  return { digest, tables: report.tables.length };
}

/** Every table of a family through `range`, with the family's digest taken from the same bytes; its entries only when `keeps`. */
function readFamily(family: FamilyUnderTest, name: string, keeps: boolean): { tables: Map<string, Array<readonly [Uint8Array, Uint8Array]>>; reading: FamilyReading } {
  const txn = family.beginRead();
  try {
    const tables = new Map<string, Array<readonly [Uint8Array, Uint8Array]>>();
    let digest = 0;
    for (const tableName of txn.listTables()) {
      const entries: Array<readonly [Uint8Array, Uint8Array]> = [];
      const hash = entryHasher(name, tableName);
      let sum = tableMark(name, tableName);
      for (const entry of txn.openTable(tableName).range()) {
        if (keeps) entries.push(entry);
        sum = addDigests(sum, hash(entry[0], entry[1]));
      }
      tables.set(tableName, entries);
      digest = addDigests(digest, sum);
    }
    return { tables, reading: { digest, tables: tables.size } };
  } finally {
    txn.close();
  }
}

/** The plan's point gets and range reads of one family, through one read transaction. */
function observe(family: FamilyUnderTest, name: string, plan: ReadPlan): Observation[] {
  const txn = family.beginRead();
  try {
    const existing = new Set(txn.listTables());
    const observations: Observation[] = [];
    for (const read of plan.gets) {
      if (read.family !== name) continue;
      const tableExists = existing.has(read.table);
      const value = tableExists ? txn.openTable(read.table).get(read.key) : undefined;
      observations.push({ kind: 'get', read, value: value === undefined ? undefined : toHex(value), tableExists });
    }
    for (const read of plan.ranges) {
      if (read.family !== name) continue;
      const tableExists = existing.has(read.table);
      const entries: Array<[string, string]> = [];
      if (tableExists) {
        for (const [key, value] of txn.openTable(read.table).range(read.start, read.end, { reverse: read.reverse })) entries.push([toHex(key), toHex(value)]);
      }
      observations.push({ kind: 'range', read, entries, tableExists });
    }
    return observations;
  } finally {
    txn.close();
  }
}
