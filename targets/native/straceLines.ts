/**
 * strace's text, read back: `strace -f -y -qq -xx -o FILE` writes one line per completed call,
 * `PID name(arg, arg, ...) = result`, and what this module turns into `SyscallLine`s for the
 * interpreter (syscallTrace.ts). The quirks it survives:
 * - the pid column: `1234 ` and `1234  ` (padded to a width), `[pid  1234] ` (strace's own
 *   format without `-o`), or no pid at all (a single process);
 * - a call that another thread interrupted: `name(args <unfinished ...>`, completed later by
 *   `<... name resumed>rest) = result` on a line of the same pid; the two are joined, and the
 *   call takes the place of its completion (its effect is certain only once it returned);
 * - `-xx` strings: every byte as `\xHH` (so no quote, parenthesis or comma inside a string can
 *   confuse the argument split), `"..."...` marking a string strace cut short;
 * - `-y` descriptors: `18<\x2f...>` and `AT_FDCWD<\x2f...>`, the path hex-escaped too, and
 *   `18<\x2f...>(deleted)` for a file unlinked while open;
 * - alignment spaces before `=`, results with a comment (`0x8000 (flags O_RDONLY)`), errors
 *   (`-1 ENOENT (No such file or directory)`), an unknown result (`?`), signal (`---`) and exit
 *   (`+++`) lines, which are skipped.
 * Anything else is a NativeError BAD_STRACE naming the line: the parser never guesses.
 */
import { NativeError } from './nativeError.js';

export interface SyscallLine {
  readonly pid: number;
  readonly name: string;
  /** The top-level arguments as strace printed them. */
  readonly args: readonly string[];
  /** The return value (null: strace printed `?`, the result is unknown). */
  readonly value: number | null;
  /** `ENOENT` for a failed call, else null. */
  readonly errno: string | null;
  /** The path `-y` printed after a returned descriptor (`= 18<...>`), else null. */
  readonly resultPath: string | null;
  /** The 1-based line of the output that completed the call. */
  readonly line: number;
}

const PID = /^(?:\[pid\s+(\d+)\]|(\d+))\s+/;
const RESUMED = /^<\.\.\. ([a-z0-9_]+) resumed>\s?(.*)$/;
const UNFINISHED = ' <unfinished ...>';

/** Every completed call of an strace output, in the order of their completion lines. */
export function parseStraceText(text: string): SyscallLine[] {
  const calls: SyscallLine[] = [];
  const pending = new Map<number, { name: string; head: string }>();
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const lineNumber = index + 1;
    if (raw.trim() === '') continue;
    const pidMatch = PID.exec(raw);
    const pid = pidMatch === null ? 0 : Number(pidMatch[1] ?? pidMatch[2]);
    const body = pidMatch === null ? raw : raw.slice(pidMatch[0].length);
    if (body.startsWith('---') || body.startsWith('+++')) continue;
    let full = body;
    const resumed = RESUMED.exec(body);
    if (resumed !== null) {
      const head = pending.get(pid);
      if (head === undefined || head.name !== resumed[1]) throw bad(lineNumber, raw, `resumes ${resumed[1]} of pid ${pid}, which has no unfinished call of that name`);
      pending.delete(pid);
      full = head.head + resumed[2]!;
    }
    if (full.endsWith(UNFINISHED)) {
      const name = /^([a-z0-9_]+)\(/.exec(full)?.[1];
      if (name === undefined) throw bad(lineNumber, raw, 'an unfinished call without a name');
      pending.set(pid, { name, head: full.slice(0, -UNFINISHED.length) });
      continue;
    }
    calls.push(parseCall(full, pid, lineNumber, raw));
  }
  return calls;
}

function bad(line: number, raw: string, why: string): NativeError {
  return new NativeError('BAD_STRACE', `strace output line ${line}: ${why}: ${raw.slice(0, 200)}`);
}

/** `name(args) = result`, with the arguments split at top-level commas. */
function parseCall(text: string, pid: number, line: number, raw: string): SyscallLine {
  const name = /^([a-z0-9_]+)\(/.exec(text)?.[1];
  if (name === undefined) throw bad(line, raw, 'not a system call');
  const { args, end } = splitArgs(text, name.length + 1, line, raw);
  const rest = /^\s*=\s*(.*)$/.exec(text.slice(end + 1));
  if (rest === null) throw bad(line, raw, 'no result');
  return { pid, name, args, line, ...parseResult(rest[1]!.trim(), line, raw) };
}

/** Splits the argument list starting at `start` (just after `(`); `end` is the index of its `)`. */
export function splitArgs(text: string, start: number, line = 0, raw = text): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let from = start;
  for (let i = start; i < text.length; i++) {
    const c = text[i]!;
    if (c === '"') {
      i = endOfString(text, i, line, raw);
    } else if (c === '(' || c === '[' || c === '{') {
      depth++;
    } else if (c === ']' || c === '}' || (c === ')' && depth > 0)) {
      depth--;
    } else if (c === ')' || (c === ',' && depth === 0)) {
      const arg = text.slice(from, i).trim();
      if (arg !== '' || c === ',') args.push(arg);
      if (c === ')') return { args, end: i };
      from = i + 1;
    }
  }
  throw bad(line, raw, 'the argument list does not end');
}

