'use strict';

// Invalidation on real Redis: tags, paths and prefixes, key patterns, versioned namespaces,
// invalidation on writes, the race between a fill and an invalidation, index growth, events
// between instances, the maxmemory-policy check and bad input.
const { spawn } = require('child_process');
const nodeHttp = require('http');
const path = require('path');
const readline = require('readline');
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { rawRequest } = require('../helpers/raw-http');
const { refill } = require('../helpers/refill');
const { openCache, closeCaches, once, waitFor, gate } = require('../helpers/cache');
const { busReady, sweep, rawCommand } = require('../helpers/internals');
const { normalisePath, pathIndexes, requestPath } = require('../../lib/http/paths');
const { redisName, bucketName, familyPattern } = require('../helpers/layout');

let redis;
const servers = [];

beforeAll(async () => { redis = await startRedis(); });
afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(async () => { await redis.client().flushall(); });
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await closeCaches();
});

/**
 * An app with the catalogue routes used below; `runs` counts handler runs per path.
 * @returns {Promise<{ http: object, runs: Map<string, number> }>}
 */
async function catalogue(cache, extra = () => {}) {
  const runs = new Map();
  const app = express();
  const answer = (req, res) => {
    const n = (runs.get(req.path) || 0) + 1;
    runs.set(req.path, n);
    res.json({ path: req.path, query: req.query, n });
  };
  extra(app, answer);
  app.get('/products/:id', cache.middleware({ tags: (req) => ['products', `product:${req.params.id}`] }), answer);
  app.get('/users/:id', cache.middleware({ tags: ['users'] }), answer);
  app.get('/api/*rest', cache.middleware({ vary: ['accept-language'] }), answer);
  app.get('/api', cache.middleware(), answer);
  const http = await serve(app);
  servers.push(http);
  return { http, runs };
}

async function xCache(http, path, opts) {
  return (await http.get(path, opts)).headers['x-cache'];
}

/** Requests each path until it is stored (MISS, then HIT). */
async function fill(http, paths, opts) {
  for (const path of paths) {
    await http.get(path, opts);
    expect(await xCache(http, path, opts)).toBe('HIT');
  }
}

describe('normalisePath(path): the form paths are indexed and compared in', () => {
  it.each([
    ['/users/%61lice', '/users/alice', 'an escaped unreserved character is decoded'],
    ['/users/%41%7e%2D%2e%5F%30', '/users/a~-._0', 'every unreserved character, escaped in either case'],
    ['/USERS/Alice', '/users/alice', 'ASCII letters are lowercased (Express routes case-insensitively)'],
    ['/users/alice/', '/users/alice', 'a trailing slash is dropped'],
    ['/users/alice//', '/users/alice', 'every trailing slash is dropped'],
    ['/', '/', 'the root keeps its slash'],
    ['//', '/', 'the root keeps its slash'],
    ['/a%2fb', '/a%2Fb', 'another escape keeps its byte, in uppercase hex'],
    ['/caf%c3%a9', '/caf%C3%A9', 'escaped UTF-8 keeps its bytes, in uppercase hex'],
    ['/caf\u00e9', '/caf%C3%A9', 'a character outside ASCII is its UTF-8 escaped'],
    ['/a*b', '/a%2Ab', 'a "*" is escaped (Express routes "*" and "%2A" alike)'],
    ['/a%2a', '/a%2A', 'an escaped "*" stays escaped'],
    ['/a,b;c=d:e@f!$&\'()+', '/a,b;c=d:e@f!$&\'()+', 'the other sub-delimiters, ":" and "@" are literal'],
    ['/a%2Cb%3B%3d%40', '/a,b;=@', 'and their escapes decoded (Express decodes them in parameters)'],
    ['/a b"<>\\^`{|}', '/a%20b%22%3C%3E%5C%5E%60%7B%7C%7D', 'what a path cannot hold literally is escaped'],
    ['/100%', '/100%25', 'a "%" that starts no escape is escaped'],
    ['/%zz%4', '/%25zz%254', 'a "%" that starts no escape is escaped'],
    ['/%25', '/%25', 'an escaped "%" stays escaped'],
    ['/f/\uD800', '/f/%ED%A0%80', 'a lone surrogate is escaped, losslessly (its WTF-8 bytes)'],
    ['/f/\uD801', '/f/%ED%A0%81', 'a lone surrogate is escaped, losslessly (its WTF-8 bytes)'],
    ['/f/\uD83D\uDE00', '/f/%F0%9F%98%80', 'a surrogate pair is one character'],
  ])('%j is %j: %s', (path, expected) => {
    expect(normalisePath(path)).toBe(expected);
    expect(normalisePath(expected)).toBe(expected);
  });
});

describe('requestPath(req): the path an entry is indexed under', () => {
  it.each([
    ['/Users/%61lice?x=1#f', '/users/alice'],
    ['/a#b?c', '/a'],
    ['http://keys.test/Users/alice/?x=1', '/users/alice'],
    ['HTTPS://keys.test:8443', '/'],
    ['http://keys.test?x=1', '/'],
    ['*', '/%2A'],
    ['/users/*', '/users/%2A'],
  ])('%j is indexed as %j', (originalUrl, expected) => {
    expect(requestPath({ originalUrl, url: originalUrl })).toBe(expected);
  });
});

describe('pathIndexes(path): the indexes an invalidatePath argument names', () => {
  it.each([
    ['/Users/%61lice/', ['p:/users/alice']],
    ['/users/a*b', ['p:/users/a%2Ab']],
    ['/users/%2A', ['p:/users/%2A']],
    ['/users/*', ['s:/users/', 'p:/users']],
    ['/Users/*/*', ['s:/users/%2A/', 'p:/users/%2A']],
    ['/*', ['s:/']],
  ])('%j names %j', (path, expected) => {
    expect(pathIndexes(path)).toEqual(expected);
  });
});

