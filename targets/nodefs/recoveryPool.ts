/**
 * Recovers crash images of a node-fs target in a worker (recoveryWorker.ts), so the library
 * never shares a module graph with the harness, and one image's leftovers can only reach the
 * images batched after it in the same worker, which is recycled every `recycleAfterImages`.
 * A recovery that answers nothing for `hangTimeoutMs` (wall clock: this is harness code, not
 * the engine's or the fault model's) is a hang: the worker is terminated, that image is
 * reported as hung, and the rest go to a fresh worker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DirImage } from '../../fault/trace.js';
import type { TargetState } from '../target.js';
import type { MemoryFsFault } from './memoryFs.js';
import { NodeFsError } from './nodeFsError.js';
import type { RecoveryReply, RecoveryWorkerData } from './recoveryWorker.js';
import { RecoveryProcess } from './recoveryProcess.js';
import { makeScratchDir } from './scratchDir.js';

export type Recovered =
  /** `stateKey` names the state's rows (recoveryWorker.ts stateKeyOf): equal keys, equal states. `files`: with `returnFiles`. */
  | { readonly kind: 'state'; readonly state: TargetState; readonly stateKey: string; readonly files?: DirImage | undefined }
  | { readonly kind: 'refused'; readonly message: string; readonly code: string | undefined; readonly files?: DirImage | undefined }
  | { readonly kind: 'hang' };

/** What a crash case needs to recover its images (a RecoveryPool, or the native tier's). */
export interface ImageRecoverer {
  /** Recovers every image; the answers line up with `images`. */
  recoverAll(images: readonly DirImage[]): Promise<Recovered[]>;
  close(): Promise<void>;
}

export interface RecoveryPoolOptions {
  /** The adapter module (a path or file URL) whose default export is the node-fs adapter. */
  readonly adapterModule: string;
  /** Package name → the folder it is installed in. */
  readonly packages: Readonly<Record<string, string>>;
  readonly seed: number;
  readonly hangTimeoutMs?: number | undefined;
  readonly recycleAfterImages?: number | undefined;
  /** Recovery workers at once (default: the machine's cores, at most 4). */
  readonly workers?: number | undefined;
  /**
   * Recover in processes instead of threads (the native tier: an add-on's process-wide state
   * must not outlive its batch); `prefix()` is the command put before node, asked once per
   * process (a fresh boot id each time).
   */
  readonly process?: { readonly prefix: () => readonly string[] } | undefined;
  /**
   * Recover each image from memory instead of real files (memoryFs.ts): for the built-in
   * targets, whose recoveries are tested to give the same states and files both ways.
   */
  readonly memory?: boolean | undefined;
  /** A fault planted in the memory fs: only the test that shows the real-vs-memory comparison catches one. */
  readonly memoryFault?: MemoryFsFault | undefined;
  /** Answer with the files each recovery left as well (that comparison). */
  readonly returnFiles?: boolean | undefined;
}

/** What a lane needs of its host: a worker thread or a RecoveryProcess. */
interface RecoveryHost {
  postMessage(message: unknown): void;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Worker's and EventEmitter's listener types differ per event
  on(event: 'message' | 'error' | 'exit', listener: (...args: any[]) => void): unknown;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
  off(event: 'message' | 'error' | 'exit', listener: (...args: any[]) => void): unknown;
  terminate(): Promise<unknown>;
  unref(): void;
}

const WORKER_URL = new URL('./recoveryWorker.js', import.meta.url);
const DEFAULT_HANG_TIMEOUT_MS = 10_000;
/**
 * A fresh worker's first answer also waits for its start (a thread or process, the library's
 * modules): on a loaded machine that alone can pass a short hang timeout, and the image would
 * be called a hang for the machine's sake. So the first image of a new worker gets this more.
 */
const WORKER_START_ALLOWANCE_MS = 10_000;
const DEFAULT_RECYCLE_AFTER_IMAGES = 2048;

/**
 * The pool: `workers` lanes (default: the machine's cores, at most 4), each one worker at a
 * time; a batch of images is split into contiguous runs, one per lane, recovered at once.
 */
export class RecoveryPool implements ImageRecoverer {
  private readonly scratchDir = makeScratchDir('crashlab-recover-');
  private readonly lanes: RecoveryLane[];

  constructor(options: RecoveryPoolOptions) {
    const workers = options.workers ?? Math.min(MAX_DEFAULT_WORKERS, os.availableParallelism());
    if (!(Number.isSafeInteger(workers) && workers >= 1 && workers <= MAX_WORKERS)) throw new RangeError(`workers must be in [1, ${MAX_WORKERS}], not ${workers}`);
    this.lanes = Array.from({ length: workers }, (_, lane) => new RecoveryLane(options, path.join(this.scratchDir, `lane-${lane}`)));
  }

  /** Recovers every image; the answers line up with `images`. */
  async recoverAll(images: readonly DirImage[]): Promise<Recovered[]> {
    const lanes = images.length < MIN_IMAGES_PER_LANE * 2 ? 1 : Math.min(this.lanes.length, Math.floor(images.length / MIN_IMAGES_PER_LANE));
    const share = Math.ceil(images.length / lanes);
    const parts = await Promise.all(this.lanes.slice(0, lanes).map((lane, index) => lane.recoverAll(images.slice(index * share, (index + 1) * share))));
    return parts.flat();
  }

  async close(): Promise<void> {
    for (const lane of this.lanes) await lane.close();
    fs.rmSync(this.scratchDir, { recursive: true, force: true });
  }
}

