'use strict';

// The app the fault scenarios of issue #12 load (test/cluster/faults.test.js,
// test/sentinel/faults.test.js): Express with respcache in front of a test-side database
// (test/helpers/load.js versions()), one route per kind of invalidation, and the checks every
// scenario ends with. Keys: ten per kind, the first letter naming the kind and the route
// (/<letter>/<key>): t = tags, p = paths, k = key patterns, n = namespaces.
const express = require('express');
const { createCache } = require('../../lib');
const { serve } = require('./http');
const { waitFor } = require('./wait');
const { versions, startLoad, rawCheck, now } = require('./load');

const RECOVERY_MS = 2000;
const KINDS = ['t', 'p', 'k', 'n'];
const KEYS = KINDS.flatMap((kind) => Array.from({ length: 10 }, (_, i) => `${kind}${i}`));

/** The invalidation of one key, by the kind its name says. */
function invalidate(cache, key) {
  switch (key[0]) {
    case 't': return cache.invalidateTags([`tag:${key}`]);
    case 'p': return cache.invalidatePath(`/p/${key}`);
    case 'k': return cache.invalidateKeys(`k:${key}`);
    default: return cache.bumpNamespace(`ns:${key}`);
  }
}

/** The cache key (keyBuilder) of a key's route: `<kind>:<key>`. */
const cacheKey = (key) => `${key[0]}:${key}`;

/**
 * Starts the app on a cache made with `options` (createCache's, keyPrefix included), once the
 * cache is ready. Close it with close().
 */
async function startFaultApp(options) {
  const cache = createCache(options);
  const errors = [];
  cache.on('error', (err) => errors.push(err));
  await new Promise((resolve) => cache.once('ready', resolve));
  const db = versions(KEYS);
  const handler = (req, res) => res.json(db.body(req.params.key));
  const server = express();
  const keyBuilder = (req) => cacheKey(req.params.key);
  server.get('/t/:key', cache.middleware({ ttl: 300, keyBuilder, tags: (req) => [`tag:${req.params.key}`] }), handler);
  server.get('/p/:key', cache.middleware({ ttl: 300, keyBuilder }), handler);
  server.get('/k/:key', cache.middleware({ ttl: 300, keyBuilder }), handler);
  server.get('/n/:key', cache.middleware({ ttl: 300, keyBuilder, namespace: (req) => `ns:${req.params.key}` }), handler);
  const http = await serve(server);
  const app = {
    cache, db, errors, http, load: null,
    /** Starts 4 request loops over every key. */
    startLoad() {
      app.load = startLoad({
        url: http.url, keys: KEYS, db, concurrency: 4,
        path: (key) => `/${key[0]}/${key}`,
        invalidate: (key) => invalidate(cache, key),
      });
      return app.load;
    },
    /** Resolves once n more responses were recorded. */
    more(n) {
      const target = app.load.records.length + n;
      return waitFor(() => app.load.records.length >= target, { timeout: 20000, what: `${n} more responses` });
    },
    /** Invalidates one key after another (every kind in turn) until `done` settles; resolves with how many. */
    async invalidateUntil(done) {
      let finished = false;
      done.then(() => { finished = true; }, () => { finished = true; });
      let count = 0;
      while (!finished) {
        await app.load.invalidate(KEYS[(count * 11) % KEYS.length]);
        count++;
        await app.more(10);
      }
      return count;
    },
    async close() {
      if (app.load) await app.load.stop();
      await http.close();
      await cache.close();
    },
  };
  return app;
}

/** For every key, its first HIT that started at or after t, in ms after t (Infinity if none): the slowest. */
function slowestFirstHitAfter(records, t) {
  let slowest = 0;
  for (const key of KEYS) {
    const hit = records.find((r) => r.key === key && r.start >= t && r.xCache === 'HIT');
    slowest = Math.max(slowest, hit ? hit.start - t : Infinity);
  }
  return slowest;
}

/**
 * The checks every scenario ends with: load until 2 s past the recovery window; every
 * invalidation resolved, no wrong body, no 5xx, every key HIT within 2 s of `healthyAt`, HITs
 * above 80 % after that. Then, the load stopped, every key of the t/p/k routes is invalidated and
 * `nodes` (every master and replica) must hold none of their entries: `entryName(cacheKey)` is
 * the Redis name of an entry.
 */
