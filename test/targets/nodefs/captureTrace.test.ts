// Trace capture end to end, one traced child per case: a JSON store's events and markers, same seed → same trace, every family in a child, refusals, writes around the recorder, pinned randomness, hangs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { replayAll, traceToJsonLines, type TraceEvent } from '../../../fault/trace.js';
import { captureTrace, type CaptureResult } from '../../../targets/nodefs/captureTrace.js';
import { NodeFsError } from '../../../targets/nodefs/nodeFsError.js';
import { ensureTargetPackage } from '../../../targets/targetPackages.js';
import type { TargetTxn } from '../../../targets/target.js';
import { insertWorkload } from './fixtures/baseAdapter.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));

function capture(name: string, workload: readonly TargetTxn[] = insertWorkload(2), seed = 7, timeoutMs = 30_000): Promise<CaptureResult> {
  return captureTrace({ adapterModule: fixture(name), packages: {}, workload, seed, timeoutMs });
}

const kinds = (events: readonly TraceEvent[]): string[] => events.map((event) => (event.kind === 'marker' ? `${event.marker} ${event.txn}` : event.kind));

test('a JSON store: create, write, fsync, rename, fsync of the directory per txn, bracketed by markers; the replay is the store', async (t) => {
  const { trace, outcome } = await capture('jsonStore', insertWorkload(3));
  t.deepEqual(outcome, { kind: 'ok' });
  t.is(trace.tier, 'node-fs');
  const perTxn = ['create', 'write', 'fsync', 'rename', 'fsync'];
  t.deepEqual(kinds(trace.events), [0, 1, 2].flatMap((txn) => [`issued ${txn}`, ...perTxn, `acked ${txn}`]));
  const syncs = trace.events.filter((event) => event.kind === 'fsync');
  const creates = trace.events.filter((event) => event.kind === 'create');
  t.deepEqual(syncs.map((event) => event.ino), creates.flatMap((event) => [event.ino, 0]));
  t.true(creates.every((event) => event.path === 'store.json.tmp'));
  const image = replayAll(trace.events);
  t.deepEqual([...image.files.keys()], ['store.json']);
  t.regex(Buffer.from(image.files.get('store.json') ?? []).toString(), /76616c75652d32/);
});

test('the same seed twice gives the same trace, byte for byte', async (t) => {
  const [first, second] = await Promise.all([capture('randomness', insertWorkload(2), 11), capture('randomness', insertWorkload(2), 11)]);
  t.is(traceToJsonLines(first.trace), traceToJsonLines(second.trace));
  const [a, b] = await Promise.all([capture('jsonStore', insertWorkload(4), 3), capture('jsonStore', insertWorkload(4), 3)]);
  t.is(traceToJsonLines(a.trace), traceToJsonLines(b.trace));
  // Many writes in flight at once: the one-thread pool completes them in the order issued.
  const [c, d] = await Promise.all([capture('parallel', insertWorkload(3), 3), capture('parallel', insertWorkload(3), 3)]);
  t.is(traceToJsonLines(c.trace), traceToJsonLines(d.trace));
});

