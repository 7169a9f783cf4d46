'use strict';

// The front lane, cache.front(app): HITs held in process memory for routes with `front: true`
// answered before the Express app runs; everything else answered by the app as usual.
const http = require('http');
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { openCache, closeCaches } = require('../helpers/cache');
const { rawRequest } = require('../helpers/raw-http');
const { fakeClock } = require('../helpers/clock');
const { familyPattern } = require('../helpers/layout');
const { waitFor } = require('../helpers/wait');

let redis;
const servers = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  await closeCaches();
  if (redis) await redis.close();
});

/** GET (or another method) on the server, resolving { status, headers, text }. */
function request(port, path, { method = 'GET', headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers, agent: false }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * An app whose every request passes a counting middleware before the routes, served through the
 * cache's front lane. Resolves { port, seen, calls }.
 */
async function frontServer(cache, routes) {
  const app = express();
  const counts = { seen: 0, calls: 0 };
  app.use((req, res, next) => { counts.seen++; next(); });
  routes(app, counts);
  const server = http.createServer(cache.front(app));
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return { port: server.address().port, counts };
}

const handler = (counts, text = 'body') => (req, res) => {
  counts.calls++;
  res.type('text').send(`${text} ${counts.calls} ${JSON.stringify(req.query)}`);
};

describe.each([
  ['the embedded store', () => ({})],
  ['the near cache', () => ({ redis: redis.url, local: true })],
])('on %s', (name, options) => {
  let cache;
  let port;
  let counts;
  const clock = fakeClock();

  beforeAll(async () => {
    await redis.client().flushall();
    ({ cache } = await openCache({ ...options(), [Symbol.for('respcache.clock')]: clock }));
    ({ port, counts } = await frontServer(cache, (app, c) => {
      app.get('/front', cache.middleware({ ttl: 60, front: true, exposeKey: true }), handler(c));
      app.get('/route', cache.middleware({ ttl: 60 }), handler(c));
      app.get('/fresh', cache.middleware({ ttl: 60, front: true, honorRequestNoCache: true }), handler(c));
      app.get('/short', cache.middleware({ ttl: 30, front: true }), handler(c));
      app.get('/nocache', cache.middleware({ ttl: 60, front: true }), (req, res) => {
        c.calls++;
        res.set('Cache-Control', 'no-cache').send(`nocache ${c.calls}`);
      });
      app.get('/getonly', cache.middleware({ ttl: 60, front: true, methods: ['GET'] }), handler(c));
      app.get('/public', cache.middleware({ ttl: 60, front: true }), (req, res) => {
        c.calls++;
        res.set('Cache-Control', 'public, max-age=60').send(`public ${c.calls}`);
      });
    }));
  });

  beforeEach(() => {
    counts.seen = 0;
    counts.calls = 0;
  });

  it('answers a HIT of a front route before the app runs, with what the route would answer', async () => {
    const miss = await request(port, '/front?b=2&a=1');
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(counts.seen).toBe(1);
    const hit = await request(port, '/front?b=2&a=1');
    expect(hit.status).toBe(200);
    expect(hit.text).toBe(miss.text);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['x-cache-tier']).toBe('local');
    expect(hit.headers['x-cache-key']).toBe(miss.headers['x-cache-key']);
    expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
    expect(hit.headers.etag).toBe(miss.headers.etag);
    expect(counts).toEqual({ seen: 1, calls: 1 }); // the app never saw the HIT
    expect(cache.stats().localHits).toBeGreaterThanOrEqual(1);
  });

  it('leaves another spelling of the target to the app, which answers it from the same entry', async () => {
    const miss = await request(port, '/front?d=4&c=3');
    const other = await request(port, '/front?c=3&d=4'); // the same query for the key, not the same bytes
    expect([other.headers['x-cache'], other.text]).toEqual(['HIT', miss.text]);
    expect(counts).toEqual({ seen: 2, calls: 1 });
  });

  it('answers HEAD and conditional requests as the route would', async () => {
    const miss = await request(port, '/front?x=head');
    const head = await request(port, '/front?x=head', { method: 'HEAD' });
    expect([head.status, head.text, head.headers['x-cache']]).toEqual([200, '', 'HIT']);
    expect(head.headers['content-length']).toBe(String(Buffer.byteLength(miss.text)));
    const notModified = await request(port, '/front?x=head', { headers: { 'if-none-match': miss.headers.etag } });
    expect([notModified.status, notModified.text]).toEqual([304, '']);
    expect(counts.seen).toBe(1);
  });

  it('leaves entries of routes that did not opt in to the app', async () => {
    await request(port, '/route');
    const hit = await request(port, '/route');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(counts).toEqual({ seen: 2, calls: 1 });
  });

  it('leaves a different query, a miss, to the app', async () => {
    await request(port, '/front?q=1');
    const other = await request(port, '/front?q=2');
    expect(other.headers['x-cache']).toBe('MISS');
    expect(other.text).toBe('body 2 {"q":"2"}');
    expect(counts.seen).toBe(2);
  });

  it('leaves requests with credentials to the app unless the entry says it may be shared', async () => {
    await request(port, '/front?c=1');
    const withCookie = await request(port, '/front?c=1', { headers: { cookie: 'sid=1' } });
    expect(withCookie.text).toBe('body 2 {"c":"1"}'); // the route runs the handler for it
    expect(counts.seen).toBe(2);
    await request(port, '/public');
    const shared = await request(port, '/public', { headers: { authorization: 'Bearer x' } });
    expect([shared.headers['x-cache'], shared.text]).toEqual(['HIT', 'public 3']);
    expect(counts.seen).toBe(3);
  });

  it('leaves a request asking for a fresh answer to the app on a route that honours it', async () => {
    await request(port, '/fresh');
    const fresh = await request(port, '/fresh', { headers: { 'cache-control': 'no-cache' } });
    expect(fresh.headers['x-cache']).toBe('MISS');
    expect(counts).toEqual({ seen: 2, calls: 2 });
    await request(port, '/front?f=1');
    const ignored = await request(port, '/front?f=1', { headers: { 'cache-control': 'no-cache' } });
    expect(ignored.headers['x-cache']).toBe('HIT'); // /front does not honour it, as its route would not
    expect(counts.seen).toBe(3);
  });

  it('leaves an entry marked no-cache to the app', async () => {
    await request(port, '/nocache');
    const again = await request(port, '/nocache');
    expect(again.text).toBe('nocache 2');
    expect(counts.seen).toBe(2);
  });

  it('leaves an expired entry to the app', async () => {
    await request(port, '/short');
    clock.advance(29999);
    expect((await request(port, '/short')).headers['x-cache']).toBe('HIT');
    expect(counts.seen).toBe(1);
    clock.advance(1); // the entry's freshness ends (the store still holds it)
    const expired = await request(port, '/short');
    expect(expired.headers['x-cache']).toBe('MISS');
    expect(counts).toEqual({ seen: 2, calls: 2 });
  });

  it('stops answering an entry once it is invalidated', async () => {
    await request(port, '/front?i=1');
    await request(port, '/front?i=1');
    expect(counts.seen).toBe(1);
    await cache.invalidatePath('/front');
    const after = await request(port, '/front?i=1');
    expect(after.headers['x-cache']).toBe('MISS');
    expect(counts.seen).toBe(2);
  });

  it('leaves a HEAD to the app on a route that does not cache HEAD', async () => {
    await request(port, '/getonly');
    expect((await request(port, '/getonly')).headers['x-cache']).toBe('HIT');
    const head = await request(port, '/getonly', { method: 'HEAD' });
    expect(head.headers['x-cache']).toBe('BYPASS');
    expect(counts).toEqual({ seen: 2, calls: 2 });
  });

  it('hands writes and unknown paths to the app', async () => {
    const post = await request(port, '/front', { method: 'POST' });
    expect(post.status).toBe(404);
    const missing = await request(port, '/nowhere');
    expect(missing.status).toBe(404);
    expect(counts.seen).toBe(2);
  });
});

