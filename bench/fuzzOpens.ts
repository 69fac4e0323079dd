// Benchmark: a fuzz of opens of damaged databases (issue 12): figures only, never assertions.
//
// Usage: node dist/bench/fuzzOpens.js [--opens N] [--seed S] [--json]
//
// Workloads (seeded) build column-family databases on the fault layer: a few families, commits
// of inserts and removes (small and overflow values), some checkpoints, every commit immediate
// and acknowledged; each ends in a power cut with records still in the log, or in a clean close.
// Each open takes one such database's files, damages them (bit flips, a truncation, a zeroed or
// garbage sector, two pages swapped, the log deleted, an older copy of the same log, another
// database's log) and opens a copy, then reads every family in full and checks integrity. The
// verdict of each open, against the commits of the workload:
//   detected     a typed EngineError (at open, read or integrity check): the damage was told;
//   intact       every acknowledged commit is there and nothing else: the damage did no harm;
//   silentLoss   an acknowledged commit is missing, with no error, while a later one survived;
//   declaredLimit only the newest acknowledged commits are missing, with no error: nothing later
//                vouches for them, the declared limit of the format (docs/format.md);
//   wrongValue   a family holds a state that is no prefix of its history;
//   untypedError an error that is not an EngineError (a TypeError, a RangeError...);
//   crash        an engine assertion failed (an invariant the damage broke unnoticed);
//   hang         nothing settled within the time limit (wall clock: this is bench code).
// The last line with --json is `{opens, wrongValues, silentLosses, untypedErrors, hangs,
// crashes, ...}`. The log's durable watermarks, its mirrored header slots, the mirrored commit
// slots, the live flag and the master generation witnesses tell damage from a legal crash where a
// later byte vouches for what was lost (docs/format.md); what nothing vouches for is counted apart.
import { ColumnFamilyDatabase, EngineError, type ColumnFamilyOptions } from '../engine/index.js';
import { FaultyVfs } from '../fault/faultyVfs.js';
import { Prng } from '../fault/prng.js';
import { readRecovered } from '../recovery/readState.js';
import { positiveInteger } from './positiveInteger.js';
import { benchMain, BenchUsageError } from './benchMain.js';

type Image = Map<string, Uint8Array>;
const DATA = 'crashlab.cf';
const LOG = 'crashlab.cf.wal';
const OPTIONS: ColumnFamilyOptions = { pageBytes: 512, initialSegmentBytes: 8 * 512, writeBufferBytes: 16 * 512 };
const POWER_CUT = { survival: 'none', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 0 } as const;
/** An open, read and check that settles later than this is a hang. */
const HANG_MS = 10_000;
const BASES = 12;

/** One workload's files and, per family, the canonical form of its state after each commit. */
interface Base {
  readonly image: Image;
  /** The log as it was halfway through the workload (same salt, older records). */
  readonly olderLog: Uint8Array | undefined;
  readonly histories: ReadonlyMap<string, readonly string[]>;
  /** Every commit in the order it was acknowledged: its family and its index in that family's history. */
  readonly order: ReadonlyArray<{ readonly family: string; readonly index: number }>;
}

type Verdict = 'detected' | 'intact' | 'silentLoss' | 'declaredLimit' | 'wrongValue' | 'untypedError' | 'crash' | 'hang';

const canonical = (tables: ReadonlyMap<string, ReadonlyMap<string, string>>): string =>
  JSON.stringify([...tables].sort(([a], [b]) => (a < b ? -1 : 1)).map(([table, entries]) => [table, [...entries].sort(([a], [b]) => (a < b ? -1 : 1))]));

const ID_SALT = 0x1d5a_17ed;

/** Builds one workload's database; every commit is acknowledged and recorded in the histories. */
async function buildBase(seed: number): Promise<Base> {
  const prng = new Prng(seed);
  const vfs = new FaultyVfs();
  // Each database its own id (as real files get from the OS), from a stream of its own so the
  // workload's draws stay what they were.
  const ids = new Prng(seed ^ ID_SALT);
  const db = await ColumnFamilyDatabase.open(vfs, { ...OPTIONS, random: () => ids.nextU32() / 2 ** 32 });
  const familyCount = 1 + prng.below(3);
  const model = new Map<string, Map<string, Map<string, string>>>();
  const histories = new Map<string, string[]>();
  for (let f = 0; f < familyCount; f++) {
    await db.columnFamily(`cf${f}`);
    model.set(`cf${f}`, new Map());
    histories.set(`cf${f}`, [canonical(new Map())]);
  }
  const commits = 4 + prng.below(24);
  let olderLog: Uint8Array | undefined;
  const order: Array<{ family: string; index: number }> = [];
  for (let c = 0; c < commits; c++) {
    const name = `cf${prng.below(familyCount)}`;
    await commitRandom(db, name, model.get(name)!, prng);
    histories.get(name)!.push(canonical(model.get(name)!));
    order.push({ family: name, index: histories.get(name)!.length - 1 });
    if (prng.below(6) === 0) await db.checkpoint();
    if (c === Math.floor(commits / 2)) olderLog = vfs.crashImage(POWER_CUT).get(LOG);
  }
  if (prng.coin()) await db.close();
  return { image: vfs.crashImage(POWER_CUT), olderLog, histories, order };
}

