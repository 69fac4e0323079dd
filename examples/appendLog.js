// A small third-party-style store and its crashlab adapter: an append-only log of JSON lines,
// one line per transaction, fsynced before the commit returns; recovery replays every whole
// line and stops at the first torn one. Run it: npx crashlab run --adapter ./examples/appendLog.js
import { defineTarget } from 'crashlab/harness';

const hex = (bytes) => Buffer.from(bytes).toString('hex');

/** The store: all it knows of the disk is one file with read/write/len/sync (crashlab's Storage). */
class AppendLog {
  constructor(file) {
    this.file = file;
    this.state = new Map();
    this.end = 0;
    const text = new TextDecoder().decode(file.read(0, file.len()));
    for (const line of text.split('\n')) {
      if (!line.endsWith('}')) break; // a torn last line: the commit never returned
      let txn;
      try { txn = JSON.parse(line); } catch { break; }
      this.replay(txn);
      this.end += Buffer.byteLength(line) + 1;
    }
  }

  replay(txn) {
    const family = this.state.get(txn.family) ?? new Map();
    this.state.set(txn.family, family);
    for (const op of txn.ops) {
      const table = family.get(op.table) ?? new Map();
      family.set(op.table, table);
      if (op.op === 'insert') table.set(op.key, op.value);
      else if (op.op === 'remove') table.delete(op.key);
      else table.clear();
    }
  }

  async commit(txn) {
    const line = new TextEncoder().encode(`${JSON.stringify(txn)}\n`);
    this.file.write(this.end, line);
    await this.file.sync(); // durable before we say so
    this.end += line.length;
    this.replay(txn);
  }
}

export default defineTarget({
  name: 'example-append-log',
  description: 'an append-only JSON-lines log, fsynced per commit (examples/appendLog.js)',
  capabilities: { families: true, noneCommits: false, ranges: false, synchronous: false },
  contract: { level: 'durable', mayRollBackUnderDamage: true, refusalIsViolation: true, volatileFiles: [] },
  identity: async () => 'examples/appendLog.js',
  async open(vfs) {
    const file = vfs.open('log.jsonl', { create: true });
    if (!vfs.exists('log.jsonl')) throw new Error('log.jsonl vanished');
    await vfs.syncDir(); // the file's directory entry is durable before the first commit
    const store = new AppendLog(file);
    return {
      apply: (txn) => store.commit({ family: txn.family, ops: txn.ops.map((op) => ({ op: op.op, table: op.table, key: op.key && hex(op.key), value: op.value && hex(op.value) })) }),
      readState: async () => new Map([...store.state].map(([f, tables]) => [f, new Map([...tables].map(([t, e]) => [t, new Map(e)]))])),
      close: async () => file.close(),
      abandon: async () => { try { file.close(); } catch { /* crashed */ } },
    };
  },
});