describe('entries the lane may not answer', () => {
  it('a front entry of a route that has not opted in in this process (an earlier deployment left it)', async () => {
    const { localTier } = require('../helpers/internals');
    const binding = require('../../lib/binding');
    const { cache } = await openCache({});
    const { port, counts } = await frontServer(cache, (app, c) => {
      app.get('/front', cache.middleware({ ttl: 60, front: true }), handler(c));
      app.get('/secret', cache.middleware({ ttl: 60, exposeKey: true }), handler(c, 'secret'));
    });
    await request(port, '/front'); // a front route exists and keys under the same prefix
    const miss = await request(port, '/secret');
    // Rewrite /secret's entry as a front route of another deployment would have stored it.
    const name = `e:${miss.headers['x-cache-key']}`;
    const entry = binding.decodeEntry(localTier(cache._store).get(name));
    const now = Date.now();
    localTier(cache._store).set(name, binding.encodeEntry(200, entry.headers, entry.body, now, now + 60000,
      { flags: 1 | 8, route: '/secret\n/secret' }), 60000);
    const again = await request(port, '/secret');
    expect(again.headers['x-cache']).toBe('HIT'); // answered by the route, through the app
    expect(counts.seen).toBe(3);
  });
});

describe('query spellings Express parses otherwise than the raw text says', () => {
  it.each([['Express 5', 'express'], ['Express 4', 'express4']])('%s: a "#" in the target', async (name, pkg) => {
    const framework = require(pkg);
    const { cache } = await openCache({});
    const app = framework();
    const counts = { seen: 0, calls: 0 };
    app.set('query parser', 'extended');
    app.use((req, res, next) => { counts.seen++; next(); });
    app.get('/search', cache.middleware({ ttl: 60, front: true }), handler(counts));
    const server = http.createServer(cache.front(app));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const port = server.address().port;
    const raw = (target) => rawRequest(port, target, { headers: { host: 'front.test' } });
    const first = await raw("/search?q=%25%27#");
    expect(first.headers['x-cache']).toBe('MISS');
    const second = await raw("/search?q=%'#x");
    // Through Express this query is not the first one's: its own handler run, not the first entry.
    expect(second.text).not.toBe(first.text);
    expect(counts.seen).toBe(2);
  });

  it('Express 4: a query parser set after the first route', async () => {
    const qs = require('qs');
    const express4 = require('express4');
    const { cache } = await openCache({});
    const app = express4();
    const counts = { seen: 0, calls: 0 };
    app.use((req, res, next) => { counts.seen++; next(); });
    app.get('/item', cache.middleware({ ttl: 60, front: true }), (req, res) => {
      counts.calls++;
      res.json({ query: req.query });
    });
    app.set('query parser', (s) => qs.parse(s, { allowDots: true })); // Express 4 ignores it now
    const server = http.createServer(cache.front(app));
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const port = server.address().port;
    await request(port, '/item?filter[owner]=alice');
    const dotted = await request(port, '/item?filter.owner=alice');
    expect(JSON.parse(dotted.text)).toEqual({ query: { 'filter.owner': 'alice' } });
    expect(counts).toEqual({ seen: 2, calls: 2 });
  });
});

