// The engine agrees with the in-memory model on random transaction sequences (in memory and on real files).
import test from 'ava';
import { failureMessage, runDifferential, type VfsKind } from '../../properties/runDifferential.js';
import { campaignSeed } from '../campaignSeed.js';

const { seed } = campaignSeed(2_026_112_402);

/** Enough runs to reach deep trees, eviction and overflow chains, in a few seconds each. */
const CAMPAIGNS: ReadonlyArray<{ vfs: VfsKind; numRuns: number }> = [
  { vfs: 'memory', numRuns: 300 },
  { vfs: 'real', numRuns: 40 },
];

for (const { vfs, numRuns } of CAMPAIGNS) {
  test(`differential: ${numRuns} runs on ${vfs} storage, seed ${seed}`, async (t) => {
    const result = await runDifferential({ seed, numRuns, vfs });
    if (!result.ok) t.fail(failureMessage(result));
    else t.is(result.numRuns, numRuns);
  });
}
