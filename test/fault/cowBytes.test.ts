// fault/cowBytes.ts against a plain byte array: random writes and length changes across chunk
// boundaries, forks that must never see each other's writes, zeros after truncate-then-extend,
// reads that are copies, and equality that looks at bytes, not at chunk identity.
import test from 'ava';
import fc from 'fast-check';
import { CHUNK_BYTES, CowBytes, type FileOp } from '../../fault/cowBytes.js';

/** The reference: a file as one array, grown and cut exactly as the crash model says. */
function applyPlain(bytes: Uint8Array, op: FileOp): Uint8Array {
  if (op.kind === 'setLen') {
    const out = new Uint8Array(op.lengthBytes);
    out.set(bytes.subarray(0, Math.min(bytes.length, op.lengthBytes)));
    return out;
  }
  const out = new Uint8Array(Math.max(bytes.length, op.offset + op.data.length));
  out.set(bytes);
  out.set(op.data, op.offset);
  return out;
}

const LIMIT_BYTES = 3 * CHUNK_BYTES + 100;
const opArb: fc.Arbitrary<FileOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({
    kind: fc.constant('write' as const),
    offset: fc.nat({ max: LIMIT_BYTES }),
    // Up to two chunks and a bit, so writes straddle boundaries and cover whole chunks.
    data: fc.uint8Array({ minLength: 1, maxLength: 2 * CHUNK_BYTES + 3, min: 1 }),
  }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('setLen' as const), lengthBytes: fc.nat({ max: LIMIT_BYTES }) }) },
  { weight: 1, arbitrary: fc.constantFrom(0, CHUNK_BYTES, 2 * CHUNK_BYTES).map((lengthBytes): FileOp => ({ kind: 'setLen', lengthBytes })) },
);

test('any sequence of writes and length changes reads back as the plain array does, whole or in pieces', (t) => {
  const readArb = fc.tuple(fc.nat(), fc.nat({ max: 2 * CHUNK_BYTES }));
  fc.assert(fc.property(fc.array(opArb, { maxLength: 25 }), fc.array(readArb, { maxLength: 6 }), (ops, reads) => {
    let plain: Uint8Array = new Uint8Array(0);
    const cow = CowBytes.empty();
    for (const op of ops) {
      plain = applyPlain(plain, op);
      cow.apply(op);
    }
    // Pieces inside one chunk, across chunks, and empty ones at the end.
    const piecesMatch = reads.every(([at, wanted]) => {
      const offset = plain.length === 0 ? 0 : at % (plain.length + 1);
      const lengthBytes = Math.min(wanted, plain.length - offset);
      return Buffer.from(cow.read(offset, lengthBytes)).equals(plain.subarray(offset, offset + lengthBytes));
    });
    return piecesMatch && cow.length === plain.length && Buffer.from(cow.toUint8Array()).equals(plain);
  }), { seed: 20261124, numRuns: 300 });
  t.pass();
});

test('a fork and its source never see each other\'s later writes, however many forks share a chunk', (t) => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 8 }), fc.array(opArb, { maxLength: 8 }), fc.array(opArb, { maxLength: 8 }), (base, left, right) => {
    const source = CowBytes.empty();
    let plain: Uint8Array = new Uint8Array(0);
    for (const op of base) { source.apply(op); plain = applyPlain(plain, op); }
    const frozen = plain;
    const fork = source.fork();
    const second = source.fork();
    let plainLeft = frozen;
    let plainRight = frozen;
    for (const op of left) { source.apply(op); plainLeft = applyPlain(plainLeft, op); }
    for (const op of right) { fork.apply(op); plainRight = applyPlain(plainRight, op); }
    return Buffer.from(source.toUint8Array()).equals(plainLeft)
      && Buffer.from(fork.toUint8Array()).equals(plainRight)
      && Buffer.from(second.toUint8Array()).equals(frozen);
  }), { seed: 7, numRuns: 300 });
  t.pass();
});

test('bytes past a truncation read as zeros after the file grows again, in a fork too', (t) => {
  const bytes = CowBytes.copyOf(new Uint8Array(2 * CHUNK_BYTES).fill(9));
  const fork = bytes.fork();
  fork.setLen(CHUNK_BYTES + 10);
  fork.setLen(2 * CHUNK_BYTES);
  t.deepEqual(fork.read(CHUNK_BYTES, 10), new Uint8Array(10).fill(9), 'the kept bytes stay');
  t.deepEqual(fork.read(CHUNK_BYTES + 10, CHUNK_BYTES - 10), new Uint8Array(CHUNK_BYTES - 10), 'the cut bytes come back as zeros');
  t.deepEqual(bytes.read(CHUNK_BYTES + 10, 5), new Uint8Array(5).fill(9), 'the source kept its bytes');
});

test('a read is a copy: changing it changes neither the bytes nor a fork', (t) => {
  const bytes = CowBytes.copyOf(Uint8Array.of(1, 2, 3));
  const fork = bytes.fork();
  const read = bytes.read(0, 3);
  read[0] = 99;
  t.deepEqual(bytes.read(0, 3), Uint8Array.of(1, 2, 3));
  t.deepEqual(fork.toUint8Array(), Uint8Array.of(1, 2, 3));
});

test('equals compares bytes: equal content in different chunks is equal, one changed byte is not', (t) => {
  const a = CowBytes.copyOf(new Uint8Array(CHUNK_BYTES + 5).fill(4));
  const b = CowBytes.copyOf(new Uint8Array(CHUNK_BYTES + 5).fill(4));
  t.true(a.equals(b));
  const fork = a.fork();
  t.true(fork.equals(a));
  fork.write(CHUNK_BYTES + 4, Uint8Array.of(5));
  t.false(fork.equals(a));
  const zeros = CowBytes.empty();
  zeros.setLen(CHUNK_BYTES);
  t.true(zeros.equals(CowBytes.copyOf(new Uint8Array(CHUNK_BYTES))), 'a missing chunk equals a chunk of zeros');
  t.false(zeros.equals(CowBytes.copyOf(new Uint8Array(CHUNK_BYTES - 1))), 'lengths differ');
});
