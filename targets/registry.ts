/**
 * Finds a target by name (`--target`) or loads one from a file (`--adapter`). Built-in targets:
 * `reference` (the reference engine) and every `sqlite:<journal>-<synchronous>`. An unknown
 * name, a file that cannot be loaded or exports no target, or a target that breaks the
 * interface is a `TargetError` with a stable code, which the command line turns into exit 2.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { referenceTarget } from './reference/referenceTarget.js';
import { SQLITE_TARGET_NAMES, sqliteTarget } from './sqlite/sqliteTarget.js';
import { defineTarget, type Target } from './target.js';

export type TargetErrorCode = 'UNKNOWN_TARGET' | 'BAD_ADAPTER';

export class TargetError extends Error {
  constructor(readonly code: TargetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TargetError';
  }
}

/** Every built-in target with what it is: for `crashlab targets`. */
export function builtInTargets(): Target[] {
  return [referenceTarget(), ...SQLITE_TARGET_NAMES.map((name) => sqliteTarget(name))];
}

export function resolveTarget(name: string): Target {
  if (name === 'reference') return referenceTarget();
  if (SQLITE_TARGET_NAMES.includes(name)) return sqliteTarget(name);
  const hint = name.startsWith('sqlite:') ? `sqlite targets are ${SQLITE_TARGET_NAMES.slice(0, 3).join(', ')}, … (crashlab targets lists all)` : 'crashlab targets lists them; --adapter PATH loads your own';
  throw new TargetError('UNKNOWN_TARGET', `unknown target ${JSON.stringify(name)}: ${hint}`);
}

/** Loads `file` (a JavaScript module) and returns the target it exports as `default` or `target`. */
export async function loadAdapter(file: string): Promise<Target> {
  const resolved = path.resolve(file);
  if (!fs.existsSync(resolved)) throw new TargetError('BAD_ADAPTER', `adapter ${file}: no such file (${resolved})`);
  let loaded: Record<string, unknown>;
  try {
    loaded = await import(pathToFileURL(resolved).href) as Record<string, unknown>;
  } catch (error) {
    throw new TargetError('BAD_ADAPTER', `adapter ${file} could not be loaded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const exported = loaded['default'] ?? loaded['target'];
  if (exported === undefined) throw new TargetError('BAD_ADAPTER', `adapter ${file} exports no target (export default defineTarget({...}) or export const target)`);
  try {
    return defineTarget(exported as Target);
  } catch (error) {
    throw new TargetError('BAD_ADAPTER', `adapter ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}
