// Every benchmark's bad flag or value: one line naming it, exit 2, no stack trace (bench/benchMain.ts).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { BenchUsageError } from '../../bench/benchMain.js';
import { positiveInteger } from '../../bench/positiveInteger.js';

const bench = (name: string): string => fileURLToPath(new URL(`../../bench/${name}.js`, import.meta.url));

for (const [name, argv, said] of [
  ['harness', ['--campaign-runs', '0'], /^bench: --campaign-runs wants positive integers, not 0/],
  ['fuzzOpens', ['--bogus'], /^bench: unknown argument --bogus/],
  ['targets', ['--runs', 'x'], /^bench: --runs wants a positive integer, not x/],
  ['engine', ['--keys', '-3'], /^bench: --keys wants a positive integer, not -3/],
] as const) {
  test(`bench ${name} ${argv.join(' ')} is exit 2 with one line naming the flag`, (t) => {
    const result = spawnSync(process.execPath, [bench(name), ...argv], { encoding: 'utf8', timeout: 60_000 });
    t.is(result.status, 2, result.stderr);
    t.regex(result.stderr, said);
    t.is(result.stderr.trim().split('\n').length, 1, 'no stack trace');
  });
}

test('positiveInteger refuses with a BenchUsageError naming the flag', (t) => {
  t.is(positiveInteger('--opens', '12'), 12);
  t.throws(() => positiveInteger('--opens', '0'), { instanceOf: BenchUsageError, message: /--opens wants a positive integer, not 0/ });
});
