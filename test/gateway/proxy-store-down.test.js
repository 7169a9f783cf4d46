'use strict';

// When the store cannot be asked (Redis stalls past commandTimeout), the gateway forwards
// (BYPASS) but still coalesces the concurrent requests for a URL of one process, as the app
// middleware does: one goes upstream, the others are answered from its response when they may
// be (the rules of a coalesced HIT, and the same variant when the response has Vary).
const http = require('http');
const { openCache, gate } = require('../helpers/cache');
const { onFlightJoin } = require('../helpers/internals');
const { bareGateway, gatewaySuite } = require('./proxy-fixtures');
const { formatHttpDate } = require('../../lib/http/http-date');
const { withClock } = require('../helpers/clock');

const t = gatewaySuite();

/** Headers of an origin response dated by the test's clock. */
const dated = (headers) => ({ Date: formatHttpDate(t.clock.now()), ...headers });

// How the test stalled Redis, undone after it: the stall lasts as long as the test, however long
// its requests take to get there (a timed pause could end before the last of them).
let frozen = false;
let control = null;

/** A cache on the suite's Redis whose commands time out after 200 ms, and Redis frozen (SIGSTOP). */
async function stalledCache() {
  const { cache, errors } = await openCache(withClock({ redis: t.redis.url, commandTimeout: 200 }, t.clock));
  t.redis.freeze();
  frozen = true;
  return { cache, errors };
}

/** Redis takes no write (CLIENT PAUSE WRITE) until the test ends; reads are answered. */
async function pauseWrites() {
  control = t.redis.client({ connectionName: 'control' });
  expect(await control.call('CLIENT', 'PAUSE', '60000', 'WRITE')).toBe('OK');
}

afterEach(async () => {
  if (frozen) t.redis.thaw();
  frozen = false;
  if (control !== null) {
    await control.call('CLIENT', 'UNPAUSE');
    control.disconnect();
  }
  control = null;
});

/**
 * Sends `count` concurrent GETs for `path`; the origin holds its first answer until the others
 * joined that request's flight (or, if they do not coalesce, until they all reached it), and
 * answers `answer(req, n)` with `headers`.
 */
async function burst(cache, gw, path, { count = 20, headers, reqHeaders = () => ({}), joiners = count - 1 }) {
  const ready = gate();
  let joined = 0;
  onFlightJoin(cache, () => { if (++joined === joiners) ready.open(); });
  let n = 0;
  t.origin.handle = (req, res) => {
    n += 1;
    const body = `answer ${n} for ${req.headers['accept-language'] || 'any'}`;
    const send = () => res.writeHead(200, dated(headers)).end(body);
    if (n === count) ready.open();
    return n === 1 ? ready.promise.then(send) : send();
  };
  const agent = new http.Agent({ keepAlive: false, maxSockets: 50 });
  const all = await Promise.all(Array.from({ length: count }, (_, i) => gw.get(path, { agent, headers: reqHeaders(i) })));
  agent.destroy();
  return all;
}

