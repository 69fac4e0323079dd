// Focus: the automatic mutant generator (durability operators of issue 6, structural operators of issue 11) finds its sites and emits patches that apply exactly once and still parse.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import {
  MUTANT_OPERATORS, STRUCTURAL_FILES, STRUCTURAL_OPERATORS, generateMutants, generateMutantsForSource, javaScriptSyntaxErrors,
  type GeneratedMutant, type MutantOperator,
} from '../../mutants/mutantGenerator.js';
import { applyPatches, plantEngine } from '../../mutants/plantEngine.js';

/** dist/engine, from dist/test/properties. */
const ENGINE_DIR = fileURLToPath(new URL('../../engine/', import.meta.url));

/** One site per operator, plus look-alikes that must NOT be sites. Indentation as tsc emits it. */
const FIXTURE = `export class Store {
    poisoned = null;
    async commit(pager, vfs) {
        if (this.poisoned !== null) {
            throw new Error('poisoned');
        }
        pager.writePage(1, new Uint8Array(4));
        await pager.flush();
        await pager.sync();
        await vfs.syncDir();
        this.log('not i/o');
        this.synced = true;
    }
    log(message) {
        void message;
    }
    verify(bytes, expectedCrc) {
        if (checksum(bytes) !== expectedCrc)
            throw new Error('bad page');
        if (bytes.length === 0)
            return null;
        return bytes;
    }
    readRecord(view, salt) {
        if (view.getUint32(0, true) === salt)
            return view;
        if (view.getUint32(8, true) > salt)
            return null;
        return undefined;
    }
    close(file) {
        try {
            file.close();
        }
        catch (error) {
            throw new Error('close failed', { cause: error });
        }
        try {
            file.close();
        }
        catch {
            // ignored on purpose: nothing to drop
        }
    }
    cached(entry, expectedCrc, n) {
        if (entry !== undefined && entry.crc === expectedCrc)
            return entry;
        if (n < 4 || checksum(entry) !== expectedCrc)
            return null;
        return undefined;
    }
}
function checksum(bytes) {
    return bytes.length;
}
`;

/** Expected [operator, line] pairs of the fixture. */
const EXPECTED: readonly (readonly [MutantOperator, number])[] = [
  ['pass-poison-check', 4],
  ['delete-write', 7],
  ['swap-awaits', 7], // writePage then (awaited) flush
  ['swap-awaits', 8], // flush then sync
  ['delete-sync', 9],
  ['swap-awaits', 9], // sync then syncDir
  ['delete-sync', 10],
  ['skip-checksum', 18],
  ['continue-past-invalid', 27],
  ['empty-catch', 35],
  // A cache hit on a matching CRC (line 46) is no verification; a guarded one is cut at its comparison.
  ['skip-checksum', 48],
  ['continue-past-invalid', 48], // the whole check, a different mutant
];

/** Sites whose names exercise the naming rule: classes sharing a method name, callbacks, assigned functions, top level. */
const NAMING_FIXTURE = `export class Log {
    constructor(file) {
        file.sync();
    }
    async flush(file) {
        await file.sync();
    }
}
export class Index {
    async flush(file) {
        await file.sync();
        await file.ready.then(async () => {
            await file.sync();
        });
    }
}
const hooks = {
    onClose: (file) => {
        file.sync();
    },
};
export const drainAll = async (files) => {
    files.forEach((file) => {
        file.sync();
    });
};
top.sync();
`;

/** Names of NAMING_FIXTURE, in source order. */
const NAMING_EXPECTED: readonly string[] = [
  'delete-sync-naming-constructor', // one class has a constructor: no class prefix
  'delete-sync-naming-log-flush', // both classes have a flush: prefixed with the class
  'delete-sync-naming-index-flush-1', // two sites in Index.flush: numbered in source order ...
  'delete-sync-naming-index-flush-2', // ... the anonymous `.then` callback counting as flush
  'delete-sync-naming-onclose', // an arrow function named by its property
  'delete-sync-naming-drainall', // the `.forEach` callback skipped; the arrow named by its variable
  'delete-sync-naming-module', // outside any function
];

