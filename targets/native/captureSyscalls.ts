/**
 * The parent side of the native tier (ALICE's method): runs one workload through a native
 * adapter in a fresh child under strace, on a fresh, empty root, and turns strace's output into
 * a file-system trace (syscallTrace.ts). The run is then checked as the node-fs tier's is
 * (targets/nodefs/completeness.ts): the whole trace replayed must give the root the engine
 * left, byte for byte (volatile files aside), or it is refused as a harness fault
 * (TRACE_INCOMPLETE). Refusals (a shared writable map, io_uring), an unusable strace, dead and
 * hung children are NativeErrors. One child per capture; its scratch folder is removed after.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { replayAll, type Trace, type TraceEvent } from '../../fault/trace.js';
import type { CaptureOutcome, CaptureResult } from '../nodefs/captureTrace.js';
import { diskImage, firstDifference } from '../nodefs/completeness.js';
import { makeScratchDir } from '../nodefs/scratchDir.js';
import { workloadToJson, type ChildResult } from '../nodefs/traceProtocol.js';
import type { TargetTxn } from '../target.js';
import { NativeError } from './nativeError.js';
import { NATIVE_CONFIG_ENV, type NativeChildConfig } from './nativeChildMain.js';
import { eventsFromStrace } from './syscallTrace.js';
import { runWatchedChild } from '../nodefs/watchedChild.js';

export const STRACE = process.env['CRASHLAB_STRACE'] ?? 'strace';

/** Every call that can change a file, name a descriptor, or hide a write from the trace. */
export const TRACED_CALLS = [
  'openat', 'creat', 'write', 'pwrite64', 'writev', 'pwritev', 'pwritev2', 'lseek', 'fsync', 'fdatasync', 'sync_file_range',
  'rename', 'renameat', 'renameat2', 'unlink', 'unlinkat', 'mkdir', 'mkdirat', 'link', 'linkat', 'dup', 'dup2', 'dup3', 'fcntl',
  'ftruncate', 'truncate', 'fallocate', 'copy_file_range', 'sendfile', 'close', 'mmap', 'msync', 'io_uring_setup',
] as const;

/** strace's flags: follow threads, descriptor paths, no status lines, every byte in hex, strings whole, only the calls above. */
export function straceArgs(outFile: string): string[] {
  return ['-f', '--seccomp-bpf', '-y', '-qq', '-xx', '-s', '16777216', '-e', 'signal=none', '-e', `trace=${TRACED_CALLS.join(',')}`, '-o', outFile];
}

const CHILD_MAIN = fileURLToPath(new URL('./nativeChildMain.js', import.meta.url));
let straceChecked: NativeError | null | undefined;

/** Throws NO_STRACE when strace is missing or cannot trace here (checked once per process). */
export function ensureStrace(): void {
  if (straceChecked === undefined) {
    const probe = spawnSync(STRACE, ['-f', '-qq', '-e', 'trace=none', 'true'], { encoding: 'utf8', timeout: 30_000 });
    const reason = probe.error?.message ?? (probe.status === 0 ? null : probe.stderr.trim() || `exit ${String(probe.status)}`);
    straceChecked = reason === null ? null : new NativeError('NO_STRACE', `the native tier records system calls with strace, which cannot run here (${reason}); install it (Debian: apt-get install strace) and allow ptrace`);
  }
  if (straceChecked !== null) throw straceChecked;
}

export interface NativeCaptureOptions {
  /** The adapter module (a path); its default export is a NativeAdapter. */
  readonly adapterModule: string;
  readonly packages: Readonly<Record<string, string>>;
  readonly volatileFiles: readonly string[];
  readonly workload: readonly TargetTxn[];
  readonly seed: number;
  readonly timeoutMs: number;
}

export async function captureSyscalls(options: NativeCaptureOptions): Promise<CaptureResult> {
  ensureStrace();
  const scratch = fs.realpathSync(makeScratchDir('crashlab-native-'));
  try {
    const config: NativeChildConfig = {
      root: path.join(scratch, 'root'), seed: options.seed, adapterModule: options.adapterModule.startsWith('file:') ? options.adapterModule : path.resolve(options.adapterModule), packages: options.packages,
      workloadFile: path.join(scratch, 'workload.json'), resultFile: path.join(scratch, 'result.json'), markerFile: path.join(scratch, 'markers'),
    };
    fs.mkdirSync(config.root);
    fs.writeFileSync(config.workloadFile, workloadToJson(options.workload));
    const straceFile = path.join(scratch, 'strace.txt');
    const started = performance.now();
    const stderr = await runTraced(config, straceFile, options.timeoutMs);
    const durationMs = performance.now() - started;
    // Refusals first (a shared map, io_uring), then a child that died, then completeness.
    const events = eventsFromStrace(readStrace(straceFile, stderr), { root: config.root, markerPath: config.markerFile, cwd: path.dirname(config.root), volatileFiles: options.volatileFiles });
    const outcome = readOutcome(config, stderr);
    return { trace: checkComplete(events, config.root, options.volatileFiles), outcome, durationMs };
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function readStrace(file: string, stderr: string): string {
  try {
    return fs.readFileSync(file, 'latin1');
  } catch (error) {
    throw new NativeError('NO_STRACE', `strace wrote no output: ${stderr.trim() || '(no stderr)'}`, { cause: error });
  }
}

/** The events of a run, checked to explain the folder `root` byte for byte (volatile files aside). */
export function checkComplete(events: TraceEvent[], root: string, volatileFiles: readonly string[]): Trace {
  const volatile = (rel: string): boolean => volatileFiles.includes(rel) || volatileFiles.includes(path.posix.basename(rel));
  const difference = firstDifference(replayAll(events), diskImage(root, fs, volatile));
  if (difference !== null) {
    throw new NativeError('TRACE_INCOMPLETE', `the system-call trace does not explain the files the engine left: ${JSON.stringify(difference.path)} ${difference.why} (I/O went around the traced calls)`, { path: difference.path });
  }
  return { tier: 'syscalls', events };
}

async function runTraced(config: NativeChildConfig, straceFile: string, timeoutMs: number): Promise<string> {
  const env = { ...process.env, [NATIVE_CONFIG_ENV]: JSON.stringify(config), UV_THREADPOOL_SIZE: '1' };
  const exit = await runWatchedChild(STRACE, [...straceArgs(straceFile), process.execPath, CHILD_MAIN], { cwd: path.dirname(config.root), env }, timeoutMs, {
    unstarted: (error) => new NativeError('NO_STRACE', `could not start ${STRACE}: ${error.message}`, { cause: error }),
    hung: () => new NativeError('HANG', `the traced engine ran longer than ${timeoutMs} ms and was killed (adapter ${config.adapterModule})`),
  });
  return exit.stderr;
}

function readOutcome(config: NativeChildConfig, stderr: string): CaptureOutcome {
  let result: ChildResult;
  try {
    result = JSON.parse(fs.readFileSync(config.resultFile, 'utf8')) as ChildResult;
  } catch (error) {
    throw new NativeError('CHILD_FAILED', `the traced child exited without a result: ${stderr.trim() || '(no stderr)'}`, { cause: error });
  }
  if (result.status === 'ok') return { kind: 'ok' };
  if (result.status === 'library-error') return { kind: 'library-error', message: result.message, txn: result.txn };
  throw new NativeError('CHILD_FAILED', `the traced child answered ${result.status}: ${result.message}`);
}
