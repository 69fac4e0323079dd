/**
 * The differential property: random sequences of transactions, table operations, held
 * readers and reopens, run against the engine and against the in-memory model at once, with
 * every result compared. Each run ends by checking the whole committed state and
 * `checkIntegrity()`, then reopening the database and checking both again.
 *
 * There are no crashes here: this property pins down the engine's logical behaviour, so that
 * the crash properties can take "the engine computes the right answer" for granted.
 */
import fc from 'fast-check';
import * as referenceEngine from '../engine/index.js';
import type { Vfs } from '../engine/index.js';
import { SortedMapModel } from '../model/sortedMapModel.js';
import { differentialCommandArb } from './differentialCommands.js';
import {
  closeReaders, expectCommitted, expectIntegrity, reopen, type DiffModel, type DiffReal, type DifferentialEngine,
} from './differentialWorld.js';
import { engineConfigArb, engineOptions, type EngineConfig } from './engineConfig.js';

/** A directory for one run's database, and how to remove it afterwards. */
export interface VfsHandle {
  readonly vfs: Vfs;
  cleanup(): Promise<void>;
}

export type VfsFactory = () => Promise<VfsHandle>;

export interface DifferentialOptions {
  /** Upper bound on commands per run (commands whose precondition fails are skipped). */
  readonly maxCommands?: number;
  /** `fc.commands`' replay hint, when replaying a counterexample path. */
  readonly replayPath?: string;
  /** The engine under test (a planted mutant, say); the reference engine by default. */
  readonly engine?: DifferentialEngine | undefined;
}

export const DEFAULT_MAX_COMMANDS = 100;

type Commands = Iterable<fc.AsyncCommand<DiffModel, DiffReal>>;

/** The property over (engine configuration, command sequence); one fresh VFS per run. */
export function differentialProperty(
  makeVfs: VfsFactory, options: DifferentialOptions = {},
): fc.IAsyncProperty<[EngineConfig, Commands]> {
  const maxCommands = options.maxCommands ?? DEFAULT_MAX_COMMANDS;
  if (!(Number.isSafeInteger(maxCommands) && maxCommands >= 1)) throw new TypeError('maxCommands must be a positive integer');
  const commands = fc.commands([differentialCommandArb], {
    // Without an explicit size fast-check's default ("small") caps runs near 10 commands.
    maxCommands,
    size: 'max',
    ...(options.replayPath === undefined ? {} : { replayPath: options.replayPath }),
  });
  const engine = options.engine ?? referenceEngine;
  return fc.asyncProperty(engineConfigArb, commands, async (config, cmds) => {
    await runOnce(engine, makeVfs, config, cmds);
  });
}

async function runOnce(engine: DifferentialEngine, makeVfs: VfsFactory, config: EngineConfig, cmds: Commands): Promise<void> {
  const handle = await makeVfs();
  try {
    const options = engineOptions(config);
    const db = await engine.Database.open(handle.vfs, options);
    const real: DiffReal = { engine, db, writer: null, readers: [], vfs: handle.vfs, options };
    const model: DiffModel = { oracle: new SortedMapModel(), writer: null, readers: [], maxKeyBytes: db.layout.maxKeyBytes };
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      await epilogue(model, real);
    } finally {
      await release(real);
    }
  } finally {
    await handle.cleanup();
  }
}

/**
 * End of every run: commit the writer still open (so the run's last changes are checked too),
 * then the whole state and integrity, before and after a reopen.
 */
async function epilogue(model: DiffModel, real: DiffReal): Promise<void> {
  if (real.writer !== null && model.writer !== null) {
    const [rw, mw] = [real.writer, model.writer];
    real.writer = null;
    model.writer = null;
    await rw.commit({ durability: 'immediate' });
    mw.commit();
  }
  closeReaders(model, real, 'end of run');
  expectIntegrity(real.db, 'end of run');
  expectCommitted(model, real, 'end of run');
  await reopen(model, real, 'end of run');
  await real.db.close();
}

/** Best effort on the way out of a failed run: the first error is the one worth reporting. */
async function release(real: DiffReal): Promise<void> {
  try {
    real.writer?.abort();
    for (const reader of real.readers) reader.close();
    await real.db.close();
  } catch {
    // Ignored on purpose: see above.
  }
}