/** Below this many images per lane, starting a second worker costs more than it saves. */
const MIN_IMAGES_PER_LANE = 16;
const MAX_DEFAULT_WORKERS = 4;
const MAX_WORKERS = 64;

class RecoveryLane {
  private worker: RecoveryHost | null = null;
  /** The states the current worker sent, by key: it sends each once (recoveryWorker.ts). */
  private states = new Map<string, TargetState>();
  private imagesInWorker = 0;
  private nextId = 0;
  private readonly hangTimeoutMs: number;
  private readonly recycleAfterImages: number;

  constructor(private readonly options: RecoveryPoolOptions, private readonly scratchDir: string) {
    fs.mkdirSync(scratchDir, { recursive: true });
    this.hangTimeoutMs = options.hangTimeoutMs ?? DEFAULT_HANG_TIMEOUT_MS;
    this.recycleAfterImages = options.recycleAfterImages ?? DEFAULT_RECYCLE_AFTER_IMAGES;
    if (!(this.hangTimeoutMs >= 100)) throw new RangeError(`hang timeout must be at least 100 ms, not ${this.hangTimeoutMs}`);
    if (!(Number.isSafeInteger(this.recycleAfterImages) && this.recycleAfterImages >= 1)) throw new RangeError(`recycleAfterImages must be a positive integer, not ${this.recycleAfterImages}`);
  }

  /** Recovers every image, in order; the answers line up with `images`. */
  async recoverAll(images: readonly DirImage[]): Promise<Recovered[]> {
    const answers: Recovered[] = [];
    while (answers.length < images.length) {
      const batch = images.slice(answers.length, answers.length + this.recycleAfterImages - this.imagesInWorker);
      answers.push(...await this.runBatch(batch));
    }
    return answers;
  }

  async close(): Promise<void> {
    await this.stopWorker();
  }

  private ensureWorker(): RecoveryHost {
    if (this.worker !== null) return this.worker;
    const adapterUrl = this.options.adapterModule.startsWith('file:') ? this.options.adapterModule : pathToFileURL(path.resolve(this.options.adapterModule)).href;
    const memory = this.options.memory === true ? { fault: this.options.memoryFault ?? null } : null;
    const workerData: RecoveryWorkerData = { adapterUrl, packages: this.options.packages, scratchDir: this.scratchDir, seed: this.options.seed, memory, returnFiles: this.options.returnFiles === true };
    const host = this.options.process === undefined ? new Worker(WORKER_URL, { workerData }) : new RecoveryProcess(WORKER_URL, workerData, this.options.process.prefix());
    host.unref();
    this.worker = host;
    this.imagesInWorker = 0;
    this.states = new Map();
    return host;
  }

  private async stopWorker(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    this.imagesInWorker = 0;
    if (worker !== null) await worker.terminate();
  }

  /** A state answer, its state from the reply or, sent before by this worker, from the lane's copy. */
  private answerOf(reply: RecoveryReply): Recovered | Error {
    if ('unsupported' in reply) return new NodeFsError('RECOVERY_FS_UNSUPPORTED', `recovering image ${reply.id} from memory: ${reply.unsupported}`);
    if (!reply.ok) return { kind: 'refused', message: reply.message, code: reply.code, files: reply.files };
    const state = reply.state ?? this.states.get(reply.stateKey);
    if (state === undefined) return new Error(`recovery worker referred to state ${reply.stateKey}, which it never sent`);
    this.states.set(reply.stateKey, state);
    return { kind: 'state', state, stateKey: reply.stateKey, files: reply.files };
  }

  /** Sends a batch, collects its answers in order; a hang ends the batch at the hung image. */
  private async runBatch(batch: readonly DirImage[]): Promise<Recovered[]> {
    if (batch.length === 0) throw new RangeError('an empty recovery batch would wait for nothing');
    const fresh = this.worker === null;
    const worker = this.ensureWorker();
    const firstId = this.nextId;
    this.nextId += batch.length;
    this.imagesInWorker += batch.length;
    const answers = await new Promise<Recovered[]>((resolve, reject) => {
      const got: Recovered[] = [];
      let timer = setTimeout(onHang, this.hangTimeoutMs + (fresh ? WORKER_START_ALLOWANCE_MS : 0));
      const finish = (): void => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(got);
      };
      function onHang(): void {
        got.push({ kind: 'hang' });
        finish();
      }
      const onMessage = (reply: RecoveryReply): void => {
        if (reply.id !== firstId + got.length) return void reject(new Error(`recovery worker answered image ${reply.id}, expected ${firstId + got.length}`));
        const answer = this.answerOf(reply);
        if (answer instanceof Error) return void reject(answer);
        got.push(answer);
        clearTimeout(timer);
        if (got.length === batch.length) finish();
        else timer = setTimeout(onHang, this.hangTimeoutMs);
      };
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      // The host died mid-batch (an engine that aborts or segfaults on a crash image): that image's answer.
      const onExit = (how: number | { code: number | null; signal: string | null; stderr: string }): void => {
        const what = typeof how === 'number' ? `exit ${how}` : `${how.signal ?? `exit ${String(how.code)}`}${how.stderr === '' ? '' : `: ${how.stderr.split('\n').slice(-2).join(' ')}`}`;
        got.push({ kind: 'refused', message: `the recovery died (${what})`, code: 'RECOVERY_DIED' });
        worker.off('exit', onExit);
        finish();
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      batch.forEach((image, index) => worker.postMessage({ id: firstId + index, image }));
    });
    if (answers.length < batch.length || this.imagesInWorker >= this.recycleAfterImages) await this.stopWorker();
    return answers;
  }
}
