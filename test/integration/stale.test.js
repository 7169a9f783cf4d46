'use strict';

// Serving expired entries: stale-while-revalidate (STALE at once, one background refresh through
// the app), stale-if-error (STALE when the handler fails), what forbids both, and conditional
// requests and HEAD on STALE. Expired entries are planted in Redis with their times in the past
// of the caches' clock (a fake one, test/helpers/clock.js), and windows and the back-off after a
// failed refresh end by advancing it: no test waits for an entry to age. Timers (handlerTimeout)
// and Redis key lifetimes stay on real time.
const express5 = require('express');
const express4 = require('express4');
const binding = require('../../lib/binding');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, entryKey, once, gate } = require('../helpers/cache');
const { fakeClock, withClock } = require('../helpers/clock');
const { onFlightJoin } = require('../helpers/internals');

let redis;
let cache;
// The clock of every cache in this file: entries are stamped, aged and judged by it.
const clock = fakeClock();
let errors;
let servers;
let calls;
// Each test its own key: a refresh's per-key state in the cache (a failed refresh is not retried
// for a second of the clock) must not carry over to the next test.
let key;
let keySeq = 0;

beforeAll(async () => {
  redis = await startRedis();
  ({ cache, errors } = await openCache(withClock({ redis: redis.url, commandTimeout: 1000 }, clock)));
});
afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(async () => {
  await redis.client().flushall();
  errors.length = 0;
  calls = 0;
  servers = [];
  key = `k${++keySeq}`;
});
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

/** Serves GET /r through cache.middleware(options) and `handler` (counted), on express. */
async function route(options, handler, { express = express5, useCache = cache, before = null } = {}) {
  const app = express();
  if (before) app.use(before);
  app.get('/r', useCache.middleware({ keyBuilder: () => key, ...options }), (req, res, next) => {
    calls++;
    return handler(req, res, next);
  });
  const http = await serve(app);
  servers.push(http);
  return http;
}

const OLD_HEADERS = ['content-type', 'text/plain; charset=utf-8', 'etag', '"old"', 'cache-control', 'max-age=60'];

/**
 * Plants an entry for this test's key that expired `expiredMs` ago by the caches' clock (stored 60 s
 * before that), kept in Redis for another `keepMs` (real time).
 */
async function plant({ expiredMs = 1000, headers = OLD_HEADERS, body = 'old', keepMs = 60000 } = {}) {
  const expiresAt = clock.now() - expiredMs;
  await redis.client().set(entryKey(key), binding.encodeEntry(200, headers, Buffer.from(body), expiresAt - 60000, expiresAt),
    'PX', keepMs);
  return expiresAt;
}

async function stored() {
  const bytes = await redis.client().getBuffer(entryKey(key));
  return bytes === null ? null : binding.decodeEntry(bytes);
}

/** The codes of the errors reported about this test's key (a previous test's refresh may still report). */
const codes = () => errors.filter((e) => e.message.includes(`"${key}"`)).map((e) => e.code);

/** Resolves with the next error `on` reports about this test's key. */
function nextErrorAbout(on = cache) {
  const about = `"${key}"`;
  return new Promise((resolve) => {
    on.on('error', function onError(err) {
      if (!err.message.includes(about)) return;
      on.removeListener('error', onError);
      resolve(err);
    });
  });
}

