/**
 * The saved failures of the reference engine and its planted mutants (cli/corpus.ts), replayed
 * from their stored cases: the regression gate of `run`, and `crashlab failures` (list, prune,
 * rm, fix). A planted failure (found with `--plant NAME`) is replayed only by a run planted
 * with the same mutant, never by the engine's own gate. A failure marked fixed is still
 * replayed: it is reported only if it fails again.
 */
import fs from 'node:fs';
import type { Command } from './args.js';
import { corpusDir, isStale, listFailures, loadFailure, removeFailure, saveFailure, type FailureRecord } from './corpus.js';
import { engineSourceHash } from './engineHash.js';
import { engineFor } from './plant.js';
import { listTargetFailures, savedTracePath, targetCorpusDir } from './targetCorpus.js';
import * as referenceEngine from '../engine/index.js';
import { runCrashCase, type CaseResult } from '../properties/crashCase.js';
import type { CrashFailure } from '../properties/runCrash.js';
import type { EngineUnderTest } from '../recovery/checkImage.js';

type FailuresCommand = Extract<Command, { command: 'failures' }>;

/** A failure of this run: found by its campaign, or a saved one that still fails (`saved`). */
export interface Found {
  readonly barrier: 'always' | 'wal-aware';
  readonly seed: number;
  readonly failure: CrashFailure;
  readonly id: string;
  readonly saved: boolean;
  readonly plant: string | null;
}

/** Runs a saved failure's stored case (never its seed:path, which a newer generator may read as another case). */
export async function replayStored(record: FailureRecord, engine: EngineUnderTest = referenceEngine): Promise<CaseResult> {
  return runCrashCase(engine, record.counterexample);
}

/** The failure a still-failing saved record stands for in this run. */
export function foundOf(record: FailureRecord, result: CaseResult): Found | null {
  if (result.violation === null) return null;
  const failure: CrashFailure = { path: record.path, counterexample: record.counterexample, violation: result.violation, replay: `crashlab replay ${record.id}` };
  return { barrier: record.barrier, seed: record.seed, failure, id: record.id, saved: true, plant: record.plant };
}

/**
 * Replays every saved failure of this run's engine (`plant`: its mutant, null: the engine
 * itself); those that still fail fail this run too. The stale ones are named, not replayed.
 */
export async function regressionGate(json: boolean, plant: string | null, engine?: EngineUnderTest): Promise<Found[]> {
  const { records, stale, unreadable } = listFailures(corpusDir(process.cwd()));
  const say = (line: string): void => { if (!json) console.log(line); };
  for (const problem of unreadable) console.error(`crashlab: skipping an unreadable saved failure: ${problem}`);
  for (const old of stale) say(`saved failure ${old.id} is stale, not replayed: ${old.reason}`);
  const mine = records.filter((r) => r.plant === plant);
  const others = records.length - mine.length;
  if (others > 0) say(`${others} saved failures of ${plant === null ? 'planted mutants' : 'other engines'} not replayed (a run with their --plant replays them)`);
  const still: Found[] = [];
  let fixed = 0;
  for (const saved of mine) {
    const found = foundOf(saved, await replayStored(saved, engine));
    if (found !== null) {
      still.push(found);
      say(`saved failure ${saved.id} ${saved.fixed === null ? 'STILL FAILS' : 'was marked fixed and FAILS AGAIN'}: ${found.failure.violation.kind}`);
    } else if (saved.fixed === null) {
      say(`saved failure ${saved.id} (${saved.kind}, ${saved.barrier}) no longer reproduces: crashlab failures fix ${saved.id} keeps it as a regression test, crashlab failures prune removes it`);
    } else {
      fixed++;
    }
  }
  if (fixed > 0) say(`${fixed} fixed saved failures replayed clean`);
  return still;
}

function listCommand(json: boolean): number {
  const { records, stale, unreadable } = listFailures(corpusDir(process.cwd()));
  const targets = listTargetFailures(process.cwd());
  const problems = [...unreadable, ...targets.unreadable];
  if (json) {
    const failures = records.map(({ id, plant, seed, path, barrier, profile, kind, detail, replay, engineHash, generatorVersion, fixed }) => ({ id, plant, seed, path, barrier, profile, kind, detail, replay, engineHash, generatorVersion, fixed }));
    console.log(JSON.stringify({ failures, stale, targetFailures: targets.records, unreadable: problems }));
    return 0;
  }
  if (records.length + stale.length + targets.records.length === 0) console.log('no saved failures');
  for (const r of records) {
    const notes = [...(r.plant === null ? [] : [`--plant ${r.plant}`]), ...(r.fixed === null ? [] : ['fixed'])];
    console.log(`${r.id}  ${r.kind.padEnd(22)} ${r.barrier.padEnd(9)} seed ${r.seed} path ${r.path}${notes.length === 0 ? '' : ` (${notes.join(', ')})`}  ${r.detail.slice(0, 80)}`);
  }
  for (const r of stale) console.log(`${r.id}  STALE (format ${r.version}): ${r.reason}`);
  for (const r of targets.records) console.log(`${r.id}  ${r.kind.padEnd(22)} ${r.target}${r.fs === null ? '' : ` --fs ${r.fs}`} seed ${r.seed} path ${r.path}  ${r.detail.slice(0, 80)}`);
  for (const problem of problems) console.log(`unreadable: ${problem}`);
  return 0;
}