/**
 * Checks that a fill whose handler began before `invalidate(cache)` is not stored after it: the
 * handler waits on a promise the test resolves once the invalidation has resolved.
 */
async function expectFillFenced(cache, invalidate) {
  const answer = gate();
  let runs = 0;
  const app = express();
  app.get('/slow/:id', cache.middleware({ tags: ['slow'], keyBuilder: (req) => `item:${req.params.id}` }), async (req, res) => {
    runs++;
    if (runs === 1) await answer.promise;
    res.send(`version ${runs}`);
  });
  const http = await serve(app);
  servers.push(http);
  const first = http.get('/slow/1', { agent: false });
  await waitFor(() => runs === 1, { what: 'the first handler run' });
  // The data changed while the first response was being computed; the writer invalidates.
  expect(await invalidate(cache)).toBe(0);
  answer.open();
  expect((await first).text).toBe('version 1');
  await waitFor(() => cache.stats().storesFenced === 1, { what: 'the fenced store' });
  const next = await http.get('/slow/1');
  expect([next.headers['x-cache'], next.text]).toEqual(['MISS', 'version 2']);
  // Later fills store again (one that began within Redis's clock step of the fence may not).
  await waitFor(async () => (await xCache(http, '/slow/1')) === 'HIT', { what: 'a later fill stored' });
}

describe('cache.invalidateTags(tags)', () => {
  it('removes every entry carrying any of the tags and resolves with the count', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await catalogue(cache);
    await fill(http, ['/products/1', '/products/2', '/users/1']);
    expect(await cache.invalidateTags(['product:1', 'nothing-has-this'])).toBe(1);
    expect(await xCache(http, '/products/1')).toBe('MISS');
    expect(await xCache(http, '/products/2')).toBe('HIT');
    expect(await xCache(http, '/users/1')).toBe('HIT');
    // The MISS above began within the invalidation's millisecond, which the fence refuses to
    // store (it errs on the side of refusing): fill /products/1 again before counting.
    await refill(http, '/products/1');
    expect(await cache.invalidateTags(['products'])).toBe(2);
    expect(await xCache(http, '/products/1')).toBe('MISS');
    expect(await xCache(http, '/products/2')).toBe('MISS');
    expect(await xCache(http, '/users/1')).toBe('HIT');
  });

  it('removes what another instance sharing Redis stored', async () => {
    const { cache: a } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { cache: b } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await catalogue(a);
    await fill(http, ['/users/1', '/users/2']);
    expect(await b.invalidateTags(['users'])).toBe(2);
    expect(await xCache(http, '/users/1')).toBe('MISS');
    expect(await xCache(http, '/users/2')).toBe('MISS');
  });

  it('keeps tag indexes without a TTL, scored no earlier than their entries expire, and prunes expired members', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const app = express();
    app.get('/short/:id', cache.middleware({ ttl: 1, tags: ['t'] }), (req, res) => res.send(req.params.id));
    app.get('/long/:id', cache.middleware({ ttl: 60, tags: ['t'] }), (req, res) => res.send(req.params.id));
    const http = await serve(app);
    servers.push(http);
    const client = redis.client();
    await fill(http, ['/short/1', '/short/2']);
    expect(await client.pttl(bucketName('t:t'))).toBe(-1); // never evicted by a volatile-* policy
    const entryExpiry = Date.now() + (await client.pttl((await client.keys(familyPattern('e:*')))[0]));
    const indexScore = Number(await client.zscore(bucketName('ix'), 't:t'));
    expect(indexScore).toBeGreaterThanOrEqual(entryExpiry - 50);
    await waitFor(async () => (await client.keys(familyPattern('e:*'))).length === 0, { timeout: 3000, what: 'entries expired' });
    await fill(http, ['/long/1']);
    expect(await client.zrange(bucketName('t:t'), 0, -1)).toHaveLength(1); // the two expired members pruned
  });

  it('deletes indexes whose entries have all expired when the registry is swept', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const app = express();
    app.get('/short/:id', cache.middleware({ ttl: 1, tags: ['gone'] }), (req, res) => res.send(req.params.id));
    const http = await serve(app);
    servers.push(http);
    await fill(http, ['/short/1']);
    const client = redis.client();
    expect(await client.exists(bucketName('t:gone'), bucketName('p:/short/1'), bucketName('s:/short/'))).toBe(3);
    await waitFor(async () => (await client.keys(familyPattern('e:*'))).length === 0, { timeout: 3000, what: 'entry expired' });
    expect(await sweep(cache)).toBeGreaterThanOrEqual(4); // t:gone, p:/short/1, s:/, s:/short/
    expect(await client.keys('respcache:*')).toEqual([]);
  });

  it('refuses the store of a fill that began before the invalidation (no stale entry survives it)', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    await expectFillFenced(cache, (c) => c.invalidateTags(['slow']));
  });

  it('leaves no entry of a tag behind when stores and invalidations of it interleave', async () => {
    const { cache } = await openCache({ redis: redis.url, commandTimeout: 2000 });
    const app = express();
    app.get('/race/:id', cache.middleware({ tags: ['race'], coalesce: false }), async (req, res) => {
      await new Promise((resolve) => setImmediate(resolve));
      res.send(req.params.id);
    });
    const http = await serve(app);
    servers.push(http);
    const requests = [];
    const invalidations = [];
    for (let i = 0; i < 60; i++) {
      requests.push(http.get(`/race/${i % 12}`, { agent: false }));
      if (i % 10 === 0) invalidations.push(cache.invalidateTags(['race']));
    }
    await Promise.all([...requests, ...invalidations]);
    await waitFor(() => cache.stats().stores + cache.stats().storesFenced + cache.stats().storeFailures >= 12,
      { what: 'stores settled' });
    await cache.invalidateTags(['race']);
    expect(await redis.client().keys(familyPattern('e:*'))).toEqual([]);
  });
});

