// fault/traceCrash.ts + fault/fsModels.ts: crash images of syscall sequences under the posix and ext4 models, rule by documented rule, then determinism and random traces.
import test from 'ava';
import fc from 'fast-check';
import {
  crashImage, FS_MODELS, imageFor, pendingAt, TraceCrashModel, type FsModelName, type TraceCrashPlan,
} from '../../fault/traceCrash.js';
import { replayAll, TraceError, TraceFs, type DirImage, type TraceEvent } from '../../fault/trace.js';

const SEEDS = Array.from({ length: 48 }, (_, i) => i * 7919 + 1);
const SURVIVALS = ['none', 'all', 'prefix', 'subset'] as const;

function plan(overrides: Partial<TraceCrashPlan> = {}): TraceCrashPlan {
  return { survival: 'none', tear: false, sectorBytes: 512, atomicSector: true, seed: 1, ...overrides };
}

/** Every plan shape, each over several seeds. */
function allPlans(seeds: readonly number[] = SEEDS.slice(0, 12)): TraceCrashPlan[] {
  const plans: TraceCrashPlan[] = [];
  for (const survival of SURVIVALS) {
    for (const tear of [false, true]) {
      for (const sectorBytes of [512, 4096] as const) {
        for (const atomicSector of [true, false]) {
          for (const seed of seeds) plans.push({ survival, tear, sectorBytes, atomicSector, seed });
        }
      }
    }
  }
  return plans;
}

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const create = (path: string, ino: number): TraceEvent => ({ kind: 'create', path, ino });
const mkdir = (path: string, ino: number): TraceEvent => ({ kind: 'mkdir', path, ino });
const write = (ino: number, offsetBytes: number, text: string): TraceEvent => ({ kind: 'write', ino, offsetBytes, data: bytes(text) });
const writeBytes = (ino: number, offsetBytes: number, data: Uint8Array): TraceEvent => ({ kind: 'write', ino, offsetBytes, data });
const fsync = (ino: number, dataOnly = false): TraceEvent => ({ kind: 'fsync', ino, dataOnly });
const rename = (from: string, to: string): TraceEvent => ({ kind: 'rename', from, to });
const truncate = (ino: number, sizeBytes: number): TraceEvent => ({ kind: 'truncate', ino, sizeBytes });

function textOf(image: DirImage, path: string): string | undefined {
  const data = image.files.get(path);
  return data === undefined ? undefined : new TextDecoder().decode(data);
}

function imageAtEnd(events: readonly TraceEvent[], model: FsModelName, crashPlan: TraceCrashPlan): DirImage {
  return crashImage(events, events.length, model, crashPlan).image;
}

/** An image as one comparable string. */
function keyOf(image: DirImage): string {
  const files = [...image.files].map(([path, data]) => `${path}=${Buffer.from(data).toString('hex')}`);
  return `${files.join(';')}|${[...image.dirs].join(';')}`;
}

/** db holding 'old', durable under both models (its data and its name synced). */
const durableDb: TraceEvent[] = [create('db', 1), write(1, 0, 'old'), fsync(1), fsync(0)];

test('(a) posix: an fsynced file whose directory was not fsynced may lose its name; plan all keeps it', (t) => {
  const events = [create('f', 1), write(1, 0, 'hello'), fsync(1)];
  t.is(textOf(imageAtEnd(events, 'posix', plan({ survival: 'none' })), 'f'), undefined);
  t.is(textOf(imageAtEnd(events, 'posix', plan({ survival: 'all' })), 'f'), 'hello');
  for (const crashPlan of allPlans()) {
    const content = textOf(imageAtEnd(events, 'posix', crashPlan), 'f');
    t.true(content === undefined || content === 'hello', `the name, when it survives, holds the synced data (${JSON.stringify(crashPlan)})`);
  }
});

test('(a) ext4: a file fsync commits the journal, so its create is durable with its data', (t) => {
  const events = [create('f', 1), write(1, 0, 'hello'), fsync(1)];
  for (const crashPlan of allPlans()) t.is(textOf(imageAtEnd(events, 'ext4', crashPlan), 'f'), 'hello');
});