function patchedFiles(dir: string, mutant: GeneratedMutant): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(dir)) {
    if (entry.endsWith('.js')) files.set(entry, readFileSync(path.join(dir, entry), 'utf8'));
  }
  applyPatches(mutant.name, files, mutant.patches);
  return files;
}

function checkApplyAndParse(t: import('ava').ExecutionContext, dir: string, mutants: readonly GeneratedMutant[]): void {
  const names = new Set<string>();
  for (const mutant of mutants) {
    t.regex(mutant.name, /^[a-z0-9][a-z0-9-]*$/);
    t.false(names.has(mutant.name), `duplicate name ${mutant.name}`);
    names.add(mutant.name);
    const files = patchedFiles(dir, mutant);
    for (const patch of mutant.patches) {
      const text = files.get(patch.file) ?? '';
      t.not(text, readFileSync(path.join(dir, patch.file), 'utf8'), `${mutant.name} changes its file`);
      t.deepEqual(javaScriptSyntaxErrors(patch.file, text), [], `${mutant.name} still parses`);
    }
  }
}

test('the fixture yields exactly one mutant per expected site', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crashlab-mutants-'));
  try {
    writeFileSync(path.join(dir, 'fixture.js'), FIXTURE);
    const mutants = generateMutants(dir);
    const sites = mutants.map((m) => [m.operator, m.line] as const);
    t.deepEqual([...sites].sort(), [...EXPECTED].sort());
    // Sorted by position, deterministic.
    t.deepEqual(generateMutants(dir), mutants);
    checkApplyAndParse(t, dir, mutants);
    const apply = (operator: MutantOperator, line: number): string => {
      const mutant = mutants.find((m) => m.operator === operator && m.line === line);
      if (mutant === undefined) throw new Error(`no ${operator} at ${line}`);
      return patchedFiles(dir, mutant).get('fixture.js') ?? '';
    };
    t.notRegex(apply('delete-sync', 9), /await pager\.sync\(\);/);
    t.regex(apply('swap-awaits', 8), /await pager\.sync\(\);\n {8}await pager\.flush\(\);/);
    t.regex(apply('skip-checksum', 18), /if \(false \/\* crashlab mutant: skip-checksum \*\/\)\n {12}throw/);
    t.regex(apply('skip-checksum', 48), /if \(n < 4 \|\| false \/\* crashlab mutant: skip-checksum \*\/\)\n/);
    t.regex(apply('empty-catch', 35), /catch \(error\) \{ \/\* crashlab mutant: empty-catch \*\/ \}/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the fixture\'s mutants are named by operator, file and enclosing function, numbered only when repeated', (t) => {
  t.deepEqual(generateMutantsForSource('fixture.js', FIXTURE).map((m) => [m.name, m.line]), [
    ['pass-poison-check-fixture-commit', 4],
    ['delete-write-fixture-commit', 7],
    ['swap-awaits-fixture-commit-1', 7],
    ['swap-awaits-fixture-commit-2', 8],
    ['delete-sync-fixture-commit-1', 9],
    ['swap-awaits-fixture-commit-3', 9],
    ['delete-sync-fixture-commit-2', 10],
    ['skip-checksum-fixture-verify', 18],
    ['continue-past-invalid-fixture-readrecord', 27],
    ['empty-catch-fixture-close', 35],
    ['skip-checksum-fixture-cached', 48],
    ['continue-past-invalid-fixture-cached', 48],
  ]);
  t.deepEqual(generateMutantsForSource('naming.js', NAMING_FIXTURE).map((m) => m.name), NAMING_EXPECTED);
});

test('names do not depend on lines: code added above a site renames nothing', (t) => {
  const added = 'export function addedAbove(file) {\n    file.sync();\n}\n';
  for (const [file, text] of [['fixture.js', FIXTURE], ['naming.js', NAMING_FIXTURE]] as const) {
    const before = generateMutantsForSource(file, text);
    const shifted = generateMutantsForSource(file, `// one more line\n${text}`);
    t.deepEqual(shifted.map((m) => m.name), before.map((m) => m.name), `${file}: a line inserted at the top`);
    t.deepEqual(shifted.map((m) => m.line), before.map((m) => m.line + 1), `${file}: only the lines moved`);
    // A new function with a site of its own adds a mutant and leaves the others as they were.
    const grown = generateMutantsForSource(file, added + text);
    t.deepEqual(grown.map((m) => m.name), [`delete-sync-${path.basename(file, '.js')}-addedabove`, ...before.map((m) => m.name)]);
  }
});

test('a numbered name that another function\'s name would repeat is refused, not emitted twice', (t) => {
  const text = 'export function open(f) {\n    f.sync();\n    f.syncDir();\n}\nexport function open_2(f) {\n    f.sync();\n}\n';
  t.throws(() => generateMutantsForSource('clash.js', text), { message: /not unique: delete-sync-clash-open-2/ });
});

test('a repeated statement is widened until its patch matches once', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crashlab-mutants-'));
  try {
    writeFileSync(path.join(dir, 'twice.js'), `export async function a(s) {
    s.write(0, x);
    await s.sync();
}
export async function b(s) {
    s.write(0, x);
    await s.sync();
}
`);
    const mutants = generateMutants(dir).filter((m) => m.operator === 'delete-sync');
    t.is(mutants.length, 2);
    checkApplyAndParse(t, dir, mutants);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the compiled engine has a site for every operator; every patch applies once and parses', (t) => {
  const mutants = generateMutants(ENGINE_DIR);
  const counts = Object.fromEntries(MUTANT_OPERATORS.map((op) => [op, mutants.filter((m) => m.operator === op).length]));
  t.log(`${mutants.length} mutants:`, counts);
  for (const operator of MUTANT_OPERATORS) t.true((counts[operator] ?? 0) > 0, `no site for ${operator}`);
  checkApplyAndParse(t, ENGINE_DIR, mutants);
});

test('a few generated mutants load as engines', async (t) => {
  const mutants = generateMutants(ENGINE_DIR);
  for (const operator of MUTANT_OPERATORS) {
    const mutant = mutants.find((m) => m.operator === operator);
    if (mutant === undefined) continue;
    const engine = await plantEngine(mutant.name, mutant.patches);
    t.is(typeof engine, 'object', mutant.name);
  }
});

/** One site or more per structural operator, plus look-alikes that must NOT be sites. */
const STRUCTURAL_FIXTURE = `export function compareKeys(a, b) {
    return a.length - b.length;
}
function lowerBound(keys, key) {
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (compareKeys(keys[mid], key) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}
function shrink(ctx, tree, node, i) {
    const order = compareKeys(node.keys[i - 1], node.keys[i]);
    if (order >= 0)
        rebalance(ctx, node, i);
    if (node.children.length === 1) {
        ctx.free(tree.root.page);
        tree.root = node.children[0];
    }
    for (let j = 0; j < node.size; j++)
        node.values.splice(j, 1);
    if (node.size > 3)
        free(node);
    counters.merge();
}
`;

/** Expected [operator, line] pairs of STRUCTURAL_FIXTURE when it is a structural file. */
const STRUCTURAL_EXPECTED: readonly (readonly [MutantOperator, number])[] = [
  ['flip-comparator', 2], // the comparator's own return, negated
  ['flip-comparator', 9], // compareKeys(...) < 0; the while condition (line 7) is no site
  ['shift-bound', 9],
  ['separator-off-by-one', 9], // keys[mid]
  ['separator-off-by-one', 17], // node.keys[i - 1] ...
  ['separator-off-by-one', 17], // ... and node.keys[i]
  ['flip-comparator', 18], // order >= 0: `order` holds a comparator's result
  ['shift-bound', 18],
  ['skip-rebalance', 19], // the rebalance call
  ['skip-rebalance', 20], // the root shrink
  ['leak-page', 21], // ctx.free(...); a plain free(node) call (line 27) is no page free, a counters.merge() (28) no rebalancing
  ['shift-bound', 24], // the for condition; node.size > 3 (line 26) is no bound of a loop or a comparison
];

test('structural operators: the fixture yields exactly the expected sites, and none outside the tree files', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'crashlab-mutants-'));
  try {
    writeFileSync(path.join(dir, 'btree.js'), STRUCTURAL_FIXTURE);
    const mutants = generateMutants(dir);
    t.deepEqual(mutants.map((m) => [m.operator, m.line] as const).sort(), [...STRUCTURAL_EXPECTED].sort());
    checkApplyAndParse(t, dir, mutants);
    const apply = (name: string): string => {
      const mutant = mutants.find((m) => m.name === name);
      if (mutant === undefined) throw new Error(`no mutant ${name} (have ${mutants.map((m) => m.name).join(', ')})`);
      return patchedFiles(dir, mutant).get('btree.js') ?? '';
    };
    t.regex(apply('flip-comparator-btree-comparekeys'), /return -\(a\.length - b\.length\)/);
    t.regex(apply('flip-comparator-btree-lowerbound'), /compareKeys\(keys\[mid\], key\) > \/\* crashlab mutant: flip-comparator \*\/ 0/);
    t.regex(apply('shift-bound-btree-lowerbound'), /compareKeys\(keys\[mid\], key\) <= \/\*/);
    t.regex(apply('separator-off-by-one-btree-lowerbound'), /keys\[mid \+ 1 \/\*/);
    t.regex(apply('separator-off-by-one-btree-shrink-1'), /node\.keys\[i \/\* crashlab mutant: separator-off-by-one \*\/\], node\.keys\[i\]\)/);
    t.regex(apply('separator-off-by-one-btree-shrink-2'), /node\.keys\[i - 1\], node\.keys\[i \+ 1 \/\*/);
    t.regex(apply('shift-bound-btree-shrink-2'), /for \(let j = 0; j <= \/\*/);
    t.regex(apply('skip-rebalance-btree-shrink-1'), /\n {8};\/\* crashlab mutant: skip-rebalance \*\/\n/);
    t.regex(apply('skip-rebalance-btree-shrink-2'), /if \(false \/\* crashlab mutant: skip-rebalance \*\/\) \{\n {8}ctx\.free/);
    t.notRegex(apply('leak-page-btree-shrink'), /ctx\.free\(tree\.root\.page\)/);
    // The same text in a file that is not tree code gets no structural mutant.
    const elsewhere = generateMutantsForSource('wal.js', STRUCTURAL_FIXTURE);
    t.false(elsewhere.some((m) => (STRUCTURAL_OPERATORS as readonly string[]).includes(m.operator)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('structural operators: every one has sites in the compiled btree.js and node.js, and only there', (t) => {
  const structural = generateMutants(ENGINE_DIR).filter((m) => (STRUCTURAL_OPERATORS as readonly string[]).includes(m.operator));
  for (const m of structural) t.true(STRUCTURAL_FILES.has(m.file), `${m.name} is in ${m.file}`);
  for (const operator of STRUCTURAL_OPERATORS) t.true(structural.some((m) => m.operator === operator && m.file === 'btree.js'), `no ${operator} in btree.js`);
  for (const operator of ['flip-comparator', 'shift-bound', 'separator-off-by-one'] as const) {
    t.true(structural.some((m) => m.operator === operator && m.file === 'node.js'), `no ${operator} in node.js`);
  }
  t.log(`${structural.length} structural mutants`);
});
