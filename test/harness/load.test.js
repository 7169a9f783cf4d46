'use strict';

// The load generator and its checks (test/helpers/load.js) against a fake cached app: an Express
// app with an in-process Map as its cache, which can be told to keep serving the old version after
// an invalidation (the bug the checks exist for), to bypass its cache, or to fail, in a window.
const fs = require('fs');
const os = require('os');
const path = require('path');
const express = require('express');
const { serve } = require('../helpers/http');
const { waitFor } = require('../helpers/wait');
const { startRedis } = require('../helpers/redis');
const {
  versions, startLoad, wrongBodies, count5xx, outcomesDuring, hitRatioAfter, rawCheck, now,
} = require('../helpers/load');

const KEYS = ['a', 'b', 'c', 'd'];
let http;

afterEach(async () => {
  if (http) await http.close();
  http = null;
});

/** The fake app: mode.stale (invalidation forgets the entry), mode.fault ('bypass' | '500'). */
async function fakeApp(db) {
  const cache = new Map();
  const mode = { stale: false, fault: null };
  const app = express();
  app.get('/item/:key', (req, res) => {
    const { key } = req.params;
    if (mode.fault === '500') return res.status(500).json({ error: 'fault' });
    if (mode.fault === 'bypass') return res.set('X-Cache', 'BYPASS').json(db.body(key));
    const cached = cache.get(key);
    if (cached) return res.set('X-Cache', 'HIT').json(cached);
    const body = db.body(key);
    cache.set(key, body);
    return res.set('X-Cache', 'MISS').json(body);
  });
  http = await serve(app);
  const invalidate = async (key) => {
    if (!mode.stale) cache.delete(key);
  };
  return { mode, invalidate };
}

/** Resolves once `n` more responses than now were recorded. */
function moreResponses(load, n) {
  const target = load.records.length + n;
  return waitFor(() => load.records.length >= target, { timeout: 5000, what: `${n} more responses` });
}

describe('the load checks on a fake cached app', () => {
  it('find no wrong body, no 5xx and HITs when the app invalidates correctly', async () => {
    const db = versions(KEYS);
    const app = await fakeApp(db);
    const load = startLoad({ url: http.url, keys: KEYS, db, invalidate: app.invalidate, concurrency: 3 });
    await moreResponses(load, 100);
    for (const key of KEYS) await load.invalidate(key);
    const after = now();
    await moreResponses(load, 200);
    await load.stop();
    expect(load.invalidations.every((inv) => inv.resolved !== null && inv.version === 2)).toBe(true);
    expect(load.wrongBodies()).toEqual([]);
    expect(load.count5xx()).toBe(0);
    // Responses after the invalidations carry version 2 (the check above is not vacuous).
    expect(load.records.filter((r) => r.start > after && r.version === 2).length).toBeGreaterThan(100);
    expect(load.hitRatioAfter(after, 60000).ratio).toBeGreaterThan(0.9);
  });

  it('flag every response that started after the invalidation resolved and served the old version', async () => {
    const db = versions(KEYS);
    const app = await fakeApp(db);
    const load = startLoad({ url: http.url, keys: KEYS, db, invalidate: app.invalidate, concurrency: 3 });
    await moreResponses(load, 50);
    app.mode.stale = true;
    const inv = await load.invalidate('b');
    await moreResponses(load, 100);
    await load.stop();
    const wrong = load.wrongBodies();
    const stale = load.records.filter((r) => r.key === 'b' && r.start > inv.resolved);
    expect(stale.length).toBeGreaterThan(10);
    expect(wrong.map((w) => w.record)).toEqual(stale);
    expect(wrong.every((w) => w.record.version === 1 && w.invalidation === inv && w.record.xCache === 'HIT')).toBe(true);
  });

  it('report the outcomes in a fault window, the 5xx, and the HIT ratio once it is over', async () => {
    const db = versions(KEYS);
    const app = await fakeApp(db);
    const load = startLoad({ url: http.url, keys: KEYS, db, invalidate: app.invalidate, concurrency: 2 });
    await moreResponses(load, 50);
    const from = now();
    app.mode.fault = 'bypass';
    await moreResponses(load, 50);
    app.mode.fault = '500';
    await moreResponses(load, 20);
    app.mode.fault = null;
    const to = now();
    await moreResponses(load, 100);
    await load.stop();
    const during = load.outcomesDuring({ from, to });
    expect(during.counts.BYPASS).toBeGreaterThanOrEqual(48); // 50, less the 2 loops' responses in flight at a switch
    expect(during.counts.none).toBeGreaterThanOrEqual(20);
    expect(during.others.length).toBe(during.total - (during.counts.BYPASS || 0) - (during.counts.MISS || 0));
    expect(during.others.some((r) => r.status === 500)).toBe(true);
    expect(load.count5xx()).toBeGreaterThanOrEqual(20);
    expect(load.count5xx()).toBe(load.records.filter((r) => r.status === 500).length);
    expect(load.hitRatioAfter(to, 60000).ratio).toBeGreaterThan(0.9);
    expect(load.hitRatioAfter(now() + 1000, 1000)).toEqual({ hits: 0, total: 0, ratio: NaN });
  });
});

