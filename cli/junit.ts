/**
 * JUnit XML for CI systems (issue 5): one <testsuite> per suite (e.g. a barrier policy), one
 * <testcase> per case, a <failure> with the violation kind, a one-line message and the full
 * details (seed, path, replay command). Every text and attribute is escaped; characters XML
 * 1.0 cannot carry at all are replaced.
 */

export interface JUnitFailure {
  readonly kind: string;
  readonly message: string;
  readonly details: string;
}

export interface JUnitCase {
  readonly name: string;
  readonly timeMs: number;
  readonly failure?: JUnitFailure;
}

export interface JUnitSuite {
  readonly name: string;
  readonly cases: readonly JUnitCase[];
}

/** Escapes for XML text and attribute values, dropping characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return text
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, '\uFFFD')
    .replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c)
    // Keep line breaks in attributes (normalised to spaces by parsers otherwise).
    .replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

const seconds = (ms: number): string => (Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0).toFixed(3);

export function renderJUnit(suites: readonly JUnitSuite[]): string {
  const all = suites.flatMap((suite) => suite.cases);
  const failures = all.filter((c) => c.failure !== undefined).length;
  const totalMs = all.reduce((sum, c) => sum + c.timeMs, 0);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="crashlab" tests="${all.length}" failures="${failures}" errors="0" time="${seconds(totalMs)}">`];
  suites.forEach((suite, id) => {
    const suiteFailures = suite.cases.filter((c) => c.failure !== undefined).length;
    const suiteMs = suite.cases.reduce((sum, c) => sum + c.timeMs, 0);
    out.push(`  <testsuite id="${id}" name="${escapeXml(suite.name)}" tests="${suite.cases.length}" failures="${suiteFailures}" errors="0" skipped="0" time="${seconds(suiteMs)}">`);
    for (const c of suite.cases) {
      const open = `    <testcase classname="${escapeXml(suite.name)}" name="${escapeXml(c.name)}" time="${seconds(c.timeMs)}"`;
      if (c.failure === undefined) {
        out.push(`${open}/>`);
      } else {
        out.push(`${open}>`);
        out.push(`      <failure type="${escapeXml(c.failure.kind)}" message="${escapeXml(c.failure.message)}">${escapeXml(c.failure.details)}</failure>`);
        out.push('    </testcase>');
      }
    }
    out.push('  </testsuite>');
  });
  out.push('</testsuites>');
  return `${out.join('\n')}\n`;
}
