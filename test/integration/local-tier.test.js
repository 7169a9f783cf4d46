'use strict';

// The in-process tier: alone (embedded mode, no Redis configured) and in front of Redis (near
// cache) kept coherent across instances through invalidation events.
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, once, gate } = require('../helpers/cache');
const { busReady, lookup, rawCommand } = require('../helpers/internals');
const { fakeClock, withClock } = require('../helpers/clock');
const { redisName, familyPattern } = require('../helpers/layout');

let redis;
const servers = [];

beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(async () => { await redis.client().flushall(); });
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await closeCaches();
});

/** An app whose /r route counts its handler runs in counter.calls. */
async function appOn(cache, counter, options = { keyBuilder: () => 'item', exposeKey: true }) {
  const app = express();
  app.get('/r', cache.middleware(options), (req, res) => {
    counter.calls++;
    res.json({ n: counter.calls });
  });
  const http = await serve(app);
  servers.push(http);
  return http;
}

describe('when no Redis is configured (embedded mode)', () => {
  let savedUrl;
  beforeEach(() => {
    savedUrl = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
  });
  afterEach(() => {
    if (savedUrl !== undefined) process.env.REDIS_URL = savedUrl;
  });

  it('caches in process memory: MISS, then HIT from the local tier', async () => {
    const { cache } = await openCache({});
    expect(cache.status).toBe('ready');
    const counter = { calls: 0 };
    const http = await appOn(cache, counter);
    const miss = await http.get('/r');
    const hit = await http.get('/r');
    expect(miss.headers['x-cache']).toBe('MISS');
    expect([hit.headers['x-cache'], hit.headers['x-cache-tier'], hit.text]).toEqual(['HIT', 'local', '{"n":1}']);
    expect(counter.calls).toBe(1);
    expect(cache.localStats().entries).toBe(1);
    expect(await redis.keys('*')).toEqual([]);
  });

  it('reports what does not fit in local.maxBytes as not stored, and set() rejects it', async () => {
    const { cache, errors } = await openCache({ local: { maxBytes: 4096 } });
    const app = express();
    app.get('/big', cache.middleware({ keyBuilder: () => 'big' }), (req, res) => res.send('x'.repeat(8000)));
    const http = await serve(app);
    servers.push(http);
    expect((await http.get('/big')).headers['x-cache']).toBe('MISS');
    expect((await http.get('/big')).headers['x-cache']).toBe('MISS');
    expect(cache.stats()).toMatchObject({ stores: 0, storeFailures: 2 });
    expect(errors.map((e) => e.code)).toEqual(['ERR_RESPCACHE_STORE', 'ERR_RESPCACHE_STORE']);
    expect(errors[0].message).toMatch(/does not fit in the in-process store \(local.maxBytes 4096\)/);
    await expect(cache.set('big', 'x'.repeat(8000))).rejects.toMatchObject({ code: 'ERR_RESPCACHE_STORE' });
    expect(await cache.get('big')).toBeUndefined();
    await cache.set('small', 'fits');
    expect(await cache.get('small')).toBe('fits');
  });

  it('counts in stats().localHits the requests answered from process memory, not value reads', async () => {
    const { cache } = await openCache({});
    await cache.set('v', 'value');
    for (let i = 0; i < 5; i++) expect(await cache.get('v')).toBe('value');
    expect(await cache.wrap('v', () => 'unused')).toBe('value');
    const http = await appOn(cache, { calls: 0 });
    await http.get('/r');
    await http.get('/r');
    expect(cache.stats()).toMatchObject({ hits: 1, localHits: 1, misses: 1 });
  });

  it('deletes, wraps and coalesces without Redis', async () => {
    const { cache } = await openCache({});
    const counter = { calls: 0 };
    const http = await appOn(cache, counter);
    await http.get('/r');
    expect(await cache.delete('item')).toBe(true);
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    let runs = 0;
    const values = await Promise.all(Array.from({ length: 20 }, () => cache.wrap('v', async () => { runs++; return [1, 2]; })));
    expect(runs).toBe(1);
    expect(values.every((v) => v.length === 2)).toBe(true);
    expect(await cache.get('v')).toEqual([1, 2]);
  });

  it('keeps entries no longer than their ttl', async () => {
    // Freshness is the clock's; how long the native store holds the bytes (real time) is the
    // store suite's (test/stores/store-suite.js, retention).
    const clock = fakeClock();
    const { cache } = await openCache(withClock({}, clock));
    const counter = { calls: 0 };
    const http = await appOn(cache, counter, { keyBuilder: () => 'short', ttl: 60 });
    await http.get('/r');
    clock.advance(59999);
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
    clock.advance(1);
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    expect(counter.calls).toBe(2);
  });
});

