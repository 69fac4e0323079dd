// Focus: deterministic sharding arithmetic (parseShard, shardRun, shardFromEnv): runs add up, seeds are distinct and stable.
import test from 'ava';
import { deriveSeed, formatShard, parseShard, shardFromEnv, shardRun } from '../../properties/shard.js';

test('parseShard accepts I/N with 1-based I and rejects everything else with a TypeError', (t) => {
  t.deepEqual(parseShard('2/4'), { index: 2, total: 4 });
  t.deepEqual(parseShard(' 1 / 1 '), { index: 1, total: 1 });
  t.deepEqual(parseShard('1024/1024'), { index: 1024, total: 1024 });
  for (const bad of ['0/4', '5/4', '1/0', '1/1025', '2', '2/4/8', 'a/b', '-1/4', '1.5/4', '']) {
    const error = t.throws(() => parseShard(bad), { instanceOf: TypeError }, bad);
    t.regex(error.message, /shard/);
  }
  t.is(formatShard(parseShard('3/8')), '3/8');
});

test('shardRun: the shards cover the runs exactly, each under its own fixed seed', (t) => {
  for (const total of [1, 2, 3, 4, 7, 16, 1024]) {
    for (const runs of [0, 1, 5, 100, 1001]) {
      const parts = Array.from({ length: total }, (_, i) => shardRun(42, runs, { index: i + 1, total }));
      t.is(parts.reduce((sum, part) => sum + part.runs, 0), runs, `${runs} runs over ${total}`);
      const sizes = parts.map((part) => part.runs);
      t.true(Math.max(...sizes) - Math.min(...sizes) <= 1, 'balanced');
      if (total > 1) t.is(new Set(parts.map((part) => part.seed)).size, total, 'distinct seeds');
      for (const part of parts) t.true(Number.isSafeInteger(part.seed) && part.seed >= 0 && part.seed < 2 ** 32);
    }
  }
  t.deepEqual(shardRun(42, 100, { index: 1, total: 1 }), { seed: 42, runs: 100 }, 'shard 1/1 is the whole campaign');
  t.deepEqual(shardRun(42, 100, { index: 2, total: 4 }), shardRun(42, 100, { index: 2, total: 4 }));
  // Fixed values: a change here changes which cases every CI shard runs.
  t.is(shardRun(42, 10, { index: 2, total: 4 }).seed, deriveSeed(42, 2));
  t.is(deriveSeed(42, 2), deriveSeed(42, 2));
  t.not(deriveSeed(42, 2), deriveSeed(43, 2));
  t.not(shardRun(1, 10, { index: 1, total: 2 }).seed, shardRun(1, 10, { index: 2, total: 2 }).seed);
  t.throws(() => shardRun(-1, 10, { index: 1, total: 2 }), { instanceOf: TypeError });
  t.throws(() => shardRun(1, -1, { index: 1, total: 2 }), { instanceOf: TypeError });
  t.throws(() => shardRun(1, 10, { index: 3, total: 2 }), { instanceOf: TypeError });
});

test('deriveSeed is a fixed integer hash (same numbers on every machine)', (t) => {
  t.deepEqual([deriveSeed(0, 0), deriveSeed(0, 1), deriveSeed(42, 2), deriveSeed(2 ** 32 - 1, 1024)], [1638570237, 4293539599, 4281016721, 745583600]);
  const seeds = new Set(Array.from({ length: 1024 }, (_, i) => deriveSeed(7, i + 1)));
  t.is(seeds.size, 1024);
});

test('shardFromEnv reads 0-based CI_NODE_INDEX and CI_NODE_TOTAL', (t) => {
  t.is(shardFromEnv({}), null);
  t.is(shardFromEnv({ CI_NODE_INDEX: '', CI_NODE_TOTAL: '' }), null);
  t.deepEqual(shardFromEnv({ CI_NODE_INDEX: '0', CI_NODE_TOTAL: '4' }), { index: 1, total: 4 });
  t.deepEqual(shardFromEnv({ CI_NODE_INDEX: '3', CI_NODE_TOTAL: '4' }), { index: 4, total: 4 });
  t.throws(() => shardFromEnv({ CI_NODE_INDEX: '4', CI_NODE_TOTAL: '4' }), { instanceOf: TypeError });
  t.throws(() => shardFromEnv({ CI_NODE_INDEX: '1' }), { instanceOf: TypeError, message: /together/ });
  t.throws(() => shardFromEnv({ CI_NODE_INDEX: 'x', CI_NODE_TOTAL: '4' }), { instanceOf: TypeError });
});
