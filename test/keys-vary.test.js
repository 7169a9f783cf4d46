'use strict';

// The vary route option, handler-set Vary under the built-in key, and the built-in key builders.
const express = require('express');
const { keys } = require('../lib');
const { startRedis } = require('./helpers/redis');
const { serve } = require('./helpers/http');
const { openCache, closeCaches } = require('./helpers/cache');

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
  it('does not store a response varying on a header the key does not include', async () => {
    await route({}, (req, res) => res.set('Vary', 'Accept-Language').send(`lang=${req.get('accept-language')}`));
    await http.get('/r', { headers: { 'accept-language': 'en' } });
    const fr = await http.get('/r', { headers: { 'accept-language': 'fr' } });
    expect([fr.headers['x-cache'], fr.text]).toEqual(['MISS', 'lang=fr']);
    expect(await redis.keys('respcache:e:*')).toEqual([]);
  });

  it('stores it when the route varies on that header', async () => {
    await route({ vary: ['accept-language'] }, (req, res) => res.set('Vary', 'Accept-Language').send('x'));
    await http.get('/r', { headers: { 'accept-language': 'en' } });
    expect((await http.get('/r', { headers: { 'accept-language': 'en' } })).headers['x-cache']).toBe('HIT');
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

  it('does not cache a request without a user id', async () => {
    await route({ keyBuilder: byUser }, (req, res) => res.send('anonymous'));
    const first = await http.get('/r');
    expect(first.headers['x-cache']).toBe('BYPASS');
    expect(await redis.keys('respcache:e:*')).toEqual([]);
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
