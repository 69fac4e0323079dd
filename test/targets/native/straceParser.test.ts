// The strace parser and interpreter on captured text: pid columns, joined <... resumed> calls, -xx hex, -y paths, offsets per open file description, O_APPEND, O_DSYNC, markers, refusals.
import test from 'ava';
import type { TraceEvent } from '../../../fault/trace.js';
import { NativeError, type NativeErrorCode } from '../../../targets/native/nativeError.js';
import { parseStraceText, splitArgs, unescapeBytes } from '../../../targets/native/straceLines.js';
import { eventsFromStrace } from '../../../targets/native/syscallTrace.js';

const ROOT = '/dev/shm/crashlab-native-x/root';
const MARKERS = '/dev/shm/crashlab-native-x/markers';
/** strace -xx: every byte as \xHH. */
const h = (text: string | Uint8Array): string => [...Buffer.from(text)].map((byte) => `\\x${byte.toString(16).padStart(2, '0')}`).join('');
const q = (text: string | Uint8Array): string => `"${h(text)}"`;
const fd = (n: number, file: string): string => `${n}<${h(file)}>`;
const cwd = `AT_FDCWD<${h('/dev/shm/crashlab-native-x')}>`;
const open = (pid: string, n: number, name: string, flags: string): string => `${pid} openat(${cwd}, ${q(`${ROOT}/${name}`)}, ${flags}, 0644) = ${fd(n, `${ROOT}/${name}`)}`;

function events(lines: readonly string[], volatileFiles: readonly string[] = []): TraceEvent[] {
  return eventsFromStrace(`${lines.join('\n')}\n`, { root: ROOT, markerPath: MARKERS, cwd: '/dev/shm/crashlab-native-x', volatileFiles });
}

const shown = (list: readonly TraceEvent[]): string[] => list.map((event) => {
  switch (event.kind) {
    case 'write': return `write ${event.ino}@${event.offsetBytes} ${Buffer.from(event.data).toString('latin1')}`;
    case 'create': case 'mkdir': case 'unlink': case 'rmdir': return `${event.kind} ${event.path}${'ino' in event ? ` #${event.ino}` : ''}`;
    case 'rename': case 'link': return `${event.kind} ${event.from} ${event.to}`;
    case 'truncate': return `truncate ${event.ino} ${event.sizeBytes}`;
    case 'fsync': return `${event.dataOnly ? 'fdatasync' : 'fsync'} ${event.ino}`;
    case 'marker': return `${event.marker} ${event.txn}`;
  }
});

function refusal(t: import('ava').ExecutionContext, run: () => unknown, code: NativeErrorCode): NativeError {
  const error = t.throws(run, { instanceOf: NativeError });
  t.is(error?.code, code);
  return error;
}

test('pid columns: padded, [pid N] and none; an unfinished call is joined with its resumption and placed there', (t) => {
  const text = [
    `812   write(${fd(1, '/dev/null')}, ${q('a')}, 1 <unfinished ...>`,
    '[pid  9001] close(3) = 0',
    `812   <... write resumed>)               = 1`,
    'close(4) = 0',
    '812   +++ exited with 0 +++',
    '813 --- SIGCHLD {si_signo=SIGCHLD} ---',
  ].join('\n');
  const calls = parseStraceText(text);
  t.deepEqual(calls.map((call) => [call.pid, call.name, call.value, call.line]), [[9001, 'close', 0, 2], [812, 'write', 1, 3], [0, 'close', 0, 4]]);
  t.deepEqual(calls[1]?.args, [fd(1, '/dev/null'), q('a'), '1']);
});

test('results: an error with its errno, a -y path after a descriptor, a comment, an unknown result', (t) => {
  const calls = parseStraceText([
    `5 openat(${cwd}, ${q('/nope')}, O_RDONLY) = -1 ENOENT (No such file or directory)`,
    `5 openat(${cwd}, ${q(`${ROOT}/a`)}, O_RDONLY) = ${fd(7, `${ROOT}/a`)}`,
    `5 fcntl(${fd(0, '/dev/null')}, F_GETFL) = 0x8000 (flags O_RDONLY|O_LARGEFILE)`,
    '5 close(9) = ?',
  ].join('\n'));
  t.deepEqual(calls.map((call) => [call.value, call.errno, call.resultPath]), [[-1, 'ENOENT', null], [7, null, `${ROOT}/a`], [0x8000, null, null], [null, null, null]]);
});

