'use strict';

// cache.stats() and the prom-client metrics after a scripted sequence of requests.
const nodeHttp = require('http');
const express = require('express');
const client = require('prom-client');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches } = require('../helpers/cache');
const { clearLocal } = require('../helpers/internals');

let redis;
let http;

beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => {
  if (http) await http.close();
  await closeCaches();
  if (redis) await redis.close();
});

/** Value of one sample of a metric in the registry's JSON, matched by labels. */
async function sample(register, name, labels = {}) {
  const metric = (await register.getMetricsAsJSON()).find((m) => m.name === name);
  if (!metric) return undefined;
  const found = metric.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)
    && (v.metricName === undefined || v.metricName === name || v.metricName === `${name}_count`));
  return found && found.value;
}

describe('the route label under a mount path with parameters', () => {
  it('holds patterns only, never the values a mount path matched', async () => {
    const { cache } = await openCache({ redis: redis.url, commandTimeout: 1000 });
    const register = new client.Registry();
    cache.metrics(register);
    const app = express();
    const router = express.Router();
    router.get('/profile', cache.middleware(), (req, res) => res.send('profile'));
    app.use('/users/:id', router);
    const sub = express();
    sub.get('/s', cache.middleware(), (req, res) => res.send('shop'));
    app.use('/shop/:shop', sub);
    const own = await serve(app);
    try {
      for (const path of ['/users/1/profile', '/users/2/profile', '/shop/a/s', '/shop/b/s']) await own.get(path);
    } finally {
      await own.close();
    }
    const metric = (await register.getMetricsAsJSON()).find((m) => m.name === 'respcache_requests_total');
    expect([...new Set(metric.values.map((v) => v.labels.route))].sort()).toEqual(['/profile', '/shop/:shop/s']);
  });
});

describe('after MISS, HIT, local HIT, BYPASS and a failing keyBuilder', () => {
  let cache;
  let register;

  beforeAll(async () => {
    ({ cache } = await openCache({ redis: redis.url, local: { ttl: 60 }, commandTimeout: 1000 }));
    register = new client.Registry();
    cache.metrics(register);
    const app = express();
    app.get('/items/:id', cache.middleware({ keyBuilder: (req) => `item:${req.params.id}` }), (req, res) => res.json({ id: req.params.id }));
    app.get('/broken', cache.middleware({ keyBuilder: () => { throw new Error('nope'); } }), (req, res) => res.send('x'));
    app.post('/items/:id', cache.middleware({ methods: ['GET'] }), (req, res) => res.send('posted'));
    http = await serve(app);
    await http.get('/items/1'); // miss (stored in Redis and locally)
    await http.get('/items/1'); // local hit
    await clearLocal(cache);
    await http.get('/items/1'); // hit from Redis
    await http.request('/items/2', { method: 'POST', body: 'x' }); // bypass: method (invalidates /items/2)
    await http.get('/broken'); // bypass: keyBuilder failed (an error)
  });

  it('counts them in cache.stats()', () => {
    const stats = cache.stats();
    expect(stats).toMatchObject({ hits: 2, misses: 1, bypasses: 2, coalesced: 0, stores: 1, storeFailures: 0 });
    expect(stats.localHits).toBe(1); // requests answered from process memory, nothing else
    expect(stats.errors).toBe(1);
    expect(stats.local).toMatchObject({ entries: 1 });
    expect(stats.local.bytes).toBeGreaterThan(0);
  });

  it('exposes requests by route pattern and outcome', async () => {
    expect(await sample(register, 'respcache_requests_total', { route: '/items/:id', outcome: 'miss' })).toBe(1);
    expect(await sample(register, 'respcache_requests_total', { route: '/items/:id', outcome: 'hit_local' })).toBe(1);
    expect(await sample(register, 'respcache_requests_total', { route: '/items/:id', outcome: 'hit' })).toBe(1);
    expect(await sample(register, 'respcache_requests_total', { route: '/items/:id', outcome: 'bypass' })).toBe(1);
    expect(await sample(register, 'respcache_requests_total', { route: '/broken', outcome: 'bypass' })).toBe(1);
  });

  it('exposes stores, errors, latency histograms and the local tier gauges', async () => {
    expect(await sample(register, 'respcache_stores_total', { result: 'ok' })).toBe(1);
    expect(await sample(register, 'respcache_errors_total', { code: 'ERR_RESPCACHE_KEY_BUILDER' })).toBe(1);
    const text = await register.metrics();
    expect(text).toMatch(/^respcache_lookup_duration_seconds_count\{tier="redis"\} 2$/m);
    expect(text).toMatch(/^respcache_lookup_duration_seconds_count\{tier="local"\} 1$/m);
    expect(text).toMatch(/^respcache_store_duration_seconds_count 1$/m);
    expect(text).toMatch(/^respcache_local_entries 1$/m);
    expect(text).toMatch(/^# TYPE respcache_requests_total counter$/m);
  });

  it('refuses something that is not a registry', () => {
    expect(() => cache.metrics({})).toThrow(TypeError);
  });
});

describe('cache.warm(server, paths)', () => {
  it('fills entries through the app\'s own routes, so the first client request is a HIT', async () => {
    const { cache } = await openCache({ redis: redis.url, keyPrefix: 'warm', commandTimeout: 1000 });
    let calls = 0;
    const app = express();
    app.get('/p/:id', cache.middleware(), (req, res) => { calls++; res.json({ id: req.params.id }); });
    const own = await serve(app);
    try {
      const results = await cache.warm(own.server, ['/p/1', '/p/2', '/p/3']);
      expect(results.map((r) => [r.path, r.status, r.cache])).toEqual([
        ['/p/1', 200, 'MISS'], ['/p/2', 200, 'MISS'], ['/p/3', 200, 'MISS']]);
      expect(calls).toBe(3);
      const first = await own.get('/p/2', { headers: { host: `127.0.0.1:${own.port}` } });
      expect([first.headers['x-cache'], first.text]).toEqual(['HIT', '{"id":"2"}']);
      expect(calls).toBe(3);
    } finally {
      await own.close();
    }
  });

  it('warms a server listening on IPv6 loopback, given the server or its URL', async () => {
    const { cache } = await openCache({ redis: redis.url, keyPrefix: 'warm6', commandTimeout: 1000 });
    const app = express();
    app.get('/p/:id', cache.middleware(), (req, res) => res.json({ id: req.params.id }));
    const server = nodeHttp.createServer(app);
    await new Promise((resolve) => server.listen(0, '::1', resolve));
    try {
      const byServer = await cache.warm(server, ['/p/1']);
      const byUrl = await cache.warm(`http://[::1]:${server.address().port}`, ['/p/2']);
      expect([...byServer, ...byUrl].map((r) => [r.path, r.status, r.cache])).toEqual([['/p/1', 200, 'MISS'], ['/p/2', 200, 'MISS']]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects a path that does not start with "/"', async () => {
    const { cache } = await openCache({ redis: redis.url });
    await expect(cache.warm('http://127.0.0.1:1', ['p'])).rejects.toThrow(TypeError);
  });
});
