// Focus: `crashlab certify` end to end: a short budgeted matrix run against the reference engine (ok, every cell run) and a planted bug (caught, with a replay), plus compare and merge on hand-made certificates.
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import {
  CERTIFICATE_FORMAT, cellProfile, certificateOk, certificateVerdict, compareCertificates, crashCellId, engineSourceHash, mergeCertificates,
  parseCertificate, readCertificate, renderCertificate, replayCell, runCertify, writeCertificate, type Certificate, type CertificateCell, type CertificateMutation,
} from '../../cli/certify.js';
import { plantBug } from '../../mutants/plantEngine.js';
import { captured } from '../captureConsole.js';

test.serial('certify against the reference engine: ok, every matrix cell run, stable engine hash, both files written', async (t) => {
  const started = performance.now();
  const mutants = ['ack-before-wal-fsync', 'delete-sync-wal-leadsyncrounds'];
  // --budget is the whole: 8 s of matrix, 120 s at most for the two mutants (they die in seconds).
  const cert = await runCertify({ budgetSeconds: 128, seed: 11, killsPerTier: 1, mutants: { budgetSeconds: 120, only: mutants } });
  t.deepEqual(cert.budgetSplit, { matrixSeconds: 8, mutantsSeconds: 120, mutantsSkipped: null });
  const seconds = (performance.now() - started) / 1000;
  t.log(`${cert.cells.length} cells, ${cert.totals.runs} cases, ${cert.totals.images} crash images, ${cert.totals.kills} kills, ${seconds.toFixed(1)} s`);
  t.true(certificateOk(cert), JSON.stringify(cert.failures));
  t.is(cert.cells.length, 4 * 2 * 3 * 2 + 2);
  for (const cell of cert.cells) {
    t.is(cell.skipped, null, cell.id);
    t.true(cell.runs > 0, `${cell.id} ran`);
    t.true(cell.images > 0, `${cell.id} judged crash images`);
  }
  t.true(cert.totals.faultsSurvived.errors > 0 && cert.totals.faultsSurvived.corruption > 0 && cert.totals.faultsSurvived['recovery-crash'] > 0);
  t.is(cert.totals.kills, 2);
  // The mutants ran after the matrix (here two, one hand-written and one generated) and were killed.
  t.is(cert.mutationScore, 1);
  t.like(cert.mutation, { score: 1, killed: 2, survived: 0, errors: 0, survivors: [] });
  t.is(Object.values(cert.mutation!.killedBy).reduce((sum, count) => sum + count, 0), 2);
  t.is(cert.mutationSkipped, null);
  t.regex(cert.engine.hash, /^[0-9a-f]{64}$/);
  t.is(cert.engine.hash, (await engineSourceHash()).hash, 'the hash depends on the sources only');

  const dir = await mkdtemp(path.join(os.tmpdir(), 'crashlab-cert-'));
  try {
    const written = await writeCertificate(cert, path.join(dir, 'out'));
    t.deepEqual(await readCertificate(written.json), JSON.parse(JSON.stringify(cert)) as Certificate);
    const markdown = await readFile(written.markdown, 'utf8');
    t.regex(markdown, /PASSED/);
    t.regex(markdown, /mutation score: 100\.0% \(2 killed, 0 survived/);
    t.regex(markdown, /time to kill median \d+(\.\d+)? ms, p90 \d+ ms, max \d+ ms/);
    t.regex(markdown, /- catalog: 1\/1 killed \(100\.0%\)/);
    t.regex(markdown, /- durability: 1\/1 killed \(100\.0%\)/);
    t.regex(markdown, /errors\/wal-aware\/buf16\/page4096/);
    t.regex(markdown, new RegExp(cert.engine.hash));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.serial('certify against ack-before-wal-fsync is not ok and names the violation with a replay command that reproduces it', async (t) => {
  const engine = await plantBug('ack-before-wal-fsync');
  const cert = await runCertify({ budgetSeconds: 3, seed: 11, engine, plant: 'ack-before-wal-fsync' });
  t.false(certificateOk(cert));
  t.is(cert.engine.plant, 'ack-before-wal-fsync', 'the plant is part of the certificate identity');
  t.regex(renderCertificate(cert), /engine: ack-before-wal-fsync \(planted mutant --plant ack-before-wal-fsync/);
  // merge refuses to mix a planted certificate with the engine's own (exit 2 at the command line).
  const dir = await mkdtemp(path.join(os.tmpdir(), 'crashlab-plantmerge-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'a.json'), JSON.stringify(cert));
  await writeFile(path.join(dir, 'b.json'), JSON.stringify({ ...cert, engine: { ...cert.engine, plant: null } }));
  const merge = spawnSync(process.execPath, [fileURLToPath(new URL('../../cli/main.js', import.meta.url)), 'merge', 'a.json', 'b.json', '--out', 'm'], { cwd: dir, encoding: 'utf8' });
  t.is(merge.status, 2, merge.stderr);
  t.regex(merge.stderr, /^crashlab: cannot merge certificates of different planted mutants: --plant ack-before-wal-fsync \(1\/1\) vs --plant none/);
  t.true(cert.failures.length > 0);
  t.true(cert.cells.filter((cell) => cell.kind === 'kill').every((cell) => cell.skipped !== null), 'kill tiers cannot run a planted engine');
  t.is(cert.mutation, null);
  t.regex(cert.mutationSkipped ?? '', /patches of the reference engine/);
  const failure = cert.failures[0]!;
  t.log(`${failure.cell}: ${failure.kind}: ${failure.detail}\n${failure.replay}`);
  t.is(failure.kind, 'lost-ack');
  t.regex(failure.replay, /^node dist\/cli\/certify\.js --replay \S+ --seed \d+ --path '[\d:]+' --plant ack-before-wal-fsync$/);
  const replayed = await captured(() => replayCell(failure.cell, failure.seed, failure.path ?? undefined, { engine }));
  t.is(replayed.value, 1, 'the replay fails again');
  t.regex(replayed.out, new RegExp(`^VIOLATION \\(${failure.cell}\\): lost-ack at I/O event ${failure.crashAt}`, 'm'));
});

test('cellProfile pins barrier, page size and write buffer, and picks the fault kind', (t) => {
  const profile = cellProfile(crashCellId('corruption', 'wal-aware', 16, 512));
  t.deepEqual(profile.overrides, { barrier: 'wal-aware', pageBytes: 512, writeBufferBytes: 16 * 512 });
  t.deepEqual([profile.errors, profile.corruption, profile.recoveryCrash], [false, true, false]);
  t.throws(() => cellProfile('nope/always/buf2/page512'), { instanceOf: TypeError });
});

function handMade(overrides: { hash?: string; shard?: string; cells?: Partial<CertificateCell>[]; failures?: Certificate['failures']; mutation?: CertificateMutation }): Certificate {
  const cell = (fields: Partial<CertificateCell>): CertificateCell => ({
    id: 'crash/always/buf2/page512', kind: 'crash', faults: 'crash', barrier: 'always', writeBufferPages: 2, pageBytes: 512, tier: null,
    runs: 10, images: 100, events: 400, violations: 0, ms: 1000, chunks: [{ seed: 1, runs: 10, shard: overrides.shard ?? '1/1' }],
    faultsSurvived: { crash: 100, errors: 0, corruption: 0, 'recovery-crash': 0, kill: 0 }, crashPoints: { 'sync wal': 60, 'write data': 40 }, skipped: null, ...fields,
  });
  const cells = (overrides.cells ?? [{}]).map(cell);
  const failures = overrides.failures ?? [];
  return {
    format: CERTIFICATE_FORMAT,
    engine: { label: 'reference', hash: overrides.hash ?? 'a'.repeat(64), hashedFrom: 'engine/*.ts', files: 25 },
    createdAt: '2025-01-01T00:00:00.000Z', seeds: [1], shards: [overrides.shard ?? '1/1'], profile: 'default', budgetSeconds: 10, elapsedMs: 10_000,
    matrix: { faults: ['crash'], barriers: ['always'], writeBufferPages: [2], pageBytes: [512], killTiers: [], killsPerTier: 0 },
    cells, failures, mutationScore: overrides.mutation?.score ?? null, mutation: overrides.mutation ?? null, mutationSkipped: overrides.mutation === undefined ? 'the mutants budget is 0' : null,
    totals: {
      runs: cells.reduce((s, c) => s + c.runs, 0), images: cells.reduce((s, c) => s + c.images, 0), events: cells.reduce((s, c) => s + c.events, 0),
      kills: 0, violations: cells.reduce((s, c) => s + c.violations, 0), faultsSurvived: { crash: 100, errors: 0, corruption: 0, 'recovery-crash': 0, kill: 0 },
    },
  };
}

const lostAck = { cell: 'crash/always/buf2/page512', shard: '1/1', seed: 5, path: '3:1', kind: 'lost-ack', detail: 'commit #2 lost', crashAt: 17, replay: "node dist/cli/certify.js --replay crash/always/buf2/page512 --seed 5 --path '3:1'" };

test('compareCertificates shows the engine change, per-cell numbers and new failures', (t) => {
  const before = handMade({});
  const after = handMade({ hash: 'b'.repeat(64), cells: [{ runs: 12, images: 130, violations: 1 }, { id: 'kill/plain', kind: 'kill', runs: 2 }], failures: [lostAck] });
  const diff = compareCertificates(before, after);
  t.log(diff);
  t.regex(diff, /verdict: PASSED -> FAILED/);
  t.regex(diff, /engine: CHANGED `a{16}` -> `b{16}`/);
  t.regex(diff, /\| crash\/always\/buf2\/page512 \| 10 -> 12 \(\+2\) \| 100 -> 130 \(\+30\) \| 0 -> 1 \| NEW VIOLATION \|/);
  t.regex(diff, /kill\/plain .* new cell/);
  t.regex(diff, /## New failures\n\n- \*\*crash\/always\/buf2\/page512\*\*: lost-ack: commit #2 lost\n {2}- replay: `node dist\/cli\/certify\.js/);
  const back = compareCertificates(after, before);
  t.regex(back, /fixed/);
  t.regex(back, /## Failures gone\n\n- crash\/always\/buf2\/page512: lost-ack/);
  t.regex(compareCertificates(before, before), /engine: unchanged/);
});

test('mergeCertificates sums cells by id, unites failures, and refuses different engines', (t) => {
  const a = handMade({ shard: '1/2' });
  const b = handMade({ shard: '2/2', cells: [{ runs: 5, images: 50, violations: 1 }], failures: [lostAck] });
  const merged = mergeCertificates([a, b]);
  t.deepEqual(merged.shards, ['1/2', '2/2']);
  t.is(merged.cells.length, 1);
  t.is(merged.cells[0]!.runs, 15);
  t.is(merged.cells[0]!.images, 150);
  t.is(merged.cells[0]!.chunks.length, 2);
  t.is(merged.totals.runs, 15);
  t.is(merged.totals.violations, 1);
  t.deepEqual(merged.failures, [lostAck]);
  t.false(certificateOk(merged));
  t.true(certificateOk(mergeCertificates([a, a])));
  t.is(a.cells[0]!.runs, 10, 'inputs are not modified');
  t.is(mergeCertificates([b, b]).failures.length, 1, 'the same failure is listed once');
  t.throws(() => mergeCertificates([a, handMade({ hash: 'c'.repeat(64) })]), { message: /different engines/ });
  t.throws(() => mergeCertificates([]), { instanceOf: TypeError });
  t.throws(() => parseCertificate('{"format":"other"}', 'x.json'), { instanceOf: TypeError, message: /x\.json: not a crashlab certificate/ });
});

const survivorRun: CertificateMutation = {
  score: 0.5, killed: 1, survived: 1, equivalent: 0, errors: 0, excluded: 0, medianMsToKill: 900, maxMsToKill: 900, budgetSeconds: 60,
  survivors: [{ name: 'delete-sync-wal-leadsyncrounds', status: 'survived', description: 'delete-sync at wal.js:247' }], killedBy: { 'lost-ack': 1 },
};

test('a surviving mutant fails the certificate, and compare and the markdown name it', (t) => {
  const clean = handMade({});
  t.true(certificateOk(clean));
  const bitten = handMade({ mutation: survivorRun });
  t.false(certificateOk(bitten), 'no violation anywhere, but the harness missed a mutant');
  t.regex(renderCertificate(bitten), /FAILED[\s\S]*mutation score: 50\.0% \(1 killed, 1 survived[\s\S]*SURVIVED delete-sync-wal-leadsyncrounds/);
  t.regex(compareCertificates(clean, bitten), /mutation score: not measured -> 50\.0%/);
  t.regex(renderCertificate(clean), /mutation score: not measured \(the mutants budget is 0\)/);
});

test('a certificate written before the mutation run existed still parses, with the run marked not recorded', (t) => {
  const { mutation: _mutation, mutationSkipped: _skipped, ...old } = handMade({});
  const cert = parseCertificate(JSON.stringify(old));
  t.is(cert.mutation, null);
  t.regex(cert.mutationSkipped ?? '', /not recorded/);
  t.true(certificateOk(cert));
});

test('merge keeps the mutation run of the shard that ran it', (t) => {
  const merged = mergeCertificates([handMade({ shard: '1/2', mutation: survivorRun }), handMade({ shard: '2/2' })]);
  t.is(merged.mutationScore, 0.5);
  t.deepEqual(merged.mutation, survivorRun);
  t.is(merged.mutationSkipped, null);
});

test('merge adds up the mutants each shard ran: counts, survivors, inconclusive ones, kill times and the score', (t) => {
  const shardRun = (shard: string, times: number[], inconclusive: string[]): CertificateMutation => ({
    score: 0, killed: times.length, survived: 0, equivalent: 1, errors: 0, excluded: shard === '1/2' ? 3 : 0, medianMsToKill: null, maxMsToKill: null, budgetSeconds: 30,
    survivors: [], inconclusive: inconclusive.map((name) => ({ name, status: 'inconclusive', description: 'its time ran out' })), killedBy: { 'lost-ack': times.length },
    groups: { catalog: { killed: times.length, survived: 0, inconclusive: inconclusive.length, equivalent: 1, errors: 0, score: 0, medianMsToKill: null, p90MsToKill: null, maxMsToKill: null } },
    killTimesMs: { catalog: times, durability: [], structural: [] }, shards: [shard],
  });
  const merged = mergeCertificates([handMade({ shard: '1/2', mutation: shardRun('1/2', [100, 300], []) }), handMade({ shard: '2/2', mutation: shardRun('2/2', [200], ['slow-one']) })]);
  const m = merged.mutation!;
  t.like(m, { killed: 3, survived: 0, equivalent: 2, excluded: 3, medianMsToKill: 200, maxMsToKill: 300, budgetSeconds: 60, killedBy: { 'lost-ack': 3 }, shards: ['1/2', '2/2'] });
  t.is(m.score, 3 / 4, 'killed over killed, survived and inconclusive');
  t.deepEqual(m.inconclusive?.map((x) => x.name), ['slow-one']);
  t.like(m.groups?.['catalog'], { killed: 3, inconclusive: 1, medianMsToKill: 200 });
  t.is(certificateVerdict(merged), 'INCONCLUSIVE');
});
