'use strict';

// Every option of cache.middleware(options), observed through real requests and the real Redis.
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, entryKey, waitFor } = require('../helpers/cache');
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

/** Serves app.METHOD(path, cache.middleware(options), handler), counting handler runs. */
async function route(options, handler = (req, res) => res.send('body'), { path = '/r', method = 'get' } = {}) {
  const app = express();
  app[method](path, cache.middleware(options), (req, res, next) => {
    calls++;
    handler(req, res, next);
  });
  http = await serve(app);
  return http;
}

const entryKeys = () => redis.keys(familyPattern('e:*'));

describe('ttl', () => {
  it('expires the entry after the given number of seconds', async () => {
    await route({ ttl: 7, exposeKey: true });
    await http.get('/r');
    const hit = await http.get('/r');
    expect(hit.headers['x-cache']).toBe('HIT');
    const pttl = await redis.client().pttl(entryKey(hit.headers['x-cache-key']));
    expect(pttl).toBeGreaterThan(5000);
    expect(pttl).toBeLessThanOrEqual(7000);
  });

  it('defaults to 300 seconds', async () => {
    await route({ exposeKey: true });
    await http.get('/r');
    const hit = await http.get('/r');
    expect(hit.headers['x-cache']).toBe('HIT');
    const pttl = await redis.client().pttl(entryKey(hit.headers['x-cache-key']));
    expect(pttl).toBeGreaterThan(290000);
    expect(pttl).toBeLessThanOrEqual(300000);
  });

  it('serves a MISS once the entry has expired in Redis', async () => {
    await route({ ttl: 60, exposeKey: true });
    const first = await http.get('/r');
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
    // Make Redis expire it now instead of sleeping for the ttl.
    expect(await redis.client().pexpire(entryKey(first.headers['x-cache-key']), 1)).toBe(1);
    await waitFor(async () => (await redis.client().exists(entryKey(first.headers['x-cache-key']))) === 0,
      { what: 'the entry to expire' });
    const after = await http.get('/r');
    expect(after.headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });
});

describe('the default key', () => {
  it('is "<keyPrefix>:<64 hex>" and the entry lives under "<cache prefix>:e:<key>"', async () => {
    await route({ exposeKey: true });
    const miss = await http.get('/r');
    expect(miss.headers['x-cache-key']).toMatch(/^respcache:[0-9a-f]{64}$/);
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
    expect(await entryKeys()).toEqual([entryKey(miss.headers['x-cache-key'])]);
  });
});

describe('keyPrefix', () => {
  it('prefixes the default key', async () => {
    await route({ keyPrefix: 'products', exposeKey: true });
    const miss = await http.get('/r');
    expect(miss.headers['x-cache-key']).toMatch(/^products:[0-9a-f]{64}$/);
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
    expect(await entryKeys()).toEqual([entryKey(miss.headers['x-cache-key'])]);
  });

  it('is handed to the keyBuilder', async () => {
    const prefixes = [];
    await route({ keyPrefix: 'custom', keyBuilder: (req, prefix) => { prefixes.push(prefix); return `${prefix}:k`; } });
    await http.get('/r');
    expect(prefixes).toEqual(['custom']);
  });

  it('hands the cache prefix to the keyBuilder when the route sets none', async () => {
    const prefixes = [];
    await route({ keyBuilder: (req, prefix) => { prefixes.push(prefix); return `${prefix}:k`; } });
    await http.get('/r');
    expect(prefixes).toEqual(['respcache']);
  });
});

describe('keyBuilder', () => {
  it('stores the entry under the key it returns', async () => {
    await route({ keyBuilder: (req, prefix) => `${prefix}:user:${req.params.id}`, exposeKey: true },
      (req, res) => res.json({ id: req.params.id }), { path: '/users/:id' });
    const miss = await http.get('/users/7');
    expect(miss.headers['x-cache-key']).toBe('respcache:user:7');
    const hit = await http.get('/users/7');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['x-cache-key']).toBe('respcache:user:7');
    expect(await entryKeys()).toEqual([redisName('e:respcache:user:7')]);
  });

  it('makes two requests share an entry when their keys are equal', async () => {
    await route({ keyBuilder: () => 'shared' }, (req, res) => res.send(`first was ${req.path}`),
      { path: '/p/:any' });
    expect((await http.get('/p/one')).text).toBe('first was /p/one');
    const other = await http.get('/p/two');
    expect(other.headers['x-cache']).toBe('HIT');
    expect(other.text).toBe('first was /p/one');
    expect(calls).toBe(1);
  });

  it('keeps two requests apart when their keys differ', async () => {
    await route({ keyBuilder: (req) => `k:${req.params.any}` }, (req, res) => res.send(req.params.any),
      { path: '/p/:any' });
    await http.get('/p/one');
    const two = await http.get('/p/two');
    expect(two.headers['x-cache']).toBe('MISS');
    expect(two.text).toBe('two');
    expect(calls).toBe(2);
  });

  it('may return a Promise of the key', async () => {
    await route({
      keyBuilder: (req, prefix) => new Promise((resolve) => setImmediate(() => resolve(`${prefix}:async:${req.query.q}`))),
      exposeKey: true,
    }, (req, res) => res.send(`q=${req.query.q}`));
    const miss = await http.get('/r?q=1');
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.headers['x-cache-key']).toBe('respcache:async:1');
    const hit = await http.get('/r?q=1');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('q=1');
    expect((await http.get('/r?q=2')).headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('may be an async function', async () => {
    await route({ keyBuilder: async () => 'async-fn' });
    await http.get('/r');
    expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
    expect(await entryKeys()).toEqual([redisName('e:async-fn')]);
  });

  describe('when a builder key looks like one of the cache\'s own keys', () => {
    it('cannot collide with the entry another key is stored under', async () => {
      const app = express();
      app.get('/a', cache.middleware({ keyBuilder: () => 'x' }), (req, res) => { calls++; res.send('A'); });
      app.get('/b', cache.middleware({ keyBuilder: () => redisName('e:x') }), (req, res) => { calls++; res.send('B'); });
      http = await serve(app);
      expect((await http.get('/a')).text).toBe('A');
      const b = await http.get('/b');
      expect(b.headers['x-cache']).toBe('MISS');
      expect(b.text).toBe('B');
      const a2 = await http.get('/a');
      const b2 = await http.get('/b');
      expect([a2.headers['x-cache'], a2.text]).toEqual(['HIT', 'A']);
      expect([b2.headers['x-cache'], b2.text]).toEqual(['HIT', 'B']);
      expect(calls).toBe(2);
      expect(await entryKeys()).toEqual([redisName(`e:${redisName('e:x')}`), redisName('e:x')]);
    });
  });
});

describe('condition', () => {
  it('receives the request, the response and the body as a Buffer', async () => {
    const seen = [];
    await route({
      condition: (req, res, body) => {
        seen.push({ path: req.path, status: res.statusCode, type: res.getHeader('content-type'),
          isBuffer: Buffer.isBuffer(body), body: Buffer.from(body) });
        return true;
      },
    }, (req, res) => { res.type('text/plain'); res.write('chunk1 '); res.end(Buffer.from([0xe2, 0x9c, 0x93])); });
    await http.get('/r');
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ path: '/r', status: 200, type: 'text/plain; charset=utf-8', isBuffer: true });
    expect(seen[0].body.equals(Buffer.from('chunk1 ✓'))).toBe(true);
  });

  it('hands over a Buffer for res.json too', async () => {
    const bodies = [];
    await route({ condition: (req, res, body) => { bodies.push(body); return true; } },
      (req, res) => res.json({ a: 1 }));
    await http.get('/r');
    expect(Buffer.isBuffer(bodies[0])).toBe(true);
    expect(bodies[0].toString()).toBe('{"a":1}');
  });

  describe('when it returns false', () => {
    it('does not store the response', async () => {
      await route({ condition: () => false });
      const first = await http.get('/r');
      const second = await http.get('/r');
      expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'MISS']);
      expect(second.text).toBe('body');
      expect(calls).toBe(2);
      expect(await entryKeys()).toEqual([]);
    });
  });

  describe('when it decides by the body', () => {
    it('stores only the responses it accepts', async () => {
      await route({ condition: (req, res, body) => !body.toString().includes('error') },
        (req, res) => res.send(req.query.fail ? 'error: try later' : 'fine'));
      await http.get('/r?fail=1');
      expect((await http.get('/r?fail=1')).headers['x-cache']).toBe('MISS');
      await http.get('/r');
      expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
      expect(calls).toBe(3);
    });
  });

  describe('when it returns a Promise', () => {
    it('stores the response when the Promise resolves to true', async () => {
      await route({ condition: async () => true });
      await http.get('/r');
      expect((await http.get('/r')).headers['x-cache']).toBe('HIT');
      expect(calls).toBe(1);
    });

    it('does not store the response when the Promise resolves to false', async () => {
      await route({ condition: () => Promise.resolve(false) });
      await http.get('/r');
      expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
      expect(calls).toBe(2);
    });
  });
});

