'use strict';

// Graceful degradation against a real redis-server: absent at start, killed mid-traffic and
// restarted on the same port, holding corrupt values, stalled beyond commandTimeout.
const express = require('express');
const binding = require('../../lib/binding');
const { startRedis, freePort } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, once, waitFor, entryKey } = require('../helpers/cache');
const { familyPattern } = require('../helpers/layout');
const { onFillWait } = require('../helpers/internals');

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

/**
 * n sequential requests, made while Redis is away or stalled; asserts each is a 200 BYPASS from
 * the handler that did not wait for Redis. The callers bring Redis back only after these replies,
 * so a request held until then never answers; the bound only makes that a clear failure.
 */
async function expectBypass(n) {
  for (let i = 0; i < n; i++) {
    const before = calls;
    const t0 = Date.now();
    const reply = await http.get('/r');
    expect(Date.now() - t0).toBeLessThan(5000);
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

  it('answers every request, bypasses while Redis is gone, and recovers within 10 s of the restart', async () => {
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

    // The reconnect back-off grows to 2 s (native/redis/reconnect_policy.h): 'ready' comes within
    // one such pause of the restart; 10 s leaves room for a slow start of the server.
    const ready = once(cache, 'ready', 10000);
    const restartedAt = Date.now();
    await redis.start();
    await ready;
    expect(Date.now() - restartedAt).toBeLessThan(10000);
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
      const ready = once(cache, 'ready', 10000);
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

describe('when Redis stalls (SIGSTOP, CLIENT PAUSE WRITE) beyond commandTimeout', () => {
  let redis;
  let control;

  beforeEach(async () => {
    redis = await startRedis();
    control = redis.client({ connectionName: 'control' });
  });
  afterEach(async () => {
    if (redis) await redis.close(); // thaws a frozen server first
  });

  /**
   * Pauses writes until unpause(): Redis still answers reads (CLIENT UNPAUSE among them), and runs
   * the paused writes once unpaused. A long pause ended by the test, so that the test, not a
   * timer racing with it, decides what happens while Redis stalls.
   */
  async function pauseWrites() {
    expect(await control.call('CLIENT', 'PAUSE', '60000', 'WRITE')).toBe('OK');
    return async () => expect(await control.call('CLIENT', 'UNPAUSE')).toBe('OK');
  }

  /** Polls until a request is answered through Redis again (nothing announces it). */
  function usingRedisAgain(path) {
    return waitFor(async () => {
      const reply = await http.get(path);
      expect(reply.status).toBe(200);
      return reply.headers['x-cache'] !== 'BYPASS' && reply;
    }, { timeout: 10000, interval: 50, what: 'a HIT or MISS after the stall' });
  }

  it('bypasses quickly with the default commandTimeout, never a 5xx, and uses Redis again after', async () => {
    const { cache } = await openCache({ redis: redis.url });
    await appFor(cache);
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');

    // Redis answers nothing (not even a new connection's handshake) until thaw(): every reply
    // below came without waiting for it.
    redis.freeze();
    let replies;
    try {
      replies = await Promise.all(Array.from({ length: 5 }, () => http.get('/r', { agent: false })));
      for (const reply of replies) {
        expect(reply.status).toBe(200);
        expect(reply.headers['x-cache']).toBe('BYPASS');
        expect(reply.text).toMatch(/^fresh \d+$/);
      }
      expect(calls).toBe(6);
      await expectBypass(1);
    } finally {
      redis.thaw();
    }

    const back = await usingRedisAgain('/r');
    expect(['HIT', 'MISS']).toContain(back.headers['x-cache']);
  });

  it('lookups past commandTimeout leave no fill lock behind: the next request is not held up by one', async () => {
    const { cache } = await openCache({ redis: redis.url, commandTimeout: 100 });
    // A lock left behind would outlive the wait below by far.
    await appFor(cache, { ttl: 60, lockTtl: 60000 });
    // Each lookup's GET is answered and its script (which takes the fill lock) waits in Redis, with
    // the commands behind it, times out, and runs once writes go on; its release goes once Redis
    // answers.
    const unpause = await pauseWrites();
    const timedOut = await Promise.all(Array.from({ length: 20 }, (_, i) => http.get(`/r?k=${i}`, { agent: false })));
    expect(timedOut.map((r) => r.headers['x-cache'])).toEqual(Array(20).fill('BYPASS'));
    await unpause();
    const locks = async () => (await control.keys(familyPattern('l:*'))).length;
    await waitFor(async () => (await locks()) === 0, { timeout: 10000, interval: 10, what: 'no fill lock left' });
    await usingRedisAgain('/r?k=other');
    // A lock left for nobody would have the next lookup of its key wait for a fill by another
    // process (up to coalesceTimeout) before it runs the handler.
    const held = [];
    onFillWait(cache, (name) => held.push(name));
    const next = await http.get('/r?k=0');
    expect(next.headers['x-cache']).toBe('MISS');
    expect(held).toEqual([]);
  });

  it('a fill lock whose release fails (past commandTimeout) is released once Redis answers again', async () => {
    const { cache } = await openCache({ redis: redis.url, commandTimeout: 100 });
    const store = cache._store;
    const taken = await store.acquire('e:k', async () => null, { coalesceTimeout: 1000, lockTtl: 60000 });
    expect(typeof taken.token).toBe('string');
    const locks = async () => (await control.keys(familyPattern('l:*'))).length;
    expect(await locks()).toBe(1);
    const unpause = await pauseWrites();
    // A write past commandTimeout: until Redis answers it, the connection fails new commands at
    // once, so the notice and the unlock below are never sent.
    await expect(store.command(['SET', 'other', '1'])).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_TIMEOUT' });
    const failed = once(cache, 'error');
    store.release('e:k', taken.token, false);
    expect((await failed)[0].code).toBe('ERR_RESPCACHE_REDIS_TIMEOUT');
    expect(await locks()).toBe(1);
    await unpause();
    await waitFor(async () => (await locks()) === 0, { timeout: 10000, interval: 10, what: 'the lock released after the pause' });
  });
});
