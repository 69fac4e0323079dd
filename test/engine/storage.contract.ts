/**
 * The one contract suite for every `Vfs`/`Storage` implementation (abstract-level style): each
 * clause written in engine/storage.ts becomes a test here, and each backend's test file runs
 * this suite against its own `makeVfs`. A backend passes only if it is indistinguishable from
 * the others through the interface.
 */
import type { ExecutionContext, TestFn } from 'ava';
import fc from 'fast-check';
import { EngineError, type EngineErrorCode } from '../../engine/errors.js';
import { MAX_FILE_BYTES } from '../../engine/storageChecks.js';
import type { OpenOptions, Storage, Vfs } from '../../engine/storage.js';

export interface VfsFixture {
  vfs: Vfs;
  cleanup: () => Promise<void>;
}

export type MakeVfs = () => Promise<VfsFixture>;

export function throwsCode(t: ExecutionContext, fn: () => unknown, code: EngineErrorCode): void {
  const error = t.throws(fn, { instanceOf: EngineError });
  t.is(error?.code, code);
}

export async function rejectsCode(t: ExecutionContext, fn: () => Promise<unknown>, code: EngineErrorCode): Promise<void> {
  const error = await t.throwsAsync(fn, { instanceOf: EngineError });
  t.is(error?.code, code);
}

async function setup(t: ExecutionContext, makeVfs: MakeVfs): Promise<Vfs> {
  const { vfs, cleanup } = await makeVfs();
  t.teardown(cleanup);
  return vfs;
}

function bytesOf(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

export function storageContract(test: TestFn, name: string, makeVfs: MakeVfs): void {
  readWriteClauses(test, name, makeVfs);
  lengthAndSyncClauses(test, name, makeVfs);
  vfsClauses(test, name, makeVfs);
  lockAndCloseClauses(test, name, makeVfs);
  misuseClauses(test, name, makeVfs);
  modelProperty(test, name, makeVfs);
}

function readWriteClauses(test: TestFn, name: string, makeVfs: MakeVfs): void {
  test(`${name}: a new file is empty`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    t.is(file.len(), 0);
    t.deepEqual(file.read(0, 0), new Uint8Array(0));
    file.close();
  });

  test(`${name}: write then read round-trips and sets len`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    file.write(0, bytesOf(1, 2, 3, 4, 5));
    t.is(file.len(), 5);
    t.deepEqual(file.read(0, 5), bytesOf(1, 2, 3, 4, 5));
    t.deepEqual(file.read(1, 3), bytesOf(2, 3, 4));
    file.write(2, bytesOf(9)); // An overwrite inside the file leaves len alone.
    t.is(file.len(), 5);
    t.deepEqual(file.read(0, 5), bytesOf(1, 2, 9, 4, 5));
    file.write(5, new Uint8Array(0)); // An empty write is a no-op, even past the end.
    file.write(100, new Uint8Array(0));
    t.is(file.len(), 5);
    file.close();
  });

  test(`${name}: a write past the end leaves a gap of zeros`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    file.write(0, bytesOf(7, 7));
    file.write(10_000, bytesOf(8));
    t.is(file.len(), 10_001);
    const all = file.read(0, 10_001);
    t.deepEqual(all.subarray(0, 2), bytesOf(7, 7));
    t.true(all.subarray(2, 10_000).every((byte) => byte === 0));
    t.is(all[10_000], 8);
    file.close();
  });

  test(`${name}: reading past the end throws IO`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    file.write(0, bytesOf(1, 2, 3));
    throwsCode(t, () => file.read(0, 4), 'IO');
    throwsCode(t, () => file.read(3, 1), 'IO');
    throwsCode(t, () => file.read(100, 0), 'IO');
    t.deepEqual(file.read(3, 0), new Uint8Array(0));
    file.close();
  });

  test(`${name}: read returns a copy the caller may mutate`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    file.write(0, bytesOf(1, 2, 3));
    const first = file.read(0, 3);
    first.fill(0xff);
    t.deepEqual(file.read(0, 3), bytesOf(1, 2, 3));
    file.close();
  });

  test(`${name}: write does not retain the caller's buffer`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    const buffer = bytesOf(1, 2, 3);
    file.write(0, buffer);
    buffer.fill(0xff);
    t.deepEqual(file.read(0, 3), bytesOf(1, 2, 3));
    // A view into a larger buffer writes only its own bytes.
    const backing = bytesOf(10, 11, 12, 13, 14);
    file.write(3, backing.subarray(1, 3));
    t.deepEqual(file.read(0, 5), bytesOf(1, 2, 3, 11, 12));
    file.close();
  });
}