describe('statuses', () => {
  it('stores only 200 by default', async () => {
    await route({}, (req, res) => res.status(404).send('not here'));
    const first = await http.get('/r');
    const second = await http.get('/r');
    expect([first.status, second.status]).toEqual([404, 404]);
    expect(second.headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('stores the listed statuses and serves them with their status', async () => {
    await route({ statuses: [200, 404] }, (req, res) => res.status(404).send('not here'));
    await http.get('/r');
    const hit = await http.get('/r');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.status).toBe(404);
    expect(hit.text).toBe('not here');
    expect(calls).toBe(1);
  });

  it('does not store a status missing from the list, even 200', async () => {
    await route({ statuses: [203] });
    await http.get('/r');
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });
});

describe('methods', () => {
  it('bypasses POST by default and runs the handler every time', async () => {
    await route({}, (req, res) => res.send('posted'), { method: 'post' });
    const first = await http.request('/r', { method: 'POST', body: 'x' });
    const second = await http.request('/r', { method: 'POST', body: 'x' });
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['BYPASS', 'BYPASS']);
    expect(second.text).toBe('posted');
    expect(calls).toBe(2);
    expect(await entryKeys()).toEqual([]);
  });

  it('throws a TypeError at setup for POST without a keyBuilder', () => {
    expect(() => cache.middleware({ methods: ['POST'] })).toThrow(expect.objectContaining({ name: 'TypeError' }));
  });

  describe('when POST is listed with a keyBuilder', () => {
    it('caches POST responses under the builder key', async () => {
      await route({ methods: ['POST'], keyBuilder: (req, prefix) => `${prefix}:search:${req.get('x-query')}` },
        (req, res) => res.json({ results: [req.get('x-query')] }), { method: 'post' });
      const opts = (q) => ({ method: 'POST', headers: { 'x-query': q }, body: '{}' });
      const miss = await http.request('/r', opts('shoes'));
      const hit = await http.request('/r', opts('shoes'));
      const other = await http.request('/r', opts('hats'));
      expect(miss.headers['x-cache']).toBe('MISS');
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.text).toBe('{"results":["shoes"]}');
      expect(other.headers['x-cache']).toBe('MISS');
      expect(other.text).toBe('{"results":["hats"]}');
      expect(calls).toBe(2);
      expect(await entryKeys()).toEqual([redisName('e:respcache:search:hats'), redisName('e:respcache:search:shoes')]);
    });

    it('bypasses a method that is not listed', async () => {
      await route({ methods: ['POST'], keyBuilder: () => 'only-post' }, (req, res) => res.send('any'),
        { method: 'all' });
      const put = await http.request('/r', { method: 'PUT', body: 'x' });
      expect(put.headers['x-cache']).toBe('BYPASS');
      expect(put.text).toBe('any');
    });
  });
});

