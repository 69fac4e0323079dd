/**
 * Keys and values as small descriptions rather than raw bytes, so that a shrunk counterexample
 * reads as `k(61ff)` or `v(1200#3)` instead of kilobytes of numbers, and so that a long key can
 * be sized against the page's key limit, which is only known once the database is open.
 *
 * Keys come from a four-byte alphabet and are at most three bytes long (85 keys in all), so
 * inserts collide, overwrite and get removed often; the alphabet holds 0x00 and 0xff so that
 * prefix order and unsigned comparison are exercised. A few keys are padded to the largest key
 * the page allows (or one byte past it, which the engine must refuse with TOO_LARGE).
 */
import fc from 'fast-check';

/** Short key bytes; 0x00 and 0xff catch signed or prefix-blind comparisons. */
const KEY_ALPHABET = [0x00, 0x61, 0x80, 0xff] as const;
const KEY_SHORT_MAX_BYTES = 3;
/** Padding byte for long keys, chosen inside the alphabet's range so order interleaves. */
const LONG_KEY_FILL = 0x6c;

/** How far a long key is from the page's key limit: at it, one under, or one over. */
export type LongKey = 'max' | 'under' | 'over';

export interface KeySpec {
  readonly base: readonly number[];
  readonly long: LongKey | null;
}

/** A value is described by its length and a fill seed; its bytes vary with position. */
export interface ValueSpec {
  readonly lengthBytes: number;
  readonly fill: number;
}

export const keySpecArb: fc.Arbitrary<KeySpec> = fc.record({
  base: fc.array(fc.constantFrom(...KEY_ALPHABET), { maxLength: KEY_SHORT_MAX_BYTES }),
  long: fc.oneof(
    { weight: 20, arbitrary: fc.constant(null) },
    { weight: 2, arbitrary: fc.constantFrom<LongKey>('max', 'under') },
    { weight: 1, arbitrary: fc.constant<LongKey>('over') },
  ),
});

/** Keys that never exceed the limit: for range bounds and bulk operations. */
export const boundSpecArb: fc.Arbitrary<KeySpec> = keySpecArb.map(
  (spec) => (spec.long === 'over' ? { base: spec.base, long: 'max' } : spec),
);

/** Mostly small values, some that overflow a 4 KiB page's inline limit, some empty. */
export const valueSpecArb: fc.Arbitrary<ValueSpec> = fc.record({
  lengthBytes: fc.oneof(
    { weight: 1, arbitrary: fc.constant(0) },
    { weight: 6, arbitrary: fc.integer({ min: 1, max: 40 }) },
    { weight: 2, arbitrary: fc.integer({ min: 41, max: 400 }) },
    { weight: 2, arbitrary: fc.integer({ min: 401, max: 3000 }) },
  ),
  fill: fc.integer({ min: 0, max: 255 }),
});

/** The key's bytes; long keys are sized against `maxKeyBytes`, the open database's limit. */
export function keyBytes(spec: KeySpec, maxKeyBytes: number): Uint8Array {
  if (spec.long === null) return Uint8Array.from(spec.base);
  const offset = spec.long === 'max' ? 0 : spec.long === 'under' ? -1 : 1;
  const lengthBytes = maxKeyBytes + offset;
  if (!(lengthBytes > spec.base.length)) throw new Error('a long key is longer than its base');
  const bytes = new Uint8Array(lengthBytes).fill(LONG_KEY_FILL);
  bytes.set(spec.base, 0);
  return bytes;
}

/**
 * The value's bytes. Every byte depends on its position (and every 256-byte block differs), so
 * overflow chunks stored out of order or at the wrong offset do not compare equal.
 */
export function valueBytes(spec: ValueSpec): Uint8Array {
  const bytes = new Uint8Array(spec.lengthBytes);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (spec.fill + i * 7 + (i >>> 8)) & 0xff;
  return bytes;
}

/** A short hex rendering for messages, elided in the middle when long. */
export function hex(bytes: Uint8Array): string {
  if (bytes.length === 0) return '(empty)';
  const all = Buffer.from(bytes).toString('hex');
  return all.length <= 24 ? all : `${all.slice(0, 12)}…${all.slice(-6)}(${bytes.length}B)`;
}

export function showKey(spec: KeySpec): string {
  const base = Buffer.from(spec.base).toString('hex');
  return spec.long === null ? `k(${base})` : `k(${base}+${spec.long})`;
}

export function showValue(spec: ValueSpec): string {
  return `v(${spec.lengthBytes}#${spec.fill})`;
}