async function commonChecks(app, { healthyAt, label, nodes, entryName }) {
  await waitFor(() => now() >= healthyAt + 2 * RECOVERY_MS, { timeout: 3 * RECOVERY_MS, what: 'the end of the recovery window' });
  await app.more(100);
  const stopped = now();
  const load = app.load;
  await load.stop();
  const after = load.hitRatioAfter(healthyAt + RECOVERY_MS, stopped - healthyAt - RECOVERY_MS);
  const firstHit = slowestFirstHitAfter(load.records, healthyAt);
  const failed = load.invalidations.filter((inv) => inv.resolved === null);
  console.log(`${label}: ${load.records.length} responses, ${load.invalidations.length} invalidations `
    + `(${failed.length} failed), every key HIT by ${firstHit.toFixed(0)} ms after healthy, HIT ratio from healthy + 2 s: `
    + `${(after.ratio * 100).toFixed(1)} % of ${after.total}`);
  if (firstHit > RECOVERY_MS) {
    // What the responses were, half a second at a time from healthy on, and what was reported.
    const windows = Array.from({ length: 10 }, (_, i) => load.outcomesDuring({ from: healthyAt + i * 500, to: healthyAt + (i + 1) * 500 }).counts);
    console.log(`${label}: outcomes per 500 ms from healthy: ${JSON.stringify(windows)}; errors: `
      + `${app.errors.map((e) => `${e.code} ${e.message}`).slice(-5).join(' | ')}`);
    // The slow ones around it: a stall of every loop shows here as requests of seconds.
    const slow = load.records.filter((r) => r.end - r.start > 300 && r.end >= healthyAt).slice(0, 8)
      .map((r) => `${r.key} ${r.xCache || r.status} ${(r.start - healthyAt).toFixed(0)}..${(r.end - healthyAt).toFixed(0)}`);
    const stalls = load.stalls.map((g) => `${(g.at - healthyAt).toFixed(0)} for ${g.ms.toFixed(0)}`);
    console.log(`${label}: slow responses (ms from healthy): ${slow.join(', ') || 'none'}; `
      + `event-loop stalls (ms from healthy): ${stalls.join(', ') || 'none'}`);
  }
  expect(failed.map((inv) => `${inv.key}: ${inv.error}`)).toEqual([]);
  const wrong = load.wrongBodies();
  if (wrong.length > 0) console.log(`${label}: ${await describeWrong(wrong, healthyAt, nodes)}`);
  expect(wrong.slice(0, 3)).toEqual([]);
  expect(load.count5xx()).toBe(0);
  expect(firstHit).toBeLessThanOrEqual(RECOVERY_MS);
  expect(after.ratio).toBeGreaterThan(0.8);

  const exact = KEYS.filter((key) => key[0] !== 'n');
  await Promise.all(exact.map((key) => invalidate(app.cache, key)));
  const check = await rawCheck(nodes, exact.map((key) => entryName(cacheKey(key))));
  expect(check.errors).toEqual([]);
  expect(check.nodes).toHaveLength(nodes.length);
  expect(check.found).toEqual([]);
}

/**
 * Wrong bodies in one line (the full list runs to thousands of records): how many, on how many
 * keys, when they were served and which invalidations they went behind (ms from healthy), and
 * every data node's replication as it is now (a cluster's nodes hold their RedisServer in .server).
 */
async function describeWrong(wrong, healthyAt, nodes) {
  const ms = (t) => (t - healthyAt).toFixed(0);
  const span = (values) => `${ms(Math.min(...values))} to ${ms(Math.max(...values))}`;
  const xCache = {};
  for (const { record } of wrong) xCache[record.xCache] = (xCache[record.xCache] || 0) + 1;
  const replication = await Promise.all(nodes.map(async (node) => {
    try {
      const info = Object.fromEntries((await (node.server || node).client().info('replication')).split(/\r?\n/)
        .filter((line) => line.includes(':')).map((line) => line.split(':')));
      return `${node.port} ${info.role} offset ${info.master_repl_offset}`
        + (info.role === 'slave' ? ` of ${info.master_port} link ${info.master_link_status}` : ` replicas ${info.connected_slaves}`);
    } catch (err) {
      return `${node.port} ${err.message}`;
    }
  }));
  return `${wrong.length} wrong bodies on ${new Set(wrong.map((w) => w.record.key)).size} keys (X-Cache ${JSON.stringify(xCache)}), `
    + `served ${span(wrong.map((w) => w.record.start))} ms from healthy, behind invalidations started `
    + `${span(wrong.map((w) => w.invalidation.start))} and resolved ${span(wrong.map((w) => w.invalidation.resolved))} ms `
    + `from healthy; nodes now: ${replication.join('; ')}`;
}

module.exports = { startFaultApp, commonChecks, KEYS, RECOVERY_MS, cacheKey };
