/**
 * A recovery worker (recoveryWorker.ts) in a process of its own instead of a thread: what the
 * native tier needs, since an engine's add-on keeps process-wide state (open environments,
 * caches, a boot identity) that a thread would share with the harness. It offers the part of
 * `Worker`'s interface the recovery pool uses (postMessage, message and exit events, terminate,
 * unref), over an IPC channel with the structured-clone serialization (so images' Maps, Sets
 * and byte arrays pass as they are). `prefix` runs before node (e.g. `unshare -m` with a bind
 * mount over the boot id, targets/native/bootNamespace.ts). A process that dies mid-batch
 * emits `exit` with its signal and stderr's tail: the pool reports the image it was on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';

export const RECOVERY_DATA_ENV = 'CRASHLAB_RECOVERY_DATA';
const STDERR_TAIL_BYTES = 2048;

export class RecoveryProcess extends EventEmitter {
  private readonly child: ChildProcess;
  private stderr = '';
  private readonly exited: Promise<void>;

  constructor(workerUrl: URL, data: unknown, prefix: readonly string[]) {
    super();
    const command = [...prefix, process.execPath, fileURLToPath(workerUrl)];
    this.child = spawn(command[0]!, command.slice(1), {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'advanced', env: { ...process.env, [RECOVERY_DATA_ENV]: JSON.stringify(data) },
    });
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => { this.stderr = (this.stderr + chunk).slice(-STDERR_TAIL_BYTES); });
    this.child.on('message', (message: unknown) => this.emit('message', message));
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.emit('exit', { code, signal, stderr: this.stderr.trim() });
        resolve();
      });
    });
    this.child.on('error', (error) => this.emit('error', error));
  }

  postMessage(message: unknown): void {
    this.child.send(message as never);
  }

  unref(): void {
    this.child.unref();
    (this.child.channel as { unref?: () => void } | undefined)?.unref?.();
  }

  async terminate(): Promise<void> {
    this.removeAllListeners('exit');
    // Unreferenced, the child would not keep this process alive until its exit arrives.
    this.child.ref();
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