test('(b) posix: rename over an existing file without fsyncs: db is never missing, holds old, new or nothing', (t) => {
  const events = [...durableDb, create('tmp', 2), write(2, 0, 'new'), rename('tmp', 'db')];
  const seen = new Set<string>();
  for (const crashPlan of allPlans(SEEDS)) {
    const content = textOf(imageAtEnd(events, 'posix', crashPlan), 'db');
    t.not(content, undefined, 'rename is atomic: db names the old or the new inode');
    if (!crashPlan.tear) t.true(['old', 'new', ''].includes(content!), `db holds ${JSON.stringify(content)}`);
    seen.add(content!);
  }
  t.true(seen.has('old') && seen.has('new'));
  t.true(seen.has(''), 'the rename may survive without the data: db empty');
});

test('(b) ext4: auto_da_alloc makes a rename over an existing file give old or new content, never empty', (t) => {
  const events = [...durableDb, create('tmp', 2), write(2, 0, 'new'), rename('tmp', 'db')];
  const seen = new Set<string>();
  for (const crashPlan of allPlans(SEEDS)) {
    const image = imageAtEnd(events, 'ext4', crashPlan);
    const content = textOf(image, 'db');
    t.true(content === 'old' || content === 'new', `db holds ${JSON.stringify(content)} under ${JSON.stringify(crashPlan)}`);
    if (content === 'new') t.false(image.files.has('tmp'));
    seen.add(content!);
  }
  t.deepEqual([...seen].sort(), ['new', 'old']);
});

test('(b) ext4: replace-via-truncate forces the rewrite out with the next commit, but the truncate may commit alone', (t) => {
  const events = [...durableDb, truncate(1, 0), write(1, 0, 'new')];
  const seen = new Set<string>();
  for (const crashPlan of allPlans()) seen.add(textOf(imageAtEnd(events, 'ext4', crashPlan), 'db')!);
  t.deepEqual([...seen].sort(), ['', 'new', 'old']);
});

test('(c) ext4: a new file written but not fsynced, then an unrelated fsync: the name is durable, the data may be zero-length', (t) => {
  const events = [create('f', 1), write(1, 0, 'data'), create('g', 2), write(2, 0, 'g'), fsync(2)];
  const none = imageAtEnd(events, 'ext4', plan({ survival: 'none' }));
  t.is(textOf(none, 'f'), '', 'the classic zero-length file after a crash');
  t.is(textOf(none, 'g'), 'g');
  for (const crashPlan of allPlans()) {
    const content = textOf(imageAtEnd(events, 'ext4', crashPlan), 'f');
    t.true(content === '' || content === 'data', `f holds ${JSON.stringify(content)}`);
  }
  t.is(textOf(imageAtEnd(events, 'posix', plan({ survival: 'none' })), 'f'), undefined, 'posix: the name itself is not durable');
});

test('(d) the correct pattern (write tmp, fsync tmp, rename, fsync dir) gives the new content under every plan and model', (t) => {
  const events = [...durableDb, create('tmp', 2), write(2, 0, 'new'), fsync(2), rename('tmp', 'db'), fsync(0)];
  for (const model of FS_MODELS) {
    for (const crashPlan of allPlans()) {
      const image = imageAtEnd(events, model, crashPlan);
      t.is(textOf(image, 'db'), 'new');
      t.false(image.files.has('tmp'));
    }
  }
});

test('(e) an append without fsync: none loses it, prefix and subset may keep it, tear may cut it at a sector', (t) => {
  const events = [create('f', 1), writeBytes(1, 0, new Uint8Array(1000).fill(65)), fsync(1), fsync(0), writeBytes(1, 1000, new Uint8Array(1000).fill(66))];
  const full = replayAll(events).files.get('f')!;
  for (const model of FS_MODELS) {
    t.is(imageAtEnd(events, model, plan({ survival: 'none' })).files.get('f')!.length, 1000);
    for (const survival of ['prefix', 'subset'] as const) {
      const lengths = new Set(SEEDS.map((seed) => imageAtEnd(events, model, plan({ survival, seed })).files.get('f')!.length));
      t.deepEqual([...lengths].sort(), [1000, 2000], `${model} ${survival}`);
    }
    const torn = SEEDS.map((seed) => imageAtEnd(events, model, plan({ survival: 'subset', tear: true, seed })).files.get('f')!);
    const cut = torn.filter((data) => data.length !== 1000 && data.length !== 2000);
    t.true(cut.length > 0, `${model}: some image holds a torn append`);
    if (model === 'ext4') {
      for (const data of cut) {
        t.true(data.length === 1024 || data.length === 1536, 'ext4 tears delayed writes at sector boundaries only');
        t.deepEqual(data, full.subarray(0, data.length), 'data=ordered: the size never exposes bytes not written');
      }
    }
  }
});