/** Engines by plant, each mutant planted once per command. */
function engineCache(fallback?: EngineUnderTest): (plant: string | null) => Promise<EngineUnderTest | undefined> {
  const planted = new Map<string, Promise<EngineUnderTest | undefined>>();
  return (plant) => {
    if (plant === null) return Promise.resolve(fallback);
    const known = planted.get(plant) ?? engineFor(plant);
    planted.set(plant, known);
    return known;
  };
}

/**
 * Replays each saved failure twice from its stored case and removes those that replayed
 * cleanly both times with the same I/O trace. One that failed, or differed between the two
 * replays (not deterministic), is kept and named.
 */
async function pruneCommand(json: boolean, engine?: EngineUnderTest): Promise<number> {
  const dir = corpusDir(process.cwd());
  const { records } = listFailures(dir);
  const engines = engineCache(engine);
  const removed: string[] = [];
  const kept: Array<{ id: string; why: string }> = [];
  for (const record of records) {
    const underTest = await engines(record.plant);
    const first = await replayStored(record, underTest);
    const second = first.violation === null ? await replayStored(record, underTest) : first;
    if (first.violation !== null || second.violation !== null) {
      const planted = record.plant === null ? '' : ` under --plant ${record.plant} (a planted bug stays until crashlab failures rm ${record.id})`;
      kept.push({ id: record.id, why: `still fails: ${(first.violation ?? second.violation)!.kind}${planted}` });
    } else if (first.traceHash !== second.traceHash) {
      kept.push({ id: record.id, why: 'replayed clean, but its two replays differed (not deterministic): kept' });
    } else {
      await removeFailure(dir, record.id);
      removed.push(record.id);
    }
  }
  if (json) {
    console.log(JSON.stringify({ event: 'done', removed, kept }));
  } else {
    for (const id of removed) console.log(`removed ${id}: replayed clean twice, the same way`);
    for (const k of kept) console.log(`kept ${k.id}: ${k.why}`);
    console.log(`pruned ${removed.length} of ${records.length} saved failures`);
    const targets = listTargetFailures(process.cwd()).records.length;
    if (targets > 0) console.log(`${targets} saved failures of other targets not pruned: crashlab replay ID replays one, crashlab failures rm ID removes it`);
  }
  return 0;
}

async function rmCommand(id: string, json: boolean): Promise<number> {
  const root = process.cwd();
  const removed = await removeFailure(corpusDir(root), id) || await removeFailure(targetCorpusDir(root), id);
  fs.rmSync(savedTracePath(id, root), { force: true });
  if (!removed) {
    console.error(`crashlab: no saved failure ${id} (see crashlab failures)`);
    return 2;
  }
  console.log(json ? JSON.stringify({ event: 'done', removed: id }) : `removed ${id}`);
  return 0;
}

async function fixCommand(id: string, json: boolean): Promise<number> {
  const dir = corpusDir(process.cwd());
  const record = loadFailure(dir, id);
  if (record === null || isStale(record)) {
    console.error(`crashlab: ${record === null ? `no saved failure ${id} of the reference engine (see crashlab failures)` : `${id} is stale: ${record.reason}`}`);
    return 2;
  }
  // Only the CLI reads the clock (ARCHITECTURE.md section 6).
  await saveFailure(dir, { ...record, fixed: { at: new Date().toISOString(), engineHash: engineSourceHash() } });
  console.log(json ? JSON.stringify({ event: 'done', fixed: id }) : `marked ${id} fixed: every run still replays it, and says so only if it fails again`);
  return 0;
}

/** `crashlab failures [list | prune | rm ID | fix ID]`. `engine`: for tests of the tool (the engine to prune against). */
export async function failuresCommand(args: FailuresCommand, engine?: EngineUnderTest): Promise<number> {
  switch (args.action) {
    case 'list': return listCommand(args.json);
    case 'prune': return pruneCommand(args.json, engine);
    case 'rm': return rmCommand(args.id!, args.json);
    case 'fix': return fixCommand(args.id!, args.json);
  }
}
