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
const express = require('express');
const { createCache } = require('../../lib');
const { layout, BUCKETS_CLUSTER } = require('../../lib/stores/redis-keys');
const { startCluster } = require('../helpers/cluster');
const { serve } = require('../helpers/http');
const { waitFor } = require('../helpers/wait');
const { versions, startLoad, rawCheck, now } = require('../helpers/load');

const ROUNDS = Number(process.env.RESPCACHE_FAULT_ROUNDS || 1);
const RECOVERY_MS = 2000;
// Ten keys per kind of invalidation: the first letter says which (route /<letter>/<key>).
const KINDS = ['t', 'p', 'k', 'n'];
const KEYS = KINDS.flatMap((kind) => Array.from({ length: 10 }, (_, i) => `${kind}${i}`));

let cluster;
let round = 0;
let app = null; // { http, cache, db, load, prefix }

beforeAll(async () => {
  cluster = await startCluster({ masters: 3, replicas: 1, nodeTimeout: 1000 });
});
afterEach(async () => {
  if (app) {
    if (app.load) await app.load.stop();
    await app.http.close();
    await app.cache.close();
  }
  app = null;
});
afterAll(async () => {
  if (cluster) await cluster.close();
});

/** The app of one round: its own key prefix, database and cache on the cluster. */
async function startApp() {
  const prefix = `fault${++round}`;
  const live = cluster.live();
  const cache = createCache({
    cluster: { nodes: live.slice(0, 2).map((n) => `redis://127.0.0.1:${n.port}`) },
    keyPrefix: prefix,
    commandTimeout: 300,
    connectTimeout: 500,
  });
  const errors = [];
  cache.on('error', (err) => errors.push(err));
  await new Promise((resolve) => cache.once('ready', resolve));
  const db = versions(KEYS);
  const handler = (req, res) => res.json(db.body(req.params.key));
  const server = express();
  const keyBuilder = (kind) => (req) => `${kind}:${req.params.key}`;
  server.get('/t/:key', cache.middleware({ ttl: 300, keyBuilder: keyBuilder('t'), tags: (req) => [`tag:${req.params.key}`] }), handler);
  server.get('/p/:key', cache.middleware({ ttl: 300, keyBuilder: keyBuilder('p') }), handler);
  server.get('/k/:key', cache.middleware({ ttl: 300, keyBuilder: keyBuilder('k') }), handler);
  server.get('/n/:key', cache.middleware({ ttl: 300, keyBuilder: keyBuilder('n'), namespace: (req) => `ns:${req.params.key}` }), handler);
  const http = await serve(server);
  app = { http, cache, db, errors, prefix, load: null };
  return app;
}

/** The invalidation of one key, by the kind its name says. */
function invalidate(cache, key) {
  switch (key[0]) {
    case 't': return cache.invalidateTags([`tag:${key}`]);
    case 'p': return cache.invalidatePath(`/p/${key}`);
    case 'k': return cache.invalidateKeys(`k:${key}`);
    default: return cache.bumpNamespace(`ns:${key}`);
  }
}

function startAppLoad() {
  app.load = startLoad({
    url: app.http.url, keys: KEYS, db: app.db, concurrency: 4,
    path: (key) => `/${key[0]}/${key}`,
    invalidate: (key) => invalidate(app.cache, key),
  });
  return app.load;
}

function more(n) {
  const target = app.load.records.length + n;
  return waitFor(() => app.load.records.length >= target, { timeout: 20000, what: `${n} more responses` });
}

/** Invalidates one key after another (every kind in turn) until `done` resolves. */
async function invalidateUntil(done) {
  let finished = false;
  done.then(() => { finished = true; }, () => { finished = true; });
  let count = 0;
  while (!finished) {
    await app.load.invalidate(KEYS[(count * 11) % KEYS.length]);
    count++;
    await more(10);
  }
  return count;
}