test('(e) several appends without fsync: prefix keeps a prefix of them in order', (t) => {
  const appends = [0, 1, 2].map((i) => writeBytes(1, 600 * (i + 1), new Uint8Array(600).fill(67 + i)));
  const events = [create('f', 1), writeBytes(1, 0, new Uint8Array(600).fill(66)), fsync(1), fsync(0), ...appends];
  for (const model of FS_MODELS) {
    const lengths = new Set(SEEDS.map((seed) => imageAtEnd(events, model, plan({ survival: 'prefix', seed })).files.get('f')!.length));
    t.deepEqual([...lengths].sort((a, b) => a - b), [600, 1200, 1800, 2400], model);
  }
});

test('(f) the same seed gives the same image byte for byte; different seeds differ', (t) => {
  const events = [...durableDb, create('a', 2), writeBytes(2, 0, new Uint8Array(3000).fill(7)), create('b', 3), write(3, 0, 'bbb'), rename('a', 'c'), write(1, 0, 'OLD')];
  for (const model of FS_MODELS) {
    for (const crashPlan of allPlans()) {
      const first = crashImage(events, events.length, model, crashPlan);
      const second = crashImage(events, events.length, model, crashPlan);
      t.is(keyOf(first.image), keyOf(second.image));
      t.deepEqual(first.decisions, second.decisions);
    }
    const distinct = new Set(SEEDS.map((seed) => keyOf(imageAtEnd(events, model, plan({ survival: 'subset', tear: true, atomicSector: false, seed })))));
    t.true(distinct.size > 3, `${model}: ${distinct.size} distinct images over ${SEEDS.length} seeds`);
  }
});

test('(g) at the end of the trace, survival all equals replayAll; none after syncing everything equals it too', (t) => {
  const events = [mkdir('d', 1), create('d/x', 2), write(2, 0, 'x'), create('y', 3), write(3, 0, 'y'), rename('y', 'd/z'), truncate(2, 0), write(2, 5, 'tail')];
  const expected = keyOf(replayAll(events));
  const synced = [...events, fsync(2), fsync(3), fsync(1), fsync(0)];
  for (const model of FS_MODELS) {
    for (const crashPlan of allPlans(SEEDS.slice(0, 3))) {
      if (crashPlan.survival === 'all') t.is(keyOf(imageAtEnd(events, model, crashPlan)), expected);
      t.is(keyOf(imageAtEnd(synced, model, crashPlan)), expected);
    }
  }
});

test('posix: a rename is durable only once the directories of both sides are fsynced', (t) => {
  const setup = [mkdir('d', 1), fsync(0), create('d/x', 2), write(2, 0, 'x'), fsync(2), fsync(1)];
  const half = [...setup, rename('d/x', 'y'), fsync(0)];
  const none = imageAtEnd(half, 'posix', plan({ survival: 'none' }));
  t.is(textOf(none, 'd/x'), 'x');
  t.false(none.files.has('y'));
  const both = imageAtEnd([...half, fsync(1)], 'posix', plan({ survival: 'none' }));
  t.is(textOf(both, 'y'), 'x');
  t.false(both.files.has('d/x'));
});

test('posix: ops inside a lost mkdir are lost with it; ext4 keeps metadata a prefix', (t) => {
  const events = [mkdir('d', 1), create('d/x', 2), fsync(1), create('a', 3), create('b', 4)];
  for (const crashPlan of allPlans(SEEDS)) {
    const posix = crashImage(events, events.length, 'posix', crashPlan);
    // d/x's entry is durable in d, but d itself is unnamed unless its mkdir survived.
    if (!posix.image.dirs.has('d')) t.false(posix.image.files.has('d/x'));
    const ext4 = imageAtEnd(events, 'ext4', crashPlan);
    t.true(ext4.files.has('d/x'), 'the fsync of d committed everything before it');
    if (ext4.files.has('b')) t.true(ext4.files.has('a'), 'the journal commits in order');
  }
  const posixImages = allPlans(SEEDS).map((crashPlan) => imageAtEnd(events, 'posix', crashPlan));
  t.true(posixImages.some((image) => image.files.has('b') && !image.files.has('a')), 'posix orders nothing');
});

