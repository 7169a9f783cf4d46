'use strict';

// Graceful degradation against a real redis-server: absent at start, killed mid-traffic and
// restarted on the same port, holding corrupt values, stalled beyond commandTimeout.
const express = require('express');
const binding = require('../../lib/binding');
const { startRedis, freePort } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, once, waitFor, entryKey } = require('../helpers/cache');
const { familyPattern } = require('../helpers/layout');

// Jest fails the running test on any unhandled rejection, so every test here also asserts that
// none happened; the child-process tests in cache-lifecycle.test.js check the same outside Jest.
let http;
let calls;

beforeEach(() => { calls = 0; });

afterEach(async () => {
  if (http) await http.close();
  http = null;
  await closeCaches();
});

async function appFor(cache, options = {}) {
  const app = express();
  app.get('/r', cache.middleware(options), (req, res) => { calls++; res.send(`fresh ${calls}`); });
  http = await serve(app);
}

/** n sequential requests; asserts each is a 200 BYPASS from the handler, answered quickly. */
async function expectBypass(n) {
  for (let i = 0; i < n; i++) {
    const before = calls;
    const t0 = Date.now();
    const reply = await http.get('/r');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(reply.status).toBe(200);
    expect(reply.headers['x-cache']).toBe('BYPASS');
    expect(reply.text).toBe(`fresh ${before + 1}`);
    expect(calls).toBe(before + 1);
  }
}

const isCacheError = expect.objectContaining({ code: expect.stringMatching(/^ERR_RESPCACHE_/), message: expect.any(String) });

describe('when Redis is down at start', () => {
  let redis;

  afterEach(async () => {
    if (redis) await redis.close();
    redis = null;
  });

  it('serves every request from the handler with X-Cache: BYPASS and reports an error', async () => {
    const port = await freePort();
    const { cache, errors } = await openCache({ redis: `redis://127.0.0.1:${port}` }, { waitReady: false });
    await appFor(cache);
    await expectBypass(3);
    if (errors.length === 0) await once(cache, 'error');
    expect(errors[0]).toEqual(isCacheError);
  });

  it('starts using Redis by itself once it comes up', async () => {
    const port = await freePort();
    const { cache, errors } = await openCache({ redis: `redis://127.0.0.1:${port}` }, { waitReady: false });
    await appFor(cache);
    await expectBypass(2);
    if (errors.length === 0) await once(cache, 'error');
    const ready = once(cache, 'ready', 5000);
    redis = await startRedis({ port });
    await ready;
    const miss = await http.get('/r');
    const hit = await http.get('/r');
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe(miss.text);
  });
});

describe('when Redis is killed mid-traffic and restarted on the same port', () => {
  let redis;

  beforeEach(async () => { redis = await startRedis(); });
  afterEach(async () => { if (redis) await redis.close(); });

  it('answers every request, bypasses while Redis is gone, and recovers within 5 s of the restart', async () => {
    const { cache, errors } = await openCache({ redis: redis.url });
    await appFor(cache);
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');

    // Requests in flight while the server dies.
    const inFlight = Array.from({ length: 20 }, () => http.get('/r', { agent: false }));
    await redis.stop('SIGKILL');
    const replies = await Promise.all(inFlight);
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(['HIT', 'MISS', 'BYPASS']).toContain(reply.headers['x-cache']);
      expect(reply.text).toMatch(/^fresh \d+$/);
    }

    await expectBypass(5);
    if (errors.length === 0) await once(cache, 'error');
    expect(errors[0]).toEqual(isCacheError);

    const ready = once(cache, 'ready', 5000);
    const restartedAt = Date.now();
    await redis.start();
    await ready;
    expect(Date.now() - restartedAt).toBeLessThan(5000);
    // The restarted server is empty (no persistence): the cache fills it again.
    const miss = await http.get('/r');
    const hit = await http.get('/r');
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe(miss.text);
  });

  it('recovers after being killed twice', async () => {
    const { cache } = await openCache({ redis: redis.url });
    await appFor(cache);
    for (let round = 0; round < 2; round++) {
      await redis.stop('SIGKILL');
      await expectBypass(1);
      const ready = once(cache, 'ready', 5000);
      await redis.start();
      await ready;
      expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
      expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
    }
  });
});