describe('cache.invalidatePath(path)', () => {
  it('removes the entries of one path whatever their query strings and varied headers, and nothing else', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await catalogue(cache);
    const fr = { headers: { 'accept-language': 'fr' } };
    await fill(http, ['/api/users/42', '/api/users/42?page=2', '/api/users/420', '/api/users/42/posts']);
    await fill(http, ['/api/users/42'], fr);
    expect(await cache.invalidatePath('/api/users/42')).toBe(3);
    expect(await xCache(http, '/api/users/42')).toBe('MISS');
    expect(await xCache(http, '/api/users/42?page=2')).toBe('MISS');
    expect(await xCache(http, '/api/users/42', fr)).toBe('MISS');
    expect(await xCache(http, '/api/users/420')).toBe('HIT');
    expect(await xCache(http, '/api/users/42/posts')).toBe('HIT');
  });

  it('removes every entry under a prefix ending in /*, at any depth, and nothing outside it', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await catalogue(cache);
    await fill(http, ['/api/users/1', '/api/users/2/posts?x=1', '/api/users/', '/api/users', '/api/user-groups', '/api', '/products/1']);
    // '/api/users/' starts with '/api/users/', and '/api/users' is the same path once a trailing
    // slash is dropped: both go.
    expect(await cache.invalidatePath('/api/users/*')).toBe(4);
    for (const gone of ['/api/users/1', '/api/users/2/posts?x=1', '/api/users/', '/api/users']) expect(await xCache(http, gone)).toBe('MISS');
    for (const kept of ['/api/user-groups', '/api', '/products/1']) expect(await xCache(http, kept)).toBe('HIT');
    // The three kept, and the refills of the four gone that were stored by now.
    expect(await cache.invalidatePath(['/*'])).toBeGreaterThanOrEqual(3);
    expect(await redis.client().keys(familyPattern('e:*'))).toEqual([]);
  });

  it('refuses the store of a fill that began before it, whatever the spelling of the path', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    await expectFillFenced(cache, (c) => c.invalidatePath('/SLOW/%31/'));
  });

  it('finds entries stored under custom keys by the path they were stored for', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const app = express();
    app.get('/me/:section', cache.middleware({ keyBuilder: (req, prefix) => `${prefix}:me:${req.params.section}` }),
      (req, res) => res.send(req.params.section));
    const http = await serve(app);
    servers.push(http);
    await fill(http, ['/me/profile', '/me/settings']);
    expect(await cache.invalidatePath('/me/profile')).toBe(1);
    expect(await redis.client().keys(familyPattern('e:*'))).toEqual([redisName('e:respcache:me:settings')]);
  });
});

/**
 * A users route whose writes bump a version; returns a client sending targets byte for byte
 * (node:http's client refuses absolute-form and other raw targets).
 */
async function usersApp(cache) {
  const app = express();
  const db = { version: 1 };
  app.route('/users/:id').all(cache.middleware())
    .get((req, res) => res.send(`${req.params.id} v${db.version}`))
    .post((req, res) => { db.version++; res.send('written'); })
    .put((req, res) => { db.version++; res.status(204).end(); });
  app.get('/users', cache.middleware(), (req, res) => res.send(`list v${db.version}`));
  const http = await serve(app);
  servers.push(http);
  return (target, method = 'GET') => rawRequest(http.port, target, { method, headers: { 'content-length': '0' } });
}

/** Sends each target until it is stored (MISS, then HIT). */
async function fillRaw(send, targets) {
  for (const target of targets) {
    expect([target, (await send(target)).headers['x-cache']]).toEqual([target, 'MISS']);
    expect([target, (await send(target)).headers['x-cache']]).toEqual([target, 'HIT']);
  }
}

/** Each target's X-Cache, in order. */
async function xCaches(send, targets) {
  const seen = [];
  for (const target of targets) seen.push((await send(target)).headers['x-cache']);
  return seen;
}

describe('the spellings of a path', () => {
  // Targets Express routes to the same handler, each stored as an entry of its own (README "Keys").
  const ALICE = ['/users/alice', '/users/%61lice', '/USERS/alice', '/users/alice/', 'http://keys.test/users/alice',
    'HTTP://KEYS.TEST/USERS/al%69ce/?x=1'];

  async function expectMisses(send, targets, text) {
    for (const target of targets) {
      const reply = await send(target);
      expect([target, reply.headers['x-cache'], reply.text]).toEqual([target, 'MISS', text]);
    }
  }

  it.each([
    ['/users/alice'],
    ['/USERS/%61LICE/'],
  ])('cache.invalidatePath(%j) removes the entries of every spelling, and nothing else', async (argument) => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const send = await usersApp(cache);
    await fillRaw(send, [...ALICE, '/users/alice2', '/users/bob']);
    const stored = (await redis.client().keys(familyPattern('e:*'))).length;
    expect(await cache.invalidatePath(argument)).toBe(stored - 2);
    await expectMisses(send, ALICE, 'alice v1');
    expect(await xCaches(send, ['/users/alice2', '/users/bob'])).toEqual(['HIT', 'HIT']);
  });

  it('removes every spelling after a write to any one of them', async () => {
    const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const send = await usersApp(cache);
    await fillRaw(send, [...ALICE, '/users/bob']);
    expect((await send('/Users/%61lice/', 'POST')).text).toBe('written');
    await expectMisses(send, ALICE, 'alice v2');
    expect((await send('/users/bob')).text).toBe('bob v1');
    expect(errors).toEqual([]);
  });

  it('reaches absolute-form targets, and the directory itself with or without its slash, by a prefix', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const send = await usersApp(cache);
    await fillRaw(send, [...ALICE, '/users', '/users/', 'http://keys.test/users?page=2']);
    const stored = (await redis.client().keys(familyPattern('e:*'))).length;
    expect(await cache.invalidatePath('/users/*')).toBe(stored);
    expect(await redis.client().keys(familyPattern('e:*'))).toEqual([]);
  });
});

