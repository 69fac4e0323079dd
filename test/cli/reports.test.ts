// JUnit and HTML carry every failure of a run, the saved regressions marked as such; the HTML
// opens with a summary and says each violation in one sentence; a 0-byte value is shown.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { corpusDir, isStale, listFailures } from '../../cli/corpus.js';
import { renderReports } from '../../cli/report.js';
import { violationSentence } from '../../cli/violationSentence.js';
import type { IoEvent } from '../../fault/faultyVfs.js';
import type { Violation } from '../../properties/crashCase.js';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

test('a run with a saved regression and a new failure lists both in JUnit and HTML, each marked, with the summary first', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-reports-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const crashlab = (...argv: string[]) => spawnSync(process.execPath, [MAIN, ...argv], { encoding: 'utf8', cwd: dir, timeout: 120_000 });
  const planted = ['--plant', 'ack-before-wal-fsync', '--runs', '50', '--profile', 'quick', '--barrier', 'wal-aware'];
  t.is(crashlab('run', '--seed', '7', ...planted).status, 1);
  const [savedRecord] = listFailures(corpusDir(dir)).records;
  const second = crashlab('run', '--seed', '9', ...planted, '--report', 'r.html', '--junit', 'j.xml');
  t.is(second.status, 1, second.stderr);
  t.regex(second.stdout, /FAILED: seed 9, \d+ cases, \d+ crash images, 2 violations \(1 new, 1 saved\)/);
  const newRecord = listFailures(corpusDir(dir)).records.find((r) => r.id !== savedRecord!.id)!;

  const junit = fs.readFileSync(path.join(dir, 'j.xml'), 'utf8');
  t.regex(junit, /<testsuites name="crashlab" tests="2" failures="2"/);
  t.regex(junit, new RegExp(`<failure type="lost-ack" message="new failure ${newRecord.id}: commit #\\d+ \\(cf\\d\\) was acknowledged at event \\d+`));
  t.regex(junit, new RegExp(`<testsuite id="1" name="crashlab saved failures"[^>]*>\\s*<testcase classname="crashlab saved failures" name="saved failure ${savedRecord!.id} \\(wal-aware\\)"`));
  t.regex(junit, new RegExp(`message="saved regression ${savedRecord!.id}: `));

  const html = fs.readFileSync(path.join(dir, 'r.html'), 'utf8');
  const summary = /<section id="summary">([\s\S]*?)<\/section>/.exec(html)?.[1] ?? '';
  t.true(html.indexOf('<section id="summary">') < html.indexOf('<section class="failure"'), 'the summary comes first');
  t.regex(summary, /<dt>command<\/dt><dd>crashlab run --seed 9 --runs 50 --profile quick --barrier wal-aware --plant ack-before-wal-fsync<\/dd>/);
  t.regex(summary, /<dt>seed<\/dt><dd>9<\/dd>/);
  t.regex(summary, /<dt>target<\/dt><dd>the reference engine with mutant ack-before-wal-fsync planted<\/dd>/);
  t.regex(summary, /<dt>configuration<\/dt><dd>profile quick, barrier wal-aware/);
  t.regex(summary, /<dt>failures<\/dt><dd>2: 1 new, 1 saved regressions<\/dd>/);
  t.is([...html.matchAll(/<section class="failure"/g)].length, 2);
  t.is([...html.matchAll(/<span class="badge saved">saved regression<\/span>/g)].length, 2, 'in the summary table and its section');
  t.regex(html, /<p class="sentence">commit #\d+ \(cf\d\) was acknowledged at event \d+, [^<]*<\/p>/);

  // A 0-byte value is shown as such, never as an empty cell.
  const input = { id: newRecord.id, seed: newRecord.seed, barrier: newRecord.barrier, path: newRecord.path, replay: newRecord.replay, crashCase: newRecord.counterexample };
  const violation = newRecord.violation as Violation;
  const withEmpty = renderReports([{ ...input, violation: { ...violation, diff: [{ family: 'cf0', table: 't0', key: '6b', expected: '', recovered: undefined }] } }]);
  t.regex(withEmpty, /<td class="empty">\(empty, 0 bytes\)<\/td><td class="absent">\(absent\)<\/td>/);
  t.false(isStale(newRecord));
});

const event = (index: number, op: IoEvent['op'], file: string): IoEvent => ({ index, op, file, offset: 0, lengthBytes: op === 'write' ? 64 : 0, outcome: 'ok' });

function lostAck(events: IoEvent[], crashAt: number): Violation {
  return {
    kind: 'lost-ack', detail: 'recovered the state after 0 commits of the commit order, but commit #0 (cf0) was acknowledged', diff: [], crashAt, eventsAround: events, events,
    commits: [{ index: 0, family: 'cf0', durability: 'immediate', issuedAt: 14, settledAt: 15, outcome: 'acked' }],
    crash: { plan: { survival: 'none', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 1 }, decisions: [] },
  };
}

test('violationSentence says what happened from the events', (t) => {
  const early = [event(13, 'sync', 'crashlab.cf'), event(14, 'write', 'crashlab.cf.wal'), event(15, 'write', 'crashlab.cf')];
  t.is(violationSentence(lostAck(early, 16)), 'commit #0 (cf0) was acknowledged at event 15, before any log sync made it durable, and the power cut before event 16 lost it.');
  const synced = [event(14, 'write', 'crashlab.cf.wal'), event(14.5, 'sync', 'crashlab.cf.wal'), event(15, 'write', 'crashlab.cf')];
  t.regex(violationSentence(lostAck(synced, 16)), /acknowledged at event 15, after the log sync at event 14\.5, yet the power cut before event 16 lost it\.$/);
  const later = [event(14, 'write', 'crashlab.cf.wal'), event(17, 'sync', 'crashlab.cf.wal')];
  t.regex(violationSentence(lostAck(later, 20)), /the log sync at event 17 came before the power cut at event 20, yet the recovered state lacks it\.$/);
  const torn: Violation = { ...lostAck(early, 9), kind: 'torn-transaction', detail: 'cf0 holds 2 of the 3 writes of commit #4' };
  t.is(violationSentence(torn), 'A transaction came back in part after a power cut before event 9: cf0 holds 2 of the 3 writes of commit #4.');
});
