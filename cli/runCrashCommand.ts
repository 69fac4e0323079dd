/**
 * `crashlab run`, `replay` and `failures`: the crash campaign as a person and CI use it.
 *
 * `run` prints the seed and every setting first; replays the saved failures (the regression
 * gate, like Hypothesis's example database); runs the campaign in chunks of cases, each under
 * a seed derived from the campaign's, so that progress shows and `--time` can stop between
 * chunks; saves each new failure, shrunk, to the corpus; and ends with a summary (with --json,
 * one JSON object as the last line). Every failure prints its seed, path, violation, the I/O
 * events around the crash point, the diff, the fault plan and a one-line replay command.
 */
import fs from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import type { Command } from './args.js';
import { corpusDir, failureId, isStale, loadFailure, saveFailure, CORPUS_VERSION, type FailureRecord } from './corpus.js';
import { engineFor } from './plant.js';
import { foundOf, regressionGate, replayStored, type Found } from './savedFailures.js';
import { engineSourceHash } from './engineHash.js';
import { renderJUnit, type JUnitFailure, type JUnitSuite } from './junit.js';
import { ProgressLine } from './progress.js';
import { onInterrupt } from './interruptSummary.js';
import { renderReports, type ReportInput, type ReportSummary } from './report.js';
import { shownValue, violationSentence } from './violationSentence.js';
import { deriveSeed, formatShard, shardFromEnv, shardRun } from '../properties/shard.js';
import { GENERATOR_VERSION, PROFILES } from '../properties/crashArbitraries.js';
import { runKillCampaign } from '../properties/processKill.js';
import { runCrashCampaign, type CrashCampaignResult, type CrashFailure, type ProfileName } from '../properties/runCrash.js';
import { addShapes, EMPTY_SHAPE, formatShape, type CampaignShape } from '../properties/campaignShape.js';
import { describeOp } from '../properties/workloadShapes.js';
import type { EngineUnderTest } from '../recovery/checkImage.js';

type CrashCommand = Extract<Command, { command: 'run' }>;
type ReplayCommand = Extract<Command, { command: 'replay' }>;
type Barrier = 'always' | 'wal-aware';

/** Cases per chunk: small enough for steady progress, large enough to amortise start-up. */
const CHUNK_RUNS = 25;

function describe(seed: number, barrier: string, failure: CrashFailure): string {
  const v = failure.violation;
  const events = v.eventsAround.map((e) => `    ${e.index === v.crashAt ? '>' : ' '} #${e.index} ${e.op} ${e.file} @${e.offset}+${e.lengthBytes} ${e.outcome}`);
  const diff = v.diff.slice(0, 12).map((d) => `    ${d.family}/${d.table}/${d.key || '*'}: expected ${shownValue(d.expected)}, recovered ${shownValue(d.recovered)}`);
  const c = failure.counterexample;
  const steps = c.workload.steps.map((step, i) => {
    if (step.kind === 'drop') return `    ${i}: drop cf${step.family}`;
    if (step.kind === 'snapshot') return `    ${i}: snapshot of cf${step.family} held, range [${step.from}, ${step.to})`;
    if (step.kind !== 'txns') return `    ${i}: ${step.kind}`;
    const txns = step.txns.map((t) => `cf${t.family}[${t.ops.map(describeOp).join(' ')}]${t.abort ? ' abort' : ` ${t.durability}`}`);
    return `    ${i}: ${txns.join(' | ')}`;
  });
  const base = c.workload.base === undefined ? [] : [`  starts from a base database: ${c.workload.base.keys} keys of ${c.workload.base.widthBytes} bytes, values of ${c.workload.base.valueBytes} bytes, in each family's t0`];
  return [
    `VIOLATION (${barrier}): ${v.kind}: ${v.detail}`,
    `  ${violationSentence(v)}`,
    `  seed ${seed}, path ${failure.path}, crash before I/O event #${v.crashAt}`,
    ...base,
    '  operations (shrunk):', ...steps,
    '  I/O events around the crash point:', ...events,
    ...(diff.length > 0 ? ['  recovered vs expected:', ...diff] : []),
    `  fault plan: ${inspect({ plan: c.plan, errors: c.errors, corruption: c.corruption, recoveryCrash: c.recoveryCrash }, { depth: 4, breakLength: 160 })}`,
    `  engine options: ${inspect(c.workload.options, { breakLength: 160 })}`,
    `  replay: ${failure.replay}`,
  ].join('\n');
}

