/**
 * `crashlab mutants [--budget SECONDS] [--only NAME] [--automatic] [--json]`: hunts every
 * hand-written mutant (mutants/plantEngine.ts), and with --automatic the generated ones, with
 * the differential property and the crash campaign; prints one row per mutant (status, time to
 * kill, the property and seed that killed it, violation kind) and the mutation score with the
 * median, 90th percentile and slowest time to kill. With --json the last line is one JSON
 * object. Exit 0 when no non-equivalent mutant survives (or errs), else 1.
 */
import { MUTANT_GROUPS, runMutants, UnknownMutantError, type MutantReport, type MutantScore } from '../mutants/mutantRunner.js';
import type { ProfileName } from '../properties/runCrash.js';

export interface MutantsCommandArgs {
  /** Total wall-clock budget in seconds (DEFAULT_MUTANTS_BUDGET_SECONDS). */
  readonly budgetSeconds?: number | undefined;
  /** Run only the mutants of these names. */
  readonly only?: string | readonly string[] | undefined;
  readonly json?: boolean | undefined;
  /** Worker threads at once (default: the number of CPUs). */
  readonly concurrency?: number | undefined;
  readonly profile?: ProfileName | undefined;
  /** Also run the automatic mutants (mutants/mutantGenerator.ts); default false. */
  readonly automatic?: boolean | undefined;
}

/** Enough, on 2 shared cores, for the whole automatic catalog's second pass to reach its slow kills. */
export const DEFAULT_MUTANTS_BUDGET_SECONDS = 600;

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

export function renderMutantTable(report: MutantReport): string[] {
  const rows = report.mutants.map((m) => [
    m.name, m.status, m.msToKill === null ? '-' : String(m.msToKill), m.property ?? '-', m.seed === null ? '-' : `${m.seed}#${m.runs ?? '?'}`,
    m.kind ?? (m.reason === null ? '-' : m.reason),
  ]);
  const header = ['mutant', 'status', 'ms to kill', 'property', 'seed#case', 'kind'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((cell, i) => (i === cells.length - 1 ? cell : pad(cell, widths[i]!))).join('  ');
  return [line(header), ...rows.map(line)];
}

export function mutantsSummary(report: MutantReport): string {
  const run = report.killed + report.survived;
  return `mutation score ${(report.score * 100).toFixed(1)}% (${report.killed}/${run} killed, ${report.survived} survived, ${report.equivalent} equivalent`
    + `${report.errors > 0 ? `, ${report.errors} errors` : ''}); time to kill median ${report.medianMsToKill ?? '-'} ms, p90 ${report.p90MsToKill ?? '-'} ms, `
    + `slowest ${report.maxMsToKill ?? '-'} ms; killed by differential ${report.killedBy.differential}, crash ${report.killedBy.crash};`
    + `${report.excluded.length > 0 ? ` ${report.excluded.length} excluded;` : ''}`
    + ` ${report.ms} ms on ${report.concurrency} workers, ${report.perMutantMs} ms per mutant`;
}

/** One group's kill rate and times: `structural: 72/72 killed (100.0%), 2 equivalent; time to kill median 120 ms, p90 ...`. */
export function groupLine(name: string, score: MutantScore): string {
  const run = score.killed + score.survived;
  return `${name}: ${score.killed}/${run} killed (${(score.score * 100).toFixed(1)}%), ${score.equivalent} equivalent${score.errors > 0 ? `, ${score.errors} errors` : ''}; `
    + `time to kill median ${score.medianMsToKill ?? '-'} ms, p90 ${score.p90MsToKill ?? '-'} ms, slowest ${score.maxMsToKill ?? '-'} ms`;
}

export async function mutantsCommand(args: MutantsCommandArgs): Promise<number> {
  const budgetSeconds = args.budgetSeconds ?? DEFAULT_MUTANTS_BUDGET_SECONDS;
  let report: MutantReport;
  try {
    report = await runMutants({ budgetSeconds, only: args.only, concurrency: args.concurrency, profile: args.profile, automatic: args.automatic });
  } catch (error) {
    if (!(error instanceof UnknownMutantError)) throw error;
    console.error(`crashlab: ${error.message}`);
    return 2;
  }
  for (const row of renderMutantTable(report)) console.log(row);
  for (const m of report.excluded) console.log(`EXCLUDED ${m.name}: ${m.reason}`);
  for (const m of report.mutants) {
    if (m.status === 'survived') console.log(`SURVIVED ${m.name}: ${m.description}`);
    if (m.status === 'error') console.log(`ERROR ${m.name}: ${m.reason ?? ''}`);
  }
  for (const group of MUTANT_GROUPS) {
    const score = report.groups[group];
    if (score.killed + score.survived + score.equivalent + score.errors > 0) console.log(groupLine(group, score));
  }
  console.log(mutantsSummary(report));
  if (args.json === true) {
    console.log(JSON.stringify({
      score: report.score, killed: report.killed, survived: report.survived, equivalent: report.equivalent, errors: report.errors,
      excluded: report.excluded.map((m) => ({ name: m.name, reason: m.reason })),
      medianMsToKill: report.medianMsToKill, p90MsToKill: report.p90MsToKill, maxMsToKill: report.maxMsToKill, killedBy: report.killedBy, groups: report.groups,
      budgetSeconds: report.budgetSeconds, ms: report.ms,
      mutants: report.mutants.map((m) => ({ name: m.name, group: m.group, status: m.status, msToKill: m.msToKill, property: m.property, seed: m.seed, runs: m.runs, kind: m.kind, path: m.path, reason: m.reason })),
    }));
  }
  return report.survived === 0 && report.errors === 0 ? 0 : 1;
}
