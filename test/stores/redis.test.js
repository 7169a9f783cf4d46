'use strict';

// The shared store suite on the Redis store, then what only a Redis store has: index keys Redis
// never evicts, the maxmemory-policy check, keys of another type at the store's names, and what a
// subscriber reconnection forgets.
const { runStoreSuite, entry, fill, HOUR } = require('./store-suite');
const { redisBacking } = require('./redis-backing');
const { CorruptIndexError, EvictionPolicyError, StoreError } = require('../../lib/errors');
const { waitFor } = require('../helpers/wait');

runStoreSuite('Redis', { ...redisBacking(), tier: 'redis' });

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
      await store.putEntry('a', entry(), 60000, fill('/a', ['t']));
      await store.putEntry('b', entry(), 1000, fill('/b', ['t']));
      expect(await client.pttl('ix:t:t')).toBe(-1); // never evicted by a volatile-* policy
      const entryLeaves = Date.now() + await client.pttl('ix:e:a');
      expect(Number(await client.zscore('ix:ix', 't:t'))).toBeGreaterThanOrEqual(entryLeaves - 50);
    });
  });

  describe('when a key of another type is at an index name', () => {
    it('refuses the store (nothing written), deletes the key, and the next store succeeds', async () => {
      const { store, holds } = await open({ prefix: 'wt' });
      await client.set('wt:t:planted', 'a string where a sorted set belongs');
      const storing = store.putEntry('k', entry(), HOUR, fill('/k', ['planted']));
      await expect(storing).rejects.toBeInstanceOf(StoreError);
      await expect(storing).rejects.toThrow(/"wt:t:planted" held a string where the cache keeps an index \(sorted set\); deleted/);
      expect(await holds('e:k')).toBe(false);
      expect(await client.exists('wt:p:/k', 'wt:t:planted')).toBe(0);
      await expect(store.putEntry('k', entry(), HOUR, fill('/k', ['planted']))).resolves.toBe(true);
    });

    it('an invalidation deletes it, reports it once, and resolves', async () => {
      const { store } = await open({ prefix: 'wi' });
      await store.putEntry('k', entry(), HOUR, fill('/k', ['ok']));
      await client.set('wi:t:planted', 'x');
      await expect(store.invalidate(['t:planted', 't:ok'])).resolves.toBe(1);
      expect(reports).toHaveLength(1);
      expect(reports[0]).toBeInstanceOf(CorruptIndexError);
      expect(await client.exists('wi:t:planted')).toBe(0);
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
});