function lengthAndSyncClauses(test: TestFn, name: string, makeVfs: MakeVfs): void {
  test(`${name}: setLen truncates, and a later extension reads zeros`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    file.write(0, bytesOf(1, 2, 3, 4, 5, 6));
    file.setLen(2);
    t.is(file.len(), 2);
    throwsCode(t, () => file.read(0, 3), 'IO');
    file.setLen(6);
    t.deepEqual(file.read(0, 6), bytesOf(1, 2, 0, 0, 0, 0));
    file.setLen(0);
    file.write(4, bytesOf(9)); // Extending by a write also must not resurrect old bytes.
    t.deepEqual(file.read(0, 5), bytesOf(0, 0, 0, 0, 9));
    file.close();
  });

  test(`${name}: setLen extends with zeros`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    file.write(0, bytesOf(5));
    file.setLen(9000);
    t.is(file.len(), 9000);
    const all = file.read(0, 9000);
    t.is(all[0], 5);
    t.true(all.subarray(1).every((byte) => byte === 0));
    file.close();
  });

  test(`${name}: sync resolves, before and after writes`, async (t) => {
    const vfs = await setup(t, makeVfs);
    const file = vfs.open('a', { create: true });
    await file.sync();
    file.write(0, bytesOf(1));
    file.setLen(100);
    await file.sync();
    await Promise.all([file.sync(), file.sync()]); // Concurrent syncs are allowed.
    await vfs.syncDir();
    t.is(file.len(), 100);
    file.close();
  });

  test(`${name}: sizes past MAX_FILE_BYTES throw TOO_LARGE`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    throwsCode(t, () => file.write(MAX_FILE_BYTES - 1, bytesOf(1, 2)), 'TOO_LARGE');
    throwsCode(t, () => file.setLen(MAX_FILE_BYTES + 1), 'TOO_LARGE');
    t.is(file.len(), 0);
    file.close();
  });
}