describe('maxBodySize', () => {
  it('passes a larger response through intact and does not store it', async () => {
    const big = Buffer.alloc(1001, 'z');
    await route({ maxBodySize: 1000 }, (req, res) => res.type('text/plain').send(big));
    const first = await http.get('/r');
    const second = await http.get('/r');
    expect(first.body.equals(big)).toBe(true);
    expect(second.body.equals(big)).toBe(true);
    expect(second.headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
    expect(await entryKeys()).toEqual([]);
  });

  it('stores a response of exactly maxBodySize bytes', async () => {
    const exact = Buffer.alloc(1000, 'y');
    await route({ maxBodySize: 1000 }, (req, res) => res.type('text/plain').send(exact));
    await http.get('/r');
    const hit = await http.get('/r');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body.equals(exact)).toBe(true);
  });

  it('passes a larger streamed response through intact and does not store it', async () => {
    const chunk = Buffer.alloc(400);
    for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
    await route({ maxBodySize: 1000 }, (req, res) => {
      res.type('application/octet-stream');
      let n = 0;
      const next = () => {
        if (n++ < 5) { res.write(chunk); setImmediate(next); } else res.end();
      };
      next();
    });
    const expected = Buffer.concat(Array(5).fill(chunk));
    const first = await http.get('/r');
    const second = await http.get('/r');
    expect(first.body.equals(expected)).toBe(true);
    expect(second.body.equals(expected)).toBe(true);
    expect(second.headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
  });

  it('defaults to 1 MiB', async () => {
    const over = Buffer.alloc(1024 * 1024 + 1, 'o');
    const under = Buffer.alloc(512 * 1024, 'u');
    const app = express();
    app.get('/over', cache.middleware(), (req, res) => { calls++; res.type('text/plain').send(over); });
    app.get('/under', cache.middleware(), (req, res) => { calls++; res.type('text/plain').send(under); });
    http = await serve(app);
    await http.get('/over');
    const over2 = await http.get('/over');
    expect(over2.headers['x-cache']).toBe('MISS');
    expect(over2.body.equals(over)).toBe(true);
    await http.get('/under');
    const under2 = await http.get('/under');
    expect(under2.headers['x-cache']).toBe('HIT');
    expect(under2.body.equals(under)).toBe(true);
    expect(calls).toBe(3);
  });
});

describe('exposeKey', () => {
  it('adds X-Cache-Key with the same key on the MISS and the HIT', async () => {
    await route({ exposeKey: true, keyBuilder: () => 'visible' });
    const miss = await http.get('/r');
    const hit = await http.get('/r');
    expect(miss.headers['x-cache-key']).toBe('visible');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['x-cache-key']).toBe('visible');
  });

  it.each([['a character above U+00FF', 'price:\u20ac'], ['a control character', 'k\u0001']])(
    'leaves X-Cache-Key out for a key with %s (no header can carry it) and still caches', async (_what, key) => {
      await route({ exposeKey: true, keyBuilder: () => key });
      const miss = await http.get('/r');
      const hit = await http.get('/r');
      expect([miss.status, miss.headers['x-cache'], hit.headers['x-cache']]).toEqual([200, 'MISS', 'HIT']);
      expect(miss.headers['x-cache-key']).toBeUndefined();
      expect(await cache.delete(key)).toBe(true);
    });

  it('adds no X-Cache-Key by default', async () => {
    await route({ keyBuilder: () => 'hidden' });
    const miss = await http.get('/r');
    const hit = await http.get('/r');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(miss.headers['x-cache-key']).toBeUndefined();
    expect(hit.headers['x-cache-key']).toBeUndefined();
  });
});