async function commitRandom(db: ColumnFamilyDatabase, name: string, tables: Map<string, Map<string, string>>, prng: Prng): Promise<void> {
  const txn = await (await db.columnFamily(name)).beginWrite();
  const tableName = `t${prng.below(2)}`;
  const table = txn.openTable(tableName);
  const entries = tables.get(tableName) ?? new Map<string, string>();
  tables.set(tableName, entries);
  for (let op = 1 + prng.below(6); op > 0; op--) {
    const key = Uint8Array.of(prng.below(40));
    const keyHex = Buffer.from(key).toString('hex');
    if (prng.below(4) === 0) {
      table.remove(key);
      entries.delete(keyHex);
      continue;
    }
    // Now and then a value over several pages (an overflow chain).
    const value = new Uint8Array(prng.below(8) === 0 ? 600 + prng.below(1500) : prng.below(40)).map(() => prng.below(256));
    table.insert(key, value);
    entries.set(keyHex, Buffer.from(value).toString('hex'));
  }
  await txn.commit({ durability: 'immediate' });
}

const DAMAGES = ['flip', 'truncate', 'zero-sector', 'garbage-sector', 'swap-pages', 'delete-log', 'older-log', 'foreign-log'] as const;
type Damage = typeof DAMAGES[number];

/** A damaged copy of `base`'s files. */
function damage(base: Base, other: Base, kind: Damage, prng: Prng): Image {
  const image = new Map([...base.image].map(([name, bytes]) => [name, bytes.slice()]));
  const file = prng.coin() || !image.has(LOG) ? DATA : LOG;
  const bytes = image.get(file)!;
  const sector = (): number => 512 * prng.below(Math.max(1, Math.floor(bytes.length / 512)));
  switch (kind) {
    case 'flip': for (let n = 1 + prng.below(8); n > 0 && bytes.length > 0; n--) bytes[prng.below(bytes.length)]! ^= 1 << prng.below(8); break;
    case 'truncate': image.set(file, bytes.subarray(0, prng.below(bytes.length + 1))); break;
    case 'zero-sector': bytes.fill(0, sector(), sector() + 512); break;
    case 'garbage-sector': { const at = sector(); for (let i = at; i < Math.min(bytes.length, at + 512); i++) bytes[i] = prng.below(256); break; }
    case 'swap-pages': swapPages(image.get(DATA)!, prng); break;
    case 'delete-log': image.delete(LOG); break;
    case 'older-log': if (base.olderLog !== undefined) image.set(LOG, base.olderLog.slice()); break;
    case 'foreign-log': { const log = other.image.get(LOG); if (log !== undefined) image.set(LOG, log.slice()); break; }
  }
  return image;
}

function swapPages(data: Uint8Array, prng: Prng): void {
  const pages = Math.floor(data.length / 512);
  if (pages < 2) return;
  const [a, b] = [prng.below(pages), prng.below(pages)].map((page) => page * 512) as [number, number];
  const copy = data.slice(a, a + 512);
  data.copyWithin(a, b, b + 512);
  data.set(copy, b);
}

/** Opens, reads every family and checks integrity; the verdict against the base's histories. */
async function judgeOpen(base: Base, image: Image, recover: 'strict' | 'salvage' = 'strict'): Promise<Verdict> {
  let db: ColumnFamilyDatabase | null = null;
  try {
    db = await ColumnFamilyDatabase.open(FaultyVfs.fromImage(image), { ...OPTIONS, recover });
    const reading = await readRecovered(db, undefined, undefined);
    if (reading.problems.length > 0) return 'detected';
    return compare(base, reading.state!);
  } catch (error) {
    if (error instanceof EngineError) return 'detected';
    return error instanceof Error && error.message.startsWith('assertion failed') ? 'crash' : 'untypedError';
  } finally {
    await db?.close().catch(() => undefined);
  }
}

