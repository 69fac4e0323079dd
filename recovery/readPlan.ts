/**
 * What to read of a recovered image besides its digest, so that every key is judged through
 * the store's ordinary read paths and not only through a scan: point gets of every key the
 * case's own commits touched (and of a neighbour of each, mostly absent), of a seeded sample of
 * untouched keys of the base the case started from (a wrong separator hides keys from `get`
 * while a scan still returns them) and of absent keys beside them, and a bounded forward and a
 * bounded reverse range read per table. The plan depends on the case (its commits and base)
 * and the image's seed, never on one capture's history, so equal images may share a recovery.
 */
import type { CommitHistory } from '../model/commitHistory.js';
import { fromHex } from '../model/stateDigest.js';
import { lowerBound, type FrozenBase } from '../model/stateTimeline.js';
import type { DigestMemo } from '../engine/subtreeDigest.js';

export interface PointRead {
  readonly family: string;
  readonly table: string;
  readonly key: Uint8Array;
  /** The key in hex, as the model keys it (the plan draws keys in hex: the judge need not convert back). */
  readonly keyHex?: string | undefined;
}

export interface RangeRead {
  readonly family: string;
  readonly table: string;
  readonly start?: Uint8Array | undefined;
  readonly end?: Uint8Array | undefined;
  readonly reverse: boolean;
}

export interface ReadPlan {
  /** Read the whole state through `range` and walk every page, even when the store can digest. */
  readonly full: boolean;
  readonly gets: readonly PointRead[];
  readonly ranges: readonly RangeRead[];
  /** Per family, what the store's digest capability remembers across the images of a case. */
  readonly memos: Map<string, DigestMemo>;
  /**
   * Close the recovered store afterwards. A close checkpoints what recovery replayed into a
   * mounted copy nothing judges (its errors are ignored), so only one image a case pays for it,
   * enough for a close that never settles to show as a hang.
   */
  readonly closes: boolean;
  /**
   * Keep what a full read returned (every entry), for a classification's diff or a second life
   * to start from. Undefined: kept. A full read of a large state that nothing will ask for again
   * keeps only its digest: a hundred thousand entries held per image were most of the GC.
   */
  readonly keepsState?: boolean | undefined;
}

/** Untouched base keys sampled per table and image. */
export const SAMPLED_KEYS_PER_TABLE = 6;
/** Keys read per table and image beside an anchor, mostly absent. */
const ABSENT_KEYS_PER_TABLE = 8;
/** Touched keys read per table and image, at most (a sample beyond it). */
const MAX_TOUCHED_PER_TABLE = 96;
/** A bounded range covers at most this many base keys (plus what the case inserted there). */
const RANGE_BASE_KEYS = 8;

/** A small seeded generator (recovery has no randomness of its own: the case's seed drives it). */
function lcg(seed: number): (below: number) => number {
  let state = (seed >>> 0) || 1;
  return (below) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return Math.floor((state / 2 ** 32) * below);
  };
}

export interface TableKeys {
  readonly family: string;
  readonly table: string;
  readonly touched: Set<string>;
  /** Keys as bytes, converted once per case (every image of it reads mostly the same keys). */
  readonly bytes?: Map<string, Uint8Array> | undefined;
}

/** Per table of the base or of the case's commits, the keys the case's own commits touched (once per case). */
export function caseKeys(history: CommitHistory): TableKeys[] {
  const { base, count } = history.baseOf();
  const tables = new Map<string, TableKeys>();
  const entry = (family: string, table: string): TableKeys => {
    const id = `${family}\0${table}`;
    let keys = tables.get(id);
    if (keys === undefined) {
      keys = { family, table, touched: new Set(), bytes: new Map() };
      tables.set(id, keys);
    }
    return keys;
  };
  for (const [family, familyTables] of base.state) for (const table of familyTables.keys()) entry(family, table);
  for (const commit of history.all().slice(count)) {
    for (const op of commit.ops) {
      const keys = entry(commit.family, op.table);
      if (op.op === 'insert' || op.op === 'remove') keys.touched.add(Buffer.from(op.key).toString('hex'));
    }
  }
  return [...tables.values()];
}

/** The reads for one image of a case that starts from `base` and touched `tables` (caseKeys of the finished run). */
export function planReads(base: FrozenBase, tables: readonly TableKeys[], seed: number, reads: Pick<ReadPlan, 'full' | 'closes' | 'memos' | 'keepsState'>): ReadPlan {
  const below = lcg(seed);
  const gets: PointRead[] = [];
  const ranges: RangeRead[] = [];
  for (const { family, table, touched, bytes: known } of tables) {
    const bytes = (hex: string): Uint8Array => {
      let key = known?.get(hex);
      if (key === undefined) {
        key = fromHex(hex);
        known?.set(hex, key);
      }
      return key;
    };
    const sorted = base.sortedKeys(family, table);
    const keys = [...touched];
    while (keys.length > MAX_TOUCHED_PER_TABLE) keys.splice(below(keys.length), 1);
    for (let i = 0; i < SAMPLED_KEYS_PER_TABLE && sorted.length > 0; i++) keys.push(sorted[below(sorted.length)]!);
    const anchors = keys.slice();
    for (const key of anchors) gets.push({ family, table, key: bytes(key), keyHex: key });
    // Beside some of them, a key that is mostly absent (a byte appended sorts right after it).
    for (let i = 0; i < ABSENT_KEYS_PER_TABLE && anchors.length > 0; i++) {
      const key = `${anchors[below(anchors.length)]!}00`;
      gets.push({ family, table, key: bytes(key), keyHex: key });
    }
    if (anchors.length === 0) continue;
    for (const reverse of [false, true]) {
      const start = anchors[below(anchors.length)]!;
      const next = lowerBound(sorted, start) + 1 + below(RANGE_BASE_KEYS);
      const end = sorted[next] ?? anchors.filter((key) => key > start).sort()[0];
      ranges.push({ family, table, start: bytes(start), end: end === undefined ? undefined : bytes(end), reverse });
    }
  }
  return { ...reads, gets, ranges };
}
