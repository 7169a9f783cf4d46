'use strict';

// Coalescing hands a follower only what it may use (RFC 9111 4): the entry a leader stored for
// concurrent requests answers a follower only when it is servable to that follower's request;
// otherwise the follower goes upstream (or validates) itself.
const http = require('http');
const { openCache, gate } = require('../helpers/cache');
const { onFlightJoin, onFillWait } = require('../helpers/internals');
const { bareGateway, gatewaySuite } = require('./proxy-fixtures');
const { formatHttpDate } = require('../../lib/http/http-date');
const { withClock } = require('../helpers/clock');

const t = gatewaySuite();

/** Headers of an origin response dated by the test's clock. */
const dated = (headers) => ({ Date: formatHttpDate(t.clock.now()), ...headers });

// The requests of the stampede under way that wait for another one's fetch: joined a flight of
// their process (joins), or found the fill lock held by another process (lockWaits). The hooks
// stay on a cache once installed (the suite's cache serves every test): they report here.
const waiting = { joins: 0, lockWaits: 0, changed: () => {} };
const hooked = new WeakSet();

function countWaiters(cache) {
  if (hooked.has(cache)) return;
  hooked.add(cache);
  onFlightJoin(cache, () => { waiting.joins += 1; waiting.changed(); });
  onFillWait(cache, () => { waiting.lockWaits += 1; waiting.changed(); });
}

/**
 * Sends `count` concurrent requests (through `gateways` in turn, whose caches are `caches`). The
 * origin holds its first answer until every other request either waits for that one (joined its
 * flight, or waits on the fill lock of its process) or reached the origin itself, then answers
 * `headers` to every request.
 * @returns {Promise<{ all: object[], joins: number, lockWaits: number }>} the replies in order,
 *   and how many requests waited for the first
 */
async function stampede(gateways, path, headers, { caches = [t.cache], count = 5, reqHeaders = () => ({}) } = {}) {
  for (const cache of caches) countWaiters(cache);
  Object.assign(waiting, { joins: 0, lockWaits: 0 });
  const everyoneIn = gate();
  let n = 0;
  waiting.changed = () => {
    if (waiting.joins + waiting.lockWaits + n === count) everyoneIn.open();
  };
  t.origin.handle = (req, res) => {
    n += 1;
    const body = `answer ${n}`;
    const send = () => res.writeHead(200, dated(headers)).end(body);
    waiting.changed();
    return n === 1 ? everyoneIn.promise.then(send) : send();
  };
  const agent = new http.Agent({ keepAlive: false, maxSockets: 50 });
  try {
    const all = await Promise.all(Array.from({ length: count },
      (_, i) => gateways[i % gateways.length].get(path, { agent, headers: reqHeaders(i) })));
    return { all, joins: waiting.joins, lockWaits: waiting.lockWaits };
  } finally {
    waiting.changed = () => {};
    agent.destroy();
  }
}

describe('RFC 9111 4 (project rule: coalescing): when concurrent requests join a MISS in flight', () => {
  it.each([
    ['"Cache-Control: max-age=0" (stale at once: RFC 9111 4.2, 4.2.4)', { 'Cache-Control': 'max-age=0', ETag: '"z"' }],
    ['"Cache-Control: no-cache" (RFC 9111 5.2.2.4)', { 'Cache-Control': 'no-cache, max-age=60', ETag: '"n"' }],
  ])('does not answer followers HIT from a response with %s', async (_, headers) => {
    t.gw = await bareGateway(t.cache, t.origin.url);
    const { all, joins } = await stampede([t.gw], '/held', headers);
    expect(joins).toBe(4); // they waited for the first, and then went upstream themselves
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(all.map((r) => r.headers['x-cache'])).not.toContain('HIT');
    expect(t.origin.count('/held')).toBe(5);
  });

  it('does not answer a follower whose request says "Cache-Control: no-cache" HIT (RFC 9111 5.2.1.4)', async () => {
    t.gw = await bareGateway(t.cache, t.origin.url);
    const { all, joins } = await stampede([t.gw], '/fresh', { 'Cache-Control': 'max-age=60' },
      { reqHeaders: (i) => (i === 0 ? {} : { 'cache-control': 'no-cache' }) });
    expect(joins).toBe(4);
    expect(all.map((r) => r.headers['x-cache'])).not.toContain('HIT');
    expect(t.origin.count('/fresh')).toBe(5);
  });

  it('still answers followers HIT from a fresh response (RFC 9111 4.2)', async () => {
    t.gw = await bareGateway(t.cache, t.origin.url);
    const { all, joins } = await stampede([t.gw], '/shared', { 'Cache-Control': 'max-age=60' });
    expect(joins).toBe(4);
    expect(all.map((r) => r.text)).toEqual(Array(5).fill('answer 1'));
    expect(t.origin.count('/shared')).toBe(1);
  });

  it('does not answer followers of another process HIT from a "max-age=0" response (RFC 9111 4.2.4)', async () => {
    const { cache: other } = await openCache(withClock({ redis: t.redis.url, commandTimeout: 1000 }, t.clock));
    t.gw = await bareGateway(t.cache, t.origin.url);
    const second = await bareGateway(other, t.origin.url);
    try {
      // One Host for both, as behind a load balancer: it is part of the key (X-Forwarded-Host).
      const { all, joins, lockWaits } = await stampede([t.gw, second], '/x-held', { 'Cache-Control': 'max-age=0', ETag: '"x"' },
        { caches: [t.cache, other], count: 6, reqHeaders: () => ({ Host: 'gateway.example' }) });
      // In each process two joined its first request; the other process's first waited on the lock.
      expect([joins, lockWaits]).toEqual([4, 1]);
      expect(all.every((r) => r.status === 200)).toBe(true);
      expect(all.map((r) => r.headers['x-cache'])).not.toContain('HIT');
      expect(t.origin.count('/x-held')).toBe(6);
    } finally {
      await second.close();
    }
  });
});

describe('RFC 9111 4.3.2: a request forwarded with its own conditions or Range on a MISS', () => {
  it.each([
    ['If-None-Match, answered 304 (RFC 9110 13.1.2, 15.4.5)', { 'If-None-Match': '"c"' }, (res) => res.writeHead(304, dated({ ETag: '"c"' })).end()],
    ['Range, answered 206 (RFC 9110 14.2, 15.3.7)', { Range: 'bytes=0-1' },
      (res) => res.writeHead(206, dated({ 'Content-Range': 'bytes 0-1/10', 'Cache-Control': 'max-age=60' })).end('01')],
    ['Cache-Control: no-store, answered 200 (RFC 9111 5.2.1.5)', { 'Cache-Control': 'no-store' },
      (res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('full')],
  ])('leaves the coalescing of the URL\'s plain requests on (project rule) after %s', async (_, reqHeaders, answer) => {
    t.origin.handle = (req, res) => answer(res);
    t.gw = await bareGateway(t.cache, t.origin.url);
    expect((await t.gw.get('/own', { headers: reqHeaders })).headers['x-cache']).toBe('MISS');
    const { all, joins } = await stampede([t.gw], '/own', { 'Cache-Control': 'max-age=60' });
    expect(joins).toBe(4);
    expect(all.map((r) => r.text)).toEqual(Array(5).fill('answer 1'));
    expect(t.origin.count('/own')).toBe(2);
  });
});