describe('wrongBodies on hand-made records', () => {
  const inv = { key: 'k', version: 2, start: 100, resolved: 110 };
  const record = (start, version, status = 200) => ({ key: 'k', status, xCache: 'HIT', version, nonce: 'n', start, end: start + 5 });

  it('accepts an old version that started before the invalidation resolved', () => {
    expect(wrongBodies([record(105, 1), record(110, 1)], [inv])).toEqual([]);
  });

  it('flags an old version that started after it resolved, and takes the latest resolved one', () => {
    const later = { key: 'k', version: 3, start: 200, resolved: 220 };
    const records = [record(111, 1), record(150, 2), record(221, 2), record(221, 3)];
    expect(wrongBodies(records, [inv, later]).map((w) => [w.record.start, w.record.version, w.invalidation.version]))
      .toEqual([[111, 1, 2], [221, 2, 3]]);
  });

  it('ignores failed invalidations, other keys, errors and non-2xx responses', () => {
    const failed = { key: 'k', version: 3, start: 100, resolved: null, error: 'down' };
    const records = [record(300, 2), record(300, 1, 500), record(300, null, 0), { ...record(300, 1), key: 'other' }];
    expect(wrongBodies(records, [inv, failed])).toEqual([]);
    expect(count5xx(records)).toBe(1);
  });

  it('counts outcomes of responses started in a window and the HIT ratio after a time', () => {
    const records = [
      { ...record(0, 1), end: 10 }, { ...record(5, 1), xCache: 'MISS', end: 25 },
      { ...record(30, 1), xCache: 'BYPASS' }, { ...record(40, 1), status: 0, xCache: null }, record(60, 1),
    ];
    const during = outcomesDuring(records, { from: 5, to: 50 });
    expect(during.counts).toEqual({ MISS: 1, BYPASS: 1, error: 1 });
    expect(during.others.map((r) => r.start)).toEqual([40]);
    const other = { ...record(30, 1), key: 'other', xCache: 'HIT' };
    expect(outcomesDuring([...records, other], { from: 20, to: 50, keys: ['other'] }).counts).toEqual({ HIT: 1 });
    // within: the MISS that started at 5 ended at 25, the BYPASS at 30 ended at 35.
    expect(outcomesDuring(records, { from: 5, to: 30, within: true }).counts).toEqual({ MISS: 1 });
    expect(outcomesDuring(records, { from: 5, to: 36, within: true }).counts).toEqual({ MISS: 1, BYPASS: 1 });
    expect(hitRatioAfter(records, 30, 40)).toEqual({ hits: 1, total: 3, ratio: 1 / 3 });
  });
});

describe('rawCheck on a master and its replica', () => {
  let dir;
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('finds the named keys and a pattern on both, and reports the roles', async () => {
    // The replica writes the synced data to its --dir: a temporary folder, not the working one.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'respcache-rawcheck-'));
    // The replica's first sync starts at once, not after the default 5 s wait for more replicas.
    const master = await startRedis({ args: ['--dir', dir, '--repl-diskless-sync-delay', '0'] });
    const replica = await startRedis({ args: ['--dir', dir, '--replicaof', '127.0.0.1', String(master.port)] });
    await master.client().mset('p:1', 'x', 'p:2', 'y', 'q:1', 'z');
    await waitFor(async () => (await replica.client().exists('p:1', 'p:2', 'q:1')) === 3, { what: 'replicated keys' });
    const named = await rawCheck([master, replica], ['p:1', 'q:1', 'absent']);
    expect(named.errors).toEqual([]);
    expect(named.nodes.map((n) => n.role).sort()).toEqual(['master', 'slave']);
    expect(named.found.map((f) => `${f.role}:${f.key}`).sort()).toEqual(['master:p:1', 'master:q:1', 'slave:p:1', 'slave:q:1']);
    const pattern = await rawCheck([master, replica], 'p:*');
    expect(pattern.found.map((f) => `${f.port === master.port ? 'm' : 'r'}:${f.key}`).sort()).toEqual(['m:p:1', 'm:p:2', 'r:p:1', 'r:p:2']);
    await replica.stop();
    const one = await rawCheck([master, replica], ['p:1']);
    expect(one.nodes.map((n) => n.port)).toEqual([master.port]);
  });
});
