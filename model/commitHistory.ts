/**
 * The crash oracle's model: every commit the workload issued, in issue order, with its
 * status, and the logical state after any prefix of them. After a crash the recovered state
 * must equal the state after some prefix k of the commits, with k at least one past the last
 * acknowledged `immediate` commit and at most the number issued (ARCHITECTURE.md section 5).
 * With a shared WAL the order is global; without one each family has its own order, and the
 * rule holds per family.
 *
 * Pure data: no I/O, no clock, no randomness, no engine import.
 */

import { FrozenBase, overlayAt, prefixDigests, type DigestScope, type OverlayState } from './stateTimeline.js';

export type ModelOp =
  | { readonly op: 'insert'; readonly table: string; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: 'remove'; readonly table: string; readonly key: Uint8Array }
  /** Removes every key with start <= key < end (a bound left out is no bound). */
  | { readonly op: 'removeRange'; readonly table: string; readonly start?: Uint8Array | undefined; readonly end?: Uint8Array | undefined }
  | { readonly op: 'clear'; readonly table: string }
  | { readonly op: 'create'; readonly table: string }
  | { readonly op: 'delete'; readonly table: string };

/**
 * A commit that changes the set of families rather than their tables: the family deleted with
 * all its data (`drop`), or created empty (`create`). Each is durable when it resolves.
 */
export type FamilyChange = 'drop' | 'create';

export type CommitStatus = 'in-flight' | 'acked-immediate' | 'acked-none' | 'failed';

export interface CommitRecord {
  readonly index: number;
  readonly family: string;
  readonly ops: readonly ModelOp[];
  readonly durability: 'immediate' | 'none';
  /** Set for a family change, whose `ops` are empty. */
  readonly change?: FamilyChange | undefined;
  /**
   * The index of the newest commit acknowledged `immediate` when this one was issued (-1: none):
   * this commit's log record is written after that one was synced, so a store whose records
   * carry a durable watermark can vouch, from this record, that that one was durable.
   */
  readonly vouchesFor: number;
  status: CommitStatus;
}

/** family -> table -> hex key -> hex value. Families and tables present even when empty. */
export type LogicalState = Map<string, Map<string, Map<string, string>>>;

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`model assertion failed: ${message}`);
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function applyOp(family: Map<string, Map<string, string>>, op: ModelOp): void {
  if (op.op === 'delete') {
    family.delete(op.table);
    return;
  }
  let table = family.get(op.table);
  if (table === undefined) {
    // Every operation but delete opens the table, and opening creates it (as the engine does).
    table = new Map();
    family.set(op.table, table);
  }
  if (op.op === 'insert') table.set(toHex(op.key), toHex(op.value));
  else if (op.op === 'remove') table.delete(toHex(op.key));
  else if (op.op === 'clear') table.clear();
  else if (op.op === 'removeRange') removeRange(table, op.start, op.end);
}

/** Hex strings of equal case sort as their bytes do, so the bounds compare as hex. */
function removeRange(table: Map<string, string>, start: Uint8Array | undefined, end: Uint8Array | undefined): void {
  const from = start === undefined ? undefined : toHex(start);
  const to = end === undefined ? undefined : toHex(end);
  for (const key of [...table.keys()]) {
    if ((from === undefined || key >= from) && (to === undefined || key < to)) table.delete(key);
  }
}

/** Applies one commit to `state` in place: its table operations, or its family change. */
function applyCommit(state: LogicalState, commit: CommitRecord, opCount = commit.ops.length): void {
  if (commit.change === 'drop') {
    state.delete(commit.family);
    return;
  }
  if (commit.change === 'create') {
    if (!state.has(commit.family)) state.set(commit.family, new Map());
    return;
  }
  // A commit always follows its family's creation; only an explanation that leaves the creation
  // out (stateWithout) meets a missing family, and then opening it creates it, as the engine does.
  let family = state.get(commit.family);
  if (family === undefined) {
    family = new Map();
    state.set(commit.family, family);
  }
  for (const op of commit.ops.slice(0, opCount)) applyOp(family, op);
}

export function copyState(state: LogicalState): LogicalState {
  return new Map([...state].map(([family, tables]) => [family, new Map([...tables].map(([name, t]) => [name, new Map(t)]))]));
}

export function statesEqual(a: LogicalState, b: LogicalState): boolean {
  if (a.size !== b.size) return false;
  for (const [family, tablesA] of a) {
    const tablesB = b.get(family);
    if (tablesB === undefined || tablesA.size !== tablesB.size) return false;
    for (const [name, tableA] of tablesA) {
      const tableB = tablesB.get(name);
      if (tableB === undefined || tableA.size !== tableB.size) return false;
      for (const [key, value] of tableA) if (tableB.get(key) !== value) return false;
    }
  }
  return true;
}

/** An inclusive range of acceptable prefix lengths. */
export interface PrefixRange {
  readonly min: number;
  readonly max: number;
}

export class CommitHistory {
  private readonly commits: CommitRecord[] = [];
  private readonly families: string[] = [];
  /** The state after the first `baseCount` commits, shared and never copied (stateTimeline.ts). */
  private base: FrozenBase = FrozenBase.EMPTY;
  private baseCount = 0;
  /** The newest commit acknowledged `immediate` so far (-1: none), for CommitRecord.vouchesFor. */
  private newestDurable = -1;

