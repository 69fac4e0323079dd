/**
 * A target: what the harness drives. It opens over a crashlab `Vfs` (so every byte goes
 * through the fault layer), applies one transaction of logical operations at a time (the
 * promise resolving = acknowledged), reads back the whole logical state, optionally checks its
 * own integrity, and closes. It declares what it can do (capabilities, so the workload draws
 * only that) and what it promises after a crash (its contract, per configuration), which the
 * oracle judges it by. The reference engine, SQLite and a user's `--adapter` are all targets.
 *
 * `defineTarget` checks the shape at once and names what is missing (a TypeError), so a broken
 * adapter fails before any finding is reported.
 */
import type { Vfs } from '../engine/storage.js';
import type { LogicalState } from '../model/commitHistory.js';

/** `durable`: no acknowledged commit lost; `prefix`: only a suffix of the commit order; `atomic`: any subset, never a torn commit; `none`: no promise. */
export type ContractLevel = 'durable' | 'prefix' | 'atomic' | 'none';
export const CONTRACT_LEVELS: readonly ContractLevel[] = ['durable', 'prefix', 'atomic', 'none'];

/** What a target promises after a crash: defined once, for every target. */
export interface TargetContract {
  readonly level: ContractLevel;
  /** Under injected damage (bit flips, unreadable sectors) it may roll back silently instead of reporting it. */
  readonly mayRollBackUnderDamage: boolean;
  /** Whether refusing to open a crash image (an error at recovery) breaks the contract. */
  readonly refusalIsViolation: boolean;
  /** Files that are never durable state (SQLite's -shm): the crash model may drop them whole. */
  readonly volatileFiles: readonly string[];
}

export interface TargetCapabilities {
  /** Several families (namespaces with their own tables); else one. */
  readonly families: boolean;
  /** Commits acknowledged before they are durable (`durability: 'none'`). */
  readonly noneCommits: boolean;
  /** Bounded range reads besides the full state. */
  readonly ranges: boolean;
  /** Runs synchronously (WebAssembly): hangs cannot be seen by counting event-loop turns. */
  readonly synchronous: boolean;
  /** Several operations commit as one (absent: true); without, the workload commits one operation at a time. */
  readonly transactions?: boolean | undefined;
}

/** One logical operation; keys and values are bytes, tables are names inside a family. */
export type TargetOp =
  | { readonly op: 'insert'; readonly table: string; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: 'remove'; readonly table: string; readonly key: Uint8Array }
  | { readonly op: 'clear'; readonly table: string };

export interface TargetTxn {
  readonly family: string;
  readonly ops: readonly TargetOp[];
  readonly durability: 'immediate' | 'none';
}

/** family → table → hex key → hex value: the model's own form. */
export type TargetState = LogicalState;

/** What the case says of its device (the crash plan's traits). */
export interface DeviceTraits {
  readonly sectorBytes: 512 | 4096;
  readonly atomicSector: boolean;
}

/** Milliseconds since the Unix epoch, injected (engine and fault code never read the clock). */
export type Clock = () => number;

/** What a case gives a target when it opens: the device it runs on, a seed and a clock. */
export interface OpenContext {
  readonly seed: number;
  readonly device: DeviceTraits;
  readonly clock: Clock;
}

export interface OpenTarget {
  /** Applies one transaction; resolving means acknowledged, with the durability asked for. */
  apply(txn: TargetTxn): Promise<void>;
  /** The whole logical state (a table that exists with no keys included). */
  readState(): Promise<TargetState>;
  /** Problems the target's own integrity check finds (empty: none). */
  integrityProblems?(): Promise<string[]>;
  /** A clean close: everything acknowledged is durable after it. */
  close(): Promise<void>;
  /** After a crash: drop every handle without writing (the crashed Vfs refuses all calls). */
  abandon(): Promise<void>;
}

export interface Target {
  readonly name: string;
  readonly description: string;
  readonly capabilities: TargetCapabilities;
  readonly contract: TargetContract;
  /** Package versions, build hashes: what a certificate names. */
  identity(): Promise<string>;
  open(vfs: Vfs, context: OpenContext): Promise<OpenTarget>;
}

const CAPABILITIES: ReadonlyArray<keyof TargetCapabilities> = ['families', 'noneCommits', 'ranges', 'synchronous'];

/** Checks a target's shape and returns it; a TypeError names the first thing wrong. */
export function defineTarget(target: Target): Target {
  const where = `target ${typeof target?.name === 'string' ? JSON.stringify(target.name) : '(unnamed)'}`;
  if (typeof target !== 'object' || target === null) throw new TypeError('a target must be an object');
  if (typeof target.name !== 'string' || !/^[a-z0-9][a-z0-9:._-]{0,63}$/.test(target.name)) throw new TypeError(`${where}: name must be lower-case letters, digits and :._- (at most 64)`);
  if (typeof target.description !== 'string') throw new TypeError(`${where}: description must be a string`);
  if (typeof target.open !== 'function') throw new TypeError(`${where}: open(vfs, context) must be a function`);
  if (typeof target.identity !== 'function') throw new TypeError(`${where}: identity() must be a function`);
  for (const capability of CAPABILITIES) {
    if (typeof target.capabilities?.[capability] !== 'boolean') throw new TypeError(`${where}: capabilities.${capability} must be true or false`);
  }
  if (!['boolean', 'undefined'].includes(typeof target.capabilities.transactions)) throw new TypeError(`${where}: capabilities.transactions must be true, false or absent`);
  checkContract(where, target.contract);
  return Object.freeze(target);
}

function checkContract(where: string, contract: TargetContract | undefined): void {
  if (contract === undefined || !CONTRACT_LEVELS.includes(contract.level)) throw new TypeError(`${where}: contract.level must be one of ${CONTRACT_LEVELS.join(', ')}`);
  if (typeof contract.mayRollBackUnderDamage !== 'boolean') throw new TypeError(`${where}: contract.mayRollBackUnderDamage must be true or false`);
  if (typeof contract.refusalIsViolation !== 'boolean') throw new TypeError(`${where}: contract.refusalIsViolation must be true or false`);
  if (!Array.isArray(contract.volatileFiles) || !contract.volatileFiles.every((name) => typeof name === 'string')) throw new TypeError(`${where}: contract.volatileFiles must be a list of file names`);
}

/** Whether the opened target has every method the harness calls. */
export function checkOpenTarget(name: string, opened: OpenTarget): OpenTarget {
  for (const method of ['apply', 'readState', 'close', 'abandon'] as const) {
    if (typeof opened?.[method] !== 'function') throw new TypeError(`target ${JSON.stringify(name)}: open() must give an object with ${method}()`);
  }
  return opened;
}
