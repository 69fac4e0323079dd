// Reports: a real planted-bug failure rendered to HTML and checked in headless Chromium (timeline, crash cut, decisions, diff), JUnit XML, escaping, crash decisions.
import test from 'ava';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { escapeXml, renderJUnit } from '../../cli/junit.js';
import { escapeHtml, renderReport, renderReports, type ReportInput } from '../../cli/report.js';
import { FaultyVfs, type CrashPlan } from '../../fault/faultyVfs.js';
import { plantBug } from '../../mutants/plantEngine.js';
import { runCrashCampaign } from '../../properties/runCrash.js';

const BROWSER_NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable', 'chrome'];

/** Chromium from CHROME_PATH, else the first of BROWSER_NAMES on PATH; null when there is none. */
function findChromium(env: NodeJS.ProcessEnv = process.env): string | null {
  const given = env['CHROME_PATH'];
  if (given !== undefined && given !== '') return given;
  for (const dir of (env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== '')) {
    for (const name of BROWSER_NAMES) {
      const candidate = path.join(dir, name);
      try {
        accessSync(candidate, constants.X_OK);
        return candidate;
      } catch {
        // not here
      }
    }
  }
  return null;
}

let failureInput: Promise<ReportInput> | undefined;
/** One real failure, found once: the planted bug acknowledges commits before the WAL fsync. */
function realFailure(): Promise<ReportInput> {
  failureInput ??= (async () => {
    const engine = await plantBug('ack-before-wal-fsync');
    const result = await runCrashCampaign({ seed: 1, numRuns: 50, profile: 'default', engine, shrink: false });
    if (result.failure === null) throw new Error('the planted bug was not found by seed 1');
    const { path: casePath, replay, violation, counterexample } = result.failure;
    return { id: `1-always-${casePath}`, seed: 1, barrier: 'always', path: casePath, replay, violation, crashCase: counterexample };
  })();
  return failureInput;
}

test('a real failure carries the crash decisions, the events up to the crash point and the commit timings', async (t) => {
  const { violation } = await realFailure();
  t.truthy(violation.crash, 'a crash-image violation records the plan and its decisions');
  t.true(violation.crash!.decisions.length > 0);
  const events = violation.events ?? [];
  t.true(events.length > 0 && events.length <= 2000);
  t.true(events.every((e) => e.index <= violation.crashAt));
  t.true((violation.commits ?? []).some((c) => c.outcome === 'acked'), 'some commit was acknowledged before the crash');
});

test('the report renders in headless Chromium: timeline with writes, syncs and the crash cut, and the diff table', async (t) => {
  const input = await realFailure();
  const html = renderReport(input);
  t.false(/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i.test(html), 'self-contained: no script, no external resource');
  const dir = await mkdtemp(path.join(tmpdir(), 'crashlab-report-'));
  const file = path.join(dir, 'report.html');
  await writeFile(file, html);
  // A fresh profile per run (playwright passes it as --user-data-dir).
  const executablePath = findChromium();
  if (executablePath === null) {
    t.fail('no Chromium found: put chromium (or google-chrome) on PATH, or set CHROME_PATH to its executable');
    return;
  }
  const browser = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1400, height: 1000 },
  });
  try {
    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (request) => { if (!request.url().startsWith('file:')) requests.push(request.url()); });
    await page.goto(pathToFileURL(file).href);
    t.is(await page.title(), `crashlab: ${input.violation.kind}`);
    const box = await page.locator('svg#timeline').boundingBox();
    t.truthy(box);
    t.true(box!.width > 100 && box!.height > 50, `timeline box ${JSON.stringify(box)}`);
    t.true(await page.locator('svg#timeline .event-write').count() > 0, 'write marks');
    t.true(await page.locator('svg#timeline .event-sync').count() > 0, 'sync marks');
    const cut = page.locator('svg#timeline line#crash-cut');
    t.is(await cut.count(), 1);
    const cutBox = await cut.boundingBox();
    t.true(cutBox !== null && cutBox.height > 50, 'the crash cut spans the lanes');
    const fates = new Set(input.violation.crash!.decisions.filter((d) => d.kind === 'write').map((d) => d.fate));
    for (const fate of fates) t.true(await page.locator(`svg#timeline rect.event-write.decision-${fate}`).count() > 0, `${fate} writes are marked`);
    const rows = page.locator('table#diff tbody tr');
    t.is(await rows.count(), input.violation.diff.length);
    const first = input.violation.diff[0]!;
    const firstRow = await rows.first().locator('td').allInnerTexts();
    t.is(firstRow[0], first.family);
    t.is(firstRow[3], first.expected ?? '(absent)');
    t.is(firstRow[4], first.recovered ?? '(absent)');
    t.true((await page.locator('pre.replay').innerText()).includes(input.path));
    t.deepEqual(requests, [], 'no network request');
    const shot = path.join(dir, 'report.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.log(`screenshot: ${shot}`);
  } finally {
    await browser.close();
    if (process.env.CRASHLAB_KEEP_REPORT === undefined) await rm(dir, { recursive: true, force: true });
  }
});

test('renderReports puts several failures in one page with distinct ids', async (t) => {
  const input = await realFailure();
  const html = renderReports([input, { ...input, id: 'second' }]);
  t.is(html.match(/<section class="failure"/g)?.length, 2);
  t.is(html.match(/id="timeline"/g)?.length, 1);
  t.is(html.match(/id="timeline-f1"/g)?.length, 1);
  t.is(html.match(/id="crash-cut"/g)?.length, 2, 'the cut is a child of each svg; only svg and table ids are per section');
});