describe('with Redis and local (near cache)', () => {
  async function twoInstances(local = { maxBytes: 1 << 20, ttl: 30 }) {
    const a = await openCache({ redis: redis.url, local, commandTimeout: 1000 });
    const b = await openCache({ redis: redis.url, local, commandTimeout: 1000 });
    await Promise.all([busReady(a.cache), busReady(b.cache)]);
    return [a.cache, b.cache];
  }

  it('serves a second request from process memory without touching Redis', async () => {
    const [a] = await twoInstances();
    const counter = { calls: 0 };
    const http = await appOn(a, counter);
    await http.get('/r');
    const hit = await http.get('/r');
    expect([hit.headers['x-cache'], hit.headers['x-cache-tier']]).toEqual(['HIT', 'local']);
    expect(await redis.keys(familyPattern('e:*'))).toEqual([redisName('e:item')]);
  });

  it('drops the copies of other instances when one deletes the key, within one event', async () => {
    const [a, b] = await twoInstances();
    const counter = { calls: 0 };
    const httpA = await appOn(a, counter);
    const httpB = await appOn(b, counter);
    await httpA.get('/r');
    expect((await httpB.get('/r')).headers['x-cache-tier']).toBeUndefined(); // from Redis
    expect((await httpB.get('/r')).headers['x-cache-tier']).toBe('local');
    const heard = once(b, 'invalidated');
    await a.delete('item');
    expect(await heard).toEqual(['e:item']);
    const after = await httpB.get('/r');
    expect(after.headers['x-cache']).toBe('MISS');
    expect(after.text).toBe('{"n":2}');
  });

  it('keeps serving what it holds while Redis is down', async () => {
    const own = await startRedis();
    try {
      const { cache } = await openCache({ redis: own.url, local: true, commandTimeout: 200 });
      const counter = { calls: 0 };
      const http = await appOn(cache, counter);
      await http.get('/r');
      await own.stop();
      const hit = await http.get('/r');
      expect([hit.headers['x-cache'], hit.headers['x-cache-tier'], hit.text]).toEqual(['HIT', 'local', '{"n":1}']);
    } finally {
      await own.close();
    }
  });

  it('does not keep a copy from a lookup whose reply arrives after delete() dropped the entry', async () => {
    const { cache: near } = await openCache({ redis: redis.url, local: { ttl: 30 }, commandTimeout: 1000 });
    const { cache: other } = await openCache({ redis: redis.url, commandTimeout: 1000 });
    const app = express();
    let n = 0;
    app.get('/near', near.middleware({ keyBuilder: () => 'shared' }), (req, res) => res.send(`near ${++n}`));
    app.get('/other', other.middleware({ keyBuilder: () => 'shared' }), (req, res) => res.send(`other ${++n}`));
    const http = await serve(app);
    servers.push(http);
    expect((await http.get('/other')).headers['x-cache']).toBe('MISS'); // in Redis, not in near's memory
    // The GET goes out before delete()'s commands on the same connection, so Redis answers it with
    // the entry, and that reply is handled after delete() dropped its in-process copy.
    const reading = lookup(near, 'shared');
    expect(await near.delete('shared')).toBe(true);
    expect(await reading).not.toBeNull();
    const after = await http.get('/near');
    expect([after.headers['x-cache'], after.text]).toEqual(['MISS', 'near 2']);
  });

  it('drops copies of stores that failed in transit once the connection is back', async () => {
    const { cache } = await openCache({ redis: redis.url, local: { ttl: 30 }, commandTimeout: 1000 });
    await busReady(cache);
    const answer = gate();
    const inHandler = gate();
    let n = 0;
    const app = express();
    // coalesce: false: the failed leader could not release its lock, which others would wait out.
    app.get('/p', cache.middleware({ keyBuilder: () => 'p', tags: ['products'], coalesce: false }), async (req, res) => {
      n++;
      if (n === 1) {
        inHandler.open();
        await answer.promise;
      }
      res.send(`v${n}`);
    });
    const http = await serve(app);
    servers.push(http);
    const first = http.get('/p', { agent: false });
    await inHandler.promise;
    // Only the command connection drops (the subscriber stays): the store fails in transit and
    // its early copy is in no Redis index, so no invalidation could reach it.
    const id = String(await rawCommand(cache, ['CLIENT', 'ID']));
    const lost = once(cache, 'reconnecting');
    await redis.client().client('KILL', 'ID', id);
    await lost;
    const back = once(cache, 'ready');
    answer.open();
    expect((await first).text).toBe('v1');
    await back;
    // 0 when the store failed, as intended here (1 if the connection came back first: then the
    // entry is indexed like any other, and the invalidation removes it all the same).
    await cache.invalidateTags(['products']);
    const after = await http.get('/p');
    expect([after.headers['x-cache'], after.text]).toEqual(['MISS', 'v2']);
  });

  it('caps the life of local copies at local.ttl', async () => {
    const [a] = await twoInstances({ ttl: 0.05 });
    const counter = { calls: 0 };
    const http = await appOn(a, counter);
    await http.get('/r');
    // local.ttl is an item lifetime in the native store, on real time (not the cache's clock),
    // and its end raises no event: wait past it (the store's clock is monotonic, so 80 ms after
    // a 50 ms lifetime the copy is gone, however loaded the machine).
    await new Promise((r) => setTimeout(r, 80));
    const again = await http.get('/r');
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.headers['x-cache-tier']).toBeUndefined(); // the local copy expired: read from Redis
  });

  it.each([
    ['local', { local: 'yes' }],
    ['local.maxBytes', { local: { maxBytes: 10 } }],
    ['local.ttl', { local: { ttl: 0 } }],
    ['maxbytes', { local: { maxbytes: 1 << 20 } }],
  ])('rejects an invalid "%s" at setup', (name, options) => {
    const { createCache } = require('../../lib');
    expect(() => createCache({ redis: redis.url, ...options })).toThrow(expect.objectContaining({ message: expect.stringContaining(name) }));
  });
});
