'use strict';

// Steady load for fault tests, and the checks every fault scenario shares. The app under test is
// the test's own: it serves GET <path(key)> with the body `versions.body(key)` =
// { key, version, nonce } read from a test-side "database" (versions(), a Map), so a response
// tells which version of the data it carries; the test supplies `invalidate(key)` (the cache's
// invalidation, whatever it is). load.invalidate(key) bumps the version BEFORE calling it and
// records when it resolved: from then on, a response that starts must carry the new version.
//
// Every time is a performance.now() value (monotonic ms), the clock of test/helpers/cluster.js
// and sentinel.js, so fault windows and load records compare directly. The checks are pure
// functions of the records (exported for the tests of the checks themselves) and methods of
// the load bound to its own records.
const http = require('http');
const crypto = require('crypto');
const { performance } = require('perf_hooks');
const Redis = require('ioredis');
const { rawTls, disconnectClient } = require('./redis');

const now = () => performance.now();

/**
 * The test-side database: a version per key (starting at 1), bumped before each invalidation.
 * @param {string[]} keys
 */
function versions(keys) {
  const map = new Map(keys.map((k) => [k, 1]));
  return {
    map,
    /** @returns {number} */
    get: (key) => map.get(key) || 0,
    /** Bumps and returns the new version. */
    bump: (key) => {
      const next = (map.get(key) || 0) + 1;
      map.set(key, next);
      return next;
    },
    /** The body the app serves for key: its current version and a nonce of this very response. */
    body: (key) => ({ key, version: map.get(key) || 0, nonce: crypto.randomBytes(6).toString('hex') }),
  };
}

/**
 * @typedef {{ key: string, status: number, xCache: string|null, version: number|null,
 *   nonce: string|null, start: number, end: number, error?: string }} LoadRecord
 * @typedef {{ key: string, version: number, start: number, resolved: number|null,
 *   error?: string }} Invalidation
 */

/**
 * Starts `concurrency` loops that GET the keys in turn until stop().
 * @param {{ url: string, keys: string[], db: ReturnType<typeof versions>,
 *   invalidate: (key: string) => Promise<unknown>, path?: (key: string) => string,
 *   concurrency?: number, timeoutMs?: number }} options
 *   url: the app's base URL; path: the request path of a key (default `/item/<key>`);
 *   timeoutMs: a request not answered by then is recorded with status 0
 */
