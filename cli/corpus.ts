/**
 * The failure corpus: every failure a campaign finds, shrunk, saved under
 * `.crashlab/failures/<id>.json` (like Hypothesis's example database), so the next `run`
 * replays them first as a regression gate and `replay <id>` can reproduce one exactly.
 *
 * Files are written atomically (a temporary file, fsynced, then renamed) under a
 * proper-lockfile lock on the corpus directory, so parallel shards on one file system never
 * corrupt it or lose each other's entries.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import lockfile from 'proper-lockfile';

export const CORPUS_VERSION = 1;

export interface FailureRecord {
  readonly version: number;
  readonly id: string;
  readonly seed: number;
  readonly path: string;
  readonly profile: string;
  readonly barrier: 'always' | 'wal-aware';
  readonly kind: string;
  readonly detail: string;
  readonly replay: string;
  /** Hash of the engine's sources when the failure was found. */
  readonly engineHash: string;
  /** The shrunk case and its violation, for people and reports (replay uses seed + path). */
  readonly counterexample: unknown;
  readonly violation: unknown;
}

/** A failure's stable id: the same case found twice (by two shards) is one entry. */
export function failureId(seed: number, barrier: string, profile: string, casePath: string): string {
  return createHash('sha256').update(`${seed}|${barrier}|${profile}|${casePath}`).digest('hex').slice(0, 12);
}

export function corpusDir(root: string): string {
  return path.join(root, '.crashlab', 'failures');
}

/** JSON with byte arrays as hex (the corpus is for people as much as for replay). */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item instanceof Uint8Array ? `hex:${Buffer.from(item).toString('hex')}` : item), 2);
}

async function withLock<T>(dir: string, action: () => T): Promise<T> {
  fs.mkdirSync(dir, { recursive: true });
  const release = await lockfile.lock(dir, { retries: { retries: 50, minTimeout: 20, maxTimeout: 200 }, stale: 30_000 });
  try {
    return action();
  } finally {
    await release();
  }
}

/** Saves (or replaces) one record atomically. Returns its file's path. */
export async function saveFailure(dir: string, record: { readonly id: string }): Promise<string> {
  if (!/^[0-9a-f]{12}$/.test(record.id)) throw new TypeError(`failure id must be 12 hex digits, not ${record.id}`);
  return withLock(dir, () => {
    const target = path.join(dir, `${record.id}.json`);
    const temporary = path.join(dir, `.${record.id}.${process.pid}.tmp`);
    const fd = fs.openSync(temporary, 'w');
    try {
      fs.writeSync(fd, toJson(record));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temporary, target);
    const dirFd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
    return target;
  });
}

function parseRecord(file: string): FailureRecord {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<FailureRecord>;
  const valid = parsed.version === CORPUS_VERSION && typeof parsed.id === 'string' && Number.isSafeInteger(parsed.seed)
    && typeof parsed.path === 'string' && (parsed.barrier === 'always' || parsed.barrier === 'wal-aware') && typeof parsed.profile === 'string';
  if (!valid) throw new Error(`${file} is not a crashlab failure record (version ${String(parsed.version)})`);
  return parsed as FailureRecord;
}

/** Every record of `dir` that `parse` accepts, by file name; unreadable files are reported, not fatal. */
export function listRecords<T>(dir: string, parse: (file: string) => T): { records: T[]; unreadable: string[] } {
  if (!fs.existsSync(dir)) return { records: [], unreadable: [] };
  const records: T[] = [];
  const unreadable: string[] = [];
  for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    try {
      records.push(parse(path.join(dir, name)));
    } catch (error) {
      unreadable.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return { records, unreadable };
}

/** The record `id` of `dir`, or null when there is none (or the id is not 12 hex digits). */
export function loadRecord<T>(dir: string, id: string, parse: (file: string) => T): T | null {
  if (!/^[0-9a-f]{12}$/.test(id)) return null;
  const file = path.join(dir, `${id}.json`);
  return fs.existsSync(file) ? parse(file) : null;
}

/** Every record in the corpus, oldest file name first. */
export function listFailures(dir: string): { records: FailureRecord[]; unreadable: string[] } {
  return listRecords(dir, parseRecord);
}

export function loadFailure(dir: string, id: string): FailureRecord | null {
  return loadRecord(dir, id, parseRecord);
}