function record(found: Found, profile: ProfileName): FailureRecord {
  const v = found.failure.violation;
  return {
    version: CORPUS_VERSION, id: found.id, target: 'reference', plant: found.plant, seed: found.seed, path: found.failure.path, profile, barrier: found.barrier,
    overrides: null, generatorVersion: GENERATOR_VERSION, kind: v.kind, detail: v.detail, replay: found.failure.replay, engineHash: engineSourceHash(),
    counterexample: found.failure.counterexample, violation: v, fixed: null,
  };
}

/** The id of a failure this command found (no overrides: those are certify's cells). */
function idOf(plant: string | null, profile: string, barrier: string, seed: number, casePath: string): string {
  return failureId({ target: 'reference', plant, profile, barrier, overrides: null, seed, path: casePath });
}

/** The replay command a failure prints: the case address, with the mutant when one was planted. */
function withPlant(failure: CrashFailure, plant: string | null): CrashFailure {
  return plant === null ? failure : { ...failure, replay: `${failure.replay} --plant ${plant}` };
}

/** A SEED:PATH printed by another generator names another case now: refused (exit 2), not run. */
function generatorRefused(generator: number | null): boolean {
  if (generator === null || generator === GENERATOR_VERSION) return false;
  console.error(`crashlab: this address was printed by case generator ${generator}; this crashlab's is ${GENERATOR_VERSION}, under which it names another case (replay the saved failure by its id: it keeps its case)`);
  return true;
}

function reportInputs(found: readonly Found[]): ReportInput[] {
  return found.map((f) => ({ id: f.id, seed: f.seed, barrier: f.barrier, path: f.failure.path, replay: f.failure.replay, violation: f.failure.violation, crashCase: f.failure.counterexample, saved: f.saved, plant: f.plant }));
}

/** A JUnit failure for one failure of the run, saying whether it is new or a saved regression. */
function junitFailure(f: Found): JUnitFailure {
  const v = f.failure.violation;
  return { kind: v.kind, message: `${f.saved ? 'saved regression' : 'new failure'} ${f.id}: ${violationSentence(v)}`, details: `${v.detail}\nseed ${f.seed}, path ${f.failure.path}, barrier ${f.barrier}\nreplay: ${f.failure.replay}` };
}

/** The JUnit suite of the saved failures that still fail (the regression gate), if any. */
function gateSuite(found: readonly Found[]): JUnitSuite[] {
  const saved = found.filter((f) => f.saved);
  return saved.length === 0 ? [] : [{ name: 'crashlab saved failures', cases: saved.map((f) => ({ name: `saved failure ${f.id} (${f.barrier})`, timeMs: 0, failure: junitFailure(f) })) }];
}

/** The equivalent command line of a run, for the report's summary. */
function commandLine(args: CrashCommand, seed: number): string {
  const budget = args.timeSeconds === null ? `--runs ${args.runs}` : `--time ${args.timeSeconds}`;
  return `crashlab run --seed ${seed} ${budget} --profile ${args.profile} --barrier ${args.barrier}${args.path === null ? '' : ` --path '${args.path}'`}${args.plant === null ? '' : ` --plant ${args.plant}`}`;
}

/** A campaign's progress line: cases, crash images, rate, violations, time left. */
class Progress {
  /** The last state shown by any barrier's campaign, for the summary Ctrl-C prints. */
  static latest = 'no case judged yet (replaying saved failures)';
  private readonly line: ProgressLine;

