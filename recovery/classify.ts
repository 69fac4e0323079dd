/**
 * The verdict on one recovered state: acceptable (it equals the state after some allowed
 * prefix of the commits), or a violation of a named kind, with the diff that shows it.
 *
 * Kinds, in the order they are tested:
 *   lost-ack           the state is an earlier prefix than the last acknowledged commit allows
 *   torn-transaction   the state lies strictly between two consecutive prefixes
 *   hole               a commit is missing while a later one is present
 *   resurrected-delete a key the commits removed is back, with a value it once had
 *   phantom-value      a value no commit ever wrote
 *   other-divergence   none of the above, but still no acceptable prefix
 *   silent-loss        (damaged images only) every family holds a prefix of its own commits, but
 *                      one lost an acknowledged commit and recovery raised no error: damage
 *                      rolled back silently, which only a store declaring
 *                      `mayRollBackUnderDamage` may do (storeUnderTest.ts, StoreContract)
 */
import {
  statesEqual, type CommitHistory, type CommitRecord, type LogicalState,
} from '../model/commitHistory.js';
import { digestOfState, type StateDigest } from '../model/stateDigest.js';

export type ViolationKind =
  | 'lost-ack' | 'torn-transaction' | 'hole' | 'resurrected-delete' | 'phantom-value' | 'other-divergence'
  | 'integrity' | 'undetected-corruption' | 'silent-loss' | 'unexpected-error' | 'hang';

export interface DiffLine {
  readonly family: string;
  readonly table: string;
  readonly key: string;
  readonly expected: string | undefined;
  readonly recovered: string | undefined;
}

export type Verdict =
  | { readonly ok: true; readonly prefix: number }
  | { readonly ok: false; readonly kind: ViolationKind; readonly detail: string; readonly diff: DiffLine[] };

/** Every (family, table, key) where two states differ ('' key: the table itself differs). */
export function diffStates(expected: LogicalState, recovered: LogicalState, limit = 50): DiffLine[] {
  const lines: DiffLine[] = [];
  const families = new Set([...expected.keys(), ...recovered.keys()]);
  for (const family of [...families].sort()) {
    if (expected.has(family) !== recovered.has(family)) {
      lines.push({ family, table: '', key: '', expected: expected.has(family) ? 'family' : undefined, recovered: recovered.has(family) ? 'family' : undefined });
    }
    const a = expected.get(family) ?? new Map<string, Map<string, string>>();
    const b = recovered.get(family) ?? new Map<string, Map<string, string>>();
    for (const table of [...new Set([...a.keys(), ...b.keys()])].sort()) {
      const ta = a.get(table);
      const tb = b.get(table);
      if (ta === undefined || tb === undefined) {
        lines.push({ family, table, key: '', expected: ta === undefined ? undefined : `table(${ta.size})`, recovered: tb === undefined ? undefined : `table(${tb.size})` });
      }
      // A missing table differs in every key of the other side too: list them, so a value in
      // a table the expected state lacks can still be named (phantom, resurrected...).
      const keysA = ta ?? new Map<string, string>();
      const keysB = tb ?? new Map<string, string>();
      for (const key of [...new Set([...keysA.keys(), ...keysB.keys()])].sort()) {
        if (keysA.get(key) !== keysB.get(key)) lines.push({ family, table, key, expected: keysA.get(key), recovered: keysB.get(key) });
        if (lines.length >= limit) return lines;
      }
    }
  }
  return lines;
}

/** Per-family or global: the commit orders within which the recovered state must be a prefix. */
function orders(history: CommitHistory, sharedLog: boolean): Array<{ family: string | null; commits: readonly CommitRecord[] }> {
  if (sharedLog) return [{ family: null, commits: history.all() }];
  return history.familyNames().map((family) => ({ family, commits: history.ofFamily(family) }));
}

function restrict(state: LogicalState, family: string | null): LogicalState {
  if (family === null) return state;
  return new Map([[family, state.get(family) ?? new Map<string, Map<string, string>>()]]);
}

/**
 * A family whose creation was still in flight at the crash may or may not exist afterwards;
 * if it does, it must be empty (nothing can have been committed to it yet).
 */
function withoutUnknownEmptyFamilies(history: CommitHistory, recovered: LogicalState): LogicalState {
  const known = new Set(history.familyNames());
  return new Map([...recovered].filter(([family, tables]) => known.has(family) || tables.size > 0));
}

