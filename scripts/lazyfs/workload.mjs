// The child side of scripts/lazyfs/reproduce.mjs: plain Node ESM, no build step.
//
//   node workload.mjs run   <scenario> <dir> <libsDir>   the workload, against a LazyFS mount
//   node workload.mjs check <scenario> <dir> <libsDir>   the recovery, after the crash
//
// It talks to the parent by JSON lines on stdout: {"ack": "..."} once a library promise has
// resolved, {"ready": true} after the last ack (then it idles until the parent SIGKILLs it),
// {"result": {...}} from check. The libraries are the pinned ones installed with
// `npm install --prefix <libsDir>`, never crashlab's own dependencies.
import { createRequire } from 'node:module';
import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [mode, scenario, dir, libsDir] = process.argv.slice(2);
if (!mode || !scenario || !dir || !libsDir) {
  console.error('usage: node workload.mjs run|check <scenario> <dir> <libsDir>');
  process.exit(2);
}
const requireFromLibs = createRequire(join(libsDir, 'package.json'));
const load = async (specifier) => import(pathToFileURL(requireFromLibs.resolve(specifier)).href);
const say = (message) => process.stdout.write(`${JSON.stringify(message)}\n`);
const ack = (what) => say({ ack: what });

async function readText(file) {
  try {
    return { exists: true, text: await readFile(file, 'utf8') };
  } catch (error) {
    if (error.code === 'ENOENT') return { exists: false };
    throw error;
  }
}

// The control: every step a correct atomic replace needs, directory fsync included.
async function durableReplace(file, text) {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  const dirHandle = await open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

async function lowdbRun(writes) {
  const { JSONFilePreset } = await load('lowdb/node');
  const db = await JSONFilePreset(join(dir, 'db.json'), { posts: [] });
  for (let id = 1; id <= writes; id++) {
    db.data.posts.push({ id, title: `post ${id}` });
    await db.write();
    ack(`db.write() #${id} resolved`);
  }
}

async function lowdbCheck() {
  const { JSONFilePreset } = await load('lowdb/node');
  try {
    const db = await JSONFilePreset(join(dir, 'db.json'), { posts: [] });
    return { ok: true, posts: db.data.posts.map((post) => post.id) };
  } catch (error) {
    return { ok: false, error: `${error.name}: ${error.message}` };
  }
}

// db.json made durable first (fsync + rename + dir fsync), then one lowdb write over it.
async function lowdbOverDurable() {
  await durableReplace(join(dir, 'db.json'), `${JSON.stringify({ posts: [{ id: 1, title: 'post 1' }] }, null, 2)}\n`);
  ack('seed db.json with posts [1], fsynced');
  const { JSONFilePreset } = await load('lowdb/node');
  const db = await JSONFilePreset(join(dir, 'db.json'), { posts: [] });
  db.data.posts.push({ id: 2, title: 'post 2' });
  await db.write();
  ack('db.write() #2 resolved');
}

const scenarios = {
  'lowdb-empty': {
    run: async () => lowdbRun(2),
    check: lowdbCheck,
  },
  'lowdb-empty-first': {
    run: async () => lowdbRun(1),
    check: lowdbCheck,
  },
  'lowdb-empty-durable': {
    run: lowdbOverDurable,
    check: lowdbCheck,
  },
  'write-file-atomic-lost': {
    run: async () => {
      const { default: writeFileAtomic } = await load('write-file-atomic');
      const file = join(dir, 'state.txt');
      await writeFileAtomic(file, 'v1\n');
      ack('writeFileAtomic(v1) resolved');
      await writeFileAtomic(file, 'v2\n');
      ack('writeFileAtomic(v2) resolved');
    },
    check: async () => ({ ok: true, ...(await readText(join(dir, 'state.txt'))) }),
  },
  'nedb-lost': {
    run: async () => {
      const { default: Datastore } = await load('@seald-io/nedb');
      const db = new Datastore({ filename: join(dir, 'nedb.db') });
      await db.loadDatabaseAsync();
      for (let n = 1; n <= 5; n++) {
        await db.insertAsync({ _id: `doc${n}`, n });
        ack(`insertAsync(doc${n}) resolved`);
      }
    },
    check: async () => {
      const { default: Datastore } = await load('@seald-io/nedb');
      try {
        const db = new Datastore({ filename: join(dir, 'nedb.db') });
        await db.loadDatabaseAsync();
        const docs = await db.findAsync({});
        return { ok: true, ids: docs.map((doc) => doc._id).sort() };
      } catch (error) {
        return { ok: false, error: `${error.name}: ${error.message}` };
      }
    },
  },
  'correct-store': {
    run: async () => {
      const file = join(dir, 'state.txt');
      await durableReplace(file, 'v1\n');
      ack('durableReplace(v1) resolved');
      await durableReplace(file, 'v2\n');
      ack('durableReplace(v2) resolved');
    },
    check: async () => ({ ok: true, ...(await readText(join(dir, 'state.txt'))) }),
  },
};

const chosen = scenarios[scenario];
if (!chosen) {
  console.error(`unknown scenario ${scenario}`);
  process.exit(2);
}
if (mode === 'run') {
  await chosen.run();
  say({ ready: true });
  // Idle, holding whatever the library still has open, until the parent's SIGKILL.
  setInterval(() => {}, 1 << 30);
} else if (mode === 'check') {
  say({ result: await chosen.check() });
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
