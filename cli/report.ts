/**
 * HTML reports of crash-campaign failures (issue 5): one self-contained page (inline CSS and
 * SVG, no script, no external resource) with, per failure, the violation, the seed, path and
 * replay command, a timeline of the I/O events up to the crash (one lane per file, one for the
 * directory, one for commits), what the crash plan did to each unsynced write, the
 * recovered-vs-expected diff, and the fault plan and engine options. Every text is escaped.
 */
import type { CrashDecision, IoEvent } from '../fault/faultyVfs.js';
import type { CrashCase, Violation } from '../properties/crashCase.js';
import { EMPTY_VALUE, violationSentence } from './violationSentence.js';

export interface ReportInput {
  readonly id: string;
  readonly seed: number;
  readonly barrier: string;
  readonly path: string;
  readonly replay: string;
  readonly violation: Violation;
  readonly crashCase: CrashCase;
  /** A saved failure (.crashlab/failures) that still fails: a regression, not a new finding. */
  readonly saved?: boolean | undefined;
  /** The mutant it was found against (`--plant`), if any. */
  readonly plant?: string | null | undefined;
}

/** What the report opens with: what ran, under which seed and configuration, and what it found. */
export interface ReportSummary {
  readonly command: string;
  readonly seed: number | null;
  readonly target: string;
  readonly configuration: string;
  /** Figures of the run (cases, crash images...), in order. */
  readonly counts: ReadonlyArray<readonly [string, number | string]>;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for HTML and XML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const esc = (value: unknown): string => escapeHtml(String(value));

/** A stable, id-safe slug of any text. */
function slug(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 80);
}

