'use strict';

// The shared store suite on the near cache (an in-process tier in front of the Redis store), then
// what only the near cache does: its local.ttl cap, serving what it holds while Redis is away, and
// dropping its copies when another instance invalidates them.
const { runStoreSuite, entry, fill, HOUR } = require('./store-suite');
const { redisBacking } = require('./redis-backing');
const { NearStore } = require('../../lib/stores/near');
const { localTier } = require('../helpers/internals');
const { once, waitFor } = require('../helpers/wait');
const { fakeClock } = require('../helpers/clock');

const LOCAL = { maxBytes: 64 * 1024 * 1024, ttlMs: 60 * 1000 };

function nearBacking() {
  return redisBacking({
    wrap: (shared, options) => new NearStore(shared, { ...LOCAL, ...options.local }, options.clock),
    holdsLocally: (store, name) => localTier(store).get(name) !== null,
  });
}

runStoreSuite('near cache', { ...nearBacking(), tier: 'local' });

describe('the near cache alone', () => {
  const backing = nearBacking();
  const stores = [];

  async function open(options = {}) {
    const handle = await backing.open({ report: () => {}, ...options });
    stores.push(handle.store);
    if (handle.openPeer) {
      const openPeer = handle.openPeer;
      handle.openPeer = async (peerOptions = {}) => {
        const peer = await openPeer({ report: () => {}, ...peerOptions });
        stores.push(peer.store);
        return peer;
      };
    }
    return handle;
  }

  beforeAll(() => backing.setup());
  afterAll(() => backing.teardown());
  afterEach(() => Promise.all(stores.splice(0).map((s) => s.close())));

  it('keeps a copy at most local.ttl, then reads Redis again', async () => {
    // 1 s: the copy is taken before the store command is sent, and must still be there when
    // the read after it comes (50 ms was less than that round trip on a loaded machine). The
    // entry is kept an hour: only local.ttl can end the copy within the wait.
    const { store } = await open({ local: { ttlMs: 1000 } });
    await store.putEntry('k', entry(), HOUR, fill());
    expect((await store.getEntry('k', null)).tier).toBe('local');
    // The copy expires in the native store: no event says so.
    await waitFor(async () => (await store.getEntry('k', null)).tier === 'redis', { what: 'the copy expired', timeout: 4000 });
  });

  it('copies what it reads from Redis, for the entry\'s remaining life at most', async () => {
    // The remaining life is by the store's clock (the cache's): entries are stamped in its time.
    const clock = fakeClock();
    const { store, openPeer } = await open({ clock });
    const { store: writer } = await openPeer();
    await writer.putEntry('k', entry({ body: 'from redis', storedAt: clock.now() }), HOUR, fill());
    expect((await store.getEntry('k', null)).tier).toBe('redis');
    expect((await store.getEntry('k', null)).tier).toBe('local');
    // An entry already past its expiresAt by the clock is not copied, though Redis keeps it an hour.
    await writer.putEntry('old', entry({ storedAt: clock.now(), expiresAt: clock.now() + 1000 }), HOUR, fill());
    clock.advance(1000);
    expect((await store.getEntry('old', null)).tier).toBe('redis');
    expect((await store.getEntry('old', null)).tier).toBe('redis');
  });

  it('serves what it holds while Redis is away, and drops it all once the connection is back', async () => {
    const { store } = await open();
    await store.putEntry('k', entry({ body: 'held' }), HOUR, fill());
    const redis = backing.redis();
    const lost = once(store, 'reconnecting');
    await redis.stop('SIGKILL');
    await lost;
    const held = await store.getEntry('k', null);
    expect([held.tier, held.body.toString()]).toEqual(['local', 'held']);
    const back = once(store, 'ready', 10000);
    await redis.start();
    await back;
    // Redis restarted empty; the copy was dropped with the rest of the tier.
    await expect(store.getEntry('k', null)).resolves.toBeNull();
  });

  describe('when another instance invalidates', () => {
    async function twoWithACopy() {
      const { store, openPeer } = await open();
      const { store: peer } = await openPeer();
      await store.busReady;
      await store.putEntry('k', entry(), HOUR, fill('/k', ['t']));
      await store.putEntry('n', entry({ nsVersion: '0' }), HOUR, fill('/n'));
      expect((await store.getEntry('k', null)).tier).toBe('local');
      // The first namespaced read learns the version from Redis; then the copy is served.
      await store.getEntry('n', { ns: 'ns' });
      expect((await store.getEntry('n', { ns: 'ns' })).tier).toBe('local');
      return { store, peer };
    }

    /** Resolves once `store` heard an announcement naming `name`. */
    function heard(store, name) {
      return new Promise((resolve) => {
        store.on('invalidation', function onNames(names) {
          if (names.includes(name)) {
            store.removeListener('invalidation', onNames);
            resolve();
          }
        });
      });
    }

    it.each([
      ['a delete', (peer) => peer.deleteEntry('k', true), 'e:k'],
      ['a tag invalidation', (peer) => peer.invalidate(['t:t']), 'e:k'],
      ['a key pattern', (peer) => peer.invalidateKeys('k*'), 'e:k'],
    ])('drops its copy on %s', async (what, invalidate, name) => {
      const { store, peer } = await twoWithACopy();
      const heardIt = heard(store, name);
      await invalidate(peer);
      await heardIt;
      await expect(store.getEntry('k', null)).resolves.toBeNull();
    });

    it('stops serving a namespaced copy after a bump', async () => {
      const { store, peer } = await twoWithACopy();
      const heardIt = heard(store, 'n:ns');
      await peer.bumpNamespace('ns');
      await heardIt;
      await expect(store.getEntry('n', { ns: 'ns' })).resolves.toBeNull();
    });
  });
});
