// WriteBackVfs's crash model: unsynced writes live only in the process, so a SIGKILL loses exactly them.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { FileVfs } from '../../engine/fileVfs.js';
import { WriteBackVfs } from '../../fault/writeBackVfs.js';

const fileVfsUrl = new URL('../../engine/fileVfs.js', import.meta.url).href;
const writeBackVfsUrl = new URL('../../fault/writeBackVfs.js', import.meta.url).href;

function tempDir(t: ExecutionContext): string {
  const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-writeback-'));
  t.teardown(() => fs.rmSync(directory, { recursive: true, force: true }));
  return directory;
}

const onDisk = (directory: string, name: string): Buffer => fs.readFileSync(path.join(directory, name));

test('the base file is untouched until sync, which applies the pending ops in order', async (t) => {
  const directory = tempDir(t);
  const vfs = new WriteBackVfs(new FileVfs(directory));
  const file = vfs.open('f', { create: true });
  file.write(0, Uint8Array.of(1, 2, 3, 4));
  file.setLen(2);
  file.write(5, Uint8Array.of(9));
  t.deepEqual(file.read(0, 6), Uint8Array.of(1, 2, 0, 0, 0, 9));
  t.is(onDisk(directory, 'f').length, 0);
  t.is(file.pendingOps(), 3);
  await file.sync();
  t.is(file.pendingOps(), 0);
  t.deepEqual(new Uint8Array(onDisk(directory, 'f')), Uint8Array.of(1, 2, 0, 0, 0, 9));
  file.close();
});

test('a closed file keeps its overlay for a reopen; remove drops it with the file', async (t) => {
  const directory = tempDir(t);
  const vfs = new WriteBackVfs(new FileVfs(directory));
  const first = vfs.open('f', { create: true });
  first.write(0, Uint8Array.of(7, 7));
  first.close();
  t.is(vfs.pendingOps(), 1);
  const second = vfs.open('f', { create: false });
  t.deepEqual(second.read(0, 2), Uint8Array.of(7, 7));
  t.is(onDisk(directory, 'f').length, 0);
  second.close();
  vfs.remove('f');
  t.is(vfs.pendingOps(), 0);
  const fresh = vfs.open('f', { create: true });
  t.is(fresh.len(), 0);
  fresh.close();
});

/**
 * A child writes 'synced' and syncs it, then writes 'lost' past it (and grows the file), prints
 * READY and waits to be killed. Through WriteBackVfs only the synced part may survive.
 */
async function writeThenKill(directory: string, tier: 'plain' | 'power'): Promise<Buffer> {
  const script = `
    const [fileVfsUrl, writeBackVfsUrl, directory, tier] = process.argv.slice(1);
    const { FileVfs } = await import(fileVfsUrl);
    const { WriteBackVfs } = await import(writeBackVfsUrl);
    const files = new FileVfs(directory);
    const vfs = tier === 'power' ? new WriteBackVfs(files) : files;
    const file = vfs.open('f', { create: true });
    file.write(0, new TextEncoder().encode('synced'));
    await file.sync();
    file.write(6, new TextEncoder().encode('+lost'));
    file.setLen(4096);
    process.stdout.write('READY\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, fileVfsUrl, writeBackVfsUrl, directory, tier]);
  child.stdout.on('data', (chunk: Buffer) => { if (chunk.toString().includes('READY')) child.kill('SIGKILL'); });
  const [, signal] = await once(child, 'close') as [number | null, string | null];
  if (signal !== 'SIGKILL') throw new Error(`the child was not killed (signal ${signal})`);
  return onDisk(directory, 'f');
}

test('after a SIGKILL only synced writes survive a WriteBackVfs', async (t) => {
  t.is((await writeThenKill(tempDir(t), 'power')).toString(), 'synced');
});

test('after a SIGKILL every write survives plain FileVfs (the page cache outlives the process)', async (t) => {
  const bytes = await writeThenKill(tempDir(t), 'plain');
  t.is(bytes.length, 4096);
  t.is(bytes.subarray(0, 11).toString(), 'synced+lost');
});