describe('when Redis holds a corrupt value under an entry key', () => {
  let redis;
  let cache;
  const KEY = entryKey('victim');

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => { if (redis) await redis.close(); });

  beforeEach(async () => {
    await redis.client().flushall();
    ({ cache } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
    await appFor(cache, { keyBuilder: () => 'victim' });
  });

  /** Stores a real entry through the middleware and returns its bytes. */
  async function realEntry() {
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
    const bytes = await redis.client().getBuffer(KEY);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    return bytes;
  }

  async function expectMissThenRepaired(planted, handlerRunsBefore) {
    const miss = await http.get('/r');
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.text).toBe(`fresh ${handlerRunsBefore + 1}`);
    expect(calls).toBe(handlerRunsBefore + 1);
    // The planted value is replaced by the fresh entry (or deleted).
    await waitFor(async () => {
      const type = await redis.client().type(KEY);
      if (type === 'none') return true;
      if (type !== 'string') return false;
      const now = await redis.client().getBuffer(KEY);
      return planted === null || !now.equals(planted);
    }, { what: 'the corrupt value to be replaced' });
    // The MISS was stored as usual.
    const next = await http.get('/r');
    expect(next.status).toBe(200);
    expect(next.headers['x-cache']).toBe('HIT');
    expect(next.text).toBe(miss.text);
  }

  describe.each([
    ['text that is not an entry', () => Buffer.from('garbage')],
    ['an empty string', () => Buffer.alloc(0)],
    ['JSON of a response', () => Buffer.from('{"status":200,"headers":{},"body":"evil"}')],
    ['bytes of every value', () => Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i))],
  ])('when it is %s', (_what, make) => {
    it('is a MISS, the handler answers 200, and the value is replaced', async () => {
      const planted = make();
      await redis.client().set(KEY, planted);
      await expectMissThenRepaired(planted, 0);
    });
  });

  describe.each([
    ['cut to its first 5 bytes', (b) => b.subarray(0, 5)],
    ['cut in half', (b) => b.subarray(0, Math.floor(b.length / 2))],
    ['one byte short', (b) => b.subarray(0, b.length - 1)],
    ['one byte too long', (b) => Buffer.concat([b, Buffer.from([0])])],
    ['its magic changed', (b) => { const c = Buffer.from(b); c[0] ^= 0xff; return c; }],
    ['every byte after the magic inverted', (b) => { const c = Buffer.from(b); for (let i = 4; i < c.length; i++) c[i] ^= 0xff; return c; }],
  ])('when it is a real entry %s', (_what, mutate) => {
    it('is a MISS, the handler answers 200, and the value is replaced', async () => {
      const planted = mutate(await realEntry());
      await redis.client().set(KEY, planted);
      await expectMissThenRepaired(planted, 1);
    });
  });

  /** A well-formed entry redirecting elsewhere, then made into one no response could carry. */
  function redirectEntry(spoil) {
    const now = Date.now();
    const bytes = Buffer.from(binding.encodeEntry(301, ['location', 'https://elsewhere.example/', 'x-bad', 'AB'],
      Buffer.from('moved'), now, now + 60000));
    spoil(bytes);
    return bytes;
  }

  describe.each([
    ['a header value that is not UTF-8', (b) => { b[b.indexOf('AB')] = 0xe9; }],
    ['a header value above U+00FF', (b) => { const at = b.indexOf('AB'); b[at] = 0xc4; b[at + 1] = 0x80; }],
    ['an interim status (101)', (b) => { b.writeUInt16BE(101, 5); }],
  ])('when it is an entry with %s', (_what, spoil) => {
    it('is a MISS with none of its status or headers, the handler answers 200, and the value is replaced', async () => {
      const planted = redirectEntry(spoil);
      await redis.client().set(KEY, planted);
      await expectMissThenRepaired(planted, 0);
      const reply = await http.get('/r');
      expect(reply.headers.location).toBeUndefined();
    });
  });

  describe.each([
    ['a list', (c) => c.rpush(KEY, 'a', 'b')],
    ['a hash', (c) => c.hset(KEY, 'status', '200')],
    ['a set', (c) => c.sadd(KEY, 'x')],
  ])('when it is %s (wrong type)', (_what, plant) => {
    it('is a MISS, the handler answers 200, and the value is replaced', async () => {
      await plant(redis.client());
      await expectMissThenRepaired(null, 0);
      expect(['string', 'none']).toContain(await redis.client().type(KEY));
    });
  });
});

