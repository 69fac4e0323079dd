// Budgets that are budgets, through the crashlab binary: certify states its split of --budget
// first, a mutant not killed in its time is inconclusive (exit 3), mutants prints each verdict
// as it lands.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

function crashlab(t: { teardown: (fn: () => void) => void }, ...argv: string[]): { status: number | null; stdout: string; stderr: string; ms: number; cwd: string } {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-budget-'));
  t.teardown(() => fs.rmSync(cwd, { recursive: true, force: true }));
  const started = performance.now();
  const result = spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8', cwd, timeout: 180_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: performance.now() - started, cwd };
}

test('a mutants budget that is not below the whole budget is exit 2 saying why', (t) => {
  const bad = crashlab(t, 'certify', '--budget', '5', '--mutants-budget', '5');
  t.is(bad.status, 2);
  t.regex(bad.stderr, /^crashlab: --mutants-budget 5 must be less than --budget 5: --budget is the whole time/);
});

test('certify states the split first, prints each mutant verdict, and is inconclusive (exit 3) when mutants ran out of time', (t) => {
  const run = crashlab(t, 'certify', '--budget', '4', '--mutants-budget', '1', '--kills', '0', '--seed', '3', '--out', 'cert');
  t.is(run.status, 3, run.stdout + run.stderr);
  const lines = run.stdout.split('\n');
  t.regex(lines[0]!, /^crashlab certify: seed 3 \(given\), out cert; budget 4 s in all: 3 s for the matrix \(the kill tiers, then 48 crash cells in equal shares\), 1 s for the mutants/);
  t.regex(run.stdout, /^ {2}inconclusive +\S+ .*\[\d+\/\d+\]$/m, 'each verdict as it lands');
  t.regex(run.stdout, /^ {2}INCONCLUSIVE: mutants: mutation score/m);
  t.regex(run.stdout, /^INCONCLUSIVE \(no violation, no survivor/m);
  const cert = JSON.parse(fs.readFileSync(path.join(run.cwd, 'cert', 'certificate.json'), 'utf8')) as { budgetSplit: unknown; mutation: { inconclusive: unknown[]; survivors: unknown[] } };
  t.deepEqual(cert.budgetSplit, { matrixSeconds: 3, mutantsSeconds: 1, mutantsSkipped: null });
  t.true(cert.mutation.inconclusive.length > 0);
  t.deepEqual(cert.mutation.survivors, [], 'a mutant stopped by its time is not a survivor');
  t.regex(fs.readFileSync(path.join(run.cwd, 'cert', 'certificate.md'), 'utf8'), /^# crashlab durability certificate: INCONCLUSIVE/);
});

test('mutants prints each verdict as it lands and exits 3 when one ran out of its time', (t) => {
  // skippast-after-log-reset needs minutes of crash seeds: in 10 s it cannot be killed; ack-before-wal-fsync dies in about one.
  const run = crashlab(t, 'mutants', '--only', 'ack-before-wal-fsync,skippast-after-log-reset', '--budget', '10');
  t.is(run.status, 3, run.stdout + run.stderr);
  t.regex(run.stdout, /^crashlab mutants: budget 10 s for the whole run/);
  t.regex(run.stdout, /^ {2}killed +ack-before-wal-fsync +\d+ ms by \w+ seed \d+#\d+ \(\S+\) +\[\d\/2\]$/m);
  t.regex(run.stdout, /^ {2}inconclusive +skippast-after-log-reset .*\[\d\/2\]$/m);
  t.regex(run.stdout, /^INCONCLUSIVE skippast-after-log-reset: /m);
  t.regex(run.stdout, /1 inconclusive/);
  t.true(run.ms < 45_000, `the budget bounds the run: ${Math.round(run.ms)} ms`);
});
