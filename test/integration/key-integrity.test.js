'use strict';

// Cache-key integrity: the built-in key and the route Express runs always agree. Two requests share
// a key exactly when they have the same method (HEAD as GET), Host, path as sent (up to "?" or "#",
// never decoded), URL-parser path (a "#" or whitespace in the target makes Express use another
// parser) and deep-equal req.query; a crafted target never lands in another route's entry.
const { isDeepStrictEqual } = require('util');
const express5 = require('express');
const express4 = require('express4');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { rawRequest } = require('../helpers/raw-http');
const { openCache, closeCaches } = require('../helpers/cache');

let redis;
let cache;
let errors;
const servers = [];

beforeAll(async () => {
  redis = await startRedis();
  ({ cache, errors } = await openCache({ redis: redis.url, commandTimeout: 2000 }));
});

afterAll(async () => {
  for (const s of servers) await s.close();
  await closeCaches();
  if (redis) await redis.close();
});

beforeEach(async () => {
  await redis.client().flushall();
  errors.length = 0;
});

async function listen(app) {
  const s = await serve(app);
  servers.push(s);
  return s;
}

const get = (s, target, headers) => rawRequest(s.port, target, { headers });

// Express 4 writes a catch-all as "/app/*", Express 5 as "/app/*rest".
const versions = [
  ['Express 4', express4, '/app/*'],
  ['Express 5', express5, '/app/*rest'],
];

describe.each(versions)('%s: a percent-encoded unreserved character in the path', (_v, express, wildcard) => {
  it('does not let /app/ap%69 (routed to the catch-all) fill the entry of /app/api', async () => {
    const app = express();
    app.get('/app/api', cache.middleware(), (req, res) => res.json({ api: true }));
    app.get(wildcard, cache.middleware(), (req, res) => res.type('html').send('<html>shell</html>'));
    const s = await listen(app);
    const crafted = await get(s, '/app/ap%69');
    expect(crafted.text).toBe('<html>shell</html>');
    expect(crafted.headers['x-cache']).toBe('MISS');
    const real = await get(s, '/app/api');
    expect(real.headers['x-cache']).toBe('MISS');
    expect(JSON.parse(real.text)).toEqual({ api: true });
    expect((await get(s, '/app/api')).headers['x-cache']).toBe('HIT');
  });

  it('does not let a router-level cache store /site/pag%65 (a 404) as /site/page', async () => {
    const app = express();
    const site = express.Router();
    site.use(cache.middleware({ statuses: [200, 404] }));
    site.get('/page', (req, res) => res.send('the page'));
    site.use((req, res) => res.status(404).send('no such page'));
    app.use('/site', site);
    const s = await listen(app);
    const crafted = await get(s, '/site/pag%65');
    expect(crafted.status).toBe(404);
    const real = await get(s, '/site/page');
    expect(real.status).toBe(200);
    expect(real.text).toBe('the page');
    expect(real.headers['x-cache']).toBe('MISS');
  });
});

describe.each(versions)('%s: a raw "#" in the request target', (_v, express) => {
  let s;
  beforeAll(async () => {
    const app = express();
    app.get('/k/p', cache.middleware({ exposeKey: true }), (req, res) => res.json(req.query));
    s = await listen(app);
  });

  it.each([
    ['/k/p?q=c#', '/k/p?q=c%23', { q: 'c#' }],
    ['/k/p?q=c#x&b=2', '/k/p?q=c%23x&b=2', { q: 'c#x', b: '2' }],
  ])('does not let %s fill the entry of %s', async (crafted, real, realQuery) => {
    const first = await get(s, crafted);
    expect(JSON.parse(first.text)).toEqual({ q: 'c' });
    const second = await get(s, real);
    expect(second.headers['x-cache']).toBe('MISS');
    expect(JSON.parse(second.text)).toEqual(realQuery);
    expect(second.headers['x-cache-key']).not.toBe(first.headers['x-cache-key']);
  });

  it('still shares one entry between a target with a fragment and the same target with another one', async () => {
    const a = await get(s, '/k/p?q=1#one');
    const b = await get(s, '/k/p?q=1#two');
    expect(b.headers['x-cache']).toBe('HIT');
    expect(b.headers['x-cache-key']).toBe(a.headers['x-cache-key']);
  });
});

describe('invalid UTF-8 in a query value', () => {
  it('keys %E9%41 and %E9A apart under Express 4, whose parser returns different strings', async () => {
    const app = express4();
    app.get('/q', cache.middleware({ exposeKey: true }), (req, res) => res.json(req.query));
    const s = await listen(app);
    const one = await get(s, '/q?q=%E9%41');
    const two = await get(s, '/q?q=%E9A');
    expect(JSON.parse(one.text)).not.toEqual(JSON.parse(two.text));
    expect(two.headers['x-cache']).toBe('MISS');
    expect(two.headers['x-cache-key']).not.toBe(one.headers['x-cache-key']);
  });

  it('shares the key under Express 5, whose parser returns the same string for both', async () => {
    const app = express5();
    app.get('/q', cache.middleware({ exposeKey: true }), (req, res) => res.json(req.query));
    const s = await listen(app);
    const one = await get(s, '/q?q=%E9%41');
    const two = await get(s, '/q?q=%E9A');
    expect(JSON.parse(one.text)).toEqual({ q: '\uFFFDA' });
    expect(two.headers['x-cache']).toBe('HIT');
    expect(two.headers['x-cache-key']).toBe(one.headers['x-cache-key']);
  });
});

