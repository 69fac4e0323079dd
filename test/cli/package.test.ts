// What the package ships and what the README promises: the tarball holds what a user runs (no
// compiled tests or benchmarks), the README states ESM only and the Node version of
// package.json, and every crashlab command line in the README parses with today's flags.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { parseArgs } from '../../cli/args.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = fs.readFileSync(new URL('README.md', `file://${ROOT}`), 'utf8');
const PACKAGE = JSON.parse(fs.readFileSync(new URL('package.json', `file://${ROOT}`), 'utf8')) as { engines: { node: string }; type: string; bin: Record<string, string> };

test('the package ships the command and the library, not dist/test or dist/bench', (t) => {
  const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  t.is(packed.status, 0, packed.stderr);
  const files = (JSON.parse(packed.stdout) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path);
  t.deepEqual(files.filter((f) => /^dist\/(test|bench)\//.test(f)), []);
  for (const needed of [PACKAGE.bin['crashlab']!, 'dist/engine/index.js', 'dist/api/harness.js', 'dist/mutants/mutantWorker.js', 'examples/appendLog.js']) {
    t.true(files.includes(needed.replace(/^\.\//, '')), needed);
  }
});

test('the README says ESM only and the Node version package.json requires, and recommends npx for JSON', (t) => {
  t.is(PACKAGE.type, 'module');
  const version = /^>=(\d+\.\d+)$/.exec(PACKAGE.engines.node)?.[1];
  t.truthy(version);
  t.regex(README, new RegExp(`Node\\.js\\s+\\(${version!.replace('.', '\\.')} or later\\)`));
  t.regex(README, /\*\*ESM only\*\*/);
  t.regex(README, /`npx crashlab \.\.\. --json`/);
});

/** Every crashlab command line of the README's code blocks, as argv. */
function readmeCommands(): string[][] {
  const blocks = [...README.matchAll(/```(?:bash|yaml)\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const lines = blocks.flatMap((block) => block.split('\n'));
  return lines.flatMap((line) => {
    const match = /(?:npx crashlab|npm run crashlab --|node dist\/cli\/main\.js)\s+([^#]*)/.exec(line);
    if (match === null) return [];
    const words = match[1]!.trim().replace(/\$\{\{[^}]*\}\}/g, '1').split(/\s+/).map((word) => word.replace(/^'(.*)'$/, '$1'))
      // A placeholder id stands for a saved one.
      .map((word) => (word === 'ID' ? '0123456789ab' : word));
    return [words];
  });
}

test('every crashlab command line in the README parses (flags and values as they are today)', (t) => {
  const commands = readmeCommands();
  t.true(commands.length > 20, `${commands.length} command lines`);
  for (const argv of commands) {
    // Target invocations have their own parser (cli/targetCommand.ts), tested with it.
    if (argv[0] === 'targets' || argv.includes('--target') || argv.includes('--adapter')) continue;
    t.notThrows(() => parseArgs(argv), argv.join(' '));
  }
});
