/**
 * The parent side of the node-fs tier: runs one workload through an adapter in a fresh child
 * process whose fs is recorded (preload.ts, childMain.ts) on a fresh, empty temp root, and
 * returns the trace with how the library fared. One child per capture; the temp folder is
 * removed afterwards. Refusals, incomplete traces, dead and hung children are NodeFsErrors.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceFromJsonLines, type Trace } from '../../fault/trace.js';
import type { TargetTxn } from '../target.js';
import type { CaptureReply, CaptureRequest } from './captureServer.js';
import { NodeFsError } from './nodeFsError.js';
import { makeScratchDir } from './scratchDir.js';
import { CONFIG_ENV, workloadToJson, type ChildConfig, type ChildResult } from './traceProtocol.js';
import { runWatchedChild, STDERR_TAIL_BYTES, type ChildExit } from './watchedChild.js';

/** Compiled siblings of this file (dist/targets/nodefs/). */
const PRELOAD_URL = new URL('./preload.js', import.meta.url).href;
const CHILD_MAIN = fileURLToPath(new URL('./childMain.js', import.meta.url));
/** How much of the child's stderr a CHILD_FAILED message quotes. */

export interface CaptureOptions {
  /** The adapter module (a path, or a specifier the child can import); its default export is a NodeFsAdapter. */
  readonly adapterModule: string;
  /** Package name → installed folder (ensureTargetPackage's answer), for `context.load`. */
  readonly packages: Readonly<Record<string, string>>;
  readonly workload: readonly TargetTxn[];
  readonly seed: number;
  readonly timeoutMs: number;
  /** Run the capture in this server's worker threads instead of a process of its own (a campaign's many cases). */
  readonly server?: CaptureServer | undefined;
  /**
   * In `server`, run this capture in a thread a capture before it used, and keep the thread for
   * the next (captureWorkerMain.ts): for the built-in targets, whose reused traces are tested to
   * be byte-identical to fresh ones. Without it every capture has a fresh thread.
   */
  readonly reuseWorker?: boolean | undefined;
}

/** How the library fared: it may fail a transaction (a finding for the caller to judge, not a harness error). */
export type CaptureOutcome =
  | { readonly kind: 'ok' }
  | { readonly kind: 'library-error'; readonly message: string; readonly txn: number | null };

export interface CaptureResult {
  readonly trace: Trace;
  readonly outcome: CaptureOutcome;
  /** Wall time of the child, start to exit. */
  readonly durationMs: number;
}

export async function captureTrace(options: CaptureOptions): Promise<CaptureResult> {
  if (!Number.isInteger(options.seed)) throw new TypeError(`seed must be an integer, not ${options.seed}`);
  if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) throw new TypeError(`timeoutMs must be positive, not ${options.timeoutMs}`);
  if (!Array.isArray(options.workload)) throw new TypeError('workload must be a list of transactions');
  const scratch = makeScratchDir('crashlab-trace-');
  try {
    const config: ChildConfig = {
      root: path.join(scratch, 'root'),
      seed: options.seed,
      adapterModule: /^\.{0,2}[/\\]/.test(options.adapterModule) ? path.resolve(options.adapterModule) : options.adapterModule,
      packages: options.packages,
      workloadFile: path.join(scratch, 'workload.json'),
      traceFile: path.join(scratch, 'trace.jsonl'),
      resultFile: path.join(scratch, 'result.json'),
    };
    fs.mkdirSync(config.root);
    fs.writeFileSync(config.workloadFile, workloadToJson(options.workload));
    const started = performance.now();
    const exit = options.server === undefined ? await runChild(config, options.timeoutMs) : await options.server.run(config, options.timeoutMs, options.reuseWorker === true);
    const durationMs = performance.now() - started;
    return { ...readResult(config, exit), durationMs };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}


const SERVER_MAIN = fileURLToPath(new URL('./captureServer.js', import.meta.url));

/**
 * A capture server (captureServer.ts) for many captures: started on first use, killed and
 * started again after a hang (a worker that never exits cannot be stopped from outside).
 */
export class CaptureServer {
  private server: ChildProcess | null = null;
  private nextId = 0;
  private stderr = '';
  private readonly waiting = new Map<number, (reply: CaptureReply) => void>();

  run(config: ChildConfig, timeoutMs: number, reuse = false): Promise<ChildExit> {
    const server = this.ensure();
    const id = this.nextId++;
    return new Promise<ChildExit>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        this.kill();
        reject(new NodeFsError('HANG', `the traced workload ran longer than ${timeoutMs} ms and was killed (adapter ${config.adapterModule})`));
      }, timeoutMs);
      this.waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve({ code: reply.exitCode, signal: null, stderr: reply.error ?? this.stderr });
      });
      server.send({ id, config, reuse } satisfies CaptureRequest);
    });
  }

  close(): void {
    this.kill();
  }

  private ensure(): ChildProcess {
    if (this.server !== null) return this.server;
    const server = spawn(process.execPath, [SERVER_MAIN], {
      env: { ...process.env, UV_THREADPOOL_SIZE: '1' }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    server.stderr?.setEncoding('utf8');
    server.stderr?.on('data', (chunk: string) => { this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL_BYTES); });
    server.on('message', (reply: CaptureReply) => this.waiting.get(reply.id)?.(reply));
    server.on('exit', () => {
      if (this.server === server) this.server = null;
      for (const [id, done] of this.waiting) done({ id, exitCode: -1, error: `the capture server exited: ${this.stderr.trim() || '(no stderr)'}` });
      this.waiting.clear();
    });
    this.server = server;
    return server;
  }

  private kill(): void {
    const server = this.server;
    this.server = null;
    server?.kill('SIGKILL');
  }
}

function runChild(config: ChildConfig, timeoutMs: number): Promise<ChildExit> {
  // One thread-pool thread: concurrent fs calls then run and complete in the order issued, so the trace's order is the seed's.
  return runWatchedChild(process.execPath, ['--import', PRELOAD_URL, CHILD_MAIN], { env: { ...process.env, [CONFIG_ENV]: JSON.stringify(config), UV_THREADPOOL_SIZE: '1' } }, timeoutMs, {
    unstarted: (error) => new NodeFsError('CHILD_FAILED', `could not start the traced child: ${error.message}`, { cause: error }),
    hung: () => new NodeFsError('HANG', `the traced child ran longer than ${timeoutMs} ms and was killed (adapter ${config.adapterModule})`),
  });
}

function readResult(config: ChildConfig, exit: ChildExit): { trace: Trace; outcome: CaptureOutcome } {
  let result: ChildResult;
  let trace: Trace;
  try {
    result = JSON.parse(fs.readFileSync(config.resultFile, 'utf8')) as ChildResult;
    trace = traceFromJsonLines(fs.readFileSync(config.traceFile, 'utf8'));
  } catch (error) {
    const how = exit.signal !== null ? `was killed by ${exit.signal}` : `exited with ${String(exit.code)}`;
    throw new NodeFsError('CHILD_FAILED', `the traced child ${how} without a result: ${exit.stderr.trim() || '(no stderr)'}`, { cause: error });
  }
  switch (result.status) {
    case 'ok': return { trace, outcome: { kind: 'ok' } };
    case 'library-error': return { trace, outcome: { kind: 'library-error', message: result.message, txn: result.txn } };
    case 'refused': throw new NodeFsError('UNSUPPORTED_IO', result.message);
    case 'harness-fault': throw new NodeFsError('TRACE_INCOMPLETE', result.message, { path: result.path });
  }
}
