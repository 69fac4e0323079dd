/**
 * Engine configurations worth testing, generated per run: small pages so trees grow deep and
 * values overflow after a few hundred bytes, and a write buffer of only a few pages so that
 * eviction (writing dirty pages out before the commit's barrier) happens all the time.
 */
import fc from 'fast-check';
import type { DatabaseOptions } from '../engine/index.js';

export interface EngineConfig {
  readonly pageBytes: 512 | 1024 | 4096;
  readonly writeBufferPages: number;
  /** Percent of the write buffer above which eviction starts (1..100). */
  readonly highWaterPercent: number;
  /** Percent of the high-water mark that eviction brings dirty bytes down to (0..100). */
  readonly lowWaterPercentOfHigh: number;
  readonly readCachePages: number;
}

export const engineConfigArb: fc.Arbitrary<EngineConfig> = fc.record({
  pageBytes: fc.constantFrom<EngineConfig['pageBytes']>(512, 1024, 4096),
  writeBufferPages: fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 9, max: 256 })),
  highWaterPercent: fc.oneof(fc.constant(80), fc.integer({ min: 1, max: 100 })),
  lowWaterPercentOfHigh: fc.oneof(fc.constant(60), fc.integer({ min: 0, max: 100 })),
  readCachePages: fc.constantFrom(0, 16, 1024),
});

/** The `Database.open` options a configuration stands for. */
export function engineOptions(config: EngineConfig): DatabaseOptions {
  const high = config.highWaterPercent / 100;
  return {
    pageBytes: config.pageBytes,
    writeBufferBytes: config.writeBufferPages * config.pageBytes,
    evictionHighWater: high,
    // min: (high * 100) / 100 can round above high, which the engine rightly rejects.
    evictionLowWater: Math.min(high, (high * config.lowWaterPercentOfHigh) / 100),
    readCacheBytes: config.readCachePages * config.pageBytes,
  };
}

export function showEngineConfig(config: EngineConfig): string {
  return `page=${config.pageBytes}B buffer=${config.writeBufferPages}p `
    + `high=${config.highWaterPercent}% low=${config.lowWaterPercentOfHigh}%ofHigh cache=${config.readCachePages}p`;
}