describe('the app\'s "query parser" setting', () => {
  it('keys by what a custom parser returns', async () => {
    const app = express5();
    // A parser that ignores everything but "id": other parameters never reach the handler.
    app.set('query parser', (text) => ({ id: new URLSearchParams(text).get('id') }));
    app.get('/p', cache.middleware({ exposeKey: true }), (req, res) => res.json(req.query));
    const s = await listen(app);
    const a = await get(s, '/p?id=1&utm=x');
    const b = await get(s, '/p?utm=y&id=1');
    const c = await get(s, '/p?id=2');
    expect(b.headers['x-cache']).toBe('HIT');
    expect(c.headers['x-cache']).toBe('MISS');
    expect(JSON.parse(c.text)).toEqual({ id: '2' });
    expect(a.headers['x-cache-key']).toBe(b.headers['x-cache-key']);
  });

  it.each([['Express 4', express4], ['Express 5', express5]])(
    'with the parser turned off (%s), keys the raw query: the handler must be reading it', async (_v, express) => {
      const app = express();
      app.set('query parser', false);
      app.get('/p', cache.middleware({ exposeKey: true }), (req, res) => res.send(new URL(req.originalUrl, 'http://x').searchParams.get('q')));
      const s = await listen(app);
      const a = await get(s, '/p?q=a');
      const b = await get(s, '/p?q=b');
      expect([b.headers['x-cache'], b.text]).toEqual(['MISS', 'b']);
      expect(b.headers['x-cache-key']).not.toBe(a.headers['x-cache-key']);
      expect((await get(s, '/p?q=a')).headers['x-cache']).toBe('HIT');
    });

  it('keys Express 4\'s nested (extended) queries by their structure', async () => {
    const app = express4();
    app.get('/p', cache.middleware({ exposeKey: true }), (req, res) => res.json(req.query));
    const s = await listen(app);
    const a = await get(s, '/p?f[a]=1&f[b]=2');
    const b = await get(s, '/p?f[b]=2&f[a]=1');
    const c = await get(s, '/p?f=1');
    expect(b.headers['x-cache']).toBe('HIT');
    expect(JSON.parse(b.text)).toEqual({ f: { a: '1', b: '2' } });
    expect(c.headers['x-cache-key']).not.toBe(a.headers['x-cache-key']);
  });

  it('does not cache a request whose parsed query holds something it cannot compare', async () => {
    const app = express5();
    app.set('query parser', () => ({ when: new Map() }));
    let runs = 0;
    app.get('/p', cache.middleware(), (req, res) => res.send(String(++runs)));
    const s = await listen(app);
    expect((await get(s, '/p?x')).headers['x-cache']).toBe('BYPASS');
    expect((await get(s, '/p?x')).text).toBe('2');
    expect(errors.map((e) => e.code)).toContain('ERR_RESPCACHE_KEY_BUILDER');
  });
});

describe('a rewrite of req.url before the cache', () => {
  it.each([['Express 4', express4], ['Express 5', express5]])(
    '%s: /index.php?page=X rewritten to /X keys each page apart', async (_v, express) => {
      const app = express();
      app.use((req, res, next) => {
        if (req.path === '/index.php' && req.query.page) req.url = `/${req.query.page}`;
        next();
      });
      app.get('/:page', cache.middleware({ exposeKey: true }), (req, res) => res.send(`page ${req.params.page}`));
      const s = await listen(app);
      const admin = await get(s, '/index.php?page=admin');
      const about = await get(s, '/index.php?page=about');
      expect(admin.text).toBe('page admin');
      expect([about.headers['x-cache'], about.text]).toEqual(['MISS', 'page about']);
      expect(about.headers['x-cache-key']).not.toBe(admin.headers['x-cache-key']);
      expect((await get(s, '/index.php?page=about')).text).toBe('page about');
    });

  it('a rewrite that depends on a header keys each destination apart', async () => {
    const app = express5();
    app.use((req, res, next) => {
      if (req.get('x-variant') === 'b') req.url = `/b${req.url}`;
      next();
    });
    const handler = (req, res) => res.send(req.path);
    app.get('/home', cache.middleware(), handler);
    app.get('/b/home', cache.middleware(), handler);
    const s = await listen(app);
    expect((await get(s, '/home')).text).toBe('/home');
    const b = await get(s, '/home', { 'x-variant': 'b' });
    expect([b.headers['x-cache'], b.text]).toEqual(['MISS', '/b/home']);
  });

  it('a decoded req.url with trailing whitespace is keyed as url.parse() trims it', async () => {
    const app = express5();
    app.get('/a', cache.middleware({ exposeKey: true }), (req, res) => res.send('route /a'));
    app.get('/a%20', cache.middleware({ exposeKey: true }), (req, res) => res.send('route /a%20'));
    // Code in front of Express that decodes the target: "/a%20" becomes "/a " (routed as /a by
    // url.parse, which trims it) and "/a%20%3F" becomes "/a ?" (routed as /a%20).
    const s = await listen((req, res) => { req.url = decodeURIComponent(req.url); app(req, res); });
    const spaced = await get(s, '/a%20%3F');
    expect(spaced.text).toBe('route /a%20');
    const trimmed = await get(s, '/a%20');
    expect([trimmed.headers['x-cache'], trimmed.text]).toEqual(['MISS', 'route /a']);
    expect(trimmed.headers['x-cache-key']).not.toBe(spaced.headers['x-cache-key']);
  });
});

