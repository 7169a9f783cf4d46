'use strict';

// Cache-Control: the cacheControl option, ttl: 'http', request no-cache (opt-in), stored no-cache.
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, entryKey } = require('../helpers/cache');
const { redisName, familyPattern } = require('../helpers/layout');

let redis;
let cache;
let http;
let calls;

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
});
afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(async () => {
  await redis.client().flushall();
  calls = 0;
});
afterEach(async () => {
  if (http) await http.close();
  http = null;
});

async function route(options, handler) {
  const app = express();
  app.get('/r', cache.middleware({ keyBuilder: () => 'k', ...options }), (req, res) => { calls++; handler(req, res); });
  http = await serve(app);
}

describe('the cacheControl option', () => {
  it('sends the header built from its fields on the MISS and the HIT', async () => {
    await route({ cacheControl: { public: true, maxAge: 60, staleWhileRevalidate: 30 } }, (req, res) => res.send('x'));
    const miss = await http.get('/r');
    const hit = await http.get('/r');
    expect(miss.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=30');
    expect(hit.headers['cache-control']).toBe('public, max-age=60, stale-while-revalidate=30');
  });

  it('is sent also when the request bypasses the cache (keyBuilder failed)', async () => {
    const app = express();
    app.get('/r', cache.middleware({ keyBuilder: () => { throw new Error('the session store is down'); },
      cacheControl: 'private, max-age=60' }), (req, res) => { calls++; res.send('profile'); });
    http = await serve(app);
    const bypassed = await http.get('/r');
    expect([bypassed.headers['x-cache'], bypassed.headers['cache-control'], bypassed.text])
      .toEqual(['BYPASS', 'private, max-age=60', 'profile']);
  });

  it('never replaces a Cache-Control the handler set itself', async () => {
    await route({ cacheControl: 'public, max-age=60' }, (req, res) => res.set('Cache-Control', 'max-age=5').send('x'));
    expect((await http.get('/r')).headers['cache-control']).toBe('max-age=5');
  });

  it.each([
    [{ cacheControl: {} }],
    [{ cacheControl: { maxAge: -1 } }],
    [{ cacheControl: { public: true, private: true } }],
    [{ cacheControl: { maxage: 5 } }],
    [{ cacheControl: 42 }],
    [{ cacheControl: 'public, max-age=60\u0000' }], // setHeader would refuse it on every request
    [{ cacheControl: 'max-age=60, \u20ac' }],
    [{ cacheControl: { maxAge: 1e30 } }], // not a delta-seconds value
  ])('rejects %j naming the option', (options) => {
    expect(() => cache.middleware(options)).toThrow(expect.objectContaining({ message: expect.stringContaining('cacheControl') }));
  });
});

describe('ttl: "http"', () => {
  const pttl = () => redis.client().pttl(entryKey('k'));
  // Redis keeps an entry with a validator (Express's ETag here) a day past its lifetime (retainStale).
  const RETAINED = 86400000;

  it.each([
    ['s-maxage over max-age', 's-maxage=7, max-age=100', 5000, 7000],
    ['max-age', 'public, max-age=20', 18000, 20000],
  ])('takes the lifetime from %s', async (_what, value, low, high) => {
    await route({ ttl: 'http' }, (req, res) => res.set('Cache-Control', value).send('x'));
    await http.get('/r');
    const ms = await pttl() - RETAINED;
    expect(ms).toBeGreaterThan(low);
    expect(ms).toBeLessThanOrEqual(high);
  });

  it('takes it from Expires when there is no max-age', async () => {
    await route({ ttl: 'http' }, (req, res) => res.set('Expires', new Date(Date.now() + 30000).toUTCString()).send('x'));
    await http.get('/r');
    const ms = await pttl() - RETAINED;
    expect(ms).toBeGreaterThan(25000);
    expect(ms).toBeLessThanOrEqual(30000);
  });

  it('does not store a response whose lifetime is 0 and that has no validator', async () => {
    await route({ ttl: 'http' }, (req, res) => res.set('Cache-Control', 'max-age=0').end('x'));
    await http.get('/r');
    expect(await redis.keys(familyPattern('e:*'))).toEqual([]);
  });

  it('falls back to 300 s without any lifetime in the response', async () => {
    await route({ ttl: 'http', retainStale: 0 }, (req, res) => res.send('x'));
    await http.get('/r');
    const ms = await pttl();
    expect(ms).toBeGreaterThan(290000);
    expect(ms).toBeLessThanOrEqual(300000);
  });
});

describe('a request with Cache-Control: no-cache', () => {
  it.each([
    ['Cache-Control: no-cache', { 'cache-control': 'no-cache' }],
    ['Cache-Control: max-age=0', { 'cache-control': 'max-age=0' }],
    ['Pragma: no-cache', { pragma: 'no-cache' }],
  ])('is answered from the cache by default (%s)', async (_what, headers) => {
    await route({}, (req, res) => res.send(`v${calls}`));
    await http.get('/r');
    const reply = await http.get('/r', { headers });
    expect([reply.headers['x-cache'], reply.text]).toEqual(['HIT', 'v1']);
  });

  it.each([
    ['Cache-Control: no-cache', { 'cache-control': 'no-cache' }],
    ['Pragma: no-cache', { pragma: 'no-cache' }],
  ])('runs the handler and replaces the entry when the route sets honorRequestNoCache (%s)', async (_what, headers) => {
    await route({ honorRequestNoCache: true }, (req, res) => res.send(`v${calls}`));
    await http.get('/r');
    const fresh = await http.get('/r', { headers });
    expect([fresh.headers['x-cache'], fresh.text]).toEqual(['MISS', 'v2']);
    const after = await http.get('/r');
    expect([after.headers['x-cache'], after.text]).toEqual(['HIT', 'v2']);
  });
});

describe('honorRequestNoCache on a namespaced route', () => {
  it('replaces the entry too, under the namespace version in use', async () => {
    await route({ honorRequestNoCache: true, namespace: 'catalog' }, (req, res) => res.send(`v${calls}`));
    await http.get('/r');
    await cache.bumpNamespace('catalog');
    expect((await http.get('/r')).text).toBe('v2'); // a MISS under the new version, stored
    const fresh = await http.get('/r', { headers: { 'cache-control': 'no-cache' } });
    expect([fresh.headers['x-cache'], fresh.text]).toEqual(['MISS', 'v3']);
    const after = await http.get('/r');
    expect([after.headers['x-cache'], after.text]).toEqual(['HIT', 'v3']);
  });
});

describe('a response with Cache-Control: no-cache', () => {
  it('is stored but used only after revalidation: every request runs the handler', async () => {
    await route({}, (req, res) => res.set('Cache-Control', 'no-cache').send(`v${calls}`));
    await http.get('/r');
    expect(await redis.keys(familyPattern('e:*'))).toEqual([redisName('e:k')]);
    const second = await http.get('/r');
    expect([second.headers['x-cache'], second.text]).toEqual(['MISS', 'v2']);
    expect(calls).toBe(2);
  });
});
