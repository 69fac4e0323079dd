/**
 * Deterministic sharding of a campaign across machines (CI matrix jobs): shard I of N runs
 * its share of the runs under its own seed, derived from (seed, I) by a fixed integer hash,
 * so `--shard 2/4` always runs the same cases, and the N shards' runs add up to the total.
 * Shard 1/1 is the unsharded campaign itself (same seed, same runs).
 *
 * No clock and no Math.random here.
 */

/** Shard `index` (1-based) of `total`. */
export interface Shard {
  readonly index: number;
  readonly total: number;
}

export const MAX_SHARDS = 1024;

function checkShard(index: number, total: number, source: string): Shard {
  if (!(Number.isSafeInteger(total) && total >= 1 && total <= MAX_SHARDS)) {
    throw new TypeError(`${source}: the shard count must be an integer in [1, ${MAX_SHARDS}], not ${total}`);
  }
  if (!(Number.isSafeInteger(index) && index >= 1 && index <= total)) {
    throw new TypeError(`${source}: the shard index must be an integer in [1, ${total}], not ${index}`);
  }
  return { index, total };
}

/** Parses `I/N` (1-based I in [1, N], N at most 1024), e.g. `2/4`; throws a TypeError otherwise. */
export function parseShard(text: string): Shard {
  const match = /^\s*(\d{1,5})\s*\/\s*(\d{1,5})\s*$/.exec(text);
  if (match === null) throw new TypeError(`--shard must look like I/N (e.g. 2/4, I counted from 1), not ${JSON.stringify(text)}`);
  return checkShard(Number(match[1]), Number(match[2]), `--shard ${text}`);
}

export function formatShard(shard: Shard): string {
  return `${shard.index}/${shard.total}`;
}

/**
 * The shard CI asks for through `CI_NODE_INDEX` (0-based, as ava reads it) and `CI_NODE_TOTAL`;
 * null when neither is set. Setting only one of them is an error.
 */
export function shardFromEnv(env: Readonly<Record<string, string | undefined>>): Shard | null {
  const rawIndex = env.CI_NODE_INDEX;
  const rawTotal = env.CI_NODE_TOTAL;
  const given = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';
  if (!given(rawIndex) && !given(rawTotal)) return null;
  if (!given(rawIndex) || !given(rawTotal)) throw new TypeError('CI_NODE_INDEX and CI_NODE_TOTAL must be set together');
  if (!/^\s*\d+\s*$/.test(rawIndex) || !/^\s*\d+\s*$/.test(rawTotal)) {
    throw new TypeError(`CI_NODE_INDEX (${JSON.stringify(rawIndex)}) and CI_NODE_TOTAL (${JSON.stringify(rawTotal)}) must be non-negative integers`);
  }
  return checkShard(Number(rawIndex) + 1, Number(rawTotal), `CI_NODE_INDEX=${rawIndex}, CI_NODE_TOTAL=${rawTotal}`);
}

/** murmur3's 32-bit finalizer: a bijection of [0, 2^32). */
function fmix32(value: number): number {
  let z = value >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

/**
 * A seed in [0, 2^32) derived from `seed` and a small integer `salt`; for a fixed seed,
 * distinct salts (below 2^32) give distinct seeds (the odd multiplier and fmix32 are bijections).
 */
export function deriveSeed(seed: number, salt: number): number {
  if (!(Number.isSafeInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw new TypeError(`seed must be an integer in [0, 2^32), not ${seed}`);
  if (!(Number.isSafeInteger(salt) && salt >= 0 && salt < 2 ** 32)) throw new TypeError(`salt must be an integer in [0, 2^32), not ${salt}`);
  return fmix32((fmix32(seed ^ 0x73686172) + Math.imul(salt, 0x9e3779b1)) >>> 0);
}

/**
 * The part of a campaign of `runs` runs under `seed` that `shard` runs: the first `runs % N`
 * shards take one run more than the others (a shard may get 0 runs when runs < N: nothing to
 * do), and each shard its own seed. Shard 1/1 is the whole campaign.
 */
export function shardRun(seed: number, runs: number, shard: Shard): { seed: number; runs: number } {
  checkShard(shard.index, shard.total, 'shard');
  if (!(Number.isSafeInteger(runs) && runs >= 0)) throw new TypeError(`runs must be a non-negative integer, not ${runs}`);
  if (shard.total === 1) {
    deriveSeed(seed, 0); // validates the seed
    return { seed, runs };
  }
  const base = Math.floor(runs / shard.total);
  const extra = shard.index <= runs % shard.total ? 1 : 0;
  return { seed: deriveSeed(seed, shard.index), runs: base + extra };
}
