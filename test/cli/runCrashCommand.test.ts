// The failure corpus end to end: a found failure is saved, gates the next run, replays by id, lists, and reports.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import type { Command } from '../../cli/args.js';
import { corpusDir, listFailures } from '../../cli/corpus.js';
import { replayCommand, runCrashCommand } from '../../cli/runCrashCommand.js';
import { failuresCommand } from '../../cli/savedFailures.js';
import { plantBug } from '../../mutants/plantEngine.js';
import { captured } from '../captureConsole.js';

type RunArgs = Extract<Command, { command: 'run' }>;

const RUN: RunArgs = {
  command: 'run', seed: 7, runs: 50, profile: 'quick', barrier: 'wal-aware', path: null, json: false,
  timeSeconds: null, report: 'report.html', junit: 'junit.xml', shard: null, vfs: 'memory', plant: null, generator: null,
};

/** Runs `action` in a fresh working directory (the corpus lives under the working directory). */
async function inTempDir<T>(action: (dir: string) => Promise<T>): Promise<T> {
  const previous = process.cwd();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-corpus-'));
  process.chdir(dir);
  try {
    return await action(dir);
  } finally {
    process.chdir(previous);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test.serial('a failure is saved, fails the next run first, replays by id, and is listed', async (t) => {
  const engine = await plantBug('ack-before-wal-fsync');
  await inTempDir(async (dir) => {
    const first = await captured(() => runCrashCommand(RUN, () => 0, engine));
    t.is(first.value, 1);
    t.regex(first.out, /^VIOLATION \(wal-aware\): lost-ack: /m, 'the failure is printed');
    const { records } = listFailures(corpusDir(dir));
    t.is(records.length, 1);
    const saved = records[0]!;
    t.is(saved.kind, 'lost-ack');
    t.regex(saved.replay, /^node dist\/cli\/main\.js run --seed \d+ --profile quick --barrier wal-aware --path '[\d:]+' --runs 1 --generator \d+$/);
    t.regex(saved.engineHash, /^[0-9a-f]{64}$/);
    // The report and the JUnit file were written, and speak of this failure.
    t.true(fs.readFileSync('report.html', 'utf8').includes(saved.kind));
    t.regex(fs.readFileSync('junit.xml', 'utf8'), /<failure[^>]*lost-ack/);
    // A clean run on the fixed (reference) engine: the saved failure no longer reproduces, nothing new.
    const clean = await captured(() => runCrashCommand({ ...RUN, runs: 5, seed: 8, report: null, junit: null }, () => 0));
    t.is(clean.value, 0);
    t.regex(clean.out, new RegExp(`saved failure ${saved.id} \\(lost-ack, wal-aware\\) no longer reproduces`));
    // On the buggy engine the gate fails the run even before its own cases.
    const gated = await captured(() => runCrashCommand({ ...RUN, runs: 1, seed: 9, report: null, junit: null }, () => 0, engine));
    t.is(gated.value, 1);
    t.regex(gated.out, new RegExp(`saved failure ${saved.id} STILL FAILS: lost-ack`));
    const replay = { command: 'replay', id: saved.id, seed: null, path: null, barrier: 'always', profile: 'default', report: null, json: true, plant: null, generator: null } as const;
    t.is((await captured(() => replayCommand(replay, engine))).value, 1, 'reproduces on the buggy engine');
    t.is((await captured(() => replayCommand(replay))).value, 0, 'and not on the reference engine');
    const unknown = await captured(() => replayCommand({ ...replay, id: '000000000000' }));
    t.is(unknown.value, 2, 'an unknown id is a usage error');
    t.regex(unknown.out, /no saved failure 000000000000/);
    const listed = await captured(() => failuresCommand({ command: 'failures', action: 'list', id: null, json: true }));
    t.is(listed.value, 0);
    t.is((JSON.parse(listed.out) as { failures: Array<{ id: string }> }).failures[0]!.id, saved.id);
  });
});

test.serial('replay by seed:path reproduces exactly what the run printed', async (t) => {
  const engine = await plantBug('ack-before-wal-fsync');
  await inTempDir(async (dir) => {
    t.is((await captured(() => runCrashCommand({ ...RUN, report: null, junit: null }, () => 0, engine))).value, 1);
    const saved = listFailures(corpusDir(dir)).records[0]!;
    const bySeedPath = { command: 'replay', id: null, seed: saved.seed, path: saved.path, barrier: saved.barrier, profile: 'quick', report: 'one.html', json: false, plant: null, generator: null } as const;
    const replayed = await captured(() => replayCommand(bySeedPath, engine));
    t.is(replayed.value, 1);
    t.regex(replayed.out, new RegExp(`reproduces: seed ${saved.seed}, path ${saved.path}, barrier ${saved.barrier}, profile quick: lost-ack$`));
    t.true(fs.existsSync('one.html'));
  });
});
