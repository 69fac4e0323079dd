// The fs recorder in this process: every API family records the primitive events it should, the replay equals the disk, and the guard neither double-records nor leaks.
import fs, { writeFileSync as namedWriteFileSync } from 'node:fs';
import { appendFile as namedAppendFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { replayAll, type TraceEvent } from '../../../fault/trace.js';
import { installRecorder, type Recorder } from '../../../targets/nodefs/fsRecorder.js';
import { FAMILY_STEPS } from './fixtures/familySteps.js';

/** Events in a compact, readable form: `write ino@offset text`, else the fields in order. */
function compact(events: readonly TraceEvent[]): string[] {
  return events.map((event) => (event.kind === 'write' ? `write ${event.ino}@${event.offsetBytes} ${Buffer.from(event.data).toString()}` : Object.values(event).join(' ')));
}

/** The root's files and dirs as the disk has them. */
function disk(root: string): { files: Map<string, string>; dirs: string[] } {
  const files = new Map<string, string>();
  const dirs: string[] = [];
  for (const entry of fs.readdirSync(root, { recursive: true, withFileTypes: true })) {
    const rel = path.relative(root, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
    if (entry.isDirectory()) dirs.push(rel);
    else files.set(rel, fs.readFileSync(path.join(root, rel), 'latin1'));
  }
  return { files: new Map([...files].sort()), dirs: dirs.sort() };
}

async function recorded(program: (root: string, recorder: Recorder) => Promise<void> | void): Promise<{ events: string[]; recorder: Recorder; root: string }> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-recorder-'));
  const recorder = await installRecorder(root, undefined, { refuseBypasses: false });
  try {
    await program(root, recorder);
  } finally {
    recorder.uninstall();
  }
  return { events: compact(recorder.events), recorder, root };
}

const EXPECTED: Readonly<Record<string, readonly string[]>> = {
  sync: ['create a 1', 'write 1@0 hello', 'create b 2', 'write 2@0 abc', 'write 2@1 XY', 'write 2@3 d', 'fsync 2 false', 'rename b c', 'unlink a'],
  callback: ['create a 1', 'write 1@0 cb-data', 'fsync 1 true', 'truncate 1 0', 'write 1@0 new'],
  promises: ['create a 1', 'write 1@0 one', 'write 1@3 two', 'truncate 1 4', 'rename a b', 'create c 2', 'write 2@0 x', 'unlink c'],
  fileHandle: ['create a 1', 'write 1@0 12345', 'write 1@1 ab', 'write 1@5 CD', 'truncate 1 6', 'fsync 1 true', 'write 1@7 W', 'write 1@8 Z', 'fsync 1 false'],
  appendFile: ['create log 1', 'write 1@0 a1', 'write 1@2 a2', 'write 1@4 a3'],
  oAppend: ['create log 1', 'write 1@0 base', 'write 1@4 X', 'write 1@5 YZ'],
  writev: ['create v 1', 'write 1@0 abcd', 'write 1@1 XY', 'write 1@4 e'],
  writeStream: ['create s 1', 'write 1@0 first,second,third'],
  writeStreamInCallback: ['create a 1', 'write 1@0 outer', 'create inner 2', 'write 2@0 from the callback'],
  copy: ['create src 1', 'write 1@0 copied', 'create dst 2', 'write 2@0 copied', 'create other 3', 'write 3@0 old', 'truncate 3 0', 'write 3@0 copied'],
  mkdirRecursive: ['mkdir a 1', 'mkdir a/b 2', 'mkdir a/b/c 3', 'mkdir a/b/d 4', 'mkdir a/b/d/e 5', 'mkdir f 6'],
  rmRecursive: ['mkdir a 1', 'mkdir a/b 2', 'create a/b/f 3', 'write 3@0 x', 'create a/g 4', 'write 4@0 y', 'unlink a/g', 'unlink a/b/f', 'rmdir a/b', 'rmdir a', 'mkdir h 5', 'rmdir h', 'mkdir i 6', 'rmdir i'],
  link: ['create a 1', 'write 1@0 shared', 'link a b', 'write 1@6 !', 'unlink a'],
  truncate: ['create a 1', 'write 1@0 abcdef', 'truncate 1 3', 'truncate 1 1', 'truncate 1 0'],
  readMovesPosition: ['create a 1', 'write 1@0 abcdef', 'write 1@3 X'],
  dirSync: ['create a 1', 'write 1@0 x', 'fsync 0 false'],
};

test.serial('every family of familySteps has an expectation here', (t) => {
  t.deepEqual(Object.keys(FAMILY_STEPS).sort(), Object.keys(EXPECTED).sort());
});

for (const [name, step] of Object.entries(FAMILY_STEPS)) {
  test.serial(`${name}: the recorded events, and their replay equals the disk`, async (t) => {
    const { events, recorder, root } = await recorded(step);
    t.deepEqual(recorder.faults, []);
    t.deepEqual(events, EXPECTED[name]);
    const image = replayAll(recorder.events);
    const real = disk(root);
    t.deepEqual([...image.dirs], real.dirs);
    t.deepEqual(new Map([...image.files].map(([file, bytes]) => [file, Buffer.from(bytes).toString('latin1')])), real.files);
  });
}

test.serial('ESM named imports and CommonJS require both see the patch', async (t) => {
  const require = createRequire(import.meta.url);
  const { events } = await recorded((root) => {
    namedWriteFileSync(path.join(root, 'esm'), 'e');
    (require('fs') as typeof fs).writeFileSync(path.join(root, 'cjs'), 'c');
    return namedAppendFile(path.join(root, 'esm'), 'p');
  });
  t.deepEqual(events, ['create esm 1', 'write 1@0 e', 'create cjs 2', 'write 2@0 c', 'write 1@1 p']);
});

test.serial('the bytes are copied when recorded: a caller reusing its buffer does not change the trace', async (t) => {
  const { events } = await recorded(async (root) => {
    const buffer = Buffer.from('first');
    const handle = await fs.promises.open(path.join(root, 'a'), 'w');
    const pending = handle.write(buffer);
    buffer.write('XXXXX');
    await pending;
    await handle.close();
  });
  // The kernel may have seen either; the trace must hold what was passed at the call.
  t.deepEqual(events, ['create a 1', 'write 1@0 first']);
});

test.serial('calls outside the root are not recorded, and promisify keeps fs.write\'s result shape', async (t) => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-outside-'));
  const { events } = await recorded(async (root) => {
    fs.writeFileSync(path.join(outside, 'x'), 'x');
    const fd = fs.openSync(path.join(root, 'a'), 'w');
    const result = await promisify(fs.write)(fd, Buffer.from('ab'));
    t.is(result.bytesWritten, 2);
    fs.closeSync(fd);
  });
  t.deepEqual(events, ['create a 1', 'write 1@0 ab']);
  fs.rmSync(outside, { recursive: true });
});

