/**
 * `crashlab run`: the crash campaign. Prints the seed and every setting first, then one line
 * per barrier policy, and on failure the violation with its seed, path, the I/O events around
 * the crash point, the recovered-vs-expected diff, and the one-line replay command.
 * With --json the last line is one JSON object (seed, runs, crashImages, violations,
 * imagesPerSecond, elapsedMs, failures).
 */
import { inspect } from 'node:util';
import type { Command } from './args.js';
import { runCrashCampaign, type CrashCampaignResult } from '../properties/runCrash.js';

type CrashCommand = Extract<Command, { command: 'run' }>;

interface Failure {
  readonly id: string;
  readonly seed: number;
  readonly path: string;
  readonly kind: string;
  readonly barrier: string;
  readonly detail: string;
  readonly replay: string;
}

function describe(result: CrashCampaignResult, barrier: string): string {
  const failure = result.failure;
  if (failure === null) return '';
  const v = failure.violation;
  const events = v.eventsAround.map((e) => `    ${e.index === v.crashAt ? '>' : ' '} #${e.index} ${e.op} ${e.file} @${e.offset}+${e.lengthBytes} ${e.outcome}`);
  const diff = v.diff.slice(0, 12).map((d) => `    ${d.family}/${d.table}/${d.key || '*'}: expected ${d.expected ?? '(absent)'}, recovered ${d.recovered ?? '(absent)'}`);
  return [
    `VIOLATION (${barrier}): ${v.kind}: ${v.detail}`,
    `  seed ${result.seed}, path ${failure.path}, crash before I/O event #${v.crashAt}`,
    '  I/O events around the crash point:', ...events,
    ...(diff.length > 0 ? ['  recovered vs expected:', ...diff] : []),
    `  case: ${inspect({ plan: failure.counterexample.plan, errors: failure.counterexample.errors, corruption: failure.counterexample.corruption, options: failure.counterexample.workload.options }, { depth: 4, breakLength: 160 })}`,
    `  replay: ${failure.replay}`,
  ].join('\n');
}

export async function runCrashCommand(args: CrashCommand, drawSeed: () => number): Promise<number> {
  const seed = args.seed ?? drawSeed();
  const barriers = args.barrier === 'both' ? (['always', 'wal-aware'] as const) : [args.barrier];
  const settings = { seed, seedSource: args.seed === null ? 'drawn' : 'given', runs: args.runs, profile: args.profile, barriers, path: args.path };
  if (args.json) console.log(JSON.stringify({ event: 'start', ...settings }));
  else console.log(`crashlab run: seed ${seed} (${settings.seedSource}), runs ${args.runs} per barrier, profile ${args.profile}, barrier ${barriers.join('+')}, path ${args.path ?? '-'}; workloads, configurations and faults drawn from the seed`);
  const startedMs = performance.now();
  let runs = 0;
  let images = 0;
  const failures: Failure[] = [];
  for (const barrier of barriers) {
    const barrierStartMs = performance.now();
    const result = await runCrashCampaign({ seed, numRuns: args.runs, profile: args.profile, barrier, path: args.path ?? undefined });
    const elapsedMs = performance.now() - barrierStartMs;
    runs += result.numRuns;
    images += result.images;
    const rate = elapsedMs > 0 ? Math.round((result.images * 1000) / elapsedMs) : 0;
    if (!args.json) {
      if (!result.ok) console.log(describe(result, barrier));
      console.log(`${result.ok ? 'ok' : 'FAILED'}: ${barrier}: ${result.numRuns} cases, ${result.images} crash images, ${result.events} I/O events, ${Math.round(elapsedMs)} ms, ${rate} images/s`);
    }
    if (result.failure !== null) {
      const v = result.failure.violation;
      failures.push({ id: `${seed}-${barrier}-${result.failure.path}`, seed, path: result.failure.path, kind: v.kind, barrier, detail: v.detail, replay: result.failure.replay });
    }
  }
  const elapsedMs = Math.round(performance.now() - startedMs);
  const imagesPerSecond = elapsedMs > 0 ? Math.round((images * 1000) / elapsedMs) : 0;
  if (args.json) console.log(JSON.stringify({ event: 'done', ok: failures.length === 0, seed, runs, crashImages: images, violations: failures.length, imagesPerSecond, elapsedMs, failures }));
  else console.log(`${failures.length === 0 ? 'ok' : 'FAILED'}: seed ${seed}, ${runs} cases, ${images} crash images, ${failures.length} violations, ${elapsedMs} ms, ${imagesPerSecond} images/s`);
  return failures.length === 0 ? 0 : 1;
}