function vfsClauses(test: TestFn, name: string, makeVfs: MakeVfs): void {
  test(`${name}: open without create of a missing file throws NOT_FOUND`, async (t) => {
    const vfs = await setup(t, makeVfs);
    throwsCode(t, () => vfs.open('missing', { create: false }), 'NOT_FOUND');
    t.false(vfs.exists('missing'));
  });

  test(`${name}: data persists after close and reopen; create does not truncate`, async (t) => {
    const vfs = await setup(t, makeVfs);
    const first = vfs.open('a', { create: true });
    first.write(0, bytesOf(1, 2, 3));
    await first.sync();
    first.close();
    const second = vfs.open('a', { create: false });
    t.is(second.len(), 3);
    t.deepEqual(second.read(0, 3), bytesOf(1, 2, 3));
    second.close();
    const third = vfs.open('a', { create: true });
    t.deepEqual(third.read(0, 3), bytesOf(1, 2, 3));
    third.close();
  });

  test(`${name}: files are independent`, async (t) => {
    const vfs = await setup(t, makeVfs);
    const a = vfs.open('a', { create: true });
    const b = vfs.open('b', { create: true });
    a.write(0, bytesOf(1));
    b.write(0, bytesOf(2, 2));
    t.deepEqual(a.read(0, 1), bytesOf(1));
    t.deepEqual(b.read(0, 2), bytesOf(2, 2));
    a.close();
    b.close();
  });

  test(`${name}: remove and exists`, async (t) => {
    const vfs = await setup(t, makeVfs);
    t.false(vfs.exists('a'));
    vfs.open('a', { create: true }).close();
    t.true(vfs.exists('a'));
    vfs.remove('a');
    t.false(vfs.exists('a'));
    await vfs.syncDir();
    throwsCode(t, () => vfs.open('a', { create: false }), 'NOT_FOUND');
    throwsCode(t, () => vfs.remove('a'), 'NOT_FOUND');
  });

  test(`${name}: a removed file lives on for its open handle, and its name is free`, async (t) => {
    const vfs = await setup(t, makeVfs);
    const old = vfs.open('a', { create: true });
    old.write(0, bytesOf(1, 2));
    vfs.remove('a');
    t.deepEqual(old.read(0, 2), bytesOf(1, 2));
    const fresh = vfs.open('a', { create: true }); // A new file, so the old lock does not apply.
    t.is(fresh.len(), 0);
    old.write(2, bytesOf(3));
    t.is(fresh.len(), 0);
    old.close();
    fresh.close();
  });
}

function lockAndCloseClauses(test: TestFn, name: string, makeVfs: MakeVfs): void {
  test(`${name}: a second open throws LOCKED until the first handle closes`, async (t) => {
    const vfs = await setup(t, makeVfs);
    const first = vfs.open('a', { create: true });
    first.write(0, bytesOf(4));
    throwsCode(t, () => vfs.open('a', { create: false }), 'LOCKED');
    throwsCode(t, () => vfs.open('a', { create: true }), 'LOCKED');
    t.deepEqual(first.read(0, 1), bytesOf(4)); // The failed opens did not disturb the holder.
    first.close();
    const second = vfs.open('a', { create: false });
    t.deepEqual(second.read(0, 1), bytesOf(4));
    second.close();
  });

  test(`${name}: read-only opens share a file and read what was written; a writer and they exclude each other (LOCKED)`, async (t) => {
    const vfs = await setup(t, makeVfs);
    const writer = vfs.open('a', { create: true });
    writer.write(0, bytesOf(3, 1, 4));
    await writer.sync();
    throwsCode(t, () => vfs.open('a', { create: false, readOnly: true }), 'LOCKED');
    writer.close();
    const first = vfs.open('a', { create: false, readOnly: true });
    const second = vfs.open('a', { create: false, readOnly: true });
    t.deepEqual(second.read(0, 3), bytesOf(3, 1, 4));
    throwsCode(t, () => vfs.open('a', { create: false }), 'LOCKED');
    first.close();
    throwsCode(t, () => vfs.open('a', { create: true }), 'LOCKED');
    second.close();
    vfs.open('a', { create: false }).close();
    throwsCode(t, () => vfs.open('missing', { create: false, readOnly: true }), 'NOT_FOUND');
    t.throws(() => vfs.open('missing', { create: true, readOnly: true }), { instanceOf: TypeError });
    t.false(vfs.exists('missing'));
  });

  test(`${name}: every operation on a closed storage throws CLOSED`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    file.write(0, bytesOf(1));
    file.close();
    throwsCode(t, () => file.len(), 'CLOSED');
    throwsCode(t, () => file.read(0, 1), 'CLOSED');
    throwsCode(t, () => file.write(0, bytesOf(1)), 'CLOSED');
    throwsCode(t, () => file.setLen(0), 'CLOSED');
    throwsCode(t, () => file.close(), 'CLOSED');
    await rejectsCode(t, () => file.sync(), 'CLOSED');
  });

  test(`${name}: close while a sync is in flight is a TypeError`, async (t) => {
    const file = (await setup(t, makeVfs)).open('a', { create: true });
    file.write(0, bytesOf(1));
    const pending = file.sync();
    t.throws(() => file.close(), { instanceOf: TypeError });
    await pending;
    file.close();
    t.pass();
  });
}

