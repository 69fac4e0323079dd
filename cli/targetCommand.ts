/**
 * `crashlab targets` (every built-in target with its capabilities and contract) and
 * `crashlab run --target NAME | --adapter FILE`: the crash campaign against any target through
 * the target-neutral path (properties/runTargetCampaign.ts). `--target reference` is the
 * reference engine's own campaign and goes the usual way. An adapter passes the conformance
 * self-test before any finding of it is reported. Flags are parsed by Node's `util.parseArgs`;
 * every mistake is exit 2 with a message that names it.
 */
import { parseArgs } from 'node:util';
import { checkConformance, ConformanceError } from '../properties/conformance.js';
import { runTargetCampaign, type TargetCampaign, type TargetCampaignResult } from '../properties/runTargetCampaign.js';
import { TargetPackageError } from '../targets/targetPackages.js';
import { SEED_MAX } from '../properties/runDifferential.js';
import { RUNS_MAX } from './args.js';
import { JOBS_MAX, runJobs } from './targetJobs.js';
import { onInterrupt } from './interruptSummary.js';
import { runWatched, WorkerFailure, type WatchedOutcome } from './targetWatchdog.js';
import { builtInNativeTargets, builtInNodeFsTargets, builtInTargets, loadAnyAdapter, resolveAnyTarget, TargetError, type AnyTarget } from '../targets/registry.js';
import { fsModelOf, installAdapterPackages, nodeFsIdentity, runNodeFs } from './nodeFsRun.js';
import { listTargetFailures, loadTargetFailure, replayArgv, saveTargetFailure, TARGET_CORPUS_VERSION, targetFailureId, type TargetFailureRecord } from './targetCorpus.js';
import fs from 'node:fs';
import { traceFromJsonLines, TraceError, type Trace } from '../fault/trace.js';
import { NodeFsError } from '../targets/nodefs/nodeFsError.js';
import { NativeError } from '../targets/native/nativeError.js';
import { CONTRACT_LEVELS, type ContractLevel, type Target } from '../targets/target.js';

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

export const TARGET_USAGE = `crashlab targets [--json] lists the targets; crashlab targets --install NAME... installs what they need.

Flags for run --target NAME | --adapter FILE (any target but the reference engine):
  --seed N            seed in [0, ${SEED_MAX}] (drawn and printed when omitted)
  --runs N            crash cases (default 100)
  --images N          crash images per case (default 48; node-fs targets: crash points per case, 8 plans each, default 32)
  --fs MODEL          node-fs and native targets: the file-system model crash images follow, posix (default) or ext4
  --contract LEVEL    judge against ${CONTRACT_LEVELS.join('|')} instead of the target's own contract
  --path P            replay one failing case printed by a failed run (needs --seed)
  --hang-timeout S    a target that runs synchronously (SQLite) runs in a worker; no case done
                      in S seconds is a hang (default 120)
  --jobs N            split the cases over N worker threads, each a shard with its own seed
                      (printed in its replay line); default 1
  --trace FILE        node-fs and native targets, with --path: rebuild that case's crash images from a saved
                      trace (failures keep theirs) instead of running the library again
  --json              JSON lines (the last one sums up)`;

/** Whether argv is one this module runs (else the reference engine's command line). */
export function isTargetInvocation(argv: readonly string[]): boolean {
  if (argv[0] === 'targets') return true;
  if (argv[0] === 'replay') return argv.length === 2 && loadTargetFailure(process.cwd(), argv[1]!) !== null;
  if (argv[0] === 'certify' && !argv.includes('--help')) return namesOtherTarget(argv);
  if (argv[0] !== 'run') return false;
  return namesOtherTarget(argv);
}

function namesOtherTarget(argv: readonly string[]): boolean {
  const named = argv.findIndex((arg) => arg === '--target' || arg.startsWith('--target='));
  if (argv.some((arg) => arg === '--adapter' || arg.startsWith('--adapter='))) return true;
  if (named < 0) return false;
  const value = argv[named]!.includes('=') ? argv[named]!.split('=')[1] : argv[named + 1];
  return value !== 'reference';
}

