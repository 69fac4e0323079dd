/**
 * The child of a process kill (ARCHITECTURE.md section 4): runs a crash workload on real files
 * until its parent (processKill.ts) sends SIGKILL, and tells the parent every fact the oracle
 * needs, one JSON line per event on stdout (killProtocol.ts):
 *   family   after the family's creation resolved (creation is durable before it resolves)
 *   issue    just BEFORE commit() is called: the WAL append happens synchronously inside it
 *            (or before a family is deleted or created, with `change`: a `drop` step)
 *   ack/fail just after the commit settled, before anything else of this txn runs
 *   error    anything unexpected (also a clean reopen that lost data); then exit code 2
 * Every line is written with a blocking write to fd 1 before the worker goes on, so an ack is
 * never printed before its commit resolved and, once printed, it sits in the pipe, which a
 * kill does not empty. A kill can cut only the line being written; the parent drops it.
 *
 * After the last step the workload starts again, with fresh values, and so on until killed:
 * the parent always kills mid-flight. Checkpoint and reopen steps run in every round.
 *
 * Usage: node dist/properties/killWorker.js '<KillWorkerArgs as JSON>'   ('-': read it from stdin)
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { FileVfs } from '../engine/fileVfs.js';
import * as referenceEngine from '../engine/index.js';
import type { Vfs } from '../engine/storage.js';
import { Prng } from '../fault/prng.js';
import { WriteBackVfs } from '../fault/writeBackVfs.js';
import { CommitHistory, statesEqual, type ModelOp } from '../model/commitHistory.js';
import type { EngineUnderTest, FamilyUnderTest, StoreUnderTest } from '../recovery/checkImage.js';
import { readState } from '../recovery/readState.js';
import { expandOps } from './workloadShapes.js';
import { familyName, prepareTxn, recreateFamily, type ChangeRunner, type TxnSpec, type Workload } from './crashWorkload.js';
import { engineForWorkload } from './singleFileStore.js';
import { opToWire, workloadFromWire, type KillWorkerArgs, type ReportLine } from './killProtocol.js';

function errnoCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
}

/** One whole line per call, blocking until it is all in the pipe (see the header for why). */
function report(line: ReportLine): void {
  const bytes = Buffer.from(`${JSON.stringify(line)}\n`);
  let doneBytes = 0;
  while (doneBytes < bytes.length) {
    try {
      doneBytes += fs.writeSync(1, bytes, doneBytes, bytes.length - doneBytes);
    } catch (error) {
      // A non-blocking pipe that is full: the parent is reading, so try again.
      if (errnoCode(error) !== 'EAGAIN') throw error;
    }
  }
}

/** A later round's values carry the round's salt, so every round writes values no other did. */
function freshen(ops: readonly ModelOp[], salt: number | null): readonly ModelOp[] {
  if (salt === null) return ops;
  const tail = Buffer.alloc(4);
  tail.writeUInt32BE(salt);
  return ops.map((op) => op.op !== 'insert' ? op : { ...op, value: new Uint8Array(Buffer.concat([op.value, tail])) });
}

class KillWorker {
  readonly history = new CommitHistory();
  db: StoreUnderTest | null = null;
  families: FamilyUnderTest[] = [];

  constructor(readonly engine: EngineUnderTest, readonly vfs: Vfs, readonly workload: Workload) {}

  async open(): Promise<void> {
    const db = await this.engine.ColumnFamilyDatabase.open(this.vfs, this.workload.options);
    this.db = db;
    this.families = [];
    for (let i = 0; i < this.workload.families; i++) {
      const name = familyName(i);
      this.families.push(await db.columnFamily(name));
      if (this.history.familyNames().includes(name)) continue;
      this.history.addFamily(name);
      report({ t: 'family', name });
    }
  }

  /** A clean close and reopen must lose nothing: not even a `none` commit. */
  async reopen(): Promise<void> {
    await this.db!.close();
    await this.open();
    if (statesEqual(await readState(this.db!), this.history.stateAfter(this.history.all().length))) return;
    report({ t: 'error', kind: 'clean-reopen', detail: 'after a clean close and reopen the state differs from every commit applied' });
    process.exit(2);
  }

  /** Reports commit `i` just issued, runs `work` for it, then settles and reports its outcome. */
  async tracked<T>(i: number, issued: ReportLine, work: () => Promise<T>): Promise<T> {
    report(issued);
    let value: T;
    try {
      value = await work();
    } catch (error) {
      this.history.settle(i, 'failed');
      report({ t: 'fail', i, detail: String(error) });
      throw error;
    }
    this.history.settle(i, 'acked');
    report({ t: 'ack', i });
    return value;
  }

  /** A `drop` step: the family deleted and created again, each change a commit of its own. */
  async recreate(index: number): Promise<void> {
    const runChange: ChangeRunner = (family, change, work) => {
      const i = this.history.issue(family, [], 'immediate', change);
      return this.tracked(i, { t: 'issue', i, family, ops: [], durability: 'immediate', change }, work);
    };
    this.families[index] = await recreateFamily(this.db!, index, runChange);
  }

  async runTxn(spec: TxnSpec, salt: number | null): Promise<void> {
    const family = this.families[spec.family]!;
    // Ops off the wire are the model's already (killProtocol.ts expands bulk specs).
    const ops = freshen(expandOps(spec.ops, undefined), salt);
    const txn = await prepareTxn(family, ops, spec.abort);
    if (txn === null) return;
    const i = this.history.issue(family.name, ops, spec.durability);
    const issued: ReportLine = { t: 'issue', i, family: family.name, ops: ops.map(opToWire), durability: spec.durability };
    await this.tracked(i, issued, () => txn.commit({ durability: spec.durability }));
  }

  /** Runs the workload round after round; returns only by throwing (or by being killed). */
  async runForever(seed: number): Promise<never> {
    const salts = new Prng(seed);
    await this.open();
    for (let round = 0; ; round++) {
      const salt = round === 0 ? null : salts.nextU32();
      for (const step of this.workload.steps) {
        if (step.kind === 'checkpoint') await this.db!.checkpoint();
        else if (step.kind === 'reopen') await this.reopen();
        else if (step.kind === 'drop') await this.recreate(step.family);
        else if (step.kind === 'txns') {
          const results = await Promise.allSettled(step.txns.map((spec) => this.runTxn(spec, salt)));
          const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
          if (failed !== undefined) throw failed.reason;
        }
      }
      // A round of aborts only never leaves the microtask queue: let the event loop breathe.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}

async function loadEngine(engineModule: string | undefined): Promise<EngineUnderTest> {
  if (engineModule === undefined) return referenceEngine;
  return await import(pathToFileURL(engineModule).href) as EngineUnderTest;
}

async function main(argument: string | undefined): Promise<void> {
  if (argument === undefined) throw new TypeError('usage: killWorker.js <json-args> | -');
  const args = JSON.parse(argument === '-' ? fs.readFileSync(0, 'utf8') : argument) as KillWorkerArgs;
  const files = new FileVfs(args.dir);
  const vfs = args.tier === 'power' ? new WriteBackVfs(files) : files;
  const workload = workloadFromWire(args.workload);
  const worker = new KillWorker(engineForWorkload(await loadEngine(args.engineModule), workload), vfs, workload);
  await worker.runForever(args.seed);
}

try {
  await main(process.argv[2]);
} catch (error) {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  // The parent gone (EPIPE) leaves nobody to tell; anything else is worth a line.
  if (errnoCode(error) !== 'EPIPE') report({ t: 'error', kind: 'worker-error', detail });
  process.exit(2);
}
