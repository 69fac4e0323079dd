/**
 * The node-fs tier of the target interface: a library that persists through Node's own `fs`
 * (lowdb, nedb, write-file-atomic, a user's store). It is not handed a crashlab `Vfs`: it runs
 * unchanged in a child process whose `fs` is patched by the recorder (fsRecorder.ts), which
 * writes a trace (fault/trace.ts); crash images are built from the trace and each is recovered
 * by opening the library on a directory holding that image.
 *
 * One adapter schema for every tier: the same `name`, `description`, `capabilities` and
 * `contract` as a `Target` (targets/target.ts), with `tier: 'node-fs'` and `open(dir)` instead
 * of `open(vfs)`. `packages` names what to install on demand (exact versions) into the
 * targets' cache folder; `context.load(name)` imports one of them from there.
 */
import type { TargetCapabilities, TargetContract, TargetState, TargetTxn } from '../target.js';
import { CONTRACT_LEVELS } from '../target.js';

export interface NodeFsContext {
  /** Seeds whatever the adapter itself draws (the recorder already seeds Math.random and crypto). */
  readonly seed: number;
  /** Imports package `name` (one of `packages`) from the targets' cache folder. */
  load(name: string): Promise<unknown>;
}

export interface NodeFsStore {
  /** Applies one transaction through the library; resolving means the library acknowledged it. */
  apply(txn: TargetTxn): Promise<void>;
  /** The whole logical state, as the library reads it back (family → table → hex key → hex value). */
  readState(): Promise<TargetState>;
  close(): Promise<void>;
}

export interface NodeFsAdapter {
  readonly tier: 'node-fs';
  readonly name: string;
  readonly description: string;
  readonly capabilities: TargetCapabilities;
  readonly contract: TargetContract;
  /** npm packages the adapter loads, name → exact version. */
  readonly packages: Readonly<Record<string, string>>;
  /** Opens (or creates) the store in `dir`; runs in the traced child and in recovery workers. */
  open(dir: string, context: NodeFsContext): Promise<NodeFsStore>;
}

/** An adapter of either traced tier (node-fs, native): what capture, recovery and the campaign need of it. */
export type TracedAdapter = Omit<NodeFsAdapter, 'tier'> & { readonly tier: 'node-fs' | 'native' };

/** Checks a node-fs adapter's shape; a TypeError names the first thing wrong. */
export function defineNodeFsAdapter(adapter: NodeFsAdapter): NodeFsAdapter {
  return Object.freeze(checkTracedAdapter(adapter, 'node-fs'));
}

/**
 * The shape both traced tiers share (node-fs here, native in targets/native/nativeAdapter.ts):
 * a name, `open(dir, context)`, packages at exact versions, a contract level.
 */
export function checkTracedAdapter<T extends Omit<NodeFsAdapter, 'tier'> & { readonly tier: string }>(adapter: T, tier: T['tier']): T {
  const where = `${tier} adapter ${typeof adapter?.name === 'string' ? JSON.stringify(adapter.name) : '(unnamed)'}`;
  if (typeof adapter !== 'object' || adapter === null) throw new TypeError('an adapter must be an object');
  if (adapter.tier !== tier) throw new TypeError(`${where}: tier must be '${tier}'`);
  if (typeof adapter.name !== 'string' || !/^[a-z0-9][a-z0-9:._-]{0,63}$/.test(adapter.name)) throw new TypeError(`${where}: name must be lower-case letters, digits and :._- (at most 64)`);
  if (typeof adapter.open !== 'function') throw new TypeError(`${where}: open(dir, context) must be a function`);
  if (typeof adapter.packages !== 'object' || adapter.packages === null) throw new TypeError(`${where}: packages must map package names to exact versions`);
  for (const [name, version] of Object.entries(adapter.packages)) {
    if (typeof version !== 'string' || !/^\d+\.\d+\.\d+$/.test(version)) throw new TypeError(`${where}: package ${name} needs an exact version, not ${JSON.stringify(version)}`);
  }
  if (!CONTRACT_LEVELS.includes(adapter.contract?.level)) throw new TypeError(`${where}: contract.level must be one of ${CONTRACT_LEVELS.join(', ')}`);
  return adapter;
}
