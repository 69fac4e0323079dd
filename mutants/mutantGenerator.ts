/**
 * Automatic mutants: reads the COMPILED engine (dist/engine/*.js) with the TypeScript compiler
 * API and derives one mutant per site for each operator: the durability operators (issue 6) in
 * every file, the structural ones (issue 11: a comparator flipped, a bound made inclusive or
 * strict, a key index off by one, a rebalancing step skipped, a freed page leaked) at every site
 * of the tree code (STRUCTURAL_FILES). Each
 * mutant is a list of plantEngine patches `{file, find, replace}`: `find` is the exact text of
 * the mutated statement, widened by whole lines until it occurs exactly once in its file (the
 * rule applyPatches enforces), and `replace` is that text with the mutation applied. Nothing
 * here writes files: plantEngine builds the mutant in a temporary copy, never in the source tree.
 *
 * Output is deterministic: files in name order, sites in source order, at most
 * MAX_SITES_PER_OPERATOR per durability operator per file (structural operators take every site). A site that two operators would mutate into the
 * same text is emitted once, under the operator listed first in MUTANT_OPERATORS.
 *
 * Names are `<operator>-<file stem>-<function>`, not line numbers, because the triage
 * (mutantTriage.ts) and tests key on them: an engine edit must not rename the mutants below it.
 * `<function>` is the nearest enclosing function that has a name (a function, method, accessor,
 * `constructor`, or a function assigned to a variable, property or class field; anonymous
 * callbacks are skipped), `module` outside any function. A class member is prefixed with its
 * class (`empty-catch-filevfs-filevfs-constructor`) only when another class, or a plain function,
 * of the same file declares a function of the same name. When several mutants of one file would get the same
 * name, each gets `-<n>` appended, 1-based in source order; a lone site gets no index. So an edit
 * renames a mutant only when it adds or removes a same-operator site in the same function (the
 * lone `x` becomes `x-1`, `x-2`), renames that function, or adds a same-named one elsewhere.
 * Everything is lower case, runs of other characters become one dash.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import type { Patch } from './plantEngine.js';

/** Durability operators: applied to every engine file, at most MAX_SITES_PER_OPERATOR sites each. */
export const DURABILITY_OPERATORS = [
  'delete-sync',
  'delete-write',
  'swap-awaits',
  'skip-checksum',
  'continue-past-invalid',
  'pass-poison-check',
  'empty-catch',
] as const;

/**
 * Structural operators: applied to the tree code only (STRUCTURAL_FILES), at every site. No
 * operator touches a `while` condition: a binary search whose loop bound is made inclusive
 * never ends, and a hang cannot be told from a slow survivor.
 */
export const STRUCTURAL_OPERATORS = [
  'flip-comparator',
  'shift-bound',
  'separator-off-by-one',
  'skip-rebalance',
  'leak-page',
] as const;

export const MUTANT_OPERATORS = [...DURABILITY_OPERATORS, ...STRUCTURAL_OPERATORS] as const;

export type MutantOperator = (typeof MUTANT_OPERATORS)[number];

/** The compiled files of the B+tree: its node operations and its page layout. */
export const STRUCTURAL_FILES: ReadonlySet<string> = new Set(['btree.js', 'node.js']);

export interface GeneratedMutant {
  /** Unique, plantEngine-safe name: `<operator>-<file stem>-<function>[-<n>]` (see the header). */
  readonly name: string;
  readonly operator: MutantOperator;
  /** A file of the engine directory, e.g. `database.js`. */
  readonly file: string;
  /** 1-based line of the mutated site in the compiled file (for descriptions; not in the name). */
  readonly line: number;
  readonly description: string;
  readonly patches: readonly Patch[];
}

export interface GenerateOptions {
  /** Cap per durability operator per file (default MAX_SITES_PER_OPERATOR); structural operators take every site. */
  readonly maxPerOperatorPerFile?: number;
  /** Files the structural operators apply to (default STRUCTURAL_FILES). */
  readonly structuralFiles?: ReadonlySet<string>;
}

export const MAX_SITES_PER_OPERATOR = 20;