describe('stale-while-revalidate', () => {
  it('keeps the entry in Redis for ttl plus the window, with expiresAt at the end of the ttl', async () => {
    const http = await route({ ttl: 10, staleWhileRevalidate: 20 }, (req, res) => res.send('x'));
    await http.get('/r');
    const pttl = await redis.client().pttl(entryKey(key));
    expect(pttl).toBeGreaterThan(28000);
    expect(pttl).toBeLessThanOrEqual(30000);
    const entry = await stored();
    expect(entry.expiresAt - entry.storedAt).toBe(10000);
  });

  it('takes the window from the response\'s stale-while-revalidate when the route sets none', async () => {
    const http = await route({ ttl: 10 }, (req, res) => res.set('Cache-Control', 'max-age=10, stale-while-revalidate=30').send('x'));
    await http.get('/r');
    expect(await redis.client().pttl(entryKey(key))).toBeGreaterThan(38000);
  });

  it('stores a max-age=0 response with a window under ttl: "http", and serves it stale from the start', async () => {
    const http = await route({ ttl: 'http' }, (req, res) => res.set('Cache-Control', 'max-age=0, stale-while-revalidate=30').send(`v${calls}`));
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    const refreshed = once(cache, 'refreshed');
    const stale = await http.get('/r');
    expect([stale.headers['x-cache'], stale.text]).toEqual(['STALE', 'v1']);
    await refreshed;
    // Stale again at once; let its refresh end inside this test.
    const again = once(cache, 'refreshed');
    const next = await http.get('/r');
    expect([next.headers['x-cache'], next.text]).toEqual(['STALE', 'v2']);
    await again;
  });

  it('answers from the expired entry at once with X-Cache: STALE and Age, while one refresh runs', async () => {
    const release = gate();
    const entered = gate();
    const http = await route({ staleWhileRevalidate: 30 }, async (req, res) => {
      entered.open();
      await release.promise;
      res.send('new');
    });
    await plant();
    const staleBefore = cache.stats().stale;
    const replies = await Promise.all(Array.from({ length: 20 }, () => http.get('/r', { agent: false })));
    expect(cache.stats().stale - staleBefore).toBe(20);
    for (const reply of replies) {
      expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([200, 'STALE', 'old']);
      expect(reply.headers.age).toBe('61'); // stored 61 s before now by the clock
      expect(reply.headers['x-cache-age']).toBe(reply.headers.age);
      expect(reply.headers.etag).toBe('"old"');
    }
    await entered.promise;
    const refreshed = once(cache, 'refreshed');
    // More stale requests while the refresh is running start no other one.
    expect((await http.get('/r')).headers['x-cache']).toBe('STALE');
    release.open();
    expect(await refreshed).toEqual([key]);
    expect(calls).toBe(1);
    expect(codes()).toEqual([]);
  });

  it('replaces the entry with the refreshed response: the next request is a HIT with the new body', async () => {
    const http = await route({ ttl: 60, staleWhileRevalidate: 30 }, (req, res) => res.send('new'));
    await plant();
    const refreshed = once(cache, 'refreshed');
    expect((await http.get('/r')).text).toBe('old');
    await refreshed;
    const hit = await http.get('/r');
    expect([hit.headers['x-cache'], hit.text]).toEqual(['HIT', 'new']);
    expect(hit.headers.age).toBe('0');
    expect(await redis.client().pttl(entryKey(key))).toBeGreaterThan(88000);
    expect(calls).toBe(1);
  });

  describe.each([
    ['Express 4', express4],
    ['Express 5', express5],
  ])('on %s', (_name, express) => {
    it('runs the refresh through the app\'s middleware with a real response: res.json works and app headers are stored', async () => {
      const seen = [];
      const before = (req, res, next) => {
        res.set('X-App', 'set by app middleware');
        next();
      };
      const http = await route({ staleWhileRevalidate: 30 }, (req, res) => {
        seen.push({ method: req.method, client: req.get('x-client'), inm: req.get('if-none-match'), ip: req.ip });
        res.json({ v: 'new' });
      }, { express, before });
      await plant();
      const refreshed = once(cache, 'refreshed');
      const stale = await http.head('/r', { headers: { 'x-client': 'c1', 'if-none-match': '"nope"' } });
      expect(stale.headers['x-cache']).toBe('STALE');
      await refreshed;
      const hit = await http.get('/r');
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.headers['x-app']).toBe('set by app middleware');
      expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(hit.text)).toEqual({ v: 'new' });
      // A GET for the same URL with the client's headers, less its conditions, from its address.
      expect(seen).toEqual([{ method: 'GET', client: 'c1', inm: undefined, ip: '127.0.0.1' }]);
    });
  });

  it('refreshes a route of a sub-app mounted under a path, through the root app', async () => {
    const app = express5();
    const api = express5();
    const seen = [];
    app.use((req, res, next) => { seen.push(`root ${req.url}`); next(); });
    api.get('/r', cache.middleware({ keyBuilder: () => key, staleWhileRevalidate: 30 }), (req, res) => {
      seen.push(`api ${req.originalUrl}`);
      res.send('new');
    });
    app.use('/api', api);
    const http = await serve(app);
    servers.push(http);
    await plant();
    const refreshed = once(cache, 'refreshed');
    expect((await http.get('/api/r?x=1')).headers['x-cache']).toBe('STALE');
    await refreshed;
    expect(seen).toEqual(['root /api/r?x=1', 'root /api/r?x=1', 'api /api/r?x=1']);
  });

  it('refreshes in embedded mode (no Redis) too', async () => {
    const saved = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
    let embedded;
    try {
      ({ cache: embedded } = await openCache(withClock({}, clock)));
    } finally {
      if (saved !== undefined) process.env.REDIS_URL = saved;
    }
    const http = await route({ ttl: 'http' }, (req, res) => res.set('Cache-Control', 'max-age=0, stale-while-revalidate=30').send(`v${calls}`),
      { useCache: embedded });
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    const refreshed = once(embedded, 'refreshed');
    expect((await http.get('/r')).text).toBe('v1');
    await refreshed;
    const again = once(embedded, 'refreshed');
    const next = await http.get('/r');
    expect([next.headers['x-cache'], next.text]).toEqual(['STALE', 'v2']);
    await again;
  });

  it('is refreshed by one process only when several serve it stale', async () => {
    const release = gate();
    const entered = gate();
    const { cache: other } = await openCache(withClock({ redis: redis.url, commandTimeout: 1000 }, clock));
    const handler = async (req, res) => {
      entered.open();
      await release.promise;
      res.send('new');
    };
    const one = await route({ staleWhileRevalidate: 30 }, handler);
    const two = await route({ staleWhileRevalidate: 30 }, handler, { useCache: other });
    await plant();
    expect((await one.get('/r')).headers['x-cache']).toBe('STALE');
    await entered.promise;
    expect((await two.get('/r')).headers['x-cache']).toBe('STALE');
    // The other process's lock attempt went out before its response; this command follows it.
    await other.get('sync');
    const refreshed = once(cache, 'refreshed');
    release.open();
    await refreshed;
    expect(calls).toBe(1);
    expect((await two.get('/r')).text).toBe('new');
  });

  describe.each([
    ['answers 500', { staleWhileRevalidate: 30 }, (req, res) => res.status(500).send('down'), /answered 500/],
    ['throws', { staleWhileRevalidate: 30 }, () => { throw new Error('boom'); }, /failed: boom/],
    ['exceeds handlerTimeout', { staleWhileRevalidate: 30, handlerTimeout: 100 }, () => {}, /within 100 ms/],
  ])('when the refresh %s', (_what, options, handler, message) => {
    it('reports ERR_RESPCACHE_REFRESH and keeps the stale entry', async () => {
      const http = await route(options, handler);
      await plant();
      const failed = nextErrorAbout();
      expect((await http.get('/r')).headers['x-cache']).toBe('STALE');
      await failed;
      expect(codes()).toEqual(['ERR_RESPCACHE_REFRESH']);
      expect(errors.find((e) => e.code === 'ERR_RESPCACHE_REFRESH').message).toMatch(message);
      const again = await http.get('/r');
      expect([again.headers['x-cache'], again.text]).toEqual(['STALE', 'old']);
      expect((await stored()).body.toString()).toBe('old');
    });
  });

  it('keeps serving stale after a failed refresh until the window ends, then runs the handler', async () => {
    const http = await route({ staleWhileRevalidate: 2 }, (req, res) => res.status(500).send('down'));
    /** The next reply, and the refresh failure it started if `refreshes` (reported on 'error'). */
    async function next(refreshes) {
      const failed = refreshes ? nextErrorAbout() : null;
      const reply = await http.get('/r');
      if (failed) expect((await failed).code).toBe('ERR_RESPCACHE_REFRESH');
      return [reply.status, reply.headers['x-cache'], reply.text];
    }
    const STALE = [200, 'STALE', 'old'];
    // 1.6 s of the 2 s window left.
    const windowEnd = await plant({ expiredMs: 400 }) + 2000;
    expect(await next(true)).toEqual(STALE);
    expect(calls).toBe(1);
    // Within a second of the failure, no other refresh starts.
    clock.advance(999);
    expect(await next(false)).toEqual(STALE);
    expect(calls).toBe(1);
    // A second after it, the next stale request refreshes again (and fails again).
    clock.advance(1);
    expect(await next(true)).toEqual(STALE);
    expect(calls).toBe(2);
    // The last millisecond of the window is still STALE (the second failure holds back a refresh).
    clock.set(windowEnd - 1);
    expect(await next(false)).toEqual(STALE);
    expect(calls).toBe(2);
    // Once the window has ended, the handler runs for the request, and its answer goes out.
    clock.set(windowEnd);
    expect(await next(false)).toEqual([500, 'MISS', 'down']);
    expect(calls).toBe(3);
    expect(codes()).toEqual(['ERR_RESPCACHE_REFRESH', 'ERR_RESPCACHE_REFRESH']);
  });

  it('is off with staleWhileRevalidate: 0 even when the response grants a window', async () => {
    const http = await route({ staleWhileRevalidate: 0 }, (req, res) => res.send('new'));
    await plant({ headers: ['cache-control', 'max-age=60, stale-while-revalidate=600'] });
    const reply = await http.get('/r');
    expect([reply.headers['x-cache'], reply.text]).toEqual(['MISS', 'new']);
  });
});

