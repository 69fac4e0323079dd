// The memory fs (memoryFs.ts) against the real one, call by call, on the same tree: the same results and the same errors in the same words (code, syscall, message); what it does not model is refused, never approximated.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { MemoryFs } from '../../../targets/nodefs/memoryFs.js';
import { NodeFsError } from '../../../targets/nodefs/nodeFsError.js';

const image = { files: new Map([['f', new Uint8Array(Buffer.from('hi\n'))], ['d/inner', new Uint8Array(Buffer.from('x'))]]), dirs: new Set(['d']) };

/** A call both ways: `real` on the real tree's root, `memory` on the memory fs's. */
interface Case { readonly name: string; readonly real: (root: string) => Promise<unknown>; readonly memory: (fs: MemoryFs, root: string) => unknown }

const p = fs.promises;
const CASES: Case[] = [
  { name: 'access of a missing file', real: (r) => p.access(path.join(r, 'missing')), memory: (m, r) => m.access(path.join(r, 'missing'), undefined) },
  { name: 'access of a file', real: (r) => p.access(path.join(r, 'f')), memory: (m, r) => m.access(path.join(r, 'f'), undefined) },
  { name: 'mkdir -p over a file', real: (r) => p.mkdir(path.join(r, 'f'), { recursive: true }), memory: (m, r) => m.mkdir(path.join(r, 'f'), { recursive: true }) },
  { name: 'mkdir -p under a file', real: (r) => p.mkdir(path.join(r, 'f/x/y'), { recursive: true }), memory: (m, r) => m.mkdir(path.join(r, 'f/x/y'), { recursive: true }) },
  { name: 'mkdir -p of new folders', real: (r) => p.mkdir(path.join(r, 'n/m'), { recursive: true }), memory: (m, r) => m.mkdir(path.join(r, 'n/m'), { recursive: true }) },
  { name: 'mkdir -p of the root', real: (r) => p.mkdir(r, { recursive: true }), memory: (m, r) => m.mkdir(r, { recursive: true }) },
  { name: 'mkdir of an existing folder', real: (r) => p.mkdir(path.join(r, 'd')), memory: (m, r) => m.mkdir(path.join(r, 'd'), {}) },
  { name: 'mkdir without its parent', real: (r) => p.mkdir(path.join(r, 'zz/y')), memory: (m, r) => m.mkdir(path.join(r, 'zz/y'), {}) },
  { name: 'readFile of a folder', real: (r) => p.readFile(path.join(r, 'd'), 'utf8'), memory: (m, r) => m.readFile(path.join(r, 'd'), 'utf8') },
  { name: 'readFile of a missing file', real: (r) => p.readFile(path.join(r, 'missing'), 'utf8'), memory: (m, r) => m.readFile(path.join(r, 'missing'), 'utf8') },
  { name: 'readFile under a file', real: (r) => p.readFile(path.join(r, 'f/x'), 'utf8'), memory: (m, r) => m.readFile(path.join(r, 'f/x'), 'utf8') },
  { name: 'readFile as text', real: (r) => p.readFile(path.join(r, 'f'), { encoding: 'utf-8' }), memory: (m, r) => m.readFile(path.join(r, 'f'), { encoding: 'utf-8' }) },
  { name: 'readFile as bytes', real: (r) => p.readFile(path.join(r, 'd/inner')), memory: (m, r) => m.readFile(path.join(r, 'd/inner'), undefined) },
  { name: 'writeFile over a folder', real: (r) => p.writeFile(path.join(r, 'd'), 'x'), memory: (m, r) => m.writeFile(path.join(r, 'd'), 'x', undefined) },
  { name: 'writeFile without its parent', real: (r) => p.writeFile(path.join(r, 'zz/x'), 'x'), memory: (m, r) => m.writeFile(path.join(r, 'zz/x'), 'x', undefined) },
  { name: 'rename of a missing file', real: (r) => p.rename(path.join(r, 'missing'), path.join(r, 'x')), memory: (m, r) => m.rename(path.join(r, 'missing'), path.join(r, 'x')) },
  { name: 'rename over a folder', real: (r) => p.rename(path.join(r, 'f'), path.join(r, 'd')), memory: (m, r) => m.rename(path.join(r, 'f'), path.join(r, 'd')) },
  { name: 'rename into a missing folder', real: (r) => p.rename(path.join(r, 'f'), path.join(r, 'zz/f')), memory: (m, r) => m.rename(path.join(r, 'f'), path.join(r, 'zz/f')) },
  { name: 'unlink of a folder', real: (r) => p.unlink(path.join(r, 'd')), memory: (m, r) => m.unlink(path.join(r, 'd')) },
  { name: 'unlink of a missing file', real: (r) => p.unlink(path.join(r, 'missing')), memory: (m, r) => m.unlink(path.join(r, 'missing')) },
  { name: 'open r+ of a folder', real: (r) => p.open(path.join(r, 'd'), 'r+'), memory: (m, r) => m.open(path.join(r, 'd'), 'r+') },
  { name: 'open of a missing file', real: (r) => p.open(path.join(r, 'missing'), 'r'), memory: (m, r) => m.open(path.join(r, 'missing'), 'r') },
];

