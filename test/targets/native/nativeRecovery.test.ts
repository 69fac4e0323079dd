// Native recovery in processes: a known-bad image inside a batch still fails alone (the canary), an engine that dies on an image costs only that image, each process sees a fresh boot id, and without a mount namespace the run fails with the reason.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { DirImage } from '../../../fault/trace.js';
import { BOOT_ID_FILE } from '../../../targets/native/bootNamespace.js';
import type { NativeAdapter } from '../../../targets/native/nativeAdapter.js';
import { nativeRecoveryPool } from '../../../targets/native/nativeDriver.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}.js`, import.meta.url));
const encoder = new TextEncoder();

async function adapterOf(name: string): Promise<NativeAdapter> {
  return (await import(fixture(name)) as { default: NativeAdapter }).default;
}

function logImage(text: string): DirImage {
  return { files: new Map([['log', encoder.encode(text)]]), dirs: new Set() };
}

const row = (i: number): string => `${JSON.stringify([Buffer.from(`Rt0\0${i}`).toString('hex'), 'ab'])}\n`;

test('canary: one unreadable image among 40 good ones fails alone, in batches of 16 per process over 2 lanes', async (t) => {
  const pool = nativeRecoveryPool({ adapter: await adapterOf('fsStore'), adapterModule: fixture('fsStore'), packages: {}, seed: 1, workers: 2, batchImages: 16 });
  try {
    const images = Array.from({ length: 41 }, (_, i) => logImage(i === 23 ? '["broken' : row(i)));
    const answers = await pool.recoverAll(images);
    t.is(answers.length, 41);
    t.is(answers[23]?.kind, 'refused');
    for (const [i, answer] of answers.entries()) {
      if (i === 23) continue;
      t.is(answer.kind, 'state', `image ${i}`);
      if (answer.kind === 'state') t.deepEqual([...answer.state.get('f0')!.get('t0')!.keys()], [Buffer.from(String(i)).toString('hex')]);
    }
  } finally {
    await pool.close();
  }
});

test('an engine that aborts its process on an image costs that image only: a fresh process recovers the rest', async (t) => {
  const pool = nativeRecoveryPool({ adapter: await adapterOf('fsStore'), adapterModule: fixture('fsStore'), packages: {}, seed: 1, workers: 1 });
  try {
    const answers = await pool.recoverAll([logImage(row(1)), logImage('die'), logImage(row(2))]);
    t.deepEqual(answers.map((answer) => answer.kind), ['state', 'refused', 'state']);
    t.regex(answers[1]?.kind === 'refused' ? answers[1].message : '', /recovery died \(SIGABRT/);
  } finally {
    await pool.close();
  }
});

test('a target that trusts the boot identity recovers under a fresh boot id per process, never this boot\'s', async (t) => {
  const pool = nativeRecoveryPool({ adapter: await adapterOf('bootIdStore'), adapterModule: fixture('bootIdStore'), packages: {}, seed: 5, workers: 1, batchImages: 1 });
  try {
    const answers = await pool.recoverAll([logImage(''), logImage('')]);
    const ids = answers.map((answer) => (answer.kind === 'state' ? Buffer.from([...answer.state.get('f0')!.get('boot')!.keys()][0]!, 'hex').toString('utf8') : answer.kind));
    const thisBoot = fs.readFileSync(BOOT_ID_FILE, 'utf8').trim();
    t.is(ids.length, 2);
    for (const id of ids) {
      t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-8[0-9a-f]{3}-[0-9a-f]{12}$/);
      t.not(id, thisBoot);
    }
    t.not(ids[0], ids[1], 'each recovery process has its own boot');
  } finally {
    await pool.close();
  }
});

test('where no private mount namespace can be made, a target that trusts the boot identity fails with NO_BOOT_NAMESPACE and the reason, never skips', (t) => {
  const script = `import { nativeRecoveryPool } from ${JSON.stringify(new URL('../../../targets/native/nativeDriver.js', import.meta.url).href)};
    const adapter = (await import(${JSON.stringify(fixture('bootIdStore'))})).default;
    try { nativeRecoveryPool({ adapter, adapterModule: ${JSON.stringify(fixture('bootIdStore'))}, packages: {}, seed: 1 }); console.log('no error'); }
    catch (error) { console.log(error.code, error.message); }`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, CRASHLAB_UNSHARE: '/nonexistent/unshare' }, timeout: 60_000 });
  t.regex(run.stdout, /^NO_BOOT_NAMESPACE .*fresh boot id.*ENOENT/s, run.stderr);
});
