'use strict';

// Validators, conditional requests and Age, on HIT and on MISS. The cache's clock is a fake one
// (test/helpers/clock.js): Age counts from the entry's storedAt by it.
const express = require('express');
const binding = require('../../lib/binding');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, entryKey } = require('../helpers/cache');
const { fakeClock, withClock } = require('../helpers/clock');

let redis;
let cache;
let http;
let calls;
let seenConditions;
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
  seenConditions = [];
});
afterEach(async () => {
  if (http) await http.close();
  http = null;
});

async function route(handler, options = { keyBuilder: () => 'k' }) {
  const app = express();
  app.get('/r', cache.middleware(options), (req, res) => {
    calls++;
    seenConditions.push(req.headers['if-none-match'] || req.headers['if-modified-since'] || null);
    handler(req, res);
  });
  http = await serve(app);
}

describe('when the handler sets no ETag', () => {
  it('stores a weak ETag made from the body, the same on the MISS and the HIT', async () => {
    await route((req, res) => { res.setHeader('Content-Type', 'text/plain'); res.end('raw body'); });
    const miss = await http.get('/r');
    const hit = await http.get('/r');
    // Weak: a compression layer in front sends it on gzipped and identity bytes alike.
    expect(miss.headers.etag).toMatch(/^W\/"[A-Za-z0-9_-]+"$/);
    expect(hit.headers.etag).toBe(miss.headers.etag);
  });
});

describe('when a HIT request carries If-None-Match', () => {
  beforeEach(() => route((req, res) => res.set('Cache-Control', 'public, max-age=60').set('Vary', 'Accept-Language').send('body')));

  it.each([
    ['the same ETag', (etag) => etag],
    ['the ETag among others', (etag) => `"other", ${etag}, "third"`],
    ['the weak form of a strong ETag', (etag) => `W/${etag.replace(/^W\//, '')}`],
    ['"*"', () => '*'],
  ])('answers 304 with no body for %s, keeping ETag, Cache-Control and Vary', async (_what, make) => {
    const miss = await http.get('/r');
    const reply = await http.get('/r', { headers: { 'if-none-match': make(miss.headers.etag) } });
    expect(reply.status).toBe(304);
    expect(reply.body.length).toBe(0);
    expect(reply.headers['x-cache']).toBe('HIT');
    expect(reply.headers.etag).toBe(miss.headers.etag);
    expect(reply.headers['cache-control']).toBe('public, max-age=60');
    expect(reply.headers.vary).toBe('Accept-Language');
    expect(reply.headers.date).toBeDefined();
    expect(reply.headers['content-type']).toBeUndefined();
    expect(calls).toBe(1);
  });

  it('answers 200 with the body when no tag matches', async () => {
    await http.get('/r');
    const reply = await http.get('/r', { headers: { 'if-none-match': '"nope"' } });
    expect([reply.status, reply.text, reply.headers['x-cache']]).toEqual([200, 'body', 'HIT']);
  });

  it('answers HEAD the same way', async () => {
    const miss = await http.get('/r');
    const reply = await http.head('/r', { headers: { 'if-none-match': miss.headers.etag } });
    expect(reply.status).toBe(304);
  });
});

describe('when a HIT request carries If-Modified-Since', () => {
  const LAST = 'Tue, 10 Nov 2026 10:00:00 GMT';
  beforeEach(() => route((req, res) => res.set('Last-Modified', LAST).send('dated')));

  it('answers 304 when the entry was not modified since', async () => {
    await http.get('/r');
    const reply = await http.get('/r', { headers: { 'if-modified-since': 'Wed, 11 Nov 2026 10:00:00 GMT' } });
    expect(reply.status).toBe(304);
    expect(reply.headers['last-modified']).toBe(LAST);
  });

  it('answers 200 when it was modified after', async () => {
    await http.get('/r');
    const reply = await http.get('/r', { headers: { 'if-modified-since': 'Mon, 09 Nov 2026 10:00:00 GMT' } });
    expect([reply.status, reply.text]).toEqual([200, 'dated']);
  });

  it('is ignored when If-None-Match is present and does not match', async () => {
    await http.get('/r');
    const reply = await http.get('/r', { headers: { 'if-none-match': '"nope"', 'if-modified-since': 'Wed, 11 Nov 2026 10:00:00 GMT' } });
    expect(reply.status).toBe(200);
  });
});

describe('when a MISS request carries a matching If-None-Match', () => {
  it('hides it from the handler, stores the full response, and still answers 304', async () => {
    await route((req, res) => res.send('full body'));
    // The ETag Express computes for "full body", learnt from a first cache on another key.
    const probe = await http.get('/r');
    await redis.client().flushall();
    const reply = await http.get('/r', { headers: { 'if-none-match': probe.headers.etag } });
    expect(reply.status).toBe(304);
    expect(reply.body.length).toBe(0);
    expect(seenConditions).toEqual([null, null]);
    const stored = await http.get('/r');
    expect([stored.status, stored.headers['x-cache'], stored.text]).toEqual([200, 'HIT', 'full body']);
  });
});

describe('Age', () => {
  it('is sent on HITs as whole seconds since the entry was stored, with X-Cache-Age and a fresh Date', async () => {
    await route((req, res) => res.send('x'));
    const storedAt = clock.now() - 7999;
    await redis.client().set(entryKey('k'), binding.encodeEntry(200, ['content-type', 'text/plain', 'etag', '"e"'],
      Buffer.from('aged'), storedAt, storedAt + 60000), 'PX', 60000);
    const hit = await http.get('/r');
    expect(hit.text).toBe('aged');
    expect(hit.headers.age).toBe('7'); // 7.999 s: whole seconds, rounded down
    expect(hit.headers['x-cache-age']).toBe(hit.headers.age);
    clock.advance(1);
    expect((await http.get('/r')).headers.age).toBe('8');
    // Date is the server's real time (Node's), not the cache's clock.
    expect(Math.abs(Date.parse(hit.headers.date) - Date.now())).toBeLessThan(2000);
  });

  it('is not sent on a MISS', async () => {
    await route((req, res) => res.send('x'));
    expect((await http.get('/r')).headers.age).toBeUndefined();
  });
});