test('Chromium is found through CHROME_PATH first, then on PATH', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'crashlab-chrome-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const fake = path.join(dir, 'google-chrome');
  await writeFile(fake, '#!/bin/sh\n', { mode: 0o755 });
  t.is(findChromium({ PATH: `/nonexistent${path.delimiter}${dir}` }), fake);
  t.is(findChromium({ PATH: dir, CHROME_PATH: '/opt/chrome/chrome' }), '/opt/chrome/chrome');
  t.is(findChromium({ PATH: '/nonexistent' }), null);
});

test('escaping: table names, keys, details and the replay command cannot inject HTML', async (t) => {
  const input = await realFailure();
  const evil = '<script>alert(1)</script>&"\'';
  const html = renderReport({
    ...input, replay: `${input.replay} ${evil}`, id: evil,
    violation: { ...input.violation, kind: 'lost-ack', detail: evil, diff: [{ family: evil, table: evil, key: evil, expected: evil, recovered: undefined }] },
  });
  t.false(html.includes('<script>'));
  t.true(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;&#39;'));
  t.is(escapeHtml('a<b>&"\'c'), 'a&lt;b&gt;&amp;&quot;&#39;c');
});

test('renderJUnit: valid, escaped JUnit XML with counts that parse back', (t) => {
  const xml = renderJUnit([
    { name: 'crash always', cases: [{ name: 'seed 1 <a&b>', timeMs: 1234, failure: { kind: 'lost-ack', message: 'commit "#3" lost', details: 'replay:\nnode x --path \'1:2\' \u0001' } }, { name: 'ok case', timeMs: 5 }] },
    { name: 'crash wal-aware', cases: [] },
  ]);
  t.true(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites '));
  t.regex(xml, /<testsuites name="crashlab" tests="2" failures="1" errors="0" time="1\.239">/);
  t.regex(xml, /<testsuite id="0" name="crash always" tests="2" failures="1" errors="0" skipped="0" time="1\.239">/);
  t.regex(xml, /<testsuite id="1" name="crash wal-aware" tests="0" failures="0"/);
  t.regex(xml, /<testcase classname="crash always" name="seed 1 &lt;a&amp;b&gt;" time="1\.234">/);
  t.regex(xml, /<failure type="lost-ack" message="commit &quot;#3&quot; lost">replay:&#10;node x --path &apos;1:2&apos; \uFFFD<\/failure>/);
  t.regex(xml, /<testcase classname="crash always" name="ok case" time="0\.005"\/>/);
  // Well-formed: every tag closes in order, and no raw markup character is left in text or attributes.
  const stack: string[] = [];
  for (const [, close, name, selfClose] of xml.replace(/^<\?xml[^>]*\?>/, '').matchAll(/<(\/?)([a-z]+)(?:\s+[a-z]+="[^"<]*")*\s*(\/?)>/g)) {
    if (close === '/') t.is(stack.pop(), name);
    else if (selfClose !== '/') stack.push(name!);
  }
  t.deepEqual(stack, []);
  const text = xml.replace(/<[^>]*>/g, '');
  t.false(/[<>]|&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(text.replace(/^<\?xml[^>]*\?>/, '')));
  t.is(escapeXml('\ud800x'), '\uFFFDx', 'a lone surrogate is replaced');
});

const plan = (over: Partial<CrashPlan> = {}): CrashPlan =>
  ({ survival: 'all', tear: false, sectorBytes: 512, atomicSector: true, keepUnsyncedDirOps: false, seed: 1, ...over });

test('crashImageExplained: the image crashImage returns, and a decision per pending change and unsynced entry', async (t) => {
  const vfs = new FaultyVfs();
  const a = vfs.open('a', { create: true });
  await vfs.syncDir();
  a.write(0, new Uint8Array(1024).fill(1));
  await a.sync();
  a.write(0, new Uint8Array(2000).fill(2));
  a.setLen(3000);
  vfs.open('b', { create: true }).write(0, Uint8Array.of(9));
  for (const over of [{ survival: 'none' as const }, { survival: 'subset' as const, tear: true, atomicSector: false, seed: 7 }, { survival: 'prefix' as const, seed: 3, keepUnsyncedDirOps: true }]) {
    const explained = vfs.crashImageExplained(plan(over));
    t.deepEqual(explained.image, vfs.crashImage(plan(over)));
  }
  const none = vfs.crashImageExplained(plan({ survival: 'none' })).decisions;
  t.deepEqual(none.map((d) => [d.file, d.kind, d.fate]), [['b', 'create', 'dropped'], ['a', 'write', 'dropped'], ['a', 'setLen', 'dropped']]);
  const all = vfs.crashImageExplained(plan({ keepUnsyncedDirOps: true })).decisions;
  t.deepEqual(all.map((d) => [d.file, d.opIndex, d.kind, d.fate]), [['b', -1, 'create', 'kept'], ['a', 0, 'write', 'kept'], ['a', 1, 'setLen', 'kept'], ['b', 0, 'write', 'kept']]);
  // Torn writes: the kept ranges are exactly the bytes of the new write that reached the image.
  for (let seed = 0; seed < 20; seed++) {
    const torn = vfs.crashImageExplained(plan({ tear: true, atomicSector: false, seed }));
    const write = torn.decisions.find((d) => d.file === 'a' && d.kind === 'write')!;
    const bytes = torn.image.get('a')!;
    if (write.fate === 'kept') continue;
    t.is(write.fate, 'torn');
    const wrong = [...bytes.subarray(0, 2000)].findIndex((byte, i) => (byte === 2) !== (write.keptRanges ?? []).some(([s, e]) => i >= s && i < e));
    t.is(wrong, -1, `seed ${seed}: byte ${wrong} disagrees with the kept ranges ${JSON.stringify(write.keptRanges)}`);
  }
});
