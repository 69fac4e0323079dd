/**
 * Seeds derived from seeds: a campaign split into chunks (for progress and time budgets) or
 * shards runs each part under its own seed, derived by a fixed integer hash so that the same
 * (seed, part) always gives the same cases. No Math.random anywhere.
 */

/** A 32-bit seed for part `part` of the campaign seeded `seed` (a MurmurHash3-style mix). */
export function deriveSeed(seed: number, part: number): number {
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(part) || part < 0) throw new TypeError('seed and part must be integers');
  let h = (seed ^ Math.imul(part + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}
