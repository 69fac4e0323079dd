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
import type { CrashCase } from '../properties/crashCase.js';

/** 2: the record stores the shrunk case (replays come from it), the plant, the overrides and the generator version. */
export const CORPUS_VERSION = 2;

export interface FailureRecord {
  readonly version: number;
  readonly id: string;
  /** The engine under test: the reference engine (targets have their own corpus, targetCorpus.ts). */
  readonly target: 'reference';
  /** The mutant the failure was found against (`--plant NAME`); null for the engine itself. */
  readonly plant: string | null;
  readonly seed: number;
  readonly path: string;
  readonly profile: string;
  readonly barrier: 'always' | 'wal-aware';
  /** Engine options pinned for the campaign (a certify cell); null when none were. */
  readonly overrides: Readonly<Record<string, unknown>> | null;
  /** The case generator's version when the failure was found (GENERATOR_VERSION): what `seed:path` meant then. */
  readonly generatorVersion: number;
  readonly kind: string;
  readonly detail: string;
  readonly replay: string;
  /** Hash of the engine's sources when the failure was found. */
  readonly engineHash: string;
  /** The shrunk case itself (workload, configuration, fault plan): every replay runs it, not seed + path. */
  readonly counterexample: CrashCase;
  readonly violation: unknown;
  /** Set by `crashlab failures fix ID`: still replayed, no longer reported when it stays fixed. */
  readonly fixed: { readonly at: string; readonly engineHash: string } | null;
}

/** A record saved by an older crashlab: listed as stale, never replayed (its seed:path may name another case now). */
export interface StaleFailure {
  readonly id: string;
  readonly version: number;
  readonly reason: string;
}

/** What a failure id covers: the same case found twice (by two shards) is one entry. */
export interface FailureIdentity {
  readonly target: string;
  readonly plant: string | null;
  readonly profile: string;
  readonly barrier: string;
  readonly overrides: Readonly<Record<string, unknown>> | null;
  readonly seed: number;
  readonly path: string;
}

/** A failure's stable id over its identity: target, planted mutant, profile, barrier, overrides and the case address. */
export function failureId(identity: FailureIdentity): string {
  const { target, plant, profile, barrier, overrides, seed, path: casePath } = identity;
  const text = JSON.stringify([target, plant, profile, barrier, overrides, seed, casePath]);
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

export function corpusDir(root: string): string {
  return path.join(root, '.crashlab', 'failures');
}

/** JSON with byte arrays as hex (the corpus is for people as much as for replay); `fromJson` restores them. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => (item instanceof Uint8Array ? `hex:${Buffer.from(item).toString('hex')}` : item), 2);
}

function fromJson(text: string): unknown {
  return JSON.parse(text, (_key, item: unknown) => (typeof item === 'string' && /^hex:(?:[0-9a-f]{2})*$/.test(item) ? Uint8Array.from(Buffer.from(item.slice(4), 'hex')) : item));
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
export async function saveFailure<R extends { readonly id: string }>(dir: string, record: R): Promise<string> {
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

function parseRecord(file: string): FailureRecord | StaleFailure {
  const parsed = fromJson(fs.readFileSync(file, 'utf8')) as Partial<FailureRecord>;
  if (typeof parsed.id === 'string' && parsed.version === 1) {
    return { id: parsed.id, version: 1, reason: 'saved by an older crashlab without its generator version: its seed:path may name another case now; crashlab failures rm ' + parsed.id };
  }
  const valid = parsed.version === CORPUS_VERSION && typeof parsed.id === 'string' && Number.isSafeInteger(parsed.seed) && parsed.target === 'reference'
    && typeof parsed.path === 'string' && (parsed.barrier === 'always' || parsed.barrier === 'wal-aware') && typeof parsed.profile === 'string'
    && Number.isSafeInteger(parsed.generatorVersion) && typeof parsed.counterexample === 'object' && parsed.counterexample !== null;
  if (!valid) throw new Error(`${file} is not a crashlab failure record (version ${String(parsed.version)})`);
  return { ...parsed, plant: parsed.plant ?? null, overrides: parsed.overrides ?? null, fixed: parsed.fixed ?? null } as FailureRecord;
}

export function isStale(record: FailureRecord | StaleFailure): record is StaleFailure {
  return !('counterexample' in record);
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

/** Every record in the corpus, oldest file name first; stale ones (older formats) apart. */
export function listFailures(dir: string): { records: FailureRecord[]; stale: StaleFailure[]; unreadable: string[] } {
  const { records, unreadable } = listRecords(dir, parseRecord);
  return { records: records.filter((r): r is FailureRecord => !isStale(r)), stale: records.filter(isStale), unreadable };
}

/** The record `id`, a stale record of that id, or null when there is none. */
export function loadFailure(dir: string, id: string): FailureRecord | StaleFailure | null {
  return loadRecord(dir, id, parseRecord);
}

/** Removes record `id` (under the lock); false when there was none. */
export async function removeFailure(dir: string, id: string): Promise<boolean> {
  if (!/^[0-9a-f]{12}$/.test(id)) return false;
  return withLock(dir, () => {
    const file = path.join(dir, `${id}.json`);
    if (!fs.existsSync(file)) return false;
    fs.rmSync(file);
    return true;
  });
}
