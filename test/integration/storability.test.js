'use strict';

// Which responses are stored: never errors, Set-Cookie, or Cache-Control: no-store / private.
// The cache's clock is a fake one (test/helpers/clock.js): entries are stamped and aged by it.
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches } = require('../helpers/cache');
const { fakeClock, withClock } = require('../helpers/clock');
const binding = require('../../lib/binding');
const { keys } = require('../../lib');
const { familyPattern } = require('../helpers/layout');

let redis;
let cache;
let http;
let calls;
const clock = fakeClock();

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache(withClock({ redis: redis.url, commandTimeout: 1000 }, clock)));
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

async function route(handler, options = {}) {
  const app = express();
  app.get('/r', cache.middleware(options), (req, res, next) => { calls++; handler(req, res, next); });
  http = await serve(app);
}

/** Two requests; asserts both ran the handler and nothing is in Redis. */
async function expectNotStored(expectedStatus = 200, expectedBody) {
  const first = await http.get('/r');
  const second = await http.get('/r');
  expect(first.status).toBe(expectedStatus);
  expect(second.status).toBe(expectedStatus);
  expect(first.headers['x-cache']).toBe('MISS');
  expect(second.headers['x-cache']).toBe('MISS');
  if (expectedBody !== undefined) expect(second.text).toBe(expectedBody);
  expect(calls).toBe(2);
  expect(await redis.keys('respcache:*')).toEqual([]);
  return second;
}

describe('when the handler answers 500', () => {
  it('is not stored', async () => {
    await route((req, res) => res.status(500).send('boom'));
    await expectNotStored(500, 'boom');
  });

  it('is not stored when statuses lists other codes', async () => {
    await route((req, res) => res.status(503).send('later'), { statuses: [200, 404] });
    await expectNotStored(503, 'later');
  });
});

describe('when a handler error goes to the Express error handler', () => {
  it('is not stored and reaches the client as the app\'s own 500', async () => {
    await route((req, res, next) => next(new Error('handler failed')));
    const second = await expectNotStored(500);
    expect(second.text).toContain('handler failed');
  });
});

describe('when the response has "Set-Cookie"', () => {
  it('is not stored', async () => {
    await route((req, res) => res.cookie('session', 'abc').send('personal'));
    const second = await expectNotStored(200, 'personal');
    expect(second.headers['set-cookie']).toEqual(['session=abc; Path=/']);
  });
});

describe('when a middleware before the cache adds "Set-Cookie" as the headers are written', () => {
  it('is not stored (express-session and cookie-session add their cookie that way)', async () => {
    const app = express();
    let session = 0;
    app.use((req, res, next) => {
      // What the on-headers module does: wrap writeHead, set the header when it runs.
      const writeHead = res.writeHead;
      res.writeHead = function withCookie(...args) {
        res.writeHead = writeHead;
        this.setHeader('Set-Cookie', `sid=${++session}; HttpOnly`);
        return writeHead.apply(this, args);
      };
      next();
    });
    app.get('/r', cache.middleware(), (req, res) => { calls++; res.send(`form for session ${session + 1}`); });
    http = await serve(app);
    const second = await expectNotStored(200, 'form for session 2');
    expect(second.headers['set-cookie']).toEqual(['sid=2; HttpOnly']);
  });
});

describe('when statuses lists 204', () => {
  it('stores the 204 and answers its HIT without a body or a Content-Length', async () => {
    await route((req, res) => res.status(204).set('X-Done', 'yes').end(), { statuses: [204] });
    const miss = await http.get('/r');
    const hit = await http.get('/r');
    expect([miss.status, miss.headers['x-cache'], hit.status, hit.headers['x-cache']]).toEqual([204, 'MISS', 204, 'HIT']);
    expect(hit.headers['x-done']).toBe('yes');
    expect(hit.headers['content-length']).toBeUndefined();
    expect(hit.rawHeaders.map((h) => h.toLowerCase())).not.toContain('content-length');
    expect(hit.body.length).toBe(0);
  });
});

describe('when the body is shorter than the Content-Length the response declared', () => {
  it('is not stored: no HIT replays a cut-short response as a complete one', async () => {
    await route((req, res) => {
      res.setHeader('Content-Length', '10');
      res.write('short');
      res.end(); // the source failed half-way
    });
    for (let i = 0; i < 2; i++) {
      await expect(http.get('/r', { agent: false })).rejects.toThrow(/aborted/);
    }
    expect(calls).toBe(2);
    expect(await redis.keys('respcache:*')).toEqual([]);
  });
});

