// The node-fs campaign end to end: a correct fs store shows 0 violations under both file-system models, and each planted durability bug is found, shrunk, and replayed byte-identically.
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { FsModelName } from '../../fault/traceCrash.js';
import { runNodeFsCampaign, type NodeFsCampaignResult } from '../../properties/runNodeFsCampaign.js';
import type { NodeFsAdapter } from '../../targets/nodefs/nodeFsAdapter.js';
import { checkNodeFsConformance, ConformanceError } from '../../properties/conformance.js';
import correct from './fixtures/correctStore.js';
import forgetful from './fixtures/forgetfulStore.js';
import inPlace from './fixtures/inPlaceStore.js';
import noDataSync from './fixtures/noDataSyncStore.js';
import noDirSync from './fixtures/noDirSyncStore.js';

const RUNS = Number(process.env['CRASHLAB_RUNS'] ?? 12);

function campaign(adapter: NodeFsAdapter, file: string, fsModel: FsModelName, seed: number): Promise<NodeFsCampaignResult> {
  const adapterModule = fileURLToPath(new URL(`./fixtures/${file}.js`, import.meta.url));
  return runNodeFsCampaign({ adapter, adapterModule, targetFlag: `--adapter ${file}.js`, packages: {}, fsModel, seed, numRuns: RUNS });
}

for (const fsModel of ['posix', 'ext4'] as const) {
  test(`a correct store (fsync the temp file, rename, fsync the directory) has no violation and no finding under ${fsModel}`, async (t) => {
    const result = await campaign(correct, 'correctStore', fsModel, 11);
    t.true(result.ok, JSON.stringify(result.failure?.violation));
    t.is(result.violations, 0);
    t.deepEqual(result.findings, {});
    t.true(result.crashImages > 10 * RUNS, `only ${result.crashImages} distinct images`);
    t.true(result.judged >= result.crashImages);
  });
}

test('posix: a rename whose directory is never fsynced loses an acknowledged commit; the lint names the unsynced directory; the replay is byte-identical', async (t) => {
  const result = await campaign(noDirSync, 'noDirSyncStore', 'posix', 12);
  t.false(result.ok);
  t.is(result.failure?.violation.kind, 'lost-ack');
  t.true(result.failure?.replayedIdentically);
  t.regex(result.failure!.replay, /^npx crashlab run --adapter noDirSyncStore\.js --fs posix --seed 12 --path \S+ --runs 1$/);
  const explanations = result.failure!.lint.flatMap((ack) => ack.items.map((item) => item.explanation));
  t.true(explanations.some((line) => /director/.test(line)), explanations.join('\n'));
});

test('posix and ext4: renaming a temp file whose data was never fsynced can leave an empty or lost store', async (t) => {
  for (const fsModel of ['posix', 'ext4'] as const) {
    const result = await campaign(noDataSync, 'noDataSyncStore', fsModel, 13);
    t.false(result.ok, fsModel);
    t.true(['unexpected-error', 'lost-ack'].includes(result.failure!.violation.kind), `${fsModel}: ${result.failure!.violation.kind}`);
  }
});

test('posix: a store rewritten in place (truncate, write, fsync) is found torn or unreadable after a crash', async (t) => {
  const result = await campaign(inPlace, 'inPlaceStore', 'posix', 14);
  t.false(result.ok);
  t.not(result.failure?.violation.kind, undefined);
});

test('the conformance self-test passes a correct adapter and refuses one whose readState forgets what it wrote', async (t) => {
  const module = (file: string): string => fileURLToPath(new URL(`./fixtures/${file}.js`, import.meta.url));
  await t.notThrowsAsync(checkNodeFsConformance(correct, module('correctStore'), {}));
  const error = await t.throwsAsync(checkNodeFsConformance(forgetful as NodeFsAdapter, module('forgetfulStore'), {}), { instanceOf: ConformanceError });
  t.regex(error.message, /adapter forgetful-store: a process crash that keeps every write gave lost-ack/);
});