const SYNC_METHODS = new Set(['sync', 'syncDir']);
const WRITE_METHODS = new Set(['write', 'writePage', 'writeHeader', 'writeRaw']);
const IO_CALL = /sync|write|flush|persist|waitDurable/i;
const CHECKSUM_TEXT = /checksum\(|crc32\(|crc/i;
const RECORD_CHECK_TEXT = /crc|salt|seq/i;
const POISON_TEXT = /poisoned|failure|syncFailure/i;

const OPERATOR_SUMMARY: Record<MutantOperator, string> = {
  'delete-sync': 'a sync/syncDir call is deleted',
  'delete-write': 'a write of a page, header or record is deleted',
  'swap-awaits': 'two consecutive awaited I/O steps run in the opposite order',
  'skip-checksum': 'a checksum verification is skipped',
  'continue-past-invalid': 'an invalid record check no longer stops the read',
  'pass-poison-check': 'a poisoned-state check always passes',
  'empty-catch': 'an error is dropped (the catch block is emptied)',
  'flip-comparator': 'a key comparison is reversed',
  'shift-bound': 'a bound is made inclusive (or an inclusive one strict)',
  'separator-off-by-one': 'a key index (a separator, a split point) is off by one',
  'skip-rebalance': 'a rebalancing step (merge, redistribution, root growth or shrink) is skipped',
  'leak-page': 'a freed page is leaked (the free is deleted)',
};

/** One mutation of a file: replace text [start, end) with `text`; `anchor` is the statement around it. */
interface Edit {
  readonly operator: MutantOperator;
  readonly anchor: ts.Node;
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

/** Occurrences of `find` in `text`, overlapping ones included (stricter than applyPatches). */
function occurrences(text: string, find: string): number {
  let count = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + 1)) count++;
  return count;
}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf('\n', pos - 1) + 1;
}

function lineEnd(text: string, pos: number): number {
  const at = text.indexOf('\n', pos);
  return at < 0 ? text.length : at + 1;
}

/**
 * The smallest context [from, to) around [start, end) that occurs once in `text`: the anchor
 * statement itself, then its whole lines, then one more line before, one after, and so on.
 */
function uniqueContext(text: string, anchorStart: number, anchorEnd: number): [number, number] {
  let from = anchorStart;
  let to = anchorEnd;
  if (occurrences(text, text.slice(from, to)) === 1) return [from, to];
  from = lineStart(text, from);
  to = lineEnd(text, Math.max(from, to - 1));
  let before = true;
  while (occurrences(text, text.slice(from, to)) !== 1) {
    if (from === 0 && to === text.length) break;
    if ((before && from > 0) || to === text.length) from = lineStart(text, from - 1);
    else to = lineEnd(text, to);
    before = !before;
  }
  return [from, to];
}

function stripAwait(expression: ts.Expression): { readonly inner: ts.Expression; readonly awaited: boolean } {
  let inner = expression;
  let awaited = false;
  for (;;) {
    if (ts.isAwaitExpression(inner)) {
      awaited = true;
      inner = inner.expression;
    } else if (ts.isParenthesizedExpression(inner) || ts.isVoidExpression(inner)) {
      inner = inner.expression;
    } else {
      return { inner, awaited };
    }
  }
}

/** The method or function name a call invokes (`x.y.sync()` -> `sync`, `fsync(fd)` -> `fsync`). */
function calleeName(call: ts.CallExpression): string | undefined {
  const callee = call.expression;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  if (ts.isIdentifier(callee)) return callee.text;
  return undefined;
}

/** Whether `node` calls one of `names`, without looking into block-bodied functions (their statements are sites of their own). */
function callsMethod(node: ts.Node, names: ReadonlySet<string>): boolean {
  let found = false;
  const visit = (child: ts.Node): void => {
    if (found || ts.isBlock(child)) return;
    if (ts.isCallExpression(child) && ts.isPropertyAccessExpression(child.expression) && names.has(child.expression.name.text)) {
      found = true;
      return;
    }
    ts.forEachChild(child, visit);
  };
  visit(node);
  return found;
}

