// The engine agrees with the in-memory model on random transaction sequences (in memory and on real files).
import test from 'ava';
import { failureMessage, runDifferential, SEED_MAX, type VfsKind } from '../../properties/runDifferential.js';

/** CRASHLAB_SEED replays a campaign; otherwise each test run explores a new one. */
function campaignSeed(): number {
  const text = process.env['CRASHLAB_SEED'];
  if (text === undefined || text === '') return Math.floor(Math.random() * (SEED_MAX + 1));
  const seed = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(seed <= SEED_MAX)) throw new TypeError(`CRASHLAB_SEED must be an integer in [0, ${SEED_MAX}], not ${text}`);
  return seed;
}

const seed = campaignSeed();

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