test('decisions name every pending op once, with a reason', (t) => {
  const events = [...durableDb, create('tmp', 2), write(2, 0, 'new'), rename('tmp', 'db')];
  for (const model of FS_MODELS) {
    const { decisions } = crashImage(events, events.length, model, plan({ survival: 'subset', seed: 5 }));
    t.deepEqual(decisions.map((decision) => decision.index), [4, 5, 6]);
    for (const decision of decisions) t.true(decision.reason.length > 0);
  }
  const lostCreate = SEEDS.map((seed) => crashImage(events, events.length, 'posix', plan({ survival: 'subset', seed })).decisions)
    .find((decisions) => decisions[0]!.fate === 'dropped' && decisions[2]!.fate === 'dropped' && decisions[2]!.reason.includes('lost operation'));
  t.not(lostCreate, undefined, 'a rename kept by its coin whose source create was lost is reported as dropped by dependency');
});

test('pendingAt + imageFor and the incremental model agree with crashImage at every crash point', (t) => {
  const events = [...durableDb, create('tmp', 2), write(2, 0, 'new'), fsync(2), rename('tmp', 'db'), create('c', 3), write(3, 0, 'c'), fsync(0)];
  for (const model of FS_MODELS) {
    const incremental = new TraceCrashModel(model);
    for (let crashAt = 0; crashAt <= events.length; crashAt += 1) {
      const point = pendingAt(events, crashAt, model);
      for (const crashPlan of allPlans(SEEDS.slice(0, 2))) {
        const expected = keyOf(crashImage(events, crashAt, model, crashPlan).image);
        t.is(keyOf(imageFor(point, crashPlan).image), expected);
        t.is(keyOf(incremental.image(crashPlan).image), expected);
      }
      if (crashAt < events.length) incremental.apply(events[crashAt]!);
    }
  }
});

test('an image is not changed by later events or later images (bytes shared copy on write)', (t) => {
  const model = new TraceCrashModel('posix');
  for (const event of [create('f', 1), write(1, 0, 'aaaa'), fsync(1), fsync(0)]) model.apply(event);
  const before = model.image(plan()).image;
  model.apply(write(1, 0, 'bb'));
  model.apply(fsync(1));
  t.is(textOf(before, 'f'), 'aaaa');
  t.is(textOf(model.image(plan()).image, 'f'), 'bbaa');
});

test('bad traces and plans are refused with typed errors', (t) => {
  t.throws(() => crashImage([write(9, 0, 'x')], 1, 'posix', plan()), { instanceOf: TraceError });
  t.throws(() => crashImage([rename('a', 'b')], 1, 'ext4', plan()), { instanceOf: TraceError });
  t.throws(() => crashImage([create('a/b', 1)], 1, 'posix', plan()), { instanceOf: TraceError });
  t.throws(() => crashImage([create('a', 1), create('a', 2)], 2, 'posix', plan()), { instanceOf: TraceError });
  t.throws(() => crashImage([], 1, 'posix', plan()), { instanceOf: RangeError });
  t.throws(() => crashImage([], 0, 'zfs' as FsModelName, plan()), { instanceOf: TypeError });
  t.throws(() => crashImage([], 0, 'posix', plan({ sectorBytes: 1024 as 512 })), { instanceOf: TypeError });
});

