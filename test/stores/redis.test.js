'use strict';

// The shared store suite on the Redis store, once as every store on one Redis is (one bucket) and
// once with its names spread over 4 buckets (the test-only `_buckets` option: the paths a cluster
// takes, on one Redis), then what only a Redis store has: index keys Redis never evicts, the
// maxmemory-policy check, keys of another type at the store's names, what a subscriber
// reconnection forgets, the key layout and what spans buckets.
const { runStoreSuite, entry, fill, HOUR, pastFenceResolution } = require('./store-suite');
const { redisBacking } = require('./redis-backing');
const { CorruptIndexError, EvictionPolicyError, StoreError } = require('../../lib/errors');
const { waitFor } = require('../helpers/wait');
const { TAGS } = require('../../lib/stores/redis-keys');

runStoreSuite('Redis', { ...redisBacking(), tier: 'redis' });
runStoreSuite('Redis (4 buckets)', { ...redisBacking({ buckets: 4 }), tier: 'redis' });

describe('the Redis store alone', () => {
  const backing = redisBacking();
  const stores = [];
  let reports = [];
  let client;

  async function open(options = {}) {
    const handle = await backing.open({ report: (err) => reports.push(err), ...options });
    stores.push(handle.store);
    return handle;
  }

  beforeAll(async () => {
    await backing.setup();
    client = backing.redis().client();
  });
  afterAll(() => backing.teardown());
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    reports = [];
  });

  describe('invalidation indexes', () => {
    it('have no TTL, and the registry scores each no earlier than its last entry leaves Redis', async () => {
      const { store } = await open({ prefix: 'ix' });
      const names = backing.names('ix');
      await store.putEntry('a', entry(), 60000, fill('/a', ['t']));
      await store.putEntry('b', entry(), 1000, fill('/b', ['t']));
      expect(await client.pttl(names.index(0, 't:t'))).toBe(-1); // never evicted by a volatile-* policy
      const entryLeaves = Date.now() + await client.pttl(names.nameOf('e:a'));
      expect(Number(await client.zscore(names.registry(0), 't:t'))).toBeGreaterThanOrEqual(entryLeaves - 50);
    });
  });

  describe('when a key of another type is at an index name', () => {
    it('refuses the store (nothing written), deletes the key, and the next store succeeds', async () => {
      const { store, holds } = await open({ prefix: 'wt' });
      const names = backing.names('wt');
      await client.set(names.index(0, 't:planted'), 'a string where a sorted set belongs');
      const storing = store.putEntry('k', entry(), HOUR, fill('/k', ['planted']));
      await expect(storing).rejects.toBeInstanceOf(StoreError);
      await expect(storing).rejects.toThrow(/"wt:\{10\}:t:planted" held a string where the cache keeps an index \(sorted set\); deleted/);
      expect(await holds('e:k')).toBe(false);
      expect(await client.exists(names.index(0, 'p:/k'), names.index(0, 't:planted'))).toBe(0);
      await expect(store.putEntry('k', entry(), HOUR, fill('/k', ['planted']))).resolves.toBe(true);
    });

    it('an invalidation deletes it, reports it once, and resolves', async () => {
      const { store } = await open({ prefix: 'wi' });
      const planted = backing.names('wi').index(0, 't:planted');
      await store.putEntry('k', entry(), HOUR, fill('/k', ['ok']));
      await client.set(planted, 'x');
      await expect(store.invalidate(['t:planted', 't:ok'])).resolves.toBe(1);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toBeInstanceOf(CorruptIndexError);
      expect(await client.exists(planted)).toBe(0);
    });
  });

  describe('maxmemory-policy', () => {
    afterEach(() => client.config('SET', 'maxmemory-policy', 'noeviction'));

    it('an allkeys-* policy is reported once the connection is ready', async () => {
      await client.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const { store } = await open();
      // The check is a command after 'ready'; a command sent after it answers after it (FIFO).
      await store.getEntry('anything', null);
      expect(reports.map((e) => e.constructor)).toEqual([EvictionPolicyError]);
      expect(reports[0].message).toMatch(/maxmemory-policy allkeys-lru/);
    });

    it('a volatile-* policy is not', async () => {
      await client.config('SET', 'maxmemory-policy', 'volatile-lru');
      const { store } = await open();
      await store.getEntry('anything', null);
      expect(reports).toEqual([]);
    });
  });

  describe('when the subscriber connection comes back', () => {
    it('forgets the namespace versions it learnt (announcements may have been missed)', async () => {
      const { store } = await open({ prefix: 'rs' });
      await store.busReady;
      await store.bumpNamespace('ns');
      expect(store.knownNamespaceVersion('ns')).toBe('1');
      await client.client('KILL', 'TYPE', 'pubsub');
      // No contract event says the subscriber is back: poll for the state it leads to.
      await waitFor(() => store.knownNamespaceVersion('ns') === undefined, { what: 'the versions forgotten' });
      // The version itself is in Redis: the next namespaced read learns it again.
      const read = { ns: 'ns' };
      await store.getEntry('k', read);
      expect(read.nsVersion).toBe('1');
    });
  });

  describe('key layout', () => {
    it('puts every name under "<prefix>:{<bucket 0 tag>}:" (one Redis: one bucket)', async () => {
      const { store } = await open({ prefix: 'lay' });
      await store.putEntry('k', entry(), HOUR, fill('/a/k', ['t']));
      await store.putRecord('v:', 'k', entry({ kind: 'value' }), HOUR);
      await store.putRecord('vr:', 'k', entry({ kind: 'vary' }), HOUR);
      await store.tryLock('e:k', HOUR);
      await store.deleteEntry('gone', true);
      await store.invalidate(['t:other']);
      await store.invalidateKeys('none');
      await store.bumpNamespace('ns');
      expect(TAGS[0]).toBe('10');
      expect((await client.keys('lay:*')).sort()).toEqual(['lay:{10}:e:k', 'lay:{10}:iv:k:gone', 'lay:{10}:iv:keys', 'lay:{10}:iv:seq',
        'lay:{10}:iv:t:other', 'lay:{10}:ix', 'lay:{10}:l:e:k', 'lay:{10}:n:ns', 'lay:{10}:p:/a/k', 'lay:{10}:s:/', 'lay:{10}:s:/a/',
        'lay:{10}:t:t', 'lay:{10}:v:k', 'lay:{10}:vr:k']);
    });

    it('reads an entry of the earlier layout ("<prefix>:e:<key>") as a MISS, and leaves it to expire', async () => {
      const { store } = await open({ prefix: 'old' });
      await client.set('old:e:k', entry({ body: 'earlier release' }), 'PX', String(HOUR));
      await client.set('old:vr:k', entry({ kind: 'vary' }), 'PX', String(HOUR));
      await expect(store.getEntry('k', null)).resolves.toBeNull();
      const found = await store.lookup('k', null, { record: 'k', accept: null, lockTtl: 0 });
      expect([found.entry, found.record]).toEqual([null, null]);
      expect(reports).toEqual([]);
      expect(await client.exists('old:e:k')).toBe(1);
    });
  });
});

