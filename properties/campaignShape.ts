/**
 * The shape of what a campaign exercised: the engine's structural counters over the campaign
 * (when the engine offers them, EngineUnderTest.shapeCounts) and the harness's own counts, as
 * one flat record of numbers that adds up over chunks, shards and certificate cells, and one
 * line for people. A path at 0 is a path no case reached: the line says so plainly.
 */
import type { ShapeCounts } from '../engine/shape.js';
import type { EngineUnderTest } from '../recovery/checkImage.js';
import type { WorkloadTally } from './crashWorkload.js';

/** The engine's counters over a span (engine/shape.ts names them), the deepest leaf, and the harness's counts. */
export interface CampaignShape extends Omit<ShapeCounts, 'depths'> {
  /** The deepest leaf any tree update reached (the root is depth 1); 0 when unknown. */
  readonly depth: number;
  /** Read snapshots held across later steps and checked against the model. */
  readonly snapshots: number;
  /** Bounded range reads the harness compared with the model. */
  readonly boundedRanges: number;
  /** Whether the engine reported its counters (else only the harness's counts are real). */
  readonly engineCounted: boolean;
}

type Counter = Exclude<keyof CampaignShape, 'depth' | 'engineCounted'>;
const ENGINE_COUNTERS = [
  'leafSplits', 'branchSplits', 'merges', 'replayMerges', 'redistributions', 'rootGrowths', 'rootShrinks', 'overflowChains',
  'boundedScans', 'readerHolds', 'chainRejections',
] as const satisfies ReadonlyArray<Counter & keyof ShapeCounts>;
const COUNTERS: readonly Counter[] = [...ENGINE_COUNTERS, 'snapshots', 'boundedRanges'];

export const EMPTY_SHAPE: CampaignShape = {
  depth: 0, leafSplits: 0, branchSplits: 0, merges: 0, replayMerges: 0, redistributions: 0, rootGrowths: 0, rootShrinks: 0,
  overflowChains: 0, boundedScans: 0, readerHolds: 0, chainRejections: 0, snapshots: 0, boundedRanges: 0, engineCounted: false,
};

/** Starts counting for a span of work on `engine`; the returned function ends it. */
export function countShape(engine: EngineUnderTest): (tally: WorkloadTally) => CampaignShape {
  const before = engine.shapeCounts?.();
  return (tally) => {
    const after = engine.shapeCounts?.();
    const shape: Record<Counter, number> & { depth: number; engineCounted: boolean } = { ...EMPTY_SHAPE, ...tally };
    if (before === undefined || after === undefined) return shape;
    for (const name of ENGINE_COUNTERS) shape[name] = after[name] - before[name];
    shape.depth = after.depths.findLastIndex((count, i) => count > (before.depths[i] ?? 0)) + 1;
    shape.engineCounted = true;
    return shape;
  };
}

/** Sums of two spans (the deeper depth). An old record without a shape counts as empty. */
export function addShapes(a: CampaignShape | undefined, b: CampaignShape | undefined): CampaignShape {
  const x = a ?? EMPTY_SHAPE;
  const y = b ?? EMPTY_SHAPE;
  const sum: Record<Counter, number> & { depth: number; engineCounted: boolean } = {
    ...EMPTY_SHAPE, depth: Math.max(x.depth, y.depth), engineCounted: x.engineCounted || y.engineCounted,
  };
  for (const name of COUNTERS) sum[name] = x[name] + y[name];
  return sum;
}

/** One line: "shape: tree depth 4, splits 812 (branch 31), ...". */
export function formatShape(shape: CampaignShape): string {
  const s = shape;
  const engine = s.engineCounted
    ? `tree depth ${s.depth}, splits ${s.leafSplits + s.branchSplits} (branch ${s.branchSplits}), merges ${s.merges + s.replayMerges} `
      + `(during log replay ${s.replayMerges}), redistributions ${s.redistributions}, root growths ${s.rootGrowths}, `
      + `root shrinks ${s.rootShrinks}, overflow chains ${s.overflowChains}, bounded scans ${s.boundedScans}, `
      + `page reuse held back by a snapshot ${s.readerHolds}, log records refused by the family chain ${s.chainRejections}, `
    : 'engine counters not offered by this engine, ';
  return `shape: ${engine}snapshots held ${s.snapshots}, bounded ranges checked ${s.boundedRanges}`;
}
