'use strict';

// A store is all-or-nothing, and invalidations survive keys of another type at an index's name
// (issue #10, finding 4): an entry is never in Redis without every index that lets it be
// invalidated, and a string planted where a sorted set belongs neither makes an invalidation
// reject nor stops it from removing everything else it should. Real redis-server, real Express.
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { refill } = require('../helpers/refill');
const { respcache, openCache, closeCaches, once } = require('../helpers/cache');
const { sweep } = require('../helpers/internals');
const { bucketName, familyPattern } = require('../helpers/layout');

let redis;
let client;
const servers = [];

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
});
afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(async () => { await client.flushall(); });
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await closeCaches();
});

// What the route below writes for GET /items/1 (key layout in lib/stores/redis-keys.js).
const TAG_INDEX = bucketName('t:items');
const PATH_INDEX = bucketName('p:/items/1');
const PREFIX_INDEX = bucketName('s:/items/');
const ROOT_INDEX = bucketName('s:/');
const REGISTRY = bucketName('ix');
const TAG_FENCE = bucketName('iv:t:items');

/** /items/:id tagged 'items' and 'item:<id>', /other/:id tagged 'other'; `runs` counts handler runs. */
async function itemsApp(cache) {
  const runs = { n: 0 };
  const app = express();
  const answer = (req, res) => { runs.n++; res.send(`${req.path} #${runs.n}`); };
  app.get('/items/:id', cache.middleware({ tags: (req) => ['items', `item:${req.params.id}`] }), answer);
  app.get('/other/:id', cache.middleware({ tags: ['other'] }), answer);
  const http = await serve(app);
  servers.push(http);
  return { http, runs };
}

async function xCache(http, path) {
  const reply = await http.get(path);
  expect(reply.status).toBe(200);
  return reply.headers['x-cache'];
}

/** Requests each path until it is stored (MISS, then HIT). */
async function fill(http, paths) {
  for (const path of paths) {
    expect(await xCache(http, path)).toBe('MISS');
    expect(await xCache(http, path)).toBe('HIT');
  }
}

const entries = async () => client.keys(familyPattern('e:*'));

describe('when a store finds a key of another type where it writes', () => {
  describe.each([
    ['the tag index holds a string', TAG_INDEX, (k) => client.set(k, 'planted')],
    ['the path index holds a string', PATH_INDEX, (k) => client.set(k, 'planted')],
    ['a directory index holds a string', PREFIX_INDEX, (k) => client.set(k, 'planted')],
    ['the index registry holds a string', REGISTRY, (k) => client.set(k, 'planted')],
    ['an index is a list', TAG_INDEX, (k) => client.rpush(k, 'a')],
    ['a fence is a list', TAG_FENCE, (k) => client.rpush(k, 'a')],
    ['a fence holds a string that is not a time', TAG_FENCE, (k) => client.set(k, 'planted')],
  ])('when %s', (_what, bad, plant) => {
    it('stores neither the entry nor any index, reports ERR_RESPCACHE_STORE, and the next request is a MISS', async () => {
      const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
      const { http, runs } = await itemsApp(cache);
      await plant(bad);
      const reported = once(cache, 'error');
      expect(await xCache(http, '/items/1')).toBe('MISS');
      const [err] = await reported;
      expect(err).toBeInstanceOf(respcache.StoreError);
      expect(err.code).toBe('ERR_RESPCACHE_STORE');
      expect(err.message).toContain(`"${bad}"`);
      expect(await entries()).toEqual([]);
      // Nothing of the store landed: no index member, no registry entry (the planted key is gone:
      // it is the cache's own key name, and left alone it would refuse every later store).
      expect(await client.keys('respcache:*')).toEqual([]);
      expect(cache.stats()).toMatchObject({ stores: 0, storeFailures: 1 });

      expect(await xCache(http, '/items/1')).toBe('MISS');
      expect(runs.n).toBe(2);
      expect(await xCache(http, '/items/1')).toBe('HIT');
      expect(errors.map((e) => e.code)).toEqual(['ERR_RESPCACHE_STORE']);
      // What was stored is indexed: its tag removes it.
      expect(await cache.invalidateTags(['items'])).toBe(1);
      expect(await xCache(http, '/items/1')).toBe('MISS');
    });
  });

  it('with the in-process tier, does not serve the refused entry from process memory either', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url, local: true });
    const { http, runs } = await itemsApp(cache);
    await client.set(TAG_INDEX, 'planted');
    const reported = once(cache, 'error');
    expect(await xCache(http, '/items/1')).toBe('MISS');
    expect((await reported)[0].code).toBe('ERR_RESPCACHE_STORE');
    expect(await xCache(http, '/items/1')).toBe('MISS');
    expect(runs.n).toBe(2);
    expect(cache.localStats().hits).toBe(0);
  });

  it('leaves the entry it did store indexed under every name (no partial write on the happy path)', async () => {
    const { cache } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await itemsApp(cache);
    await fill(http, ['/items/1']);
    const [entry] = await entries();
    const member = entry.slice(bucketName('e:').length);
    for (const index of [TAG_INDEX, bucketName('t:item:1'), PATH_INDEX, PREFIX_INDEX, ROOT_INDEX]) {
      expect(await client.zscore(index, member)).not.toBeNull();
    }
  });
});