/**
 * `silentLoss` when an acknowledged commit is missing although a later one survived (it vouches
 * for the lost one: the format can tell, so the engine must); `declaredLimit` when only the newest
 * commits are missing, a suffix of the acknowledged order with nothing after it to vouch for them
 * (docs/format.md, "Declared limits": no format tells that from a legal crash).
 */
function compare(base: Base, state: ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, string>>>): Verdict {
  for (const family of state.keys()) if (!base.histories.has(family)) return 'wrongValue';
  const reached = new Map<string, number>();
  for (const [family, history] of base.histories) {
    const read = state.get(family);
    const form = read === undefined ? history[0]! : canonical(read);
    const at = history.lastIndexOf(form);
    if (at < 0) return 'wrongValue';
    reached.set(family, at);
  }
  const present = base.order.map(({ family, index }) => index <= reached.get(family)!);
  const firstLost = present.indexOf(false);
  if (firstLost < 0) return 'intact';
  return present.slice(firstLost).some(Boolean) ? 'silentLoss' : 'declaredLimit';
}

async function withHangLimit(run: Promise<Verdict>): Promise<Verdict> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<Verdict>((resolve) => { timer = setTimeout(() => resolve('hang'), HANG_MS); });
  try {
    return await Promise.race([run, limit]);
  } finally {
    clearTimeout(timer);
  }
}

export interface FuzzResult {
  readonly opens: number;
  readonly wrongValues: number;
  readonly silentLosses: number;
  readonly untypedErrors: number;
  readonly hangs: number;
  readonly crashes: number;
  readonly detected: number;
  readonly intact: number;
  /** Only the newest acknowledged commits lost, with nothing later to vouch for them: the format's declared limit. */
  readonly declaredLimit: number;
  /** Per damage class, the verdicts that are not `detected` or `intact`, with an example seed. */
  readonly byDamage: Record<string, Partial<Record<Verdict, number>>>;
  /**
   * Every open a strict open detected, opened again with `recover: 'salvage'`: the verdicts of
   * those (`detected`: salvage refused it too). A salvage may lose, never invent.
   */
  readonly salvaged: Partial<Record<Verdict, number>>;
}

export async function fuzzOpens(opens: number, seed: number): Promise<FuzzResult> {
  const prng = new Prng(seed);
  const bases: Base[] = [];
  for (let b = 0; b < BASES; b++) bases.push(await buildBase(prng.below(2 ** 31)));
  const counts: Record<Verdict, number> = { detected: 0, intact: 0, silentLoss: 0, declaredLimit: 0, wrongValue: 0, untypedError: 0, crash: 0, hang: 0 };
  const byDamage: Record<string, Partial<Record<Verdict, number>>> = {};
  const salvaged: Partial<Record<Verdict, number>> = {};
  for (let i = 0; i < opens; i++) {
    const base = bases[prng.below(bases.length)]!;
    const kind = DAMAGES[prng.below(DAMAGES.length)]!;
    const image = damage(base, bases[prng.below(bases.length)]!, kind, prng);
    const verdict = await withHangLimit(judgeOpen(base, image));
    if (verdict === 'detected') {
      const salvage = await withHangLimit(judgeOpen(base, image, 'salvage'));
      salvaged[salvage] = (salvaged[salvage] ?? 0) + 1;
    }
    counts[verdict]++;
    const row = (byDamage[kind] ??= {});
    row[verdict] = (row[verdict] ?? 0) + 1;
  }
  return {
    opens, wrongValues: counts.wrongValue, silentLosses: counts.silentLoss, untypedErrors: counts.untypedError,
    hangs: counts.hang, crashes: counts.crash, detected: counts.detected, intact: counts.intact, declaredLimit: counts.declaredLimit, byDamage, salvaged,
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let opens = 2000;
  let seed = 1;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--opens') opens = positiveInteger('--opens', argv[++i]);
    else if (argv[i] === '--seed') seed = positiveInteger('--seed', argv[++i]);
    else if (argv[i] === '--json') json = true;
    else throw new BenchUsageError(`unknown argument ${String(argv[i])} (usage: [--opens N] [--seed S] [--json])`);
  }
  const result = await fuzzOpens(opens, seed);
  const { byDamage, ...totals } = result;
  console.log(`fuzz of opens: seed ${seed}, ${opens} opens of ${BASES} damaged workload databases`);
  for (const [kind, row] of Object.entries(byDamage)) console.log(`  ${kind.padEnd(15)} ${JSON.stringify(row)}`);
  console.log(json ? JSON.stringify({ seed, ...totals, byDamage }) : JSON.stringify(totals));
}

await benchMain(import.meta.url, main);
