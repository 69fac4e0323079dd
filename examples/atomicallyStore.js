// A node-fs adapter for a library crashlab has no built-in target for: `atomically` 2.1.1, whose
// `writeFile` writes a temporary file, fsyncs it and renames it over the target ("it's impossible
// to get a corrupt/partially-written file", its README). A settings store keeps every table in one
// JSON file written that way. The library runs unchanged: crashlab traces its fs calls in a child
// and builds the crash images from the trace.
// Run it: npx crashlab run --adapter ./examples/atomicallyStore.js --fs posix --seed 1 --runs 20
import path from 'node:path';
import { defineNodeFsAdapter } from 'crashlab/harness';

const hex = (bytes) => Buffer.from(bytes).toString('hex');

function applyOps(tables, ops) {
  for (const op of ops) {
    const table = (tables[op.table] ??= {});
    if (op.op === 'insert') table[hex(op.key)] = hex(op.value);
    else if (op.op === 'remove') delete table[hex(op.key)];
    else tables[op.table] = {};
  }
}

function stateOf(tables) {
  const family = new Map(Object.entries(tables).map(([name, rows]) => [name, new Map(Object.entries(rows))]));
  return new Map([['f0', family]]);
}

export default defineNodeFsAdapter({
  tier: 'node-fs',
  name: 'example-atomically',
  description: 'atomically 2.1.1 writeFile (temp file, fsync, rename; no directory fsync)',
  capabilities: { families: false, noneCommits: false, ranges: false, synchronous: false, transactions: true },
  // What its README promises: the file is never corrupt or partial. Nothing about durability.
  contract: { level: 'atomic', mayRollBackUnderDamage: true, refusalIsViolation: true, volatileFiles: [] },
  packages: { atomically: '2.1.1' },
  async open(dir, context) {
    const { readFile, writeFile } = await context.load('atomically');
    const file = path.join(dir, 'settings.json');
    const text = await readFile(file, 'utf8').catch((error) => (error.code === 'ENOENT' ? null : Promise.reject(error)));
    const tables = text === null ? {} : JSON.parse(text);
    return {
      async apply(txn) {
        applyOps(tables, txn.ops);
        await writeFile(file, JSON.stringify(tables));
      },
      async readState() {
        return stateOf(tables);
      },
      async close() {},
    };
  },
});
