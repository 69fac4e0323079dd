/**
 * One error class for every failure the engine reports, with a stable `code` that callers
 * (and the crash oracle) switch on, and the underlying `cause` kept for diagnosis.
 * Misuse of the API (wrong argument types, using a finished transaction) throws `TypeError`
 * instead: that is a bug in the caller, not a condition of the storage.
 */
export type EngineErrorCode =
  /** Bytes on disk fail a checksum, a magic number, a bound or a structural rule. */
  | 'CORRUPTION'
  /** The storage layer failed (EIO, ENOSPC, a failed fsync...). */
  | 'IO'
  /** Another handle (this process or another) holds the database file's lock. */
  | 'LOCKED'
  /** The database, table or transaction was closed. */
  | 'CLOSED'
  /** An earlier I/O failure poisoned this handle; reopen the database. */
  | 'PREVIOUS_IO'
  /** A key, value or file exceeds a documented limit. */
  | 'TOO_LARGE'
  /** The file is not a crashlab database, or was made by an unsupported version. */
  | 'INVALID_FORMAT'
  /** The named table or file does not exist. */
  | 'NOT_FOUND'
  /** A bounded queue or budget is full, or the operation would wait on the caller's own transaction. */
  | 'BUSY'
  /** A write (a write transaction, a family created or deleted, a checkpoint) on a read-only open. */
  | 'READ_ONLY';

export class EngineError extends Error {
  readonly code: EngineErrorCode;

  constructor(code: EngineErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'EngineError';
    this.code = code;
  }
}

export function isEngineError(error: unknown, code?: EngineErrorCode): error is EngineError {
  return error instanceof EngineError && (code === undefined || error.code === code);
}

/** Bounds the walk down a `cause` chain (a cycle must not hang error reporting). */
const MAX_CAUSE_DEPTH = 8;

/**
 * The operating system's error code (`ENOSPC`, `EACCES`...) found down `cause`'s chain, so a
 * message can say why without the reader digging into `.cause`. EngineError codes are not OS
 * codes and are skipped.
 */
export function osErrorCode(cause: unknown): string | undefined {
  let current = cause;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && typeof current === 'object' && current !== null; depth += 1) {
    if (!(current instanceof EngineError) && 'code' in current && typeof current.code === 'string'
      && /^E[A-Z0-9]+$/.test(current.code)) return current.code;
    current = 'cause' in current ? current.cause : undefined;
  }
  return undefined;
}

/**
 * Wraps a storage failure as `IO`, keeping an `EngineError` that is already typed. The OS
 * code is appended to the message (`... failed: ENOSPC`): the reason a user acts on.
 */
export function ioError(message: string, cause: unknown): EngineError {
  if (cause instanceof EngineError) return cause;
  const code = osErrorCode(cause);
  return new EngineError('IO', code === undefined ? message : `${message}: ${code}`, { cause });
}

export function corruption(message: string): EngineError {
  return new EngineError('CORRUPTION', message);
}

/** TigerBeetle-style assertion: a broken invariant is a bug in the engine, never a user error. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