/** Random valid traces over three names in the root and one directory: creates, writes, renames, unlinks, syncs. */
const traceArbitrary = fc.array(fc.tuple(fc.nat(6), fc.nat(2), fc.nat(2), fc.nat(1200), fc.integer({ min: 1, max: 700 })), { maxLength: 30 })
  .map((steps) => {
    const names = ['a', 'b', 'd/c'];
    const live = new Map<string, number>();
    const events: TraceEvent[] = [mkdir('d', 1)];
    let nextIno = 2;
    for (const [action, first, second, offsetBytes, lengthBytes] of steps) {
      const name = names[first]!;
      const other = names[second]!;
      const ino = live.get(name);
      if (action === 0 && ino === undefined) {
        events.push(create(name, nextIno));
        live.set(name, nextIno);
        nextIno += 1;
      } else if (action === 1 && ino !== undefined) {
        events.push(writeBytes(ino, offsetBytes, new Uint8Array(lengthBytes).fill(events.length & 0xff)));
      } else if (action === 2 && ino !== undefined && name !== other) {
        events.push(rename(name, other));
        live.delete(name);
        live.set(other, ino);
      } else if (action === 3 && ino !== undefined) {
        events.push({ kind: 'unlink', path: name });
        live.delete(name);
      } else if (action === 4 && ino !== undefined) {
        events.push(fsync(ino, second === 0));
      } else if (action === 5) {
        events.push(fsync(second === 0 ? 1 : 0));
      } else if (action === 6 && ino !== undefined) {
        events.push(truncate(ino, offsetBytes % 300));
      }
    }
    return { events, liveInodes: [...live.values()] };
  });

test('(h) random traces: none is the same across seeds; after syncing everything all plans agree with replayAll', (t) => {
  fc.assert(fc.property(traceArbitrary, fc.nat(40), fc.constantFrom(...FS_MODELS), ({ events, liveInodes }, cut, model) => {
    const crashAt = Math.min(cut, events.length);
    const none = new Set(SEEDS.slice(0, 6).map((seed) => keyOf(crashImage(events, crashAt, model, plan({ survival: 'none', seed })).image)));
    if (none.size !== 1) return false;
    const synced = [...events, ...liveInodes.map((ino) => fsync(ino)), fsync(1), fsync(0)];
    const expected = keyOf(replayAll(synced));
    const point = pendingAt(synced, synced.length, model);
    return allPlans(SEEDS.slice(0, 2)).every((crashPlan) => keyOf(imageFor(point, crashPlan).image) === expected);
  }), { numRuns: 150, seed: 42 });
  t.pass();
});

test('(h) random traces: every image holds only names and bytes some prefix of ops could give, and decisions cover the pending ops', (t) => {
  fc.assert(fc.property(traceArbitrary, fc.nat(40), fc.constantFrom(...FS_MODELS), fc.constantFrom(...SURVIVALS), fc.integer(), ({ events }, cut, model, survival, seed) => {
    const crashAt = Math.min(cut, events.length);
    const { image, decisions } = crashImage(events, crashAt, model, plan({ survival, tear: true, seed }));
    const everName = new Set(events.flatMap((event) => (event.kind === 'create' ? [event.path] : event.kind === 'rename' ? [event.to] : [])));
    const sizes = events.flatMap((event) => (event.kind === 'write' ? [event.offsetBytes + event.data.length] : event.kind === 'truncate' ? [event.sizeBytes] : []));
    const maxSize = Math.max(0, ...sizes);
    return [...image.files].every(([path, data]) => everName.has(path) && data.length <= maxSize)
      && decisions.every((decision) => decision.index < crashAt)
      && new Set(decisions.map((decision) => decision.index)).size === decisions.length;
  }), { numRuns: 200, seed: 7 });
  t.pass();
});

/** An independent oracle: trace.ts's strict TraceFs replaying every event but the dropped ones, skipping what cannot apply. */
function replayKept(events: readonly TraceEvent[], crashAt: number, dropped: ReadonlySet<number>): DirImage {
  const fs = new TraceFs();
  for (const [index, event] of events.slice(0, crashAt).entries()) {
    if (dropped.has(index)) continue;
    try {
      fs.apply(event);
    } catch (error) {
      if (!(error instanceof TraceError)) throw error;
    }
  }
  return fs.image();
}

