// FileVfs: the shared storage contract on real files, plus flock across processes, directory fsync and on-disk bytes.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { FileVfs } from '../../engine/fileVfs.js';
import { rejectsCode, storageContract, throwsCode } from './storage.contract.js';

const execFileAsync = promisify(execFile);
const fileVfsModuleUrl = new URL('../../engine/fileVfs.js', import.meta.url).href;

function makeTempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-filevfs-'));
}

function tempDir(t: ExecutionContext): string {
  const directory = makeTempDir();
  t.teardown(() => fs.rmSync(directory, { recursive: true, force: true }));
  return directory;
}

storageContract(test, 'FileVfs', async () => {
  const directory = makeTempDir();
  return { vfs: new FileVfs(directory), cleanup: async () => fs.rmSync(directory, { recursive: true, force: true }) };
});

/**
 * Runs a separate node process that opens `name` through the compiled FileVfs and prints OPENED
 * or the EngineError code. With `exitWithoutClose` it exits holding the handle, like a crash.
 */
async function openInChild(directory: string, name: string, exitWithoutClose = false): Promise<string> {
  const script = `
    const [moduleUrl, directory, name, exitWithoutClose] = process.argv.slice(1);
    const { FileVfs } = await import(moduleUrl);
    try {
      const file = new FileVfs(directory).open(name, { create: false });
      console.log('OPENED');
      if (exitWithoutClose === 'true') process.exit(0);
      file.close();
    } catch (error) {
      console.log(error.code ?? String(error));
    }`;
  const args = ['--input-type=module', '-e', script, fileVfsModuleUrl, directory, name, String(exitWithoutClose)];
  const { stdout } = await execFileAsync(process.execPath, args);
  return stdout.trim();
}

test('the lock holds against another process, and is released by close', async (t) => {
  const vfs = new FileVfs(tempDir(t));
  const file = vfs.open('db', { create: true });
  t.is(await openInChild(vfs.directoryPath, 'db'), 'LOCKED');
  file.close();
  t.is(await openInChild(vfs.directoryPath, 'db'), 'OPENED');
});

test('a process that exits without closing leaves no stale lock', async (t) => {
  const vfs = new FileVfs(tempDir(t));
  vfs.open('db', { create: true }).close();
  t.is(await openInChild(vfs.directoryPath, 'db', true), 'OPENED');
  const file = vfs.open('db', { create: false });
  file.close();
});

test('a second FileVfs on the same directory in this process also gets LOCKED', (t) => {
  const directory = tempDir(t);
  const file = new FileVfs(directory).open('db', { create: true });
  throwsCode(t, () => new FileVfs(directory).open('db', { create: false }), 'LOCKED');
  file.close();
});

test('syncDir fsyncs the directory, and fails with IO once it is gone', async (t) => {
  const directory = tempDir(t);
  const vfs = new FileVfs(directory);
  vfs.open('db', { create: true }).close();
  await vfs.syncDir();
  vfs.remove('db');
  await vfs.syncDir();
  fs.rmSync(directory, { recursive: true });
  await rejectsCode(t, () => vfs.syncDir(), 'IO');
  throwsCode(t, () => vfs.open('db', { create: true }), 'IO');
  throwsCode(t, () => vfs.open('db', { create: false }), 'NOT_FOUND');
});

test('the directory must exist and be a directory', (t) => {
  const directory = tempDir(t);
  throwsCode(t, () => new FileVfs(path.join(directory, 'missing')), 'NOT_FOUND');
  fs.writeFileSync(path.join(directory, 'plain'), '');
  throwsCode(t, () => new FileVfs(path.join(directory, 'plain')), 'NOT_FOUND');
  t.throws(() => new FileVfs(''), { instanceOf: TypeError });
});

test('bytes reach the real file, gaps and truncations included', (t) => {
  const directory = tempDir(t);
  const file = new FileVfs(directory).open('db', { create: true });
  file.write(4, Uint8Array.of(1, 2));
  const onDisk = (): Uint8Array => new Uint8Array(fs.readFileSync(path.join(directory, 'db')));
  t.deepEqual(onDisk(), Uint8Array.of(0, 0, 0, 0, 1, 2));
  file.setLen(5);
  t.deepEqual(onDisk(), Uint8Array.of(0, 0, 0, 0, 1));
  file.setLen(7);
  t.deepEqual(onDisk(), Uint8Array.of(0, 0, 0, 0, 1, 0, 0));
  file.close();
});

test('an existing file keeps its bytes and reports its length on open', (t) => {
  const directory = tempDir(t);
  fs.writeFileSync(path.join(directory, 'db'), Uint8Array.of(3, 1, 4, 1, 5));
  const file = new FileVfs(directory).open('db', { create: true });
  t.is(file.len(), 5);
  t.deepEqual(file.read(0, 5), Uint8Array.of(3, 1, 4, 1, 5));
  file.close();
});

test('opening a directory as a file fails with IO', (t) => {
  const directory = tempDir(t);
  fs.mkdirSync(path.join(directory, 'sub'));
  throwsCode(t, () => new FileVfs(directory).open('sub', { create: false }), 'IO');
});