describe('when an invalidation finds a key of another type at an index name', () => {
  /** A cache and its app with `paths` stored, then a string planted at `bad`. */
  async function planted(bad, paths) {
    const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await itemsApp(cache);
    await fill(http, paths);
    await client.set(bad, 'planted');
    return { cache, errors, http };
  }

  /** The planted key is gone, reported once as ERR_RESPCACHE_CORRUPT_INDEX. */
  async function expectRepaired(bad, errors) {
    expect(await client.type(bad)).toBe('none');
    expect(errors.map((e) => e.code)).toEqual(['ERR_RESPCACHE_CORRUPT_INDEX']);
    expect(errors[0]).toBeInstanceOf(respcache.CorruptIndexError);
    expect(errors[0].message).toBe(`"${bad}" held a string where the cache keeps an index (sorted set); deleted`);
  }

  it('invalidateTags removes the other tags\' entries, deletes the planted key, reports it once and resolves', async () => {
    // /items/1 loses the index of its own tag.
    const { cache, errors, http } = await planted(bucketName('t:item:1'), ['/items/1', '/items/2', '/other/1']);
    expect(await cache.invalidateTags(['item:1', 'other', 'item:2'])).toBe(2);
    await expectRepaired(bucketName('t:item:1'), errors);
    expect(await xCache(http, '/other/1')).toBe('MISS');
    expect(await xCache(http, '/items/2')).toBe('MISS');
    expect(await xCache(http, '/items/1')).toBe('HIT'); // still listed under 'items'
    await refill(http, '/items/2');
    expect(await cache.invalidateTags(['items'])).toBe(2);
    expect(await xCache(http, '/items/1')).toBe('MISS');
    // Stores under the repaired name work again, and it invalidates them.
    await refill(http, '/items/1');
    expect(await cache.invalidateTags(['item:1'])).toBe(1);
    expect(await xCache(http, '/items/1')).toBe('MISS');
    expect(errors).toHaveLength(1);
  });

  it('invalidatePath deletes a planted path index, reports it once, and still removes the other paths', async () => {
    const { cache, errors, http } = await planted(PATH_INDEX, ['/items/1', '/items/2']);
    expect(await cache.invalidatePath(['/items/1', '/items/2'])).toBe(1);
    await expectRepaired(PATH_INDEX, errors);
    expect(await xCache(http, '/items/2')).toBe('MISS');
    await refill(http, '/items/2');
    expect(await cache.invalidatePath('/items/*')).toBe(2); // /items/1 is still under its directory
    expect(await xCache(http, '/items/1')).toBe('MISS');
    await refill(http, '/items/1');
    expect(await cache.invalidatePath('/items/1')).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('invalidatePath of a prefix whose directory index is planted resolves, and a wider prefix removes the rest', async () => {
    const { cache, errors, http } = await planted(PREFIX_INDEX, ['/items/1', '/other/1']);
    expect(await cache.invalidatePath(['/items/*', '/other/*'])).toBe(1);
    await expectRepaired(PREFIX_INDEX, errors);
    expect(await cache.invalidatePath('/*')).toBe(1);
    expect(await xCache(http, '/items/1')).toBe('MISS');
    await refill(http, '/items/1');
    expect(await cache.invalidatePath('/items/*')).toBe(1);
    expect(errors).toHaveLength(1);
  });

  it('repairs a planted index registry during an invalidation and a sweep', async () => {
    const { cache, errors, http } = await planted(REGISTRY, ['/items/1', '/other/1']);
    expect(await cache.invalidateTags(['items'])).toBe(1);
    expect(await client.type(REGISTRY)).toBe('none');
    expect(await xCache(http, '/items/1')).toBe('MISS');
    await refill(http, '/items/1');
    await client.set(REGISTRY, 'planted again');
    await expect(sweep(cache)).resolves.toBe(0);
    expect(await client.type(REGISTRY)).toBe('none');
    expect(errors.map((e) => e.code)).toEqual(['ERR_RESPCACHE_CORRUPT_INDEX', 'ERR_RESPCACHE_CORRUPT_INDEX']);
    expect(errors.map((e) => e.message).every((m) => m.startsWith(`"${REGISTRY}" held a string`))).toBe(true);
    // Stores and the sweep work again.
    await fill(http, ['/items/2']);
    expect(await client.type(REGISTRY)).toBe('zset');
    await expect(sweep(cache)).resolves.toBe(0);
    expect(await cache.invalidateTags(['items', 'other'])).toBe(3);
    expect(errors).toHaveLength(2);
  });
});