describe('an app above the cache that turned its query parser off (Express 4)', () => {
  it('keys the raw query in a sub-app, whose req.query is the parent\'s empty object', async () => {
    const app = express4();
    app.set('query parser', false);
    const api = express4();
    api.get('/search', cache.middleware(), (req, res) => res.send(new URL(req.originalUrl, 'http://x').searchParams.get('q')));
    app.use('/api', api);
    const s = await listen(app);
    expect((await get(s, '/api/search?q=alice')).text).toBe('alice');
    const bob = await get(s, '/api/search?q=bob');
    expect([bob.headers['x-cache'], bob.text]).toEqual(['MISS', 'bob']);
  });
});

describe('behind a proxy ("trust proxy", X-Forwarded-Host)', () => {
  it('keys on the Host header, not on req.hostname, by default', async () => {
    const app = express5();
    app.set('trust proxy', true);
    app.get('/h', cache.middleware({ exposeKey: true }), (req, res) => res.send(req.hostname));
    const s = await listen(app);
    const a = await get(s, '/h', { 'x-forwarded-host': 'a.example' });
    const b = await get(s, '/h', { 'x-forwarded-host': 'b.example' });
    expect(a.text).toBe('a.example');
    expect([b.headers['x-cache'], b.text]).toEqual(['HIT', 'a.example']);
  });

  it('keys on the forwarded host with the documented recipe, vary: [\'x-forwarded-host\']', async () => {
    const app = express5();
    app.set('trust proxy', true);
    app.get('/h', cache.middleware({ vary: ['x-forwarded-host'] }), (req, res) => res.send(req.hostname));
    const s = await listen(app);
    await get(s, '/h', { 'x-forwarded-host': 'a.example' });
    const b = await get(s, '/h', { 'x-forwarded-host': 'b.example' });
    expect([b.headers['x-cache'], b.text]).toEqual(['MISS', 'b.example']);
    const again = await get(s, '/h', { 'x-forwarded-host': 'a.example' });
    expect([again.headers['x-cache'], again.text]).toEqual(['HIT', 'a.example']);
  });
});

describe('keyBuilder keys with lone UTF-16 surrogates', () => {
  it('are refused (BYPASS, reported) instead of sharing one entry as U+FFFD', async () => {
    const app = express5();
    app.get('/s/:n', cache.middleware({ keyBuilder: (req) => `k:${req.params.n === '1' ? '\uD800' : '\uD801'}` }),
      (req, res) => res.send(req.params.n));
    const s = await listen(app);
    const one = await get(s, '/s/1');
    const two = await get(s, '/s/2');
    expect(one.headers['x-cache']).toBe('BYPASS');
    expect(two.text).toBe('2');
    expect(two.headers['x-cache']).toBe('BYPASS');
    const reported = errors.filter((e) => e.code === 'ERR_RESPCACHE_KEY_BUILDER');
    expect(reported).toHaveLength(2);
    expect(reported[0].message).toMatch(/lone UTF-16 surrogate/);
  });

  it('keys.perUser refuses a user id with one (BYPASS) instead of sharing that user\'s entry', async () => {
    const { keys } = require('../../lib');
    const app = express5();
    app.get('/me', cache.middleware({ keyBuilder: keys.perUser((req) => req.get('x-user') === 'a' ? '\uD800' : '\uD801') }),
      (req, res) => res.send(req.get('x-user')));
    const s = await listen(app);
    expect((await get(s, '/me', { 'x-user': 'a' })).headers['x-cache']).toBe('BYPASS');
    const b = await get(s, '/me', { 'x-user': 'b' });
    expect([b.headers['x-cache'], b.text]).toEqual(['BYPASS', 'b']);
  });

  it('a well-formed astral character in a key is fine', async () => {
    const app = express5();
    app.get('/e', cache.middleware({ keyBuilder: () => 'k:\uD83D\uDE00' }), (req, res) => res.send('x'));
    const s = await listen(app);
    await get(s, '/e');
    expect((await get(s, '/e')).headers['x-cache']).toBe('HIT');
  });
});
