/**
 * Process kills (ARCHITECTURE.md section 4): a child process (killWorker.ts) runs a generated
 * workload on real files and reports each commit over a pipe; the parent sends SIGKILL after
 * a seeded number of report lines, then recovers the files with the reference engine and
 * judges them (recovery/checkImage.ts) against the model built from the child's reports:
 * first a copy of the killed bytes in memory (a verdict that depends on the bytes alone), then
 * the real files through FileVfs (the dead child's locks must be gone).
 *
 * Two tiers. 'plain': the child writes through FileVfs, and the page cache outlives it, so
 * everything it wrote survives (like survival 'all'). 'power': the child writes through a
 * WriteBackVfs, where unsynced writes live in its own memory and die with it (a power cut).
 *
 * A case rerun by its case seed (workload and kill line) is not the same kill byte for byte:
 * where the kill lands inside the child's work depends on both processes' timing. So a failing
 * case keeps its directory when asked: the killed image, the child's report lines and the case
 * (KEPT_CASE_FILE). `rejudgeKill` judges that image against those reports again, which is
 * deterministic: the replay a failure prints (`--rejudge DIR`) reproduces it on the first try.
 * `--case-seed S --retries N` reruns the kill itself up to N times.
 *
 * This module may use timers and the wall clock (properties/ drives real processes).
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import fc from 'fast-check';
import lockfile from 'proper-lockfile';
import type { ColumnFamilyOptions } from '../engine/columnFamilyDatabase.js';
import { FileVfs } from '../engine/fileVfs.js';
import * as referenceEngine from '../engine/index.js';
import { FaultyVfs } from '../fault/faultyVfs.js';
import { Prng } from '../fault/prng.js';
import { CommitHistory, type ModelOp } from '../model/commitHistory.js';
import { checkImage, contractOf, type EngineUnderTest } from '../recovery/checkImage.js';
import { classify, type DiffLine, type ViolationKind } from '../recovery/classify.js';
import { readState } from '../recovery/readState.js';
import { PROFILES, workloadArb, type CrashProfile } from './crashArbitraries.js';
import { engineForWorkload } from './singleFileStore.js';
import type { Step, Workload } from './crashWorkload.js';
import {
  opFromWire, parseReportLine, workloadFromWire, workloadToWire, type KillTier, type KillWorkerArgs,
} from './killProtocol.js';

export type { KillTier } from './killProtocol.js';

const WORKER_PATH = fileURLToPath(new URL('./killWorker.js', import.meta.url));
/**
 * The safety net: a child that never reaches its kill line is killed after this long anyway.
 * Generous on purpose: on a loaded 2-core CI machine a child's start alone can take seconds,
 * and a net that fires early turns a slow machine into a different test (no acks yet).
 */
export const DEFAULT_MAX_WALL_MS = 30_000;
/** Recovery of the real files may take this long before it counts as a hang (a few ms when idle). */
const RECOVERY_WALL_MS = 60_000;
const STDERR_KEPT_BYTES = 4_096;
/** In a kept directory: the files as the kill left them (the directory itself is recovered). */
export const KILLED_IMAGE_DIR = 'killed-image';
/** In a kept directory: the case (workload on the wire, tier, kill line) and how the child ended. */
export const KEPT_CASE_FILE = 'kill-case.json';
/** In a kept directory: the child's complete report lines, in arrival order. */
export const KEPT_REPORTS_FILE = 'reports.jsonl';

export interface KillCase {
  readonly workload: Workload;
  readonly tier: KillTier;
  readonly seed: number;
  /** SIGKILL once this many complete report lines arrived (0: at once). */
  readonly killAfterLines: number;
  readonly maxWallMs?: number;
  /** An engine index.js for the child to run instead of the reference one (a planted bug). */
  readonly engineModule?: string;
  /**
   * Keep the directory of a violation, with the killed image in `killed-image/`, the reports
   * and the case (a post-mortem, and what `rejudgeKill` replays); a string: create it under
   * that folder instead of the system's temporary one.
   */
  readonly keepFailedDir?: boolean | string;
}

export type KillViolationKind = ViolationKind | 'clean-reopen' | 'worker-error';