describe('a rewrite of req.url before the cache', () => {
  it('indexes the entry under the routed path too, so a write to it or invalidatePath of it reaches the entry', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const app = express();
    app.use((req, res, next) => {
      if (req.path === '/index.php' && req.query.page) req.url = `/${req.query.page}`;
      next();
    });
    let version = 1;
    app.get('/:page', cache.middleware(), (req, res) => res.send(`${req.params.page} v${version}`));
    app.put('/:page', cache.middleware(), (req, res) => { version++; res.send('ok'); });
    const http = await serve(app);
    servers.push(http);
    await http.get('/index.php?page=about');
    expect((await http.get('/index.php?page=about')).headers['x-cache']).toBe('HIT');
    await http.request('/about', { method: 'PUT' });
    const after = await http.get('/index.php?page=about');
    expect([after.headers['x-cache'], after.text]).toEqual(['MISS', 'about v2']);
    await refill(http, '/index.php?page=about');
    expect(await cache.invalidatePath('/about')).toBe(1);
    expect((await http.get('/index.php?page=about')).headers['x-cache']).toBe('MISS');
  });
});

describe('a "*" in a path', () => {
  it('is literal anywhere but in a final "/*": cache.invalidatePath(\'/users/a*b\') removes that path', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const send = await usersApp(cache);
    const targets = ['/users/a*b', '/users/a%2Ab', '/users/ab', '/users/a'];
    await fillRaw(send, targets);
    expect(await cache.invalidatePath('/users/a*b')).toBe(2);
    expect(await xCaches(send, targets)).toEqual(['MISS', 'MISS', 'HIT', 'HIT']);
  });

  it('in a written path invalidates that path', async () => {
    const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const send = await usersApp(cache);
    await fillRaw(send, ['/users/a*b', '/users/ab']);
    expect((await send('/users/a*b', 'PUT')).status).toBe(204);
    expect(errors).toEqual([]);
    expect(await xCaches(send, ['/users/a*b', '/users/ab'])).toEqual(['MISS', 'HIT']);
  });

  it('ending a written path invalidates that path only, not the directory (a request names no prefix)', async () => {
    const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const send = await usersApp(cache);
    await fillRaw(send, ['/users/*', '/users/alice']);
    expect((await send('/users/*', 'PUT')).status).toBe(204);
    expect(errors).toEqual([]);
    expect(await xCaches(send, ['/users/*', '/users/alice'])).toEqual(['MISS', 'HIT']);
    // A refill that began within Redis's clock step of the write may be fenced: ask until one is stored.
    await waitFor(async () => (await send('/users/*')).headers['x-cache'] === 'HIT', { what: 'the refill of /users/*' });
    // Escaped, a final "*" names that path alone too.
    expect(await cache.invalidatePath('/users/%2A')).toBe(1);
    expect(await xCaches(send, ['/users/*', '/users/alice'])).toEqual(['MISS', 'HIT']);
  });
});

describe('a request path holding a lone surrogate (put in req.url by code before Express)', () => {
  it('is indexed losslessly: a write to it invalidates its entries, and those of no other path', async () => {
    const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const app = express();
    const hex = (text) => Buffer.from(text, 'utf16le').toString('hex');
    app.route('/f/:name').all(cache.middleware({ keyBuilder: (req, prefix) => `${prefix}:f:${hex(req.params.name)}` }))
      .get((req, res) => res.send(hex(req.params.name)))
      .post((req, res) => res.send('written'));
    // A "%uXXXX" unescaping shim, as old clients' escape() output is sometimes handled.
    const server = nodeHttp.createServer((req, res) => {
      req.url = req.url.replace(/%u([0-9a-f]{4})/gi, (m, code) => String.fromCharCode(parseInt(code, 16)));
      app(req, res);
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise((resolve) => server.close(resolve)) });
    const send = (target, method = 'GET') => rawRequest(server.address().port, target, { method, headers: { 'content-length': '0' } });
    for (const target of ['/f/%uD800', '/f/%uD801', '/f/%uD802']) {
      expect((await send(target)).text).toBe(hex(String.fromCharCode(parseInt(target.slice(5), 16))));
      expect((await send(target)).headers['x-cache']).toBe('HIT');
    }
    expect((await send('/f/%uD800', 'POST')).text).toBe('written');
    expect(errors).toEqual([]);
    expect((await send('/f/%uD800')).headers['x-cache']).toBe('MISS');
    expect((await send('/f/%uD801')).headers['x-cache']).toBe('HIT');
    // The same path named by the app (req.path holds the surrogate).
    expect(await cache.invalidatePath('/f/\uD801')).toBe(1);
    expect((await send('/f/%uD801')).headers['x-cache']).toBe('MISS');
    expect((await send('/f/%uD802')).headers['x-cache']).toBe('HIT');
  });
});