  constructor(json: boolean, private readonly startMs: number) {
    this.line = new ProgressLine(json);
  }

  update(barrier: string, runs: number, plannedRuns: number | null, images: number, violations: number, leftMs: number | null): void {
    const elapsedS = (performance.now() - this.startMs) / 1000;
    const rate = elapsedS > 0 ? Math.round(images / elapsedS) : 0;
    const done = plannedRuns === null ? `${runs} cases` : `${runs}/${plannedRuns} cases`;
    const left = leftMs === null ? '' : `, ${Math.max(0, Math.round(leftMs / 1000))} s left`;
    Progress.latest = `barrier ${barrier}: ${done}, ${images} crash images, ${violations} violations in ${Math.round(elapsedS)} s`;
    this.line.show(`  ${barrier}: ${done}, ${images} crash images, ${rate} images/s, ${violations} violations${left}`);
  }

  clear(): void {
    this.line.clear();
  }
}

interface CampaignTotals {
  runs: number;
  images: number;
  events: number;
  shape: CampaignShape;
  found: Found | null;
}

/** One barrier's campaign: chunks of cases under derived seeds until the runs or the time are used. */
async function campaign(args: CrashCommand, seed: number, barrier: Barrier, deadlineMs: number | null, progress: Progress, engine?: EngineUnderTest): Promise<CampaignTotals> {
  const totals: CampaignTotals = { runs: 0, images: 0, events: 0, shape: EMPTY_SHAPE, found: null };
  const add = (result: CrashCampaignResult, chunkSeed: number): void => {
    totals.runs += result.numRuns;
    totals.shape = addShapes(totals.shape, result.shape);
    totals.images += result.images;
    totals.events += result.events;
    if (result.failure !== null) {
      const id = idOf(args.plant, args.profile, barrier, chunkSeed, result.failure.path);
      totals.found = { barrier, seed: chunkSeed, failure: withPlant(result.failure, args.plant), id, saved: false, plant: args.plant };
    }
  };
  if (args.path !== null) {
    add(await runCrashCampaign({ seed, numRuns: 1, profile: args.profile, barrier, path: args.path, ...(engine === undefined ? {} : { engine }) }), seed);
    return totals;
  }
  for (let chunk = 0; totals.found === null; chunk++) {
    const numRuns = deadlineMs === null ? Math.min(CHUNK_RUNS, args.runs - totals.runs) : CHUNK_RUNS;
    if (numRuns <= 0) break;
    const chunkSeed = deriveSeed(seed, chunk);
    add(await runCrashCampaign({ seed: chunkSeed, numRuns, profile: args.profile, barrier, ...(engine === undefined ? {} : { engine }) }), chunkSeed);
    const leftMs = deadlineMs === null ? null : deadlineMs - performance.now();
    progress.update(barrier, totals.runs, deadlineMs === null ? args.runs : null, totals.images, totals.found === null ? 0 : 1, leftMs);
    if (leftMs !== null && leftMs <= 0) break;
  }
  return totals;
}

function writeOutputs(args: { report: string | null; junit?: string | null }, found: readonly Found[], suites: JUnitSuite[], summary?: ReportSummary): void {
  if (args.report !== null) fs.writeFileSync(args.report, renderReports(reportInputs(found), summary));
  if (args.junit !== undefined && args.junit !== null) fs.writeFileSync(args.junit, renderJUnit(suites));
}