export type KillVerdict =
  | { readonly ok: true; readonly prefix: number }
  | { readonly ok: false; readonly kind: KillViolationKind; readonly detail: string; readonly diff: readonly DiffLine[] };

export interface KillResult {
  readonly verdict: KillVerdict;
  /** Complete report lines received (the partial line a kill may cut is not counted). */
  readonly lines: number;
  /** Commits issued, and of those acknowledged, by the child before it died. */
  readonly commits: number;
  readonly acked: number;
  /** Whether our SIGKILL ended the child (false: it exited by itself, which is a failure). */
  readonly killed: boolean;
  readonly ms: number;
  /** The kept directory of a failed case (with `keepFailedDir`). */
  readonly dir?: string;
}

/** Turns the child's stdout into the commit history, line by line, in arrival order. */
export class ReportReader {
  readonly history = new CommitHistory();
  lines = 0;
  acked = 0;
  /** The complete lines received, as they came (kept with a failed case). */
  readonly texts: string[] = [];
  /** What the worker said went wrong, or what it printed that makes no sense. */
  failure: { kind: KillViolationKind; detail: string } | null = null;
  #partial = '';

  /** Feeds a chunk; calls `onLine` after each complete line. The text after the last newline waits. */
  feed(chunk: string, onLine: () => void): void {
    const pieces = (this.#partial + chunk).split('\n');
    this.#partial = pieces.pop()!;
    for (const piece of pieces) {
      this.lines += 1;
      this.texts.push(piece);
      this.#handle(piece);
      onLine();
    }
  }

  #handle(text: string): void {
    if (this.failure !== null) return;
    try {
      const line = parseReportLine(text);
      if (line.t === 'family') this.history.addFamily(line.name);
      else if (line.t === 'issue') {
        const ops: ModelOp[] = line.ops.map(opFromWire);
        const index = this.history.issue(line.family, ops, line.durability, line.change);
        if (index !== line.i) throw new Error(`kill protocol: commit ${line.i} arrived as the ${index}th`);
      } else if (line.t === 'ack') {
        this.history.settle(line.i, 'acked');
        this.acked += 1;
      } else if (line.t === 'fail') this.history.settle(line.i, 'failed');
      else this.failure = { kind: line.kind, detail: `worker: ${line.detail}` };
    } catch (error) {
      this.failure = { kind: 'worker-error', detail: `unreadable report line: ${String(error)}` };
    }
  }
}

interface ChildEnd {
  readonly killed: boolean;
  readonly code: number | null;
  readonly stderr: string;
}

function spawnWorker(): ChildProcessByStdio<Writable, Readable, Readable> {
  // '-': the worker blocks reading its arguments from stdin, so it can be started ahead of need.
  return spawn(process.execPath, [WORKER_PATH, '-'], { stdio: ['pipe', 'pipe', 'pipe'] });
}

/**
 * Keeps one worker started ahead of need: Node's start-up is most of a case, and this way it
 * overlaps the case before. `close` kills the spare, which otherwise keeps the parent alive.
 */
export class WorkerPool {
  #spare: ChildProcessByStdio<Writable, Readable, Readable> | null = null;

  take(): ChildProcessByStdio<Writable, Readable, Readable> {
    const spare = this.#spare;
    this.#spare = spawnWorker();
    // A spare that died waiting (it never should) would never report 'close' to its new owner.
    return spare !== null && spare.exitCode === null && spare.signalCode === null ? spare : spawnWorker();
  }

  close(): void {
    this.#spare?.kill('SIGKILL');
    this.#spare = null;
  }
}