describe('cache.invalidateKeys(pattern)', () => {
  it('refuses the store of a fill that began before it (no stale entry survives it)', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    await expectFillFenced(cache, (c) => c.invalidateKeys('item:*'));
  });
  it('removes the entries whose keys match, in the cache family only', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { cache: other } = await openCache({ commandTimeout: 2000, redis: redis.url, keyPrefix: 'other' });
    const builder = (req, prefix) => `${prefix}:user:${req.params.id}:${req.params.section}`;
    const app = express();
    app.get('/u/:id/:section', cache.middleware({ keyBuilder: builder }), (req, res) => res.send('mine'));
    app.get('/o/:id/:section', other.middleware({ keyBuilder: builder }), (req, res) => res.send('other'));
    const http = await serve(app);
    servers.push(http);
    await fill(http, ['/u/42/a', '/u/42/b', '/u/420/a', '/o/42/a']);
    await cache.set('respcache:user:42:value', 'a value, not an entry');
    expect(await cache.invalidateKeys('respcache:user:42:*')).toBe(2);
    expect(await xCache(http, '/u/42/a')).toBe('MISS');
    expect(await xCache(http, '/u/420/a')).toBe('HIT');
    expect(await xCache(http, '/o/42/a')).toBe('HIT');
    expect(await cache.get('respcache:user:42:value')).toBe('a value, not an entry');
  });

  it('matches glob characters of the key prefix literally', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url, keyPrefix: 'a?' });
    const { cache: near } = await openCache({ commandTimeout: 2000, redis: redis.url, keyPrefix: 'ab' });
    const app = express();
    app.get('/x', cache.middleware({ keyBuilder: () => 'k' }), (req, res) => res.send('a?'));
    app.get('/y', near.middleware({ keyBuilder: () => 'k' }), (req, res) => res.send('ab'));
    const http = await serve(app);
    servers.push(http);
    await fill(http, ['/x', '/y']);
    expect(await cache.invalidateKeys('*')).toBe(1);
    expect(await redis.client().keys('*:e:*')).toEqual([redisName('e:k', 'ab')]);
  });
});

describe('namespaces', () => {
  it('makes every entry of a bumped namespace a MISS at once, leaving other namespaces and the old bytes alone', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const app = express();
    let n = 0;
    app.get('/catalog/:id', cache.middleware({ namespace: 'catalog' }), (req, res) => res.send(`catalog ${++n}`));
    app.get('/t/:tenant/:id', cache.middleware({ namespace: (req) => `tenant:${req.params.tenant}` }), (req, res) => res.send(`tenant ${++n}`));
    const http = await serve(app);
    servers.push(http);
    await fill(http, ['/catalog/1', '/catalog/2', '/t/a/1', '/t/b/1']);
    const before = (await redis.client().keys(familyPattern('e:*'))).length;
    expect(await cache.bumpNamespace('catalog')).toBe(1);
    expect(await cache.bumpNamespace('tenant:a')).toBe(1);
    // O(1): the old entries are still in Redis (expiring by themselves), just never served.
    expect((await redis.client().keys(familyPattern('e:*'))).length).toBe(before);
    expect(await xCache(http, '/catalog/1')).toBe('MISS');
    expect(await xCache(http, '/catalog/1')).toBe('HIT');
    expect(await xCache(http, '/catalog/2')).toBe('MISS');
    expect(await xCache(http, '/t/a/1')).toBe('MISS');
    expect(await xCache(http, '/t/b/1')).toBe('HIT');
    expect(await cache.bumpNamespace('catalog')).toBe(2);
    expect(await xCache(http, '/catalog/1')).toBe('MISS');
  });

  it('stops another instance serving its in-process copies once the bump reaches it', async () => {
    const { cache: a } = await openCache({ commandTimeout: 2000, redis: redis.url, local: { ttl: 60 } });
    const { cache: b } = await openCache({ commandTimeout: 2000, redis: redis.url, local: { ttl: 60 } });
    await Promise.all([busReady(a), busReady(b)]);
    const app = express();
    let n = 0;
    app.get('/c', b.middleware({ namespace: 'catalog', keyBuilder: () => 'c' }), (req, res) => res.send(`v${++n}`));
    const http = await serve(app);
    servers.push(http);
    await http.get('/c');
    const local = await http.get('/c');
    expect([local.headers['x-cache'], local.headers['x-cache-tier']]).toEqual(['HIT', 'local']);
    const heard = once(b, 'invalidated');
    await a.bumpNamespace('catalog');
    expect(await heard).toEqual(['n:catalog']);
    const after = await http.get('/c');
    expect([after.headers['x-cache'], after.text]).toEqual(['MISS', 'v2']);
  });

  it('never serves older in-process copies again after a read that reports an older version', async () => {
    // A read executed by Redis before another instance's bump can reach this process after the
    // bump's announcement (two connections): the version known here must not go back. Here the
    // older read is made by removing the namespace's version from Redis after the bump.
    const { cache: a } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { cache: b } = await openCache({ commandTimeout: 2000, redis: redis.url, local: { ttl: 60 } });
    await busReady(b);
    const app = express();
    let n = 0;
    app.get('/v/:id', b.middleware({ namespace: 'versions', keyBuilder: (req) => `v:${req.params.id}` }),
      (req, res) => res.send(`${req.params.id}-${++n}`));
    const http = await serve(app);
    servers.push(http);
    await http.get('/v/1');
    expect((await http.get('/v/1')).headers['x-cache-tier']).toBe('local');
    const heard = once(b, 'invalidated');
    await a.bumpNamespace('versions');
    await heard;
    await redis.client().del(redisName('n:versions'));
    await http.get('/v/2'); // a local miss: its read reports version 0 again
    const old = await http.get('/v/1');
    expect([old.headers['x-cache'], old.headers['x-cache-tier']]).not.toEqual(['HIT', 'local']);
  });

  it('refuses a namespace function that returns no string', async () => {
    const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const app = express();
    app.get('/r', cache.middleware({ namespace: () => undefined }), (req, res) => res.send('ok'));
    const http = await serve(app);
    servers.push(http);
    const reply = await http.get('/r');
    expect([reply.status, reply.headers['x-cache']]).toEqual([200, 'BYPASS']);
    expect(errors.map((e) => e.code)).toEqual(['ERR_RESPCACHE_KEY_BUILDER']);
  });
});

