/**
 * One traced child process, watched: its stderr's tail kept for messages, killed (SIGKILL) when
 * it runs past its time. Shared by the node-fs capture (a preloaded node) and the native one
 * (node under strace); each names its own errors through `failures`.
 */
import { spawn, type SpawnOptions } from 'node:child_process';

/** How much of a child's stderr a failure message quotes. */
export const STDERR_TAIL_BYTES = 4096;

export interface ChildExit { readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stderr: string }

export interface ChildFailures {
  /** The child could not be started. */
  readonly unstarted: (error: Error) => Error;
  /** The child ran past `timeoutMs` and was killed. */
  readonly hung: () => Error;
}

export function runWatchedChild(command: string, args: readonly string[], options: Omit<SpawnOptions, 'stdio'>, timeoutMs: number,
  failures: ChildFailures): Promise<ChildExit> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES); });
    let hung = false;
    const timer = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(failures.unstarted(error));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (hung) reject(failures.hung());
      else resolve({ code, signal, stderr });
    });
  });
}