test('Math.random, crypto, the clock and process.pid are pinned to the seed in the child', async (t) => {
  const drawn = async (seed: number): Promise<Record<string, unknown>> => {
    const { trace } = await capture('randomness', [], seed);
    return JSON.parse(Buffer.from(replayAll(trace.events).files.get('drawn.json') ?? []).toString()) as Record<string, unknown>;
  };
  const [one, again, other] = await Promise.all([drawn(1), drawn(1), drawn(2)]);
  t.deepEqual(one, again);
  t.notDeepEqual(one['random'], other['random']);
  t.notDeepEqual(one['randomBytes'], other['randomBytes']);
  t.notDeepEqual(one['uuid'], other['uuid']);
  t.notDeepEqual(one['nodeValues'], other['nodeValues']);
  t.notDeepEqual(one['values'], other['values']);
  t.regex(String(one['uuid']), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.is(one['now'], 1_577_836_800_000);
  t.is(one['date'], 1_577_836_800_001);
  t.is(one['pid'], 4242);
  t.notDeepEqual(one['tempDir'], other['tempDir']);
});

test('every fs API family, run in a traced child, gives a trace that explains the directory', async (t) => {
  const { trace, outcome } = await capture('families', []);
  t.deepEqual(outcome, { kind: 'ok' });
  const image = replayAll(trace.events);
  t.is(Buffer.from(image.files.get('writeStreamInCallback/inner') ?? []).toString(), 'from the callback');
  t.is(Buffer.from(image.files.get('writeStream/s') ?? []).toString(), 'first,second,third');
  t.true(image.dirs.has('mkdirRecursive/a/b/d/e'));
});

test('an adapter that spawns a child process is refused (UNSUPPORTED_IO), even when it swallows the error', async (t) => {
  const error = await t.throwsAsync(capture('spawner'), { instanceOf: NodeFsError });
  t.is(error?.code, 'UNSUPPORTED_IO');
  t.regex(error?.message ?? '', /child_process\.spawnSync/);
});

test('an adapter that starts a worker thread is refused (UNSUPPORTED_IO)', async (t) => {
  const error = await t.throwsAsync(capture('worker'), { instanceOf: NodeFsError });
  t.is(error?.code, 'UNSUPPORTED_IO');
  t.regex(error?.message ?? '', /worker_threads\.Worker/);
});

test('a write around the recorder is TRACE_INCOMPLETE, naming the first path that differs', async (t) => {
  const error = await t.throwsAsync(capture('sneaky'), { instanceOf: NodeFsError });
  t.is(error?.code, 'TRACE_INCOMPLETE');
  t.is(error?.path, 'hidden.json');
});

test('a child that outlives its timeout is killed: HANG', async (t) => {
  const error = await t.throwsAsync(capture('hang', insertWorkload(1), 7, 1500), { instanceOf: NodeFsError });
  t.is(error?.code, 'HANG');
});

test('a missing adapter module is a library error at open, and a dead child is CHILD_FAILED', async (t) => {
  const { outcome } = await captureTrace({ adapterModule: fixture('doesNotExist'), packages: {}, workload: [], seed: 1, timeoutMs: 30_000 });
  t.is(outcome.kind, 'library-error');
  t.is(outcome.kind === 'library-error' ? outcome.txn : 'none', null);
  const error = await t.throwsAsync(captureTrace({ adapterModule: fixture('crash'), packages: {}, workload: [], seed: 1, timeoutMs: 30_000 }), { instanceOf: NodeFsError });
  t.is(error?.code, 'CHILD_FAILED');
});

test('speed: one capture of a 20-transaction workload, child start included', async (t) => {
  const timings: number[] = [];
  for (let run = 0; run < 3; run++) {
    const { durationMs, trace } = await capture('jsonStore', insertWorkload(20));
    t.is(trace.events.filter((event) => event.kind === 'marker').length, 40);
    timings.push(durationMs);
  }
  t.log(`20-txn capture: ${timings.map((ms) => `${ms.toFixed(0)} ms`).join(', ')}`);
});

test('context.load imports a package from the folder the parent names (CommonJS main without extension; ESM exports)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-packages-'));
  const cjs = path.join(dir, 'node_modules/fake-cjs');
  const esm = path.join(dir, 'node_modules/fake-esm');
  fs.mkdirSync(path.join(cjs, 'lib'), { recursive: true });
  fs.mkdirSync(esm, { recursive: true });
  fs.writeFileSync(path.join(cjs, 'package.json'), JSON.stringify({ name: 'fake-cjs', version: '1.0.0', main: 'lib/main' }));
  fs.writeFileSync(path.join(cjs, 'lib/main.js'), 'module.exports = { answer: 42 };\n');
  fs.writeFileSync(path.join(esm, 'package.json'), JSON.stringify({ name: 'fake-esm', version: '1.0.0', type: 'module', exports: { '.': { import: './esm.js', require: './missing.cjs' } } }));
  fs.writeFileSync(path.join(esm, 'esm.js'), "export const answer = 'esm';\n");
  try {
    const { trace, outcome } = await captureTrace({ adapterModule: fixture('loader'), packages: { 'fake-cjs': cjs, 'fake-esm': esm }, workload: [], seed: 1, timeoutMs: 30_000 });
    t.deepEqual(outcome, { kind: 'ok' });
    t.deepEqual(JSON.parse(Buffer.from(replayAll(trace.events).files.get('loaded.json') ?? []).toString()), { cjs: 42, esm: 'esm' });
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('a transaction the library fails is the outcome (not a harness error), naming it; its issued marker has no acked one', async (t) => {
  const { trace, outcome } = await capture('failing', insertWorkload(3));
  t.deepEqual(outcome, { kind: 'library-error', message: 'Error: disk full (simulated)', txn: 1 });
  t.deepEqual(kinds(trace.events).filter((kind) => /^(issued|acked)/.test(kind)), ['issued 0', 'acked 0', 'issued 1']);
});

test('a real library (atomically over stubborn-fs, installed on demand) is traced: temp file, write, fsync, rename; twice the same', async (t) => {
  const dir = await ensureTargetPackage('atomically', '2.1.1');
  const run = (): Promise<CaptureResult> => captureTrace({ adapterModule: fixture('atomically'), packages: { atomically: dir }, workload: insertWorkload(2), seed: 5, timeoutMs: 60_000 });
  const [first, second] = await Promise.all([run(), run()]);
  t.deepEqual(first.outcome, { kind: 'ok' });
  const perTxn = ['create', 'write', 'fsync', 'rename'];
  t.deepEqual(kinds(first.trace.events), [0, 1].flatMap((txn) => [`issued ${txn}`, ...perTxn, `acked ${txn}`]));
  t.is(traceToJsonLines(first.trace), traceToJsonLines(second.trace));
});

test('appends in flight together (by path, and through one O_APPEND fd) land where the trace says', async (t) => {
  const { trace, outcome } = await capture('appender', insertWorkload(3));
  t.deepEqual(outcome, { kind: 'ok' });
  const log = Buffer.from(replayAll(trace.events).files.get('log') ?? []).toString();
  t.is(log.split('\n').filter((line) => line !== '').length, 18);
});
