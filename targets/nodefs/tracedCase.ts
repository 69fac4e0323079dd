/**
 * One traced case, the same in a traced child process (childMain.ts) and in a capture worker
 * (captureWorkerMain.ts, which may run several cases in turn): loads the adapter, opens it on
 * the traced root, applies the workload with a marker before and after each transaction,
 * closes, checks that the trace explains the directory byte for byte, and writes the trace and
 * a result JSON for the parent (captureTrace.ts). The recorder is installed and randomness and
 * time are pinned before this runs.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { replayAll, traceToJsonLines, type DirImage } from '../../fault/trace.js';
import { diskImage, firstDifference } from './completeness.js';
import type { Recorder } from './fsRecorder.js';
import { defineNodeFsAdapter, type NodeFsAdapter } from './nodeFsAdapter.js';
import { loadPackage } from './packageLoader.js';
import { workloadFromJson, type ChildConfig, type ChildResult } from './traceProtocol.js';
import { messageOf, runWorkload } from './workloadRunner.js';

async function loadAdapter(specifier: string): Promise<NodeFsAdapter> {
  const url = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
  const loaded = await import(url) as { default?: unknown };
  return defineNodeFsAdapter(loaded.default as NodeFsAdapter);
}

function selfCheck(config: ChildConfig, recorder: Recorder): ChildResult | null {
  const fault = recorder.faults[0];
  if (fault !== undefined) return { status: 'harness-fault', code: 'TRACE_INCOMPLETE', message: `the recorder failed: ${messageOf(fault)}`, path: '' };
  let traced: DirImage;
  try {
    traced = replayAll(recorder.events);
  } catch (error) {
    return { status: 'harness-fault', code: 'TRACE_INCOMPLETE', message: `the trace does not replay: ${messageOf(error)}`, path: '' };
  }
  const difference = firstDifference(traced, diskImage(config.root, recorder.original));
  if (difference === null) return null;
  return { status: 'harness-fault', code: 'TRACE_INCOMPLETE', message: `${JSON.stringify(difference.path)} ${difference.why}: I/O went around the recorder`, path: difference.path };
}

/**
 * Runs `config`'s workload through its adapter under `recorder` and writes the trace and the
 * result to the files the config names. `load` is `context.load` (a capture worker that runs
 * several cases gives one that loads CommonJS packages afresh per case).
 */
export async function runTracedCase(config: ChildConfig, recorder: Recorder, load: (specifier: string) => Promise<unknown> = (specifier) => loadPackage(config.packages, specifier, recorder.original)): Promise<void> {
  const original = recorder.original;
  const failure = await runWorkload({
    open: async () => (await loadAdapter(config.adapterModule)).open(config.root, { seed: config.seed, load }),
    workload: workloadFromJson(original.readFileSync(config.workloadFile, 'utf8')),
    marker: (marker, txn) => recorder.marker(marker, txn),
  });
  const refusal = recorder.refusals[0];
  const result: ChildResult = refusal !== undefined ? { status: 'refused', code: 'UNSUPPORTED_IO', message: refusal.message }
    : selfCheck(config, recorder) ?? (failure !== null ? { status: 'library-error', ...failure } : { status: 'ok' });
  original.writeFileSync(config.traceFile, traceToJsonLines({ tier: 'node-fs', events: recorder.events }));
  original.writeFileSync(config.resultFile, JSON.stringify(result));
}
