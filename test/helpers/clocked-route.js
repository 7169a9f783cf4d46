'use strict';

// One cached Express route per test on a cache whose clock only the test moves (./clock.js), over
// a real redis-server: for the HTTP freshness rules, which are all decided by the cache's clock.
// Call at the top of a test file; it registers the hooks that start and stop everything.
//
//   const t = clockedRoute({ start: Date.UTC(2031, 0, 7, 12) });
//   await t.route({ ttl: 'http' }, (req, res, n) => res.send(`v${n}`));
//   t.clock.advance(60000);
//   (await t.get()).headers['x-cache'];
//   await t.elapse(60000); // the clock and the lifetimes of the entries in Redis, together
const express = require('express');
const { startRedis } = require('./redis');
const { serve } = require('./http');
const { openCache, closeCaches } = require('./cache');
const { fakeClock, withClock } = require('./clock');
const { familyPattern } = require('./layout');

/**
 * @param {{ start: number }} options the clock's time at the start of each test (ms)
 * @returns {{ redis, clock, cache, seen: object[], route(options, handler, cacheOptions?): Promise<void>,
 *   get(headers?): Promise<import('./http').Reply>, elapse(ms): Promise<void> }} `seen`: the request
 *   headers of each handler run
 */
function clockedRoute({ start }) {
  const t = { redis: null, clock: null, cache: null, http: null, seen: [] };
  // Embedded mode is a cache without a Redis URL, the environment's included.
  let savedUrl;
  beforeAll(async () => {
    t.redis = await startRedis();
    savedUrl = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
  });
  afterAll(async () => {
    if (savedUrl !== undefined) process.env.REDIS_URL = savedUrl;
    await closeCaches();
    if (t.redis) await t.redis.close();
  });
  beforeEach(async () => {
    await t.redis.client().flushall();
    t.clock = fakeClock(start);
    t.seen = [];
  });
  afterEach(async () => {
    if (t.http) await t.http.close();
    t.http = null;
    await closeCaches();
  });

  /**
   * GET /r through cache.middleware({ keyBuilder: () => 'k', ...options }) on a new cache
   * (cacheOptions added to its own; `redis: null` for embedded mode); the handler gets the run's
   * number, from 1.
   */
  t.route = async (options, handler, cacheOptions = {}) => {
    const own = { redis: t.redis.url, commandTimeout: 2000, ...cacheOptions };
    if (own.redis === null) delete own.redis;
    ({ cache: t.cache } = await openCache(withClock(own, t.clock)));
    const app = express();
    app.get('/r', t.cache.middleware({ keyBuilder: () => 'k', ...options }), (req, res) => {
      t.seen.push({ ...req.headers });
      handler(req, res, t.seen.length);
    });
    t.http = await serve(app);
  };
  t.get = (headers) => t.http.get('/r', { headers });

  /**
   * `ms` pass for the cache and for Redis: the clock advances, and every entry key (the cache's
   * keyPrefix) has `ms` less to live, or is deleted when it had no more: what Redis would do once
   * `ms` of real time passed, for lifetimes Redis keeps on its own clock (PX), which the fake one
   * does not drive. Entries of the in-process store are not aged.
   */
  t.elapse = async (ms) => {
    t.clock.advance(ms);
    const client = t.redis.client();
    for (const key of await t.redis.keys(familyPattern('e:*'))) {
      const pttl = await client.pttl(key);
      if (pttl < 0) continue; // gone meanwhile, or no lifetime to shorten
      const left = pttl - ms;
      if (left > 0) await client.pexpire(key, left);
      else await client.del(key);
    }
  };
  return t;
}

module.exports = { clockedRoute };
