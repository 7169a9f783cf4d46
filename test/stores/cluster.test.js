'use strict';

// The shared store suite on a real Redis Cluster (3 masters, 3 replicas, test/helpers/cluster.js):
// the Redis store with its names in 64 buckets, each command routed to its bucket's master.
// Then what only a cluster store has: entries on every master, fill notices on the master of
// their key, key-pattern invalidation over every master, writes confirmed by the replicas.
const { runStoreSuite, entry, fill, HOUR } = require('./store-suite');
const { redisBacking, storesOn } = require('./redis-backing');
const { once, waitFor } = require('../helpers/wait');

runStoreSuite('Redis Cluster', { ...redisBacking({ cluster: true }), tier: 'redis' });

describe('the Redis store on a cluster', () => {
  const backing = redisBacking({ cluster: true });
  const { open } = storesOn(backing);
  let cluster;

  beforeAll(() => { cluster = backing.redis(); });

  it('spreads entries over every master, and each is on the master of its slot', async () => {
    const { store } = await open({ prefix: 'spread' });
    const names = backing.names('spread');
    await Promise.all(Array.from({ length: 300 }, (_, i) => store.putEntry(`k${i}`, entry(), HOUR, fill(`/k${i}`))));
    const counts = [];
    for (const master of await cluster.masters()) {
      const client = await cluster.nodeClient(master.node);
      counts.push(await client.dbsize());
    }
    expect(counts).toHaveLength(3);
    // Each master holds a share of 300 entries (plus their indexes): none is left out.
    for (const n of counts) expect(n).toBeGreaterThan(50);
    expect(await cluster.client().exists(names.nameOf('e:k7'))).toBe(1);
  });

  it('removes entries matching a key pattern on every master', async () => {
    const { store, holds } = await open({ prefix: 'pattern' });
    await Promise.all(Array.from({ length: 200 }, (_, i) => store.putEntry(`user:${i}`, entry(), HOUR, fill(`/u/${i}`))));
    await store.putEntry('other', entry(), HOUR, fill('/other'));
    expect(await store.invalidateKeys('user:*')).toBe(200);
    for (let i = 0; i < 200; i += 17) expect(await holds(`e:user:${i}`)).toBe(false);
    expect(await holds('e:other')).toBe(true);
  });

  it('confirms each invalidation write with the replicas (WAIT)', async () => {
    const { store } = await open({ prefix: 'wait' });
    await store.putEntry('a', entry(), HOUR, fill('/a', ['t']));
    const waits = async () => {
      let calls = 0;
      for (const master of await cluster.masters()) {
        const info = await (await cluster.nodeClient(master.node)).info('commandstats');
        const m = /cmdstat_wait:calls=(\d+)/.exec(info);
        if (m) calls += Number(m[1]);
      }
      return calls;
    };
    const before = await waits();
    await store.invalidate(['t:t']);
    // One WAIT per bucket step at least: 64 buckets.
    expect((await waits()) - before).toBeGreaterThanOrEqual(64);
  });

  it('answers lookups at once while a frozen replica holds up an invalidation\'s confirmation', async () => {
    const { store } = await open({ prefix: 'frozen' });
    const names = backing.names('frozen');
    // A key of bucket 0: among the first buckets an invalidation works on.
    let key = 'a';
    for (let i = 0; names.bucketOf(key) !== 0; i++) key = `a${i}`;
    await store.putEntry(key, entry(), HOUR, fill(`/${key}`, ['t']));
    const slot = names.slotOf(0);
    const master = (await cluster.masters()).find((m) => m.slots.some(([lo, hi]) => slot >= lo && slot <= hi));
    const [replica] = await cluster.replicasOf(master);
    const masterClient = await cluster.nodeClient(master.node);
    replica.server.freeze();
    try {
      const invalidating = store.invalidate(['t:t']).catch((err) => err);
      // Redis holds the connection that sent WAIT (a blocked client) until the replica answers.
      await waitFor(async () => /blocked_clients:[1-9]/.test(await masterClient.info('clients')), { timeout: 5000, what: 'a blocked WAIT' });
      const started = performance.now();
      const found = await store.lookup(key, fill(`/${key}`), { record: null, accept: null, lockTtl: 0 });
      const ms = performance.now() - started;
      expect(found.entry === null || found.entry.status === 200).toBe(true);
      // Behind WAIT, on the same connection, it would take until WAIT's timeout (about a second).
      expect(ms).toBeLessThan(500);
      replica.server.thaw();
      expect(await invalidating).toBe(1);
    } finally {
      replica.server.thaw();
    }
  });

  // Last: it kills a node (and restarts it).
  it('moves its subscriber to another node when its node dies, and hears events again', async () => {
    const { store } = await open({ prefix: 'moving' });
    const { store: peer } = await open({ prefix: 'moving' });
    await store.listenForEvents();
    const port = store._bus.endpoint.port;
    const node = cluster.nodes().find((n) => n.port === port);
    const wasMaster = (await cluster.masters()).some((m) => m.node === node);
    const index = (await cluster.masters()).findIndex((m) => m.node === node);
    const resubscribed = once(store, 'resubscribed');
    if (wasMaster) await cluster.killMaster(index);
    else await node.server.stop('SIGKILL');
    await resubscribed; // on another node: its 'ready' after the first
    const heard = once(store, 'event');
    await peer.publish('"after"');
    expect((await heard).toString()).toBe('"after"');
    expect(store._bus.endpoint.port).not.toBe(port);
    await cluster.restart(node);
    const again = once(store, 'event');
    await peer.publish('"restarted"');
    expect((await again).toString()).toBe('"restarted"');
  });
});