describe('stale-while-revalidate with a compression layer after the cache', () => {
  it('refreshes with an unencoded response and keeps the entry, whatever the client accepts', async () => {
    await plant();
    const compression = require('compression');
    const app = express5();
    app.get('/r', cache.middleware({ keyBuilder: () => key, staleWhileRevalidate: 30 }), compression({ threshold: 0 }),
      (req, res) => { calls++; res.type('text/plain').send(`new ${'x'.repeat(2000)}`); });
    const http = await serve(app);
    servers.push(http);
    const refreshed = once(cache, 'refreshed', 5000);
    const stale = await http.get('/r', { headers: { 'accept-encoding': 'gzip' } });
    expect(stale.headers['x-cache']).toBe('STALE');
    await refreshed;
    const entry = await stored();
    expect(String(entry.body).startsWith('new ')).toBe(true);
    expect(entry.headers.map((h) => h.toLowerCase())).not.toContain('content-encoding');
  });
});

describe('stale-while-revalidate on a cached POST route', () => {
  it('runs the handler for the POST instead of refreshing it in the background as a bodiless GET', async () => {
    await plant();
    const app = express5();
    app.use(express5.json());
    app.all('/r', cache.middleware({ keyBuilder: () => key, methods: ['POST'], staleWhileRevalidate: 30 }),
      (req, res) => {
        calls++;
        res.send(`${req.method} ${req.body && req.body.q}`);
      });
    const http = await serve(app);
    servers.push(http);
    const reply = await http.request('/r', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"q":"shoes"}' });
    expect([reply.headers['x-cache'], reply.text]).toEqual(['MISS', 'POST shoes']);
    expect(calls).toBe(1);
    expect(String((await stored()).body)).toBe('POST shoes');
  });
});

