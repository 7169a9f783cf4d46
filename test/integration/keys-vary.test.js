'use strict';

// The vary route option, handler-set Vary under the built-in key, and the built-in key builders.
const express = require('express');
const { keys } = require('../../lib');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches } = require('../helpers/cache');
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

async function route(options, handler) {
  const app = express();
  app.get('/r', cache.middleware(options), (req, res) => { calls++; handler(req, res); });
  http = await serve(app);
}

describe('the "vary" option', () => {
  beforeEach(() => route({ vary: ['Accept-Language'] }, (req, res) => res.send(`lang=${req.get('accept-language')}`)));

  it('keeps one entry per header value and says so in Vary', async () => {
    const en = await http.get('/r', { headers: { 'accept-language': 'en' } });
    const fr = await http.get('/r', { headers: { 'accept-language': 'fr' } });
    const en2 = await http.get('/r', { headers: { 'accept-language': 'en' } });
    expect([en.headers['x-cache'], fr.headers['x-cache'], en2.headers['x-cache']]).toEqual(['MISS', 'MISS', 'HIT']);
    expect([fr.text, en2.text]).toEqual(['lang=fr', 'lang=en']);
    expect(en.headers.vary).toBe('accept-language');
    expect(en2.headers.vary).toBe('accept-language');
    expect(calls).toBe(2);
  });

  it('treats values that differ only in whitespace as equal', async () => {
    await http.get('/r', { headers: { 'accept-language': 'en,  fr' } });
    const again = await http.get('/r', { headers: { 'accept-language': ' en, fr ' } });
    expect(again.headers['x-cache']).toBe('HIT');
  });
});