/** For every key, its first HIT that started at or after t, in ms after t (Infinity if none): the slowest. */
function slowestFirstHitAfter(t) {
  let slowest = 0;
  for (const key of KEYS) {
    const hit = app.load.records.find((r) => r.key === key && r.start >= t && r.xCache === 'HIT');
    slowest = Math.max(slowest, hit ? hit.start - t : Infinity);
  }
  return slowest;
}

/**
 * The checks every scenario ends with. The load is stopped, then every key of the t/p/k routes is
 * invalidated: no master and no replica may hold one of their entries afterwards.
 */
async function commonChecks(healthyAt, label) {
  // Load until 2 s past the recovery window, so the HIT ratio there counts a few hundred responses.
  await waitFor(() => now() >= healthyAt + 2 * RECOVERY_MS, { timeout: 3 * RECOVERY_MS, what: 'the end of the recovery window' });
  await more(100);
  const stopped = now();
  await app.load.stop();
  const load = app.load;
  const after = load.hitRatioAfter(healthyAt + RECOVERY_MS, stopped - healthyAt - RECOVERY_MS);
  const firstHit = slowestFirstHitAfter(healthyAt);
  const failed = load.invalidations.filter((inv) => inv.resolved === null);
  console.log(`${label}: ${load.records.length} responses, ${load.invalidations.length} invalidations `
    + `(${failed.length} failed), every key HIT by ${firstHit.toFixed(0)} ms after healthy, HIT ratio from healthy + 2 s: `
    + `${(after.ratio * 100).toFixed(1)} % of ${after.total}`);
  expect(failed.map((inv) => `${inv.key}: ${inv.error}`)).toEqual([]);
  expect(load.wrongBodies()).toEqual([]);
  expect(load.count5xx()).toBe(0);
  expect(firstHit).toBeLessThanOrEqual(RECOVERY_MS);
  expect(after.ratio).toBeGreaterThan(0.8);

  const exact = KEYS.filter((key) => key[0] !== 'n');
  await Promise.all(exact.map((key) => invalidate(app.cache, key)));
  const names = layout(app.prefix, BUCKETS_CLUSTER);
  const entryNames = exact.map((key) => names.nameOf(`e:${key[0]}:${key}`));
  const check = await rawCheck(cluster.live(), entryNames);
  expect(check.errors).toEqual([]);
  expect(check.nodes).toHaveLength(cluster.live().length);
  expect(check.found).toEqual([]);
}

for (let r = 1; r <= ROUNDS; r++) {
  const label = ROUNDS > 1 ? ` (round ${r} of ${ROUNDS})` : '';

  it(`(a) 2000 slots resharded under load and back, every kind of invalidation meanwhile${label}`, async () => {
    await startApp();
    startAppLoad();
    await more(300);
    const [from, to] = await cluster.masters();
    const there = cluster.reshard(from.id, to.id, 2000);
    const countThere = await invalidateUntil(there);
    await there;
    expect((await cluster.masters()).find((m) => m.id === from.id).slotCount).toBe(from.slotCount - 2000);
    const back = cluster.reshard(to.id, from.id, 2000);
    const countBack = await invalidateUntil(back);
    const { healthyAt } = await back;
    expect(countThere + countBack).toBeGreaterThanOrEqual(4);
    await commonChecks(healthyAt, `(a) reshard${label}`);
  });

  it(`(b) a master killed under load until its replica is promoted, then restarted${label}`, async () => {
    await startApp();
    startAppLoad();
    await more(300);
    const [target] = await cluster.masters();
    const owned = (key) => {
      const slot = layout(app.prefix, BUCKETS_CLUSTER).slotOf(layout(app.prefix, BUCKETS_CLUSTER).bucketOf(`${key[0]}:${key}`));
      return target.slots.some(([a, b]) => slot >= a && slot <= b);
    };
    const victims = KEYS.filter(owned);
    const killing = cluster.killMaster(0);
    const countDuring = await invalidateUntil(killing);
    const fault = await killing;
    await more(100);
    const rejoined = await cluster.restart(fault.killed);
    expect(rejoined.role).toBe('slave');
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
    await commonChecks(fault.healthyAt, `(b) master killed${label}`);
  });
}
