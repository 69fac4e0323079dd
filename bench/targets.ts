// Benchmark: crash images judged per second for each target through the target-neutral path
// (figures only, never assertions).
//
// Usage: node dist/bench/targets.js [--seed N] [--runs N] [--targets a,b] [--contract LEVEL] [--jobs N] [--json]
//
// Each row runs one campaign of drawn cases (runTargetCampaign) against a target and reports
// crash images per wall second and per CPU second, violations and the oracle's findings. With
// --jobs N (default: the machine's cores) the cases run as N shards in worker threads at once, as
// `run --jobs N` does; CPU seconds then count this thread only and are not shown. With --json
// the last line is one JSON object with every row.
import os from 'node:os';
import { JOBS_MAX, runJobs } from '../cli/targetJobs.js';
import { runTargetCampaign, type TargetCampaign, type TargetCampaignResult } from '../properties/runTargetCampaign.js';
import { driverOf, installAdapterPackages, runNodeFsJobs, type TracedEntry } from '../cli/nodeFsRun.js';
import { runNodeFsCampaign } from '../properties/runNodeFsCampaign.js';
import { resolveAnyTarget } from '../targets/registry.js';
import { CONTRACT_LEVELS, type ContractLevel } from '../targets/target.js';
import { benchMain, BenchUsageError } from './benchMain.js';

const USAGE = 'usage: [--seed N] [--runs N] [--targets a,b] [--contract durable|prefix|atomic|none] [--jobs N] [--json]';
const DEFAULT_TARGETS = ['reference', 'sqlite:wal-full', 'sqlite:truncate-full', 'sqlite:delete-extra', 'sqlite:wal-normal', 'lowdb', 'nedb', 'write-file-atomic'];

interface Arguments { seed: number; runs: number; targets: string[]; contract: ContractLevel | undefined; jobs: number; json: boolean }

function positive(text: string | undefined, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new BenchUsageError(`${flag} wants a positive integer, not ${text ?? 'nothing'} (${USAGE})`);
  return value;
}

export function parseArguments(argv: readonly string[]): Arguments {
  const parsed: Arguments = { seed: 1, runs: 60, targets: DEFAULT_TARGETS, contract: undefined, jobs: Math.min(JOBS_MAX, os.availableParallelism()), json: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--json') parsed.json = true;
    else if (flag === '--seed') parsed.seed = positive(argv[++i], flag);
    else if (flag === '--runs') parsed.runs = positive(argv[++i], flag);
    else if (flag === '--jobs') parsed.jobs = Math.min(JOBS_MAX, positive(argv[++i], flag));
    else if (flag === '--targets') parsed.targets = (argv[++i] ?? '').split(',').filter((name) => name !== '');
    else if (flag === '--contract') {
      const level = argv[++i] as ContractLevel;
      if (!CONTRACT_LEVELS.includes(level)) throw new BenchUsageError(`--contract wants one of ${CONTRACT_LEVELS.join(', ')} (${USAGE})`);
      parsed.contract = level;
    } else throw new BenchUsageError(`unknown argument ${flag} (${USAGE})`);
  }
  for (const name of parsed.targets) resolveAnyTarget(name);
  return parsed;
}

async function jobsResult(name: string, campaign: Omit<TargetCampaign, 'target'>, jobs: number): Promise<TargetCampaignResult> {
  const outcome = await runJobs({ targetName: name }, campaign, jobs, HANG_TIMEOUT_MS, undefined);
  if (outcome.kind === 'hang') throw new Error(`${name} hung: ${outcome.replay}`);
  return outcome.result;
}

const HANG_TIMEOUT_MS = 300_000;

/** A node-fs target's row: distinct recoveries per second (the images), under `posix`. */
async function nodeFsRow(name: string, entry: TracedEntry, args: Arguments): Promise<Record<string, unknown>> {
  const packages = await installAdapterPackages(entry.adapter);
  const startedMs = performance.now();
  const campaign = {
    adapter: entry.adapter, adapterModule: entry.module, targetFlag: `--target ${name}`, packages, fsModel: 'posix' as const, seed: args.seed, numRuns: args.runs, contract: args.contract,
    driver: driverOf(entry, packages, args.seed),
  };
  const result = args.jobs === 1 ? await runNodeFsCampaign(campaign) : await runNodeFsJobs(campaign, args.jobs);
  const seconds = (performance.now() - startedMs) / 1000;
  const row = { target: name, jobs: args.jobs, fs: 'posix', contract: result.contract, cases: result.cases, crashImages: result.crashImages, judged: result.judged, seconds,
    imagesPerSecond: result.crashImages / seconds, judgedPerSecond: result.judged / seconds, violations: result.violations, findings: result.findings };
  console.log(`${name.padEnd(24)} ${row.contract.padEnd(8)} ${String(row.cases).padStart(6)} ${String(row.crashImages).padStart(7)} ${row.imagesPerSecond.toFixed(0).padStart(7)} ${'-'.padStart(9)} ${String(row.violations).padStart(10)}  ${JSON.stringify(row.findings)} (${row.judgedPerSecond.toFixed(0)} judged/s)`);
  return row;
}

async function main(): Promise<void> {
  const args = parseArguments(process.argv.slice(2));
  const rows = [];
  console.log(`crashlab target bench: seed ${args.seed}, ${args.runs} cases per target, ${args.jobs} job(s)${args.contract === undefined ? '' : `, judged as ${args.contract}`}`);
  console.log(`${'target'.padEnd(24)} ${'contract'.padEnd(8)} ${'cases'.padStart(6)} ${'images'.padStart(7)} ${'img/s'.padStart(7)} ${'img/cpu-s'.padStart(9)} violations  findings`);
  for (const name of args.targets) {
    const resolved = resolveAnyTarget(name);
    if (resolved.tier !== 'vfs') {
      rows.push(await nodeFsRow(name, resolved, args));
      continue;
    }
    const target = resolved.target;
    await target.identity(); // loads (and installs) the target outside the timing
    const startedMs = performance.now();
    const cpuBefore = process.cpuUsage();
    const campaign = { targetFlag: `--target ${name}`, seed: args.seed, numRuns: args.runs, contract: args.contract };
    const result = args.jobs === 1 ? await runTargetCampaign({ ...campaign, target }) : await jobsResult(name, campaign, args.jobs);
    const seconds = (performance.now() - startedMs) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuSeconds = (cpu.user + cpu.system) / 1e6;
    const perCpu = args.jobs === 1 ? result.crashImages / cpuSeconds : null;
    const row = { target: name, jobs: args.jobs, contract: result.contract, cases: result.cases, crashImages: result.crashImages, seconds, imagesPerSecond: result.crashImages / seconds,
      imagesPerCpuSecond: perCpu, violations: result.violations, findings: result.findings, identity: await target.identity() };
    rows.push(row);
    console.log(`${name.padEnd(24)} ${row.contract.padEnd(8)} ${String(row.cases).padStart(6)} ${String(row.crashImages).padStart(7)} ${row.imagesPerSecond.toFixed(0).padStart(7)} ${(perCpu === null ? '-' : perCpu.toFixed(0)).padStart(9)} ${String(row.violations).padStart(10)}  ${JSON.stringify(row.findings)}`);
  }
  if (args.json) console.log(JSON.stringify({ seed: args.seed, runs: args.runs, rows }));
}

await benchMain(import.meta.url, main);
