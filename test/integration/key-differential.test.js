'use strict';

// Differential test of the built-in key against Express itself: generated request targets (random
// escapes, "#", "?", "+", "/", "&", "=", backslashes, raw bytes above 0x7f) go byte for byte to
// Express 4 and 5 apps, and no two that share a key may have been routed differently (handler,
// req.path, req.baseUrl, req.query), while keys stay equal exactly when the documented rule says so.
// The generator is seeded: RESPCACHE_DIFF_SEED and RESPCACHE_DIFF_COUNT replay or widen a run.
const express5 = require('express');
const express4 = require('express4');
const { startRedis } = require('../helpers/redis');
const { openCache, closeCaches } = require('../helpers/cache');
const { probeApp, checkObservations } = require('../helpers/key-probe');

const SEED = Number(process.env.RESPCACHE_DIFF_SEED || 20261201);
const COUNT = Number(process.env.RESPCACHE_DIFF_COUNT || 600);

// Tokens chosen so that many targets collide under some normalisation: letters and their escapes
// in both cases, reserved characters and theirs, dot segments, empty segments, the fallback
// parser's triggers, invalid escapes and bytes that are not UTF-8.
const TOKENS = ['a', 'b', 'api', 'A', '%41', '%61', '%69', '%49', '/', '//', '.', '..', '%2E', '%2e', '%2F', '%2f',
  '+', '%20', '%2B', '%', '%zz', '%4', '%E9', '%e9', '\xe9', '\xc3\xa9', '%C3%A9', '~', '%7E', '\\', '{', '%7B',
  '#', '?', '&', '=', '%23', '%26', '%3D', '%3F', '%25', ';', ',', '@', ':', '[', ']', '%5B', '%5D', 'x', '/x'];

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function generator(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6D2B79F5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function targets(seed, count) {
  const random = generator(seed);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const out = [];
  for (let i = 0; i < count; i++) {
    let t = pick(['/m/', '/m/', '/m/a/', '/m/api', '/m']);
    const n = 1 + Math.floor(random() * 6);
    for (let j = 0; j < n; j++) t += pick(TOKENS);
    out.push(t);
  }
  // Every target twice in a row, once with its tokens' escapes written in the other case: the
  // generator alone rarely draws exact duplicates, and duplicates must share a key.
  return out.flatMap((t) => [t, t.replace(/%[0-9a-fA-F]{2}/g, (e) => (e === e.toUpperCase() ? e.toLowerCase() : e.toUpperCase()))]);
}

let redis;
let cache;

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache({ redis: redis.url, commandTimeout: 2000 }));
});

afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});

describe.each([
  ['Express 4', 'route', express4],
  ['Express 4', 'router', express4],
  ['Express 5', 'route', express5],
  ['Express 5', 'router', express5],
])('%s with the cache on each %s', (version, level, express) => {
  it(`never gives two differently routed requests one key (seed ${SEED})`, async () => {
    const probe = await probeApp(express, level, cache);
    try {
      const list = targets(SEED, COUNT);
      const observations = [];
      // A few requests in flight at once: each is its own connection.
      for (let i = 0; i < list.length; i += 8) {
        const batch = await Promise.all(list.slice(i, i + 8).map((t) => probe.observe(t)));
        for (const o of batch) if (o.key !== undefined) observations.push(o);
      }
      const { pairs, violations } = checkObservations(observations);
      expect(violations).toEqual([]);
      // Not vacuous: most targets were keyed, and a good number of distinct targets share keys.
      expect(observations.length).toBeGreaterThan(list.length / 2);
      const keys = new Set(observations.map((o) => o.key));
      const distinct = new Set(observations.map((o) => o.target));
      expect(keys.size).toBeLessThan(distinct.size);
      if (process.env.RESPCACHE_MATRIX_REPORT) {
        process.stdout.write(`${version} ${level}: ${list.length} generated, ${observations.length} keyed, ${distinct.size} distinct targets, ${keys.size} keys, ${pairs} pairs\n`);
      }
    } finally {
      await probe.http.close();
    }
  });
});
