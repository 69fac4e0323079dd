// Capture threads reused across cases (captureWorkerMain.ts): for every built-in target a reused thread gives the trace a fresh one gives, byte for byte; ES module state is kept, CommonJS packages load afresh, a case that leaves work pending retires its thread.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import fc from 'fast-check';
import { replayAll, traceToJsonLines } from '../../../fault/trace.js';
import { installAdapterPackages } from '../../../cli/nodeFsRun.js';
import { nodeFsCaseArb } from '../../../properties/runNodeFsCampaign.js';
import { CaptureServer, captureTrace, type CaptureResult } from '../../../targets/nodefs/captureTrace.js';
import { builtInNodeFsTargets } from '../../../targets/registry.js';
import { insertWorkload } from './fixtures/baseAdapter.js';

/** Drawn cases per target: a reused thread then runs this many in turn. */
const CASES = 8;

for (const target of builtInNodeFsTargets()) {
  test(`${target.adapter.name}: a reused capture thread gives every case the trace a fresh thread gives, byte for byte`, async (t) => {
    const packages = await installAdapterPackages(target.adapter);
    const drawn = fc.sample(nodeFsCaseArb(target.adapter), { seed: 15, numRuns: CASES });
    const reusing = new CaptureServer();
    const fresh = new CaptureServer();
    try {
      for (const [index, { txns, seed }] of drawn.entries()) {
        const request = { adapterModule: target.module, packages, workload: txns, seed, timeoutMs: 60_000 };
        const reused = await captureTrace({ ...request, server: reusing, reuseWorker: true });
        const alone = await captureTrace({ ...request, server: fresh });
        t.deepEqual(reused.outcome, alone.outcome, `case ${index}`);
        t.is(traceToJsonLines(reused.trace), traceToJsonLines(alone.trace), `case ${index}: the traces differ`);
      }
    } finally {
      reusing.close();
      fresh.close();
    }
  });
}

/** A CommonJS package whose module state counts its loads' calls. */
function counterPackage(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-counter-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'fake-counter', version: '1.0.0', main: 'index.js' }));
  fs.writeFileSync(path.join(dir, 'index.js'), 'let calls = 0;\nmodule.exports = { next: () => ++calls };\n');
  return dir;
}

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));

async function countsOf(name: string, reuseWorker: boolean, packageDir: string, captures: number): Promise<unknown[]> {
  const server = new CaptureServer();
  const counts: unknown[] = [];
  try {
    for (let capture = 0; capture < captures; capture++) {
      const result: CaptureResult = await captureTrace({ adapterModule: fixture(name), packages: { 'fake-counter': packageDir }, workload: insertWorkload(1), seed: 3, timeoutMs: 30_000, server, reuseWorker });
      expectOk(result);
      counts.push(JSON.parse(Buffer.from(replayAll(result.trace.events).files.get('counts.json') ?? []).toString()));
    }
  } finally {
    server.close();
  }
  return counts;
}

function expectOk(result: CaptureResult): void {
  if (result.outcome.kind !== 'ok') throw new Error(`the capture failed: ${result.outcome.message}`);
}

test('a reused thread is really reused: the ES module adapter counts on, the CommonJS package is loaded afresh per case', async (t) => {
  const dir = counterPackage(t);
  t.deepEqual(await countsOf('counter', true, dir, 3), [{ esm: 1, cjs: 1 }, { esm: 2, cjs: 1 }, { esm: 3, cjs: 1 }]);
  t.deepEqual(await countsOf('counter', false, dir, 2), [{ esm: 1, cjs: 1 }, { esm: 1, cjs: 1 }]);
});

test('a case that leaves a timer pending retires its thread: the next case starts in a fresh one', async (t) => {
  const dir = counterPackage(t);
  t.deepEqual(await countsOf('lingering', true, dir, 3), [{ esm: 1, cjs: 1 }, { esm: 1, cjs: 1 }, { esm: 1, cjs: 1 }]);
});