/** `engine` is for tests of the tool itself (a planted bug); the command line always uses the reference engine. */
export async function runCrashCommand(command: CrashCommand, drawSeed: () => number, testEngine?: EngineUnderTest): Promise<number> {
  if (generatorRefused(command.generator)) return 2;
  const engine = await engineFor(command.plant, testEngine);
  const campaignSeed = command.seed ?? drawSeed();
  const shard = command.shard ?? shardFromEnv(process.env);
  // A shard runs its share of the cases under its own seed; its failures replay under that seed.
  const part = shard === null ? { seed: campaignSeed, runs: command.runs } : shardRun(campaignSeed, command.runs, shard);
  const args: CrashCommand = { ...command, runs: part.runs };
  const seed = part.seed;
  if (shard !== null && !args.json) console.log(`shard ${formatShard(shard)} of campaign seed ${campaignSeed}: seed ${seed}, ${part.runs} cases per barrier`);
  if (args.vfs === 'real') return runRealCommand(args, seed);
  if (part.runs === 0 && args.timeSeconds === null) {
    console.log(args.json ? JSON.stringify({ event: 'done', ok: true, seed, runs: 0, crashImages: 0, violations: 0, imagesPerSecond: 0, elapsedMs: 0, failures: [] }) : 'nothing to do: this shard has no cases');
    return 0;
  }
  const barriers: Barrier[] = args.barrier === 'both' ? ['always', 'wal-aware'] : [args.barrier];
  const budget = args.timeSeconds === null ? `${args.runs} cases per barrier` : `${args.timeSeconds} s`;
  const settings = { seed, seedSource: command.seed === null ? 'drawn' : 'given', runs: args.runs, timeSeconds: args.timeSeconds, profile: args.profile, barriers, path: args.path, shard: shard === null ? null : formatShard(shard) };
  if (args.json) console.log(JSON.stringify({ event: 'start', ...settings }));
  else console.log(`crashlab run: seed ${seed} (${settings.seedSource}), ${budget}, profile ${args.profile}, barrier ${barriers.join('+')}, path ${args.path ?? '-'}; workloads, configurations and faults drawn from the seed`);
  if (args.plant !== null && !args.json) console.log(`planted mutant ${args.plant}: the campaign runs against this bug, its failures are saved under its name`);
  const startedMs = performance.now();
  onInterrupt(() => `partial: seed ${seed}, ${Progress.latest}; the same seed draws the same cases, so this runs them again: ${commandLine(args, seed)}`);
  const found: Found[] = args.path === null ? await regressionGate(args.json, args.plant, engine) : [];
  const totals = await runBarriers(args, seed, barriers, startedMs, engine);
  found.push(...totals.found);
  const elapsedMs = Math.round(performance.now() - startedMs);
  const newCount = totals.found.length;
  const summary: ReportSummary = {
    command: commandLine(args, seed), seed, target: args.plant === null ? 'the reference engine' : `the reference engine with mutant ${args.plant} planted`,
    configuration: `profile ${args.profile}, barrier ${barriers.join('+')}; engine options drawn per case from the seed`,
    counts: [['cases', totals.runs], ['crash images', totals.images], ['new failures', newCount], ['saved failures still failing', found.length - newCount], ['elapsed', `${elapsedMs} ms`]],
  };
  writeOutputs(args, found, [...totals.suites, ...gateSuite(found)], summary);
  const imagesPerSecond = elapsedMs > 0 ? Math.round((totals.images * 1000) / elapsedMs) : 0;
  const failures = found.map((f) => ({ id: f.id, seed: f.seed, path: f.failure.path, kind: f.failure.violation.kind, barrier: f.barrier, detail: f.failure.violation.detail, replay: f.failure.replay, saved: f.saved }));
  if (args.json) console.log(JSON.stringify({ event: 'done', ok: failures.length === 0, seed, runs: totals.runs, crashImages: totals.images, violations: failures.length, imagesPerSecond, elapsedMs, shape: totals.shape, failures }));
  else console.log(`${formatShape(totals.shape)}\n${failures.length === 0 ? 'ok' : 'FAILED'}: seed ${seed}, ${totals.runs} cases, ${totals.images} crash images, ${failures.length} violations${failures.length === 0 ? '' : ` (${newCount} new, ${failures.length - newCount} saved)`}, ${elapsedMs} ms, ${imagesPerSecond} images/s`);
  return failures.length === 0 ? 0 : 1;
}

