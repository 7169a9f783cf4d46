'use strict';

// Fault scenarios of issue #12 on a real Redis Cluster (3 masters, 3 replicas; test/helpers/
// cluster.js), under steady load on an Express app cached by respcache on that cluster
// (test/helpers/load.js): (a) 2000 slots resharded from one master to another and back, (b) a
// master killed until its replica is promoted, then restarted (it rejoins as a replica). Keys
// are invalidated all along, by every kind of invalidation: tags, paths, key patterns and
// namespaces. Each scenario checks: no response with a wrong body (an older version than one
// whose invalidation had resolved before the request started), no 5xx, only BYPASS or MISS for
// the keys of a master while no node serves them, HITs back within 2 s of the cluster being
// healthy, every invalidation resolved, and, once the load stopped and every key was
// invalidated, none of their entries left on any master or replica.
//
// RESPCACHE_FAULT_ROUNDS (default 1) repeats each scenario; `npm run test:cluster` runs 3.
const { layout, BUCKETS_CLUSTER } = require('../../lib/stores/redis-keys');
const { startCluster } = require('../helpers/cluster');
const { waitFor } = require('../helpers/wait');
const { now } = require('../helpers/load');
const { startFaultApp, commonChecks, KEYS, RECOVERY_MS, cacheKey } = require('../helpers/fault-app');

const ROUNDS = Number(process.env.RESPCACHE_FAULT_ROUNDS || 1);
// A node that rejoins can take the cluster a while to agree on under load (harness timings).
jest.setTimeout(90000);

let cluster;
let round = 0;
let app = null;

beforeAll(async () => {
  cluster = await startCluster({ masters: 3, replicas: 1, nodeTimeout: 1000 });
});
afterEach(async () => {
  if (app) await app.close();
  app = null;
});
afterAll(async () => {
  if (cluster) await cluster.close();
});

/** The app of one round: its own key prefix, database and cache on the cluster. */
async function startApp() {
  await cluster.waitHealthy({ timeout: 30000 }); // whatever the previous round left
  const keyPrefix = `fault${++round}`;
  app = await startFaultApp({
    cluster: { nodes: cluster.live().slice(0, 2).map((n) => `redis://127.0.0.1:${n.port}`) },
    keyPrefix, commandTimeout: 300, connectTimeout: 500,
  });
  app.names = layout(keyPrefix, BUCKETS_CLUSTER);
  app.startLoad();
  return app;
}

function checks(healthyAt, label) {
  return commonChecks(app, { healthyAt, label, nodes: cluster.live(), entryName: (key) => app.names.nameOf(`e:${key}`) });
}

for (let r = 1; r <= ROUNDS; r++) {
  const label = ROUNDS > 1 ? ` (round ${r} of ${ROUNDS})` : '';

  it(`(a) 2000 slots resharded under load and back, every kind of invalidation meanwhile${label}`, async () => {
    await startApp();
    await app.more(300);
    const [from, to] = await cluster.masters();
    const there = cluster.reshard(from.id, to.id, 2000);
    const countThere = await app.invalidateUntil(there);
    await there;
    expect((await cluster.masters()).find((m) => m.id === from.id).slotCount).toBe(from.slotCount - 2000);
    const back = cluster.reshard(to.id, from.id, 2000);
    const countBack = await app.invalidateUntil(back);
    const { healthyAt } = await back;
    expect(countThere + countBack).toBeGreaterThanOrEqual(4);
    await checks(healthyAt, `(a) reshard${label}`);
  });

  it(`(b) a master killed under load until its replica is promoted, then restarted${label}`, async () => {
    await startApp();
    await app.more(300);
    const [target] = await cluster.masters();
    const owned = (key) => {
      const slot = app.names.slotOf(app.names.bucketOf(cacheKey(key)));
      return target.slots.some(([a, b]) => slot >= a && slot <= b);
    };
    const victims = KEYS.filter(owned);
    const killing = cluster.killMaster(0);
    const countDuring = await app.invalidateUntil(killing);
    const fault = await killing;
    await app.more(100);
    await waitFor(() => now() >= fault.healthyAt + RECOVERY_MS, { timeout: 2 * RECOVERY_MS, what: 'the recovery window' });
    // Served while no node served the killed master's slots: those cannot be HITs.
    const during = app.load.outcomesDuring({ from: fault.killedAt, to: fault.notPromotedAt, keys: victims, within: true });
    console.log(`(b)${label}: promoted ${fault.promotedMs.toFixed(0)} ms, healthy ${fault.healthyMs.toFixed(0)} ms after SIGKILL; `
      + `${victims.length} keys on the killed master; their responses before the promotion: ${JSON.stringify(during.counts)}; `
      + `${countDuring} invalidations issued during the fault`);
    expect(victims.length).toBeGreaterThan(0);
    expect(countDuring).toBeGreaterThanOrEqual(1);
    expect(during.others).toEqual([]);
    expect(app.errors.length).toBeGreaterThan(0); // the outage was reported
    await checks(fault.healthyAt, `(b) master killed${label}`);
    // Back as a replica for the next round. Not part of the checks: now and then, under load, a
    // node reports cluster_state:fail for a long while after such a rejoin (seen for over 60 s);
    // the next round starts only on a healthy cluster.
    const rejoined = await cluster.restart(fault.killed, { timeout: 30000 }).catch((err) => err);
    if (rejoined instanceof Error) console.log(`(b)${label}: the killed master's rejoin: ${rejoined.message.split('\n')[0]}`);
  });
}