const CSS = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5em; color: #1d232b; background: #fff; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.4em; }
section.failure { border-top: 3px solid #c0392b; margin-top: 2em; padding-top: .5em; }
code, pre, td, dd { font-family: ui-monospace, monospace; font-size: 12.5px; }
pre { background: #f4f6f8; padding: .6em; overflow-x: auto; white-space: pre-wrap; }
.kind { color: #c0392b; }
.scroll { overflow-x: auto; border: 1px solid #d5dbe1; }
table { border-collapse: collapse; } th, td { border: 1px solid #d5dbe1; padding: 2px 8px; text-align: left; }
td { max-width: 48em; overflow-wrap: anywhere; } th { background: #eef1f4; } td.absent, td.empty { color: #8a939c; font-style: italic; }
.badge { font-size: .7em; padding: 1px 6px; border-radius: 3px; vertical-align: middle; color: #fff; } .badge.new { background: #c0392b; } .badge.saved { background: #7d5a00; }
p.sentence { font-size: 1.05em; font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; } dt { font-weight: 600; } dd { margin: 0; }
.legend span { display: inline-block; margin-right: 14px; } .legend i { display: inline-block; width: 14px; height: 12px; margin-right: 4px; vertical-align: -1px; border: 1px solid #555; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
`;

const COLOURS = {
  durable: '#7f8fa6', kept: '#27ae60', dropped: '#e67e22', torn: '#8e44ad', unknown: '#bdc3c7',
  sync: '#1f4e99', syncDir: '#16a085', create: '#2c3e50', failed: '#c0392b', cut: '#e0101a', acked: '#27ae60', inflight: '#f1c40f',
} as const;

/** Maps each decision about a pending write or setLen to the event that made it (aligned from the crash backwards). */
function decisionsByEvent(events: readonly IoEvent[], decisions: readonly CrashDecision[], crashAt: number): Map<number, CrashDecision> {
  const out = new Map<number, CrashDecision>();
  const files = new Set(decisions.filter((d) => d.opIndex >= 0).map((d) => d.file));
  for (const file of files) {
    const pendingDecisions = decisions.filter((d) => d.file === file && d.opIndex >= 0).sort((a, b) => a.opIndex - b.opIndex);
    const changes = events.filter((e) => e.file === file && e.index < crashAt && e.outcome === 'ok' && (e.op === 'write' || e.op === 'setLen'));
    const tail = changes.slice(Math.max(0, changes.length - pendingDecisions.length));
    const offset = pendingDecisions.length - tail.length;
    tail.forEach((event, i) => {
      const decision = pendingDecisions[i + offset];
      if (decision === undefined) return;
      const same = decision.kind === event.op && (event.op === 'setLen' ? decision.offset === event.offset : decision.offset === event.offset && decision.lengthBytes === event.lengthBytes);
      if (same) out.set(event.index, decision);
    });
  }
  return out;
}

interface Layout {
  readonly x: (index: number) => number;
  readonly step: number;
}

const LANE = 44;
const LEFT = 150;

function timeline(input: ReportInput, sectionId: string): string {
  const v = input.violation;
  const events = v.events ?? v.eventsAround;
  const commits = v.commits ?? [];
  if (events.length === 0 && commits.length === 0) return '<p>No I/O events were recorded.</p>';
  const first = Math.min(...events.map((e) => e.index), ...commits.map((c) => c.issuedAt), v.crashAt);
  const last = Math.max(...events.map((e) => e.index), v.crashAt);
  const count = last - first + 1;
  const step = Math.max(4, Math.min(28, 1100 / count));
  const layout: Layout = { x: (index) => LEFT + (index - first) * step, step };
  const files = [...new Set(events.filter((e) => e.file !== '.').map((e) => e.file))];
  const lanes = ['commits', ...files, '. (directory)'];
  const laneY = (lane: string): number => 24 + lanes.indexOf(lane) * LANE;
  const width = Math.ceil(layout.x(last + 1) + 120);
  const height = 24 + lanes.length * LANE + 24;
  const decisions = decisionsByEvent(events, v.crash?.decisions ?? [], v.crashAt);
  const maxLen = Math.max(2, ...events.filter((e) => e.op === 'write').map((e) => e.lengthBytes));
  const lastSync = new Map<string, number>();
  for (const e of events) if (e.op === 'sync' && e.outcome === 'ok' && e.index < v.crashAt) lastSync.set(e.file, e.index);
  const parts: string[] = [];
  parts.push(`<defs><pattern id="torn-${sectionId}" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="${COLOURS.torn}" opacity="0.35"/><line x1="0" y1="0" x2="0" y2="6" stroke="${COLOURS.torn}" stroke-width="3"/></pattern></defs>`);
  lanes.forEach((lane, i) => {
    const y = laneY(lane);
    parts.push(`<rect x="0" y="${y}" width="${width}" height="${LANE}" fill="${i % 2 === 0 ? '#f7f9fb' : '#ffffff'}"/>`);
    parts.push(`<text class="lane-label" x="6" y="${y + LANE / 2 + 4}">${esc(lane.length > 22 ? `${lane.slice(0, 21)}…` : lane)}</text>`);
  });
  for (let index = first; index <= last; index += Math.max(1, Math.ceil(60 / step))) {
    parts.push(`<text x="${layout.x(index).toFixed(1)}" y="14">#${index}</text>`);
  }
  for (const e of events) parts.push(eventMark(e, layout, laneY(e.file === '.' ? '. (directory)' : e.file), decisions.get(e.index), maxLen, lastSync, sectionId));
  const commitsY = laneY('commits');
  commits.forEach((c, i) => {
    const x0 = layout.x(c.issuedAt);
    const x1 = c.settledAt === undefined ? layout.x(v.crashAt) : layout.x(c.settledAt);
    const y = commitsY + 4 + (i % 4) * 9;
    const colour = c.outcome === undefined ? COLOURS.inflight : c.outcome === 'acked' ? COLOURS.acked : COLOURS.failed;
    const status = c.outcome === undefined ? 'in flight at the crash' : `${c.outcome} at event #${c.settledAt ?? '?'}`;
    parts.push(`<g class="commit commit-${c.outcome ?? 'inflight'}"><title>${esc(`commit #${c.index} (${c.family}, ${c.durability}): issued at event #${c.issuedAt}, ${status}`)}</title>`
      + `<rect x="${x0.toFixed(1)}" y="${y}" width="${Math.max(2, x1 - x0).toFixed(1)}" height="6" fill="${colour}" opacity="0.75"/>`
      + (c.outcome === 'acked' ? `<circle cx="${x1.toFixed(1)}" cy="${y + 3}" r="3.5" fill="${COLOURS.acked}" stroke="#114"/>` : '')
      + '</g>');
  });
  const cutX = layout.x(v.crashAt) - 1;
  parts.push(`<line id="crash-cut" x1="${cutX.toFixed(1)}" y1="18" x2="${cutX.toFixed(1)}" y2="${height - 16}" stroke="${COLOURS.cut}" stroke-width="2.5"><title>${esc(`power cut before I/O event #${v.crashAt}`)}</title></line>`);
  parts.push(`<text x="${(cutX + 4).toFixed(1)}" y="${height - 4}" style="fill:${COLOURS.cut};font-weight:600">crash before #${v.crashAt}</text>`);
  const truncated = v.events !== undefined && events.length > 0 && events[0]!.index > 0
    ? `<p>Showing the last ${events.length} I/O events before the crash (from #${events[0]!.index}).</p>` : '';
  const svgId = sectionId === 'f0' ? 'timeline' : `timeline-${sectionId}`;
  return `${truncated}<div class="scroll"><svg id="${svgId}" class="timeline" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="I/O timeline">${parts.join('')}</svg></div>${legend(sectionId)}`;
}

function eventMark(e: IoEvent, layout: Layout, y: number, decision: CrashDecision | undefined, maxLen: number,
  lastSync: ReadonlyMap<string, number>, sectionId: string): string {
  const x = layout.x(e.index);
  const w = Math.max(2, layout.step * 0.8);
  const failed = e.outcome !== 'ok';
  const title = `<title>${esc(`#${e.index} ${e.op} ${e.file} @${e.offset}+${e.lengthBytes} ${e.outcome}${decision === undefined ? '' : `: ${describeDecision(decision)}`}`)}</title>`;
  const stroke = failed ? ` stroke="${COLOURS.failed}" stroke-width="2"` : '';
  switch (e.op) {
    case 'write': {
      const h = 6 + 30 * Math.log2(Math.max(2, e.lengthBytes)) / Math.log2(maxLen);
      const unsynced = e.index > (lastSync.get(e.file) ?? -1);
      const fate = decision?.fate ?? (unsynced && !failed ? 'unknown' : 'durable');
      const fill = fate === 'torn' ? `url(#torn-${sectionId})` : COLOURS[fate === 'unknown' ? 'unknown' : fate];
      const cls = `event event-write${decision === undefined ? '' : ` decision-${decision.fate}`}`;
      return `<rect class="${cls}" data-index="${e.index}" x="${x.toFixed(1)}" y="${(y + LANE - 4 - h).toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${fill}"${stroke || (fate === 'torn' ? ` stroke="${COLOURS.torn}"` : '')}>${title}</rect>`;
    }
    case 'setLen': {
      const cls = `event event-setlen${decision === undefined ? '' : ` decision-${decision.fate}`}`;
      const fill = decision === undefined ? COLOURS.durable : decision.fate === 'dropped' ? COLOURS.dropped : COLOURS.kept;
      const cx = x + w / 2;
      const cy = y + LANE / 2;
      return `<polygon class="${cls}" data-index="${e.index}" points="${cx.toFixed(1)},${cy - 6} ${(cx + 5).toFixed(1)},${cy} ${cx.toFixed(1)},${cy + 6} ${(cx - 5).toFixed(1)},${cy}" fill="${fill}"${stroke}>${title}</polygon>`;
    }
    case 'sync':
    case 'syncDir': {
      const colour = failed ? COLOURS.failed : e.op === 'sync' ? COLOURS.sync : COLOURS.syncDir;
      const cls = e.op === 'sync' ? 'event event-sync' : 'event event-syncdir';
      return `<rect class="${cls}" data-index="${e.index}" x="${(x + w / 2 - 1.5).toFixed(1)}" y="${y + 2}" width="3" height="${LANE - 4}" fill="${colour}">${title}</rect>`;
    }
    case 'create':
    case 'remove': {
      const cx = x + w / 2;
      const cy = y + LANE / 2;
      const shape = e.op === 'create'
        ? `<circle cx="${cx.toFixed(1)}" cy="${cy}" r="5" fill="${COLOURS.create}"${stroke}/>`
        : `<path d="M${(cx - 5).toFixed(1)},${cy - 5} L${(cx + 5).toFixed(1)},${cy + 5} M${(cx + 5).toFixed(1)},${cy - 5} L${(cx - 5).toFixed(1)},${cy + 5}" stroke="${COLOURS.create}" stroke-width="2.5"/>`;
      return `<g class="event event-${e.op}" data-index="${e.index}">${title}${shape}</g>`;
    }
  }
}

function describeDecision(d: CrashDecision): string {
  const what = d.kind === 'setLen' ? `setLen to ${d.offset}` : d.kind === 'write' ? `write @${d.offset}+${d.lengthBytes}` : `${d.kind} of ${d.file}`;
  const ranges = d.keptRanges === undefined ? '' : ` (kept ${d.keptRanges.map(([a, b]) => `[${a}, ${b})`).join(' ') || 'nothing'})`;
  return `${what} ${d.fate}${ranges}`;
}

function legend(sectionId: string): string {
  const item = (colour: string, label: string): string => `<span><i style="background:${colour}"></i>${esc(label)}</span>`;
  return `<p class="legend">${[
    item(COLOURS.durable, 'write (synced or before the window)'), item(COLOURS.kept, 'unsynced write kept'), item(COLOURS.dropped, 'unsynced write dropped'),
    `<span><svg width="16" height="14"><rect width="14" height="12" x="1" y="1" fill="url(#torn-${sectionId})" stroke="${COLOURS.torn}"/></svg> unsynced write torn</span>`,
    item(COLOURS.sync, 'sync'), item(COLOURS.syncDir, 'syncDir'), item(COLOURS.create, 'create (●) / remove (✕)'), item(COLOURS.failed, 'injected error'),
    item(COLOURS.inflight, 'commit in flight'), item(COLOURS.acked, 'commit acknowledged (●)'), item(COLOURS.cut, 'crash cut'),
  ].join('')}</p>`;
}

function diffTable(input: ReportInput, sectionId: string): string {
  const diff = input.violation.diff;
  if (diff.length === 0) return '<p>No state difference was recorded for this violation.</p>';
  const cell = (value: string | undefined): string => (value === undefined ? '<td class="absent">(absent)</td>' : value === '' ? `<td class="empty">${EMPTY_VALUE}</td>` : `<td>${esc(value)}</td>`);
  const rows = diff.map((d) => `<tr><td>${esc(d.family)}</td><td>${d.table === '' ? '<i>(family)</i>' : esc(d.table)}</td><td>${d.key === '' ? '<i>(table)</i>' : esc(d.key)}</td>${cell(d.expected)}${cell(d.recovered)}</tr>`);
  const id = sectionId === 'f0' ? 'diff' : `diff-${sectionId}`;
  return `<table id="${id}" class="diff"><thead><tr><th>family</th><th>table</th><th>key</th><th>expected</th><th>recovered</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function definitionList(entries: ReadonlyArray<readonly [string, unknown]>): string {
  return `<dl>${entries.map(([key, value]) => `<dt>${esc(key)}</dt><dd>${esc(typeof value === 'string' ? value : JSON.stringify(value))}</dd>`).join('')}</dl>`;
}

function decisionsTable(decisions: readonly CrashDecision[]): string {
  if (decisions.length === 0) return '<p>Nothing was pending at the crash point: every change had been synced.</p>';
  const rows = decisions.map((d) => `<tr class="decision-${d.fate}"><td>${esc(d.file)}</td><td>${d.opIndex < 0 ? '-' : d.opIndex}</td><td>${esc(d.kind)}</td><td>${d.offset}</td><td>${d.lengthBytes}</td><td>${esc(d.fate)}</td><td>${esc(d.keptRanges === undefined ? '' : d.keptRanges.map(([a, b]) => `[${a}, ${b})`).join(' ') || '(nothing)')}</td></tr>`);
  return `<table class="decisions"><thead><tr><th>file</th><th>pending #</th><th>kind</th><th>offset</th><th>bytes</th><th>fate</th><th>kept ranges</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function workloadSummary(crashCase: CrashCase): string {
  const lines = crashCase.workload.steps.map((step, i) => {
    if (step.kind === 'drop') return `step ${i}: drop cf${step.family} (delete it, create it again)`;
    if (step.kind !== 'txns') return `step ${i}: ${step.kind}`;
    const txns = step.txns.map((t) => `cf${t.family}: ${t.ops.length} ops, ${t.durability}${t.abort ? ', aborted' : ''}`);
    return `step ${i}: ${txns.join('; ')}`;
  });
  return `<pre>${esc(lines.join('\n'))}</pre>`;
}

function section(input: ReportInput, n: number): string {
  const v = input.violation;
  const sectionId = `f${n}`;
  const c = input.crashCase;
  return `<section class="failure" id="failure-${esc(slug(input.id))}">
<h1>Violation: <span class="kind">${esc(v.kind)}</span> ${badge(input)}</h1>
<p class="sentence">${esc(violationSentence(v))}</p>
<p>${esc(v.detail)}</p>
${definitionList([['id', input.id], ['seed', String(input.seed)], ['barrier', input.barrier], ['path', input.path], ...(input.plant == null ? [] : [['planted mutant', input.plant] as const]), ['crash point', `power cut before I/O event #${v.crashAt}`]])}
<p>Replay:</p><pre class="replay">${esc(input.replay)}</pre>
<h2>Timeline</h2>
${timeline(input, sectionId)}
<h2>Recovered vs expected</h2>
${diffTable(input, sectionId)}
<h2>What the crash kept of the unsynced changes</h2>
${v.crash === undefined ? '<p>This violation was found while the workload ran (no crash image).</p>' : decisionsTable(v.crash.decisions)}
<h2>Fault plan</h2>
${definitionList([['crash plan', c.plan], ['injected errors', c.errors], ['corruption', c.corruption], ['recovery crash', c.recoveryCrash], ['images per run', String(c.imagesPerRun)]])}
<h2>Engine options</h2>
${definitionList(Object.entries(c.workload.options))}
<h2>Workload</h2>
${definitionList([['families', String(c.workload.families)], ['schedule seed', String(c.workload.scheduleSeed)]])}
${workloadSummary(c)}
</section>`;
}

const badge = (input: ReportInput): string => (input.saved === true
  ? '<span class="badge saved">saved regression</span>' : '<span class="badge new">new</span>');

/** The opening section: the command, seed, target, configuration, counts, and each failure (new or saved) in a sentence. */
function summarySection(summary: ReportSummary, inputs: readonly ReportInput[]): string {
  const saved = inputs.filter((input) => input.saved === true).length;
  const rows = inputs.map((input) => `<tr><td><a href="#failure-${esc(slug(input.id))}">${esc(input.id)}</a></td><td>${esc(input.violation.kind)}</td><td>${badge(input)}</td><td>${esc(violationSentence(input.violation))}</td></tr>`);
  return `<section id="summary">
<h1>crashlab: ${inputs.length === 0 ? 'passed' : 'FAILED'}</h1>
${definitionList([['command', summary.command], ['seed', summary.seed === null ? '-' : String(summary.seed)], ['target', summary.target], ['configuration', summary.configuration],
    ...summary.counts.map(([name, value]) => [name, String(value)] as const), ['failures', `${inputs.length}: ${inputs.length - saved} new, ${saved} saved regressions`]])}
${rows.length === 0 ? '' : `<table id="failures"><thead><tr><th>id</th><th>kind</th><th></th><th>what happened</th></tr></thead><tbody>${rows.join('')}</tbody></table>`}
</section>`;
}

/** One page: the summary (when given), then a section per failure. */
export function renderReports(inputs: readonly ReportInput[], summary?: ReportSummary): string {
  const title = inputs.length === 0 ? 'crashlab: no failures'
    : inputs.length === 1 ? `crashlab: ${inputs[0]!.violation.kind}` : `crashlab: ${inputs.length} failures`;
  const sections = inputs.length === 0 ? (summary === undefined ? '<h1>No failures</h1>' : '') : inputs.map((input, n) => section(input, n)).join('\n');
  const body = `${summary === undefined ? '' : summarySection(summary, inputs)}\n${sections}`;
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title><style>${CSS}</style></head>
<body>
${body}
</body></html>
`;
}

/** The report of one failure. */
export function renderReport(input: ReportInput): string {
  return renderReports([input]);
}
