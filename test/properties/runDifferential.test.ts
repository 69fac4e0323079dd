// runDifferential turns a failing run into a seed, a path and a replay that fails the same way.
import test from 'ava';
import { MemoryVfs, type OpenOptions, type Storage, type Vfs } from '../../engine/index.js';
import type { VfsFactory } from '../../properties/differential.js';
import { parseReplayPath } from '../../properties/replayPath.js';
import { runDifferential, type DifferentialFailure } from '../../properties/runDifferential.js';
import { plantBug } from '../../mutants/plantEngine.js';

/**
 * A harness fault, not an engine bug: the third fsync of a run fails. Creating the file takes
 * one, so the first immediate commit (two more) fails, and the engine rightly reports it.
 */
function failingThirdSync(): VfsFactory {
  return async () => {
    const inner = new MemoryVfs();
    let syncs = 0;
    const vfs: Vfs = {
      open(name: string, options: OpenOptions): Storage {
        const storage = inner.open(name, options);
        return {
          len: () => storage.len(),
          read: (offset, length) => storage.read(offset, length),
          write: (offset, data) => storage.write(offset, data),
          setLen: (length) => storage.setLen(length),
          close: () => storage.close(),
          sync: async () => {
            if (++syncs === 3) throw new Error('injected fsync failure');
            await storage.sync();
          },
        };
      },
      remove: (name) => inner.remove(name),
      exists: (name) => inner.exists(name),
      syncDir: () => inner.syncDir(),
    };
    return { vfs, cleanup: async () => {} };
  };
}

async function findFailure(seed: number): Promise<DifferentialFailure> {
  const result = await runDifferential({ seed, numRuns: 100, vfs: 'memory', makeVfs: failingThirdSync() });
  if (result.ok) throw new Error('the injected fault went unnoticed');
  return result;
}

test('a failure names its seed and path and shrinks to one commit', async (t) => {
  const failure = await findFailure(7);
  t.is(failure.seed, 7);
  t.not(parseReplayPath(failure.path), null);
  t.true(failure.path.includes('@'), 'a commands path carries its replay hint');
  // One transaction: committed by a command, or by the end of the run (which commits an open writer).
  t.is(failure.counterexample.match(/beginWrite/g)?.length, 1, failure.counterexample);
  t.true((failure.counterexample.match(/commit\(/g)?.length ?? 0) <= 1, failure.counterexample);
  t.regex(failure.error, /injected fsync failure/);
  t.is(failure.replay, `node dist/cli/main.js differential --seed 7 --path '${failure.path}' --runs 1 --vfs memory`);
});

test('replaying the path fails at once with the same counterexample', async (t) => {
  const failure = await findFailure(11);
  const replay = await runDifferential({ seed: 11, numRuns: 1, path: failure.path, vfs: 'memory', makeVfs: failingThirdSync() });
  if (replay.ok) return t.fail('the replay passed');
  t.is(replay.numRuns, 1);
  t.is(replay.numShrinks, 0);
  t.is(replay.counterexample, failure.counterexample);
  t.is(replay.path, failure.path);
});

test('a path that leads nowhere under the seed is a ReplayError, a malformed one a TypeError', async (t) => {
  await t.throwsAsync(runDifferential({ seed: 1, numRuns: 1, path: '0:999:999@A:A', vfs: 'memory' }), { name: 'ReplayError' });
  await t.throwsAsync(runDifferential({ seed: 1, numRuns: 1, path: 'x', vfs: 'memory' }), { instanceOf: TypeError });
});

test('the same seed gives the same verdict and the same number of runs', async (t) => {
  const a = await runDifferential({ seed: 3, numRuns: 20, vfs: 'memory' });
  const b = await runDifferential({ seed: 3, numRuns: 20, vfs: 'memory' });
  t.deepEqual(a, b);
  t.true(a.ok);
});

test('the engine under test is injected: a planted tree bug fails the property, without shrinking when asked', async (t) => {
  // The parent keeps a stale separator after a redistribution: a get misses keys a scan returns.
  const engine = await plantBug('redistribute-stale-separator');
  let failure: DifferentialFailure | undefined;
  for (let seed = 1; seed <= 20 && failure === undefined; seed++) {
    const result = await runDifferential({ seed, numRuns: 5, vfs: 'memory', engine, shrink: false });
    if (!result.ok) failure = result;
  }
  if (failure === undefined) return t.fail('the planted bug went unnoticed over 20 seeds');
  t.is(failure.kind, 'mismatch');
  t.is(failure.numShrinks, 0);
  t.log(`seed ${failure.seed}, path ${failure.path}: ${failure.error}`);
  // The same seeds pass against the reference engine.
  t.true((await runDifferential({ seed: failure.seed, numRuns: 5, vfs: 'memory' })).ok);
});
