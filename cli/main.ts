#!/usr/bin/env node
/**
 * `crashlab`: the command line. `run` runs the crash campaign against the reference engine
 * under one seed; `differential` runs the engine against the model without crashes. The seed comes first in the output, with every setting derived from
 * it, so that any output (even a truncated one) can be replayed; a failure ends with the
 * one-line command that replays it. Exit 0: passed, 1: a run failed, 2: bad command line.
 *
 * Only this folder may use the clock and Math.random (ARCHITECTURE.md section 6).
 */
import { commandUsage, parseArgs, USAGE, UsageError, type Command } from './args.js';
import { certifyCommand, mergeCommand } from './certifyCommand.js';
import { mutantsCommand } from './mutantsCommand.js';
import { interruptSummary } from './interruptSummary.js';
import { isTargetInvocation, TARGET_USAGE, targetCommand, withoutReferenceTarget } from './targetCommand.js';
import { replayCommand, runCrashCommand } from './runCrashCommand.js';
import { failuresCommand } from './savedFailures.js';
import { mutantList } from './plant.js';
import { DEFAULT_MAX_COMMANDS } from '../properties/differential.js';
import {
  failureMessage, ReplayError, runDifferential, SEED_MAX, type DifferentialResult,
} from '../properties/runDifferential.js';

type RunCommand = Extract<Command, { command: 'differential' }>;

const EXIT_OK = 0;
const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

function drawSeed(): number {
  return Math.floor(Math.random() * (SEED_MAX + 1));
}

function printStart(args: RunCommand, seed: number): void {
  const start = {
    seed, seedSource: args.seed === null ? 'drawn' : 'given', runs: args.runs, vfs: args.vfs, path: args.path,
    maxCommands: DEFAULT_MAX_COMMANDS,
  };
  if (args.json) {
    console.log(JSON.stringify({ event: 'start', ...start }));
    return;
  }
  console.log(`crashlab differential: seed ${seed} (${start.seedSource}), runs ${args.runs}, vfs ${args.vfs}, `
    + `path ${args.path ?? '-'}, max commands ${DEFAULT_MAX_COMMANDS}, engine config drawn per run from the seed`);
}

function printResult(args: RunCommand, result: DifferentialResult, elapsedMs: number): void {
  const runsPerSecond = elapsedMs > 0 ? (result.numRuns * 1000) / elapsedMs : 0;
  const summary = { runs: result.numRuns, elapsedMs: Math.round(elapsedMs), runsPerSecond: Math.round(runsPerSecond * 10) / 10 };
  if (args.json) {
    console.log(JSON.stringify({ event: 'done', ...result, ...summary }));
    return;
  }
  if (!result.ok) console.log(failureMessage(result));
  console.log(`${result.ok ? 'ok' : 'FAILED'}: seed ${result.seed}, ${summary.runs} runs, `
    + `${summary.elapsedMs} ms, ${summary.runsPerSecond} runs/s`);
}

async function run(args: RunCommand): Promise<number> {
  const seed = args.seed ?? drawSeed();
  printStart(args, seed);
  const startedMs = performance.now();
  let result: DifferentialResult;
  try {
    result = await runDifferential({ seed, numRuns: args.runs, path: args.path ?? undefined, vfs: args.vfs });
  } catch (error) {
    // A path that leads nowhere under this seed is a bad --path value, like a malformed one.
    if (!(error instanceof ReplayError)) throw error;
    console.error(`crashlab: --path: ${error.message}`);
    return EXIT_USAGE;
  }
  printResult(args, result, performance.now() - startedMs);
  return result.ok ? EXIT_OK : EXIT_FAILED;
}

async function main(argv: readonly string[]): Promise<number> {
  // Targets other than the reference engine have their own flags (targetCommand.ts).
  if (isTargetInvocation(argv)) return targetCommand(argv, drawSeed);
  let command: Command;
  try {
    command = parseArgs(withoutReferenceTarget(argv));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`crashlab: ${error.message}`);
    return EXIT_USAGE;
  }
  if (command.command === 'help') {
    const { topic } = command;
    if (topic === null || topic === 'help') console.log(`${USAGE}\n\n${TARGET_USAGE}`);
    else if (topic === 'targets') console.log(TARGET_USAGE);
    else console.log(topic === 'run' ? `${commandUsage(topic)}\n\n${TARGET_USAGE}` : commandUsage(topic));
    return EXIT_OK;
  }
  if (command.command === 'run') return runCrashCommand(command, drawSeed);
  if (command.command === 'replay') return replayCommand(command);
  if (command.command === 'failures') return failuresCommand(command);
  if (command.command === 'certify') return certifyCommand(command, drawSeed);
  if (command.command === 'merge') return mergeCommand(command);
  if (command.command === 'mutants') {
    if (command.list) {
      for (const line of mutantList(command.automatic)) console.log(line);
      return EXIT_OK;
    }
    return mutantsCommand({ budgetSeconds: command.budgetSeconds, json: command.json, automatic: command.automatic, ...(command.only === null ? {} : { only: [...command.only] }) });
  }
  return run(command);
}

/** Stable codes of the typed errors that mean bad input (an unknown mutant name...). */
const USAGE_CODES: ReadonlySet<string> = new Set(['ENOENT', 'EACCES', 'UNKNOWN_MUTANT', 'MERGE_REFUSED']);

/** Bad input found while running (a missing or foreign certificate file, an unknown --plant...): one line, exit 2. */
async function guarded(argv: readonly string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (error) {
    const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
    if (!(error instanceof TypeError) && !(error instanceof ReplayError) && !USAGE_CODES.has(code) && !(error instanceof SyntaxError)) throw error;
    console.error(`crashlab: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_USAGE;
  }
}

/**
 * Ctrl-C: exit 130 at once, as shells expect. Saved failures are written whole (a temporary
 * file fsynced and renamed over the old one), so an interrupted save leaves the old record; the
 * run's seed was printed when it started. A certificate is written only at the end of certify.
 */
const EXIT_INTERRUPTED = 130;
process.once('SIGINT', () => {
  console.error('crashlab: interrupted (Ctrl-C); the case in progress was not judged, saved failures are intact');
  const partial = interruptSummary();
  if (partial !== null) console.error(`crashlab: ${partial}`);
  process.exit(EXIT_INTERRUPTED);
});

process.exitCode = await guarded(process.argv.slice(2));