function startLoad({ url, keys, db, invalidate, path = (key) => `/item/${encodeURIComponent(key)}`,
  concurrency = 4, timeoutMs = 5000 }) {
  if (!keys.length) throw new RangeError('Expected at least one key');
  const base = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  /** @type {LoadRecord[]} */
  const records = [];
  /** @type {Invalidation[]} */
  const invalidations = [];
  let next = 0;
  let running = true;

  function get(key) {
    const start = now();
    return new Promise((resolve) => {
      const req = http.request({ host: base.hostname, port: base.port, path: path(key), agent, timeout: timeoutMs }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('error', (err) => resolve({ key, status: 0, xCache: null, version: null, nonce: null, start, end: now(), error: err.message }));
        res.on('end', () => {
          let body = null;
          try { body = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { /* not JSON: version null */ }
          resolve({
            key, status: res.statusCode, xCache: res.headers['x-cache'] || null,
            version: body && typeof body.version === 'number' ? body.version : null,
            nonce: body ? body.nonce : null, start, end: now(),
          });
        });
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', (err) => resolve({ key, status: 0, xCache: null, version: null, nonce: null, start, end: now(), error: err.message }));
      req.end();
    });
  }

  const loops = Array.from({ length: concurrency }, async () => {
    while (running) records.push(await get(keys[next++ % keys.length]));
  });
  // Gaps of this process's event loop (a 20 ms timer late by more than 200 ms): when every loop
  // stalls at once, they tell a blocked process (or a paused machine) from a slow cache.
  const stalls = [];
  let tick = now();
  const ticker = setInterval(() => {
    const t = now();
    if (t - tick > 220) stalls.push({ at: tick, ms: t - tick - 20 });
    tick = t;
  }, 20);

  return {
    records,
    invalidations,
    stalls,
    /**
     * Bumps key's version in the database, then calls the test's invalidate(key); records when
     * it resolved (or its error: such an invalidation never resolved and checks nothing).
     * @returns {Promise<Invalidation>}
     */
    async invalidate(key) {
      const entry = { key, version: db.bump(key), start: now(), resolved: null };
      invalidations.push(entry);
      try {
        await invalidate(key);
        entry.resolved = now();
      } catch (err) {
        entry.error = err.message;
      }
      return entry;
    },
    /** Stops the loops once their requests in flight are answered; resolves with the records. */
    async stop() {
      running = false;
      clearInterval(ticker);
      await Promise.all(loops);
      agent.destroy();
      return records;
    },
    wrongBodies: () => wrongBodies(records, invalidations),
    count5xx: () => count5xx(records),
    outcomesDuring: (window) => outcomesDuring(records, window),
    hitRatioAfter: (t, windowMs) => hitRatioAfter(records, t, windowMs),
  };
}

/**
 * Responses that carry a version older than one whose invalidation had resolved before they
 * started (the one thing a cache must never do). Only 2xx responses with a version count.
 * @param {LoadRecord[]} records @param {Invalidation[]} invalidations
 * @returns {{ record: LoadRecord, invalidation: Invalidation }[]}
 */
function wrongBodies(records, invalidations) {
  const byKey = new Map();
  for (const inv of invalidations) {
    if (inv.resolved === null) continue;
    if (!byKey.has(inv.key)) byKey.set(inv.key, []);
    byKey.get(inv.key).push(inv);
  }
  const wrong = [];
  for (const record of records) {
    if (record.status < 200 || record.status > 299 || record.version === null) continue;
    // The latest resolved invalidation before the response started sets the floor.
    let floor = null;
    for (const inv of byKey.get(record.key) || []) {
      if (inv.resolved < record.start && (!floor || inv.version > floor.version)) floor = inv;
    }
    if (floor && record.version < floor.version) wrong.push({ record, invalidation: floor });
  }
  return wrong;
}

/** @returns {number} responses with a 5xx status */
function count5xx(records) {
  return records.filter((r) => r.status >= 500).length;
}

/**
 * What the responses that started in the window [from, to) were (one in flight when a fault
 * began was served before it): counts per X-Cache value ('none' when absent, 'error' for no
 * response), and the ones that are neither BYPASS nor MISS (a fault window should serve nothing
 * else; the test decides).
 * @param {{ from: number, to: number, keys?: Iterable<string>, within?: boolean }} window
 *   keys: only these keys (e.g. those whose slot the killed master owned; the others may HIT
 *   throughout); within: only responses that also ended by `to` (one that started in the
 *   window may rightly HIT once a promoted replica serves it)
 * @returns {{ total: number, counts: Record<string, number>, others: LoadRecord[] }}
 */
function outcomesDuring(records, { from, to, keys, within = false }) {
  const only = keys ? new Set(keys) : null;
  const counts = {};
  const others = [];
  let total = 0;
  for (const r of records) {
    if (r.start < from || r.start >= to || (within && r.end > to) || (only && !only.has(r.key))) continue;
    total++;
    const outcome = r.status === 0 ? 'error' : (r.xCache || 'none');
    counts[outcome] = (counts[outcome] || 0) + 1;
    if (outcome !== 'BYPASS' && outcome !== 'MISS') others.push(r);
  }
  return { total, counts, others };
}

/**
 * The HIT ratio of the responses that started in [t, t + windowMs).
 * @returns {{ hits: number, total: number, ratio: number }} ratio is NaN when none started
 */
function hitRatioAfter(records, t, windowMs) {
  const inWindow = records.filter((r) => r.start >= t && r.start < t + windowMs);
  const hits = inWindow.filter((r) => r.xCache === 'HIT').length;
  return { hits, total: inWindow.length, ratio: hits / inWindow.length };
}

/**
 * Reads `keysOrPattern` on every given node, replicas included (READONLY first on a cluster
 * replica, so it answers for its master's slots): the exact names when a list (EXISTS each;
 * a name of a slot another shard owns is answered with MOVED and not counted), or SCAN MATCH
 * when a pattern. Stopped nodes are skipped.
 * @param {{ port: number, host?: string, running?: boolean, tls?: { dir: string }|null }[]} nodes
 *   RedisServers, cluster.nodes(), or plain addresses
 * @param {string[]|string} keysOrPattern
 * @returns {Promise<{ found: { port: number, role: string, key: string }[],
 *   nodes: { port: number, role: string }[], errors: { port: number, error: string }[] }>}
 */
async function rawCheck(nodes, keysOrPattern) {
  const found = [];
  const seen = [];
  const errors = [];
  await Promise.all(nodes.filter((n) => n.running !== false).map(async (node) => {
    const client = new Redis({
      host: node.host || '127.0.0.1', port: node.port, maxRetriesPerRequest: 0, retryStrategy: () => null,
      connectTimeout: 1000, commandTimeout: 2000, ...(node.tls && { tls: rawTls(node.tls.dir) }),
    });
    client.on('error', () => { /* reported below */ });
    try {
      const [role] = await client.role();
      const clusterEnabled = /cluster_enabled:1/.test(await client.info('cluster'));
      if (role === 'slave' && clusterEnabled) await client.readonly();
      seen.push({ port: node.port, role });
      let names;
      if (typeof keysOrPattern === 'string') {
        names = [];
        let cursor = '0';
        do {
          const [nextCursor, batch] = await client.scan(cursor, 'MATCH', keysOrPattern, 'COUNT', 1000);
          cursor = nextCursor;
          names.push(...batch);
        } while (cursor !== '0');
      } else {
        const pipeline = client.pipeline();
        for (const key of keysOrPattern) pipeline.exists(key);
        const replies = await pipeline.exec();
        names = keysOrPattern.filter((key, i) => !replies[i][0] && replies[i][1] === 1);
        for (const [err] of replies) {
          if (err && !/^MOVED /.test(err.message)) throw err;
        }
      }
      for (const key of [...new Set(names)]) found.push({ port: node.port, role, key });
    } catch (err) {
      errors.push({ port: node.port, error: err.message });
    } finally {
      disconnectClient(client);
    }
  }));
  return { found, nodes: seen, errors };
}

module.exports = {
  versions, startLoad, wrongBodies, count5xx, outcomesDuring, hitRatioAfter, rawCheck, now,
};