test('-xx strings hide every quote, comma and parenthesis; other escapes decode too', (t) => {
  const tricky = '", ) = 1 {[<>]}\n\\';
  const { args } = splitArgs(`write(3, ${q(tricky)}, 17)`, 6);
  t.deepEqual(args, ['3', q(tricky), '17']);
  t.is(Buffer.from(unescapeBytes(args[1]!.slice(1, -1))).toString('latin1'), tricky);
  t.deepEqual([...unescapeBytes('a\\n\\0\\177\\"')], [0x61, 10, 0, 0x7f, 0x22]);
});

test('a garbled line is BAD_STRACE naming the line, not a guess', (t) => {
  const error = refusal(t, () => parseStraceText('5 write(3, "\\x61", 1) = 1\n5 write(3, "\\x61"'), 'BAD_STRACE');
  t.regex(error.message, /line 2/);
  refusal(t, () => parseStraceText('5 <... write resumed>) = 1'), 'BAD_STRACE');
});

test('create, write at the offset, fsync, rename, directory fsync, markers in their place; paths outside the root are ignored', (t) => {
  const list = events([
    `10 openat(${cwd}, ${q(MARKERS)}, O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC, 0666) = ${fd(20, MARKERS)}`,
    `10 write(${fd(20, MARKERS)}, ${q('issued 0\n')}, 9) = 9`,
    open('10', 3, 'db.tmp', 'O_RDWR|O_CREAT|O_TRUNC|O_CLOEXEC'),
    `10 write(${fd(3, `${ROOT}/db.tmp`)}, ${q('hello')}, 5) = 5`,
    `10 write(${fd(3, `${ROOT}/db.tmp`)}, ${q('world')}, 5) = 3`,
    `10 write(${fd(1, '/tmp/out')}, ${q('noise')}, 5) = 5`,
    `10 fsync(${fd(3, `${ROOT}/db.tmp`)}) = 0`,
    `10 close(${fd(3, `${ROOT}/db.tmp`)}) = 0`,
    `10 rename(${q(`${ROOT}/db.tmp`)}, ${q(`${ROOT}/db`)}) = 0`,
    `10 openat(${cwd}, ${q(ROOT)}, O_RDONLY|O_DIRECTORY|O_CLOEXEC) = ${fd(4, ROOT)}`,
    `10 fdatasync(${fd(4, ROOT)}) = 0`,
    `10 write(${fd(20, MARKERS)}, ${q('acked 0\n')}, 8) = 8`,
  ]);
  t.deepEqual(shown(list), ['issued 0', 'create db.tmp #1', 'write 1@0 hello', 'write 1@5 wor', 'fsync 1', 'rename db.tmp db', 'fdatasync 0', 'acked 0']);
});

test('dup, dup2, dup3 and F_DUPFD share one open file description: one offset, advanced through any of them', (t) => {
  const file = `${ROOT}/log`;
  const list = events([
    open('1', 3, 'log', 'O_WRONLY|O_CREAT'),
    `1 dup(${fd(3, file)}) = ${fd(4, file)}`,
    `1 dup2(${fd(3, file)}, 9) = ${fd(9, file)}`,
    `1 fcntl(${fd(3, file)}, F_DUPFD_CLOEXEC, 10) = ${fd(10, file)}`,
    `1 dup3(${fd(3, file)}, 11, O_CLOEXEC) = ${fd(11, file)}`,
    `1 write(${fd(3, file)}, ${q('aa')}, 2) = 2`,
    `1 write(${fd(4, file)}, ${q('bb')}, 2) = 2`,
    `1 close(${fd(3, file)}) = 0`,
    `1 write(${fd(9, file)}, ${q('cc')}, 2) = 2`,
    `1 write(${fd(10, file)}, ${q('dd')}, 2) = 2`,
    `1 write(${fd(11, file)}, ${q('ee')}, 2) = 2`,
    open('1', 5, 'log', 'O_WRONLY'),
    `1 write(${fd(5, file)}, ${q('ZZ')}, 2) = 2`,
  ]);
  t.deepEqual(shown(list).slice(1), ['write 1@0 aa', 'write 1@2 bb', 'write 1@4 cc', 'write 1@6 dd', 'write 1@8 ee', 'write 1@0 ZZ']);
});