function misuseClauses(test: TestFn, name: string, makeVfs: MakeVfs): void {
  test(`${name}: bad arguments throw TypeError`, async (t) => {
    const vfs = await setup(t, makeVfs);
    for (const bad of ['', '.', '..', 'a/b', '../a', 'a\0b']) {
      t.throws(() => vfs.open(bad, { create: true }), { instanceOf: TypeError }, bad);
      t.throws(() => vfs.exists(bad), { instanceOf: TypeError }, bad);
      t.throws(() => vfs.remove(bad), { instanceOf: TypeError }, bad);
    }
    for (const badOptions of [undefined, null, {}, { create: 'yes' }]) {
      t.throws(() => vfs.open('a', badOptions as unknown as OpenOptions), { instanceOf: TypeError });
    }
    t.false(vfs.exists('a'));
    const file = vfs.open('a', { create: true });
    file.write(0, bytesOf(1, 2, 3));
    const storage: Storage = file;
    for (const bad of [-1, 1.5, Number.NaN, Infinity, 2 ** 53]) {
      t.throws(() => storage.read(bad, 1), { instanceOf: TypeError }, String(bad));
      t.throws(() => storage.read(0, bad), { instanceOf: TypeError }, String(bad));
      t.throws(() => storage.write(bad, bytesOf(1)), { instanceOf: TypeError }, String(bad));
      t.throws(() => storage.setLen(bad), { instanceOf: TypeError }, String(bad));
    }
    t.throws(() => storage.write(0, [1, 2] as unknown as Uint8Array), { instanceOf: TypeError });
    t.deepEqual(file.read(0, 3), bytesOf(1, 2, 3));
    file.close();
  });
}

type Op =
  | { kind: 'write'; offset: number; data: Uint8Array }
  | { kind: 'setLen'; length: number }
  | { kind: 'reopen' };

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('write' as const), offset: fc.nat({ max: 9000 }), data: fc.uint8Array({ maxLength: 600 }) }), weight: 6 },
  { arbitrary: fc.record({ kind: fc.constant('setLen' as const), length: fc.nat({ max: 9000 }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('reopen' as const) }), weight: 1 },
);

/** Applies `op` to the reference model: a plain array whose length is the file length. */
function applyToModel(model: number[], op: Op): void {
  if (op.kind === 'write') {
    if (op.data.length === 0) return; // Writing nothing extends nothing (as pwrite).
    while (model.length < op.offset) model.push(0);
    op.data.forEach((byte, index) => { model[op.offset + index] = byte; });
  } else if (op.kind === 'setLen') {
    if (op.length < model.length) model.length = op.length;
    while (model.length < op.length) model.push(0);
  }
}

function modelProperty(test: TestFn, name: string, makeVfs: MakeVfs): void {
  test(`${name}: random writes, truncations and reopens match a byte-array model`, async (t) => {
    const vfs = await setup(t, makeVfs);
    let run = 0;
    fc.assert(fc.property(fc.array(opArbitrary, { maxLength: 30 }), (ops) => {
      const fileName = `model-${run++}`;
      let file = vfs.open(fileName, { create: true });
      const model: number[] = [];
      for (const op of ops) {
        if (op.kind === 'write') file.write(op.offset, op.data);
        if (op.kind === 'setLen') file.setLen(op.length);
        if (op.kind === 'reopen') {
          file.close();
          file = vfs.open(fileName, { create: false });
        }
        applyToModel(model, op);
        if (file.len() !== model.length) return false;
      }
      const same = Buffer.from(file.read(0, file.len())).equals(Buffer.from(model));
      file.close();
      vfs.remove(fileName);
      return same;
    }), { numRuns: 100 });
    t.pass();
  });
}
