/**
 * `crashlab mutants [--budget SECONDS] [--only NAME] [--automatic] [--json]`: hunts every
 * hand-written mutant (mutants/plantEngine.ts), and with --automatic the generated ones, with
 * the differential property and the crash campaign; prints one row per mutant (status, time to
 * kill, the property and seed that killed it, violation kind) and the mutation score with the
 * median, 90th percentile and slowest time to kill. Each verdict is printed as it lands (with
 * --json, as one JSON line each); the last line is one JSON object with --json. Exit 0 when
 * every mutant run was killed, 1 when one survived (or erred), 3 when none survived but some
 * ran out of time before a kill (inconclusive).
 */
import { MUTANT_GROUPS, runMutants, UnknownMutantError, type MutantReport, type MutantResult, type MutantScore } from '../mutants/mutantRunner.js';
import { ProgressLine } from './progress.js';
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
  /** Told each verdict as it lands (default: printed). */
  readonly onResult?: ((result: MutantResult, done: number, total: number) => void) | undefined;
}

/** Exit status of a mutation run or a certificate whose verdict is inconclusive (time ran out before a kill). */
export const EXIT_INCONCLUSIVE = 3;

/** One mutant's verdict as it lands: `killed  ack-before-wal-fsync  812 ms by crash seed 1#3 (lost-ack)  [3/20]`. */
export function verdictLine(m: MutantResult, done: number, total: number): string {
  const how = m.status === 'killed' ? `${m.msToKill ?? '?'} ms by ${m.property ?? '?'} seed ${m.seed ?? '?'}#${m.runs ?? '?'} (${m.kind ?? '?'})`
    : m.reason ?? m.description;
  return `  ${m.status.padEnd(12)} ${m.name}  ${how}  [${done}/${total}]`;
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
  const run = report.killed + report.survived + report.inconclusive;
  return `mutation score ${(report.score * 100).toFixed(1)}% (${report.killed}/${run} killed, ${report.survived} survived, ${report.inconclusive} inconclusive, ${report.equivalent} equivalent`
    + `${report.errors > 0 ? `, ${report.errors} errors` : ''}); time to kill median ${report.medianMsToKill ?? '-'} ms, p90 ${report.p90MsToKill ?? '-'} ms, `
    + `slowest ${report.maxMsToKill ?? '-'} ms; killed by differential ${report.killedBy.differential}, crash ${report.killedBy.crash};`
    + `${report.excluded.length > 0 ? ` ${report.excluded.length} excluded;` : ''}`
    + ` ${report.ms} ms on ${report.concurrency} workers, ${report.perMutantMs} ms per mutant`;
}

/** One group's kill rate and times: `structural: 72/72 killed (100.0%), 2 equivalent; time to kill median 120 ms, p90 ...`. */
export function groupLine(name: string, score: MutantScore): string {
  const run = score.killed + score.survived + score.inconclusive;
  return `${name}: ${score.killed}/${run} killed (${(score.score * 100).toFixed(1)}%), ${score.inconclusive} inconclusive, ${score.equivalent} equivalent${score.errors > 0 ? `, ${score.errors} errors` : ''}; `
    + `time to kill median ${score.medianMsToKill ?? '-'} ms, p90 ${score.p90MsToKill ?? '-'} ms, slowest ${score.maxMsToKill ?? '-'} ms`;
}

export async function mutantsCommand(args: MutantsCommandArgs): Promise<number> {
  const budgetSeconds = args.budgetSeconds ?? DEFAULT_MUTANTS_BUDGET_SECONDS;
  let report: MutantReport;
  const progress = new ProgressLine(false);
  const onResult = args.onResult ?? ((m: MutantResult, done: number, total: number): void => {
    if (args.json === true) console.log(JSON.stringify({ event: 'mutant', name: m.name, status: m.status, msToKill: m.msToKill, property: m.property, seed: m.seed, kind: m.kind, reason: m.reason, done, total }));
    else progress.print(verdictLine(m, done, total));
  });
  if (args.json !== true) console.log(`crashlab mutants: budget ${budgetSeconds} s for the whole run (a mutant not killed when its time runs out is inconclusive)`);
  try {
    report = await runMutants({ budgetSeconds, only: args.only, concurrency: args.concurrency, profile: args.profile, automatic: args.automatic, onResult });
  } catch (error) {
    if (!(error instanceof UnknownMutantError)) throw error;
    console.error(`crashlab: ${error.message}`);
    return 2;
  }
  for (const row of renderMutantTable(report)) console.log(row);
  for (const m of report.excluded) console.log(`EXCLUDED ${m.name}: ${m.reason}`);
  for (const m of report.mutants) {
    if (m.status === 'survived') console.log(`SURVIVED ${m.name}: ${m.description}`);
    if (m.status === 'inconclusive') console.log(`INCONCLUSIVE ${m.name}: ${m.reason ?? ''}: ${m.description}`);
    if (m.status === 'error') console.log(`ERROR ${m.name}: ${m.reason ?? ''}`);
  }
  for (const group of MUTANT_GROUPS) {
    const score = report.groups[group];
    if (score.killed + score.survived + score.inconclusive + score.equivalent + score.errors > 0) console.log(groupLine(group, score));
  }
  console.log(mutantsSummary(report));
  if (args.json === true) {
    console.log(JSON.stringify({
      score: report.score, killed: report.killed, survived: report.survived, inconclusive: report.inconclusive, equivalent: report.equivalent, errors: report.errors,
      excluded: report.excluded.map((m) => ({ name: m.name, reason: m.reason })),
      medianMsToKill: report.medianMsToKill, p90MsToKill: report.p90MsToKill, maxMsToKill: report.maxMsToKill, killedBy: report.killedBy, groups: report.groups,
      budgetSeconds: report.budgetSeconds, ms: report.ms,
      mutants: report.mutants.map((m) => ({ name: m.name, group: m.group, status: m.status, msToKill: m.msToKill, property: m.property, seed: m.seed, runs: m.runs, kind: m.kind, path: m.path, reason: m.reason })),
    }));
  }
  if (report.survived > 0 || report.errors > 0) return 1;
  return report.inconclusive > 0 ? EXIT_INCONCLUSIVE : 0;
}
