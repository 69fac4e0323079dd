/**
 * `crashlab run --target lowdb|nedb|write-file-atomic | --adapter FILE` for node-fs targets, and
 * `--target classic-level|lmdb|better-sqlite3:…` for native ones (the same campaign, captured
 * by strace and recovered in processes, targets/native/): installs the library into the
 * targets' folder, runs the traced campaign
 * (properties/runNodeFsCampaign.ts) under the file-system model of `--fs`, and prints the
 * verdict: a violation with its crash point, the lint of what was unsynced when the commits
 * were acknowledged, the replay command, and images/s.
 */
import os from 'node:os';
import { FS_MODELS, type FsModelName } from '../fault/traceCrash.js';
import { runNodeFsCampaign, type NodeFsCampaign, type NodeFsCampaignResult, type TracedDriver } from '../properties/runNodeFsCampaign.js';
import { checkNodeFsConformance } from '../properties/conformance.js';
import { CaptureServer } from '../targets/nodefs/captureTrace.js';
import type { NativeTarget, NodeFsTarget } from '../targets/registry.js';
import type { TracedAdapter } from '../targets/nodefs/nodeFsAdapter.js';
import { nativeDriver } from '../targets/native/nativeDriver.js';
import { ensureTargetPackage } from '../targets/targetPackages.js';
import type { ContractLevel } from '../targets/target.js';
import type { Trace } from '../fault/trace.js';
import { inShards, sumFindings } from './targetJobs.js';

/** The recovery pool's own default cap (recoveryPool.ts). */
const MAX_RECOVERY_WORKERS = 4;

/** A target of either traced tier: the node-fs recorder's, or the native tier's strace. */
export type TracedEntry = NodeFsTarget | NativeTarget;

export interface NodeFsRunOptions {
  readonly entry: TracedEntry;
  readonly targetFlag: string;
  readonly fsModel: FsModelName;
  readonly seed: number;
  readonly numRuns: number;
  readonly pointsPerCase: number | undefined;
  readonly contract: ContractLevel | undefined;
  readonly path: string | undefined;
  readonly json: boolean;
  /** Shards run at once (each its own seed, printed in its replay line). */
  readonly jobs: number;
  /** With `path`: the saved trace to rebuild the case's images from. */
  readonly savedTrace?: Trace | undefined;
  readonly onCase: ((cases: number, images: number) => void) | undefined;
}

/** `--fs NAME`, checked: a typo is a usage error naming the models. */
export function fsModelOf(text: string | undefined): FsModelName | Error {
  if (text === undefined) return 'posix';
  return FS_MODELS.includes(text as FsModelName) ? text as FsModelName : new Error(`--fs wants one of ${FS_MODELS.join(', ')}, not ${JSON.stringify(text)}`);
}

/** The identity a certificate or a start line names: the adapter, its tier and its packages' exact versions. */
export function nodeFsIdentity(entry: TracedEntry): string {
  const packages = Object.entries(entry.adapter.packages).map(([name, version]) => `${name}@${version}`).join(', ');
  return `${entry.adapter.name} (${entry.tier}; ${packages === '' ? 'no packages' : packages})`;
}

/** How the campaign captures and recovers: the native tier's strace and recovery processes, or (undefined) the node-fs tier's own. */
export function driverOf(entry: TracedEntry, packages: Readonly<Record<string, string>>, seed: number): TracedDriver | undefined {
  return entry.tier === 'native' ? nativeDriver({ adapter: entry.adapter, adapterModule: entry.module, packages, seed }) : undefined;
}

/** Installs (on first use) every package the adapter names; name → the folder it is in. */
export async function installAdapterPackages(adapter: TracedAdapter): Promise<Record<string, string>> {
  const packages: Record<string, string> = {};
  for (const [name, version] of Object.entries(adapter.packages)) packages[name] = await ensureTargetPackage(name, version);
  return packages;
}

export async function runNodeFs(options: NodeFsRunOptions): Promise<NodeFsCampaignResult> {
  const packages = await installAdapterPackages(options.entry.adapter);
  // An adapter of the user's passes the self-test before any finding of it is reported.
  const driver = driverOf(options.entry, packages, options.seed);
  if (options.targetFlag.startsWith('--adapter')) await checkNodeFsConformance(options.entry.adapter, options.entry.module, packages, driver);
  const { adapter } = options.entry;
  const contract = options.contract ?? adapter.contract.level;
  const start = { event: 'start', target: adapter.name, tier: options.entry.tier, identity: nodeFsIdentity(options.entry), fs: options.fsModel, contract, seed: options.seed, runs: options.numRuns, path: options.path ?? null };
  if (options.json) console.log(JSON.stringify(start));
  else console.log(`crashlab run ${options.targetFlag} --fs ${options.fsModel}: seed ${options.seed}, ${options.numRuns} cases, judged as ${contract} (${start.identity})`);
  const startedMs = performance.now();
  const campaign: NodeFsCampaign = {
    adapter, adapterModule: options.entry.module, targetFlag: options.targetFlag, packages, fsModel: options.fsModel, seed: options.seed,
    numRuns: options.numRuns, pointsPerCase: options.pointsPerCase, contract: options.contract, path: options.path, onCase: options.onCase,
    savedTrace: options.savedTrace, driver,
  };
  if (options.savedTrace !== undefined && !options.json) console.log(`  images rebuilt from the saved trace (${options.savedTrace.events.length} events), the library is not run again`);
  const result = options.jobs === 1 ? await runNodeFsCampaign(campaign) : await runNodeFsJobs(campaign, options.jobs);
  printResult(result, options.entry.tier, performance.now() - startedMs, options.json);
  return result;
}