describe('the Redis store with its names in 4 buckets', () => {
  const backing = redisBacking({ buckets: 4 });
  const stores = [];
  let reports = [];
  let client;

  async function open(options = {}) {
    const handle = await backing.open({ report: (err) => reports.push(err), ...options });
    stores.push(handle.store);
    return handle;
  }

  /** Keys, one in each bucket (k<i> for the first i of each). */
  function onePerBucket(names) {
    const keys = [];
    for (let i = 0; keys.filter(Boolean).length < names.buckets; i++) {
      const b = names.bucketOf(`k${i}`);
      if (keys[b] === undefined) keys[b] = `k${i}`;
    }
    return keys;
  }

  beforeAll(async () => {
    await backing.setup();
    client = backing.redis().client();
  });
  afterAll(() => backing.teardown());
  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    reports = [];
  });

  it('keeps each entry, its lock and its indexes in its key\'s bucket', async () => {
    const { store } = await open({ prefix: 'b4' });
    const names = backing.names('b4');
    const keys = onePerBucket(names);
    for (const key of keys) {
      await store.putEntry(key, entry(), HOUR, fill(`/${key}`, ['all']));
      await store.tryLock(`e:${key}`, HOUR);
    }
    for (const [b, key] of keys.entries()) {
      expect(await client.exists(names.entry(b, key), names.lock(b, `e:${key}`), names.index(b, `p:/${key}`))).toBe(3);
      expect(await client.zrange(names.index(b, 't:all'), 0, -1)).toEqual([key]);
    }
  });

  it('invalidates an index in every bucket, and its registry entries go with it', async () => {
    const { store } = await open({ prefix: 'iv4' });
    const names = backing.names('iv4');
    const keys = onePerBucket(names);
    for (const key of keys) await store.putEntry(key, entry(), HOUR, fill(`/${key}`, ['all']));
    await expect(store.invalidate(['t:all'])).resolves.toBe(4);
    for (let b = 0; b < 4; b++) {
      expect(await client.exists(names.index(b, 't:all'))).toBe(0);
      expect(await client.zscore(names.registry(b), 't:all')).toBeNull();
      expect(await client.get(names.fence(b, 't:all'))).toMatch(/^\d+ \d+$/);
    }
  });

  it('raises every bucket\'s copy of a namespace version with a bump; a copy ahead stays', async () => {
    const { store } = await open({ prefix: 'ns4' });
    const names = backing.names('ns4');
    const home = names.bucketOf('ns');
    const ahead = (home + 1) % 4;
    await client.set(names.ns(ahead, 'ns'), '7'); // a concurrent bump raised it already
    await expect(store.bumpNamespace('ns')).resolves.toBe('1');
    const copies = await Promise.all([0, 1, 2, 3].map((b) => client.get(names.ns(b, 'ns'))));
    expect(copies).toEqual([0, 1, 2, 3].map((b) => (b === ahead ? '7' : '1')));
    // Every key's lookup reads the version of its own bucket's copy.
    const keys = onePerBucket(names);
    const read = keys.map(() => ({ ns: 'ns' }));
    await Promise.all(keys.map((key, b) => store.getEntry(key, read[b])));
    expect(read.map((r) => r.nsVersion)).toEqual(copies);
  });

  it('leaves every copy of a namespace version at the highest after concurrent bumps', async () => {
    const { store, openPeer } = await open({ prefix: 'nc4' });
    const { store: peer } = await openPeer({ report: (err) => reports.push(err) });
    stores.push(peer);
    const names = backing.names('nc4');
    const versions = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? peer : store).bumpNamespace('ns')));
    expect(versions.map(Number).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(await Promise.all([0, 1, 2, 3].map((b) => client.get(names.ns(b, 'ns'))))).toEqual(['6', '6', '6', '6']);
  });

  it('reads a vary record of another bucket than the looked-up key\'s, and takes the lock only without one', async () => {
    const { store } = await open({ prefix: 'vr4' });
    const names = backing.names('vr4');
    const [key, base] = onePerBucket(names);
    await store.putRecord('vr:', base, entry({ kind: 'vary', body: 'record' }), HOUR);
    const found = await store.lookup(key, null, { record: base, accept: null, lockTtl: HOUR });
    expect([found.entry, found.record.body.toString(), found.token]).toEqual([null, 'record', undefined]);
    expect(await client.exists(names.lock(names.bucketOf(key), `e:${key}`))).toBe(0);
    const none = await store.lookup(key, null, { record: 'no record', accept: null, lockTtl: HOUR });
    expect([none.entry, none.record, typeof none.token]).toEqual([null, null, 'string']);
    expect(await client.exists(names.lock(names.bucketOf(key), `e:${key}`))).toBe(1);
  });

  it('compares a fill with the sequence of another bucket by time: an earlier fence there does not refuse it', async () => {
    const { store } = await open({ prefix: 'sq4' });
    const names = backing.names('sq4');
    const [looked, stored] = onePerBucket(names);
    // The bucket of `stored` has a later sequence than the lookup's, from fences set before the fill began.
    for (let i = 0; i < 5; i++) await store.deleteEntry(stored, true);
    await pastFenceResolution(performance.now());
    const started = fill(`/${looked}`);
    await store.lookup(looked, started, { record: null, accept: null, lockTtl: 0 });
    expect(started.seq).toBe(`${names.bucketOf(looked)}:0`);
    await expect(store.putEntry(stored, entry(), HOUR, started)).resolves.toBe(true);
    // And a fence set there after the fill began refuses it.
    const later = fill(`/${looked}`);
    await store.lookup(looked, later, { record: null, accept: null, lockTtl: 0 });
    // 200 ms: the fill is dated by the store's clock minus its duration, so its store command's
    // transit counts as a later start (more than 5 ms once under the sanitizer pass).
    await pastFenceResolution(later.startedAt + 195);
    await store.deleteEntry(stored, true);
    await expect(store.putEntry(stored, entry(), HOUR, later)).resolves.toBe(false);
  });

  it('removes the entries a key pattern matches in every bucket, braces in keys included', async () => {
    const { store } = await open({ prefix: 'kp4' });
    const names = backing.names('kp4');
    const keys = ['{a}1', '{a}2', 'x{a}', '{b}1', ...onePerBucket(names)];
    for (const key of keys) await store.putEntry(key, entry(), HOUR, fill('/k'));
    expect(new Set(keys.map((k) => names.bucketOf(k))).size).toBe(4);
    await expect(store.invalidateKeys('{a}*')).resolves.toBe(2);
    await expect(store.invalidateKeys('k*')).resolves.toBe(4);
    expect((await client.keys('kp4:*:e:*')).sort()).toEqual(['x{a}', '{b}1'].map((k) => names.nameOf(`e:${k}`)).sort());
  });

  it('sweeps the indexes of every bucket', async () => {
    const { store } = await open({ prefix: 'sw4' });
    const names = backing.names('sw4');
    const keys = onePerBucket(names);
    for (const key of keys) await store.putEntry(key, entry({ expiresAt: Date.now() + 50 }), 50, fill(`/${key}`, ['gone']));
    await waitFor(async () => (await client.keys('sw4:*:e:*')).length === 0, { what: 'the entries expired', timeout: 2000 });
    await expect(store.sweep()).resolves.toBe(4 * 3); // per bucket: t:gone, p:/k<i>, s:/
    expect(await client.keys('sw4:*:t:*')).toEqual([]);
  });
});