/** An (optionally awaited) call whose name looks like I/O, as an expression statement. */
function ioStep(statement: ts.Statement): { readonly awaited: boolean } | undefined {
  if (!ts.isExpressionStatement(statement)) return undefined;
  const { inner, awaited } = stripAwait(statement.expression);
  if (!ts.isCallExpression(inner)) return undefined;
  const name = calleeName(inner);
  return name !== undefined && IO_CALL.test(name) ? { awaited } : undefined;
}

function isThrowing(statement: ts.Statement): boolean {
  if (ts.isThrowStatement(statement)) return true;
  if (ts.isBlock(statement)) {
    const last = statement.statements[statement.statements.length - 1];
    return last !== undefined && ts.isThrowStatement(last);
  }
  return false;
}

function isStop(statement: ts.Statement): boolean {
  const only = ts.isBlock(statement) && statement.statements.length === 1 ? statement.statements[0] : statement;
  if (only === undefined) return false;
  if (ts.isBreakStatement(only)) return only.label === undefined;
  return ts.isReturnStatement(only) && only.expression !== undefined && only.expression.kind === ts.SyntaxKind.NullKeyword;
}

function inLoop(node: ts.Node): boolean {
  for (let at = node.parent; at !== undefined; at = at.parent) {
    if (ts.isIterationStatement(at, false)) return true;
    if (ts.isFunctionLike(at)) return false;
  }
  return false;
}

/** Whether a `throw` is inside `block`, outside any nested function. */
function containsThrow(block: ts.Node): boolean {
  let found = false;
  const visit = (child: ts.Node): void => {
    if (found || ts.isFunctionLike(child)) return;
    if (ts.isThrowStatement(child)) found = true;
    else ts.forEachChild(child, visit);
  };
  ts.forEachChild(block, visit);
  return found;
}

/** The first `a !== b` of a condition where a side is a checksum or CRC (not `x !== undefined && x.crc === y`). */
function checksumMismatch(sf: ts.SourceFile, condition: ts.Expression): ts.BinaryExpression | undefined {
  const visit = (node: ts.Node): ts.BinaryExpression | undefined => {
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.ExclamationEqualsEqualsToken
      && (CHECKSUM_TEXT.test(node.left.getText(sf)) || CHECKSUM_TEXT.test(node.right.getText(sf)))) {
      return node;
    }
    return ts.isFunctionLike(node) ? undefined : ts.forEachChild(node, visit);
  };
  return visit(condition);
}

function comment(operator: MutantOperator): string {
  return `/* crashlab mutant: ${operator} */`;
}

const RELATIONAL_FLIP: ReadonlyMap<ts.SyntaxKind, string> = new Map([
  [ts.SyntaxKind.LessThanToken, '>'], [ts.SyntaxKind.GreaterThanToken, '<'],
  [ts.SyntaxKind.LessThanEqualsToken, '>='], [ts.SyntaxKind.GreaterThanEqualsToken, '<='],
]);
const RELATIONAL_SHIFT: ReadonlyMap<ts.SyntaxKind, string> = new Map([
  [ts.SyntaxKind.LessThanToken, '<='], [ts.SyntaxKind.GreaterThanToken, '>='],
  [ts.SyntaxKind.LessThanEqualsToken, '<'], [ts.SyntaxKind.GreaterThanEqualsToken, '>'],
]);
const COMPARE_NAME = /^compare/i;
/** Functions that move entries between siblings (their calls are the rebalancing steps). */
const REBALANCE_NAME = /^(rebalance|appendInto|merge|redistribute|borrow)/i;