test('lseek then writev (as LMDB writes its pages), pwrite64 and pwritev at their own offsets, which they do not move', (t) => {
  const file = `${ROOT}/data.mdb`;
  const list = events([
    open('1', 3, 'data.mdb', 'O_RDWR|O_CREAT'),
    `1 lseek(${fd(3, file)}, 8192, SEEK_SET) = 8192`,
    `1 writev(${fd(3, file)}, [{iov_base=${q('ab')}, iov_len=2}, {iov_base=${q('cd')}, iov_len=2}], 2) = 4`,
    `1 pwrite64(${fd(3, file)}, ${q('PP')}, 2, 100) = 2`,
    `1 pwritev(${fd(3, file)}, [{iov_base=${q('Q')}, iov_len=1}], 1, 50) = 1`,
    `1 write(${fd(3, file)}, ${q('e')}, 1) = 1`,
    `1 lseek(${fd(3, file)}, -2, SEEK_CUR) = 8195`,
    `1 pwritev2(${fd(3, file)}, [{iov_base=${q('xy')}, iov_len=2}], 1, -1, 0) = 2`,
    `1 write(${fd(3, file)}, ${q('z')}, 1) = 1`,
  ]);
  t.deepEqual(shown(list).slice(1), ['write 1@8192 abcd', 'write 1@100 PP', 'write 1@50 Q', 'write 1@8196 e', 'write 1@8195 xy', 'write 1@8197 z']);
});

test('O_APPEND (and F_SETFL O_APPEND) writes land at the size, even pwrite; O_TRUNC of a non-empty file truncates', (t) => {
  const file = `${ROOT}/wal`;
  const list = events([
    open('1', 3, 'wal', 'O_RDWR|O_CREAT|O_APPEND'),
    `1 write(${fd(3, file)}, ${q('1234')}, 4) = 4`,
    `1 pwrite64(${fd(3, file)}, ${q('56')}, 2, 0) = 2`,
    open('1', 4, 'wal', 'O_WRONLY'),
    `1 write(${fd(4, file)}, ${q('x')}, 1) = 1`,
    `1 fcntl(${fd(4, file)}, F_SETFL, O_WRONLY|O_APPEND) = 0`,
    `1 write(${fd(4, file)}, ${q('7')}, 1) = 1`,
    open('1', 5, 'wal', 'O_WRONLY|O_TRUNC'),
  ]);
  t.deepEqual(shown(list).slice(1), ['write 1@0 1234', 'write 1@4 56', 'write 1@0 x', 'write 1@6 7', 'truncate 1 0']);
});

test('writes through O_DSYNC and O_SYNC descriptors, and RWF_DSYNC, are synced as they return', (t) => {
  const list = events([
    open('1', 3, 'a', 'O_WRONLY|O_CREAT|O_DSYNC'),
    open('1', 4, 'b', 'O_WRONLY|O_CREAT|O_SYNC'),
    open('1', 5, 'c', 'O_WRONLY|O_CREAT'),
    `1 write(${fd(3, `${ROOT}/a`)}, ${q('a')}, 1) = 1`,
    `1 write(${fd(4, `${ROOT}/b`)}, ${q('b')}, 1) = 1`,
    `1 pwritev2(${fd(5, `${ROOT}/c`)}, [{iov_base=${q('c')}, iov_len=1}], 1, 0, RWF_DSYNC) = 1`,
    `1 write(${fd(5, `${ROOT}/c`)}, ${q('d')}, 1) = 1`,
  ]);
  t.deepEqual(shown(list).slice(3), ['write 1@0 a', 'fdatasync 1', 'write 2@0 b', 'fsync 2', 'write 3@0 c', 'fdatasync 3', 'write 3@0 d']);
});

