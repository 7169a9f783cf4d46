'use strict';

// The invalidation fence decides by order, not by clocks: a fill that began before an
// invalidation is refused its store even when the store waits in Redis's queue (here behind
// CLIENT PAUSE WRITE) long enough that "Redis time now minus the fill's duration" would place the
// fill's start after the invalidation.
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, gate } = require('../helpers/cache');

let redis;
let cache;
let http;
let calls;
let handlerGate;
let handlerStarted;

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache({ redis: redis.url, commandTimeout: 2000 }));
  const app = express();
  const slow = async (req, res) => {
    calls++;
    const run = calls;
    handlerStarted.open();
    await handlerGate.promise;
    res.type('text').send(`version ${run}`);
  };
  app.get('/tagged', cache.middleware({ ttl: 60, tags: ['t'] }), slow);
  app.get('/deleted', cache.middleware({ ttl: 60, keyBuilder: () => 'fence:deleted' }), slow);
  app.get('/pattern', cache.middleware({ ttl: 60, keyBuilder: () => 'fence:pattern' }), slow);
  http = await serve(app);
});

afterAll(async () => {
  if (http) await http.close();
  await closeCaches();
  if (redis) await redis.close();
});

beforeEach(async () => {
  await redis.client().flushall();
  calls = 0;
  handlerGate = gate();
  handlerStarted = gate();
});

/**
 * A MISS whose handler is held while `invalidate` runs; then Redis pauses writes for 300 ms and
 * the handler answers, so its store waits in the queue. Resolves with the next request's answer.
 */
async function fillAcross(path, invalidate) {
  const first = http.get(path);
  await handlerStarted.promise;
  await invalidate();
  await redis.client().call('CLIENT', 'PAUSE', '300', 'WRITE');
  handlerGate.open();
  const filled = await first;
  expect([filled.headers['x-cache'], filled.text]).toEqual(['MISS', 'version 1']);
  return http.get(path);
}

describe('a fill that began before an invalidation, whose store waits in Redis', () => {
  it('is refused after a tag invalidation', async () => {
    const next = await fillAcross('/tagged', () => cache.invalidateTags(['t']));
    expect([next.headers['x-cache'], next.text]).toEqual(['MISS', 'version 2']);
    expect(cache.stats().storesFenced).toBeGreaterThanOrEqual(1);
  });

  it('is refused after a path invalidation', async () => {
    const next = await fillAcross('/tagged', () => cache.invalidatePath('/tagged'));
    expect([next.headers['x-cache'], next.text]).toEqual(['MISS', 'version 2']);
  });

  it('is refused after cache.delete(key)', async () => {
    const next = await fillAcross('/deleted', () => cache.delete('fence:deleted'));
    expect([next.headers['x-cache'], next.text]).toEqual(['MISS', 'version 2']);
  });

  it('is refused after a key pattern invalidation', async () => {
    const next = await fillAcross('/pattern', () => cache.invalidateKeys('fence:*'));
    expect([next.headers['x-cache'], next.text]).toEqual(['MISS', 'version 2']);
  });
});

describe('a fill that began after an invalidation', () => {
  it('is stored, even when its store waits in Redis', async () => {
    await cache.invalidateTags(['t']);
    const first = http.get('/tagged');
    await handlerStarted.promise;
    await redis.client().call('CLIENT', 'PAUSE', '300', 'WRITE');
    handlerGate.open();
    await first;
    const next = await http.get('/tagged');
    expect([next.headers['x-cache'], next.text]).toEqual(['HIT', 'version 1']);
  });
});