/** An outcome with the roots taken out: the value, or the error's code, syscall and words. */
async function outcome(run: () => unknown, root: string): Promise<unknown> {
  try {
    const value = await run();
    return { value: typeof value === 'string' ? value.split(root).join('<root>') : Buffer.isBuffer(value) ? value.toString('hex') : value };
  } catch (error) {
    const { code, syscall, message } = error as NodeJS.ErrnoException;
    return { code, syscall, message: message.split(root).join('<root>') };
  }
}

function realTree(t: { teardown(fn: () => void): void }): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-memfs-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, 'd'));
  for (const [name, bytes] of image.files) fs.writeFileSync(path.join(root, name), bytes);
  return root;
}

for (const { name, real, memory } of CASES) {
  test(`${name}: the memory fs answers as the real one`, async (t) => {
    const realRoot = realTree(t);
    const memoryRoot = path.join(os.tmpdir(), 'crashlab-memfs-not-on-disk', 'image');
    const memoryFs = new MemoryFs(memoryRoot, image);
    t.deepEqual(await outcome(() => memory(memoryFs, memoryRoot), memoryRoot), await outcome(async () => {
      const value = await real(realRoot);
      // A FileHandle is not a value to compare: the call succeeded.
      if (typeof value === 'object' && value !== null && 'close' in value) await (value as fs.promises.FileHandle).close();
      return typeof value === 'object' && value !== null && 'close' in value ? 'opened' : value;
    }, realRoot));
    t.false(fs.existsSync(memoryRoot), 'the memory fs wrote to disk');
  });
}

test('a directory opened for reading syncs and closes; a closed descriptor is EBADF; a written file reads back, gaps as zeros', (t) => {
  const root = path.join(os.tmpdir(), 'crashlab-memfs-not-on-disk', 'image');
  const memoryFs = new MemoryFs(root, image);
  const dir = memoryFs.open(root, 'r');
  memoryFs.sync(dir, 'fsync');
  memoryFs.close(dir);
  t.is(t.throws(() => memoryFs.sync(dir, 'fsync'))?.message, 'EBADF: bad file descriptor, fsync');
  const file = memoryFs.open(path.join(root, 'new'), 'w');
  memoryFs.writev(file, [Buffer.from('ab'), Buffer.from('cd')], null);
  memoryFs.write(file, Buffer.from('z'), 0, 1, 6);
  memoryFs.close(file);
  t.is((memoryFs.readFile(path.join(root, 'new'), undefined) as Buffer).toString('hex'), Buffer.from('abcd\0\0z').toString('hex'));
  t.deepEqual([...memoryFs.image().files.keys()], ['d/inner', 'f', 'new']);
});

test('what the memory fs does not model is refused with RECOVERY_FS_UNSUPPORTED', (t) => {
  const root = path.join(os.tmpdir(), 'crashlab-memfs-not-on-disk', 'image');
  const memoryFs = new MemoryFs(root, image);
  const refusals: Array<() => unknown> = [
    () => memoryFs.open(path.join(root, 'f'), 'a'),
    () => memoryFs.open(`${root}/d/../f`, 'r'),
    () => memoryFs.rename(path.join(root, 'd'), path.join(root, 'e')),
    () => memoryFs.readFile(path.join(root, 'f'), { flag: 'a+' }),
    () => memoryFs.access(path.join(root, 'f'), fs.constants.X_OK),
  ];
  for (const refusal of refusals) t.is(t.throws(refusal, { instanceOf: NodeFsError })?.code, 'RECOVERY_FS_UNSUPPORTED');
});