test('names: mkdirat and unlinkat relative to a directory descriptor, link, AT_REMOVEDIR, ftruncate, fallocate, copy_file_range', (t) => {
  const list = events([
    `1 mkdirat(${cwd}, ${q(`${ROOT}/sub`)}, 0755) = 0`,
    `1 openat(${cwd}, ${q(`${ROOT}/sub`)}, O_RDONLY|O_DIRECTORY) = ${fd(3, `${ROOT}/sub`)}`,
    `1 openat(${fd(3, `${ROOT}/sub`)}, ${q('f')}, O_RDWR|O_CREAT, 0644) = ${fd(4, `${ROOT}/sub/f`)}`,
    `1 write(${fd(4, `${ROOT}/sub/f`)}, ${q('abcdef')}, 6) = 6`,
    `1 linkat(${fd(3, `${ROOT}/sub`)}, ${q('f')}, ${cwd}, ${q(`${ROOT}/g`)}, 0) = 0`,
    `1 ftruncate(${fd(4, `${ROOT}/sub/f`)}, 4) = 0`,
    `1 fallocate(${fd(4, `${ROOT}/sub/f`)}, 0, 0, 8) = 0`,
    open('1', 5, 'h', 'O_WRONLY|O_CREAT'),
    `1 unlink(${q(`${ROOT}/g`)}) = 0`,
    `1 close(${fd(9, `${ROOT}/g`)}(deleted)) = 0`,
    `1 copy_file_range(${fd(4, `${ROOT}/sub/f`)}, [1] => [3], ${fd(5, `${ROOT}/h`)}, NULL, 2, 0) = 2`,
    `1 unlinkat(${fd(3, `${ROOT}/sub`)}, ${q('f')}, 0) = 0`,
    `1 unlinkat(${cwd}, ${q(`${ROOT}/sub`)}, AT_REMOVEDIR) = 0`,
  ]);
  t.deepEqual(shown(list), ['mkdir sub #1', 'create sub/f #2', 'write 2@0 abcdef', 'link sub/f g', 'truncate 2 4', 'truncate 2 8', 'create h #3', 'unlink g', 'write 3@0 bc', 'unlink sub/f', 'rmdir sub']);
});

test('volatile files (by name) are left out, and may be mapped shared and writable', (t) => {
  const lock = `${ROOT}/lock.mdb`;
  const list = events([
    open('1', 3, 'lock.mdb', 'O_RDWR|O_CREAT'),
    `1 ftruncate(${fd(3, lock)}, 8192) = 0`,
    `1 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_SHARED, ${fd(3, lock)}, 0) = 0x7f0000000000`,
    `1 write(${fd(3, lock)}, ${q('x')}, 1) = 1`,
  ], ['lock.mdb']);
  t.deepEqual(list, []);
});

test('refused: a durable file mapped shared and writable (LMDB useWritemap), io_uring, a string cut short, an exchange rename', (t) => {
  const data = `${ROOT}/data.mdb`;
  const opened = open('1', 3, 'data.mdb', 'O_RDWR|O_CREAT');
  t.notThrows(() => events([opened, `1 mmap(NULL, 4096, PROT_READ, MAP_SHARED, ${fd(3, data)}, 0) = 0x7f0000000000`, `1 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE, ${fd(3, data)}, 0) = 0x7f0000001000`]));
  const shared = refusal(t, () => events([opened, `1 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_SHARED, ${fd(3, data)}, 0) = 0x7f0000000000`]), 'SHARED_MMAP');
  t.regex(shared.message, /data\.mdb.*shared and writable/);
  refusal(t, () => events(['1 io_uring_setup(64, {flags=0, sq_thread_cpu=0}) = 5<anon_inode:[io_uring]>']), 'IO_URING');
  refusal(t, () => events([opened, `1 write(${fd(3, data)}, ${q('abc')}..., 9) = 9`]), 'UNSUPPORTED_IO');
  refusal(t, () => events([opened, `1 renameat2(${cwd}, ${q(data)}, ${cwd}, ${q(`${ROOT}/x`)}, RENAME_EXCHANGE) = 0`]), 'UNSUPPORTED_IO');
  refusal(t, () => events([`1 rename(${q('/tmp/elsewhere')}, ${q(`${ROOT}/x`)}) = 0`]), 'UNSUPPORTED_IO');
});

test('a root file opened without ever being created is TRACE_INCOMPLETE; a failed call changes nothing', (t) => {
  t.deepEqual(events([`1 openat(${cwd}, ${q(`${ROOT}/gone`)}, O_RDONLY) = -1 ENOENT (No such file or directory)`]), []);
  const error = refusal(t, () => events([open('1', 3, 'ghost', 'O_RDONLY')]), 'TRACE_INCOMPLETE');
  t.is(error.path, 'ghost');
});
