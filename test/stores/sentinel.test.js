'use strict';

// The shared store suite on Redis Sentinel (a master, a replica and three Sentinels; test/helpers/
// sentinel.js): the Redis store with its command client found and followed through the
// Sentinels (lib/stores/sentinel.js), one bucket as on any single master. Then what only a
// Sentinel store has: invalidation writes confirmed by the replica (WAIT), and a failover
// followed by the store and its subscriber.
const { runStoreSuite, entry, fill, HOUR } = require('./store-suite');
const { redisBacking, storesOn } = require('./redis-backing');
const { once, waitFor } = require('../helpers/wait');

runStoreSuite('Redis Sentinel', { ...redisBacking({ sentinel: true }), tier: 'redis' });

describe('the Redis store on Sentinel', () => {
  const backing = redisBacking({ sentinel: true });
  const { open } = storesOn(backing);
  let sentinels;

  beforeAll(() => { sentinels = backing.redis(); });

  it('confirms each invalidation write with the replica (WAIT)', async () => {
    const { store } = await open({ prefix: 'wait' });
    await store.putEntry('a', entry(), HOUR, fill('/a', ['t']));
    const master = (await sentinels.master()).server.client();
    const waits = async () => Number((/cmdstat_wait:calls=(\d+)/.exec(await master.info('commandstats')) || [0, 0])[1]);
    const before = await waits();
    await store.invalidate(['t:t']);
    expect((await waits()) - before).toBeGreaterThanOrEqual(1);
  });

  it('follows a failover: commands and the subscriber move to the new master', async () => {
    const { store } = await open({ prefix: 'failover' });
    const { store: peer } = await open({ prefix: 'failover' });
    await store.listenForEvents();
    await store.putEntry('before', entry(), HOUR, fill('/before'));
    const resubscribed = once(store, 'resubscribed');
    const { to } = await sentinels.failover();
    await resubscribed;
    expect(store._bus.endpoint.port).toBe(to);
    // Writes land on the new master, and an event published there reaches the subscriber.
    await store.putEntry('after', entry(), HOUR, fill('/after'));
    const newMaster = sentinels.byPort(to).client();
    expect(await newMaster.exists(backing.names('failover').nameOf('e:after'))).toBe(1);
    const heard = once(store, 'event');
    await peer.publish('"moved"');
    expect((await heard).toString()).toBe('"moved"');
    expect(await store.invalidate(['p:/after'])).toBe(1);
  });

  it('sends a lock release again, confirmed, to the master it follows after a failover', async () => {
    // A release sent just before the store follows a failover may reach the demoted master (it
    // takes writes until the Sentinels reconfigure it) while the promoted replica keeps the lock,
    // which would hold every fill of the key for lockTtl. Here the release goes out while the lock
    // is not on the master yet (a no-op there); then the lock is set and replicated, and the
    // replica promoted: the store must release it there.
    await sentinels.waitReady(); // the master of the last failover has its replica back
    const { store } = await open({ prefix: 'relock' });
    const name = backing.names('relock').nameOf('l:e:k');
    store.unlock('e:k', 'token-1');
    await store.command(['PING']); // behind the release on the same connection: it has run
    const master = (await sentinels.master()).server.client();
    await master.set(name, 'token-1', 'PX', '60000');
    // On the replica before the failover (a replica that has just followed one may still be syncing).
    await waitFor(async () => (await master.call('WAIT', '1', '200')) === 1, { what: 'the lock on the replica', timeout: 15000 });
    const { to } = await sentinels.failover();
    const promoted = sentinels.byPort(to).client();
    await waitFor(async () => (await promoted.exists(name)) === 0, { what: 'the lock released on the new master', timeout: 5000 });
  });

  // Last: it stops the replica (and starts it again).
  it('confirms invalidations again once a replica that went away is no longer waited for', async () => {
    const { store } = await open({ prefix: 'gone' });
    await store.putEntry('a', entry(), HOUR, fill('/a', ['t']));
    await store.invalidate(['t:other']); // confirmed by the replica, on a connection that counted it
    const { port } = await sentinels.master();
    const replica = sentinels.nodes().find((n) => n.port !== port);
    await replica.stop('SIGKILL');
    // WAIT 1 falls short once; the master is asked again and the retry waits for none.
    await expect(store.invalidate(['t:t'])).resolves.toBe(1);
    await sentinels.restart(replica);
  });
});