interface RunTotals {
  runs: number;
  images: number;
  shape: CampaignShape;
  suites: JUnitSuite[];
  found: Found[];
}

/** Each barrier's campaign in turn (sharing --time evenly); new failures saved and printed as they are found. */
async function runBarriers(args: CrashCommand, seed: number, barriers: readonly Barrier[], startedMs: number, engine?: EngineUnderTest): Promise<RunTotals> {
  const out: RunTotals = { runs: 0, images: 0, shape: EMPTY_SHAPE, suites: [], found: [] };
  for (const [i, barrier] of barriers.entries()) {
    const barrierStartMs = performance.now();
    const deadlineMs = args.timeSeconds === null ? null : startedMs + (args.timeSeconds * 1000 * (i + 1)) / barriers.length;
    const progress = new Progress(args.json, barrierStartMs);
    const totals = await campaign(args, seed, barrier, deadlineMs, progress, engine);
    progress.clear();
    const elapsedMs = performance.now() - barrierStartMs;
    out.runs += totals.runs;
    out.images += totals.images;
    out.shape = addShapes(out.shape, totals.shape);
    if (totals.found !== null) {
      out.found.push(totals.found);
      await saveFailure(corpusDir(process.cwd()), record(totals.found, args.profile));
      if (!args.json) console.log(`${describe(totals.found.seed, barrier, totals.found.failure)}\n  saved as ${totals.found.id} (crashlab replay ${totals.found.id})`);
    }
    const rate = elapsedMs > 0 ? Math.round((totals.images * 1000) / elapsedMs) : 0;
    if (!args.json) console.log(`${totals.found === null ? 'ok' : 'FAILED'}: ${barrier}: ${totals.runs} cases, ${totals.images} crash images, ${totals.events} I/O events, ${Math.round(elapsedMs)} ms, ${rate} images/s`);
    const failure = totals.found === null ? {} : { failure: junitFailure(totals.found) };
    out.suites.push({ name: `crashlab run ${barrier}`, cases: [{ name: `seed ${seed}: ${totals.runs} cases, ${totals.images} crash images`, timeMs: elapsedMs, ...failure }] });
  }
  return out;
}

/** The saved failure a replay names, or the exit code when it names none (or a stale one, or another mutant). */
function savedFor(args: ReplayCommand): FailureRecord | number | null {
  if (args.id === null) return generatorRefused(args.generator) ? 2 : null;
  const saved = loadFailure(corpusDir(process.cwd()), args.id);
  if (saved === null || isStale(saved)) {
    console.error(`crashlab: ${saved === null ? `no saved failure ${args.id} (see crashlab failures)` : `saved failure ${args.id} is stale: ${saved.reason}`}`);
    return 2;
  }
  if (args.plant !== null && args.plant !== saved.plant) {
    console.error(`crashlab: saved failure ${args.id} was found ${saved.plant === null ? 'against the engine itself' : `against --plant ${saved.plant}`}, not --plant ${args.plant}`);
    return 2;
  }
  return saved;
}

