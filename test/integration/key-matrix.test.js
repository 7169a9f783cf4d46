'use strict';

// The key-integrity matrix: request targets that differ by one of the ways a URL can be written
// (escapes of unreserved and reserved characters, %2F, case, trailing slash, dot segments, "//",
// fragments, "+" vs "%20", repeated and empty parameters, invalid escapes, non-UTF-8 bytes,
// over-long targets), sent byte for byte to Express 4 and 5 apps with the cache on the route and on
// a router. Over every pair: the built-in key is equal exactly when the documented rule says so
// (same path as sent, same URL parser, deep-equal req.query), and never for two requests that
// Express routed to different handlers, paths or queries.
const express5 = require('express');
const express4 = require('express4');
const { startRedis } = require('../helpers/redis');
const { openCache, closeCaches } = require('../helpers/cache');
const { probeApp, checkObservations } = require('../helpers/key-probe');

const many = Array.from({ length: 1001 }, (_, i) => `p${i}=${i}`).join('&');
const TARGETS = [
  // unreserved characters, escaped or not, and the case of escapes and paths
  '/m/api', '/m/API', '/m/ap%69', '/m/ap%49', '/m/%61pi', '/m/~x', '/m/%7Ex', '/m/%7ex', '/m/a-b', '/m/a%2Db',
  // reserved characters and %2F
  '/m/a/b', '/m/a%2Fb', '/m/a%2fb', '/m%2Fa/b', '/m/api%2F', '/m/a%3Fb', '/m/a%23b', '/m/a;b', '/m/a%3Bb',
  // trailing slash, dot segments, empty segments
  '/m/api/', '/m/api//', '/m//api', '/m/./api', '/m/x/../api', '/m/%2E/api', '/m/%2e%2e/m/api', '/m/a/b/x', '/m/a//x',
  // fragments
  '/m/api#', '/m/api#frag', '/m/api#other', '/m/api?#', '/m/api?a=1#x', '/m/a/b#', '/m/api#?a=1',
  // queries: order, repetition, empty parameters, encodings
  '/m/api?', '/m/api?a=1', '/m/api?a=%31', '/m/api?%61=1', '/m/api?a=1&b=2', '/m/api?b=2&a=1', '/m/api?a=1&a=2',
  '/m/api?a=2&a=1', '/m/api?a=1&a=1', '/m/api?a=', '/m/api?a', '/m/api?&a=', '/m/api?a=&', '/m/api?a=1&&b=2',
  '/m/api?a=1;b=2', '/m/api?a[b]=1', '/m/api?a%5Bb%5D=1', '/m/api?a[]=1', '/m/api?a[0]=1', '/m/api?a=1&a[]=2',
  // "+" and "%20"
  '/m/api?q=a+b', '/m/api?q=a%20b', '/m/api?q=a%2Bb', '/m/a+b', '/m/a%20b',
  // "#" against its escape
  '/m/api?q=c#', '/m/api?q=c%23', '/m/api?q=c#x&b=2', '/m/api?q=c%23x&b=2',
  // invalid escapes
  '/m/api?q=%zz', '/m/api?q=%', '/m/api?q=%4', '/m/%zz', '/m/%', '/m/%4',
  // non-UTF-8 and UTF-8 bytes, raw and escaped
  '/m/api?q=%E9', '/m/api?q=\xe9', '/m/\xe9', '/m/%E9', '/m/%C3%A9', '/m/%c3%a9', '/m/\xc3\xa9',
  '/m/api?q=%E9%41', '/m/api?q=%E9A', '/m/api?q=\xc3\xa9', '/m/api?q=%C3%A9',
  // what the fallback URL parser changes: backslashes and characters it escapes
  '/m/a\\b', '/m/a\\b#', '/m/a/b#x', '/m/a{b', '/m/a{b#', '/m/a%7Bb', '/m/a\\b?x', '/m/a\\b?x#',
  // absolute form
  'http://keys.test/m/api', 'http://KEYS.test/m/api',
  // over-long targets, and more parameters than Express 4's parser reads
  `/m/${'a'.repeat(8000)}`, `/m/${'a'.repeat(8000)}?q=${'b'.repeat(4000)}`, `/m/api?${many}`, `/m/api?${many}&p1001=x`,
];

const CONFIGS = [
  ['Express 4', 'route', express4],
  ['Express 4', 'router', express4],
  ['Express 5', 'route', express5],
  ['Express 5', 'router', express5],
];

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

describe.each(CONFIGS)('%s with the cache on each %s', (_version, level, express) => {
  let probe;
  beforeAll(async () => { probe = await probeApp(express, level, cache); });
  afterAll(async () => { await probe.http.close(); });

  it(`gives ${TARGETS.length} targets equal keys exactly when the rule says so, never across routes`, async () => {
    const observations = [];
    const refused = [];
    for (const target of TARGETS) {
      const o = await probe.observe(target);
      (o.key === undefined ? refused : observations).push(o);
    }
    // Node's HTTP parser answers 400 to a raw byte above 0x7f in the target (so non-UTF-8 reaches
    // Express only escaped, as %E9), Express answers 400 when a route parameter holds an escape it
    // cannot decode ("%", "%zz", "%E9"), and a target outside the router's mount path reaches the
    // app's uncached fallback: such targets never meet a cached handler. Nothing else goes without
    // a key. (Were Node to accept raw bytes one day, they would be keyed and checked like the rest.)
    if (process.env.RESPCACHE_MATRIX_REPORT) process.stdout.write(`${JSON.stringify(refused.map((o) => [o.target, o.status, o.h]))}\n`);
    for (const o of refused) {
      expect([o.target, o.status === 400 || o.h === 'unmounted']).toEqual([o.target, true]);
    }
    expect(refused.length).toBeLessThanOrEqual(10);
    if (process.env.RESPCACHE_MATRIX_REPORT) process.stdout.write(`${_version} ${level}: ${observations.length} keyed targets, ${(observations.length * (observations.length - 1)) / 2} pairs, ${new Set(observations.map((o) => o.key)).size} keys, ${refused.length} never cached\n`);
    const { pairs, violations } = checkObservations(observations);
    expect(violations).toEqual([]);
    expect(pairs).toBe((observations.length * (observations.length - 1)) / 2);
    // The matrix is not vacuous: some pairs share a key and some of them differ in bytes.
    const keys = new Set(observations.map((o) => o.key));
    expect(keys.size).toBeLessThan(observations.length);
    expect(keys.size).toBeGreaterThan(observations.length / 2);
  });
});
