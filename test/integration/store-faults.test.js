'use strict';

// The Redis store when Redis loses its data or holds something else at one of the cache's names:
// invalidations stay exact, and nothing stalls or breaks for good.
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, gate, once, waitFor } = require('../helpers/cache');
const { onFillWake } = require('../helpers/internals');
const { redisName, bucketName } = require('../helpers/layout');
const { monitor: startMonitor } = require('../helpers/monitor');

let redis;
let cache;
let http;
let calls;
const errors = [];

beforeAll(async () => {
  redis = await startRedis();
  ({ cache } = await openCache({ redis: redis.url, commandTimeout: 2000 }));
  cache.on('error', (err) => errors.push(err));
});

afterAll(async () => {
  if (http) await http.close();
  await closeCaches();
  if (redis) await redis.close();
});

beforeEach(async () => {
  await redis.client().flushall();
  calls = 0;
  errors.length = 0;
  if (http) await http.close();
  http = null;
});

describe('when Redis loses the invalidation sequence (a restart without persistence)', () => {
  it('still refuses the store of a fill that began before an invalidation made after the loss', async () => {
    let data = 'v1';
    const held = gate();
    const started = gate();
    const app = express();
    app.get('/item', cache.middleware({ ttl: 60, tags: ['item'] }), async (req, res) => {
      calls++;
      const read = data;
      started.open();
      await held.promise;
      res.json({ data: read });
    });
    http = await serve(app);
    // Invalidations before the loss push the sequence up.
    for (let i = 0; i < 5; i++) await cache.invalidateTags(['other']);
    const first = http.get('/item');
    await started.promise; // the fill read data v1, after a lookup that read the sequence
    const ready = once(cache, 'ready', 10000);
    await redis.restart();
    await ready;
    data = 'v2';
    await cache.invalidateTags(['item']);
    held.open();
    expect((await first).headers['x-cache']).toBe('MISS');
    const next = await http.get('/item');
    expect([next.headers['x-cache'], JSON.parse(next.text)]).toEqual(['MISS', { data: 'v2' }]);
  });
});

describe('a key of another type at a name the cache uses', () => {
  it('at the invalidation sequence or a namespace version: lookups and invalidations go on', async () => {
    const app = express();
    app.get('/a', cache.middleware({ ttl: 60, tags: ['a'] }), (req, res) => { calls++; res.send(`a ${calls}`); });
    app.get('/n', cache.middleware({ ttl: 60, namespace: 'planted' }), (req, res) => { calls++; res.send(`n ${calls}`); });
    http = await serve(app);
    await redis.client().rpush(bucketName('iv:seq'), 'x');
    await redis.client().hset(redisName('n:planted'), 'x', '1');
    await http.get('/a');
    await http.get('/n');
    expect((await http.get('/a')).headers['x-cache']).toBe('HIT');
    expect((await http.get('/n')).headers['x-cache']).toBe('HIT');
    await expect(cache.invalidateTags(['a'])).resolves.toBe(1);
    await expect(cache.delete('nothing')).resolves.toBe(false);
    expect((await http.get('/a')).headers['x-cache']).toBe('MISS');
    expect(await redis.client().type(bucketName('iv:seq'))).toBe('string');
  });

  it('at a fill lock: a MISS does not wait for a lock nobody holds', async () => {
    const app = express();
    app.get('/p', cache.middleware({ ttl: 60, keyBuilder: () => 'faults:p', coalesceTimeout: 3000 }),
      (req, res) => { calls++; res.send(`p ${calls}`); });
    http = await serve(app);
    await redis.client().hset(redisName('l:e:faults:p'), 'x', '1');
    const sent = performance.now();
    const miss = await http.get('/p');
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(performance.now() - sent).toBeLessThan(1500); // a held lock would make it wait 3 s
    expect((await http.get('/p')).headers['x-cache']).toBe('HIT');
  });
});

describe('a request that took the fill lock while another of this process leads', () => {
  it('gives it back so the leader fills at once (no wait for its next poll)', async () => {
    const app = express();
    app.get('/r', cache.middleware({ ttl: 60, keyBuilder: () => 'faults:r', lockTtl: 4000 }),
      (req, res) => { calls++; res.send(`run ${calls}`); });
    http = await serve(app);
    await http.get('/r'); // this process now holds the key: its next lookup starts with a GET alone
    await redis.client().del(redisName('e:faults:r')); // another process's invalidation removed it
    // What woke each wait for another fill of the key: the leader waits for the lock the other
    // request took; 'free' is its give-back, 'tick' the poll (min(500, lockTtl / 4) ms) it must
    // not need.
    const woke = [];
    onFillWake(cache, (name, state) => woke.push(state));
    // The lookup script waits in Redis while plain GETs are answered: X's GET finds nothing and its
    // full lookup (which takes the lock) waits; Y's full lookup follows it in the same batch.
    const monitor = await startMonitor(redis);
    let gets = 0;
    const xQueued = new Promise((resolve) => {
      monitor.on('monitor', (time, args) => {
        if (String(args[0]).toLowerCase() === 'get' && String(args[1]) === redisName('e:faults:r') && ++gets === 2) resolve();
      });
    });
    const control = redis.client({ connectionName: 'control' });
    // Writes wait until the CLIENT UNPAUSE below, however long the requests take to get there.
    expect(await control.call('CLIENT', 'PAUSE', '60000', 'WRITE')).toBe('OK');
    try {
      const x = http.get('/r', { agent: false });
      await xQueued; // X's GET alone, then the GET of its full lookup: its script now waits in Redis
      const y = http.get('/r', { agent: false });
      // Y's full lookup has reached Redis once the cache's connection, held by X's script (a
      // blocked client), has unread input.
      const queued = async () => String(await control.call('CLIENT', 'LIST', 'TYPE', 'normal'))
        .split('\n').some((client) => / flags=b /.test(client) && / qbuf=[1-9]/.test(client));
      await waitFor(queued, { timeout: 10000, what: "Y's lookup queued behind X's script" });
      expect(await control.call('CLIENT', 'UNPAUSE')).toBe('OK');
      const [rx, ry] = await Promise.all([x, y]);
      expect([rx.text, ry.text]).toEqual(['run 2', 'run 2']);
      expect(calls).toBe(2);
      expect(woke).toEqual(['free']);
    } finally {
      await control.call('CLIENT', 'UNPAUSE');
      control.disconnect();
      monitor.disconnect();
    }
  });
});