test.serial('a symlink under the root is refused with UNSUPPORTED_IO and remembered', async (t) => {
  const { recorder } = await recorded(async (root) => {
    t.throws(() => fs.symlinkSync('a', path.join(root, 's')), { code: 'UNSUPPORTED_IO' });
    await t.throwsAsync(fs.promises.symlink('a', path.join(root, 't')), { code: 'UNSUPPORTED_IO' });
  });
  t.is(recorder.refusals.length, 2);
});

test.serial('child processes, workers and native add-ons are refused while installed, and work again after uninstall', async (t) => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-recorder-'));
  const childProcess = await import('node:child_process');
  const workerThreads = await import('node:worker_threads');
  const recorder = await installRecorder(root);
  try {
    t.throws(() => childProcess.spawnSync('true'), { code: 'UNSUPPORTED_IO' });
    t.throws(() => childProcess.execSync('true'), { code: 'UNSUPPORTED_IO' });
    t.throws(() => new workerThreads.Worker('0', { eval: true }), { code: 'UNSUPPORTED_IO' });
    t.throws(() => process.dlopen({ exports: {} }, path.join(root, 'addon.node')), { code: 'UNSUPPORTED_IO' });
  } finally {
    recorder.uninstall();
  }
  t.is(recorder.refusals.length, 4);
  t.is(childProcess.spawnSync('true').status, 0);
  fs.writeFileSync(path.join(root, 'after'), 'x');
  t.is(recorder.events.length, 0);
});

test.serial('names crossing the root\'s edge: coming in are creates with their bytes, going out are removals', async (t) => {
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-outside-'));
  fs.writeFileSync(path.join(outside, 'in'), 'arrived');
  fs.mkdirSync(path.join(outside, 'tree/sub'), { recursive: true });
  fs.writeFileSync(path.join(outside, 'tree/sub/f'), 'deep');
  const { events, recorder, root } = await recorded(async (root) => {
    fs.renameSync(path.join(outside, 'in'), path.join(root, 'in'));
    await fs.promises.rename(path.join(outside, 'tree'), path.join(root, 'tree'));
    fs.mkdirSync(path.join(root, 'd'));
    fs.writeFileSync(path.join(root, 'd/x'), 'x');
    fs.renameSync(path.join(root, 'd'), path.join(outside, 'd'));
    fs.writeFileSync(path.join(outside, 'linked'), 'L');
    fs.linkSync(path.join(outside, 'linked'), path.join(root, 'linked'));
    fs.cpSync(path.join(root, 'tree'), path.join(root, 'copy'), { recursive: true });
  });
  t.deepEqual(events, ['create in 1', 'write 1@0 arrived', 'mkdir tree 2', 'mkdir tree/sub 3', 'create tree/sub/f 4', 'write 4@0 deep',
    'mkdir d 5', 'create d/x 6', 'write 6@0 x', 'unlink d/x', 'rmdir d', 'create linked 7', 'write 7@0 L',
    'mkdir copy 8', 'mkdir copy/sub 9', 'create copy/sub/f 10', 'write 10@0 deep']);
  t.deepEqual([...replayAll(recorder.events).files.keys()].sort(), [...disk(root).files.keys()]);
  fs.rmSync(outside, { recursive: true });
});