  /**
   * Declares that the commits issued so far built `base` (a case's starting database): the
   * digests and states of later prefixes are laid over it instead of rebuilt from nothing.
   */
  setBase(base: FrozenBase): void {
    this.base = base;
    this.baseCount = this.commits.length;
  }

  /** The base and how many commits built it (see setBase). */
  baseOf(): { readonly base: FrozenBase; readonly count: number } {
    return { base: this.base, count: this.baseCount };
  }

  /** How many of `commits` (an order of this history) lie in the base. */
  private baseCountOf(commits: readonly CommitRecord[]): number {
    let count = 0;
    while (count < commits.length && commits[count]!.index < this.baseCount) count++;
    return count;
  }

  /** The digest after each prefix of `commits` (NaN inside the base), cheaply (stateTimeline.ts). */
  prefixDigests(commits: readonly CommitRecord[], scope: DigestScope): number[] {
    return prefixDigests(this.base, this.families, commits, this.baseCountOf(commits), scope);
  }

  /** The state after the first `k` of `commits`, as changes over the base (k past the base). */
  overlayAfter(commits: readonly CommitRecord[], k: number): OverlayState {
    return overlayAt(this.base, this.families, commits, this.baseCountOf(commits), k);
  }

  /** A family whose creation completed (creation is durable before it resolves). */
  addFamily(name: string): void {
    if (!this.families.includes(name)) this.families.push(name);
  }

  /**
   * Records a commit at the moment it is issued (its WAL append happens synchronously then);
   * with `change`, a family change (no ops, always `immediate`).
   */
  issue(family: string, ops: readonly ModelOp[], durability: 'immediate' | 'none', change?: FamilyChange): number {
    if (!this.families.includes(family)) throw new Error(`model: commit to unknown family ${family}`);
    if (change !== undefined && (ops.length > 0 || durability !== 'immediate')) throw new Error('model: a family change is an immediate commit without ops');
    const index = this.commits.length;
    this.commits.push({ index, family, ops: ops.slice(), durability, change, vouchesFor: this.newestDurable, status: 'in-flight' });
    return index;
  }

  /**
   * Copies `from`'s families, base and commits with their statuses as they are now, sharing
   * the commits' operations (never changed once issued) instead of copying them.
   */
  protected copyFrom(from: CommitHistory): void {
    assert(this.commits.length === 0 && this.families.length === 0, 'a copy starts empty');
    this.families.push(...from.families);
    for (const commit of from.commits) this.commits.push({ ...commit });
    this.base = from.base;
    this.baseCount = from.baseCount;
    this.newestDurable = from.newestDurable;
  }

  settle(index: number, outcome: 'acked' | 'failed'): void {
    const commit = this.commits[index];
    if (commit === undefined || commit.status !== 'in-flight') throw new Error(`model: commit ${index} settled twice`);
    commit.status = outcome === 'failed' ? 'failed' : commit.durability === 'immediate' ? 'acked-immediate' : 'acked-none';
    if (commit.status === 'acked-immediate') this.newestDurable = Math.max(this.newestDurable, index);
  }

  /** A deep copy: statuses frozen as they are now (what a crash at this moment would judge by). */
  snapshot(): CommitHistory {
    const copy = new CommitHistory();
    copy.copyFrom(this);
    return copy;
  }

  all(): readonly CommitRecord[] {
    return this.commits;
  }

  familyNames(): readonly string[] {
    return this.families;
  }

  /** State after applying the first `k` of `commits` (default: all commits). */
  stateAfter(k: number, commits: readonly CommitRecord[] = this.commits): LogicalState {
    const state: LogicalState = new Map(this.families.map((family) => [family, new Map<string, Map<string, string>>()]));
    for (const commit of commits.slice(0, k)) applyCommit(state, commit);
    return state;
  }

  /** The state after each prefix 0..n of `commits` (n + 1 states), built incrementally. */
  prefixStates(commits: readonly CommitRecord[] = this.commits): LogicalState[] {
    let state = this.stateAfter(0);
    const states = [state];
    for (const commit of commits) {
      state = copyState(state);
      applyCommit(state, commit);
      states.push(state);
    }
    return states;
  }

  /**
   * The states inside commit `commit` applied to `before`: after each of its ops but the last.
   * One copy of `before` takes the ops one at a time (a commit of thousands of ops would
   * otherwise copy the state thousands of times): each state yielded is valid only until the next.
   */
  *partialStates(before: LogicalState, commit: CommitRecord): Generator<LogicalState> {
    if (commit.ops.length < 2) return;
    const state = copyState(before);
    for (let opCount = 1; opCount < commit.ops.length; opCount++) {
      applyCommit(state, { ...commit, ops: commit.ops.slice(opCount - 1, opCount) });
      yield state;
    }
  }

  /** The state after commits [0, k) with commit `skipped` left out. */
  stateWithout(commits: readonly CommitRecord[], k: number, skipped: number): LogicalState {
    return this.stateAfter(k - 1, commits.filter((_, i) => i !== skipped));
  }

  /** Acceptable prefix lengths of `commits`: from past the last acknowledged immediate one, to all. */
  acceptable(commits: readonly CommitRecord[] = this.commits): PrefixRange {
    let min = 0;
    commits.forEach((commit, i) => {
      if (commit.status === 'acked-immediate') min = i + 1;
    });
    return { min, max: commits.length };
  }

  /** The commits of one family, in issue order (the order that matters without a shared WAL). */
  ofFamily(family: string): CommitRecord[] {
    return this.commits.filter((commit) => commit.family === family);
  }
}
