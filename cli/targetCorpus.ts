/**
 * Saved failures of targets other than the reference engine, in `.crashlab/failures/targets/`
 * beside the reference engine's corpus (whose regression gate replays only its own): each
 * remembers how the target was named (`--target NAME` or `--adapter FILE`), the seed, the
 * case path, the contract and file-system model it was judged under, and the target's identity;
 * a node-fs failure keeps its trace too (`<id>.trace.jsonl`), from which its crash images can be
 * rebuilt without the library. `run --target X` replays the saved failures of X first, and
 * `crashlab replay ID` replays one.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { traceToJsonLines, type Trace } from '../fault/trace.js';
import { corpusDir, listRecords, loadRecord, saveFailure } from './corpus.js';

export const TARGET_CORPUS_VERSION = 1;

export interface TargetFailureRecord {
  readonly version: number;
  readonly id: string;
  /** `--target NAME` or `--adapter FILE`, as given. */
  readonly targetFlag: string;
  readonly target: string;
  readonly identity: string;
  readonly seed: number;
  readonly path: string;
  readonly contract: string | null;
  readonly fs: string | null;
  readonly kind: string;
  readonly detail: string;
  readonly replay: string;
}

export function targetCorpusDir(root: string): string {
  return path.join(corpusDir(root), 'targets');
}

export function targetFailureId(targetFlag: string, seed: number, casePath: string, contract: string | null, fsModel: string | null): string {
  return createHash('sha256').update(`${targetFlag}|${seed}|${casePath}|${contract ?? ''}|${fsModel ?? ''}`).digest('hex').slice(0, 12);
}

/** Saves the record (and the trace of a node-fs failure); returns the record's path. */
export async function saveTargetFailure(root: string, record: TargetFailureRecord, trace?: Trace): Promise<string> {
  const dir = targetCorpusDir(root);
  const saved = await saveFailure(dir, record);
  if (trace !== undefined) fs.writeFileSync(savedTracePath(record.id, root), traceToJsonLines(trace));
  return saved;
}

function parseTargetRecord(file: string): TargetFailureRecord {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<TargetFailureRecord>;
  const valid = parsed.version === TARGET_CORPUS_VERSION && typeof parsed.id === 'string' && typeof parsed.targetFlag === 'string'
    && Number.isSafeInteger(parsed.seed) && typeof parsed.path === 'string' && /^--(target|adapter) \S/.test(parsed.targetFlag);
  if (!valid) throw new Error(`${file} is not a crashlab target failure record (version ${String(parsed.version)})`);
  return parsed as TargetFailureRecord;
}

/** Every saved target failure, by file name; unreadable files are reported, not fatal. */
export function listTargetFailures(root: string): { records: TargetFailureRecord[]; unreadable: string[] } {
  return listRecords(targetCorpusDir(root), parseTargetRecord);
}

export function loadTargetFailure(root: string, id: string): TargetFailureRecord | null {
  return loadRecord(targetCorpusDir(root), id, parseTargetRecord);
}

/**
 * The `run` arguments that replay `record`: the library run again (what the regression gate and
 * `replay ID` do, so a fixed library shows as fixed), or with `fromTrace` its images rebuilt
 * from the saved trace (the failure exactly, whatever the library does now).
 */
export function replayArgv(record: TargetFailureRecord, options: { fromTrace?: boolean; root?: string } = {}): string[] {
  const trace = savedTracePath(record.id, options.root);
  const [flag, ...value] = record.targetFlag.split(' ');
  return ['run', flag!, value.join(' '), '--seed', String(record.seed), '--path', record.path, '--runs', '1',
    ...(record.contract === null ? [] : ['--contract', record.contract]), ...(record.fs === null ? [] : ['--fs', record.fs]),
    ...(options.fromTrace === true && fs.existsSync(trace) ? ['--trace', trace] : [])];
}

export function savedTracePath(id: string, root: string = process.cwd()): string {
  return path.join(targetCorpusDir(root), `${id}.trace.jsonl`);
}
