#!/usr/bin/env node
// Reproduces a crashlab finding on a real crash outside crashlab's model, with LazyFS
// (https://github.com/dsrhaslab/lazyfs): a FUSE file system that keeps every unsynced write in
// its own page cache and drops it on `lazyfs::clear-cache`, as a power failure would.
//
//   node scripts/lazyfs/reproduce.mjs <scenario> [--runs N] [--keep] [--log-ops]
//
// One run: a fresh root dir and mount dir under /tmp, a config written here, LazyFS mounted
// over them; the workload runs in a CHILD node process against the mount (so every write goes
// through the kernel and FUSE) until it has reported its acknowledgements; then clear-cache
// (waiting for LazyFS's finished::clear-cache), SIGKILL of the child, fusermount3 -u. The
// underlying root dir is the disk after the power cut: it is listed as is, then LazyFS is
// mounted again over the same root and a second child runs the library's own recovery there.
// One JSON line per run: {scenario, library, reproduced, observed, expected, ...}.
// Exit 0 when every run worked, whatever the verdict; 2 on a harness problem.
//
// Environment: CRASHLAB_LAZYFS_DIR (default ~/.cache/crashlab/lazyfs), CRASHLAB_LAZYFS_BIN
// (the lazyfs binary; default: looked for under CRASHLAB_LAZYFS_DIR), CRASHLAB_LAZYFS_LIBS
// (where the pinned libraries are installed; default CRASHLAB_LAZYFS_DIR/libs).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, mkdir, open, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { Socket } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const cacheDir = process.env.CRASHLAB_LAZYFS_DIR || join(homedir(), '.cache', 'crashlab', 'lazyfs');
const libsDir = resolve(process.env.CRASHLAB_LAZYFS_LIBS || join(cacheDir, 'libs'));
const LIBRARIES = ['lowdb@7.0.1', 'write-file-atomic@7.0.1', '@seald-io/nedb@4.1.2'];

const SCENARIOS = {
  'lowdb-empty': {
    library: 'lowdb@7.0.1',
    expected: 'db.json parses and holds posts [1,2] (both db.write() promises resolved)',
    judge: (r) => (r.ok ? sameIds(r.posts, [1, 2]) : false),
    describe: (r) => (r.ok ? `JSONFilePreset loads posts ${JSON.stringify(r.posts)}` : `JSONFilePreset throws ${r.error}`),
  },
  'lowdb-empty-first': {
    library: 'lowdb@7.0.1',
    expected: 'db.json (absent before) parses and holds posts [1] (db.write() resolved)',
    judge: (r) => (r.ok ? sameIds(r.posts, [1]) : false),
    describe: (r) => (r.ok ? `JSONFilePreset loads posts ${JSON.stringify(r.posts)}` : `JSONFilePreset throws ${r.error}`),
  },
  'lowdb-empty-durable': {
    library: 'lowdb@7.0.1',
    expected: 'db.json parses and holds posts [1,2] (db.write() resolved; [1] was fsynced before)',
    judge: (r) => (r.ok ? sameIds(r.posts, [1, 2]) : false),
    describe: (r) => (r.ok ? `JSONFilePreset loads posts ${JSON.stringify(r.posts)}` : `JSONFilePreset throws ${r.error}`),
  },
  'write-file-atomic-lost': {
    library: 'write-file-atomic@7.0.1',
    expected: 'state.txt holds v2 (writeFileAtomic(v2) resolved; fsync of the temp file on, no directory fsync)',
    judge: (r) => r.exists && r.text === 'v2\n',
    describe: (r) => (r.exists ? `state.txt holds ${JSON.stringify(r.text)}` : 'state.txt is missing'),
  },
  'nedb-lost': {
    library: '@seald-io/nedb@4.1.2',
    expected: 'a new Datastore loads doc1..doc5 (each insertAsync resolved)',
    judge: (r) => (r.ok ? sameIds(r.ids, ['doc1', 'doc2', 'doc3', 'doc4', 'doc5']) : false),
    describe: (r) => (r.ok ? `a new Datastore loads ${r.ids.length} docs ${JSON.stringify(r.ids)}` : `a new Datastore refuses to load: ${r.error}`),
  },
  'correct-store': {
    library: 'control (writeFile tmp + fsync tmp + rename + fsync dir)',
    expected: 'state.txt holds v2',
    judge: (r) => r.exists && r.text === 'v2\n',
    describe: (r) => (r.exists ? `state.txt holds ${JSON.stringify(r.text)}` : 'state.txt is missing'),
  },
};

