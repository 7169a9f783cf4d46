'use strict';

// A request that waits for another one's fetch (coalescing in this process, or another process's
// fill lock in Redis) still ends when its own signal aborts: cache.fetch's timeout, or the
// caller's AbortSignal. What it leaves behind (an in-flight entry, a lock taken after it left) is
// ended for the others.
const { openCache, waitFor, gate } = require('../helpers/cache');
const { inFlight, onFlightJoin } = require('../helpers/internals');
const { gatewaySuite } = require('./proxy-fixtures');
const { formatHttpDate } = require('../../lib/http/http-date');
const { withClock } = require('../helpers/clock');
const { UpstreamTimeoutError } = require('../../lib');

const t = gatewaySuite();

/** Headers of an origin response dated by the test's clock. */
const dated = (headers) => ({ Date: formatHttpDate(t.clock.now()), ...headers });

/**
 * A cache.fetch of `path` that leads: the origin got it and holds its answer ('shared',
 * max-age=60) until `held` opens.
 */
async function leading(path) {
  const held = gate();
  t.origin.handle = (req, res) => held.promise.then(() => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('shared'));
  const url = `${t.origin.url}${path}`;
  const arrived = new Promise((resolve) => t.origin.once('request', resolve));
  const leader = t.cache.fetch(url);
  await arrived;
  return { held, url, leader };
}

/** Settles `promise` into { value } or { error }, with how long it took from now. */
async function timed(promise) {
  const t0 = Date.now();
  const settled = await promise.then((value) => ({ value }), (error) => ({ error }));
  return { ...settled, ms: Date.now() - t0 };
}

describe('a cache.fetch that joined a concurrent request for the same URL', () => {
  it('rejects with UpstreamTimeoutError at its own timeout, not when the request it joined ends', async () => {
    const { held, url, leader } = await leading('/slow');
    let joined = 0;
    onFlightJoin(t.cache, () => { joined += 1; });
    // The timeout must outlast the follower's lookup and its join, on a loaded machine too.
    const follower = await timed(t.cache.fetch(url, { timeout: 2000 }));
    held.open();
    expect(joined).toBe(1);
    expect(follower.error).toBeInstanceOf(UpstreamTimeoutError);
    // The request it joined is held until after: only its own timeout could end it (the wait
    // alone would last coalesceTimeout, 10 s).
    expect(follower.ms).toBeLessThan(9000);
    expect(await (await leader).text()).toBe('shared');
    expect(t.origin.count('/slow')).toBe(1);
  });

  it('rejects with the reason of the caller\'s AbortSignal when it aborts', async () => {
    const { held, url, leader } = await leading('/aborted');
    const controller = new AbortController();
    const reason = new Error('the caller gave up');
    const follower = t.cache.fetch(url, { signal: controller.signal });
    onFlightJoin(t.cache, () => controller.abort(reason));
    const settled = await timed(follower);
    held.open();
    expect(settled.error).toBe(reason);
    expect(settled.ms).toBeLessThan(5000);
    expect(await (await leader).text()).toBe('shared');
  });
});

describe('a cache.fetch that waits on another process\'s fill lock', () => {
  it('rejects at its timeout, and gives back the lock its wait took after it left', async () => {
    const { cache: other } = await openCache(withClock({ redis: t.redis.url, commandTimeout: 1000 }, t.clock));
    t.origin.handle = (req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end(req.url);
    // The engine cache.fetch uses for this origin, made by a first call.
    await (await t.cache.fetch(`${t.origin.url}/first`)).text();
    const url = `${t.origin.url}/locked`;
    const key = t.cache._fetcher.engineFor(t.origin.url).baseKey({ method: 'GET', url, headers: {} });
    // Another process fills the URL: it holds the fill lock (for longer than the test).
    const token = await other._store.tryLock(`e:${key}`, 60000);
    expect(typeof token).toBe('string');
    const waiting = await timed(t.cache.fetch(url, { timeout: 500 }));
    expect(waiting.error).toBeInstanceOf(UpstreamTimeoutError);
    expect(waiting.ms).toBeLessThan(5000); // the lock is held for 60 s, the wait for coalesceTimeout (10 s)
    // The other process gives its lock back: the wait the request left takes it (this process
    // would have led the fill) and must give it back at once, and end its in-flight entry.
    other._store.giveBack(`e:${key}`, token);
    await waitFor(() => inFlight(t.cache).leading === 0, { what: 'the abandoned fill ended' });
    // A lock kept by nobody would hold the next request for its lockTtl (10 s).
    const next = await timed(t.cache.fetch(url));
    expect([next.value.status, next.value.headers.get('x-cache'), await next.value.text()]).toEqual([200, 'MISS', '/locked']);
    expect(next.ms).toBeLessThan(5000);
  });
});
