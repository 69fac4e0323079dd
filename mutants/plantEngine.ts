/**
 * Planted bugs (mutants): a copy of the compiled engine with a few exact text patches, loaded
 * as a fresh module graph, so the crash property can be run against it and must fail
 * (ARCHITECTURE.md section 7: a harness that passes everything proves nothing).
 *
 * Patches are written against the COMPILED JavaScript in dist/engine. Each `find` must occur
 * exactly once in its file: a patch that stops matching after an engine change fails loudly
 * instead of silently testing the unpatched engine.
 *
 * The mutant shares errors.js with the reference engine (unless a patch changes it), so that
 * `instanceof EngineError` means the same in the engine, the fault layer and the harness.
 *
 * The copy lives inside the repository (`.crashlab/tmp/mutants/`, gitignored) so that bare
 * imports such as `fs-ext` still resolve from the repository's node_modules.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as EngineModule from '../engine/index.js';
import type { EngineUnderTest } from '../recovery/checkImage.js';

export interface Patch {
  /** A file of dist/engine, e.g. `database.js`. */
  readonly file: string;
  /** Text that must occur exactly once in that file. */
  readonly find: string;
  readonly replace: string;
}

export interface PlantedBug {
  readonly name: string;
  /** The real bug this mutant stands for. */
  readonly description: string;
  readonly patches: readonly Patch[];
  /**
   * The property the catalog's own test expects to find it (test/properties/plantedBugs.test.ts):
   * the crash campaign by default; `differential` for a bug of the tree that shows without a
   * crash. The mutant hunt runs both properties on every mutant whatever this says.
   */
  readonly detectedBy?: 'crash' | 'differential';
  /** For a generated mutant: the operator that made it (properties/mutantGenerator.ts). */
  readonly operator?: string;
  /**
   * Set when the mutant cannot be told apart from the reference by any crash the harness can
   * produce: the reason why. Equivalent mutants are listed by the mutant runner but not run.
   */
  readonly equivalent?: string;
}

/** The whole engine module of a mutant (it satisfies EngineUnderTest). */
export type PlantedEngine = typeof EngineModule & EngineUnderTest;

export interface PlantOptions {
  /** Keep the patched copy on disk after loading it (to read it); removed by default. */
  readonly keep?: boolean;
}

/** dist/engine, next to this compiled module's folder (dist/properties). */
const ENGINE_DIR = fileURLToPath(new URL('../engine/', import.meta.url));
/** The repository: the folder that holds dist/. */
const REPO_DIR = fileURLToPath(new URL('../../', import.meta.url));
export const MUTANTS_DIR = path.join(REPO_DIR, '.crashlab', 'tmp', 'mutants');

let counter = 0;
/** Distinguishes concurrent processes (ava runs test files in parallel) planting the same name. */
const processTag = `${process.pid}${randomBytes(2).toString('hex')}`;

function occurrences(text: string, find: string): number {
  if (find.length === 0) return 0;
  let count = 0;
  for (let at = text.indexOf(find); at >= 0; at = text.indexOf(find, at + find.length)) count++;
  return count;
}

/** Applies `patches` to the file texts in `files` (name -> text); throws unless each matches once. */
export function applyPatches(name: string, files: Map<string, string>, patches: readonly Patch[]): void {
  for (const patch of patches) {
    const text = files.get(patch.file);
    if (text === undefined) throw new Error(`mutant ${name}: no file ${patch.file} in dist/engine`);
    const count = occurrences(text, patch.find);
    if (count !== 1) {
      throw new Error(`mutant ${name}: patch for ${patch.file} matches ${count} times, not once (was the engine changed? rebuild and update the patch):\n${patch.find}`);
    }
    const at = text.indexOf(patch.find);
    files.set(patch.file, text.slice(0, at) + patch.replace + text.slice(at + patch.find.length));
  }
}

/**
 * Copies dist/engine to `.crashlab/tmp/mutants/<name>-<tag>-<counter>/engine`, applies the
 * patches to its JavaScript and imports its index.js: a separate engine with its own module
 * state, ready to be passed as `engine` to runCrashCampaign.
 */