describe('when the store cannot be asked (Redis stalled past commandTimeout)', () => {
  it('sends 20 concurrent cold GETs upstream as one: the leader BYPASS, the others HIT from its response', async () => {
    const { cache, errors } = await stalledCache();
    t.gw = await bareGateway(cache, t.origin.url);
    const all = await burst(cache, t.gw, '/down', { headers: { 'Cache-Control': 'max-age=60' } });
    expect(t.origin.count('/down')).toBe(1);
    expect(all.every((r) => r.status === 200 && r.text === 'answer 1 for any')).toBe(true);
    expect(all.map((r) => r.headers['x-cache']).sort()).toEqual(['BYPASS', ...Array(19).fill('HIT')]);
    expect(errors.some((err) => err.code === 'ERR_RESPCACHE_REDIS_TIMEOUT')).toBe(true);
  });

  it('answers only the requests that select the leader\'s variant (RFC 9111 4.1): the others go upstream alone', async () => {
    const { cache } = await stalledCache();
    t.gw = await bareGateway(cache, t.origin.url);
    const lang = (i) => (i % 2 === 0 ? 'en' : 'fr');
    const all = await burst(cache, t.gw, '/lang', {
      headers: { 'Cache-Control': 'max-age=60', Vary: 'Accept-Language' }, reqHeaders: (i) => ({ 'Accept-Language': lang(i) }),
    });
    const leaderLang = /for (\w+)$/.exec(all.find((r) => r.text.startsWith('answer 1 ')).text)[1];
    expect(all.map((r, i) => r.text.endsWith(`for ${lang(i)}`))).toEqual(Array(20).fill(true));
    const hits = all.filter((r) => r.headers['x-cache'] === 'HIT');
    expect(hits.map((r) => r.text)).toEqual(Array(9).fill(`answer 1 for ${leaderLang}`));
    expect(t.origin.count('/lang')).toBe(11);
  });

  it('does not answer the others from a response they may not be served without validation (max-age=0)', async () => {
    const { cache } = await stalledCache();
    t.gw = await bareGateway(cache, t.origin.url);
    const all = await burst(cache, t.gw, '/zero', { count: 5, headers: { 'Cache-Control': 'max-age=0' } });
    expect(all.map((r) => r.headers['x-cache'])).toEqual(Array(5).fill('BYPASS'));
    expect(t.origin.count('/zero')).toBe(5);
  });

  it('does not hand over a response whose Vary the cache would not store under (RFC 9111 4.1)', async () => {
    const { cache } = await stalledCache();
    t.gw = await bareGateway(cache, t.origin.url);
    const all = await burst(cache, t.gw, '/odd-vary', { count: 5, headers: { 'Cache-Control': 'max-age=60', Vary: 'x y' } });
    expect(all.map((r) => r.headers['x-cache'])).toEqual(Array(5).fill('BYPASS'));
    expect(t.origin.count('/odd-vary')).toBe(5);
  });

  it('does not hand the leader\'s response to a follower when an invalidation came after the fill began (RFC 9111 4.4)', async () => {
    // Lookups and the PUT's invalidation must succeed: commandTimeout 1 s, as the suite's cache.
    const { cache } = await openCache(withClock({ redis: t.redis.url, commandTimeout: 1000 }, t.clock));
    t.gw = await bareGateway(cache, t.origin.url);
    let version = 'v1';
    const leaderHeld = gate();
    let first = true;
    t.origin.handle = async (req, res) => {
      if (req.method === 'PUT') {
        version = 'v2';
        return res.writeHead(204).end();
      }
      const body = version; // what the origin holds when the request reaches it
      if (first) {
        first = false;
        await leaderHeld.promise;
      }
      return res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end(body);
    };
    const joined = gate();
    onFlightJoin(cache, () => joined.open());
    const reachedOrigin = new Promise((resolve) => t.origin.once('request', resolve));
    const leader = t.gw.get('/inv', { agent: false });
    await reachedOrigin;
    expect((await t.gw.request('/inv', { method: 'PUT', agent: false })).status).toBe(204); // invalidates /inv
    const follower = t.gw.get('/inv', { agent: false });
    await joined.promise;
    // The leader's store then fails (Redis takes no write): not fenced, only failed.
    await pauseWrites();
    leaderHeld.open();
    const [a, b] = await Promise.all([leader, follower]);
    expect(a.text).toBe('v1');
    expect([b.headers['x-cache'], b.text]).toEqual(['MISS', 'v2']);
  });

  it('answers only-if-cached with 504 without going upstream (RFC 9111 5.2.1.7)', async () => {
    const { cache } = await stalledCache();
    t.gw = await bareGateway(cache, t.origin.url);
    t.origin.handle = (req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('from origin');
    const reply = await t.gw.get('/only', { headers: { 'Cache-Control': 'only-if-cached' } });
    expect(reply.status).toBe(504);
    expect(t.origin.count('/only')).toBe(0);
  });

  it('answers the followers from the leader\'s response when storing it fails (RFC 9111 4; project rule: one upstream request per key)', async () => {
    // The lookups must succeed: commandTimeout 1 s, as the suite's cache.
    const { cache, errors } = await openCache(withClock({ redis: t.redis.url, commandTimeout: 1000 }, t.clock));
    t.gw = await bareGateway(cache, t.origin.url);
    const joined = gate();
    let n = 0;
    onFlightJoin(cache, () => { if (++n === 19) joined.open(); });
    t.origin.handle = async (req, res) => {
      await joined.promise;
      // Redis takes no write from now: the leader's store (a script) times out.
      await pauseWrites();
      res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('the one answer');
    };
    const agent = new http.Agent({ keepAlive: false, maxSockets: 50 });
    const all = await Promise.all(Array.from({ length: 20 }, () => t.gw.get('/put-fails', { agent })));
    agent.destroy();
    expect(t.origin.count('/put-fails')).toBe(1);
    expect(all.every((r) => r.status === 200 && r.text === 'the one answer')).toBe(true);
    expect(all.map((r) => r.headers['x-cache']).sort()).toEqual([...Array(19).fill('HIT'), 'MISS']);
    expect(errors.some((err) => err.code === 'ERR_RESPCACHE_REDIS_TIMEOUT')).toBe(true);
  });
});
