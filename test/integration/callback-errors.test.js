'use strict';

// A keyBuilder or condition that throws or rejects: the request runs uncached, answers 200, and
// the fault is reported on the cache's 'error' event.
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, once } = require('../helpers/cache');

// Jest fails the running test on any unhandled rejection, so every test here also asserts that
// none happened; the child-process tests in cache-lifecycle.test.js check the same outside Jest.
let redis;
let cache;
let errors;
let http;
let calls;

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
  calls = 0;
  errors.length = 0;
});

afterEach(async () => {
  if (http) await http.close();
  http = null;
});

async function route(options) {
  const app = express();
  app.get('/r', cache.middleware(options), (req, res) => { calls++; res.send(`handler ${calls}`); });
  // An app-level error handler that would reveal a fault wrongly sent to next(err).
  app.use((err, req, res, next) => { res.status(599).send(`app error handler: ${err.message}`); }); // eslint-disable-line no-unused-vars
  http = await serve(app);
}

/** Waits for the cache's 'error' event unless one was already recorded. */
async function reported() {
  if (errors.length === 0) await once(cache, 'error', 2000);
  return errors;
}

const mentions = (fault) => (err) => err === fault || (err && err.cause === fault)
  || (err && typeof err.message === 'string' && err.message.includes(fault.message));

describe.each([
  ['throws', (fault) => () => { throw fault; }],
  ['returns a rejected Promise', (fault) => () => Promise.reject(fault)],
  ['is an async function that throws', (fault) => async () => { throw fault; }],
])('when the keyBuilder %s', (_what, makeBuilder) => {
  it('runs the handler uncached with X-Cache: BYPASS, answers 200 and reports the error', async () => {
    const fault = new Error('builder exploded');
    await route({ keyBuilder: makeBuilder(fault) });
    const first = await http.get('/r');
    const second = await http.get('/r');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['BYPASS', 'BYPASS']);
    expect([first.text, second.text]).toEqual(['handler 1', 'handler 2']);
    expect((await reported()).some(mentions(fault))).toBe(true);
    expect(await redis.keys('*')).toEqual([]);
  });
});

describe.each([
  ['throws', (fault) => () => { throw fault; }],
  ['returns a rejected Promise', (fault) => () => Promise.reject(fault)],
])('when the condition %s', (_what, makeCondition) => {
  it('answers 200 with the handler body, stores nothing and reports the error', async () => {
    const fault = new Error('condition exploded');
    await route({ condition: makeCondition(fault) });
    const first = await http.get('/r');
    const second = await http.get('/r');
    expect([first.status, second.status]).toEqual([200, 200]);
    expect([first.text, second.text]).toEqual(['handler 1', 'handler 2']);
    // X-Cache was decided (MISS) before the handler ran; the entry was then not stored.
    expect(second.headers['x-cache']).toBe('MISS');
    expect(calls).toBe(2);
    expect((await reported()).some(mentions(fault))).toBe(true);
    expect(await redis.keys('*')).toEqual([]);
  });
});

describe('when the keyBuilder fails for one request only', () => {
  it('caches the other requests as usual', async () => {
    await route({ keyBuilder: (req) => { if (req.query.bad) throw new Error('bad one'); return `k:${req.query.id}`; } });
    expect((await http.get('/r?id=1')).headers['x-cache']).toBe('MISS');
    expect((await http.get('/r?id=1&bad=1')).headers['x-cache']).toBe('BYPASS');
    const hit = await http.get('/r?id=1');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe('handler 1');
  });
});