/** One order's matched prefix: the family whose order it is (null: the global one), its commits and k. */
export interface OrderMatch {
  readonly family: string | null;
  readonly commits: readonly CommitRecord[];
  readonly k: number;
}

/**
 * The acceptable prefix of every order whose digest equals the recovered state's, or null when
 * some order has none (then only the slow path, `classify`, can say what went wrong). Costs a
 * digest comparison per prefix: never a state copy or a state comparison.
 */
export function matchDigests(history: CommitHistory, recovered: StateDigest, sharedLog: boolean,
  rule: 'acknowledged' | 'any-prefix' = 'acknowledged'): OrderMatch[] | null {
  const matches: OrderMatch[] = [];
  for (const { family, commits } of orders(history, sharedLog)) {
    const range = rule === 'acknowledged' ? history.acceptable(commits) : { min: 0, max: commits.length };
    const digests = history.prefixDigests(commits, { family });
    const mine = family === null ? recovered.total : recovered.families.get(family) ?? 0;
    // Several prefixes can give one state (a commit that changed nothing visible, such as the
    // drop of an empty family). Under 'any-prefix' (damage) the longest is taken: the loss it
    // implies is the least the state can mean, so a silent loss is never blamed on a commit that
    // the state may well hold.
    let k = -1;
    if (rule === 'any-prefix') {
      for (let at = range.max; at >= range.min && k < 0; at--) if (digests[at] === mine) k = at;
    } else {
      for (let at = range.min; at <= range.max && k < 0; at++) if (digests[at] === mine) k = at;
    }
    if (k < 0) return null;
    matches.push({ family, commits, k });
  }
  return matches;
}

/**
 * Given per-family prefixes that explain a damaged image (the 'any-prefix' rule), the first
 * acknowledged commit rolled back that some surviving record vouches for, as a silent-loss
 * violation; null when none is. A record vouches for every commit acknowledged `immediate`
 * before it was issued (CommitRecord.vouchesFor), and it survives when its commit is
 * acknowledged `immediate` itself (its record was durable) or present in the recovered state.
 * The newest acknowledged commits with no such later record are the declared limit: no format
 * can tell their damaged record from a torn tail (README, docs/format.md).
 */
export function silentLoss(history: CommitHistory, matched: readonly OrderMatch[]): Verdict | null {
  const present = new Set(matched.flatMap((match) => match.commits.slice(0, match.k).map((commit) => commit.index)));
  let newestVouched = -1;
  for (const commit of history.all()) {
    if (commit.status === 'acked-immediate' || present.has(commit.index)) newestVouched = Math.max(newestVouched, commit.vouchesFor);
  }
  for (const match of matched) {
    const lost = match.commits.slice(match.k).find((commit) => commit.status === 'acked-immediate' && commit.index <= newestVouched);
    if (lost === undefined) continue;
    const scope = match.family === null ? 'the commit order' : `family ${match.family}`;
    return violation('silent-loss',
      `recovery raised no error, but ${scope} holds only ${match.k} of its commits: acknowledged commit #${lost.index} (${lost.family}), which a later durable record vouches for, was rolled back under damage`, []);
  }
  return null;
}

/** `matchDigests` on a state read in full (a family still being created, and empty, left out). */
export function matchState(history: CommitHistory, recoveredState: LogicalState, sharedLog: boolean,
  rule: 'acknowledged' | 'any-prefix' = 'acknowledged'): OrderMatch[] | null {
  return matchDigests(history, digestOfState(withoutUnknownEmptyFamilies(history, recoveredState)), sharedLog, rule);
}

/** Judges `recovered` against the history: a prefix in range for every order, or a violation. */
export function classify(history: CommitHistory, recoveredState: LogicalState, sharedLog: boolean,
  rule: 'acknowledged' | 'any-prefix' = 'acknowledged'): Verdict {
  const recovered = withoutUnknownEmptyFamilies(history, recoveredState);
  const matched = matchDigests(history, digestOfState(recovered), sharedLog, rule);
  if (matched !== null) return { ok: true, prefix: matched.reduce((sum, match) => sum + match.k, 0) };
  return explainState(history, recovered, sharedLog, rule);
}

