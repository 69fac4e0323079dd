/**
 * Finds a target by name (`--target`) or loads one from a file (`--adapter`). Built-in targets:
 * `reference` (the reference engine), every `sqlite:<journal>-<synchronous>`, the node-fs
 * libraries (lowdb, nedb, write-file-atomic) and the native engines (classic-level, lmdb,
 * every `better-sqlite3:<journal>-<synchronous>` and `better-sqlite3:wal-default`). An unknown
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
import { defineNativeAdapter, type NativeAdapter } from './native/nativeAdapter.js';
import classicLevel from './native/engines/classicLevel.js';
import { lmdbAdapter } from './native/engines/lmdb.js';
import { BETTER_SQLITE3_CONFIGS, BETTER_SQLITE3_DEFAULTS, betterSqlite3Adapter } from './native/engines/betterSqlite3.js';

/** A node-fs target and the module that exports it (the traced child and the recovery worker load it by path). */
export interface NodeFsTarget {
  readonly tier: 'node-fs';
  readonly adapter: NodeFsAdapter;
  readonly module: string;
}

/** A native target and the module URL that exports it (its configuration in the query: `?config=wal-full`). */
export interface NativeTarget {
  readonly tier: 'native';
  readonly adapter: NativeAdapter;
  readonly module: string;
}

/** Any target, by tier: `vfs` runs over crashlab's fault-injecting Vfs, `node-fs` is traced at Node's fs, `native` by its system calls. */
export type AnyTarget = { readonly tier: 'vfs'; readonly target: Target } | NodeFsTarget | NativeTarget;

const NODE_FS_TARGETS: ReadonlyArray<readonly [NodeFsAdapter, string]> = [
  [lowdb, 'lowdb.js'], [nedb, 'nedb.js'], [writeFileAtomic, 'writeFileAtomic.js'],
];

/** The built-in node-fs targets (lowdb, nedb, write-file-atomic), each with its module's path. */
export function builtInNodeFsTargets(): NodeFsTarget[] {
  return NODE_FS_TARGETS.map(([adapter, file]) => ({ tier: 'node-fs', adapter, module: fileURLToPath(new URL(`./nodefs/libraries/${file}`, import.meta.url)) }));
}

const engineUrl = (file: string, config?: string): string => {
  const url = new URL(`./native/engines/${file}`, import.meta.url);
  if (config !== undefined) url.searchParams.set('config', config);
  return url.href;
};

/** The built-in native targets: classic-level, lmdb (and lmdb:writemap, refused), every better-sqlite3 configuration. */
export function builtInNativeTargets(): NativeTarget[] {
  return [
    { tier: 'native', adapter: classicLevel, module: engineUrl('classicLevel.js') },
    { tier: 'native', adapter: lmdbAdapter(false), module: engineUrl('lmdb.js') },
    { tier: 'native', adapter: lmdbAdapter(true), module: engineUrl('lmdb.js', 'writemap') },
    ...BETTER_SQLITE3_CONFIGS.map((config): NativeTarget => ({ tier: 'native', adapter: betterSqlite3Adapter(config), module: engineUrl('betterSqlite3.js', config) })),
  ];
}

/** A target of any tier by name. */
export function resolveAnyTarget(name: string): AnyTarget {
  const nodeFs = builtInNodeFsTargets().find((entry) => entry.adapter.name === name);
  const native = builtInNativeTargets().find((entry) => entry.adapter.name === name);
  return nodeFs ?? native ?? { tier: 'vfs', target: resolveTarget(name) };
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
  if (builtInNativeTargets().some((entry) => entry.adapter.name === name)) throw new TargetError('UNKNOWN_TARGET', `${name} is a native target: resolve it with resolveAnyTarget`);
  const hint = name.startsWith('better-sqlite3:') ? `better-sqlite3 targets are better-sqlite3:wal-full, better-sqlite3:${BETTER_SQLITE3_DEFAULTS}, … (crashlab targets lists all)`
    : name.startsWith('sqlite:') ? `sqlite targets are ${SQLITE_TARGET_NAMES.slice(0, 3).join(', ')}, … (crashlab targets lists all)` : 'crashlab targets lists them; --adapter PATH loads your own';
  throw new TargetError('UNKNOWN_TARGET', `unknown target ${JSON.stringify(name)}: ${hint}`);
}

/** Loads `file` and returns the target it exports, of either tier (`tier: 'node-fs'` or a Vfs target). */
export async function loadAnyAdapter(file: string): Promise<AnyTarget> {
  const resolved = path.resolve(file);
  const exported = await importAdapter(file);
  if ((exported as { tier?: unknown }).tier === 'native') return { tier: 'native', adapter: checked(file, () => defineNativeAdapter(exported as NativeAdapter)), module: resolved };
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