describe('when Redis stalls (CLIENT PAUSE) beyond commandTimeout', () => {
  let redis;

  beforeEach(async () => { redis = await startRedis(); });
  afterEach(async () => { if (redis) await redis.close(); });

  it('bypasses quickly with the default commandTimeout, never a 5xx, and uses Redis again after', async () => {
    const { cache } = await openCache({ redis: redis.url });
    await appFor(cache);
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');

    const control = redis.client({ connectionName: 'control' });
    const PAUSE_MS = 2500;
    expect(await control.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL')).toBe('OK');
    const pauseStarted = Date.now();
    const pauseOver = control.ping(); // answered only when the pause ends

    const t0 = Date.now();
    const replies = await Promise.all(Array.from({ length: 5 }, () => http.get('/r', { agent: false })));
    const took = Date.now() - t0;
    expect(took).toBeLessThan(800);
    expect(Date.now() - pauseStarted).toBeLessThan(PAUSE_MS - 1000);
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.headers['x-cache']).toBe('BYPASS');
      expect(reply.text).toMatch(/^fresh \d+$/);
    }
    expect(calls).toBe(6);
    await expectBypass(1);

    await pauseOver;
    control.disconnect();
    // Nothing announces that the cache trusts the connection again: poll with a deadline.
    const back = await waitFor(async () => {
      const reply = await http.get('/r');
      expect(reply.status).toBe(200);
      return reply.headers['x-cache'] !== 'BYPASS' && reply;
    }, { timeout: 5000, interval: 50, what: 'a HIT or MISS after the pause' });
    expect(['HIT', 'MISS']).toContain(back.headers['x-cache']);
  });
  it('lookups past commandTimeout leave no fill lock behind: the next request is not held up by one', async () => {
    const { cache } = await openCache({ redis: redis.url, commandTimeout: 100 });
    await appFor(cache, { ttl: 60 });
    const control = redis.client({ connectionName: 'control' });
    // Redis serves no client for 400 ms: the lookups (GET and the script that takes the fill
    // lock) wait in its input, time out, and then run; their releases go once Redis answers.
    expect(await control.call('CLIENT', 'PAUSE', '400', 'ALL')).toBe('OK');
    const pauseOver = control.ping(); // answered only when the pause ends
    const timedOut = await Promise.all(Array.from({ length: 20 }, (_, i) => http.get(`/r?k=${i}`, { agent: false })));
    expect(timedOut.map((r) => r.headers['x-cache'])).toEqual(Array(20).fill('BYPASS'));
    await pauseOver;
    const locks = async () => (await control.keys(familyPattern('l:*'))).length;
    await waitFor(async () => (await locks()) === 0, { timeout: 3000, interval: 10, what: 'no fill lock left' });
    const t0 = Date.now();
    const next = await http.get('/r?k=0');
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(next.headers['x-cache']).toBe('MISS');
    control.disconnect();
  });

  it('a fill lock whose release fails (past commandTimeout) is released once Redis answers again', async () => {
    const { cache } = await openCache({ redis: redis.url, commandTimeout: 100 });
    const store = cache._store;
    const taken = await store.acquire('e:k', async () => null, { coalesceTimeout: 1000, lockTtl: 10000 });
    expect(typeof taken.token).toBe('string');
    const control = redis.client({ connectionName: 'control' });
    const locks = async () => (await control.keys(familyPattern('l:*'))).length;
    expect(await locks()).toBe(1);
    expect(await control.call('CLIENT', 'PAUSE', '600', 'WRITE')).toBe('OK');
    // A write past commandTimeout: until Redis answers it, the connection fails new commands at
    // once, so the notice and the unlock below are never sent.
    await expect(store.command(['SET', 'other', '1'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_TIMEOUT' });
    const failed = once(cache, 'error');
    store.release('e:k', taken.token, false);
    expect((await failed)[0].code).toBe('ERR_RESPCACHE_REDIS_TIMEOUT');
    await waitFor(async () => (await locks()) === 0, { timeout: 3000, interval: 10, what: 'the lock released after the pause' });
    control.disconnect();
  });
});