describe('when the handler sets Vary under the built-in key', () => {
  const greet = (req, res) => res.set('Vary', 'Accept-Language').send(`lang=${req.get('accept-language')}`);
  // One Host for every server, as behind one domain: the built-in key includes it.
  const lang = (value) => ({ headers: { host: 'api.test', 'accept-language': value } });

  it('learns it: one entry per value of that header, none served to another value', async () => {
    await route({}, greet);
    const en = await http.get('/r', lang('en'));
    const fr = await http.get('/r', lang('fr'));
    const en2 = await http.get('/r', lang('en'));
    const fr2 = await http.get('/r', lang('fr'));
    expect([en, fr, en2, fr2].map((r) => `${r.headers['x-cache']} ${r.text}`))
      .toEqual(['MISS lang=en', 'MISS lang=fr', 'HIT lang=en', 'HIT lang=fr']);
    expect(await redis.keys(familyPattern('e:*'))).toHaveLength(2);
    expect(calls).toBe(2);
  });

  it('keys values that differ only in whitespace together, as the vary option does', async () => {
    await route({}, greet);
    await http.get('/r', lang('en,  fr'));
    expect((await http.get('/r', lang(' en, fr '))).headers['x-cache']).toBe('HIT');
  });

  it('keeps what it learnt in a record under <prefix>:vr:<base key> that lives as long as the entry', async () => {
    await route({ ttl: 30, exposeKey: true }, greet);
    await http.get('/r', lang('en'));
    const hit = await http.get('/r', lang('en'));
    const [record] = await redis.keys(familyPattern('vr:*'));
    expect(record).toMatch(/^respcache:\{10\}:vr:respcache:[0-9a-f]{64}$/);
    expect(record).not.toBe(redisName(`vr:${hit.headers['x-cache-key']}`));
    const [recordTtl, entryTtl] = await Promise.all([record, redisName(`e:${hit.headers['x-cache-key']}`)]
      .map((k) => redis.client().pttl(k)));
    expect(Math.abs(recordTtl - entryTtl)).toBeLessThan(1000);
    expect(recordTtl).toBeGreaterThan(28000);
  });

  it('tells another process through that record: its first request for a stored variant is a HIT', async () => {
    await route({}, greet);
    await http.get('/r', lang('en'));
    const { cache: other } = await openCache({ redis: redis.url, commandTimeout: 1000 });
    const app = express();
    app.get('/r', other.middleware(), (req, res) => { calls++; greet(req, res); });
    const otherHttp = await serve(app);
    try {
      const en = await otherHttp.get('/r', lang('en'));
      const fr = await otherHttp.get('/r', lang('fr'));
      expect([en.headers['x-cache'], en.text, fr.headers['x-cache'], fr.text]).toEqual(['HIT', 'lang=en', 'MISS', 'lang=fr']);
    } finally {
      await otherHttp.close();
    }
  });

  it('names in X-Cache-Key of the MISS the key the entry went under, which cache.delete() removes', async () => {
    await route({ exposeKey: true }, (req, res) => res.set('Vary', 'Accept-Language').send(`lang=${req.get('accept-language')}`));
    const miss = await http.get('/r', lang('fr'));
    const hit = await http.get('/r', lang('fr'));
    expect([miss.headers['x-cache'], hit.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(miss.headers['x-cache-key']).toBe(hit.headers['x-cache-key']);
    expect(await cache.delete(miss.headers['x-cache-key'])).toBe(true);
    expect((await http.get('/r', lang('fr'))).headers['x-cache']).toBe('MISS');
  });

  it('drops an entry stored under the base key before the handler said Vary', async () => {
    let vary = false;
    await route({ exposeKey: true, honorRequestNoCache: true }, (req, res) => {
      if (vary) res.set('Vary', 'Accept-Language');
      res.send(`lang=${req.get('accept-language')}`);
    });
    const plain = await http.get('/r', lang('en'));
    const base = redisName(`e:${plain.headers['x-cache-key']}`);
    expect(await redis.keys(familyPattern('e:*'))).toEqual([base]);
    // The handler says Vary from now on; a request for a fresh answer runs it on the base key.
    vary = true;
    await http.get('/r', { headers: { ...lang('en').headers, 'cache-control': 'no-cache' } });
    const keys = await redis.keys(familyPattern('e:*'));
    expect(keys).toHaveLength(1);
    expect(keys).not.toContain(base);
  });

  it('never stores a response with Vary: *', async () => {
    await route({}, (req, res) => res.set('Vary', '*').send('x'));
    await http.get('/r');
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    expect(await redis.keys('respcache:*')).toEqual([]);
  });

  it('stores it under the route\'s key when the route varies on that header already', async () => {
    await route({ vary: ['accept-language'] }, greet);
    await http.get('/r', lang('en'));
    expect((await http.get('/r', lang('en'))).headers['x-cache']).toBe('HIT');
    expect(await redis.keys(familyPattern('vr:*'))).toEqual([]);
  });
});

describe('keys.perUser(req => id)', () => {
  const byUser = keys.perUser((req) => req.get('x-user'));

  it('keeps users apart, even for Cache-Control: private responses', async () => {
    await route({ keyBuilder: byUser }, (req, res) => res.set('Cache-Control', 'private').send(`secret of ${req.get('x-user')}`));
    await http.get('/r', { headers: { 'x-user': 'alice', authorization: 'a' } });
    await http.get('/r', { headers: { 'x-user': 'bob', authorization: 'b' } });
    const alice = await http.get('/r', { headers: { 'x-user': 'alice', authorization: 'a' } });
    const bob = await http.get('/r', { headers: { 'x-user': 'bob', authorization: 'b' } });
    expect([alice.headers['x-cache'], alice.text]).toEqual(['HIT', 'secret of alice']);
    expect([bob.headers['x-cache'], bob.text]).toEqual(['HIT', 'secret of bob']);
    expect(calls).toBe(2);
  });

  it('awaits an id given as a Promise, and keeps users apart', async () => {
    const asyncUser = keys.perUser(async (req) => req.get('x-user'));
    await route({ keyBuilder: asyncUser }, (req, res) => res.set('Cache-Control', 'private').send(`account of ${req.get('x-user')}`));
    await http.get('/r', { headers: { 'x-user': 'alice' } });
    const bob = await http.get('/r', { headers: { 'x-user': 'bob' } });
    const alice = await http.get('/r', { headers: { 'x-user': 'alice' } });
    expect([bob.headers['x-cache'], bob.text]).toEqual(['MISS', 'account of bob']);
    expect([alice.headers['x-cache'], alice.text]).toEqual(['HIT', 'account of alice']);
  });

  it('does not cache a request whose id is an object (its text would be the same for every user)', async () => {
    const byObject = keys.perUser((req) => ({ name: req.get('x-user') }));
    await route({ keyBuilder: byObject }, (req, res) => res.send(`account of ${req.get('x-user')}`));
    const alice = await http.get('/r', { headers: { 'x-user': 'alice' } });
    const bob = await http.get('/r', { headers: { 'x-user': 'bob' } });
    expect([alice.headers['x-cache'], bob.headers['x-cache'], bob.text]).toEqual(['BYPASS', 'BYPASS', 'account of bob']);
    expect(await redis.keys(familyPattern('e:*'))).toEqual([]);
  });

  it('does not cache a request without a user id', async () => {
    await route({ keyBuilder: byUser }, (req, res) => res.send('anonymous'));
    const first = await http.get('/r');
    expect(first.headers['x-cache']).toBe('BYPASS');
    expect(await redis.keys(familyPattern('e:*'))).toEqual([]);
  });
});

describe('keys.withHeaders(names)', () => {
  it('adds the header values to the built-in key', async () => {
    await route({ keyBuilder: keys.withHeaders(['X-Tenant']) }, (req, res) => res.send(`tenant ${req.get('x-tenant')}`));
    await http.get('/r', { headers: { 'x-tenant': 'a' } });
    const b = await http.get('/r', { headers: { 'x-tenant': 'b' } });
    const a = await http.get('/r', { headers: { 'x-tenant': 'a' } });
    expect([b.headers['x-cache'], b.text, a.headers['x-cache'], a.text]).toEqual(['MISS', 'tenant b', 'HIT', 'tenant a']);
  });

  it('gives the built-in key when no header is named', async () => {
    const req = { method: 'GET', originalUrl: '/x?a=1', headers: { host: 'h' } };
    expect(keys.withHeaders([])(req, 'p')).toBe(keys.default(req, 'p'));
    expect(keys.withHeaders(['x-a'])(req, 'p')).not.toBe(keys.default(req, 'p'));
    expect(keys.default(req, 'p')).toMatch(/^p:[0-9a-f]{64}$/);
  });
});

describe('option errors', () => {
  it.each([
    ['vary', { vary: 'Accept-Language' }],
    ['vary', { vary: ['bad name'] }],
    ['vary', { vary: ['x'], keyBuilder: () => 'k' }],
  ])('rejects an invalid "%s"', (name, options) => {
    expect(() => cache.middleware(options)).toThrow(expect.objectContaining({ message: expect.stringContaining(name) }));
  });

  it('rejects keys.perUser without a function and keys.withHeaders without names', () => {
    expect(() => keys.perUser('id')).toThrow(TypeError);
    expect(() => keys.withHeaders('x')).toThrow(TypeError);
  });
});