function sameIds(got, want) {
  return got.length === want.length && want.every((id) => got.includes(id));
}

class HarnessError extends Error {}

const sleep = (ms) => new Promise((done) => setTimeout(done, ms));

async function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new HarnessError(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function findLazyfs() {
  const candidates = [
    process.env.CRASHLAB_LAZYFS_BIN,
    join(cacheDir, 'bin', 'lazyfs'),
    join(cacheDir, 'src', 'lazyfs', 'build', 'lazyfs'),
    join(cacheDir, 'lazyfs', 'build', 'lazyfs'),
  ].filter(Boolean);
  const found = candidates.find((path) => existsSync(path));
  if (!found) {
    throw new HarnessError(`no LazyFS binary (looked at ${candidates.join(', ')}); run scripts/lazyfs/install.sh or set CRASHLAB_LAZYFS_BIN`);
  }
  return found;
}

function ensureLibraries() {
  const present = ['lowdb', 'write-file-atomic', '@seald-io/nedb'].every((name) => existsSync(join(libsDir, 'node_modules', name, 'package.json')));
  if (present) return;
  const npm = spawnSync('npm', ['install', '--prefix', libsDir, '--no-audit', '--no-fund', ...LIBRARIES], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (npm.status !== 0) throw new HarnessError(`npm install --prefix ${libsDir} ${LIBRARIES.join(' ')} failed`);
}

async function isMounted(mountDir) {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  return info.split('\n').some((line) => line.split(' ')[4] === mountDir);
}

function configToml(run) {
  return [
    '[faults]',
    `fifo_path="${run.fifo}"`,
    `fifo_path_completed="${run.doneFifo}"`,
    '[cache]',
    'apply_eviction=false',
    '[cache.simple]',
    'custom_size="256mb"',
    'blocks_per_page=1',
    '[filesystem]',
    `log_all_operations=${run.logOps ? 'true' : 'false'}`,
    `logfile="${run.logfile}"`,
    '',
  ].join('\n');
}

// The fifo LazyFS answers on. LazyFS's fault thread opens it O_WRONLY when it starts and blocks
// there (reading no command) until a reader exists, and a write to it with no reader raises
// SIGPIPE in LazyFS: so it is held open, O_RDWR, from before the first mount until after the last.
async function holdDoneFifo(path) {
  const handle = await open(path, fsConstants.O_RDWR | fsConstants.O_NONBLOCK);
  // The Socket gets the fd; the FileHandle stays referenced (closed in close()) so that GC does not close it.
  const socket = new Socket({ fd: handle.fd, readable: true, writable: false });
  let buffered = '';
  const waiters = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk) => {
    buffered += chunk;
    while (waiters.length && buffered.includes('finished::clear-cache')) {
      buffered = buffered.replace('finished::clear-cache', '');
      waiters.shift()();
    }
  });
  return {
    next: () => new Promise((done) => waiters.push(done)),
    close: async () => {
      socket.destroy();
      await handle.close().catch(() => {});
    },
  };
}

async function mountLazyfs(run, phase) {
  const lazyfs = spawn(run.bin, [run.mnt, '--config-path', run.config, '-o', 'allow_other', '-o', 'modules=subdir', '-o', `subdir=${run.root}`, '-f'], {
    stdio: ['ignore', run.outFd, run.outFd],
  });
  const exited = new Promise((done) => lazyfs.on('exit', (code, signal) => done({ code, signal })));
  let gone = null;
  void exited.then((how) => { gone = how; });
  for (let waited = 0; !(await isMounted(run.mnt)); waited += 50) {
    if (gone) throw new HarnessError(`${phase}: lazyfs exited before mounting (${JSON.stringify(gone)}); see ${run.out}`);
    if (waited > 15000) throw new HarnessError(`${phase}: lazyfs did not mount ${run.mnt} within 15 s; see ${run.out}`);
    await sleep(50);
  }
  return { process: lazyfs, exited };
}

