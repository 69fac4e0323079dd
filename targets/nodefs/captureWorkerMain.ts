/**
 * One capture inside the capture server (captureServer.ts): a worker thread, so a fresh module
 * graph and a fresh `fs` module of its own. The server starts it before its case is known (a
 * spare): it loads crashlab's own recorder modules, which patch nothing until called, then
 * waits for its config; only then does the preload run (it patches this thread's fs and pins its
 * randomness, clock, pid and thread id) and the traced child's main, which loads the library,
 * exactly as in a child process.
 */
import { parentPort } from 'node:worker_threads';
import { CONFIG_ENV, type ChildConfig } from './traceProtocol.js';
import './determinism.js';
import './fsRecorder.js';
import './nodeFsAdapter.js';
import './packageLoader.js';
import '../../fault/trace.js';

if (parentPort === null) throw new Error('captureWorkerMain runs in a worker of the capture server');
const config = await new Promise<ChildConfig>((resolve) => parentPort?.once('message', resolve));
process.env[CONFIG_ENV] = JSON.stringify(config);
await import('./preload.js');
await import('./childMain.js');