describe('invalidation on writes', () => {
  /** The catalogue plus write routes; returns what the handlers of the writes saw. */
  async function withWrites(cache, routeOptions) {
    return catalogue(cache, (app) => {
      app.post('/products', cache.middleware(routeOptions), (req, res) => res.status(201).send('created'));
      app.put('/api/users/:id', cache.middleware(), (req, res) => res.status(req.query.fail ? 409 : 204).end());
      app.delete('/products/:id', cache.middleware({ invalidates: (req) => ({ tags: [`product:${req.params.id}`], paths: ['/api/*'] }) }),
        (req, res) => res.json({ deleted: req.params.id }));
    });
  }

  it('removes the tags an "invalidates" route names before the writer sees its response end', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await withWrites(cache, { invalidates: ['products'] });
    await fill(http, ['/products/1', '/products/2', '/users/1']);
    const created = await http.request('/products', { method: 'POST', body: '{}' });
    expect(created.status).toBe(201);
    // No waiting: the writer's very next read misses.
    expect(await xCache(http, '/products/1')).toBe('MISS');
    expect(await xCache(http, '/products/2')).toBe('MISS');
    expect(await xCache(http, '/users/1')).toBe('HIT');
  });

  it("removes the entries of the written URL's own path (RFC 9111 section 4.4)", async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await withWrites(cache);
    await fill(http, ['/api/users/42', '/api/users/42?fields=name', '/api/users/7']);
    expect((await http.request('/api/users/42', { method: 'PUT', body: 'x' })).status).toBe(204);
    expect(await xCache(http, '/api/users/42')).toBe('MISS');
    expect(await xCache(http, '/api/users/42?fields=name')).toBe('MISS');
    expect(await xCache(http, '/api/users/7')).toBe('HIT');
  });

  it('invalidates nothing when the write failed', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await withWrites(cache);
    await fill(http, ['/api/users/42']);
    expect((await http.request('/api/users/42?fail=1', { method: 'PUT', body: 'x' })).status).toBe(409);
    expect(await xCache(http, '/api/users/42')).toBe('HIT');
  });

  it('takes tags and paths from an "invalidates" function of the request', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await withWrites(cache);
    await fill(http, ['/products/1', '/products/2', '/api/users/1', '/users/1']);
    expect((await http.request('/products/1', { method: 'DELETE' })).status).toBe(200);
    expect(await xCache(http, '/products/1')).toBe('MISS');
    expect(await xCache(http, '/products/2')).toBe('HIT');
    expect(await xCache(http, '/api/users/1')).toBe('MISS');
    expect(await xCache(http, '/users/1')).toBe('HIT');
  });

  it('still answers the write when Redis is down, and reports the failed invalidation', async () => {
    const own = await startRedis();
    try {
      const { cache, errors } = await openCache({ redis: own.url, commandTimeout: 200 });
      const { http } = await withWrites(cache, { invalidates: ['products'] });
      await own.stop();
      const created = await http.request('/products', { method: 'POST', body: '{}' });
      expect([created.status, created.text]).toEqual([201, 'created']);
      expect(errors.map((e) => e.code)).toContain('ERR_RESPCACHE_INVALIDATION');
    } finally {
      await own.close();
    }
  });
});

describe('events', () => {
  it('delivers cache.publish(event, payload) to onEvent handlers of every instance', async () => {
    const { cache: a } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { cache: b } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const got = [];
    const offA = a.onEvent('product_updated', (payload) => got.push(['a', payload]));
    const arrived = new Promise((resolve) => {
      b.onEvent('product_updated', (payload) => {
        got.push(['b', payload]);
        resolve();
      }).ready.then(() => offA.ready).then(() => a.publish('product_updated', { id: 42 }));
    });
    await arrived;
    await waitFor(() => got.length === 2, { what: 'both deliveries' });
    expect(got.sort()).toEqual([['a', { id: 42 }], ['b', { id: 42 }]]);
  });

  it('lets an app map a domain event to an invalidation', async () => {
    const { cache: a } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { cache: b } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await catalogue(a);
    await fill(http, ['/products/42', '/products/7']);
    let done;
    const invalidated = new Promise((resolve) => { done = resolve; });
    await b.onEvent('product_updated', ({ id }) => b.invalidateTags([`product:${id}`]).then(done)).ready;
    await a.publish('product_updated', { id: 42 });
    expect(await invalidated).toBe(1);
    expect(await xCache(http, '/products/42')).toBe('MISS');
    expect(await xCache(http, '/products/7')).toBe('HIT');
  });

  it('reports a handler that throws on the error event', async () => {
    const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
    let delivered;
    const reached = new Promise((resolve) => { delivered = resolve; });
    await cache.onEvent('boom', () => {
      delivered();
      throw new Error('handler bug');
    }).ready;
    await cache.publish('boom');
    await reached;
    await waitFor(() => errors.length === 1, { what: 'the report' });
    expect(errors[0].code).toBe('ERR_RESPCACHE_EVENT_HANDLER');
  });

  it('drops invalidated in-process copies in other instances', async () => {
    const { cache: a } = await openCache({ commandTimeout: 2000, redis: redis.url, local: { ttl: 60 } });
    const { cache: b } = await openCache({ commandTimeout: 2000, redis: redis.url, local: { ttl: 60 } });
    await Promise.all([busReady(a), busReady(b)]);
    const { http } = await catalogue(b);
    await fill(http, ['/products/1']);
    expect((await http.get('/products/1')).headers['x-cache-tier']).toBe('local');
    const heard = once(b, 'invalidated');
    expect(await a.invalidateTags(['product:1'])).toBe(1);
    await heard;
    expect(await xCache(http, '/products/1')).toBe('MISS');
  });
});

describe('a path deeper than 32 levels', () => {
  it('is not stored, and is not counted as a store refused by an invalidation', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const app = express();
    app.get('/deep/*rest', cache.middleware(), (req, res) => res.send('deep'));
    const http = await serve(app);
    servers.push(http);
    const target = `/deep/${Array.from({ length: 40 }, (_, i) => `l${i}`).join('/')}`;
    expect((await http.get(target)).headers['x-cache']).toBe('MISS');
    expect((await http.get(target)).headers['x-cache']).toBe('MISS');
    expect(cache.stats()).toMatchObject({ stores: 0, storesFenced: 0, storeFailures: 0 });
  });
});