test('(h) random traces: an untorn image is exactly the trace replayed without the ops its decisions drop', (t) => {
  fc.assert(fc.property(traceArbitrary, fc.nat(40), fc.constantFrom(...FS_MODELS), fc.constantFrom(...SURVIVALS), fc.integer(), ({ events }, cut, model, survival, seed) => {
    const crashAt = Math.min(cut, events.length);
    const { image, decisions } = crashImage(events, crashAt, model, plan({ survival, seed }));
    const dropped = new Set(decisions.filter((decision) => decision.fate === 'dropped').map((decision) => decision.index));
    return keyOf(image) === keyOf(replayKept(events, crashAt, dropped));
  }), { numRuns: 300, seed: 11 });
  t.pass();
});

test('posix: an append-only log fsynced after each append, its directory never: the name may be lost, never the synced appends', (t) => {
  const events: TraceEvent[] = [create('log', 1)];
  for (let i = 0; i < 20; i += 1) events.push(writeBytes(1, i * 10, new Uint8Array(10).fill(i)), fsync(1, true));
  events.push(writeBytes(1, 200, new Uint8Array(10).fill(99)));
  const synced = replayAll(events.slice(0, -1)).files.get('log')!;
  t.false(imageAtEnd(events, 'posix', plan({ survival: 'none' })).files.has('log'));
  for (const crashPlan of allPlans(SEEDS)) {
    const log = imageAtEnd(events, 'posix', crashPlan).files.get('log');
    if (log !== undefined) t.deepEqual(log.subarray(0, 200), synced, 'every fsynced append is there when the name is');
  }
});

test('a store replacing its file 60 times with the correct fsyncs: every crash point gives a committed version, all gives the prefix replayed', (t) => {
  const events: TraceEvent[] = [];
  const versions = [''];
  for (let txn = 0; txn < 60; txn += 1) {
    const ino = txn + 1;
    const content = `version ${txn} `.repeat(1 + (txn % 7));
    events.push(create('db.tmp', ino), write(ino, 0, content), fsync(ino), rename('db.tmp', 'db'), fsync(0));
    versions.push(content);
  }
  for (const model of FS_MODELS) {
    const crashModel = new TraceCrashModel(model);
    for (let crashAt = 0; crashAt <= events.length; crashAt += 1) {
      t.is(keyOf(crashModel.image(plan({ survival: 'all' })).image), keyOf(replayAll(events.slice(0, crashAt))));
      const committed = versions[Math.floor(crashAt / 5)]!;
      for (const seed of SEEDS.slice(0, 4)) {
        const db = textOf(crashModel.image(plan({ survival: 'subset', tear: true, seed })).image, 'db') ?? '';
        t.true(db === committed || versions.indexOf(db) === Math.floor(crashAt / 5) + 1, `${model} at ${crashAt}: db holds ${JSON.stringify(db.slice(0, 20))}`);
      }
      if (crashAt < events.length) crashModel.apply(events[crashAt]!);
    }
  }
});

test('ext4: fdatasync of a pure overwrite commits nothing else; one that grows the file commits the journal', (t) => {
  const setup = [create('f', 1), write(1, 0, 'aaaa'), fsync(1), create('g', 2)];
  const overwrite = imageAtEnd([...setup, write(1, 0, 'bb'), fsync(1, true)], 'ext4', plan({ survival: 'none' }));
  t.is(textOf(overwrite, 'f'), 'bbaa');
  t.false(overwrite.files.has('g'), 'the running transaction (create g) was not committed');
  t.true(imageAtEnd([...setup, write(1, 0, 'bb'), fsync(1)], 'ext4', plan({ survival: 'none' })).files.has('g'), 'fsync commits');
  const grown = imageAtEnd([...setup, write(1, 4, 'cc'), fsync(1, true)], 'ext4', plan({ survival: 'none' }));
  t.is(textOf(grown, 'f'), 'aaaacc');
  t.true(grown.files.has('g'), 'a size change makes fdatasync commit, and the commit carries every earlier op');
});

test('posix: a durable entry inside a lost mkdir is reported as dropped by dependency', (t) => {
  const events = [mkdir('d', 1), create('d/x', 2), fsync(1)];
  const { image, decisions } = crashImage(events, events.length, 'posix', plan({ survival: 'none' }));
  t.deepEqual([...image.dirs], []);
  t.deepEqual(decisions.map((decision) => [decision.index, decision.fate, decision.reason]), [
    [0, 'dropped', 'not durable (plan none)'],
    [1, 'dropped', 'durable, but depends on a lost operation'],
  ]);
});