describe('on a Redis store without an in-process tier', () => {
  it('answers a HIT of a key this process stored lately with one GET, before the app runs', async () => {
    await redis.client().flushall();
    const { cache } = await openCache({ redis: redis.url });
    const { port, counts } = await frontServer(cache, (app, c) => {
      app.get('/front', cache.middleware({ ttl: 60, front: true }), handler(c));
    });
    const miss = await request(port, '/front');
    // The MISS is answered before its store has resolved; the lane knows the key once it has
    // (under load the next request can come first, and rightly goes through the app).
    await waitFor(() => cache.stats().stores === 1, { what: 'the MISS stored' });
    const hit = await request(port, '/front');
    expect([hit.headers['x-cache'], hit.text]).toEqual(['HIT', miss.text]);
    expect(hit.headers['x-cache-tier']).toBeUndefined(); // from Redis
    expect(counts).toEqual({ seen: 1, calls: 1 });
    expect(cache.stats().hits).toBeGreaterThanOrEqual(1);
  });

  it('leaves a key it never read or wrote to the app, and one whose entry is gone', async () => {
    await redis.client().flushall();
    const { cache } = await openCache({ redis: redis.url });
    const { cache: other } = await openCache({ redis: redis.url });
    const { port, counts } = await frontServer(cache, (app, c) => {
      app.get('/front', cache.middleware({ ttl: 60, front: true }), handler(c));
    });
    const { port: otherPort } = await frontServer(other, (app, c) => {
      app.get('/front', other.middleware({ ttl: 60, front: true }), handler(c));
    });
    await request(otherPort, '/front?o=1', { headers: { host: 'front.test' } }); // stored by another process
    const fromOther = await request(port, '/front?o=1', { headers: { host: 'front.test' } });
    expect(fromOther.headers['x-cache']).toBe('HIT'); // answered by the route, through the app
    expect(counts.seen).toBe(1);
    await request(port, '/front?g=1');
    await redis.client().eval("for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end", 0, familyPattern('e:*'));
    const gone = await request(port, '/front?g=1');
    expect(gone.headers['x-cache']).toBe('MISS');
    expect(counts.seen).toBe(3);
  });
});

describe('a raw request the lane cannot key', () => {
  it('goes to the app', async () => {
    const { cache } = await openCache({});
    const { port, counts } = await frontServer(cache, (app, c) => {
      app.get('/front', cache.middleware({ ttl: 60, front: true }), handler(c));
    });
    // A target the lane's key refuses (a lone surrogate cannot come off the wire; a malformed
    // escape in the query is the query parser's business): the app answers it.
    const raw = await rawRequest(port, '/front?%ZZ');
    expect(raw.status).toBe(200);
    expect(counts.seen).toBe(1);
  });
});

describe('the "front" option', () => {
  it('is refused with a keyBuilder, a namespace or vary headers, and when not a boolean', async () => {
    const { cache } = await openCache({});
    expect(() => cache.middleware({ front: true, keyBuilder: () => 'k' })).toThrow(/"front" option needs the built-in key without a "keyBuilder"/);
    expect(() => cache.middleware({ front: true, namespace: 'n' })).toThrow(/without a "namespace"/);
    expect(() => cache.middleware({ front: true, vary: ['accept-language'] })).toThrow(/without "vary" headers/);
    expect(() => cache.middleware({ front: 'yes' })).toThrow(TypeError);
    expect(() => cache.front()).toThrow(/cache.front\(app\)/);
  });
});
