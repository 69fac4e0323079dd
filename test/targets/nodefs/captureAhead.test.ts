// The capture look-ahead: each request gets the capture of exactly its own workload, the next drawn case is captured once the current capture ends (never two at once), a request drawn out of order (shrinking) is captured afresh, and nothing begins after settle.
import test from 'ava';
import type { Trace } from '../../../fault/trace.js';
import { CaptureAhead, type CaptureRequest } from '../../../targets/nodefs/captureAhead.js';
import type { CaptureResult } from '../../../targets/nodefs/captureTrace.js';

const request = (seed: number): CaptureRequest => ({ txns: [{ family: 'f0', ops: [], durability: 'immediate' }], seed });

/** A fake capture that records what it ran and when, and answers the request's seed in its trace. */
function fakeRunner(): { run: (r: CaptureRequest) => Promise<CaptureResult>; ran: number[]; maxRunning: () => number; finishAll: () => void } {
  const ran: number[] = [];
  let running = 0;
  let max = 0;
  const pending: Array<() => void> = [];
  const run = (r: CaptureRequest): Promise<CaptureResult> => {
    ran.push(r.seed);
    running++;
    max = Math.max(max, running);
    return new Promise((resolve) => pending.push(() => {
      running--;
      resolve({ trace: { tier: 'node-fs', events: [{ kind: 'marker', marker: 'issued', txn: r.seed }] } as unknown as Trace, outcome: { kind: 'ok' }, durationMs: 1 });
    }));
  };
  const finishAll = (): void => { for (const done of pending.splice(0)) done(); };
  return { run, ran, maxRunning: () => max, finishAll };
}

const seedOf = (result: CaptureResult): number => (result.trace.events[0] as unknown as { txn: number }).txn;

async function drain(runner: ReturnType<typeof fakeRunner>, promise: Promise<CaptureResult>): Promise<CaptureResult> {
  // Settle the current capture, then whatever it began, until the answer arrives.
  for (let round = 0; round < 10; round++) {
    runner.finishAll();
    await new Promise((resolve) => setImmediate(resolve));
  }
  return promise;
}

test('drawn in order: every case gets its own capture, the next one begins after the current ends, one at a time', async (t) => {
  const runner = fakeRunner();
  const ahead = new CaptureAhead([request(1), request(2), request(3)], runner.run);
  const first = ahead.capture(request(1));
  t.deepEqual(runner.ran, [1], 'the look-ahead waits for the current capture');
  t.is(seedOf(await drain(runner, first)), 1);
  t.deepEqual(runner.ran, [1, 2], 'case 2 was captured ahead');
  t.is(seedOf(await drain(runner, ahead.capture(request(2)))), 2);
  t.deepEqual(runner.ran, [1, 2, 3], 'case 2 was not captured twice');
  t.is(seedOf(await drain(runner, ahead.capture(request(3)))), 3);
  t.is(runner.maxRunning(), 1);
  await ahead.settle();
});

test('a request out of the drawn order (a shrunk case) is captured afresh, and the one begun ahead is not used for it', async (t) => {
  const runner = fakeRunner();
  const ahead = new CaptureAhead([request(1), request(2)], runner.run);
  await drain(runner, ahead.capture(request(1)));
  const shrunk = ahead.capture(request(9));
  t.is(seedOf(await drain(runner, shrunk)), 9);
  t.deepEqual(runner.ran, [1, 2, 9]);
  await ahead.settle();
});

test('after settle nothing new begins: a capture chained behind the current one is dropped', async (t) => {
  const runner = fakeRunner();
  const ahead = new CaptureAhead([request(1), request(2)], runner.run);
  const first = ahead.capture(request(1));
  const settled = ahead.settle();
  t.is(seedOf(await drain(runner, first)), 1);
  await settled;
  t.deepEqual(runner.ran, [1], 'case 2 never began');
});