/**
 * The campaign as `jobs` shards at once in this process (the captures run in servers of their
 * own and recovery in workers, so this thread mostly waits); each shard has its own seed. The
 * shards share the cores: each gets its share of recovery workers (at least one), not a worker
 * per core each, since every worker is a V8 isolate that compiles the library's hot code again
 * (with --jobs 2 on 2 cores, 4 workers spent about 7% more CPU than 2, at the same wall time).
 */
export async function runNodeFsJobs(campaign: NodeFsCampaign, jobs: number): Promise<NodeFsCampaignResult> {
  const recoveryWorkers = campaign.recoveryWorkers ?? Math.max(1, Math.floor(Math.min(MAX_RECOVERY_WORKERS, os.availableParallelism()) / jobs));
  const captureServer = campaign.driver === undefined ? campaign.captureServer ?? new CaptureServer() : undefined;
  let results: NodeFsCampaignResult[];
  try {
    results = await inShards(campaign, jobs, campaign.onCase, (part, onCase) => runNodeFsCampaign({ ...campaign, seed: part.seed, numRuns: part.runs, onCase, recoveryWorkers, captureServer }));
  } finally {
    if (captureServer !== campaign.captureServer) captureServer?.close();
  }
  const sum = (pick: (result: NodeFsCampaignResult) => number): number => results.reduce((total, result) => total + pick(result), 0);
  const first = results[0]!;
  return {
    ...first, ok: results.every((result) => result.ok), seed: campaign.seed, cases: sum((r) => r.cases), crashImages: sum((r) => r.crashImages),
    judged: sum((r) => r.judged), violations: sum((r) => r.violations), findings: sumFindings(results), examples: results.flatMap((result) => result.examples),
    failure: results.find((result) => result.failure !== null)?.failure ?? null,
  };
}

function printResult(result: NodeFsCampaignResult, tier: TracedEntry['tier'], elapsedMs: number, json: boolean): void {
  const imagesPerSecond = Math.round((result.crashImages * 1000) / Math.max(1, elapsedMs));
  if (json) {
    const failure = result.failure === null ? null : { ...result.failure, counterexample: undefined, trace: undefined };
    console.log(JSON.stringify({ event: 'done', ok: result.ok, target: result.target, tier, fs: result.fsModel, contract: result.contract, seed: result.seed,
      cases: result.cases, crashImages: result.crashImages, judged: result.judged, violations: result.violations, findings: result.findings, examples: result.examples, imagesPerSecond, failure }));
    return;
  }
  if (result.failure !== null) {
    const { violation, path, replay, lint, replayedIdentically, traceHash } = result.failure;
    console.log(`VIOLATION (${violation.kind}) of ${result.target} under --fs ${result.fsModel}, judged as ${result.contract}: ${violation.detail}`);
    console.log(`  power cut at trace position ${violation.crashAt} (${violation.point}), ${violation.acknowledged} commits acknowledged; plan ${violation.plan.survival}${violation.plan.tear ? ' torn' : ''}; seed ${result.seed}, path ${path}`);
    const unsynced = lint.flatMap((ack) => ack.items.map((item) => `at the ack of txn ${ack.txn}: ${item.explanation}`));
    for (const line of [...new Set(unsynced)].slice(0, 8)) console.log(`  lint: ${line}`);
    console.log(`  trace ${traceHash}${replayedIdentically ? ', replayed byte-identically' : ', NOT reproduced by a second run (the library is not deterministic here)'}`);
    console.log(`  replay: ${replay}`);
  }
  const found = Object.entries(result.findings).map(([kind, count]) => `${kind} ${count}`).join(', ');
  console.log(`${result.ok ? 'ok' : 'FAILED'}: ${result.target} (--fs ${result.fsModel}), seed ${result.seed}, ${result.cases} cases, ${result.crashImages} crash images (${result.judged} judged), `
    + `${result.violations} violations${found === '' ? '' : `, findings: ${found}`}, ${imagesPerSecond} images/s`);
}