/** Names of the variables that hold a comparator's result (`const order = compareAt(...)`). */
function comparisonVariables(sf: ts.SourceFile): Set<string> {
  const names = new Set<string>();
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer !== undefined
      && ts.isCallExpression(node.initializer) && COMPARE_NAME.test(calleeName(node.initializer) ?? '')) {
      names.add(node.name.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return names;
}

/** A relational test of a comparator's result against 0 (`compareBytes(a, b) < 0`, `order > 0`). */
function isComparisonTest(node: ts.BinaryExpression, variables: ReadonlySet<string>): boolean {
  if (!RELATIONAL_FLIP.has(node.operatorToken.kind)) return false;
  const isZero = (side: ts.Expression): boolean => ts.isNumericLiteral(side) && side.text === '0';
  const isResult = (side: ts.Expression): boolean =>
    (ts.isCallExpression(side) && COMPARE_NAME.test(calleeName(side) ?? '')) || (ts.isIdentifier(side) && variables.has(side.text));
  return (isZero(node.right) && isResult(node.left)) || (isZero(node.left) && isResult(node.right));
}

/** The index a key access names: `X.keys[i]`, `keys[i]`, or the first argument of `X.keys.splice(i, ...)`. */
function keyIndex(node: ts.Node): ts.Expression | undefined {
  const isKeys = (e: ts.Expression): boolean =>
    (ts.isPropertyAccessExpression(e) && e.name.text === 'keys') || (ts.isIdentifier(e) && e.text === 'keys');
  if (ts.isElementAccessExpression(node) && isKeys(node.expression)) return node.argumentExpression;
  if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'splice'
    && isKeys(node.expression.expression)) return node.arguments[0];
  return undefined;
}

/** `a - 1` and `a + 1` lose their one; any other index gains one. */
function offByOne(sf: ts.SourceFile, index: ts.Expression): string {
  if (ts.isBinaryExpression(index) && ts.isNumericLiteral(index.right) && index.right.text === '1'
    && (index.operatorToken.kind === ts.SyntaxKind.MinusToken || index.operatorToken.kind === ts.SyntaxKind.PlusToken)) {
    return index.left.getText(sf);
  }
  return `${ts.isBinaryExpression(index) ? `(${index.getText(sf)})` : index.getText(sf)} + 1`;
}

/** Whether `statement` (outside nested functions) assigns a tree's root: `x.root = ...`. */
function assignsRoot(statement: ts.Statement): boolean {
  let found = false;
  const visit = (node: ts.Node): void => {
    if (found || ts.isFunctionLike(node)) return;
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken
      && ts.isPropertyAccessExpression(node.left) && node.left.name.text === 'root') found = true;
    else ts.forEachChild(node, visit);
  };
  visit(statement);
  return found;
}

/** The edits of the structural operators (STRUCTURAL_OPERATORS) at `node`. */
function structuralEdits(sf: ts.SourceFile, node: ts.Node, variables: ReadonlySet<string>): Edit[] {
  const edits: Edit[] = [];
  const anchorOf = (at: ts.Node): ts.Node => {
    let anchor = at;
    while (!ts.isStatement(anchor) && anchor.parent !== undefined && !ts.isSourceFile(anchor.parent)) anchor = anchor.parent;
    return anchor;
  };
  const replaceOperator = (operator: MutantOperator, binary: ts.BinaryExpression, text: string): void => {
    edits.push({ operator, anchor: anchorOf(binary), start: binary.operatorToken.getStart(sf), end: binary.operatorToken.getEnd(), text: `${text} ${comment(operator)}` });
  };
  if (ts.isBinaryExpression(node) && isComparisonTest(node, variables)) {
    replaceOperator('flip-comparator', node, RELATIONAL_FLIP.get(node.operatorToken.kind)!);
    replaceOperator('shift-bound', node, RELATIONAL_SHIFT.get(node.operatorToken.kind)!);
  }
  if (ts.isForStatement(node) && node.condition !== undefined && ts.isBinaryExpression(node.condition)
    && RELATIONAL_SHIFT.has(node.condition.operatorToken.kind)) {
    replaceOperator('shift-bound', node.condition, RELATIONAL_SHIFT.get(node.condition.operatorToken.kind)!);
  }
  if (ts.isReturnStatement(node) && node.expression !== undefined) {
    // The comparator itself, reversed: every return of a compare function negated.
    const owner = enclosingFunction(sf, node);
    if (owner !== undefined && COMPARE_NAME.test(owner.name)) {
      edits.push({ operator: 'flip-comparator', anchor: node, start: node.expression.getStart(sf), end: node.expression.getEnd(), text: `-(${node.expression.getText(sf)}) ${comment('flip-comparator')}` });
    }
  }
  const index = keyIndex(node);
  if (index !== undefined) {
    edits.push({ operator: 'separator-off-by-one', anchor: anchorOf(node), start: index.getStart(sf), end: index.getEnd(), text: `${offByOne(sf, index)} ${comment('separator-off-by-one')}` });
  }
  if (ts.isExpressionStatement(node) && ts.isCallExpression(node.expression)) {
    const name = calleeName(node.expression) ?? '';
    const removed = { anchor: node, start: node.getStart(sf), end: node.getEnd() };
    // A plain call only: a method of the same name (a counter's `shape.merge()`) moves no entry.
    if (REBALANCE_NAME.test(name) && ts.isIdentifier(node.expression.expression)) edits.push({ operator: 'skip-rebalance', ...removed, text: `;${comment('skip-rebalance')}` });
    if (name === 'free' && ts.isPropertyAccessExpression(node.expression.expression)) edits.push({ operator: 'leak-page', ...removed, text: `;${comment('leak-page')}` });
  }
  if (ts.isIfStatement(node) && assignsRoot(node.thenStatement)) {
    // Root growth, root shrink and the empty tree's removal: the tree keeps its old root.
    edits.push({ operator: 'skip-rebalance', anchor: node, start: node.expression.getStart(sf), end: node.expression.getEnd(), text: `false ${comment('skip-rebalance')}` });
  }
  return edits;
}

