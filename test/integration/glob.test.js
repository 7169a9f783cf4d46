'use strict';

// The embedded store matches cache.invalidateKeys() patterns as Redis's SCAN MATCH does: checked
// against a real redis-server, pattern by pattern, on keys with multi-byte UTF-8 characters, and
// through the public API (the same keys survive an invalidation in embedded and in Redis mode).
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches } = require('../helpers/cache');
const { globMatcher } = require('../../lib/stores/glob');

let redis;
let client;
const servers = [];

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
});

afterEach(async () => {
  await closeCaches();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await redis.close();
});

const KEYS = ['a', 'b', 'ab', 'ba', 'abc', 'a-b', 'a^b', 'a]b', 'a[b', 'a\\b', 'a*b', 'a?b', '^',
  ']', '-', 'é', 'aé', 'éa', 'ÿ', 'aÿb', '€', 'a€', 'user:0', 'user:1', 'user:10', 'user:01',
  'user:a', 'zz', 'z', 'aaaa', 'abab', 'x\u0001y'];

/** The keys Redis's KEYS returns for `pattern` over the test keys (one db per call). */
async function redisMatches(pattern) {
  const found = await client.keys(pattern);
  return found.sort();
}

/** A pseudo-random generator with a fixed seed, so a failure names a pattern that reproduces. */
function generator(seed) {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

describe('globMatcher (Redis SCAN MATCH rules, byte for byte)', () => {
  beforeAll(async () => {
    await client.flushall();
    await client.mset(...KEYS.flatMap((k) => [k, '1']));
  });

  it.each([
    ['a[^b]c', 'negated class'], ['a[^]b', 'negated class of "]"...'], ['[z-a]*', 'reversed range'],
    ['a[\\]]b', 'escaped "]" inside a class'], ['a[b', 'unclosed class'], ['a[', 'unclosed class at the end'],
    ['?', 'one byte, not one character'], ['??', 'a two-byte character'], ['a?', 'a and one byte'],
    ['[a-\u00ff]*', 'a range ending on a byte above 127 (signed char)'], ['*\\', 'trailing backslash'],
    ['a\\*b', 'escaped star'], ['user:[^0]*', 'the README example of a negated class'],
    ['user:[0-1]', 'a range'], ['[-a]*', 'a leading dash'], ['[a-]*', 'a trailing dash'],
    ['*a*b*', 'several stars'], ['a**', 'consecutive stars'], ['[^a-z]*', 'a negated range'],
    ['x[\u0001]y', 'a control byte'], ['\\', 'a lone backslash'], ['[]a]*', 'an empty class then a'],
  ])('%j (%s): the keys Redis returns', async (pattern) => {
    const matches = globMatcher(pattern);
    expect(KEYS.filter((k) => matches(k)).sort()).toEqual(await redisMatches(pattern));
  });

  it('gives up past 1000 nested stars, as Redis does (no match, no stack overflow)', async () => {
    const key = 'a'.repeat(1200);
    await client.set(key, '1');
    try {
      for (const stars of [1000, 1001]) {
        const pattern = '*a'.repeat(stars);
        expect(globMatcher(pattern)(key)).toBe((await client.keys(pattern)).includes(key));
      }
      expect(globMatcher('*a'.repeat(1000))(key)).toBe(true);
      expect(globMatcher('*a'.repeat(1001))(key)).toBe(false);
    } finally {
      await client.del(key);
    }
  });

  it('agrees with Redis on 400 generated patterns', async () => {
    const random = generator(20261201);
    const alphabet = ['a', 'b', '*', '?', '[', ']', '^', '-', '\\', 'é', 'ÿ', 'z', ':', '0'];
    const disagreements = [];
    for (let n = 0; n < 400; n++) {
      const length = 1 + Math.floor(random() * 6);
      let pattern = '';
      for (let i = 0; i < length; i++) pattern += alphabet[Math.floor(random() * alphabet.length)];
      const matches = globMatcher(pattern);
      const mine = KEYS.filter((k) => matches(k)).sort();
      const theirs = await redisMatches(pattern);
      if (JSON.stringify(mine) !== JSON.stringify(theirs)) disagreements.push({ pattern, mine, theirs });
    }
    expect(disagreements).toEqual([]);
  });
});

describe('cache.invalidateKeys(pattern) in embedded and in Redis mode', () => {
  /** Fills entries under the given keys and returns the keys still cached after the pattern. */
  async function survivors(options, pattern) {
    const { cache } = await openCache(options);
    const app = express();
    app.get('/k/:n', cache.middleware({ keyBuilder: (req) => KEYS[Number(req.params.n)] }), (req, res) => res.send('x'));
    const http = await serve(app);
    servers.push(http);
    const xCache = async (n) => (await fetch(`${http.url}/k/${n}`)).headers.get('x-cache');
    for (let n = 0; n < KEYS.length; n++) expect(await xCache(n)).toBe('MISS');
    const removed = await cache.invalidateKeys(pattern);
    const left = [];
    for (let n = 0; n < KEYS.length; n++) if (await xCache(n) === 'HIT') left.push(KEYS[n]);
    return { removed, left };
  }

  it.each(['user:[^0]*', '[^a]*', 'a?b', '??', '[z-a]*'])('%j removes the same entries', async (pattern) => {
    const saved = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
    let embedded;
    try {
      embedded = await survivors({}, pattern);
    } finally {
      if (saved !== undefined) process.env.REDIS_URL = saved;
    }
    await client.flushall();
    const viaRedis = await survivors({ redis: redis.url, commandTimeout: 2000 }, pattern);
    expect(embedded).toEqual(viaRedis);
    expect(viaRedis.removed).toBeGreaterThan(0);
    expect(viaRedis.left.length).toBeGreaterThan(0);
  });
});