describe('when res.end() refuses what the handler gives it', () => {
  it('is not stored: the next request runs the handler again', async () => {
    await route((req, res) => {
      try {
        res.end({ not: 'a chunk' });
      } catch (err) {
        res.status(500).end(`refused: ${err.code}`);
      }
    });
    const first = await http.get('/r');
    expect([first.status, first.text]).toEqual([500, 'refused: ERR_INVALID_ARG_TYPE']);
    const second = await http.get('/r');
    expect([second.status, second.headers['x-cache']]).toEqual([500, 'MISS']);
    expect(await redis.keys('respcache:*')).toEqual([]);
  });
});

describe.each([
  ['no-store'],
  ['private'],
  ['private, max-age=60'],
  ['public, max-age=60, no-store'],
  ['No-Store'],
  ['PRIVATE'],
])('when the response has "Cache-Control: %s"', (value) => {
  it('is not stored', async () => {
    await route((req, res) => res.set('Cache-Control', value).send('secret'));
    const second = await expectNotStored(200, 'secret');
    expect(second.headers['cache-control']).toBe(value);
  });
});

describe('when the response has "Cache-Control: public, max-age=60"', () => {
  it('is stored, and the header is served with the HIT', async () => {
    await route((req, res) => res.set('Cache-Control', 'public, max-age=60').send('shared'));
    await http.get('/r');
    const hit = await http.get('/r');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['cache-control']).toBe('public, max-age=60');
    expect(hit.text).toBe('shared');
    expect(calls).toBe(1);
  });
});

describe('when the response has a header whose name merely contains "private"', () => {
  it('is stored', async () => {
    await route((req, res) => res.set('X-Private-Note', 'fine').set('Cache-Control', 'max-age=5').send('ok'));
    await http.get('/r');
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
    expect(calls).toBe(1);
  });
});

