'use strict';

// What reaches the 'error' event under load (issue #10, finding 5): corrupt entries found by
// lookups are reported at most once per second per cache (like timeouts), the rest counted in
// stats().suppressedErrors, while the app's own faults (keyBuilder, condition) are reported once
// per request. Real redis-server, real Express, concurrent requests; the second is the caches'
// clock's (a fake one, test/helpers/clock.js), so the tests move it instead of waiting.
const nodeHttp = require('http');
const express = require('express');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, entryKey, waitFor } = require('../helpers/cache');
const { fakeClock, withClock } = require('../helpers/clock');

const N = 400;
const REPORT_INTERVAL_MS = 1000;

let redis;
let client;
let agent;
const servers = [];

beforeAll(async () => {
  redis = await startRedis();
  client = redis.client();
});
afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(async () => {
  await client.flushall();
  agent = new nodeHttp.Agent({ keepAlive: true, maxSockets: 50 });
});
afterEach(async () => {
  agent.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close()));
  await closeCaches();
});

/** GET /c/:id keyed 'corrupt:<id>'; `runs` counts handler runs. */
async function corruptibleApp(cache, routeOptions = {}) {
  const runs = { n: 0 };
  const app = express();
  app.get('/c/:id', cache.middleware({ keyBuilder: (req) => `corrupt:${req.params.id}`, exposeKey: true, ...routeOptions }),
    (req, res) => { runs.n++; res.send(`fresh ${req.params.id}`); });
  const http = await serve(app);
  servers.push(http);
  return { http, runs };
}

/** Requests every path at once (50 connections); resolves with the replies. */
async function burst(http, paths) {
  const replies = await Promise.all(paths.map((p) => http.get(p, { agent })));
  return { replies };
}

/** A cache on the test's Redis whose clock is `clock`. */
function openOn(clock) {
  return openCache(withClock({ commandTimeout: 2000, redis: redis.url }, clock));
}

const ids = Array.from({ length: N }, (_, i) => String(i));
const codes = (errors, code) => errors.filter((e) => e.code === code);