/** Replays one failure exactly (a saved one from its stored case); exit 1 when it reproduces, 0 when it no longer does, 2 when unknown. */
export async function replayCommand(args: ReplayCommand, testEngine?: EngineUnderTest): Promise<number> {
  const saved = savedFor(args);
  if (typeof saved === 'number') return saved;
  const plant = saved?.plant ?? args.plant;
  const engine = await engineFor(plant, testEngine);
  const seed = saved?.seed ?? args.seed!;
  const path = saved?.path ?? args.path!;
  const barrier = saved?.barrier ?? args.barrier;
  const profile = (saved?.profile ?? args.profile) as ProfileName;
  const found = saved === null
    ? await runCrashCampaign({ seed, numRuns: 1, profile, barrier, path, ...(engine === undefined ? {} : { engine }) }).then((result): Found | null => result.failure === null ? null
      : { barrier, seed, failure: withPlant(result.failure, plant), id: idOf(plant, profile, barrier, seed, path), saved: false, plant })
    : foundOf(saved, await replayStored(saved, engine));
  const what = `${saved === null ? `seed ${seed}, path ${path}` : `saved failure ${saved.id} (its stored case)`}, barrier ${barrier}, profile ${profile}${plant === null ? '' : `, --plant ${plant}`}`;
  if (found === null) {
    if (args.json) console.log(JSON.stringify({ event: 'done', reproduced: false, seed, path, barrier, profile, plant }));
    else console.log(`does not reproduce: ${what} recovers clean now`);
    return 0;
  }
  writeOutputs({ report: args.report }, [found], [], {
    command: saved === null ? `crashlab replay ${seed}:${path} --barrier ${barrier} --profile ${profile}${plant === null ? '' : ` --plant ${plant}`}` : `crashlab replay ${saved.id}`,
    seed, target: plant === null ? 'the reference engine' : `the reference engine with mutant ${plant} planted`, configuration: `profile ${profile}, barrier ${barrier}`, counts: [['replayed', 1]],
  });
  if (args.json) console.log(JSON.stringify({ event: 'done', reproduced: true, id: found.id, seed, path, barrier, profile, plant, kind: found.failure.violation.kind, violation: found.failure.violation }, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
  else console.log(`${describe(seed, barrier, found.failure)}\nreproduces: ${what}: ${found.failure.violation.kind}`);
  return 1;
}

/** `run --vfs real`: SIGKILLed children on real files, both tiers, judged against the model. */
async function runRealCommand(args: CrashCommand, seed: number): Promise<number> {
  if (!args.json) console.log(`crashlab run --vfs real: seed ${seed}, ${args.runs} SIGKILLs alternating plain files and power loss, profile ${args.profile}`);
  const result = await runKillCampaign({ seed, kills: args.runs, tier: 'both', profile: PROFILES[args.profile], keepFailedDir: path.join(process.cwd(), '.crashlab', 'kills') });
  const kills = result.byTier.plain.kills + result.byTier.power.kills;
  const perSecond = result.ms > 0 ? Math.round((kills * 10_000) / result.ms) / 10 : 0;
  const failures = result.failure === null ? [] : [{
    id: idOf(null, args.profile, result.failure.tier, result.failure.caseSeed, `kill:${result.failure.killAfterLines}`),
    seed: result.failure.caseSeed, path: `kill:${result.failure.killAfterLines}`, kind: result.failure.result.verdict.ok ? 'unknown' : result.failure.result.verdict.kind,
    barrier: result.failure.tier, detail: result.failure.result.verdict.ok ? '' : result.failure.result.verdict.detail, replay: result.failure.replay,
  }];
  if (args.json) {
    console.log(JSON.stringify({ event: 'done', ok: result.ok, seed, runs: kills, crashImages: kills, violations: failures.length, imagesPerSecond: perSecond, elapsedMs: Math.round(result.ms), byTier: result.byTier, failures }));
  } else {
    for (const f of failures) console.log(`VIOLATION (${f.barrier} tier): ${f.kind}: ${f.detail}\n  replay (re-judges the kept killed image, deterministic): ${f.replay}\n  rerun the kill (timing decides where it lands, retries): ${result.failure!.rerun}`);
    for (const tier of ['plain', 'power'] as const) {
      const counts = result.byTier[tier];
      console.log(`  ${tier}: ${counts.kills} SIGKILLs, ${counts.commits} commits issued, ${counts.acked} acknowledged`);
    }
    console.log(`${result.ok ? 'ok' : 'FAILED'}: seed ${seed}, ${kills} SIGKILLs, ${failures.length} violations, ${Math.round(result.ms)} ms, ${perSecond} SIGKILLs/s`);
  }
  return result.ok ? 0 : 1;
}
