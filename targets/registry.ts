/**
 * Finds a target by name (`--target`) or loads one from a file (`--adapter`). Built-in targets:
 * `reference` (the reference engine) and every `sqlite:<journal>-<synchronous>`. An unknown
 * name, a file that cannot be loaded or exports no target, or a target that breaks the
 * interface is a `TargetError` with a stable code, which the command line turns into exit 2.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { referenceTarget } from './reference/referenceTarget.js';
import { SQLITE_TARGET_NAMES, sqliteTarget } from './sqlite/sqliteTarget.js';
import { defineTarget, type Target } from './target.js';
import lowdb from './nodefs/libraries/lowdb.js';
import nedb from './nodefs/libraries/nedb.js';
import writeFileAtomic from './nodefs/libraries/writeFileAtomic.js';
import { defineNodeFsAdapter, type NodeFsAdapter } from './nodefs/nodeFsAdapter.js';

/** A node-fs target and the module that exports it (the traced child and the recovery worker load it by path). */
export interface NodeFsTarget {
  readonly tier: 'node-fs';
  readonly adapter: NodeFsAdapter;
  readonly module: string;
}

/** Any target, by tier: `vfs` runs over crashlab's fault-injecting Vfs, `node-fs` is traced at Node's fs. */
export type AnyTarget = { readonly tier: 'vfs'; readonly target: Target } | NodeFsTarget;

const NODE_FS_TARGETS: ReadonlyArray<readonly [NodeFsAdapter, string]> = [
  [lowdb, 'lowdb.js'], [nedb, 'nedb.js'], [writeFileAtomic, 'writeFileAtomic.js'],
];

/** The built-in node-fs targets (lowdb, nedb, write-file-atomic), each with its module's path. */
export function builtInNodeFsTargets(): NodeFsTarget[] {
  return NODE_FS_TARGETS.map(([adapter, file]) => ({ tier: 'node-fs', adapter, module: fileURLToPath(new URL(`./nodefs/libraries/${file}`, import.meta.url)) }));
}

/** A target of either tier by name. */
export function resolveAnyTarget(name: string): AnyTarget {
  const nodeFs = builtInNodeFsTargets().find((entry) => entry.adapter.name === name);
  return nodeFs ?? { tier: 'vfs', target: resolveTarget(name) };
}

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
  if (NODE_FS_TARGETS.some(([adapter]) => adapter.name === name)) throw new TargetError('UNKNOWN_TARGET', `${name} is a node-fs target: resolve it with resolveAnyTarget`);
  const hint = name.startsWith('sqlite:') ? `sqlite targets are ${SQLITE_TARGET_NAMES.slice(0, 3).join(', ')}, … (crashlab targets lists all)` : 'crashlab targets lists them; --adapter PATH loads your own';
  throw new TargetError('UNKNOWN_TARGET', `unknown target ${JSON.stringify(name)}: ${hint}`);
}

/** Loads `file` and returns the target it exports, of either tier (`tier: 'node-fs'` or a Vfs target). */
export async function loadAnyAdapter(file: string): Promise<AnyTarget> {
  const resolved = path.resolve(file);
  const exported = await importAdapter(file);
  if ((exported as { tier?: unknown }).tier !== 'node-fs') return { tier: 'vfs', target: checked(file, () => defineTarget(exported as Target)) };
  return { tier: 'node-fs', adapter: checked(file, () => defineNodeFsAdapter(exported as NodeFsAdapter)), module: resolved };
}

function checked<T>(file: string, define: () => T): T {
  try {
    return define();
  } catch (error) {
    throw new TargetError('BAD_ADAPTER', `adapter ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** Loads `file` (a JavaScript module) and returns the target it exports as `default` or `target`. */
export async function loadAdapter(file: string): Promise<Target> {
  const exported = await importAdapter(file);
  return checked(file, () => defineTarget(exported as Target));
}

async function importAdapter(file: string): Promise<unknown> {
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
  return exported;
}