/** Every edit of one source file, in source order per operator; the structural ones only when `structural`. */
function collectEdits(sf: ts.SourceFile, structural: boolean): Edit[] {
  const variables = structural ? comparisonVariables(sf) : new Set<string>();
  const text = sf.text;
  const edits: Edit[] = [];
  const falseCondition = (operator: MutantOperator, statement: ts.IfStatement): void => {
    edits.push({ operator, anchor: statement, start: statement.expression.getStart(sf), end: statement.expression.getEnd(), text: `false ${comment(operator)}` });
  };
  const removeStatement = (operator: MutantOperator, statement: ts.Statement): void => {
    // An empty statement, not only a comment: the statement may be the body of an unbraced `if`.
    edits.push({ operator, anchor: statement, start: statement.getStart(sf), end: statement.getEnd(), text: `;${comment(operator)}` });
  };
  const visitStatements = (statements: ts.NodeArray<ts.Statement>): void => {
    for (let i = 0; i + 1 < statements.length; i++) {
      const first = statements[i];
      const second = statements[i + 1];
      if (first === undefined || second === undefined) continue;
      const a = ioStep(first);
      const b = ioStep(second);
      if (a === undefined || b === undefined || (!a.awaited && !b.awaited)) continue;
      const start = first.getStart(sf);
      const end = second.getEnd();
      const gap = text.slice(first.getEnd(), second.getStart(sf));
      // Anchored on the pair; the gap (newline and indentation, maybe a comment) stays between them.
      edits.push({ operator: 'swap-awaits', anchor: first, start, end, text: `${second.getText(sf)}${gap}${first.getText(sf)}` });
    }
  };
  const visit = (node: ts.Node): void => {
    if (ts.isBlock(node) || ts.isSourceFile(node) || ts.isModuleBlock(node) || ts.isCaseClause(node) || ts.isDefaultClause(node)) {
      visitStatements(node.statements);
    }
    if (ts.isExpressionStatement(node)) {
      const { inner } = stripAwait(node.expression);
      if (ts.isCallExpression(inner) && ts.isPropertyAccessExpression(inner.expression) && SYNC_METHODS.has(inner.expression.name.text)) {
        removeStatement('delete-sync', node);
      } else if (callsMethod(node.expression, WRITE_METHODS)) {
        removeStatement('delete-write', node);
      }
    }
    if (ts.isIfStatement(node)) {
      const condition = node.expression.getText(sf);
      const mismatch = checksumMismatch(sf, node.expression);
      if (mismatch !== undefined) {
        // Only the comparison becomes false: other guards of the same condition (a length check) stay.
        edits.push({ operator: 'skip-checksum', anchor: node, start: mismatch.getStart(sf), end: mismatch.getEnd(), text: `false ${comment('skip-checksum')}` });
      }
      if (RECORD_CHECK_TEXT.test(condition) && isStop(node.thenStatement) && (ts.isReturnStatement(node.thenStatement) || ts.isBlock(node.thenStatement) || inLoop(node))) {
        falseCondition('continue-past-invalid', node);
      }
      if (POISON_TEXT.test(condition) && isThrowing(node.thenStatement)) {
        falseCondition('pass-poison-check', node);
      }
    }
    if (ts.isCatchClause(node) && containsThrow(node.block)) {
      edits.push({ operator: 'empty-catch', anchor: node, start: node.block.getStart(sf), end: node.block.getEnd(), text: `{ ${comment('empty-catch')} }` });
    }
    if (structural) edits.push(...structuralEdits(sf, node, variables));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return edits;
}

/** Lower case, each run of other characters one dash, none at either end (`#flushAll` -> `flushall`). */
function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

function propertyNameText(sf: ts.SourceFile, name: ts.PropertyName | ts.BindingName): string | undefined {
  if (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name) || ts.isNumericLiteral(name)) return name.text;
  if (ts.isComputedPropertyName(name)) return name.expression.getText(sf);
  return undefined; // a destructuring pattern names no function
}

