'use strict';

// Rehearsals of fault scenarios (a) and (b) of issue #12's plan (§5) with the fixtures alone:
// load on an Express app whose "cache" is a plain ioredis Cluster (GET / SET / DEL, BYPASS on any
// error); 2000 slots resharded under load with invalidations meanwhile; a master killed under
// load, invalidations before and after. It proves the pieces fit (times of
// the cluster fixture against the load's records, the checks on a real fault) and records how a
// naive cache behaves, as a baseline for the respcache store's own fault tests.
const express = require('express');
const keySlot = require('cluster-key-slot');
const { startCluster } = require('../helpers/cluster');
const { serve } = require('../helpers/http');
const { waitFor } = require('../helpers/wait');
const { versions, startLoad, now } = require('../helpers/load');

const KEYS = Array.from({ length: 30 }, (_, i) => `item-${i}`);
// Each test its own entries (and its own database, versions starting at 1).
let round = 0;
const entry = (key) => `rehearsal:${round}:e:${key}`;
let cluster;
let http;
let cache;
let db;
let load;

beforeAll(async () => {
  cluster = await startCluster({ masters: 3, replicas: 1, nodeTimeout: 1000 });
});
afterEach(async () => {
  if (load) await load.stop();
  load = null;
});
afterAll(async () => {
  if (http) await http.close();
  if (cluster) await cluster.close();
});

/** The app: GET /item/:key through the naive cache; a fill is issued in the tick it read the db. */
async function naiveApp() {
  if (http) return;
  cache = cluster.client({ redisOptions: { commandTimeout: 300, maxRetriesPerRequest: 0 } });
  const app = express();
  app.get('/item/:key', async (req, res) => {
    const { key } = req.params;
    let cached;
    try {
      cached = await cache.get(entry(key));
    } catch {
      return res.set('X-Cache', 'BYPASS').json(db.body(key));
    }
    if (cached) return res.set('X-Cache', 'HIT').type('json').send(cached);
    const body = db.body(key);
    // Issued now, before any later invalidation's DEL: same connection, so it lands first.
    cache.set(entry(key), JSON.stringify(body)).catch(() => { /* a lost fill is a later MISS */ });
    return res.set('X-Cache', 'MISS').json(body);
  });
  http = await serve(app);
}

function more(load, n) {
  const target = load.records.length + n;
  return waitFor(() => load.records.length >= target, { timeout: 10000, what: `${n} more responses` });
}

function startAppLoad() {
  round++;
  db = versions(KEYS);
  load = startLoad({
    url: http.url, keys: KEYS, db, concurrency: 4,
    invalidate: (key) => cache.del(entry(key)),
  });
  return load;
}

beforeEach(() => naiveApp());

it('2000 slots resharded under load and back, keys invalidated meanwhile: no wrong body, no 5xx, HITs after', async () => {
  startAppLoad();
  await more(load, 300);
  const [from, to] = await cluster.masters();
  let invalidated = 0;
  /** Reshards while invalidating one key after another until it is done. */
  async function reshardUnderLoad(source, target) {
    const resharding = cluster.reshard(source.id, target.id, 2000);
    const started = now();
    let done = false;
    resharding.then(() => { done = true; }, () => { done = true; });
    while (!done) {
      await load.invalidate(KEYS[invalidated++ % KEYS.length]);
      await more(load, 20);
    }
    const { healthyAt } = await resharding;
    return { started, healthyAt };
  }
  const there = await reshardUnderLoad(from, to);
  expect((await cluster.masters()).find((m) => m.id === from.id).slotCount).toBe(from.slotCount - 2000);
  const back = await reshardUnderLoad(to, from);
  expect((await cluster.masters()).find((m) => m.id === from.id).slotCount).toBe(from.slotCount);
  await more(load, 300);
  await load.stop();
  const moving = load.outcomesDuring({ from: there.started, to: back.healthyAt });
  const after = load.hitRatioAfter(back.healthyAt, now() - back.healthyAt);
  console.log([
    `rehearsal (a): reshard of 2000 slots under load ${(there.healthyAt - there.started).toFixed(0)} ms, `
      + `back ${(back.healthyAt - back.started).toFixed(0)} ms, ${invalidated} invalidations meanwhile`,
    `responses meanwhile: ${JSON.stringify(moving.counts)}; HIT ratio after: ${(after.ratio * 100).toFixed(1)} % of ${after.total}`,
  ].join('\n'));
  expect(invalidated).toBeGreaterThan(6);
  expect(load.invalidations.every((inv) => inv.resolved !== null)).toBe(true);
  expect(load.wrongBodies()).toEqual([]);
  expect(load.count5xx()).toBe(0);
  expect(after.ratio).toBeGreaterThan(0.9);
});

it('a master killed under load: checks see the fault window, the recovery and no wrong body', async () => {
  startAppLoad();
  await more(load, 300);
  for (const key of KEYS.slice(0, 5)) await load.invalidate(key);
  await more(load, 200);

  const [target] = await cluster.masters();
  const owned = (key) => target.slots.some(([a, b]) => keySlot(entry(key)) >= a && keySlot(entry(key)) <= b);
  const victims = KEYS.filter(owned);
  const fault = await cluster.killMaster(0);
  await more(load, 300);
  for (const key of KEYS.slice(5, 10)) await load.invalidate(key);
  await more(load, 300);
  const stopped = now();
  await load.stop();

  // Served while no node served the killed master's slots: those responses cannot be HITs.
  const during = load.outcomesDuring({ from: fault.killedAt, to: fault.notPromotedAt, keys: victims, within: true });
  const straddling = load.outcomesDuring({ from: fault.killedAt, to: fault.promotedAt, keys: victims });
  const after = load.hitRatioAfter(fault.healthyAt, stopped - fault.healthyAt);
  console.log([
    `rehearsal (b): ${load.records.length} responses, ${victims.length} of ${KEYS.length} keys on the killed master`,
    `promoted ${fault.promotedMs.toFixed(0)} ms, healthy ${fault.healthyMs.toFixed(0)} ms after SIGKILL`,
    `its keys served before the promotion: ${JSON.stringify(during.counts)}; started before it: ${JSON.stringify(straddling.counts)}`,
    `HIT ratio from healthy to the end: ${(after.ratio * 100).toFixed(1)} % of ${after.total}`,
  ].join('\n'));

  expect(victims.length).toBeGreaterThan(0);
  expect(load.invalidations.filter((inv) => inv.resolved !== null)).toHaveLength(10);
  expect(load.wrongBodies()).toEqual([]);
  expect(load.count5xx()).toBe(0);
  // The killed master's keys could not HIT while no node served their slots.
  expect(during.total).toBeGreaterThan(0);
  expect(during.others).toEqual([]);
  expect(after.ratio).toBeGreaterThan(0.9);
});
