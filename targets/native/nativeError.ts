/**
 * The native tier's typed errors. `code` is stable (callers branch on it, messages may change);
 * the command line turns every one into exit 2, since none is a finding about the engine:
 * - SHARED_MMAP: the engine mapped a durable file shared and writable (LMDB's `useWritemap`):
 *   its writes go through memory and the trace cannot see them, so the run is refused.
 * - IO_URING: the engine set up io_uring, whose submissions are not system calls strace sees.
 * - UNSUPPORTED_IO: a call the trace cannot follow (an exchange rename, a copy from a file
 *   outside the root, a truncated string, a call whose result strace could not read).
 * - TRACE_INCOMPLETE: the whole trace replayed does not give the files the run left (a write
 *   went around the trace): a harness fault, never judged; `path` names the first difference.
 * - BAD_STRACE: strace's output has a line the parser does not understand.
 * - NO_STRACE: strace is not installed or cannot trace here (ptrace refused).
 * - NO_BOOT_NAMESPACE: a target that trusts the boot identity needs a private mount namespace
 *   for recovery (`unshare -m` and a bind mount over boot_id), and this machine refuses it.
 * - CHILD_FAILED, HANG: the traced child died without a result, or outlived its timeout.
 */
export type NativeErrorCode =
  | 'SHARED_MMAP' | 'IO_URING' | 'UNSUPPORTED_IO' | 'TRACE_INCOMPLETE' | 'BAD_STRACE'
  | 'NO_STRACE' | 'NO_BOOT_NAMESPACE' | 'CHILD_FAILED' | 'HANG';

export class NativeError extends Error {
  readonly code: NativeErrorCode;
  /** For TRACE_INCOMPLETE: the first path (relative to the root) where trace and disk differ. */
  readonly path: string | undefined;

  constructor(code: NativeErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NativeError';
    this.code = code;
    this.path = options?.path;
  }
}