/** Runs the worker to its kill (or its own exit), feeding every report line to `reader`. */
async function runChild(args: KillWorkerArgs, killCase: KillCase, reader: ReportReader, pool: WorkerPool | undefined): Promise<ChildEnd> {
  const child = pool === undefined ? spawnWorker() : pool.take();
  let killed = false;
  const kill = (): void => {
    if (killed) return;
    killed = true;
    child.kill('SIGKILL');
  };
  // A child killed before it read its arguments closes the pipe under this write: that is fine.
  child.stdin.on('error', () => undefined);
  child.stdin.end(JSON.stringify(args));
  const timer = setTimeout(kill, killCase.maxWallMs ?? DEFAULT_MAX_WALL_MS);
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => { stderr = (stderr + chunk).slice(-STDERR_KEPT_BYTES); });
  child.stdout.setEncoding('utf8');
  // Lines that arrive after the kill was sent still count: the child wrote them before it died.
  child.stdout.on('data', (chunk: string) => reader.feed(chunk, () => {
    if (reader.lines >= killCase.killAfterLines) kill();
  }));
  if (killCase.killAfterLines === 0) kill();
  try {
    const [code, signal] = await once(child, 'close') as [number | null, NodeJS.Signals | null];
    // Only a kill of ours counts: a child that exited by itself (even by a signal) failed.
    return { killed: killed && signal === 'SIGKILL', code, stderr };
  } finally {
    clearTimeout(timer);
  }
}

/** The files as the kill left them: in the power tier, what a reboot after a power cut finds. */
async function readImage(dir: string): Promise<Map<string, Uint8Array>> {
  const image = new Map<string, Uint8Array>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) image.set(entry.name, new Uint8Array(await readFile(path.join(dir, entry.name))));
  }
  return image;
}

/**
 * Judges the kill in two recoveries of the same bytes. First in memory, by checkImage: there
 * recovery runs on microtasks only, so its turn budget tells a hang from slow I/O, and the
 * verdict depends on the bytes alone. Then on the real files through FileVfs, with a wall-clock
 * budget: the dead child's locks must be gone and the recovered state acceptable too.
 */
async function judge(dir: string, image: ReadonlyMap<string, Uint8Array>, killCase: KillCase, reader: ReportReader, end: ChildEnd): Promise<KillVerdict> {
  if (reader.failure !== null) return { ok: false, ...reader.failure, diff: [] };
  if (!end.killed) {
    return { ok: false, kind: 'worker-error', detail: `the worker exited by itself (code ${end.code}): ${end.stderr.trim()}`, diff: [] };
  }
  const options = killCase.workload.options;
  const sharedLog = options.wal !== false;
  const engine = engineForWorkload(referenceEngine, killCase.workload);
  const verdict = await checkImage(engine, FaultyVfs.fromImage(image), reader.history, { options, sharedLog, corrupted: false, contract: contractOf(engine) });
  if (!verdict.ok) return verdict;
  return recoverOnDisk(engine, dir, options, reader.history, sharedLog);
}

