/**
 * An order-independent digest of a logical state: the sum, modulo 2^52, of one hash per family
 * present, one per table and one per (family, table, key, value) entry. A change to one entry
 * changes the sum by the difference of two hashes, so the model keeps a digest per commit
 * prefix by subtracting the old entry and adding the new one (never copying or comparing whole
 * states), and a recovered state's digest can be summed from parts (subtrees) remembered
 * across images. Two states with equal digests are equal unless 52-bit hashes of the entries
 * that differ happen to cancel: about 2^-52 per comparison for entries no adversary chose.
 *
 * Entry hashes are over the bytes (not the model's hex), so that a store can compute them from
 * what it reads. Pure functions and data: no I/O, no clock, no randomness, no engine import.
 */

export const DIGEST_MODULUS = 2 ** 52;

export function addDigests(a: number, b: number): number {
  const sum = a + b;
  return sum >= DIGEST_MODULUS ? sum - DIGEST_MODULUS : sum;
}

export function subtractDigests(a: number, b: number): number {
  const difference = a - b;
  return difference < 0 ? difference + DIGEST_MODULUS : difference;
}

/** murmur3's finalizer: every input bit reaches every output bit (engine/subtreeDigest.ts has its own: no import either way). */
function mix32(input: number): number {
  let h = input;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Two independent 32-bit lanes over a byte string, from two seeds. */
interface Lanes {
  a: number;
  b: number;
}

/** murmur3's block round: lane a's step per 32-bit word. */
function murmurRound(h: number, word: number): number {
  let k = Math.imul(word, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  let out = h ^ Math.imul(k, 0x1b873593);
  out = (out << 13) | (out >>> 19);
  return (Math.imul(out, 5) + 0xe6546b64) | 0;
}

/** xxHash32's round: lane b's step, a different function of the same word than lane a's. */
function xxRound(acc: number, word: number): number {
  const sum = (acc + Math.imul(word, 0x85ebca77)) | 0;
  return Math.imul((sum << 13) | (sum >>> 19), 0x9e3779b1);
}

/**
 * Absorbs a byte string four bytes a round (a byte a round made hashing most of a full read's
 * own cost): its length first, so no string is a prefix-collision of another (key "ab", value
 * "c" vs "a", "bc") and the zero-padded last word of 1-3 bytes is unambiguous.
 */
function absorb(lanes: Lanes, bytes: Uint8Array): void {
  const n = bytes.length;
  let a = murmurRound(lanes.a, n);
  let b = xxRound(lanes.b, Math.imul(n, 0x9e3779b1));
  const whole = n - (n & 3);
  let i = 0;
  for (; i < whole; i += 4) {
    const word = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    a = murmurRound(a, word);
    b = xxRound(b, word);
  }
  if (i < n) {
    let word = 0;
    for (let shift = 0; i < n; i++, shift += 8) word |= bytes[i]! << shift;
    a = murmurRound(a, word);
    b = xxRound(b, word);
  }
  lanes.a = a;
  lanes.b = b;
}

function finish(lanes: Lanes): number {
  return mix32(lanes.a) * 2 ** 20 + (mix32(lanes.b ^ 0x2545f491) >>> 12);
}

const encoder = new TextEncoder();

function hashText(tag: string, ...parts: string[]): Lanes {
  const lanes = { a: 0x811c9dc5, b: 0x1b873593 };
  absorb(lanes, encoder.encode(tag));
  for (const part of parts) absorb(lanes, encoder.encode(part));
  return lanes;
}

/** Hashes entries of one table: a function of (key, value) bytes into [0, 2^52). */
export type EntryHash = (key: Uint8Array, value: Uint8Array) => number;

/** Names seen are few (families and tables of a campaign): their hashers and marks are made once. */
const hashers = new Map<string, EntryHash>();
const marks = new Map<string, number>();

export function entryHasher(family: string, table: string): EntryHash {
  const id = `${family}\0${table}`;
  let hasher = hashers.get(id);
  if (hasher === undefined) {
    const seed = hashText('entry', family, table);
    hasher = (key, value) => {
      const lanes = { a: seed.a, b: seed.b };
      absorb(lanes, key);
      absorb(lanes, value);
      return finish(lanes);
    };
    hashers.set(id, hasher);
  }
  return hasher;
}

function mark(tag: string, ...parts: string[]): number {
  const id = JSON.stringify([tag, ...parts]);
  let value = marks.get(id);
  if (value === undefined) {
    value = finish(hashText(tag, ...parts));
    marks.set(id, value);
  }
  return value;
}

/** What a table's existence adds, empty or not. */
export function tableMark(family: string, table: string): number {
  return mark('table', family, table);
}

/** What a family's existence adds (compared only in the one global order of a shared log). */
export function familyMark(family: string): number {
  return mark('family', family);
}

/** Hex (the model's keys and values) back to bytes. */
export function fromHex(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

/** family -> table -> hex key -> hex value, as commitHistory.ts's LogicalState. */
export type HexState = ReadonlyMap<string, ReadonlyMap<string, ReadonlyMap<string, string>>>;

/** A state's digest: of each family's tables (without its mark), and of the whole state. */
export interface StateDigest {
  readonly families: ReadonlyMap<string, number>;
  readonly total: number;
}

/** The digest of one table's entries (hex), its mark excluded. */
export function tableEntriesDigest(family: string, table: string, entries: ReadonlyMap<string, string>): number {
  const hash = entryHasher(family, table);
  let digest = 0;
  for (const [key, value] of entries) digest = addDigests(digest, hash(fromHex(key), fromHex(value)));
  return digest;
}

/** The total of per-family digests: each family's mark plus its tables. */
export function totalOf(families: ReadonlyMap<string, number>): number {
  let total = 0;
  for (const [family, digest] of families) total = addDigests(total, addDigests(familyMark(family), digest));
  return total;
}

/** Digest of a whole state in the model's representation (costs a hash per entry). */
export function digestOfState(state: HexState): StateDigest {
  const families = new Map<string, number>();
  for (const [family, tables] of state) {
    let digest = 0;
    for (const [table, entries] of tables) {
      digest = addDigests(digest, addDigests(tableMark(family, table), tableEntriesDigest(family, table, entries)));
    }
    families.set(family, digest);
  }
  return { families, total: totalOf(families) };
}
