'use strict';

// The cache's clock decides freshness: a cache made with a fake clock (test/helpers/clock.js)
// stamps entries with its time and judges them by it, in every mode. Each case moves only the
// clock, so it fails if any of these decisions read the system's time instead (the entry is
// still held by the store throughout: Redis PX and the in-process store's lifetimes run on real
// time, an hour here).
const express = require('express');
const binding = require('../../lib/binding');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, entryKey } = require('../helpers/cache');
const { fakeClock, withClock } = require('../helpers/clock');
const { lookup } = require('../helpers/internals');
const { redisName } = require('../helpers/layout');

const HOUR = 3600e3;

let redis;
let savedUrl;
const servers = [];

beforeAll(async () => {
  redis = await startRedis();
  // Embedded mode is a cache without a Redis URL, the environment's included.
  savedUrl = process.env.REDIS_URL;
  delete process.env.REDIS_URL;
});
afterAll(async () => {
  if (savedUrl !== undefined) process.env.REDIS_URL = savedUrl;
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(() => redis.client().flushall());
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await closeCaches();
});

/** GET /r through cache.middleware({ keyBuilder: () => 'k', ...options }); answers[i] answers the i-th run. */
async function appOn(cache, options, answers) {
  const counter = { calls: 0 };
  const app = express();
  app.get('/r', cache.middleware({ keyBuilder: () => 'k', ...options }), (req, res) => {
    const answer = answers[Math.min(counter.calls, answers.length - 1)];
    counter.calls++;
    answer(res, counter.calls);
  });
  const http = await serve(app);
  servers.push(http);
  const get = async () => {
    const reply = await http.get('/r');
    return [reply.status, reply.headers['x-cache'], reply.text];
  };
  return { http, get, counter };
}

const ok = (res, n) => res.send(`v${n}`);
const fails = (res) => res.status(500).send('down');

describe.each([
  ['Redis', () => ({ redis: redis.url })],
  ['embedded', () => ({})],
  ['near cache', () => ({ redis: redis.url, local: { maxBytes: 1 << 20, ttl: 3600 } })],
])('with the %s store', (_mode, options) => {
  let clock;
  let cache;
  let errors;

  beforeEach(async () => {
    clock = fakeClock();
    ({ cache, errors } = await openCache(withClock({ ...options(), commandTimeout: 2000 }, clock)));
  });

  it('serves a HIT until the clock reaches the end of its ttl, then a MISS, with nothing else changed', async () => {
    const { http, get, counter } = await appOn(cache, { ttl: 60 }, [ok]);
    const storedAt = clock.now();
    expect(await get()).toEqual([200, 'MISS', 'v1']);
    expect(await lookup(cache, 'k')).toMatchObject({ storedAt, expiresAt: storedAt + 60000 });
    clock.advance(59999);
    const hit = await http.get('/r');
    expect([hit.headers['x-cache'], hit.text, hit.headers.age]).toEqual(['HIT', 'v1', '59']);
    clock.advance(1);
    // The store still holds it: it is the clock that says it is no longer fresh.
    expect(await lookup(cache, 'k')).not.toBeNull();
    expect(await get()).toEqual([200, 'MISS', 'v2']);
    expect(counter.calls).toBe(2);
  });

  it('answers STALE within stale-if-error by the clock, and the handler\'s error once it ends', async () => {
    const { get } = await appOn(cache, { ttl: 10, staleIfError: 5 }, [ok, fails]);
    expect(await get()).toEqual([200, 'MISS', 'v1']);
    clock.advance(10000);
    expect(await get()).toEqual([200, 'STALE', 'v1']);
    clock.advance(4999);
    expect(await get()).toEqual([200, 'STALE', 'v1']);
    clock.advance(1);
    expect(await get()).toEqual([500, 'MISS', 'down']);
    expect(errors.map((e) => e.code)).toEqual(['ERR_RESPCACHE_HANDLER_FAILED', 'ERR_RESPCACHE_HANDLER_FAILED']);
  });

  it('compares Expires with the clock: a date still ahead of the system\'s time but behind the clock is stale at once', async () => {
    // Expires has whole seconds: the clock on a whole second makes the lifetime exact.
    clock.set(Math.ceil(Date.now() / 1000) * 1000 + HOUR);
    const expires = (at) => (res, n) => res.set('Expires', new Date(at).toUTCString()).send(`v${n}`);
    const past = await appOn(cache, { ttl: 'http' }, [expires(clock.now() - HOUR / 2)]);
    expect(await past.get()).toEqual([200, 'MISS', 'v1']);
    expect(await past.get()).toEqual([200, 'MISS', 'v2']);
    // Stored only to be revalidated (Express's ETag, retainStale), with a lifetime of 0.
    expect(await lookup(cache, 'k')).toMatchObject({ storedAt: clock.now(), expiresAt: clock.now() });
    const ahead = await appOn(cache, { ttl: 'http', keyBuilder: () => 'ahead' }, [expires(clock.now() + 30000)]);
    expect(await ahead.get()).toEqual([200, 'MISS', 'v1']);
    expect(await lookup(cache, 'ahead')).toMatchObject({ storedAt: clock.now(), expiresAt: clock.now() + 30000 });
    expect(await ahead.get()).toEqual([200, 'HIT', 'v1']);
  });
});

describe('cache-aside values', () => {
  it('are stamped with the clock\'s time', async () => {
    const clock = fakeClock(Date.UTC(2031, 0, 1));
    const { cache } = await openCache(withClock({ redis: redis.url }, clock));
    await cache.set('v', { n: 1 }, { ttl: 60 });
    await cache.wrap('w', () => 'filled', { ttl: 30 });
    // wrap stores in the background; the cache's next command comes after it.
    expect(await cache.get('w')).toBe('filled');
    const stamps = async (name) => {
      const { storedAt, expiresAt } = binding.decodeEntry(await redis.client().getBuffer(redisName(`v:${name}`)));
      return [storedAt, expiresAt];
    };
    expect(await stamps('v')).toEqual([clock.now(), clock.now() + 60000]);
    expect(await stamps('w')).toEqual([clock.now(), clock.now() + 30000]);
    expect(await redis.client().exists(entryKey('v'))).toBe(0); // values are not entries
  });
});