describe('when many lookups find corrupt entries at once', () => {
  it('reports ERR_RESPCACHE_CORRUPT_ENTRY at most once per second, counts the rest as suppressed, and still replaces every entry', async () => {
    // The clock stands still: the whole burst falls in one second of it, however long it takes.
    const { cache, errors } = await openOn(fakeClock());
    const { http, runs } = await corruptibleApp(cache);
    const garbage = Buffer.from('not an entry \xff\x00', 'latin1');
    await Promise.all(ids.map((id) => client.set(entryKey(`corrupt:${id}`), garbage)));

    const { replies } = await burst(http, ids.map((id) => `/c/${id}`));

    // Every request was answered by its handler, none failed.
    expect(replies.map((r) => r.status)).toEqual(ids.map(() => 200));
    expect(replies.map((r) => r.headers['x-cache'])).toEqual(ids.map(() => 'MISS'));
    expect(replies.map((r) => r.text)).toEqual(ids.map((id) => `fresh ${id}`));
    expect(replies[7].headers['x-cache-key']).toBe('corrupt:7');
    expect(runs.n).toBe(N);

    const reported = codes(errors, 'ERR_RESPCACHE_CORRUPT_ENTRY');
    expect(reported).toHaveLength(1);
    expect(errors).toHaveLength(1); // nothing else went wrong
    expect(cache.stats()).toMatchObject({ errors: N, suppressedErrors: N - 1 });

    // Each corrupt value was deleted and replaced by the handler's response (stores have no event).
    await waitFor(() => cache.stats().stores === N, { what: `${N} stores` });
    const values = await client.mgetBuffer(ids.map((id) => entryKey(`corrupt:${id}`)));
    expect(values.filter((v) => v === null || v.equals(garbage))).toEqual([]);
    const again = await burst(http, ids.map((id) => `/c/${id}`));
    expect(again.replies.map((r) => r.headers['x-cache'])).toEqual(ids.map(() => 'HIT'));
  });

  it('reports a corrupt entry again once a second has passed since the last report', async () => {
    const clock = fakeClock();
    const { cache, errors } = await openOn(clock);
    const { http } = await corruptibleApp(cache);
    for (const id of ['a', 'b', 'c', 'd']) await client.set(entryKey(`corrupt:${id}`), 'garbage');
    expect((await http.get('/c/a')).headers['x-cache']).toBe('MISS');
    expect((await http.get('/c/b')).headers['x-cache']).toBe('MISS');
    expect(codes(errors, 'ERR_RESPCACHE_CORRUPT_ENTRY')).toHaveLength(1);
    expect(cache.stats().suppressedErrors).toBe(1);
    // The last millisecond of the second is still inside it.
    clock.advance(REPORT_INTERVAL_MS - 1);
    expect((await http.get('/c/c')).headers['x-cache']).toBe('MISS');
    expect(codes(errors, 'ERR_RESPCACHE_CORRUPT_ENTRY')).toHaveLength(1);
    expect(cache.stats().suppressedErrors).toBe(2);
    clock.advance(1);
    expect((await http.get('/c/d')).headers['x-cache']).toBe('MISS');
    const reported = codes(errors, 'ERR_RESPCACHE_CORRUPT_ENTRY');
    expect(reported).toHaveLength(2);
    expect(reported[1].message).toContain(`"${entryKey('corrupt:d')}"`);
    expect(cache.stats().suppressedErrors).toBe(2);
  });

  it('rate-limits per cache: another cache on the same Redis reports its own first one', async () => {
    // One clock that stands still: b's first report is not a second later than a's.
    const clock = fakeClock();
    const { cache: a, errors: aErrors } = await openOn(clock);
    const { cache: b, errors: bErrors } = await openOn(clock);
    const { http: httpA } = await corruptibleApp(a);
    const { http: httpB } = await corruptibleApp(b);
    await Promise.all(['a1', 'a2', 'b1', 'b2'].map((id) => client.set(entryKey(`corrupt:${id}`), 'garbage')));
    await httpA.get('/c/a1');
    await httpA.get('/c/a2');
    await httpB.get('/c/b1');
    await httpB.get('/c/b2');
    expect(codes(aErrors, 'ERR_RESPCACHE_CORRUPT_ENTRY')).toHaveLength(1);
    expect(codes(bErrors, 'ERR_RESPCACHE_CORRUPT_ENTRY')).toHaveLength(1);
    expect(b.stats().suppressedErrors).toBe(1);
  });
});

describe('when the app\'s own functions fail on many requests at once', () => {
  it('reports each keyBuilder failure (one ERR_RESPCACHE_KEY_BUILDER per request)', async () => {
    const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await corruptibleApp(cache, { keyBuilder: (req) => { throw new Error(`no key for ${req.params.id}`); } });
    const { replies } = await burst(http, ids.map((id) => `/c/${id}`));
    expect(replies.map((r) => [r.status, r.headers['x-cache']])).toEqual(ids.map(() => [200, 'BYPASS']));
    const reported = codes(errors, 'ERR_RESPCACHE_KEY_BUILDER');
    expect(reported).toHaveLength(N);
    expect(reported.map((e) => e.message).sort()).toEqual(ids.map((id) => `the keyBuilder failed: no key for ${id}`).sort());
    expect(cache.stats().suppressedErrors).toBe(0);
  });

  it('reports each condition failure (one ERR_RESPCACHE_CONDITION per request)', async () => {
    const { cache, errors } = await openCache({ commandTimeout: 2000, redis: redis.url });
    const { http } = await corruptibleApp(cache, { condition: () => { throw new Error('no verdict'); } });
    const { replies } = await burst(http, ids.map((id) => `/c/${id}`));
    expect(replies.map((r) => [r.status, r.headers['x-cache']])).toEqual(ids.map(() => [200, 'MISS']));
    expect(codes(errors, 'ERR_RESPCACHE_CONDITION')).toHaveLength(N);
    expect(cache.stats().suppressedErrors).toBe(0);
  });
});
