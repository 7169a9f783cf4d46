'use strict';

// The default key: which requests share an entry (same canonical request) and which do not.
const express = require('express');
const express4 = require('express4');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches } = require('../helpers/cache');

let redis;
let cache;
let http;

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
  const app = express();
  app.get(/.*/, cache.middleware({ exposeKey: true }), (req, res) => res.send(req.originalUrl));
  http = await serve(app);
});

afterAll(async () => {
  if (http) await http.close();
  await closeCaches();
  if (redis) await redis.close();
});

beforeEach(async () => {
  await redis.client().flushall();
});

async function keyOf(path, headers) {
  const reply = await http.get(path, { headers });
  expect(reply.headers['x-cache-key']).toMatch(/^respcache:[0-9a-f]{64}$/);
  return reply.headers['x-cache-key'];
}

describe.each([
  ['query parameters in another order', '/k?a=1&b=2', '/k?b=2&a=1'],
  ['a space written as "+" or "%20"', '/k?q=a+b', '/k?q=a%20b'],
  ['a percent-encoded unreserved character in the query', '/k?q=A', '/k?q=%41'],
  ['lower- or upper-case percent-encoding in the query', '/k?q=%c3%a9', '/k?q=%C3%A9'],
  ['a parameter with and without "="', '/k?flag', '/k?flag='],
  ['an empty query segment', '/k?a=1&&b=2', '/k?a=1&b=2'],
])('when two requests differ only by %s', (_what, one, two) => {
  it('gives them the same key, so the second is a HIT', async () => {
    const first = await http.get(one);
    const second = await http.get(two);
    expect(first.headers['x-cache']).toBe('MISS');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers['x-cache-key']).toBe(first.headers['x-cache-key']);
    expect(second.text).toBe(one);
  });
});

describe.each([
  ['a query value', '/k?a=1', '/k?a=2'],
  ['the order of a repeated parameter', '/k?a=1&a=2', '/k?a=2&a=1'],
  ['the path', '/k/a', '/k/b'],
  ['a query present or absent', '/k', '/k?a'],
  ['a "&" inside a value versus a separator', '/k?a=1%262', '/k?a=1&2'],
  ['a "=" inside a name versus a separator', '/k?a%3Db=c', '/k?a=b%3Dc'],
  ['an encoded "/" versus a path separator', '/k/a%2Fb', '/k/a/b'],
  ['the case of the path', '/k/Abc', '/k/abc'],
  ['an encoded "~" in the path (the path is keyed as sent)', '/k/~x', '/k/%7Ex'],
  ['lower- or upper-case percent-encoding in the path', '/k/%c3%a9', '/k/%C3%A9'],
  ['an encoded unreserved letter in the path', '/k/api', '/k/ap%69'],
])('when two requests differ by %s', (_what, one, two) => {
  it('gives them different keys', async () => {
    const a = await keyOf(one);
    const b = await keyOf(two);
    expect(a).not.toBe(b);
    expect((await http.get(two)).text).toBe(two);
  });
});

describe('when two requests differ only by the Host header', () => {
  it('gives them different keys', async () => {
    const a = await keyOf('/k', { host: 'one.example' });
    const b = await keyOf('/k', { host: 'two.example' });
    expect(a).not.toBe(b);
  });

  it('treats the host name case-insensitively', async () => {
    const a = await keyOf('/k', { host: 'Shop.Example' });
    const b = await keyOf('/k', { host: 'shop.example' });
    expect(a).toBe(b);
  });
});

describe('when GET and HEAD ask for the same resource', () => {
  it('looks HEAD up under the GET key', async () => {
    const get = await keyOf('/same');
    const head = await http.head('/same');
    expect(head.headers['x-cache']).toBe('HIT');
    expect(head.headers['x-cache-key']).toBe(get);
  });
});

describe('when the same request reaches an Express 4 app and an Express 5 app', () => {
  it('gets the same key in both', async () => {
    const app4 = express4();
    app4.get('/k', cache.middleware({ exposeKey: true }), (req, res) => res.send('4'));
    const http4 = await serve(app4);
    try {
      const k4 = (await http4.get('/k?b=2&a=1', { headers: { host: 'h' } })).headers['x-cache-key'];
      const k5 = await keyOf('/k?a=1&b=2', { host: 'h' });
      expect(k4).toMatch(/^respcache:[0-9a-f]{64}$/);
      expect(k5).toBe(k4);
    } finally {
      await http4.close();
    }
  });
});
