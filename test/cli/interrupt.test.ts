// Ctrl-C: a running campaign exits 130 with a message and its partial summary (seed, progress, the command that runs it again), not a stack trace or a hang.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const MAIN = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

function interrupted(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'crashlab-sigint-'));
  const child = spawn(process.execPath, [MAIN, ...argv], { cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    // Interrupt once the campaign has started (its first line is out).
    if (stdout.includes('\n') && child.exitCode === null && !child.killed) child.kill('SIGINT');
  });
  child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

test('Ctrl-C during a reference campaign exits 130 and says so', async (t) => {
  const result = await interrupted(['run', '--seed', '1', '--runs', '100000']);
  t.is(result.code, 130, result.stderr);
  t.regex(result.stderr, /crashlab: interrupted \(Ctrl-C\)/);
  t.regex(result.stdout, /seed 1/);
  t.regex(result.stderr, /crashlab: partial: seed 1, .*; the same seed draws the same cases, so this runs them again: crashlab run --seed 1 --runs 100000/);
});

test('Ctrl-C during a target campaign exits 130 too', async (t) => {
  const result = await interrupted(['run', '--target', 'sqlite:wal-full', '--seed', '1', '--runs', '100000']);
  t.is(result.code, 130, result.stderr);
  t.regex(result.stderr, /crashlab: interrupted \(Ctrl-C\)/);
  t.regex(result.stderr, /crashlab: partial: seed 1, \d+\/100000 cases judged|crashlab: partial: seed 1, no case judged yet/);
  t.regex(result.stderr, /runs them again: crashlab run --target sqlite:wal-full --seed 1 --runs 100000/);
});