describe('stale-if-error', () => {
  const options = { staleIfError: 60, handlerTimeout: 150 };

  describe.each([
    ['answers 503', (req, res) => res.status(503).send('down')],
    ['calls next(err)', (req, res, next) => next(new Error('boom'))],
    ['throws', () => { throw new Error('boom'); }],
    ['answers 500 through the app\'s error handler', (req, res, next) => next(Object.assign(new Error('x'), { status: 500 }))],
  ])('when the handler %s', (_what, handler) => {
    it('answers from the stale entry with X-Cache: STALE and reports ERR_RESPCACHE_HANDLER_FAILED', async () => {
      const app = express5();
      app.get('/r', cache.middleware({ keyBuilder: () => key, ...options }), handler);
      app.use((err, req, res, next) => res.status(err.status || 500).set('X-Error-Page', '1').json({ error: err.message }));
      const http = await serve(app);
      servers.push(http);
      await plant();
      const reply = await http.get('/r');
      expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([200, 'STALE', 'old']);
      expect(reply.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(reply.headers['x-error-page']).toBeUndefined();
      expect(reply.headers.age).toBe('61');
      expect(codes()).toEqual(['ERR_RESPCACHE_HANDLER_FAILED']);
      expect((await stored()).body.toString()).toBe('old');
    });
  });

  it('answers from the stale entry when the handler has not answered within handlerTimeout, and ignores its late answer', async () => {
    // Each handler run answers only once the client has its STALE reply: no race with a timer.
    const runs = [0, 1].map(() => ({ release: gate(), answered: gate(), done: false }));
    let calls = 0;
    const http = await route(options, async (req, res) => {
      const run = runs[calls++];
      await run.release.promise;
      run.done = true;
      res.status(200).json({ late: true });
      run.answered.open();
    });
    await plant();
    const reply = await http.get('/r');
    expect(runs[0].done).toBe(false);
    runs[0].release.open();
    expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([200, 'STALE', 'old']);
    expect(codes()).toEqual(['ERR_RESPCACHE_HANDLER_FAILED']);
    expect(errors.find((e) => e.code === 'ERR_RESPCACHE_HANDLER_FAILED').message).toMatch(/within 150 ms/);
    await runs[0].answered.promise;
    // The connection is still good after the late answer went nowhere, and it was not stored.
    const after = await http.get('/r');
    runs[1].release.open();
    expect(after.reusedSocket).toBe(true);
    expect([after.headers['x-cache'], after.text]).toEqual(['STALE', 'old']);
    await runs[1].answered.promise;
    expect(calls).toBe(2);
  });

  it('keeps the connection when the handler fails after handlerTimeout answered from the entry', async () => {
    const late = gate();
    const lateErrorSeen = gate();
    const app = express5();
    app.get('/r', cache.middleware({ keyBuilder: () => key, ...options }), async () => {
      await late.promise;
      throw new Error('the database timed out');
    });
    // The next request on the same connection lets the late error happen while it is answered.
    app.get('/next', async (req, res) => {
      late.open();
      await lateErrorSeen.promise;
      setImmediate(() => res.send('next ok'));
    });
    app.use((err, req, res, next) => {
      lateErrorSeen.open();
      next(err); // on to Express's final handler
    });
    const http = await serve(app);
    servers.push(http);
    await plant();
    const reply = await http.get('/r');
    expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([200, 'STALE', 'old']);
    const next = await http.get('/next');
    expect([next.status, next.text, next.reusedSocket]).toEqual([200, 'next ok', true]);
  });

  it('answers from the stale entry when Express\'s final handler answers the error', async () => {
    const http = await route(options, () => { throw new Error('boom'); });
    await plant();
    const reply = await http.get('/r');
    expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([200, 'STALE', 'old']);
    expect(reply.headers['content-security-policy']).toBeUndefined();
  });

  it('serves and stores the handler\'s response when it succeeds', async () => {
    const http = await route(options, (req, res) => res.send('new'));
    await plant();
    const reply = await http.get('/r');
    expect([reply.headers['x-cache'], reply.text]).toEqual(['MISS', 'new']);
    expect((await http.get('/r')).text).toBe('new');
    expect(codes()).toEqual([]);
  });

  it('answers every concurrent request from the stale entry after one failed handler run', async () => {
    // The handler fails once the 9 other requests have joined its run. No handlerTimeout: it would
    // race with the joins (a run cut short before the last one joined leaves it to run its own).
    // Should they never all join, the runs fail after 10 s, each its own.
    const joined = gate();
    let n = 0;
    onFlightJoin(cache, () => { if (++n === 9) joined.open(); });
    const giveUp = setTimeout(joined.open, 10000);
    const http = await route({ staleIfError: options.staleIfError },
      (req, res) => joined.promise.then(() => res.status(502).send('bad gateway')));
    await plant();
    const replies = await Promise.all(Array.from({ length: 10 }, () => http.get('/r', { agent: false })));
    clearTimeout(giveUp);
    expect(replies.map((r) => `${r.status} ${r.headers['x-cache']} ${r.text}`)).toEqual(Array(10).fill('200 STALE old'));
    expect(calls).toBe(1);
    expect(codes()).toEqual(['ERR_RESPCACHE_HANDLER_FAILED']);
  });

  it('does not apply once the window has passed: the handler\'s error goes out', async () => {
    const http = await route(options, (req, res) => res.status(500).send('down'));
    await plant({ expiredMs: 61000 });
    const reply = await http.get('/r');
    expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([500, 'MISS', 'down']);
  });

  it('takes the window from the response\'s stale-if-error when the route sets none', async () => {
    const http = await route({}, (req, res) => res.status(500).send('down'));
    await plant({ headers: ['cache-control', 'max-age=60, stale-if-error=120'] });
    expect((await http.get('/r')).text).toBe('old');
  });
});

describe('responses that forbid being served stale', () => {
  describe.each([
    ['max-age=60, must-revalidate'],
    ['max-age=60, proxy-revalidate'],
    ['s-maxage=60'],
  ])('Cache-Control: %s', (value) => {
    const options = { staleWhileRevalidate: 60, staleIfError: 60 };

    it('is a MISS once expired, and the handler\'s error goes out', async () => {
      const http = await route(options, (req, res) => res.status(500).send('down'));
      await plant({ headers: ['cache-control', value] });
      const reply = await http.get('/r');
      expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([500, 'MISS', 'down']);
    });

    it('is kept in Redis for its ttl only', async () => {
      const http = await route({ ...options, ttl: 10 }, (req, res) => res.set('Cache-Control', value).send('x'));
      await http.get('/r');
      expect(await redis.client().pttl(entryKey(key))).toBeLessThanOrEqual(10000);
    });
  });

  it('may be served stale with s-maxage when the same response grants the window', async () => {
    const http = await route({}, (req, res) => res.send('new'));
    await plant({ headers: ['cache-control', 's-maxage=60, stale-while-revalidate=30'] });
    const refreshed = once(cache, 'refreshed');
    expect((await http.get('/r')).headers['x-cache']).toBe('STALE');
    await refreshed;
  });
});

describe('conditional requests and HEAD on STALE', () => {
  const headers = [...OLD_HEADERS, 'vary', 'Accept-Language', 'last-modified', 'Tue, 10 Nov 2026 10:00:00 GMT'];

  describe.each([
    ['stale-while-revalidate', { staleWhileRevalidate: 30 }],
    ['stale-if-error', { staleIfError: 30 }],
  ])('within %s', (_what, options) => {
    beforeEach(() => plant({ headers }));
    const failing = (req, res) => res.status(500).send('down');

    it.each([
      ['If-None-Match', { 'if-none-match': '"old"' }],
      ['If-Modified-Since', { 'if-modified-since': 'Wed, 11 Nov 2026 10:00:00 GMT' }],
    ])('answers a matching %s with 304, ETag, Cache-Control and Vary, and no body', async (_name, conditions) => {
      const http = await route(options, failing);
      const reply = await http.get('/r', { headers: conditions });
      expect([reply.status, reply.headers['x-cache'], reply.body.length]).toEqual([304, 'STALE', 0]);
      expect(reply.headers.etag).toBe('"old"');
      expect(reply.headers['cache-control']).toBe('max-age=60');
      expect(reply.headers.vary).toBe('Accept-Language');
      expect(reply.headers['content-type']).toBeUndefined();
    });

    it('answers a HEAD with the headers and Content-Length, without a body', async () => {
      const http = await route(options, failing);
      const reply = await http.head('/r');
      expect([reply.status, reply.headers['x-cache'], reply.body.length]).toEqual([200, 'STALE', 0]);
      expect(reply.headers['content-length']).toBe('3');
      expect(reply.headers.etag).toBe('"old"');
    });
  });
});

describe('option errors', () => {
  it.each([
    ['staleWhileRevalidate', '30', TypeError],
    ['staleWhileRevalidate', -1, RangeError],
    ['staleWhileRevalidate', NaN, TypeError],
    ['staleIfError', true, TypeError],
    ['staleIfError', -0.5, RangeError],
    ['handlerTimeout', '100', TypeError],
    ['handlerTimeout', 0, RangeError],
    ['handlerTimeout', 1.5, RangeError],
  ])('rejects %s: %p with a %p naming it', (name, value, Class) => {
    expect(() => cache.middleware({ [name]: value })).toThrow(Class);
    expect(() => cache.middleware({ [name]: value })).toThrow(`"${name}"`);
  });

  it('suggests the option a misspelling meant', () => {
    expect(() => cache.middleware({ staleWhileRevalidat: 1 })).toThrow('did you mean "staleWhileRevalidate"?');
  });
});