async function unmountLazyfs(run, mount) {
  if (await isMounted(run.mnt)) {
    let result = spawnSync('fusermount3', ['-u', run.mnt], { encoding: 'utf8' });
    for (let tries = 0; result.status !== 0 && tries < 20; tries++) {
      await sleep(100);
      result = spawnSync('fusermount3', ['-u', run.mnt], { encoding: 'utf8' });
    }
    if (result.status !== 0) throw new HarnessError(`fusermount3 -u ${run.mnt} failed: ${result.stderr.trim()}`);
  }
  try {
    await withTimeout(mount.exited, 5000, 'lazyfs to exit after the unmount');
  } catch (error) {
    mount.process.kill('SIGKILL');
    await mount.exited;
    throw error;
  }
}

// A child node process running workload.mjs; resolves with its JSON messages once `until`
// matches one, or when it exits.
function startChild(run, mode, until) {
  const env = { ...process.env };
  delete env.NODE_ENV; // lowdb's JSONFilePreset swaps in an in-memory adapter when NODE_ENV=test
  const child = spawn(process.execPath, [join(here, 'workload.mjs'), mode, run.scenario, run.mnt, libsDir], {
    cwd: run.mnt,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const messages = [];
  let stderr = '';
  const exited = new Promise((done) => child.on('exit', (code, signal) => done({ code, signal })));
  const reached = new Promise((done, fail) => {
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      partial += chunk;
      let newline;
      while ((newline = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, newline);
        partial = partial.slice(newline + 1);
        if (!line.trim()) continue;
        const message = JSON.parse(line);
        messages.push(message);
        if (until(message)) done(messages);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => { stderr += chunk; });
    void exited.then(({ code, signal }) => {
      if (messages.some(until)) return;
      fail(new HarnessError(`workload ${mode} exited (code ${code}, signal ${signal}) before it was done: ${stderr.trim().slice(-800)}`));
    });
  });
  return { child, exited, reached };
}

// The disk after the power cut: the underlying root dir, read directly.
async function listDisk(root) {
  const entries = [];
  for (const name of (await readdir(root)).sort()) {
    const path = join(root, name);
    const info = await stat(path);
    const entry = { name, size: info.size };
    if (info.isFile()) {
      const text = await readFile(path, 'utf8');
      entry.head = text.length > 160 ? `${text.slice(0, 160)}…` : text;
    }
    entries.push(entry);
  }
  return entries;
}

function diskSummary(disk) {
  if (disk.length === 0) return 'the root dir is empty';
  return disk.map((entry) => `${entry.name} (${entry.size} B${entry.size > 0 && entry.head !== undefined ? `: ${JSON.stringify(entry.head)}` : ''})`).join(', ');
}

async function oneRun(scenarioName, runIndex, options) {
  const scenario = SCENARIOS[scenarioName];
  // No '-' in the path: LazyFS's main() takes a --config-path value that contains "-o" (any
  // case) for a FUSE option and silently falls back to config/default.toml (seen here as a
  // SIGABRT before mounting, twice in ~50 runs, when mkdtemp's suffix began with o or O).
  const base = await mkdtemp('/tmp/crashlab_lazyfs_');
  const run = {
    scenario: scenarioName,
    bin: options.bin,
    base,
    root: join(base, 'root'),
    mnt: join(base, 'mnt'),
    config: join(base, 'lazyfs.toml'),
    fifo: join(base, 'faults.fifo'),
    doneFifo: join(base, 'faults-done.fifo'),
    logfile: join(base, 'lazyfs.log'),
    out: join(base, 'lazyfs.out'),
    logOps: options.logOps,
  };
  if (/-o/i.test(run.config)) throw new HarnessError(`config path ${run.config} contains "-o", which LazyFS would take for an option`);
  await mkdir(run.root);
  await mkdir(run.mnt);
  await writeFile(run.config, configToml(run));
  spawnSync('mkfifo', ['-m', '0600', run.fifo, run.doneFifo]);
  const outHandle = await open(run.out, 'a');
  run.outFd = outHandle.fd;
  const done = await holdDoneFifo(run.doneFifo);
  let mount = null;
  let workload = null;
  let failed = true;
  try {
    // 1. The workload, through LazyFS, until every acknowledgement is in.
    mount = await mountLazyfs(run, 'the first mount');
    workload = startChild(run, 'run', (message) => message.ready === true);
    const messages = await withTimeout(workload.reached, 60000, 'the workload acknowledgements');
    const acks = messages.filter((message) => message.ack).map((message) => message.ack);
    const beforeCut = await listDisk(run.mnt); // through the mount: what the application sees

    // 2. The power cut: LazyFS drops every unsynced write; then the process dies, the fs goes.
    const cleared = done.next();
    await writeFile(run.fifo, 'lazyfs::clear-cache\n');
    await withTimeout(cleared, 10000, 'finished::clear-cache from LazyFS');
    workload.child.kill('SIGKILL');
    await workload.exited;
    workload = null;
    await unmountLazyfs(run, mount);
    mount = null;
    const disk = await listDisk(run.root);

    // 3. Recovery: LazyFS again over the same root, the library's own load in a new process.
    mount = await mountLazyfs(run, 'the remount');
    const check = startChild(run, 'check', (message) => message.result !== undefined);
    const result = (await withTimeout(check.reached, 60000, 'the recovery check')).find((message) => message.result).result;
    await check.exited;
    await unmountLazyfs(run, mount);
    mount = null;

    failed = false;
    const survived = scenario.judge(result);
    return {
      scenario: scenarioName,
      library: scenario.library,
      run: runIndex,
      reproduced: !survived,
      observed: `on disk after the cut: ${diskSummary(disk)}; recovery: ${scenario.describe(result)}`,
      expected: scenario.expected,
      acks,
      beforeCut: diskSummary(beforeCut),
      dir: options.keep ? base : undefined,
    };
  } finally {
    if (workload) {
      workload.child.kill('SIGKILL');
      await workload.exited;
    }
    if (mount) {
      await unmountLazyfs(run, mount).catch(() => {});
    }
    await done.close();
    await outHandle.close();
    // A failed run keeps its dir (config, lazyfs.out, lazyfs.log, root) for a look.
    if (failed) console.error(`run dir kept: ${base}`);
    else if (!options.keep && !(await isMounted(run.mnt))) await rm(base, { recursive: true, force: true });
  }
}

async function main() {
  const args = process.argv.slice(2);
  const scenarioName = args.find((arg) => !arg.startsWith('--') && !/^\d+$/.test(arg));
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 1;
  const options = { keep: args.includes('--keep'), logOps: args.includes('--log-ops') };
  if (!scenarioName || !SCENARIOS[scenarioName] || !(runs >= 1)) {
    console.error(`usage: node scripts/lazyfs/reproduce.mjs <${Object.keys(SCENARIOS).join('|')}> [--runs N] [--keep] [--log-ops]`);
    return 2;
  }
  try {
    if (process.getuid && process.getuid() !== 0 && !existsSync('/etc/fuse.conf')) {
      console.error('note: allow_other needs user_allow_other in /etc/fuse.conf when not root');
    }
    if (!existsSync('/dev/fuse')) throw new HarnessError('/dev/fuse is missing');
    options.bin = findLazyfs();
    ensureLibraries();
    for (let index = 1; index <= runs; index++) {
      console.log(JSON.stringify(await oneRun(scenarioName, index, options)));
    }
    return 0;
  } catch (error) {
    console.error(`harness problem: ${error instanceof HarnessError ? error.message : error.stack}`);
    return 2;
  }
}

process.exitCode = await main();
