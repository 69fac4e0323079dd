// The seed of a CI-sized property campaign: fixed by default, so that CI is deterministic and a
// red run is a real regression that replays, never the luck of the draw. CRASHLAB_SEED=N replays
// seed N; CRASHLAB_SEED=random explores a new one (printed in the test title, so it replays).
import { SEED_MAX } from '../properties/runDifferential.js';

export interface CampaignSeed {
  readonly seed: number;
  readonly source: 'default' | 'CRASHLAB_SEED' | 'drawn';
}

export function campaignSeed(defaultSeed: number): CampaignSeed {
  if (!(Number.isSafeInteger(defaultSeed) && defaultSeed >= 0 && defaultSeed <= SEED_MAX)) {
    throw new RangeError(`default seed out of range: ${defaultSeed}`);
  }
  const text = process.env['CRASHLAB_SEED'];
  if (text === undefined || text === '') return { seed: defaultSeed, source: 'default' };
  // Tests may draw; the engine, fault and model code never do (ARCHITECTURE.md section 6).
  if (text === 'random') return { seed: Math.floor(Math.random() * (SEED_MAX + 1)), source: 'drawn' };
  const seed = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(seed <= SEED_MAX)) throw new TypeError(`CRASHLAB_SEED must be an integer in [0, ${SEED_MAX}] or "random", not ${text}`);
  return { seed, source: 'CRASHLAB_SEED' };
}
