/**
 * The traced child's entry (`node --import preload.js childMain.js`, config in
 * CRASHLAB_TRACE_CONFIG): loads the adapter, opens it on the traced root, applies the workload
 * with a marker before and after each transaction, closes, checks that the trace explains the
 * directory byte for byte, and writes the trace and a result JSON for the parent
 * (captureTrace.ts). The preload has already patched fs and pinned randomness and time.
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { replayAll, traceToJsonLines, type DirImage } from '../../fault/trace.js';
import { diskImage, firstDifference } from './completeness.js';
import { defineNodeFsAdapter, type NodeFsAdapter } from './nodeFsAdapter.js';
import { messageOf, runWorkload } from './workloadRunner.js';
import { loadPackage } from './packageLoader.js';
import { config, recorder } from './preload.js';
import { workloadFromJson, type ChildResult } from './traceProtocol.js';

const original = recorder.original;

async function loadAdapter(specifier: string): Promise<NodeFsAdapter> {
  const url = path.isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier;
  const loaded = await import(url) as { default?: unknown };
  return defineNodeFsAdapter(loaded.default as NodeFsAdapter);
}

/** `context.load(name)`: what `import(name)` gives (a CommonJS package's exports are its `default`). */
function loadFromPackages(specifier: string): Promise<unknown> {
  return loadPackage(config.packages, specifier, original);
}

/** Runs the workload through the adapter with the recorder's markers. */
function run(): ReturnType<typeof runWorkload> {
  return runWorkload({
    open: async () => (await loadAdapter(config.adapterModule)).open(config.root, { seed: config.seed, load: loadFromPackages }),
    workload: workloadFromJson(original.readFileSync(config.workloadFile, 'utf8')),
    marker: (marker, txn) => recorder.marker(marker, txn),
  });
}

function selfCheck(): ChildResult | null {
  const fault = recorder.faults[0];
  if (fault !== undefined) return { status: 'harness-fault', code: 'TRACE_INCOMPLETE', message: `the recorder failed: ${messageOf(fault)}`, path: '' };
  let traced: DirImage;
  try {
    traced = replayAll(recorder.events);
  } catch (error) {
    return { status: 'harness-fault', code: 'TRACE_INCOMPLETE', message: `the trace does not replay: ${messageOf(error)}`, path: '' };
  }
  const difference = firstDifference(traced, diskImage(config.root, original));
  if (difference === null) return null;
  return { status: 'harness-fault', code: 'TRACE_INCOMPLETE', message: `${JSON.stringify(difference.path)} ${difference.why}: I/O went around the recorder`, path: difference.path };
}

const failure = await run();
const refusal = recorder.refusals[0];
const result: ChildResult = refusal !== undefined ? { status: 'refused', code: 'UNSUPPORTED_IO', message: refusal.message }
  : selfCheck() ?? (failure !== null ? { status: 'library-error', ...failure } : { status: 'ok' });
original.writeFileSync(config.traceFile, traceToJsonLines({ tier: 'node-fs', events: recorder.events }));
original.writeFileSync(config.resultFile, JSON.stringify(result));
// Timers or handles the library left behind must not keep the child (and the parent's timeout) waiting.
process.exit(0);