export async function plantEngine(name: string, patches: readonly Patch[], options: PlantOptions = {}): Promise<PlantedEngine> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new TypeError(`mutant name must be lower-case words and dashes, not ${JSON.stringify(name)}`);
  const files = new Map<string, string>();
  for (const entry of await readdir(ENGINE_DIR)) {
    if (entry.endsWith('.js')) files.set(entry, await readFile(path.join(ENGINE_DIR, entry), 'utf8'));
  }
  if (!files.has('index.js')) throw new Error(`no compiled engine at ${ENGINE_DIR}: build first (npx tsc -p tsconfig.json)`);
  applyPatches(name, files, patches);
  // One error class for the mutant and the layers around it: the fault layer throws the
  // reference engine's EngineError, and the engine tells its own errors apart by `instanceof`.
  // Unless a patch targets errors.js, the mutant re-exports the reference module.
  if (!patches.some((patch) => patch.file === 'errors.js')) {
    files.set('errors.js', `export * from ${JSON.stringify(pathToFileURL(path.join(ENGINE_DIR, 'errors.js')).href)};\n`);
  }
  const root = path.join(MUTANTS_DIR, `${name}-${processTag}-${++counter}`);
  const dir = path.join(root, 'engine');
  await mkdir(dir, { recursive: true });
  try {
    for (const [file, text] of files) await writeFile(path.join(dir, file), text);
    // Declarations are not needed to run; copy them anyway so a kept mutant can be read in an editor.
    for (const entry of await readdir(ENGINE_DIR)) {
      if (entry.endsWith('.d.ts')) await copyFile(path.join(ENGINE_DIR, entry), path.join(dir, entry));
    }
    return await import(pathToFileURL(path.join(dir, 'index.js')).href) as PlantedEngine;
  } finally {
    // Once imported, the module graph lives in memory: the files are no longer needed.
    if (options.keep !== true) await rm(root, { recursive: true, force: true });
  }
}

/** Plants one bug of the catalog by name. */
export async function plantBug(name: string, options: PlantOptions = {}): Promise<PlantedEngine> {
  const bug = PLANTED_BUGS.find((candidate) => candidate.name === name);
  if (bug === undefined) throw new Error(`no planted bug named ${name}`);
  return plantEngine(bug.name, bug.patches, options);
}

/**
 * The catalog: each entry is a durability bug a real engine has had (or the seed plan could
 * introduce), planted into the compiled reference engine. Indentation is the compiler's (4 spaces).
 */
