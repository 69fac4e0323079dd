// Recovery from memory (memoryFs.ts) against recovery on real files: for every built-in target, over the crash images of drawn cases under both fs models, the same states, refusals and files left; a planted fault in the memory fs is caught by the same comparison; a call the memory fs does not model fails the run, even when the library swallows the error.
import { fileURLToPath } from 'node:url';
import test from 'ava';
import fc from 'fast-check';
import type { DirImage } from '../../../fault/trace.js';
import { installAdapterPackages } from '../../../cli/nodeFsRun.js';
import { statesEqual } from '../../../model/commitHistory.js';
import { runNodeFsCrashCase } from '../../../properties/nodeFsCrashCase.js';
import { nodeFsCaseArb } from '../../../properties/runNodeFsCampaign.js';
import { CaptureServer } from '../../../targets/nodefs/captureTrace.js';
import type { MemoryFsFault } from '../../../targets/nodefs/memoryFs.js';
import { NodeFsError } from '../../../targets/nodefs/nodeFsError.js';
import { RecoveryPool, type ImageRecoverer, type Recovered } from '../../../targets/nodefs/recoveryPool.js';
import { builtInNodeFsTargets, type NodeFsTarget } from '../../../targets/registry.js';

const CASES = 6;

/** What differs between two recoveries of one image (empty: none), files left included. */
function recoveryDifferences(real: Recovered, memory: Recovered): string[] {
  if (real.kind !== memory.kind) return [`${real.kind} on real files, ${memory.kind} from memory${memory.kind === 'refused' ? ` (${memory.message})` : real.kind === 'refused' ? ` (${real.message})` : ''}`];
  const differences: string[] = [];
  if (real.kind === 'state' && memory.kind === 'state' && (real.stateKey !== memory.stateKey || !statesEqual(real.state, memory.state))) differences.push('different states');
  if (real.kind === 'refused' && memory.kind === 'refused' && (real.message !== memory.message || real.code !== memory.code)) differences.push(`refused with "${real.message}" (${real.code}) on real files, "${memory.message}" (${memory.code}) from memory`);
  if (real.kind !== 'hang' && memory.kind !== 'hang') differences.push(...fileDifferences(real.files, memory.files));
  return differences;
}

function fileDifferences(real: DirImage | undefined, memory: DirImage | undefined): string[] {
  if (real === undefined || memory === undefined) return ['no files sent back'];
  const differences: string[] = [];
  if (JSON.stringify([...real.dirs]) !== JSON.stringify([...memory.dirs])) differences.push(`folders ${JSON.stringify([...real.dirs])} on real files, ${JSON.stringify([...memory.dirs])} from memory`);
  if (JSON.stringify([...real.files.keys()]) !== JSON.stringify([...memory.files.keys()])) differences.push(`files ${JSON.stringify([...real.files.keys()])} on real files, ${JSON.stringify([...memory.files.keys()])} from memory`);
  for (const [name, bytes] of real.files) {
    const other = memory.files.get(name);
    if (other !== undefined && !Buffer.from(bytes).equals(Buffer.from(other))) differences.push(`${name} left with different bytes`);
  }
  return differences;
}

/** Recovers every image both ways, answers real files' answers, and keeps what differed. */
class ComparingRecoverer implements ImageRecoverer {
  readonly differences: string[] = [];
  readonly kinds = new Map<string, number>();
  compared = 0;
  constructor(private readonly real: RecoveryPool, private readonly memory: RecoveryPool) {}

  async recoverAll(images: readonly DirImage[]): Promise<Recovered[]> {
    const [real, memory] = await Promise.all([this.real.recoverAll(images), this.memory.recoverAll(images)]);
    for (const [index, answer] of real.entries()) {
      this.compared++;
      this.kinds.set(answer.kind, (this.kinds.get(answer.kind) ?? 0) + 1);
      for (const difference of recoveryDifferences(answer, memory[index]!)) this.differences.push(`image ${this.compared}: ${difference}`);
    }
    return real;
  }

  async close(): Promise<void> {
    await this.real.close();
    await this.memory.close();
  }
}

/** Runs `CASES` drawn cases of `target` under both fs models, every image recovered both ways. */
async function compareOn(target: NodeFsTarget, fault: MemoryFsFault | undefined): Promise<ComparingRecoverer> {
  const packages = await installAdapterPackages(target.adapter);
  const options = { adapterModule: target.module, packages, seed: 1, workers: 1, returnFiles: true };
  const recoverer = new ComparingRecoverer(new RecoveryPool(options), new RecoveryPool({ ...options, memory: true, memoryFault: fault }));
  const server = new CaptureServer();
  try {
    for (const drawn of fc.sample(nodeFsCaseArb(target.adapter), { seed: 15, numRuns: CASES })) {
      for (const fsModel of ['posix', 'ext4'] as const) {
        await runNodeFsCrashCase({
          adapter: target.adapter, adapterModule: target.module, packages, txns: drawn.txns, fsModel, sectorBytes: drawn.sectorBytes, atomicSector: drawn.atomicSector,
          pointsPerCase: 64, plansPerPoint: 8, seed: drawn.seed, contract: 'none', pool: recoverer, server,
        });
      }
    }
  } finally {
    server.close();
    await recoverer.close();
  }
  return recoverer;
}

for (const target of builtInNodeFsTargets()) {
  test(`${target.adapter.name}: every crash image recovers from memory to the state, refusal and files it recovers to on real files`, async (t) => {
    const compared = await compareOn(target, undefined);
    t.deepEqual(compared.differences, []);
    t.true(compared.compared >= 100, `only ${compared.compared} images compared`);
    t.log(`${compared.compared} images: ${JSON.stringify(Object.fromEntries(compared.kinds))}`);
  });

  // nedb is deaf to this fault (its lines end in a newline, and a torn line is corrupt either way): its planted fault is a dropped write, below.
  if (target.adapter.name !== 'nedb') test(`${target.adapter.name}: a memory fs that hides each file's last byte from reads is caught by the comparison`, async (t) => {
    const compared = await compareOn(target, { kind: 'lose-last-byte' });
    t.true(compared.differences.length > 0);
  });
}

test('nedb: a memory fs that drops a write (of its compaction) is caught by the comparison of the files left', async (t) => {
  const nedb = builtInNodeFsTargets().find((target) => target.adapter.name === 'nedb')!;
  const compared = await compareOn(nedb, { kind: 'drop-write', nth: 1 });
  t.true(compared.differences.some((difference) => difference.includes('different bytes')), compared.differences.slice(0, 3).join('\n'));
});

test('a call the memory fs does not model fails the run, though the library swallowed the error', async (t) => {
  const adapterModule = fileURLToPath(new URL('./fixtures/swallowedStat.js', import.meta.url));
  const image = { files: new Map([['store.json', new Uint8Array(Buffer.from('[]'))]]), dirs: new Set<string>() };
  const real = new RecoveryPool({ adapterModule, packages: {}, seed: 1, workers: 1 });
  const memory = new RecoveryPool({ adapterModule, packages: {}, seed: 1, workers: 1, memory: true });
  try {
    t.is((await real.recoverAll([image]))[0]?.kind, 'state');
    const error = await t.throwsAsync(memory.recoverAll([image]), { instanceOf: NodeFsError });
    t.is(error?.code, 'RECOVERY_FS_UNSUPPORTED');
    t.regex(error?.message ?? '', /fs\.promises\.stat/);
  } finally {
    await real.close();
    await memory.close();
  }
});
