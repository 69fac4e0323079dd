/**
 * Captures inside the capture server (captureServer.ts): a worker thread, so a module graph and
 * an `fs` module of its own. The server starts it before its case is known (a spare): it loads
 * crashlab's own recorder modules, which patch nothing until called, then waits for its first
 * request. A fresh request (`reuse: false`) runs exactly as a traced child process does: the
 * preload (it patches this thread's fs and pins its randomness, clock, pid and thread id), the
 * child's main (it loads the library), then the thread ends.
 *
 * A reusing request (`reuse: true`, the built-in targets) keeps the thread for the cases after
 * it: per case the recorder is installed on that case's fresh, empty root and uninstalled after
 * it, randomness and time are pinned to that case's seed again, and every CommonJS module is
 * loaded afresh (the require cache is emptied, so write-file-atomic's counter of temporary
 * names starts at 0 again, as in a fresh thread). ES modules cannot be unloaded: an ESM library
 * (lowdb, steno) keeps its module state across cases, which is sound only where it keeps none
 * that reaches the disk; the test that a reused worker gives byte-identical traces to a fresh
 * one, per built-in target, is what says so. A case that leaves anything pending (a timer, a
 * handle, an fs call in flight) ends the thread instead of handing it on: it could act in the
 * next case.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { CONFIG_ENV, type ChildConfig } from './traceProtocol.js';
import { pinDeterminism } from './determinism.js';
import { installRecorder, type Recorder } from './fsRecorder.js';
import { loadPackage, packageEntry, splitSpecifier } from './packageLoader.js';
import { runTracedCase } from './tracedCase.js';
import '../../fault/trace.js';

/** What the server sends per capture; `done` comes back when a reused thread has finished one. */
export interface CaptureWorkerRequest { readonly config: ChildConfig; readonly reuse: boolean }
export interface CaptureWorkerDone { readonly done: true; readonly reusable: boolean }

if (parentPort === null) throw new Error('captureWorkerMain runs in a worker of the capture server');
const port = parentPort;
const require = createRequire(import.meta.url);

/** A reused thread retires after this many cases: CommonJS modules loaded afresh per case are never unloaded. */
const MAX_CASES_PER_THREAD = 64;

/** Whether `file` is CommonJS to Node: `.cjs`, or `.js` under a package.json without `"type": "module"`. */
function isCommonJs(file: string, original: Recorder['original']): boolean {
  if (file.endsWith('.cjs')) return true;
  if (!file.endsWith('.js')) return false;
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (original.statSync(manifest, { throwIfNoEntry: false })?.isFile() === true) {
      return (JSON.parse(original.readFileSync(manifest, 'utf8')) as { type?: unknown }).type !== 'module';
    }
    if (path.dirname(dir) === dir) return true;
  }
}

/**
 * `context.load` in a reused thread: a CommonJS package through `require` (afresh each case:
 * the cache is emptied before it), shaped as `import()` shapes one (`default` is
 * module.exports, beside its own properties as named exports); an ES module through `import()`.
 */
function freshLoader(config: ChildConfig, recorder: Recorder): (specifier: string) => Promise<unknown> {
  return async (specifier) => {
    const [name, subpath] = splitSpecifier(specifier);
    const dir = config.packages[name];
    const entry = dir === undefined ? null : packageEntry(dir, subpath, recorder.original);
    if (entry === null || !isCommonJs(entry, recorder.original)) return loadPackage(config.packages, specifier, recorder.original);
    const exports = require(entry) as unknown;
    return { ...(exports as object), default: exports };
  };
}

/** Resources alive in this thread, by kind (a MessagePort, timers, fs requests), as a comparable string. */
const resources = (): string => process.getActiveResourcesInfo().sort().join(',');

async function runReused(config: ChildConfig): Promise<boolean> {
  const before = resources();
  for (const key of Object.keys(require.cache)) delete require.cache[key];
  const recorder = await installRecorder(config.root);
  try {
    // The trace must explain the whole root, so it has to start empty.
    if (recorder.original.readdirSync(config.root).length !== 0) throw new Error(`the traced root ${config.root} is not empty`);
    pinDeterminism(config.seed);
    await runTracedCase(config, recorder, freshLoader(config, recorder));
  } finally {
    recorder.uninstall();
  }
  // Let callbacks already queued run before judging what is left pending.
  await new Promise((resolve) => setImmediate(resolve));
  return resources() === before;
}

const first = await new Promise<CaptureWorkerRequest>((resolve) => port.once('message', resolve));
if (!first.reuse) {
  process.env[CONFIG_ENV] = JSON.stringify(first.config);
  await import('./preload.js');
  await import('./childMain.js');
} else {
  let request = first;
  for (let cases = 1; ; cases++) {
    const reusable = await runReused(request.config) && cases < MAX_CASES_PER_THREAD;
    port.postMessage({ done: true, reusable } satisfies CaptureWorkerDone);
    if (!reusable) process.exit(0);
    request = await new Promise<CaptureWorkerRequest>((resolve) => port.once('message', resolve));
    if (!request.reuse) throw new Error('a reused capture thread was sent a request for a fresh one');
  }
}