export const PLANTED_BUGS: readonly PlantedBug[] = [
  {
    name: 'ack-before-wal-fsync',
    description: 'an immediate commit is acknowledged as soon as its WAL record is written, before the fsync that makes it durable',
    patches: [{
      file: 'database.js',
      find: `        const seq = journal.append(txn.redo, options.durability);
        if (options.durability === 'immediate')
            await journal.waitDurable(seq);
        return seq;`,
      replace: `        const seq = journal.append(txn.redo, options.durability);
        return seq;`,
    }],
  },
  {
    name: 'roots-only-wal',
    description: "the seed's Phase 3 taken literally: pages are not flushed at commit and the WAL holds only what cannot rebuild them, so replay restores nothing",
    patches: [{
      file: 'columnFamilyDatabase.js',
      find: `function applyRedo(txn, ops) {
`,
      replace: `function applyRedo(txn, ops) {
    return;
`,
    }],
  },
  {
    name: 'header-before-pages',
    description: 'the commit slot is written and synced before the pages it names are flushed (the two fsyncs of the header protocol in the wrong order)',
    patches: [{
      file: 'database.js',
      find: `        this.pager.flush();
        await this.pager.sync();
        // Another family's failure on a shared file may have poisoned this one meanwhile.`,
      replace: `        // Another family's failure on a shared file may have poisoned this one meanwhile.`,
    }, {
      file: 'database.js',
      find: `        this.pager.writeHeader(SLOT_OFFSETS[slotIndex], encodeSlot(slot));
        await this.pager.sync();
        this.durableSlot = slotIndex;`,
      replace: `        this.pager.writeHeader(SLOT_OFFSETS[slotIndex], encodeSlot(slot));
        await this.pager.sync();
        this.pager.flush();
        await this.pager.sync();
        this.durableSlot = slotIndex;`,
    }],
  },
  {
    name: 'replay-past-bad-checksum',
    description: 'WAL recovery decodes a record whose CRC does not match (a torn or corrupted tail) instead of stopping there',
    patches: [{
      file: 'wal.js',
      find: `    if (recordCrc(head.subarray(0, 4), payload) !== headView.getUint32(4, true))
        return null;
`,
      replace: `    if (recordCrc(head.subarray(0, 4), payload) !== headView.getUint32(4, true))
        ;
`,
    }],
  },
  {
    name: 'evict-without-write',
    description: 'eviction drops dirty pages from the write buffer without writing them to the file',
    patches: [{
      file: 'pager.js',
      find: `        this.counters.evictions += victims.length;
        this.writeOut(victims);`,
      replace: `        this.counters.evictions += victims.length;
        for (const page of victims) {
            this.dirty.delete(page);
            this.counters.dirtyBytes -= this.pageBytes;
        }`,
    }],
  },
  {
    name: 'reuse-reachable-page',
    description: 'freed pages are reused once the COMMITTED transaction passed them, though the durable root still reaches them',
    patches: [{
      file: 'database.js',
      find: `        const horizon = Math.min(this.durable.txnId, readerHorizon);`,
      replace: `        const horizon = Math.min(this.committed.txnId, readerHorizon);`,
    }],
  },
  {
    name: 'volatile-outlives-checkpoint',
    description: 'the pages a commit allocated stay volatile after the checkpoint that made them durable: freed later, they are reused at once although the durable header still reaches them',
    patches: [{
      file: 'allocator.js',
      find: `    markDurable() {
        this.volatile.clear();`,
      replace: `    markDurable() {`,
    }],
  },
  {
    name: 'full-disk-open-fails',
    description: 'an open whose recovery cannot checkpoint on a full disk (ENOSPC) fails instead of serving the acknowledged commits read-only',
    patches: [{
      file: 'columnFamilyDatabase.js',
      find: `            if (options.readOnly === true || !(error instanceof EngineError) || osErrorCode(error) !== 'ENOSPC')`,
      replace: `            if (true)`,
    }],
  },
  {
    name: 'full-disk-replay-bounded',
    description: 'the read-only fallback on a full disk keeps the write buffer\'s bound, so a replay that needs more dirty pages than it holds fails the open',
    patches: [{
      file: 'columnFamilyDatabase.js',
      find: `{ ...options, readOnly: true, create: false, writeBufferBytes: FULL_DISK_BUFFER_BYTES }`,
      replace: `{ ...options, readOnly: true, create: false }`,
    }],
  },
  {
    name: 'synced-to-counter',
    description: 'group commit marks the log synced up to the append counter at fsync completion, not up to what was written when the fsync began',
    patches: [{
      file: 'wal.js',
      find: `                this.syncedSeq = Math.max(this.syncedSeq, coveredSeq);`,
      replace: `                this.syncedSeq = Math.max(this.syncedSeq, coveredSeq, this.writtenSeq);`,
    }],
  },
  {
    name: 'truncate-before-header-durable',
    description: 'a checkpoint drops WAL records its family headers are about to cover, before those headers are written and synced',
    patches: [{
      file: 'columnFamilyDatabase.js',
      find: `                for (const family of [...this.families.values()])
                    await family.db.checkpoint(options);
                await this.wal?.truncate((record) => this.isCovered(record));`,
      replace: `                await this.wal?.truncate((record) => this.isCovered(record));
                for (const family of [...this.families.values()])
                    await family.db.checkpoint(options);`,
    }, {
      file: 'columnFamilyDatabase.js',
      find: `                return record.seq <= family.db.durableWalSeq;`,
      replace: `                return record.seq <= family.db.committed.walSeq;`,
    }],
  },
  {
    name: 'fsync-retry-reports-success',
    description: 'a failed fsync is retried and, when the retry succeeds, reported as success (fsyncgate: the data it covered is gone)',
    patches: [{
      file: 'wal.js',
      find: `                catch (error) {
                    this.fail('fsync', error);`,
      replace: `                catch (error) {
                    try {
                        await this.storage.sync();
                        error = null;
                    }
                    catch {
                        // the retry failed too: report the first failure
                    }
                    if (error === null)
                        continue;
                    this.fail('fsync', error);`,
    }, {
      file: 'pager.js',
      find: `        catch (error) {
            throw this.failed('fsync of the data file', error);
        }`,
      replace: `        catch (error) {
            try {
                await this.storage.sync();
            }
            catch {
                throw this.failed('fsync of the data file', error);
            }
        }`,
    }],
  },
  {
    name: 'swallow-write-error',
    description: 'a failed page write is ignored: the page leaves the write buffer as if it had reached the file',
    patches: [{
      file: 'pager.js',
      find: `        this.io('write', () => this.storage.write(first * this.pageBytes, bytes));`,
      replace: `        try {
            this.storage.write(first * this.pageBytes, bytes);
        }
        catch {
            // swallowed
        }`,
    }],
  },
  {
    name: 'segment-growth-not-persisted',
    description: "growing a family by a new segment is never recorded in the durable master header (the segment map is lost at a crash)",
    patches: [{
      file: 'segmentedFile.js',
      find: `            this.replaceFamily(family);`,
      replace: `            const wasDirty = this.masterDirty;
            this.replaceFamily(family);
            this.masterDirty = wasDirty;`,
    }],
  },
  {
    name: 'truncate-drops-checkpoint-appends',
    description: 'a checkpoint truncates the WAL up to its last record once every family is checkpointed, dropping records appended to already-checkpointed families meanwhile',
    patches: [{
      file: 'columnFamilyDatabase.js',
      find: `                for (const family of [...this.families.values()])
                    await family.db.checkpoint(options);
                await this.wal?.truncate((record) => this.isCovered(record));`,
      replace: `                for (const family of [...this.families.values()])
                    await family.db.checkpoint(options);
                const lastSeq = this.wal?.lastSeq() ?? 0;
                await this.wal?.truncate((record) => record.seq <= lastSeq);`,
    }],
  },
  {
    name: 'replay-first-record-only',
    description: "recovery installs a family's first WAL record past its header and skips the later ones, as if the first were the newest state",
    patches: [{
      file: 'columnFamilyDatabase.js',
      find: `        for (const record of records) {
            const family = byId.get(record.familyId);
            // A deleted family's records, and records its durable header already holds, are skipped.
            if (family === undefined || record.seq <= family.db.durableWalSeq)
                continue;`,
      replace: `        const replayed = new Set();
        for (const record of records) {
            const family = byId.get(record.familyId);
            // A deleted family's records, and records its durable header already holds, are skipped.
            if (family === undefined || record.seq <= family.db.durableWalSeq || replayed.has(family))
                continue;
            replayed.add(family);`,
    }],
  },
  {
    name: 'read-file-before-buffer',
    description: 'a page read goes to the file first and to the write buffer only past its end, so it races eviction and returns a stale or never-written version of a buffered page',
    patches: [{
      file: 'pager.js',
      find: `        const buffered = this.dirty.get(page);
        if (buffered !== undefined)
            return buffered;
        const offset = page * this.pageBytes;
        if (offset + this.pageBytes > this.storage.len()) {`,
      replace: `        const offset = page * this.pageBytes;
        if (offset + this.pageBytes <= this.storage.len()) {
            this.counters.pagesRead++;
            return this.io('read', () => this.storage.read(offset, this.pageBytes));
        }
        const buffered = this.dirty.get(page);
        if (buffered !== undefined)
            return buffered;
        if (offset + this.pageBytes > this.storage.len()) {`,
    }],
  },
  {
    name: 'zeroed-space-taken-as-empty',
    description: "a new family's header is never written because fresh space reads as zeros and an all-zero header is taken for an empty store (its static header never reaches the file)",
    patches: [{
      file: 'segmentedFile.js',
      find: `        initialize(new Partition(this, () => family));
        await this.sync();
`,
      replace: ``,
    }, {
      file: 'database.js',
      find: `        const header = readFileHeader(storage, { strict: true });
        assert(header !== null, 'strict header reading never asks for initialization');`,
      replace: `        const head = storage.read(0, Math.min(storage.len(), SLOT_OFFSETS[1] + 64));
        const header = head.every((byte) => byte === 0)
            ? { pageBytes: resolveOptions(options).pageBytes, slot: { txnId: 1, catalogPage: 0, catalogCrc: 0, pageCount: 1, walSeq: 0, freeListPage: 0, freeListCrc: 0, freeCount: 0 }, slotIndex: 0 }
            : readFileHeader(storage, { strict: true });`,
    }],
  },
  {
    name: 'wal-append-at-file-end',
    description: 'WAL appends are positioned at the file length (O_APPEND style) instead of after the last record, so after pre-allocation or a reset they land past a zero gap or stale records that stop the recovery scan',
    patches: [{
      file: 'wal.js',
      find: `        const bytes = encodeRecord({ seq, familyId, prevSeq, durableSeq: this.syncedSeq, durability, ops }, this.header.salt);
        try {`,
      replace: `        const bytes = encodeRecord({ seq, familyId, prevSeq, durableSeq: this.syncedSeq, durability, ops }, this.header.salt);
        this.appendOffset = Math.max(this.appendOffset, this.storage.len());
        try {`,
    }],
  },
  // Structural bugs of the tree itself (the generated structural mutants cover one token at a
  // time; these are the multi-line mistakes a B+tree implementation really makes).
  {
    name: 'redistribute-stale-separator',
    detectedBy: 'differential',
    description: "after two siblings share their entries, the parent keeps the old separator: keys moved across it are scanned but a get follows the separator to the wrong sibling and misses them",
    patches: [{
      file: 'btree.js',
      find: `    parent.size += split.key.length - separator.length;
    parent.keys[j] = split.key;
}`,
      replace: `}`,
    }],
  },
  {
    name: 'reader-snapshot-page-reuse',
    detectedBy: 'differential',
    description: 'pages freed by later commits are reused while a live read snapshot still reaches them (the reuse horizon ignores open readers)',
    patches: [{
      file: 'database.js',
      find: `        for (const txnId of this.readers.keys())
            readerHorizon = Math.min(readerHorizon, txnId);`,
      replace: ``,
    }],
  },
  {
    name: 'root-shrink-frees-child',
    detectedBy: 'differential',
    description: 'when a root branch is left with one child and hands over to it, the child page is freed instead of the old root: the new root is reused while reachable',
    patches: [{
      file: 'btree.js',
      find: `        const only = root.children[0];
        ctx.free(tree.root.page);`,
      replace: `        const only = root.children[0];
        ctx.free(only.page);`,
    }],
  },
  {
    // The engine bug of issue 11, reverted onto its fix: the old order and the old skipPast.
    name: 'skippast-after-log-reset',
    description: "recovery raises the log's next sequence above the families' headers only after its checkpoint reset the log header: after a fallback to the older header slot the reset header expects the scanned start sequence, the next acknowledged commit carries a higher one, and a plain power cut loses it",
    patches: [{
      file: 'columnFamilyDatabase.js',
      find: `        this.wal.skipPast(covered);
        await this.checkpoint({ force: true });`,
      replace: `        await this.checkpoint({ force: true });
        this.wal.skipPast(covered);`,
    }, {
      file: 'wal.js',
      find: `    skipPast(seq) {
        assert(Number.isSafeInteger(seq) && seq >= 0, 'a sequence is a non-negative integer');
        assert(this.resetPending, 'sequences are skipped only at recovery, before the log resets');
        this.floorSeq = Math.max(this.floorSeq, seq);
    }`,
      replace: `    skipPast(seq) {
        if (seq < this.nextSeq)
            return;
        assert(this.live.length === 0 && this.waiters.length === 0, 'sequences are skipped only in an empty, idle log');
        this.nextSeq = seq + 1;
        this.writtenSeq = seq;
        this.syncedSeq = seq;
    }`,
    }],
  },
];