describe('when the request carries credentials and the route uses the default key', () => {
  describe.each([
    ['Authorization', { authorization: 'Bearer alice-token' }],
    ['Cookie', { cookie: 'session=alice' }],
  ])('with "%s"', (_name, headers) => {
    it('does not store a response that is not marked public', async () => {
      await route((req, res) => res.send(`for ${req.get('authorization') || req.get('cookie')}`));
      const first = await http.get('/r', { headers });
      const second = await http.get('/r', { headers });
      expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'MISS']);
      expect(calls).toBe(2);
      expect(await redis.keys('respcache:*')).toEqual([]);
      // Nor is it served to someone else.
      const anonymous = await http.get('/r');
      expect(anonymous.headers['x-cache']).toBe('MISS');
    });

    it('stores a response marked "Cache-Control: public"', async () => {
      await route((req, res) => res.set('Cache-Control', 'public, max-age=60').send('same for all'));
      await http.get('/r', { headers });
      const anonymous = await http.get('/r');
      expect(anonymous.headers['x-cache']).toBe('HIT');
      expect(anonymous.text).toBe('same for all');
      expect(calls).toBe(1);
    });
  });

  describe('when the response is shared only by "must-revalidate" or "s-maxage" (RFC 9111 section 3.5)', () => {
    const alice = { authorization: 'Bearer alice' };

    it('does not store "max-age=0, must-revalidate": no other user or anonymous request gets it', async () => {
      await route((req, res) => res.set('Cache-Control', 'max-age=0, must-revalidate')
        .send(`for ${req.get('authorization') || 'anyone'}`), { ttl: 300 });
      await http.get('/r', { headers: alice });
      const bob = await http.get('/r', { headers: { authorization: 'Bearer bob' } });
      const anonymous = await http.get('/r');
      expect([bob.headers['x-cache'], bob.text]).toEqual(['MISS', 'for Bearer bob']);
      expect([anonymous.headers['x-cache'], anonymous.text]).toEqual(['MISS', 'for anyone']);
      expect(calls).toBe(3);
    });

    it.each([
      ['max-age=60, must-revalidate', 60000],
      ['s-maxage=30, max-age=600', 30000],
    ])('stores "%s" for the response\'s own freshness, never the route ttl', async (cc, lifetimeMs) => {
      await route((req, res) => res.set('Cache-Control', cc).send('shared'), { ttl: 3600 });
      await http.get('/r', { headers: alice });
      const [key] = await redis.keys(familyPattern('e:*'));
      const entry = binding.decodeEntry(await redis.client().getBuffer(key));
      expect([entry.storedAt, entry.expiresAt]).toEqual([clock.now(), clock.now() + lifetimeMs]);
      expect(await redis.client().pttl(key)).toBeLessThanOrEqual(lifetimeMs);
      const anonymous = await http.get('/r');
      expect([anonymous.headers['x-cache'], anonymous.text]).toEqual(['HIT', 'shared']);
    });

    it.each([
      ['public, max-age=0, must-revalidate', 0],
      ['public, s-maxage=30', 30000],
      ['s-maxage=3600', 3600000 - 3599000, { age: '3599' }],
    ])('keeps "%s" (even public, less its Age) for its own freshness only', async (cc, lifetimeMs, extra = {}) => {
      await route((req, res) => res.set({ 'Cache-Control': cc, ...extra }).send('shared'), { ttl: 3600 });
      await http.get('/r', { headers: alice });
      const [key] = await redis.keys(familyPattern('e:*'));
      if (lifetimeMs === 0) {
        expect(key).toBeUndefined();
        return;
      }
      expect(await redis.client().pttl(key)).toBeLessThanOrEqual(lifetimeMs);
      expect(await redis.client().pttl(key)).toBeGreaterThan(0);
    });

    it.each([
      ['s-maxage=30, stale-if-error=0', { staleWhileRevalidate: 600 }],
      ['s-maxage=30, stale-while-revalidate=600', {}],
    ])('keeps "%s" in Redis no longer than its freshness, whatever the stale windows', async (cc, options) => {
      await route((req, res) => res.set('Cache-Control', cc).send('shared'), { ttl: 3600, ...options });
      await http.get('/r', { headers: alice });
      const [key] = await redis.keys(familyPattern('e:*'));
      expect(await redis.client().pttl(key)).toBeLessThanOrEqual(30000);
    });

    it('runs the handler for every use once the entry is stale, even with a stale window on the route', async () => {
      await route((req, res) => res.set('Cache-Control', 'max-age=60, must-revalidate').send(`run ${calls}`),
        { ttl: 3600, staleWhileRevalidate: 600, staleIfError: 600 });
      await http.get('/r', { headers: alice });
      expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
      // Age the stored entry past its freshness without waiting: Redis keeps it (for 60 s of real
      // time), the clock says it is a millisecond past its max-age.
      clock.advance(60001);
      expect(await redis.keys(familyPattern('e:*'))).toHaveLength(1);
      const anonymous = await http.get('/r');
      expect([anonymous.headers['x-cache'], anonymous.text]).toEqual(['MISS', 'run 2']);
      expect(calls).toBe(2);
    });
  });

  it.each([
    ['keys.default', () => keys.default],
    ['keys.withHeaders([\'x-tenant\'])', () => keys.withHeaders(['x-tenant'])],
  ])('applies the same rules with keyBuilder: %s, which is the built-in key', async (_name, builder) => {
    await route((req, res) => res.send(`for ${req.get('authorization') || 'anyone'}`), { keyBuilder: builder() });
    await http.get('/r', { headers: { authorization: 'Bearer alice' } });
    const bob = await http.get('/r', { headers: { authorization: 'Bearer bob' } });
    const anonymous = await http.get('/r');
    expect([bob.headers['x-cache'], bob.text]).toEqual(['MISS', 'for Bearer bob']);
    expect([anonymous.headers['x-cache'], anonymous.text]).toEqual(['MISS', 'for anyone']);
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
  });

  it('stores it when a keyBuilder separates the users', async () => {
    await route((req, res) => res.send(`for ${req.get('authorization')}`),
      { keyBuilder: (req, prefix) => `${prefix}:user:${req.get('authorization')}` });
    await http.get('/r', { headers: { authorization: 'alice' } });
    const alice = await http.get('/r', { headers: { authorization: 'alice' } });
    const bob = await http.get('/r', { headers: { authorization: 'bob' } });
    expect([alice.headers['x-cache'], alice.text]).toEqual(['HIT', 'for alice']);
    expect([bob.headers['x-cache'], bob.text]).toEqual(['MISS', 'for bob']);
  });
});

describe('when a request with credentials meets an entry stored for an anonymous request', () => {
  it.each([
    ['Authorization', { authorization: 'Bearer alice' }],
    ['Cookie', { cookie: 'session=alice' }],
  ])('with "%s", is not served the entry unless it was marked shareable', async (_name, headers) => {
    await route((req, res) => res.send(req.get('authorization') || req.get('cookie') ? 'for you' : 'for anyone'));
    await http.get('/r');
    const withCredentials = await http.get('/r', { headers });
    expect([withCredentials.headers['x-cache'], withCredentials.text]).toEqual(['MISS', 'for you']);
    expect(calls).toBe(2);
    const anonymous = await http.get('/r');
    expect([anonymous.headers['x-cache'], anonymous.text]).toEqual(['HIT', 'for anyone']);
  });

  it('is served an entry whose response said "Cache-Control: public"', async () => {
    await route((req, res) => res.set('Cache-Control', 'public, max-age=60').send('shared'));
    await http.get('/r');
    const hit = await http.get('/r', { headers: { authorization: 'Bearer bob' } });
    expect([hit.headers['x-cache'], hit.text]).toEqual(['HIT', 'shared']);
    expect(calls).toBe(1);
  });
});