/** argv without `--target reference` (the default), for the reference engine's parser. */
export function withoutReferenceTarget(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--target=reference') continue;
    if (argv[i] === '--target' && argv[i + 1] === 'reference') {
      i++;
      continue;
    }
    out.push(argv[i]!);
  }
  return out;
}

export class Usage extends Error {}

export function integer(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max)) throw new Usage(`${flag} wants an integer in [${min}, ${max}], not ${JSON.stringify(text)}`);
  return value;
}

export async function targetCommand(argv: readonly string[], drawSeed: () => number): Promise<number> {
  try {
    if (argv[0] === 'targets') return await listTargets(argv.slice(1));
    if (argv[0] === 'replay') return await runTarget(replayArgv(loadTargetFailure(process.cwd(), argv[1] ?? '')!).slice(1), drawSeed);
    if (argv[0] === 'certify') return await (await import('./targetCertify.js')).targetCertifyCommand(argv, drawSeed);
    return await runTarget(argv.slice(1), drawSeed);
  } catch (error) {
    if (error instanceof Usage || error instanceof TargetError || error instanceof TargetPackageError || error instanceof ConformanceError || error instanceof TraceError || error instanceof NodeFsError || error instanceof NativeError) {
      console.error(`crashlab: ${error.message}`);
      return EXIT_USAGE;
    }
    if (error instanceof TypeError && /^(unknown|option|Unknown)/i.test(error.message)) {
      console.error(`crashlab: ${error.message}`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

async function listTargets(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...argv], options: { json: { type: 'boolean', default: false }, install: { type: 'boolean', default: false } }, strict: true, allowPositionals: true });
  if (values.install) return installTargets(positionals);
  if (positionals.length > 0) throw new Usage(`targets takes no names unless --install is given, not ${JSON.stringify(positionals[0])}`);
  for (const target of builtInTargets()) {
    const line = { name: target.name, description: target.description, capabilities: target.capabilities, contract: target.contract };
    if (values.json) console.log(JSON.stringify(line));
    else console.log(`${target.name.padEnd(22)} contract ${target.contract.level.padEnd(7)} ${target.description}`);
  }
  for (const { adapter, tier } of [...builtInNodeFsTargets(), ...builtInNativeTargets()]) {
    const line = { name: adapter.name, tier, description: adapter.description, capabilities: adapter.capabilities, contract: adapter.contract, packages: adapter.packages };
    if (values.json) console.log(JSON.stringify(line));
    else console.log(`${adapter.name.padEnd(22)} contract ${adapter.contract.level.padEnd(7)} ${adapter.description} [${tier}]`);
  }
  if (!values.json) console.log('\nyour own: crashlab run --adapter FILE.js (a module exporting defineTarget({...}) from crashlab/harness)');
  return EXIT_OK;
}

/**
 * `targets --install NAME...`: installs what each named target needs into the targets' folder
 * before any run, so that CI (or a user behind a proxy) pays the download or build once, up
 * front, rather than inside the first campaign's time.
 */
async function installTargets(names: readonly string[]): Promise<number> {
  if (names.length === 0) throw new Usage('targets --install wants the names of the targets to install (crashlab targets lists them)');
  for (const name of names) {
    const resolved = resolveAnyTarget(name);
    if (resolved.tier === 'vfs') {
      if (name.startsWith('sqlite:')) await (await import('../targets/sqlite/waSqlite.js')).loadWaSqlite();
      console.log(`${name}: ready${name.startsWith('sqlite:') ? ' (wa-sqlite installed)' : ' (nothing to install)'}`);
      continue;
    }
    const packages = await installAdapterPackages(resolved.adapter);
    for (const [packageName, dir] of Object.entries(packages)) console.log(`${name}: ${packageName}@${resolved.adapter.packages[packageName]} in ${dir}`);
  }
  return EXIT_OK;
}

async function runTarget(argv: readonly string[], drawSeed: () => number): Promise<number> {
  const { values } = parseArgs({
    args: [...argv], strict: true, allowPositionals: false,
    options: {
      target: { type: 'string' }, adapter: { type: 'string' }, seed: { type: 'string' }, runs: { type: 'string' },
      images: { type: 'string' }, contract: { type: 'string' }, path: { type: 'string' }, json: { type: 'boolean', default: false },
      'hang-timeout': { type: 'string' }, fs: { type: 'string' }, jobs: { type: 'string' }, trace: { type: 'string' },
    },
  });
  if (values.target !== undefined && values.adapter !== undefined) throw new Usage('--target and --adapter name one target: give one of them');
  const contract = values.contract as ContractLevel | undefined;
  if (contract !== undefined && !CONTRACT_LEVELS.includes(contract)) throw new Usage(`--contract wants one of ${CONTRACT_LEVELS.join(', ')}, not ${JSON.stringify(values.contract)}`);
  if (values.path !== undefined && values.seed === undefined) throw new Usage('--path replays a case of one seed: give --seed too');
  if (values.path !== undefined && !/^\d+(:\d+)*$/.test(values.path)) throw new Usage(`--path wants numbers joined by ':', not ${JSON.stringify(values.path)}`);
  const seed = integer(values.seed, '--seed', 0, SEED_MAX) ?? drawSeed();
  const numRuns = integer(values.runs, '--runs', 1, RUNS_MAX) ?? (values.path === undefined ? 100 : 1);
  const imagesPerCase = integer(values.images, '--images', 1, 4096);
  const fsModel = fsModelOf(values.fs);
  if (fsModel instanceof Error) throw new Usage(fsModel.message);
  const resolved: AnyTarget = values.adapter !== undefined ? await loadAnyAdapter(values.adapter) : resolveAnyTarget(values.target!);
  const onCase = progress(numRuns, values.json);
  onInterrupt(() => `partial: seed ${seed}, ${progressSoFar}; the same seed draws the same cases, so this runs them again: crashlab ${['run', ...argv].join(' ')}${values.seed === undefined ? ` --seed ${seed}` : ''}`);
  const targetFlag = values.adapter !== undefined ? `--adapter ${values.adapter}` : `--target ${values.target}`;
  const jobs = integer(values.jobs, '--jobs', 1, JOBS_MAX) ?? 1;
  if (jobs > 1 && values.path !== undefined) throw new Usage('--path replays one case: it runs as one job (drop --jobs)');
  const gate = values.path === undefined ? await regressionGate(targetFlag, drawSeed, values.json) : EXIT_OK;
  const saved = { targetFlag, seed, contract: contract ?? null, fs: resolved.tier !== 'vfs' ? fsModel : null, json: values.json };
  if (resolved.tier !== 'vfs') {
    const savedTrace = values.trace === undefined ? undefined : readSavedTrace(values.trace, values.path);
    const result = await runNodeFs({ entry: resolved, targetFlag, fsModel, seed, numRuns, pointsPerCase: imagesPerCase, contract, path: values.path, json: values.json, jobs, onCase, savedTrace });
    if (result.failure !== null) await remember({ ...saved, target: resolved.adapter.name, identity: nodeFsIdentity(resolved) }, result.failure, result.failure.violation, result.failure.trace);
    return Math.max(gate, result.ok ? EXIT_OK : EXIT_FAILED);
  }
  if (values.trace !== undefined) throw new Usage('--trace replays a traced target\'s saved trace (node-fs and native targets)');
  if (values.fs !== undefined) throw new Usage('--fs applies to traced targets (node-fs: lowdb, nedb, write-file-atomic; native: classic-level, lmdb, better-sqlite3:…)');
  const target: Target = resolved.target;
  // A synchronous target is self-tested inside the watched worker (its loop would hang this thread).
  if (values.adapter !== undefined && !target.capabilities.synchronous) await checkConformance(target);
  const identity = await target.identity();
  const start = { event: 'start', target: target.name, identity, contract: contract ?? target.contract.level, seed, runs: numRuns, path: values.path ?? null };
  if (values.json) console.log(JSON.stringify(start));
  else console.log(`crashlab run ${targetFlag}: seed ${seed}, ${numRuns} cases, judged as ${start.contract} (${identity})`);
  const startedMs = performance.now();
  const campaign = { targetFlag, seed, numRuns, imagesPerCase, contract, path: values.path };
  const hangTimeoutMs = 1000 * (integer(values['hang-timeout'], '--hang-timeout', 1, 86_400) ?? DEFAULT_HANG_TIMEOUT_SECONDS);
  const named = values.adapter !== undefined ? { adapterFile: values.adapter } : { targetName: target.name };
  const outcome = jobs > 1 ? await runJobs(named, campaign, jobs, hangTimeoutMs, onCase) : await runTargetCases(target, named, campaign, hangTimeoutMs, onCase);
  if (outcome.kind === 'done') {
    printDone(outcome.result, performance.now() - startedMs, values.json);
    const { failure } = outcome.result;
    if (failure !== null) await remember({ ...saved, target: target.name, identity }, failure, failure.violation);
    return Math.max(gate, outcome.result.ok ? EXIT_OK : EXIT_FAILED);
  }
  printHang(target.name, seed, outcome, hangTimeoutMs, numRuns, values.json);
  return EXIT_FAILED;
}

/** `--trace FILE`: a saved trace (failures keep theirs), for `--path`'s one case. */
function readSavedTrace(file: string, casePath: string | undefined): Trace {
  if (casePath === undefined) throw new Usage('--trace replays one case: give its --seed and --path too');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    throw new Usage(`--trace ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return traceFromJsonLines(text);
  } catch (error) {
    throw new Usage(`--trace ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

interface Remembered {
  readonly targetFlag: string; readonly target: string; readonly identity: string; readonly seed: number;
  readonly contract: string | null; readonly fs: string | null; readonly json: boolean;
}

/** Saves a shrunk failure in the target corpus and says how to replay it. */
async function remember(what: Remembered, failure: { path: string; replay: string }, violation: { kind: string; detail: string }, trace?: Trace): Promise<void> {
  const id = targetFailureId(what.targetFlag, what.seed, failure.path, what.contract, what.fs);
  const record: TargetFailureRecord = {
    version: TARGET_CORPUS_VERSION, id, targetFlag: what.targetFlag, target: what.target, identity: what.identity, seed: what.seed, path: failure.path,
    contract: what.contract, fs: what.fs, kind: violation.kind, detail: violation.detail, replay: failure.replay,
  };
  await saveTargetFailure(process.cwd(), record, trace);
  if (what.json) return;
  console.log(`  saved as ${id} (crashlab replay ${id})`);
  if (trace !== undefined) console.log(`  from its saved trace: npx crashlab ${replayArgv(record, { fromTrace: true }).join(' ')}`);
}

/** Replays the saved failures of this target first: one that still fails fails the run. */
async function regressionGate(targetFlag: string, drawSeed: () => number, json: boolean): Promise<number> {
  const { records, unreadable } = listTargetFailures(process.cwd());
  for (const problem of unreadable) console.error(`crashlab: skipping an unreadable saved failure: ${problem}`);
  let code = EXIT_OK;
  for (const record of records.filter((r) => r.targetFlag === targetFlag)) {
    if (!json) console.log(`replaying saved failure ${record.id} (${record.kind})`);
    const replayed = await runTarget(replayArgv(record).slice(1), drawSeed);
    if (!json) console.log(replayed === EXIT_OK ? `saved failure ${record.id} no longer reproduces` : `saved failure ${record.id} STILL FAILS`);
    code = Math.max(code, replayed);
  }
  return code;
}

export const DEFAULT_HANG_TIMEOUT_SECONDS = 120;
/** Errors from the worker that mean bad input, as in this thread. */
const USAGE_CODES = new Set(['UNKNOWN_TARGET', 'BAD_ADAPTER', 'TARGET_PACKAGE', 'CONFORMANCE']);

/**
 * A campaign against a Vfs target: in this thread when it is asynchronous (hangs are seen by
 * the recovery's turn budget), in a watched worker when it runs synchronously.
 */
export async function runTargetCases(target: Target, named: { adapterFile: string } | { targetName: string }, campaign: Omit<TargetCampaign, 'target' | 'onCase'>,
  hangTimeoutMs: number, onCase: ((cases: number, images: number) => void) | undefined): Promise<WatchedOutcome> {
  if (!target.capabilities.synchronous) return { kind: 'done', result: await runTargetCampaign({ ...campaign, target, onCase }) };
  return runWatched({ ...campaign, ...named }, hangTimeoutMs, onCase).catch((error: unknown) => {
    if (error instanceof WorkerFailure && error.code !== undefined && USAGE_CODES.has(error.code)) throw new Usage(error.message);
    throw error;
  });
}

function printHang(target: string, seed: number, hang: Extract<WatchedOutcome, { kind: 'hang' }>, timeoutMs: number, numRuns: number, json: boolean): void {
  const shrinking = hang.caseIndex >= numRuns;
  const detail = `case ${hang.caseIndex} of seed ${seed} did not finish within ${timeoutMs / 1000} s${shrinking ? ' (while shrinking a failure: the replay runs the drawn case it came from)' : ''}`;
  if (json) {
    console.log(JSON.stringify({ event: 'done', ok: false, target, seed, hang: { ...hang, detail } }));
    return;
  }
  console.log(`VIOLATION (hang) of ${target}: ${detail}`);
  console.log(`  replay: ${hang.replay}`);
  console.log(`FAILED: ${target}, seed ${seed}, ${hang.caseIndex} cases done, ${hang.images} crash images, a hang`);
}

/** How far the target campaign got, for the summary Ctrl-C prints. */
let progressSoFar = 'no case judged yet';

/** Progress lines every tenth of the campaign (never more often than every 10 cases); none with --json. */
function progress(numRuns: number, json: boolean): (cases: number, images: number) => void {
  const every = Math.max(10, Math.ceil(numRuns / 10));
  return (cases, images) => {
    progressSoFar = `${cases}/${numRuns} cases judged, ${images} crash images`;
    if (!json && cases % every === 0 && cases < numRuns) console.error(`  ${cases}/${numRuns} cases, ${images} crash images`);
  };
}

function printDone(result: TargetCampaignResult, elapsedMs: number, json: boolean): void {
  const imagesPerSecond = Math.round((result.crashImages * 1000) / Math.max(1, elapsedMs));
  if (json) {
    console.log(JSON.stringify({ event: 'done', ok: result.ok, target: result.target, contract: result.contract, seed: result.seed, cases: result.cases,
      crashImages: result.crashImages, violations: result.violations, findings: result.findings, imagesPerSecond, failure: result.failure === null ? null
        : { path: result.failure.path, violation: result.failure.violation, replay: result.failure.replay } }));
    return;
  }
  if (result.failure !== null) {
    const { violation, path, replay } = result.failure;
    console.log(`VIOLATION (${violation.kind}) of ${result.target}, judged as ${result.contract}: ${violation.detail}`);
    console.log(`  power cut at I/O event ${violation.crashAtEvent} (${violation.point}), ${violation.acknowledged} commits acknowledged; seed ${result.seed}, path ${path}`);
    console.log(`  replay: ${replay}`);
  }
  const found = Object.entries(result.findings).map(([kind, count]) => `${kind} ${count}`).join(', ');
  console.log(`${result.ok ? 'ok' : 'FAILED'}: ${result.target}, seed ${result.seed}, ${result.cases} cases, ${result.crashImages} crash images, `
    + `${result.violations} violations${found === '' ? '' : `, findings the contract allows or found: ${found}`}, ${imagesPerSecond} images/s`);
}