/** The index of the quote closing the string opened at `open`. */
function endOfString(text: string, open: number, line: number, raw: string): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  throw bad(line, raw, 'a string does not end');
}

function parseResult(text: string, line: number, raw: string): Pick<SyscallLine, 'value' | 'errno' | 'resultPath'> {
  if (text.startsWith('?')) return { value: null, errno: null, resultPath: null };
  const match = /^(-?(?:0x[0-9a-f]+|\d+))(?:<(.*?)>)?(?:\(deleted\))?(?:\s+([A-Z][A-Z0-9_]*))?(?:\s.*)?$/.exec(text);
  if (match === null) throw bad(line, raw, `a result it cannot read (${text.slice(0, 40)})`);
  const value = Number(match[1]);
  return { value, errno: value < 0 ? match[3] ?? 'EUNKNOWN' : null, resultPath: match[2] === undefined ? null : unescapeText(match[2]) };
}

/** The bytes of a C-escaped text as strace prints it (`\xHH`, `\NNN`, `\n`, `\\`, `\"`, plain bytes). */
export function unescapeBytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x5c) {
      out[n++] = c & 0xff;
      continue;
    }
    const next = text[i + 1] ?? '';
    if (next === 'x') {
      out[n++] = parseInt(text.slice(i + 2, i + 4), 16);
      i += 3;
    } else if (/[0-7]/.test(next)) {
      const digits = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
      out[n++] = parseInt(digits, 8);
      i += digits.length;
    } else {
      out[n++] = ({ n: 10, t: 9, r: 13, v: 11, f: 12 } as Record<string, number>)[next] ?? next.charCodeAt(0);
      i += 1;
    }
  }
  return out.subarray(0, n);
}

/** An escaped path, as text (paths are UTF-8). */
export function unescapeText(text: string): string {
  return Buffer.from(unescapeBytes(text)).toString('utf8');
}

/** A quoted string argument: its bytes, and whether strace cut it short (`"..."...`). */
export function quotedBytes(arg: string): { bytes: Uint8Array; truncated: boolean } {
  const match = /^"(.*)"(\.\.\.)?$/s.exec(arg);
  if (match === null) throw new NativeError('BAD_STRACE', `not a quoted string: ${arg.slice(0, 80)}`);
  return { bytes: unescapeBytes(match[1]!), truncated: match[2] !== undefined };
}

/** A descriptor argument: `18<path>`, `AT_FDCWD<path>`, `18` or `AT_FDCWD` (-100). */
export function fdArg(arg: string): { fd: number; path: string | null } {
  const match = /^(AT_FDCWD|-?\d+)(?:<(.*)>)?(?:\(deleted\))?$/s.exec(arg);
  if (match === null) throw new NativeError('BAD_STRACE', `not a file descriptor: ${arg.length > 160 ? `${arg.slice(0, 80)}…${arg.slice(-80)}` : arg}`);
  return { fd: match[1] === 'AT_FDCWD' ? -100 : Number(match[1]), path: match[2] === undefined ? null : unescapeText(match[2]) };
}

/** A number argument (`4096`, `0x1000`, `[4096]`, `[4096] => [8192]`: the value passed in); null for NULL. */
export function numberArg(arg: string): number | null {
  if (arg === 'NULL') return null;
  const match = /^\[?(-?(?:0x[0-9a-f]+|\d+))\]?(?: => \[.*\])?$/.exec(arg);
  if (match === null) throw new NativeError('BAD_STRACE', `not a number: ${arg.slice(0, 80)}`);
  return Number(match[1]);
}

/** A flags argument (`O_RDWR|O_CREAT`, `0`, `PROT_READ|PROT_WRITE`): its names. */
export function flagsArg(arg: string): Set<string> {
  return new Set(arg.split('|').map((flag) => flag.trim()));
}

/** An iovec array (`[{iov_base="\x61", iov_len=1}, ...]`): the bytes of its buffers, in order. */
export function iovecBytes(arg: string): { bytes: Uint8Array; truncated: boolean } {
  const parts: Uint8Array[] = [];
  let truncated = false;
  for (const match of arg.matchAll(/iov_base=("[^"]*"(?:\.\.\.)?)/g)) {
    const part = quotedBytes(match[1]!);
    parts.push(part.bytes);
    truncated ||= part.truncated;
  }
  if (/\.\.\.\]$/.test(arg)) truncated = true;
  return { bytes: new Uint8Array(Buffer.concat(parts)), truncated };
}
