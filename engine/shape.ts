/**
 * Counters of the structural paths the engine took (splits, merges, redistributions, root
 * changes, overflow chains, replay, readers holding back page reuse, a log record refused by
 * the family chain check), so a crash campaign can report what its workloads reached.
 *
 * One plain object per engine module, only ever incremented (a mutant's copy of the engine has
 * its own): a reader takes two `shapeCounts()` and subtracts. Deterministic (counts of events,
 * no clock) and cheap (an increment on paths that already copy whole pages).
 */

/** Tree depths counted: a leaf updated at depth d (the root is depth 1) counts in slot d - 1. */
export const MAX_COUNTED_DEPTH = 16;

export interface ShapeCounts {
  readonly leafSplits: number;
  readonly branchSplits: number;
  /** Two siblings merged into one (leaves or branches), outside log replay. */
  readonly merges: number;
  /** Siblings merged while recovery replayed a log record. */
  readonly replayMerges: number;
  /** Entries shared between an underfull node and its sibling (too full to merge). */
  readonly redistributions: number;
  /** A root split: the tree grew a new branch root. */
  readonly rootGrowths: number;
  /** A branch root with one child handed over to it, or an empty root leaf dropped. */
  readonly rootShrinks: number;
  /** Values written to a chain of overflow pages. */
  readonly overflowChains: number;
  /** Scans with a start or an end bound. */
  readonly boundedScans: number;
  /** Times a live reader's snapshot kept pages freed by a durable commit from reuse. */
  readonly readerHolds: number;
  /** Log records refused at recovery because their family's previous record is neither replayed nor covered. */
  readonly chainRejections: number;
  /** Leaf updates by the depth of the leaf (index d - 1), the last slot for anything deeper. */
  readonly depths: readonly number[];
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const counts: Mutable<Omit<ShapeCounts, 'depths'>> & { depths: number[] } = {
  leafSplits: 0, branchSplits: 0, merges: 0, replayMerges: 0, redistributions: 0, rootGrowths: 0, rootShrinks: 0,
  overflowChains: 0, boundedScans: 0, readerHolds: 0, chainRejections: 0, depths: new Array<number>(MAX_COUNTED_DEPTH).fill(0),
};

/** Above zero while recovery replays log records (merges then count as replay merges). */
let replaying = 0;

/** The engine's counters written by its own code. */
export const shape = {
  count(name: Exclude<keyof ShapeCounts, 'depths' | 'merges' | 'replayMerges'>): void {
    counts[name]++;
  },
  merge(): void {
    if (replaying > 0) counts.replayMerges++;
    else counts.merges++;
  },
  leafAt(depth: number): void {
    counts.depths[Math.min(depth, MAX_COUNTED_DEPTH) - 1]!++;
  },
  /** Runs `work` as log replay: merges inside it count as replay merges. */
  async replay<T>(work: () => Promise<T>): Promise<T> {
    replaying++;
    try {
      return await work();
    } finally {
      replaying--;
    }
  },
};

/** A copy of the counters so far (they only grow: subtract two copies for a span). */
export function shapeCounts(): ShapeCounts {
  return { ...counts, depths: [...counts.depths] };
}