describe('invalidations heard by an instance without the in-process tier (Redis only)', () => {
  it("emits 'invalidated' for another instance's invalidation once something listens", async () => {
    const { cache: a } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { cache: b } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const heard = [];
    b.on('invalidated', (name) => heard.push(name));
    await busReady(b);
    const bumped = once(b, 'invalidated');
    await a.bumpNamespace('heard');
    await bumped;
    const deleted = once(b, 'invalidated');
    await a.delete('some-key');
    await deleted;
    expect(heard).toEqual(['n:heard', 'e:some-key']);
  });

  it("does not let a new request join a fill that began before another instance's invalidation", async () => {
    const { cache: a } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { cache: b } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const answer = gate();
    const leaderStarted = gate();
    let runs = 0;
    const app = express();
    app.get('/slow', a.middleware({ keyBuilder: () => 'slow', coalesceTimeout: 20000 }), async (req, res) => {
      const run = ++runs;
      if (run === 1) {
        leaderStarted.open();
        await answer.promise; // the leader's data source answers late, with what it read before the write
      } else {
        answer.open(); // the second request computed its own response: let the leader finish
      }
      res.send(`v${run}`);
    });
    const http = await serve(app);
    servers.push(http);
    await busReady(a);
    const first = http.get('/slow', { agent: false });
    await leaderStarted.promise;
    const heard = once(a, 'invalidated');
    await b.delete('slow');
    await heard;
    // Joining the leader's flight would wait for the gate, which only a handler run opens.
    const second = await Promise.race([http.get('/slow', { agent: false }), new Promise((resolve) => {
      setTimeout(() => resolve({ text: 'joined the earlier fill' }), 5000).unref();
    })]);
    answer.open();
    expect(second.text).toBe('v2');
    expect((await first).text).toBe('v1');
  });
});

describe('events between processes', () => {
  /** Starts test/helpers/event-child.js; next(predicate) resolves with its next matching line. */
  async function child() {
    const proc = spawn(process.execPath, [path.join(__dirname, '..', 'helpers', 'event-child.js'), redis.url],
      { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = [];
    const waiting = [];
    readline.createInterface({ input: proc.stdout }).on('line', (line) => {
      const message = JSON.parse(line);
      const i = waiting.findIndex((w) => w.predicate(message));
      if (i === -1) lines.push(message);
      else waiting.splice(i, 1)[0].resolve(message);
    });
    // A bound on a failure, not a pause: a child under the sanitizer pass, on a busy machine, took
    // more than 5 s to say its port once.
    const next = (predicate, timeout = 20000) => {
      const i = lines.findIndex(predicate);
      if (i !== -1) return Promise.resolve(lines.splice(i, 1)[0]);
      return new Promise((resolve, reject) => {
        const entry = { predicate, resolve };
        waiting.push(entry);
        setTimeout(() => reject(new Error(`the child said nothing matching within ${timeout} ms; it said ${JSON.stringify(lines)}`)), timeout).unref();
      });
    };
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    const { port } = await next((m) => m.port !== undefined || m.fatal !== undefined);
    servers.push({ close: async () => { proc.stdin.end(); await exited; } });
    const get = (p) => new Promise((resolve, reject) => {
      nodeHttp.get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
        let text = '';
        res.on('data', (c) => { text += c; });
        res.on('end', () => resolve({ xCache: res.headers['x-cache'], tier: res.headers['x-cache-tier'], text }));
      }).on('error', reject);
    });
    return { next, get, lines };
  }

  it('drops another process\'s in-process copies on invalidation and delivers app events to it', async () => {
    const other = await child();
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    await other.get('/p/1');
    expect(await other.get('/p/1')).toEqual({ xCache: 'HIT', tier: 'local', text: 'run 1' });
    expect(await cache.invalidateTags(['product:1'])).toBe(1);
    await other.next((m) => typeof m.invalidated === 'string' && m.invalidated.startsWith('e:'));
    expect(await other.get('/p/1')).toEqual({ xCache: 'MISS', tier: undefined, text: 'run 2' });
    await cache.publish('product_updated', { id: 1 });
    expect(await other.next((m) => m.event !== undefined)).toEqual({ event: 'product_updated', payload: { id: 1 } });
    expect(other.lines.filter((m) => m.error !== undefined)).toEqual([]);
  });
});

describe('when the subscriber connection is lost', () => {
  it('flushes the in-process tier on reconnect (invalidations may have been missed) and hears events again', async () => {
    const own = await startRedis();
    try {
      const { cache } = await openCache({ commandTimeout: 2000, redis: own.url, local: { ttl: 60 } });
      await busReady(cache);
      const app = express();
      app.get('/r', cache.middleware({ keyBuilder: () => 'r' }), (req, res) => res.send('ok'));
      const http = await serve(app);
      servers.push(http);
      await fill(http, ['/r']);
      expect(cache.localStats().entries).toBe(1);
      const readyAgain = once(cache, 'ready', 10000);
      await own.restart();
      await readyAgain;
      await waitFor(() => cache.localStats().entries === 0, { timeout: 5000, what: 'the local tier flushed' });
      const heard = new Promise((resolve) => cache.onEvent('after', resolve).ready.then(() => cache.publish('after', 'again')));
      expect(await heard).toBe('again');
    } finally {
      await own.close();
    }
  });
});

