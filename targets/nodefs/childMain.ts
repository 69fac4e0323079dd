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
import { defineNodeFsAdapter, type NodeFsAdapter, type NodeFsStore } from './nodeFsAdapter.js';
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

/** Runs the workload; a library error names the transaction it happened in (null: open or close). */
async function runWorkload(): Promise<{ message: string; txn: number | null } | null> {
  const workload = workloadFromJson(original.readFileSync(config.workloadFile, 'utf8'));
  let store: NodeFsStore;
  try {
    const adapter = await loadAdapter(config.adapterModule);
    store = await adapter.open(config.root, { seed: config.seed, load: loadFromPackages });
  } catch (error) {
    return { message: messageOf(error), txn: null };
  }
  let failure: { message: string; txn: number | null } | null = null;
  for (const [index, txn] of workload.entries()) {
    recorder.marker('issued', index);
    try {
      await store.apply(txn);
    } catch (error) {
      failure = { message: messageOf(error), txn: index };
      break;
    }
    recorder.marker('acked', index);
  }
  try {
    await store.close();
  } catch (error) {
    failure ??= { message: messageOf(error), txn: null };
  }
  return failure;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** The directory as it is on disk, in DirImage form. */
function diskImage(root: string): DirImage & { others: Set<string> } {
  const files = new Map<string, Uint8Array>();
  const dirs = new Set<string>();
  const others = new Set<string>();
  const walk = (abs: string, rel: string): void => {
    for (const name of original.readdirSync(abs).sort()) {
      const childAbs = path.join(abs, name);
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const stats = original.lstatSync(childAbs);
      if (stats.isDirectory()) {
        dirs.add(childRel);
        walk(childAbs, childRel);
      } else if (stats.isFile()) files.set(childRel, new Uint8Array(original.readFileSync(childAbs)));
      else others.add(childRel);
    }
  };
  walk(root, '');
  return { files, dirs, others };
}

/** The first path (in sorted order) where the trace's replay and the disk differ, with why; null when equal. */
function firstDifference(traced: DirImage, disk: ReturnType<typeof diskImage>): { path: string; why: string } | null {
  const kind = (image: DirImage, name: string): string => (image.dirs.has(name) ? 'a directory' : image.files.has(name) ? 'a file' : 'missing');
  const names = [...new Set([...traced.files.keys(), ...traced.dirs, ...disk.files.keys(), ...disk.dirs, ...disk.others])].sort();
  for (const name of names) {
    if (disk.others.has(name)) return { path: name, why: 'is neither a file nor a directory on disk' };
    const inTrace = kind(traced, name);
    const onDisk = kind(disk, name);
    if (inTrace !== onDisk) return { path: name, why: `is ${inTrace} in the trace but ${onDisk} on disk` };
    const a = traced.files.get(name);
    const b = disk.files.get(name);
    if (a !== undefined && b !== undefined && Buffer.compare(a, b) !== 0) return { path: name, why: `has ${a.length} bytes in the trace and ${b.length} different ones on disk` };
  }
  return null;
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
  const difference = firstDifference(traced, diskImage(config.root));
  if (difference === null) return null;
  return { status: 'harness-fault', code: 'TRACE_INCOMPLETE', message: `${JSON.stringify(difference.path)} ${difference.why}: I/O went around the recorder`, path: difference.path };
}

const failure = await runWorkload();
const refusal = recorder.refusals[0];
const result: ChildResult = refusal !== undefined ? { status: 'refused', code: 'UNSUPPORTED_IO', message: refusal.message }
  : selfCheck() ?? (failure !== null ? { status: 'library-error', ...failure } : { status: 'ok' });
original.writeFileSync(config.traceFile, traceToJsonLines({ tier: 'node-fs', events: recorder.events }));
original.writeFileSync(config.resultFile, JSON.stringify(result));
// Timers or handles the library left behind must not keep the child (and the parent's timeout) waiting.
process.exit(0);