async function recoverOnDisk(engine: EngineUnderTest, dir: string, options: ColumnFamilyOptions, history: CommitHistory, sharedLog: boolean): Promise<KillVerdict> {
  const recovery = (async () => {
    const db = await engine.ColumnFamilyDatabase.open(new FileVfs(dir), options);
    try {
      return await readState(db);
    } finally {
      await db.close();
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'hang'>((resolve) => { timer = setTimeout(() => resolve('hang'), RECOVERY_WALL_MS); });
  try {
    const state = await Promise.race([recovery, timeout]);
    if (state === 'hang') return { ok: false, kind: 'hang', detail: `recovery on disk took over ${RECOVERY_WALL_MS} ms`, diff: [] };
    const verdict = classify(history, state, sharedLog);
    return verdict.ok ? verdict : { ...verdict, detail: `recovery on disk: ${verdict.detail}` };
  } catch (error) {
    return { ok: false, kind: 'unexpected-error', detail: `recovery on disk failed: ${String(error)}`, diff: [] };
  } finally {
    clearTimeout(timer);
  }
}

interface KeptCase {
  readonly seed: number;
  readonly tier: KillTier;
  readonly killAfterLines: number;
  readonly workload: ReturnType<typeof workloadToWire>;
  readonly end: ChildEnd;
}

/** Saves the killed image, the reports and the case next to the recovered files of a kept directory. */
async function keepCase(dir: string, image: ReadonlyMap<string, Uint8Array>, killCase: KillCase, reader: ReportReader, end: ChildEnd): Promise<void> {
  await mkdir(path.join(dir, KILLED_IMAGE_DIR));
  for (const [name, bytes] of image) await writeFile(path.join(dir, KILLED_IMAGE_DIR, name), bytes);
  const kept: KeptCase = { seed: killCase.seed, tier: killCase.tier, killAfterLines: killCase.killAfterLines, workload: workloadToWire(killCase.workload), end };
  await writeFile(path.join(dir, KEPT_CASE_FILE), `${JSON.stringify(kept)}\n`);
  await writeFile(path.join(dir, KEPT_REPORTS_FILE), reader.texts.map((line) => `${line}\n`).join(''));
}

/**
 * Judges a kept failure again: its killed image against its child's reports, recovered in memory
 * and then on a fresh copy of the files. The same bytes and the same reports, so the same verdict.
 */
export async function rejudgeKill(dir: string): Promise<KillVerdict> {
  const kept = JSON.parse(await readFile(path.join(dir, KEPT_CASE_FILE), 'utf8')) as KeptCase;
  const reader = new ReportReader();
  reader.feed(await readFile(path.join(dir, KEPT_REPORTS_FILE), 'utf8'), () => undefined);
  const image = await readImage(path.join(dir, KILLED_IMAGE_DIR));
  const killCase: KillCase = { seed: kept.seed, tier: kept.tier, killAfterLines: kept.killAfterLines, workload: workloadFromWire(kept.workload) };
  const copy = await mkdtemp(path.join(os.tmpdir(), 'crashlab-rejudge-'));
  try {
    for (const [name, bytes] of image) await writeFile(path.join(copy, name), bytes);
    return await judge(copy, image, killCase, reader, kept.end);
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
}

/** One kill: a fresh locked directory, a child run to its kill, recovery and a verdict. */
export async function runKillCase(killCase: KillCase, pool?: WorkerPool): Promise<KillResult> {
  if (!(Number.isSafeInteger(killCase.killAfterLines) && killCase.killAfterLines >= 0)) throw new TypeError('killAfterLines must be a non-negative integer');
  const started = performance.now();
  const parent = typeof killCase.keepFailedDir === 'string' ? killCase.keepFailedDir : os.tmpdir();
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(path.join(parent, 'crashlab-kill-'));
  const release = await lockfile.lock(dir);
  let keep = false;
  try {
    const args: KillWorkerArgs = {
      dir, tier: killCase.tier, workload: workloadToWire(killCase.workload), seed: killCase.seed,
      ...(killCase.engineModule === undefined ? {} : { engineModule: killCase.engineModule }),
    };
    const reader = new ReportReader();
    const end = await runChild(args, killCase, reader, pool);
    const image = await readImage(dir);
    const verdict = await judge(dir, image, killCase, reader, end);
    keep = !verdict.ok && killCase.keepFailedDir !== undefined && killCase.keepFailedDir !== false;
    if (keep) await keepCase(dir, image, killCase, reader, end);
    return {
      verdict, lines: reader.lines, commits: reader.history.all().length, acked: reader.acked, killed: end.killed,
      ms: performance.now() - started, ...(keep ? { dir } : {}),
    };
  } finally {
    await release();
    if (!keep) await rm(dir, { recursive: true, force: true });
  }
}

/** The seed of case `index` of a campaign: one campaign seed spreads into independent cases. */
export function caseSeed(seed: number, index: number): number {
  return new Prng((seed + Math.imul(index, 0x9e3779b1)) >>> 0).nextU32();
}

/**
 * The case a seed stands for: a workload from workloadArb, and a kill line anywhere from
 * before the first family exists to the third round of the workload's commits.
 */
export function killCaseFromSeed(seed: number, tier: KillTier, profile: CrashProfile = PROFILES.quick): KillCase {
  if (!(Number.isSafeInteger(seed) && seed >= 0 && seed < 2 ** 32)) throw new TypeError(`a case seed is an integer in [0, 2^32), not ${seed}`);
  const [workload] = fc.sample(workloadArb(profile), { seed, numRuns: 1 });
  if (workload === undefined) throw new Error('fast-check drew no workload');
  // A drop step is two commits: the deletion and the creation.
  const commitsOf = (step: Step): number => (step.kind === 'txns' ? step.txns.filter((txn) => !txn.abort).length : step.kind === 'drop' ? 2 : 0);
  const commitsPerRound = workload.steps.reduce((sum, step) => sum + commitsOf(step), 0);
  // Two lines per commit (issue, ack); a workload without commits can only be killed after its families.
  const spanLines = workload.families + (commitsPerRound === 0 ? 0 : 3 * 2 * commitsPerRound);
  return { workload, tier, seed, killAfterLines: new Prng(seed ^ 0x6b696c6c).below(spanLines + 1) };
}

/** Times `--retries` reruns a kill by default: where it lands is timing, so one rerun may miss. */
export const DEFAULT_KILL_RETRIES = 5;

/** The command that reruns a kill case (its workload and kill line) up to `retries` times, stopping at the first failure. */
export function killReplayCommand(seed: number, tier: KillTier, profile: CrashProfile = PROFILES.quick, retries: number = DEFAULT_KILL_RETRIES): string {
  const name = Object.entries(PROFILES).find(([, candidate]) => candidate === profile)?.[0];
  if (name === undefined) throw new TypeError('only a named profile (PROFILES) can be replayed from the command line');
  return `node dist/properties/processKill.js --case-seed ${seed} --tier ${tier} --profile ${name} --retries ${retries}`;
}

/** The command that re-judges a kept failure (deterministic: the same killed image, the same reports). */
export function killRejudgeCommand(dir: string): string {
  return `node dist/properties/processKill.js --rejudge '${dir}'`;
}

export interface TierCounts {
  kills: number;
  clean: number;
  commits: number;
  acked: number;
  /** Summed over the tier's cases (cases overlap when the campaign runs several at once). */
  ms: number;
}

export interface KillFailure {
  readonly caseIndex: number;
  readonly caseSeed: number;
  readonly tier: KillTier;
  readonly killAfterLines: number;
  readonly result: KillResult;
  /** Re-judges the kept image when the directory was kept (deterministic), else reruns the kill with retries. */
  readonly replay: string;
  /** Reruns the kill itself, up to DEFAULT_KILL_RETRIES times (timing decides where it lands). */
  readonly rerun: string;
}

export interface KillCampaignResult {
  readonly ok: boolean;
  readonly seed: number;
  readonly byTier: Record<KillTier, TierCounts>;
  /** Wall-clock time of the whole campaign. */
  readonly ms: number;
  readonly failure: KillFailure | null;
}

export interface KillCampaign {
  readonly seed: number;
  readonly kills: number;
  /** 'both' alternates plain and power, case by case. */
  readonly tier: KillTier | 'both';
  readonly profile?: CrashProfile;
  /** Cases run at once (default 1). Node's start-up dominates a case, so this scales with cores. */
  readonly concurrency?: number;
  /** As KillCase.keepFailedDir: a failure's directory is kept (and its replay re-judges it). */
  readonly keepFailedDir?: boolean | string;
}

/** Runs case `index` of a campaign and adds it to its tier's counts. */
async function runCampaignCase(campaign: KillCampaign, index: number, byTier: Record<KillTier, TierCounts>, pool: WorkerPool): Promise<KillFailure | null> {
  const tier: KillTier = campaign.tier !== 'both' ? campaign.tier : index % 2 === 0 ? 'plain' : 'power';
  const seed = caseSeed(campaign.seed, index);
  const killCase = killCaseFromSeed(seed, tier, campaign.profile);
  const result = await runKillCase({ ...killCase, ...(campaign.keepFailedDir === undefined ? {} : { keepFailedDir: campaign.keepFailedDir }) }, pool);
  const counts = byTier[tier];
  counts.kills += 1;
  counts.clean += result.verdict.ok ? 1 : 0;
  counts.commits += result.commits;
  counts.acked += result.acked;
  counts.ms += result.ms;
  if (result.verdict.ok) return null;
  const rerun = killReplayCommand(seed, tier, campaign.profile);
  return { caseIndex: index, caseSeed: seed, tier, killAfterLines: killCase.killAfterLines, result, replay: result.dir === undefined ? rerun : killRejudgeCommand(result.dir), rerun };
}

/** Runs `kills` cases; after a violation starts no more, and reports the earliest one found. */
export async function runKillCampaign(campaign: KillCampaign): Promise<KillCampaignResult> {
  if (!(Number.isSafeInteger(campaign.seed) && campaign.seed >= 0 && campaign.seed < 2 ** 32)) throw new TypeError('seed must be an integer in [0, 2^32)');
  if (!(Number.isSafeInteger(campaign.kills) && campaign.kills >= 1)) throw new TypeError('kills must be a positive integer');
  const concurrency = campaign.concurrency ?? 1;
  if (!(Number.isSafeInteger(concurrency) && concurrency >= 1)) throw new TypeError('concurrency must be a positive integer');
  const started = performance.now();
  const empty = (): TierCounts => ({ kills: 0, clean: 0, commits: 0, acked: 0, ms: 0 });
  const byTier: Record<KillTier, TierCounts> = { plain: empty(), power: empty() };
  const pool = new WorkerPool();
  let next = 0;
  const failures: KillFailure[] = [];
  const lane = async (): Promise<void> => {
    while (failures.length === 0 && next < campaign.kills) {
      const found = await runCampaignCase(campaign, next++, byTier, pool);
      if (found !== null) failures.push(found);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, campaign.kills) }, lane));
  } finally {
    pool.close();
  }
  // Lanes finish cases out of order: the earliest case is the one a sequential run would report.
  const failure = failures.sort((a, b) => a.caseIndex - b.caseIndex)[0] ?? null;
  return { ok: failure === null, seed: campaign.seed, byTier, ms: performance.now() - started, failure };
}

/** Reruns one kill up to `retries` times, stopping at the first failure; says how many tries it took. */
async function rerunKill(killCase: KillCase, retries: number): Promise<number> {
  if (!(Number.isSafeInteger(retries) && retries >= 1)) throw new TypeError(`--retries must be a positive integer, not ${retries}`);
  process.stdout.write(`rerunning kill case ${killCase.seed} (${killCase.tier}) up to ${retries} times: where a kill lands depends on both processes' timing\n`);
  for (let attempt = 1; attempt <= retries; attempt++) {
    const result = await runKillCase({ ...killCase, keepFailedDir: true });
    if (!result.verdict.ok) {
      process.stdout.write(`${JSON.stringify(result, null, 2)}\nreproduces on try ${attempt} of ${retries}; re-judge it exactly with: ${killRejudgeCommand(result.dir!)}\n`);
      return 1;
    }
  }
  process.stdout.write(`does not reproduce in ${retries} tries\n`);
  return 0;
}

/** `--name value` pairs of a command line. */
function flags(argv: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < argv.length; i += 2) map.set(argv[i]!.replace(/^--/, ''), argv[i + 1]!);
  return map;
}