/** The slow path: finds the first order no acceptable prefix state equals, and names why. */
function explainState(history: CommitHistory, recovered: LogicalState, sharedLog: boolean, rule: 'acknowledged' | 'any-prefix'): Verdict {
  let prefix = 0;
  for (const { family, commits } of orders(history, sharedLog)) {
    const mine = restrict(recovered, family);
    const range = rule === 'acknowledged' ? history.acceptable(commits) : { min: 0, max: commits.length };
    const states = history.prefixStates(commits).map((state) => restrict(state, family));
    // Several prefixes can give one state (a commit that changed nothing): any one in range will do.
    const inRange = states.findIndex((state, k) => k >= range.min && k <= range.max && statesEqual(state, mine));
    if (inRange >= 0) {
      prefix += inRange;
      continue;
    }
    const match = states.findIndex((state) => statesEqual(state, mine));
    return explain(history, commits, states, mine, match, range.min, family);
  }
  // Digests differed where the states do not (a 2^-52 coincidence the other way): the states decide.
  return { ok: true, prefix };
}


function violation(kind: ViolationKind, detail: string, diff: DiffLine[]): Verdict {
  return { ok: false, kind, detail, diff };
}

/** Names what went wrong when no acceptable prefix matches. */
function explain(history: CommitHistory, commits: readonly CommitRecord[], states: LogicalState[], recovered: LogicalState,
  match: number, min: number, family: string | null): Verdict {
  const scope = family === null ? 'the commit order' : `family ${family}'s commit order`;
  if (match >= 0) {
    const lost = commits[min - 1]!;
    return violation('lost-ack', `recovered the state after ${match} commits of ${scope}, but commit #${lost.index} (${lost.family}) was acknowledged`, diffStates(states[min]!, recovered));
  }
  for (let k = 0; k < commits.length; k++) {
    if (someState(history.partialStates(states[k]!, commits[k]!), (state) => statesEqual(restrict(state, family), recovered))) {
      return violation('torn-transaction', `commit #${commits[k]!.index} (${commits[k]!.family}) is partly applied`, diffStates(states[k + 1]!, recovered));
    }
  }
  for (let skipped = 0; skipped < commits.length; skipped++) {
    for (let k = skipped + 2; k <= commits.length; k++) {
      if (statesEqual(restrict(history.stateWithout(commits, k, skipped), family), recovered)) {
        return violation('hole', `commit #${commits[skipped]!.index} is missing while ${k - skipped - 1} later commit(s) of ${scope} are present`, diffStates(states[k]!, recovered));
      }
    }
  }
  const nearest = nearestState(states.slice(min), recovered);
  const diff = diffStates(nearest, recovered);
  return classifyDiff(commits, diff);
}

/** `some` over states yielded one at a time (each valid only until the next). */
function someState(states: Iterable<LogicalState>, matches: (state: LogicalState) => boolean): boolean {
  for (const state of states) if (matches(state)) return true;
  return false;
}

function nearestState(states: LogicalState[], recovered: LogicalState): LogicalState {
  let best = states[0]!;
  let bestSize = Infinity;
  for (const state of states) {
    const size = diffStates(state, recovered, 1000).length;
    if (size < bestSize) { best = state; bestSize = size; }
  }
  return best;
}

/** Values each (family, table, key) ever held in the commits, as hex. */
function writtenValues(commits: readonly CommitRecord[]): Map<string, Set<string>> {
  const written = new Map<string, Set<string>>();
  for (const commit of commits) {
    for (const op of commit.ops) {
      if (op.op !== 'insert') continue;
      const id = `${commit.family}\0${op.table}\0${Buffer.from(op.key).toString('hex')}`;
      const values = written.get(id) ?? new Set<string>();
      values.add(Buffer.from(op.value).toString('hex'));
      written.set(id, values);
    }
  }
  return written;
}

function classifyDiff(commits: readonly CommitRecord[], diff: DiffLine[]): Verdict {
  const written = writtenValues(commits);
  for (const line of diff) {
    if (line.recovered === undefined || line.key === '') continue;
    const values = written.get(`${line.family}\0${line.table}\0${line.key}`);
    if (values === undefined || !values.has(line.recovered)) {
      return violation('phantom-value', `${line.family}/${line.table}/${line.key} holds a value no commit wrote`, diff);
    }
    if (line.expected === undefined) {
      return violation('resurrected-delete', `${line.family}/${line.table}/${line.key} was removed but is back`, diff);
    }
  }
  return violation('other-divergence', 'the recovered state matches no acceptable prefix of the commits', diff);
}