test.serial('fs.close without a callback still forgets the fd: a reused fd number is not written to the old file', async (t) => {
  const { events } = await recorded(async (root) => {
    const fd = fs.openSync(path.join(root, 'a'), 'w');
    await new Promise<void>((resolve) => {
      fs.close(fd);
      setTimeout(resolve, 50);
    });
    const inner = await promisify(fs.open)(path.join(root, 'b'), 'w');
    fs.writeSync(inner, 'b');
    fs.closeSync(inner);
  });
  t.deepEqual(events, ['create a 1', 'create b 2', 'write 2@0 b']);
});

test.serial('writeFile of an async iterable is read back; an O_SYNC fd\'s writes are each followed by a sync', async (t) => {
  const { events } = await recorded(async (root) => {
    await fs.promises.writeFile(path.join(root, 'it'), (async function* chunks() {
      yield 'a';
      yield 'b';
    })());
    const fd = fs.openSync(path.join(root, 's'), 'as');
    fs.writeSync(fd, 'x');
    fs.closeSync(fd);
    const dsync = fs.openSync(path.join(root, 'd'), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_DSYNC);
    fs.writeSync(dsync, 'y');
    fs.closeSync(dsync);
  });
  t.deepEqual(events, ['create it 1', 'write 1@0 ab', 'create s 2', 'write 2@0 x', 'fsync 2 false', 'create d 3', 'write 3@0 y', 'fsync 3 true']);
});

test.serial('recorder.original goes around the recorder, even where Node implements one fs call over another', async (t) => {
  const { events } = await recorded(async (root, recorder) => {
    recorder.original.writeFileSync(path.join(root, 'hidden'), Buffer.from('bytes'));
    recorder.original.appendFileSync(path.join(root, 'hidden'), 'more');
    await recorder.original.promises.writeFile(path.join(root, 'hidden2'), 'x');
    fs.writeFileSync(path.join(root, 'seen'), 'y');
  });
  t.deepEqual(events, ['create seen 1', 'write 1@0 y']);
});

test.serial('writes follow the inode, not the name: through an fd after its file was renamed or unlinked, and a reused real inode gets a new number', async (t) => {
  const { events, recorder, root } = await recorded(async (root) => {
    const handle = await fs.promises.open(path.join(root, 'a'), 'w+');
    await handle.write('12');
    fs.renameSync(path.join(root, 'a'), path.join(root, 'b'));
    await handle.read(Buffer.alloc(1), 0, 1, 0); // positional: the offset stays at 2
    await handle.write('3');
    fs.unlinkSync(path.join(root, 'b'));
    await handle.write('4');
    await handle.close();
    fs.writeFileSync(path.join(root, 'c'), 'new'); // may get the unlinked file's st_ino
  });
  t.deepEqual(events, ['create a 1', 'write 1@0 12', 'rename a b', 'write 1@2 3', 'unlink b', 'write 1@3 4', 'create c 2', 'write 2@0 new']);
  t.deepEqual(Buffer.from(replayAll(recorder.events).files.get('c') ?? []).toString(), fs.readFileSync(path.join(root, 'c'), 'utf8'));
});

test.serial('a call that fails records nothing and leaves nothing behind: a later create of that name is a create', async (t) => {
  const { events } = await recorded(async (root) => {
    t.throws(() => fs.openSync(path.join(root, 'missing'), 'r'), { code: 'ENOENT' });
    await t.throwsAsync(fs.promises.open(path.join(root, 'missing2'), 'r+'), { code: 'ENOENT' });
    await t.throwsAsync(promisify(fs.appendFile)(path.join(root, 'no/such/dir'), 'x'), { code: 'ENOENT' });
    fs.writeFileSync(path.join(root, 'missing'), 'x');
    fs.writeFileSync(path.join(root, 'missing2'), 'y');
    t.throws(() => fs.writeFileSync(path.join(root, 'missing2'), 'z', { flag: 'wx' }), { code: 'EEXIST' });
    fs.appendFileSync(path.join(root, 'missing2'), 'w');
  });
  t.deepEqual(events, ['create missing 1', 'write 1@0 x', 'create missing2 2', 'write 2@0 y', 'write 2@1 w']);
});

test.serial('readFile on an fd or FileHandle moves its offset to the end, so the next write there appends', async (t) => {
  const { events } = await recorded(async (root) => {
    fs.writeFileSync(path.join(root, 'a'), 'abc');
    const fd = fs.openSync(path.join(root, 'a'), 'r+');
    t.is(fs.readFileSync(fd, 'utf8'), 'abc');
    fs.writeSync(fd, 'D');
    fs.closeSync(fd);
    const handle = await fs.promises.open(path.join(root, 'a'), 'r+');
    await handle.readFile();
    await handle.write('E');
    await handle.close();
  });
  t.deepEqual(events, ['create a 1', 'write 1@0 abc', 'write 1@3 D', 'write 1@4 E']);
});