/** A function's name and, for a class member, its class. */
interface NamedFunction {
  readonly name: string;
  readonly owner: ts.ClassLikeDeclaration | undefined;
}

/** The name of a function-like node; undefined when it has none (a callback passed as an argument). */
function namedFunction(sf: ts.SourceFile, node: ts.Node): NamedFunction | undefined {
  const member = (name: string | undefined, parent: ts.Node): NamedFunction | undefined =>
    name === undefined || slug(name) === '' ? undefined : { name, owner: ts.isClassLike(parent) ? parent : undefined };
  if (ts.isConstructorDeclaration(node)) return member('constructor', node.parent);
  if (ts.isMethodDeclaration(node) || ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) {
    return member(propertyNameText(sf, node.name), node.parent);
  }
  if (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node)) {
    if (node.name !== undefined) return member(node.name.text, node.parent);
  }
  if (!ts.isFunctionExpression(node) && !ts.isArrowFunction(node)) return undefined;
  // An anonymous function is named by what it is assigned to: `const f = () => ...`, `{ f: () => ... }`, a class field.
  const holder = node.parent;
  if ((ts.isVariableDeclaration(holder) || ts.isPropertyAssignment(holder) || ts.isPropertyDeclaration(holder)) && holder.initializer === node) {
    return member(propertyNameText(sf, holder.name), holder.parent);
  }
  return undefined;
}

/** The nearest enclosing function of `node` that has a name; undefined at top level. */
function enclosingFunction(sf: ts.SourceFile, node: ts.Node): NamedFunction | undefined {
  for (let at = node.parent; at !== undefined; at = at.parent) {
    const named = ts.isFunctionLike(at) ? namedFunction(sf, at) : undefined;
    if (named !== undefined) return named;
  }
  return undefined;
}

/**
 * The name part that says where a site is: `module`, the function's name, or `<class>-<name>`
 * for a class member whose name another class (or a plain function) of the file also declares.
 */