/**
 * Run as a script: replay one case (`--case-seed S --tier plain|power`), or a campaign
 * (`--seed S --kills N --tier plain|power|both [--jobs J]`; one case at a time by default).
 * `--profile quick|default|thorough` sizes the workloads (quick by default).
 */
async function main(argv: readonly string[]): Promise<number> {
  const given = flags(argv);
  const tier = given.get('tier') ?? 'both';
  if (tier !== 'plain' && tier !== 'power' && tier !== 'both') throw new TypeError(`--tier must be plain, power or both, not ${tier}`);
  const profileName = given.get('profile') ?? 'quick';
  if (!(profileName in PROFILES)) throw new TypeError(`--profile must be one of ${Object.keys(PROFILES).join(', ')}`);
  const profile = PROFILES[profileName as keyof typeof PROFILES];
  const rejudge = given.get('rejudge');
  if (rejudge !== undefined) {
    const verdict = await rejudgeKill(rejudge);
    process.stdout.write(verdict.ok ? `ok: the kept image of ${rejudge} recovers clean now\n` : `VIOLATION: ${verdict.kind}: ${verdict.detail}\nreproduces: re-judged the kept killed image of ${rejudge}\n`);
    return verdict.ok ? 0 : 1;
  }
  const single = given.get('case-seed');
  if (single !== undefined) {
    if (tier === 'both') throw new TypeError('a case replays one tier: --tier plain or --tier power');
    return rerunKill(killCaseFromSeed(Number(single), tier, profile), Number(given.get('retries') ?? 1));
  }
  const seed = Number(given.get('seed') ?? 0);
  process.stdout.write(`seed ${seed}\n`);
  const concurrency = Number(given.get('jobs') ?? 1);
  const result = await runKillCampaign({ seed, kills: Number(given.get('kills') ?? 20), tier, profile, concurrency, keepFailedDir: true });
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  return result.ok ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
