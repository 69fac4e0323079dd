/**
 * The fault layer's only source of randomness: a seeded PRNG (SplitMix32), so that one seed
 * gives one crash image, byte for byte. Never `Math.random`.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new TypeError(`PRNG seed must be an integer, not ${seed}`);
    this.state = seed >>> 0;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** An integer in [0, bound). */
  below(bound: number): number {
    if (!Number.isInteger(bound) || bound <= 0) throw new TypeError(`bound must be a positive integer, not ${bound}`);
    return Math.floor((this.nextU32() / 2 ** 32) * bound);
  }

  /** True with probability 1/2. */
  coin(): boolean {
    return (this.nextU32() & 1) === 1;
  }
}