describe('in embedded mode (no Redis)', () => {
  let savedUrl;
  beforeEach(() => {
    savedUrl = process.env.REDIS_URL;
    delete process.env.REDIS_URL;
  });
  afterEach(() => {
    if (savedUrl !== undefined) process.env.REDIS_URL = savedUrl;
  });

  it('invalidates by tag, path, prefix, key pattern and namespace in process memory', async () => {
    const { cache } = await openCache({});
    const { http } = await catalogue(cache, (app) => {
      app.get('/ns/:id', cache.middleware({ namespace: 'ns' }), (req, res) => res.send(req.params.id));
      app.get('/k/:id', cache.middleware({ keyBuilder: (req) => `k:${req.params.id}` }), (req, res) => res.send(req.params.id));
    });
    await fill(http, ['/products/1', '/products/2', '/api/users/1', '/api/users/2', '/api', '/ns/1', '/k/1', '/k/2']);
    expect(await cache.invalidateTags(['product:1'])).toBe(1);
    expect(await xCache(http, '/products/1')).toBe('MISS');
    expect(await xCache(http, '/products/2')).toBe('HIT');
    expect(await cache.invalidatePath('/api/users/*')).toBe(2);
    expect(await xCache(http, '/api/users/2')).toBe('MISS');
    expect(await xCache(http, '/api')).toBe('HIT');
    expect(await cache.invalidateKeys('k:1')).toBe(1);
    expect(await xCache(http, '/k/1')).toBe('MISS');
    expect(await xCache(http, '/k/2')).toBe('HIT');
    await cache.bumpNamespace('ns');
    expect(await xCache(http, '/ns/1')).toBe('MISS');
    expect(await xCache(http, '/ns/1')).toBe('HIT');
  });

  it('refuses the store of a fill that began before cache.invalidateKeys(pattern), as with Redis', async () => {
    const { cache } = await openCache({});
    await expectFillFenced(cache, (c) => c.invalidateKeys('item:*'));
  });

  it('indexes paths in the same normal form as with Redis', async () => {
    const { cache } = await openCache({});
    const { http } = await catalogue(cache);
    await fill(http, ['/users/alice', '/users/%61lice', '/USERS/alice/', '/users/a*b']);
    expect(await cache.invalidatePath('/users/Alice')).toBe(3);
    expect(await cache.invalidatePath('/users/a*b')).toBe(1);
  });
});

describe('the maxmemory policy', () => {
  it.each([
    ['allkeys-lru', ['ERR_RESPCACHE_EVICTION_POLICY']],
    ['volatile-lru', []],
  ])('under %s reports %j at connect', async (policy, expected) => {
    const own = await startRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', policy] });
    try {
      const { cache, errors } = await openCache({ commandTimeout: 2000, redis: own.url });
      // The check is one CONFIG GET after 'ready'; a PING after it on the same connection answers after it.
      await rawCommand(cache, ['PING']);
      expect(errors.map((e) => e.code)).toEqual(expected);
    } finally {
      await own.close();
    }
  });
});

describe('bad input', () => {
  let cache;
  beforeEach(async () => { ({ cache } = await openCache({ commandTimeout: 2000, redis: redis.url })); });

  it.each([
    ['a tag list that is not an array', () => cache.invalidateTags('products')],
    ['an empty-string tag', () => cache.invalidateTags(['ok', ''])],
    ['a tag that is not a string', () => cache.invalidateTags([42])],
    ['a path without a leading slash', () => cache.invalidatePath('api/users')],
    ['a path with a query string', () => cache.invalidatePath('/api?x=1')],
    ['an empty key pattern', () => cache.invalidateKeys('')],
    ['an empty namespace', () => cache.bumpNamespace('')],
    ['an event without a name', () => cache.publish('')],
    // UTF-8 has no form for these: '\uD800' and '\uD801' would both name U+FFFD.
    ['a tag with a lone surrogate', () => cache.invalidateTags(['\uD800'])],
    ['a key pattern with a lone surrogate', () => cache.invalidateKeys('k:\uD800*')],
    ['a namespace with a lone surrogate', () => cache.bumpNamespace('ns\uD801')],
  ])('rejects %s with a coded TypeError, doing nothing', async (what, call) => {
    await expect(call()).rejects.toMatchObject({ name: 'InvalidArgumentError', code: 'ERR_RESPCACHE_INVALID_ARGUMENT' });
    expect(await redis.client().dbsize()).toBe(0);
  });

  it('rejects every invalidation while Redis is down with a coded error', async () => {
    const own = await startRedis();
    try {
      const { cache: down } = await openCache({ redis: own.url, commandTimeout: 200 });
      await own.stop();
      for (const call of [() => down.invalidateTags(['t']), () => down.invalidatePath('/x'), () => down.invalidateKeys('*'),
        () => down.bumpNamespace('n'), () => down.delete('k'), () => down.publish('e')]) {
        await expect(call()).rejects.toMatchObject({ code: expect.stringMatching(/^ERR_RESPCACHE_REDIS_(UNAVAILABLE|TIMEOUT)$/) });
      }
    } finally {
      await own.close();
    }
  });

  it.each([
    ['tags', 'products'],
    ['tags', ['']],
    ['namespace', ''],
    ['namespace', 42],
    ['invalidates', 'products'],
    ['invalidates', [null]],
  ])('throws a TypeError naming "%s" at setup for %j', (name, value) => {
    expect(() => cache.middleware({ [name]: value })).toThrow(expect.objectContaining({
      name: 'TypeError', message: expect.stringContaining(`"${name}"`) }));
  });
});

describe('fills under way during an invalidation', () => {
  it('do not hand their response to requests that arrive after the invalidation', async () => {
    const { cache } = await openCache({ redis: redis.url, commandTimeout: 2000 });
    const answer = gate();
    let runs = 0;
    const app = express();
    app.get('/item', cache.middleware({ tags: ['item'] }), async (req, res) => {
      const run = ++runs;
      if (run === 1) await answer.promise;
      res.send(`run ${run}`);
    });
    const http = await serve(app);
    servers.push(http);
    const early = http.get('/item', { agent: false });
    await waitFor(() => runs === 1, { what: 'the first handler run' });
    await cache.invalidateTags(['item']);
    const late = await http.get('/item', { agent: false });
    expect([late.headers['x-cache'], late.text]).toEqual(['MISS', 'run 2']);
    answer.open();
    expect((await early).text).toBe('run 1');
  });
});
