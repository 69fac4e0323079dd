/**
 * The node-fs tier's typed errors. `code` is stable (callers branch on it, messages may change):
 * - TRACE_INCOMPLETE: the trace does not explain the directory the run left (a write went
 *   around the recorder, or the recorder itself failed); `path` names the first difference.
 * - UNSUPPORTED_IO: the library did something the recorder cannot see (a worker thread, a child
 *   process, a native add-on, a symlink under the root): the run is refused, not trusted.
 * - CHILD_FAILED: the traced child died or wrote no result.
 * - HANG: the traced child outlived its timeout and was killed.
 * - RECOVERY_FS_UNSUPPORTED: a library recovering a crash image from memory (memoryFs.ts) made
 *   a call the in-memory fs does not model: the run stops, since the image's answer is not
 *   the one real files would give.
 */
export type NodeFsErrorCode = 'TRACE_INCOMPLETE' | 'UNSUPPORTED_IO' | 'CHILD_FAILED' | 'HANG' | 'RECOVERY_FS_UNSUPPORTED';

export class NodeFsError extends Error {
  readonly code: NodeFsErrorCode;
  /** For TRACE_INCOMPLETE: the first path (relative to the root) where trace and disk differ. */
  readonly path: string | undefined;

  constructor(code: NodeFsErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NodeFsError';
    this.code = code;
    this.path = options?.path;
  }
}