function functionLabeller(sf: ts.SourceFile): (node: ts.Node) => string {
  const owners = new Map<string, Set<ts.ClassLikeDeclaration | undefined>>();
  const visit = (node: ts.Node): void => {
    const named = ts.isFunctionLike(node) ? namedFunction(sf, node) : undefined;
    if (named !== undefined) owners.set(slug(named.name), (owners.get(slug(named.name)) ?? new Set()).add(named.owner));
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return (node) => {
    const named = enclosingFunction(sf, node);
    if (named === undefined) return 'module';
    const name = slug(named.name);
    const className = named.owner?.name?.text;
    const shared = (owners.get(name)?.size ?? 0) > 1;
    return shared && className !== undefined ? `${slug(className)}-${name}` : name;
  };
}

/**
 * Final names: each base name as is when it is alone, else `<base>-<n>` in source order (the
 * mutants come in per-operator source order). Throws if two mutants still share a name.
 */
function withIndexedNames<T extends { readonly name: string }>(mutants: readonly T[]): T[] {
  const total = new Map<string, number>();
  for (const m of mutants) total.set(m.name, (total.get(m.name) ?? 0) + 1);
  const next = new Map<string, number>();
  const named = mutants.map((m) => {
    if (total.get(m.name) === 1) return m;
    const n = (next.get(m.name) ?? 0) + 1;
    next.set(m.name, n);
    return { ...m, name: `${m.name}-${n}` };
  });
  const names = new Set(named.map((m) => m.name));
  if (names.size !== named.length) {
    const duplicates = named.filter((m, i) => named.findIndex((other) => other.name === m.name) !== i).map((m) => m.name);
    throw new Error(`generated mutant names are not unique: ${[...new Set(duplicates)].join(', ')}`);
  }
  return named;
}

function firstLine(source: string): string {
  const line = source.split('\n', 1)[0] ?? '';
  return line.trim().length > 80 ? `${line.trim().slice(0, 77)}...` : line.trim();
}

/** The mutants of one compiled file (`file` is its name inside the engine directory). */
export function generateMutantsForSource(file: string, text: string, options: GenerateOptions = {}): GeneratedMutant[] {
  const cap = options.maxPerOperatorPerFile ?? MAX_SITES_PER_OPERATOR;
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const edits = collectEdits(sf, (options.structuralFiles ?? STRUCTURAL_FILES).has(file));
  const stem = slug(path.basename(file, '.js'));
  const labelOf = functionLabeller(sf);
  const mutants: GeneratedMutant[] = [];
  const seen = new Set<string>();
  for (const operator of MUTANT_OPERATORS) {
    let count = 0;
    const mine = edits.filter((edit) => edit.operator === operator).sort((a, b) => a.start - b.start || a.end - b.end);
    const structural = (STRUCTURAL_OPERATORS as readonly string[]).includes(operator);
    for (const edit of mine) {
      if (!structural && count >= cap) break;
      const anchorStart = Math.min(edit.anchor.getStart(sf), edit.start);
      const anchorEnd = Math.max(edit.anchor.getEnd(), edit.end);
      const [from, to] = uniqueContext(text, anchorStart, anchorEnd);
      const find = text.slice(from, to);
      if (occurrences(text, find) !== 1) continue; // the whole file repeats itself: no sound patch
      const replace = text.slice(from, edit.start) + edit.text + text.slice(edit.end, to);
      // The same change under another operator's name (e.g. a record CRC check) is one mutant.
      const key = `${edit.start}:${edit.end}:${edit.text.replace(comment(operator), '')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const line = sf.getLineAndCharacterOfPosition(edit.start).line + 1;
      mutants.push({
        name: `${operator}-${stem}-${labelOf(edit.anchor)}`, // the base name: withIndexedNames numbers repeats
        operator,
        file,
        line,
        // A structural edit is often one token (`<`): its whole line says where it is.
        description: `${OPERATOR_SUMMARY[operator]} at ${file}:${line}: ${firstLine(text.slice(structural ? lineStart(text, edit.start) : edit.start, edit.end))}`,
        patches: [{ file, find, replace }],
      });
      count++;
    }
  }
  // Deterministic order: by file (caller), then by position, then by operator.
  const rank = (m: GeneratedMutant): number => MUTANT_OPERATORS.indexOf(m.operator);
  return withIndexedNames(mutants).sort((a, b) => a.line - b.line || rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The mutants of every compiled file of `engineDir` (normally dist/engine), sorted by file then position. */
export function generateMutants(engineDir: string, options: GenerateOptions = {}): GeneratedMutant[] {
  const files = readdirSync(engineDir).filter((entry) => entry.endsWith('.js')).sort();
  return files.flatMap((file) => generateMutantsForSource(file, readFileSync(path.join(engineDir, file), 'utf8'), options));
}

/** Syntax errors of a JavaScript text (empty when it parses); for checking patched copies. */
export function javaScriptSyntaxErrors(file: string, text: string): string[] {
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.JS);
  const diagnostics = (sf as unknown as { readonly parseDiagnostics?: readonly ts.Diagnostic[] }).parseDiagnostics ?? [];
  return diagnostics.map((d) => `${file}:${d.start ?? 0}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}
