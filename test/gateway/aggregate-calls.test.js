'use strict';

// cache.aggregate(calls, options): service calls run concurrently through cache.fetch(), each with
// its own ttl and tags, merged with per-service errors; and an aggregated route whose own response
// is cached and tagged by cache.middleware(). Real origin servers, a real redis-server.
const zlib = require('zlib');
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, gate } = require('../helpers/cache');
const { startOrigin, json, deadUrl } = require('./fetch-fixtures');
const {
  AggregateCallError, UpstreamBodyError, UpstreamStatusError, UpstreamTimeoutError,
} = require('../../lib');

/** An origin handler answering this status, header fields and body at once. */
const answers = (status, headers, body) => (req, res) => {
  res.writeHead(status, headers);
  res.end(body);
};

let redis;
let cache;
let errors;
let users;
let orders;
let servers;

beforeAll(async () => {
  redis = await startRedis();
  ({ cache, errors } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
});
afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(async () => {
  await redis.client().flushall();
  errors.length = 0;
  servers = [];
  users = await startOrigin();
  orders = await startOrigin();
  users.handle = json((req) => ({ id: req.url.split('/').pop(), name: 'Ada' }), { 'Cache-Control': 'max-age=60' });
  orders.handle = json([{ id: 'o1' }]);
});
afterEach(async () => {
  await Promise.all([users.close(), orders.close(), ...servers.map((s) => s.close())]);
  expect(errors).toEqual([]);
});

describe('project rule: cache.aggregate() calls keyed by service name', () => {
  it('runs them concurrently and resolves with each status, headers and body (JSON parsed, else text)', async () => {
    const text = await startOrigin();
    text.handle = (req, res) => { res.setHeader('Content-Type', 'text/plain'); res.end('plain'); };
    // Concurrent: each of the two origins answers once both have a request (made one after the
    // other, the first call would wait for the second: it times out instead).
    const bothIn = gate();
    let arrived = 0;
    const held = (handle) => (req, res) => {
      if (++arrived === 2) bothIn.open();
      bothIn.promise.then(() => handle(req, res));
    };
    users.handle = held(users.handle);
    orders.handle = held(orders.handle);
    try {
      const out = await cache.aggregate({
        user: { url: `${users.url}/users/1` },
        orders: { url: `${orders.url}/orders?user=1`, headers: { accept: 'application/json' } },
        note: { url: `${text.url}/note` },
      }, { timeout: 5000 });
      expect(out.partial).toBe(false);
      expect(out.errors).toEqual({});
      expect(out.results.user).toMatchObject({ status: 200, body: { id: '1', name: 'Ada' } });
      expect(out.results.user.headers).toMatchObject({ 'content-type': 'application/json', 'x-cache': 'MISS' });
      expect(out.results.orders.body).toEqual([{ id: 'o1' }]);
      expect(out.results.note.body).toBe('plain');
      expect(orders.requests[0].headers.accept).toBe('application/json');
    } finally {
      await text.close();
    }
  });

  it('caches each call with its own ttl: the next aggregate is served from Redis (RFC 9111 4.2.1 freshness, else the call\'s ttl)', async () => {
    const calls = {
      user: { url: `${users.url}/users/1` }, // HTTP freshness: max-age=60
      orders: { url: `${orders.url}/orders?user=1`, ttl: 30 }, // no freshness from the origin: the call's ttl
      fresh: { url: `${orders.url}/orders?user=2` }, // neither: not stored
    };
    await cache.aggregate(calls);
    const again = await cache.aggregate(calls);
    expect(again.results.user.headers['x-cache']).toBe('HIT');
    expect(again.results.orders.headers['x-cache']).toBe('HIT');
    expect(again.results.fresh.headers['x-cache']).toBe('MISS');
    expect(users.count()).toBe(1);
    expect(orders.count('/orders?user=1')).toBe(1);
    expect(orders.count('/orders?user=2')).toBe(2);
  });

  it('tags each call\'s entry with its own tags', async () => {
    const calls = {
      user: { url: `${users.url}/users/1`, tags: ['user:1'] },
      orders: { url: `${orders.url}/orders?user=1`, ttl: 30, tags: ['orders:1'] },
    };
    await cache.aggregate(calls);
    await cache.invalidateTags(['orders:1']);
    const again = await cache.aggregate(calls);
    expect(again.results.user.headers['x-cache']).toBe('HIT');
    expect(again.results.orders.headers['x-cache']).toBe('MISS');
  });
});

describe('WHATWG mimesniff "JSON MIME type": which bodies are parsed', () => {
  it.each([
    ['application/json', true],
    ['Application/JSON', true],
    ['application/json; charset=utf-8', true],
    ['text/json', true],
    ['application/problem+json', true],
    ['application/vnd.api+json; charset=utf-8', true],
    ['text/x-custom+json', true],
    ['application/json-seq', false],
    ['application/jsonx', false],
    ['text/plain', false],
    ['image/json', false],
  ])('%s: parsed %s', async (type, parsed) => {
    orders.handle = answers(200, { 'Content-Type': type }, '{"a":1}');
    const out = await cache.aggregate({ x: { url: `${orders.url}/t` } });
    expect(out.results.x.body).toEqual(parsed ? { a: 1 } : '{"a":1}');
  });

  it('parses a body that was sent gzip-encoded (cache.fetch() decodes it: RFC 9110 8.4, WHATWG Fetch)', async () => {
    orders.handle = answers(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, zlib.gzipSync('{"a":1}'));
    const out = await cache.aggregate({ x: { url: `${orders.url}/gz`, headers: { 'accept-encoding': 'gzip' } } });
    expect(out.results.x.body).toEqual({ a: 1 });
    expect(out.results.x.headers['content-encoding']).toBe('gzip');
  });
});

describe('project rule: cache.aggregate() calls as an array of { name, url, ... }', () => {
  it('keys the results by name', async () => {
    const out = await cache.aggregate([
      { name: 'a', url: `${users.url}/users/2` },
      { name: 'b', url: `${orders.url}/orders`, method: 'GET' },
    ]);
    expect(Object.keys(out.results).sort()).toEqual(['a', 'b']);
    expect(out.results.a.body.id).toBe('2');
  });
});

describe('project rule: when a call of cache.aggregate() fails', () => {
  it('reports a service that is down in errors, with partial: true and the others\' results', async () => {
    const down = await deadUrl();
    const out = await cache.aggregate({ user: { url: `${users.url}/users/1` }, products: { url: `${down}/products` } });
    expect(out.partial).toBe(true);
    expect(out.results.user.status).toBe(200);
    expect(out.results.products).toBeUndefined();
    expect(out.errors.products).toMatchObject({ code: 'ERR_RESPCACHE_UPSTREAM' });
  });

  it('counts a non-2xx status as a failure (RFC 9110 15.3: 2xx is success), with a coded error holding the status and body', async () => {
    orders.handle = json({ error: 'busy' }, {}, { status: 503 });
    const out = await cache.aggregate({ user: { url: `${users.url}/users/1` }, orders: { url: `${orders.url}/orders` } });
    expect(out.partial).toBe(true);
    expect(out.errors.orders).toBeInstanceOf(UpstreamStatusError);
    expect(out.errors.orders).toMatchObject({ code: 'ERR_RESPCACHE_UPSTREAM_STATUS', status: 503, body: { error: 'busy' } });
    expect(out.errors.orders.message).toBe('the call "orders" of cache.aggregate() answered 503');
  });

  it('"timeout" fails a call that takes longer (per call; a call\'s own timeout wins), aborting its request', async () => {
    const ORDERS_DELAY_MS = 20000; // far longer than the timeouts: the call ends by its timeout
    const abandoned = gate();
    orders.handle = (req, res) => {
      const late = setTimeout(() => json([])(req, res), ORDERS_DELAY_MS);
      // Closed before the response was sent: the call was aborted, not merely no longer awaited.
      res.on('close', () => {
        clearTimeout(late);
        abandoned.open(!res.writableFinished);
      });
    };
    // The user call is answered only after the orders call timed out: past the aggregate's
    // timeout, within its own.
    const answerUser = users.handle;
    users.handle = (req, res) => abandoned.promise.then(() => answerUser(req, res));
    const t0 = Date.now();
    const out = await cache.aggregate({
      user: { url: `${users.url}/users/1`, timeout: 10000 },
      orders: { url: `${orders.url}/orders` },
    }, { timeout: 1000 });
    expect(out.results.user.status).toBe(200);
    expect(out.errors.orders).toBeInstanceOf(UpstreamTimeoutError);
    expect(out.errors.orders.message).toMatch(/the call "orders" of cache.aggregate\(\) had no complete response within 1000 ms/);
    expect(await abandoned.promise).toBe(true);
    expect(Date.now() - t0).toBeLessThan(ORDERS_DELAY_MS / 2);
  });

  it('RFC 9110 15: a non-2xx status fails the call whatever its body: UpstreamStatusError with the body as text when it does not parse', async () => {
    orders.handle = answers(502, { 'Content-Type': 'application/json' }, '<html>Bad gateway</html>');
    const out = await cache.aggregate({ orders: { url: `${orders.url}/orders` } });
    expect(out.errors.orders).toBeInstanceOf(UpstreamStatusError);
    expect(out.errors.orders).toMatchObject({ code: 'ERR_RESPCACHE_UPSTREAM_STATUS', status: 502, body: '<html>Bad gateway</html>' });
    expect(out.errors.orders.headers['content-type']).toBe('application/json');
    expect(out.errors.orders.message).toBe('the call "orders" of cache.aggregate() answered 502');
  });

  it('a non-2xx whose body cannot be read fails with UpstreamStatusError all the same (no body; the reason as cause)', async () => {
    orders.handle = answers(503, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' }, 'not gzip');
    const out = await cache.aggregate({ orders: { url: `${orders.url}/orders` } });
    expect(out.errors.orders).toBeInstanceOf(UpstreamStatusError);
    expect(out.errors.orders).toMatchObject({ status: 503, body: undefined, cause: { code: 'ERR_RESPCACHE_UPSTREAM_BODY' } });
  });

  it('a 2xx whose JSON body does not parse fails the call with UpstreamBodyError, holding the response and its text', async () => {
    orders.handle = answers(200, { 'Content-Type': 'application/json; charset=utf-8' }, '<html>oops');
    const out = await cache.aggregate({ orders: { url: `${orders.url}/orders` } });
    expect(out.errors.orders).toBeInstanceOf(UpstreamBodyError);
    expect(out.errors.orders).toMatchObject({ code: 'ERR_RESPCACHE_UPSTREAM_BODY', status: 200, body: '<html>oops' });
    expect(out.errors.orders.cause).toBeInstanceOf(SyntaxError);
    expect(out.errors.orders.message).toMatch(/^the call "orders" of cache.aggregate\(\) answered 200 with "application\/json; charset=utf-8" and a body that is not JSON: /);
  });

  it('keeps a failed call named "__proto__" (results and errors hold every name as their own)', async () => {
    const down = await deadUrl();
    const out = await cache.aggregate([{ name: '__proto__', url: `${down}/x` }, { name: 'constructor', url: `${users.url}/users/1` }]);
    expect(out.partial).toBe(true);
    expect(Object.keys(out.errors)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(out.errors)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out.errors, '__proto__').value).toMatchObject({ code: 'ERR_RESPCACHE_UPSTREAM' });
    expect(Object.keys(out.results)).toEqual(['constructor']);
    const err = await cache.aggregate({ ['__proto__']: { url: `${down}/x` } }, { allowPartial: false }).catch((e) => e);
    expect(err).toBeInstanceOf(AggregateCallError);
    expect(err.failed).toEqual(['__proto__']);
  });

  it('with allowPartial: false, rejects with an AggregateCallError naming the failed services', async () => {
    const down = await deadUrl();
    orders.handle = json({}, {}, { status: 500 });
    const call = cache.aggregate({
      user: { url: `${users.url}/users/1` }, orders: { url: `${orders.url}/orders` }, products: { url: `${down}/p` },
    }, { allowPartial: false });
    await expect(call).rejects.toBeInstanceOf(AggregateCallError);
    const err = await call.catch((e) => e);
    expect(err.code).toBe('ERR_RESPCACHE_AGGREGATE');
    expect(err.failed.sort()).toEqual(['orders', 'products']);
    expect(err.message).toMatch(/^cache.aggregate\(\): 2 of 3 calls failed: orders \(ERR_RESPCACHE_UPSTREAM_STATUS/);
    expect(err.errors.products.code).toBe('ERR_RESPCACHE_UPSTREAM');
    expect(err.results.user.status).toBe(200);
  });
});

describe('project rule: invalid arguments of cache.aggregate()', () => {
  it.each([
    ['calls', () => cache.aggregate('x'), /the calls of cache.aggregate\(\) to be an object keyed by service name/],
    ['name', () => cache.aggregate([{ url: 'http://a/' }]), /call 0 of cache.aggregate\(\) .* non-empty "name"/],
    ['name', () => cache.aggregate([{ name: 'a', url: 'http://a/' }, { name: 'a', url: 'http://b/' }]), /"a" is repeated/],
    ['url', () => cache.aggregate({ a: { url: 'nope' } }), /"url" of cache.fetch\(\) .* \(call "a" of cache.aggregate\(\)\)/],
    ['ttl', () => cache.aggregate({ a: { url: 'http://a/', ttl: 'x' } }), /"ttl" option of cache.fetch\(\)/],
    ['allowPartial', () => cache.aggregate({}, { allowPartial: 'no' }), /"allowPartial" option of cache.aggregate\(\)/],
    ['timeout', () => cache.aggregate({}, { timeout: 0 }), /"timeout" option of cache.aggregate\(\)/],
    ['misspelt', () => cache.aggregate({}, { allowpartial: false }), /did you mean "allowPartial"/],
  ])('rejects a bad "%s" with a TypeError naming it, before any call', async (name, call, message) => {
    await expect(call()).rejects.toThrow(TypeError);
    await expect(call()).rejects.toThrow(message);
  });
});

describe('project rule: an aggregated route cached by cache.middleware()', () => {
  it('is stored and tagged: HIT without any service call, MISS after its tag is invalidated', async () => {
    const app = express();
    app.get('/profile/:id', cache.middleware({ ttl: 60, tags: (req) => [`profile:${req.params.id}`] }), async (req, res, next) => {
      try {
        const { results, partial } = await cache.aggregate({
          user: { url: `${users.url}/users/${req.params.id}`, tags: [`user:${req.params.id}`] },
          orders: { url: `${orders.url}/orders?user=${req.params.id}`, ttl: 10 },
        }, { timeout: 2000 });
        res.json({ user: results.user && results.user.body, orders: results.orders && results.orders.body, partial });
      } catch (err) {
        next(err);
      }
    });
    const http = await serve(app);
    servers.push(http);
    const first = await http.get('/profile/1');
    expect(first.status).toBe(200);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(JSON.parse(first.text)).toEqual({ user: { id: '1', name: 'Ada' }, orders: [{ id: 'o1' }], partial: false });
    const second = await http.get('/profile/1');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.text).toBe(first.text);
    expect(users.count() + orders.count()).toBe(2);
    await cache.invalidateTags(['profile:1']);
    const third = await http.get('/profile/1');
    expect(third.headers['x-cache']).toBe('MISS');
    // The route ran again, but its service calls were answered from their own entries.
    expect(users.count() + orders.count()).toBe(2);
  });

  it('is not stored when partial, with the no-store of api.md\'s and the README\'s example (RFC 9111 5.2.2.5)', async () => {
    const down = await deadUrl();
    const app = express();
    app.get('/profile/:id', cache.middleware({ ttl: 30 }), async (req, res) => {
      const { results, partial } = await cache.aggregate({
        user: { url: `${users.url}/users/${req.params.id}` },
        orders: { url: `${down}/orders?user=${req.params.id}` },
      }, { timeout: 2000 });
      if (partial) res.set('Cache-Control', 'no-store');
      res.json({ ...results, partial });
    });
    const http = await serve(app);
    servers.push(http);
    expect(JSON.parse((await http.get('/profile/1')).text).partial).toBe(true);
    const again = await http.get('/profile/1');
    expect(again.headers['x-cache']).toBe('MISS');
    expect(JSON.parse(again.text).partial).toBe(true);
  });
});
