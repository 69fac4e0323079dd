// Capture by strace end to end: a real child's system calls become the trace (markers in place, volatile files left out, a /proc/self/fd reopen followed), and the completeness check refuses a trace that misses a write.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { replayAll, type TraceEvent } from '../../../fault/trace.js';
import { captureSyscalls, checkComplete } from '../../../targets/native/captureSyscalls.js';
import { NativeError } from '../../../targets/native/nativeError.js';
import type { TargetTxn } from '../../../targets/target.js';

const STORE = fileURLToPath(new URL('./fixtures/fsStore.js', import.meta.url));
const encoder = new TextEncoder();
const workload: TargetTxn[] = [0, 1, 2].map((i) => ({ family: 'f0', durability: i === 1 ? 'none' : 'immediate', ops: [{ op: 'insert', table: 't0', key: encoder.encode(`k${i}`), value: encoder.encode(`v${i}`) }] }));
const kinds = (events: readonly TraceEvent[]): string[] => events.map((event) => (event.kind === 'marker' ? `${event.marker} ${event.txn}` : event.kind));

test('a traced child: create, a write per commit, an fsync per immediate one, between its markers; LOCK is volatile and absent', async (t) => {
  const { trace, outcome } = await captureSyscalls({ adapterModule: STORE, packages: {}, volatileFiles: ['LOCK'], workload, seed: 1, timeoutMs: 30_000 });
  t.deepEqual(outcome, { kind: 'ok' });
  t.is(trace.tier, 'syscalls');
  t.deepEqual(kinds(trace.events), ['create', 'issued 0', 'write', 'fsync', 'acked 0', 'issued 1', 'write', 'acked 1', 'issued 2', 'write', 'fsync', 'acked 2']);
  const image = replayAll(trace.events);
  t.deepEqual([...image.files.keys()], ['log']);
  const lines = Buffer.from(image.files.get('log')!).toString('utf8').trim().split('\n');
  t.is(lines.length, 6, 'a table marker and a row per commit');
  const writes = trace.events.filter((event) => event.kind === 'write');
  t.deepEqual(writes.map((event) => event.offsetBytes), [0, writes[0]!.data.length, writes[0]!.data.length + writes[1]!.data.length]);
});

test('the completeness check refuses a trace that does not explain the folder byte for byte', (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-complete-'));
  try {
    fs.writeFileSync(path.join(root, 'a'), 'abc');
    fs.writeFileSync(path.join(root, 'LOCK'), '1');
    const events: TraceEvent[] = [{ kind: 'create', path: 'a', ino: 1 }, { kind: 'write', ino: 1, offsetBytes: 0, data: encoder.encode('ab') }];
    const error = t.throws(() => checkComplete(events, root, ['LOCK']), { instanceOf: NativeError });
    t.is(error?.code, 'TRACE_INCOMPLETE');
    t.is(error?.path, 'a');
    t.notThrows(() => checkComplete([...events, { kind: 'write', ino: 1, offsetBytes: 2, data: encoder.encode('c') }], root, ['LOCK']));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
