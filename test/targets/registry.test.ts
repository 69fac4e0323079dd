// Naming and loading targets: built-in names resolve, unknown names and broken adapters fail with a typed error that names the cause, and a loaded adapter is checked before it is trusted.
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { checkConformance, ConformanceError, runCampaign } from '../../api/harness.js';
import { builtInTargets, loadAdapter, resolveTarget, TargetError } from '../../targets/registry.js';
import { defineTarget, type Target } from '../../targets/target.js';

const EXAMPLE = path.resolve('examples/appendLog.js');
const scratch = path.resolve('.crashlab/test-adapters');

function adapterFile(name: string, text: string): string {
  fs.mkdirSync(scratch, { recursive: true });
  const file = path.join(scratch, name);
  fs.writeFileSync(file, text);
  return file;
}

test('built-in targets resolve by name: the reference engine and every SQLite configuration', (t) => {
  t.is(resolveTarget('reference').contract.level, 'durable');
  t.is(resolveTarget('sqlite:wal-normal').contract.level, 'prefix');
  t.is(resolveTarget('sqlite:delete-full').contract.level, 'prefix');
  t.is(resolveTarget('sqlite:memory-full').contract.level, 'none');
  t.is(builtInTargets().length, 1 + 6 * 4);
});

test('an unknown target is UNKNOWN_TARGET, naming where the list is', (t) => {
  const error = t.throws(() => resolveTarget('sqlite:wall-full'), { instanceOf: TargetError });
  t.is(error?.code, 'UNKNOWN_TARGET');
  t.regex(error?.message ?? '', /crashlab targets/);
});

test('a missing adapter file, one that exports nothing, and one that breaks the interface are BAD_ADAPTER with the reason', async (t) => {
  const missing = await t.throwsAsync(() => loadAdapter('./no/such/adapter.js'), { instanceOf: TargetError });
  t.regex(missing?.message ?? '', /no such file/);
  const empty = await t.throwsAsync(() => loadAdapter(adapterFile('empty.mjs', 'export const x = 1;\n')), { instanceOf: TargetError });
  t.regex(empty?.message ?? '', /exports no target/);
  const broken = await t.throwsAsync(() => loadAdapter(adapterFile('broken.mjs', "export default { name: 'broken', description: '', capabilities: { families: true }, contract: { level: 'durable' }, identity() {}, open() {} };\n")), { instanceOf: TargetError });
  t.regex(broken?.message ?? '', /capabilities\.noneCommits/);
  t.throws(() => defineTarget({ ...resolveTarget('reference'), contract: { level: 'sturdy' } } as unknown as Target), { instanceOf: TypeError, message: /contract\.level must be one of/ });
});

test('the example adapter loads, passes the conformance self-test and a small campaign', async (t) => {
  const target = await loadAdapter(EXAMPLE);
  await checkConformance(target);
  const result = await runCampaign({ target, targetFlag: '--adapter ./examples/appendLog.js', seed: 3, numRuns: 12 });
  t.true(result.ok, JSON.stringify(result.failure?.violation));
  t.true(result.crashImages > 50);
});

test('the example with its fsync planted out is caught, with a replay line naming the adapter', async (t) => {
  const source = fs.readFileSync(EXAMPLE, 'utf8');
  t.true(source.includes('await this.file.sync();'));
  const lying = await loadAdapter(adapterFile('lying.mjs', source.replace('await this.file.sync();', '/* planted: no fsync */')));
  const result = await runCampaign({ target: lying, targetFlag: '--adapter lying.mjs', seed: 3, numRuns: 40 });
  t.false(result.ok);
  t.is(result.failure?.violation.kind, 'lost-ack');
  t.regex(result.failure?.replay ?? '', /--adapter lying\.mjs --seed 3 --path \S+ --runs 1/);
});

test('an adapter whose readState forgets what it wrote fails the conformance self-test, not the campaign', async (t) => {
  const source = fs.readFileSync(EXAMPLE, 'utf8');
  const forgetful = await loadAdapter(adapterFile('forgetful.mjs', source.replace('readState: async () => new Map(', 'readState: async () => new Map() ?? new Map(')));
  await t.throwsAsync(() => checkConformance(forgetful), { instanceOf: ConformanceError, message: /round trip/ });
});
