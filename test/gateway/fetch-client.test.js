'use strict';

// cache.fetch(url, init): a cached, coalesced HTTP client through the gateway's shared cache, on a
// real redis-server and real origin servers whose headers each test scripts.
const zlib = require('zlib');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, waitFor, gate } = require('../helpers/cache');
const { inFlight, onFlightJoin } = require('../helpers/internals');
const { startOrigin, json, deadUrl } = require('./fetch-fixtures');
const { UpstreamError, UpstreamTimeoutError, UpstreamBodyError } = require('../../lib');

let redis;
let cache;
let errors;
let origin;
let servers;
// Called each time a call joins a concurrent call's fetch (the hook stays on the file's cache).
let onJoin = () => {};

beforeAll(async () => {
  redis = await startRedis();
  ({ cache, errors } = await openCache({ redis: redis.url, commandTimeout: 1000 }));
  onFlightJoin(cache, () => onJoin());
});
afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});
beforeEach(async () => {
  await redis.client().flushall();
  errors.length = 0;
  servers = [];
  origin = await startOrigin();
});
afterEach(async () => {
  onJoin = () => {};
  await Promise.all([origin.close(), ...servers.map((s) => s.close())]);
  expect(errors).toEqual([]);
});

describe('a GET of a fresh response (RFC 9111 4.2)', () => {
  beforeEach(() => {
    origin.handle = json((req) => ({ n: origin.count(), url: req.url }), { 'Cache-Control': 'max-age=60', ETag: '"v1"' });
  });

  it('resolves with a WHATWG Fetch Response: MISS first, then HIT from Redis with Age (RFC 9111 5.1) without asking the origin', async () => {
    const first = await cache.fetch(`${origin.url}/users/1?x=1`);
    expect(first).toBeInstanceOf(Response);
    expect(first.status).toBe(200);
    expect(first.ok).toBe(true);
    expect(first.url).toBe(`${origin.url}/users/1?x=1`);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(await first.json()).toEqual({ n: 1, url: '/users/1?x=1' });
    const second = await cache.fetch(new URL(`${origin.url}/users/1?x=1`));
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.headers.get('etag')).toBe('"v1"');
    expect(second.headers.get('age')).toMatch(/^\d+$/);
    expect(await second.json()).toEqual({ n: 1, url: '/users/1?x=1' });
    expect(origin.count()).toBe(1);
    const keys = await redis.client().keys('*gw:*');
    expect(keys.length).toBeGreaterThan(0);
  });

  it('coalesces concurrent cold calls into one origin request (RFC 9111 4; project rule: one upstream request per key)', async () => {
    // The origin answers the first call once the 7 others joined it, or reached the origin themselves.
    const everyoneIn = gate();
    let joined = 0;
    onJoin = () => { if (++joined + origin.count() === 8) everyoneIn.open(); };
    origin.handle = (req, res) => {
      if (joined + origin.count() === 8) everyoneIn.open();
      everyoneIn.promise.then(() => json({ ok: true }, { 'Cache-Control': 'max-age=60' })(req, res));
    };
    const replies = await Promise.all(Array.from({ length: 8 }, () => cache.fetch(`${origin.url}/cold`)));
    expect(joined).toBe(7);
    expect(origin.count()).toBe(1);
    const statuses = replies.map((r) => r.headers.get('x-cache')).sort();
    expect(statuses.filter((s) => s === 'MISS')).toHaveLength(1);
    for (const r of replies) expect(await r.json()).toEqual({ ok: true });
  });

  it('shares its entries with cache.proxy() in front of the same origin that sends no X-Forwarded-* (RFC 9111 2: same method and target URI, same key)', async () => {
    await (await cache.fetch(`${origin.url}/shared`)).text();
    // With X-Forwarded-Host/-Proto sent, the proxy's key holds them (the upstream may answer by
    // them) and a call, which sends none, has its own entry.
    const gateway = await serve(cache.proxy(origin.url, { xForwarded: false }));
    servers.push(gateway);
    const reply = await gateway.get('/shared');
    expect(reply.headers['x-cache']).toBe('HIT');
    expect(origin.count()).toBe(1);
  });

  it('answers HEAD from the stored GET response, with no body (RFC 9110 9.3.2; WHATWG Fetch: a HEAD response has a null body)', async () => {
    await (await cache.fetch(`${origin.url}/h`)).text();
    const head = await cache.fetch(`${origin.url}/h`, { method: 'head' });
    expect(head.headers.get('x-cache')).toBe('HIT');
    expect(head.body).toBeNull();
    expect(origin.count()).toBe(1);
  });
});

/** An origin whose response is stale at once, with an ETag it answers If-None-Match to with 304. */
function revalidated(req, res) {
  if (req.headers['if-none-match'] === '"v1"') {
    res.writeHead(304, { ETag: '"v1"', 'Cache-Control': 'max-age=0' });
    res.end();
    return;
  }
  json({ v: 1 }, { 'Cache-Control': 'max-age=0', ETag: '"v1"' })(req, res);
}

describe('a stale response with a validator (RFC 9111 4.3)', () => {
  it('is revalidated with If-None-Match (4.3.1), and a 304 serves the stored body (REVALIDATED, 4.3.4)', async () => {
    origin.handle = revalidated;
    const first = await cache.fetch(`${origin.url}/r`);
    expect(first.headers.get('x-cache')).toBe('MISS');
    await first.text();
    // Stored, and the fill ended (a call while it is under way would join it and be answered
    // with its response).
    await waitFor(async () => inFlight(cache).leading === 0 && (await redis.client().keys('*gw:*')).length > 0,
      { what: 'the stored entry' });
    const again = await cache.fetch(`${origin.url}/r`);
    expect(again.headers.get('x-cache')).toBe('REVALIDATED');
    expect(await again.json()).toEqual({ v: 1 });
    expect(origin.requests[1].headers['if-none-match']).toBe('"v1"');
  });
});

describe('per-call overrides (project rule: "ttl" overrides the RFC 9111 4.2.1 lifetime, "tags" index the entry)', () => {
  it('"ttl" stores a response the origin gives no freshness, for that many seconds', async () => {
    origin.handle = json({ n: 1 });
    expect((await cache.fetch(`${origin.url}/t`)).headers.get('x-cache')).toBe('MISS');
    expect((await cache.fetch(`${origin.url}/t`)).headers.get('x-cache')).toBe('MISS');
    expect((await cache.fetch(`${origin.url}/t`, { ttl: 30 })).headers.get('x-cache')).toBe('MISS');
    expect((await cache.fetch(`${origin.url}/t`, { ttl: 30 })).headers.get('x-cache')).toBe('HIT');
    // The entry is found by a call with no ttl too: one key per URL.
    expect((await cache.fetch(`${origin.url}/t`)).headers.get('x-cache')).toBe('HIT');
    expect(origin.count()).toBe(3);
  });

  it('"tags" index the entry: cache.invalidateTags() makes the next call a MISS', async () => {
    origin.handle = json({ ok: 1 }, { 'Cache-Control': 'max-age=60' });
    await (await cache.fetch(`${origin.url}/tagged`, { tags: ['user:1', 'users'] })).text();
    await (await cache.fetch(`${origin.url}/other`, { tags: ['user:2'] })).text();
    expect(await cache.invalidateTags(['user:1'])).toBe(1);
    expect((await cache.fetch(`${origin.url}/tagged`)).headers.get('x-cache')).toBe('MISS');
    expect((await cache.fetch(`${origin.url}/other`)).headers.get('x-cache')).toBe('HIT');
  });

  it('cache.invalidatePath() reaches entries by the upstream URL path', async () => {
    origin.handle = json({ ok: 1 }, { 'Cache-Control': 'max-age=60' });
    await (await cache.fetch(`${origin.url}/users/7`)).text();
    expect(await cache.invalidatePath('/users/*')).toBe(1);
    expect((await cache.fetch(`${origin.url}/users/7`)).headers.get('x-cache')).toBe('MISS');
  });
});

describe('request headers and bodies (WHATWG Fetch RequestInit)', () => {
  it('sends headers given as an object, a Headers or [name, value] pairs (WHATWG Fetch HeadersInit; a repeated name combined, RFC 9110 5.3), and no Via: not a proxy (RFC 9110 7.6.3)', async () => {
    origin.handle = json({});
    await (await cache.fetch(`${origin.url}/a`, { headers: { 'X-One': '1', Accept: 'application/json' } })).text();
    await (await cache.fetch(`${origin.url}/b`, { headers: new Headers({ 'X-Two': '2' }) })).text();
    await (await cache.fetch(`${origin.url}/c`, { headers: [['X-Three', '3'], ['x-three', '4']] })).text();
    expect(origin.requests[0].headers).toMatchObject({ 'x-one': '1', accept: 'application/json' });
    expect(origin.requests[1].headers['x-two']).toBe('2');
    expect(origin.requests[2].headers['x-three']).toBe('3, 4');
    expect(origin.requests[0].headers.via).toBeUndefined();
  });

  it('forwards a POST body (BYPASS) and the POST invalidates the stored GET of its URL (RFC 9111 4.4)', async () => {
    origin.handle = (req, res, body) => json({ method: req.method, got: body.toString() }, { 'Cache-Control': 'max-age=60' })(req, res);
    await (await cache.fetch(`${origin.url}/items/1`)).text();
    expect((await cache.fetch(`${origin.url}/items/1`)).headers.get('x-cache')).toBe('HIT');
    const post = await cache.fetch(`${origin.url}/items/1`, {
      method: 'POST', headers: { 'content-type': 'text/plain' }, body: new TextEncoder().encode('price=3'),
    });
    expect(post.headers.get('x-cache')).toBe('BYPASS');
    expect(await post.json()).toEqual({ method: 'POST', got: 'price=3' });
    expect((await cache.fetch(`${origin.url}/items/1`)).headers.get('x-cache')).toBe('MISS');
  });

  it('gives a 204 a null body (WHATWG Fetch: null body status; RFC 9110 15.3.5)', async () => {
    origin.handle = (req, res) => { res.writeHead(204); res.end(); };
    const reply = await cache.fetch(`${origin.url}/empty`, { method: 'DELETE' });
    expect(reply.status).toBe(204);
    expect(reply.body).toBeNull();
  });
});

describe('RFC 9110 8.4 Content-Encoding: the body is decoded as fetch() decodes it (WHATWG Fetch: handle content codings)', () => {
  const PLAIN = JSON.stringify({ hello: 'world', list: [1, 2, 3] });
  const ACCEPT = { 'accept-encoding': 'gzip, deflate, br' };
  /** An origin answering `bytes` with this Content-Encoding, stored for 60 s per Accept-Encoding. */
  const encoded = (coding, bytes, cacheControl = 'max-age=60') => (req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': coding, 'Cache-Control': cacheControl, Vary: 'Accept-Encoding' });
    res.end(bytes);
  };

  it.each([
    ['gzip', 'gzip', zlib.gzipSync(PLAIN)],
    ['x-gzip', 'x-gzip', zlib.gzipSync(PLAIN)],
    ['GZIP (case-insensitive)', 'GZIP', zlib.gzipSync(PLAIN)],
    ['deflate (zlib format, RFC 9110 8.4.1.2)', 'deflate', zlib.deflateSync(PLAIN)],
    ['deflate (raw, as some servers send it; undici reads both)', 'deflate', zlib.deflateRawSync(PLAIN)],
    ['br', 'br', zlib.brotliCompressSync(PLAIN)],
    // A list is in the order the codings were applied: the last one is undone first.
    ['deflate, br', 'deflate, br', zlib.brotliCompressSync(zlib.deflateSync(PLAIN))],
    ['gzip,gzip', 'gzip,gzip', zlib.gzipSync(zlib.gzipSync(PLAIN))],
  ])('%s: MISS and HIT give the decoded body, with the response headers unchanged', async (label, coding, bytes) => {
    origin.handle = encoded(coding, bytes);
    const first = await cache.fetch(`${origin.url}/enc`, { headers: ACCEPT });
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.headers.get('content-encoding')).toBe(coding);
    expect(await first.text()).toBe(PLAIN);
    const second = await cache.fetch(`${origin.url}/enc`, { headers: ACCEPT });
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(second.headers.get('content-encoding')).toBe(coding);
    expect(await second.json()).toEqual(JSON.parse(PLAIN));
    expect(origin.count()).toBe(1);
  });

  it('stores the entry encoded under Vary: Accept-Encoding (RFC 9111 3, 4.1): cache.proxy() serves it with its Content-Encoding, bytes as the origin sent them', async () => {
    const gzipped = zlib.gzipSync(PLAIN);
    origin.handle = encoded('gzip', gzipped);
    expect(await (await cache.fetch(`${origin.url}/shared-gz`, { headers: ACCEPT })).text()).toBe(PLAIN);
    // No X-Forwarded-*: the proxy's key is then the URL alone, as cache.fetch()'s.
    const gateway = await serve(cache.proxy(origin.url, { xForwarded: false }));
    servers.push(gateway);
    const reply = await gateway.get('/shared-gz', { headers: ACCEPT });
    expect(reply.headers['x-cache']).toBe('HIT');
    expect(reply.headers['content-encoding']).toBe('gzip');
    expect(reply.body.equals(gzipped)).toBe(true);
    expect(origin.count()).toBe(1);
  });

  it.each([
    ['an unknown coding', 'x-custom'],
    ['a list that ends with an unknown coding', 'gzip, x-custom'],
    ['a list with an unknown coding before a known one', 'x-custom, gzip'],
  ])('leaves the body as it is for %s (WHATWG Fetch: unsupported codings return the bytes)', async (what, coding) => {
    const bytes = Buffer.from([0x1f, 0x8b, 0x00, 0xff, 0x10, 0x20]);
    origin.handle = encoded(coding, bytes, 'no-store');
    const reply = await cache.fetch(`${origin.url}/odd`);
    expect(Buffer.from(await reply.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it.each([['MISS', 'no-store'], ['HIT', 'max-age=60']])('a body that does not decode rejects the body read (%s), with UpstreamBodyError (WHATWG Fetch: decoding failure errors the body)', async (status, cacheControl) => {
    origin.handle = encoded('gzip', 'this is not gzip', cacheControl);
    if (status === 'HIT') await (await cache.fetch(`${origin.url}/bad-gz`)).arrayBuffer().catch(() => null);
    const reply = await cache.fetch(`${origin.url}/bad-gz`);
    expect(reply.headers.get('x-cache')).toBe(status);
    expect(reply.status).toBe(200);
    const err = await reply.text().catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamBodyError);
    expect(err).toMatchObject({ code: 'ERR_RESPCACHE_UPSTREAM_BODY', status: 200, cause: { code: 'Z_DATA_ERROR' } });
    expect(err.message).toBe(`the body of ${origin.url}/bad-gz does not decode as its Content-Encoding "gzip" says: incorrect header check`);
  });

  it('a body that stops decoding while the origin still sends it rejects the read with UpstreamBodyError too', async () => {
    const rest = gate();
    origin.handle = (req, res) => {
      res.writeHead(200, { 'Content-Encoding': 'gzip', 'Cache-Control': 'no-store' });
      res.write('this is not gzip'); // the decoder fails on this while the body goes on
      rest.promise.then(() => res.end('the rest'));
    };
    const reply = await cache.fetch(`${origin.url}/bad-stream`);
    const err = await reply.text().catch((e) => e);
    rest.open();
    expect(err).toBeInstanceOf(UpstreamBodyError);
    expect(err).toMatchObject({ code: 'ERR_RESPCACHE_UPSTREAM_BODY', cause: { code: 'Z_DATA_ERROR' } });
  });

  it('does not decode a HEAD response or a null-body status (WHATWG Fetch: their body is null)', async () => {
    origin.handle = (req, res) => {
      res.writeHead(req.url === '/gone' ? 204 : 200, { 'Content-Encoding': 'gzip', 'Cache-Control': 'no-store' });
      res.end();
    };
    expect((await cache.fetch(`${origin.url}/h`, { method: 'HEAD' })).body).toBeNull();
    expect((await cache.fetch(`${origin.url}/gone`)).body).toBeNull();
  });

  it('project rule: sends no Accept-Encoding unless the call does, unlike fetch() in browsers and undici (the stored variant is the identity one)', async () => {
    origin.handle = json({});
    await (await cache.fetch(`${origin.url}/ae`)).text();
    expect(origin.requests[0].headers['accept-encoding']).toBeUndefined();
  });
});

describe('RFC 9111 3 / 4.3.4: a call\'s "ttl" and "tags" apply only to the response that call stores', () => {
  /** The remaining lifetimes (ms) of the entries in Redis (index keys have none). */
  const lifetimes = async () => {
    const client = redis.client();
    const keys = await client.keys('*gw:*');
    return (await Promise.all(keys.map((k) => client.pttl(k)))).filter((ms) => ms > 0);
  };

  it('a HIT leaves the entry as it was: its tags are not added, its ttl not applied', async () => {
    origin.handle = json({ v: 1 }, { 'Cache-Control': 'max-age=60' });
    await (await cache.fetch(`${origin.url}/hit`)).text();
    const hit = await cache.fetch(`${origin.url}/hit`, { tags: ['late'], ttl: 1 });
    expect(hit.headers.get('x-cache')).toBe('HIT');
    await hit.text();
    expect(await cache.invalidateTags(['late'])).toBe(0);
    expect(Math.min(...await lifetimes())).toBeGreaterThan(30000);
  });

  it('a call answered from a concurrent call\'s fetch (coalesced) leaves the entry as that call stored it', async () => {
    const release = gate();
    const arrived = gate();
    origin.handle = (req, res) => {
      arrived.open();
      release.promise.then(() => json({ v: 1 }, { 'Cache-Control': 'max-age=60' })(req, res));
    };
    const joined = gate();
    onJoin = () => joined.open();
    const leader = cache.fetch(`${origin.url}/co`);
    await arrived.promise;
    const follower = cache.fetch(`${origin.url}/co`, { tags: ['follower'], ttl: 1 });
    await joined.promise;
    release.open();
    const [a, b] = await Promise.all([leader, follower]);
    expect([a.headers.get('x-cache'), b.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
    await Promise.all([a.text(), b.text()]);
    expect(origin.count()).toBe(1);
    expect(await cache.invalidateTags(['follower'])).toBe(0);
    expect(Math.min(...await lifetimes())).toBeGreaterThan(30000);
  });

  it('a revalidation stores the refreshed entry (REVALIDATED): that call\'s ttl and tags apply', async () => {
    origin.handle = revalidated;
    await (await cache.fetch(`${origin.url}/rv`)).text();
    await waitFor(async () => inFlight(cache).leading === 0 && (await lifetimes()).length > 0, { what: 'the stored entry' });
    const again = await cache.fetch(`${origin.url}/rv`, { tags: ['reval'], ttl: 60 });
    expect(again.headers.get('x-cache')).toBe('REVALIDATED');
    await again.text();
    // Fresh for the call's 60 s, although the 304 says max-age=0.
    expect((await cache.fetch(`${origin.url}/rv`)).headers.get('x-cache')).toBe('HIT');
    expect(await cache.invalidateTags(['reval'])).toBe(1);
    expect((await cache.fetch(`${origin.url}/rv`)).headers.get('x-cache')).toBe('MISS');
  });

  it('a STALE answer (stale-while-revalidate) stores through its background revalidation: that call\'s ttl and tags apply (RFC 5861 3)', async () => {
    origin.handle = (req, res) => {
      const headers = { ETag: '"v1"', 'Cache-Control': 'max-age=0, stale-while-revalidate=60' };
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, headers);
        res.end();
        return;
      }
      json({ v: 1 }, headers)(req, res);
    };
    await (await cache.fetch(`${origin.url}/swr`)).text();
    const busy = () => [...cache._inflight.table.keys()].some((name) => name.startsWith('e:') || name.startsWith('r:'));
    await waitFor(async () => !busy() && (await lifetimes()).length > 0, { what: 'the stored entry' });
    const stale = await cache.fetch(`${origin.url}/swr`, { tags: ['bg'], ttl: 60 });
    expect(stale.headers.get('x-cache')).toBe('STALE');
    await stale.text();
    await waitFor(() => origin.count() === 2 && !busy(), { what: 'the background revalidation' });
    expect(origin.requests[1].headers['if-none-match']).toBe('"v1"');
    expect((await cache.fetch(`${origin.url}/swr`)).headers.get('x-cache')).toBe('HIT');
    expect(await cache.invalidateTags(['bg'])).toBe(1);
  });
});

describe('failures (project rule: coded errors, timeouts; WHATWG Fetch for "signal")', () => {
  // Far longer than a call's timeout: a call that ends sooner was ended by its timeout.
  const ORIGIN_DELAY_MS = 20000;

  it('rejects with an UpstreamError when the origin cannot be reached', async () => {
    const url = await deadUrl();
    await expect(cache.fetch(`${url}/x`)).rejects.toMatchObject({ code: 'ERR_RESPCACHE_UPSTREAM' });
    await expect(cache.fetch(`${url}/x`)).rejects.toBeInstanceOf(UpstreamError);
  });

  it('"timeout" rejects with an UpstreamTimeoutError when the response does not come in time, and aborts the request', async () => {
    const abandoned = gate();
    origin.handle = (req, res) => {
      const late = setTimeout(() => json({})(req, res), ORIGIN_DELAY_MS);
      // Closed before the response was sent: the exchange was aborted, not merely no longer awaited.
      res.on('close', () => {
        clearTimeout(late);
        abandoned.open(!res.writableFinished);
      });
    };
    const t0 = Date.now();
    const call = cache.fetch(`${origin.url}/slow`, { timeout: 1000 });
    await expect(call).rejects.toBeInstanceOf(UpstreamTimeoutError);
    await expect(call).rejects.toThrow('within 1000 ms');
    expect(await abandoned.promise).toBe(true);
    // Ended by the timeout, long before the origin's answer was due.
    expect(Date.now() - t0).toBeLessThan(ORIGIN_DELAY_MS / 2);
  });

  it('"timeout" covers the body: a body that stalls errors the stream with UpstreamTimeoutError', async () => {
    const abandoned = gate();
    origin.handle = (req, res) => {
      res.on('close', () => abandoned.open(!res.writableFinished));
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.write('start');
    };
    const reply = await cache.fetch(`${origin.url}/stall`, { timeout: 1000 });
    const err = await reply.text().catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamTimeoutError);
    expect(err.message).toBe('cache.fetch() had no complete response within 1000 ms');
    expect(await abandoned.promise).toBe(true);
  });

  it('"signal" aborts the call with the signal\'s reason (WHATWG Fetch: abort the fetch() call with the signal\'s abort reason)', async () => {
    const controller = new AbortController();
    const abandoned = gate();
    origin.handle = (req, res) => {
      res.on('close', () => abandoned.open(!res.writableFinished));
      controller.abort(); // once the request is at the origin, which never answers it
    };
    const call = cache.fetch(`${origin.url}/abort`, { signal: controller.signal });
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    expect(await abandoned.promise).toBe(true);
    await expect(cache.fetch(`${origin.url}/abort`, { signal: AbortSignal.abort(new Error('gone')) })).rejects.toThrow('gone');
  });

  it.each([
    ['url', () => cache.fetch('/relative'), /"url" of cache.fetch\(\)/],
    ['url', () => cache.fetch('ftp://host/x'), /"url" of cache.fetch\(\)/],
    ['ttl', () => cache.fetch(origin.url, { ttl: -1 }), /"ttl" option of cache.fetch\(\)/],
    ['tags', () => cache.fetch(origin.url, { tags: 'a' }), /"tags" option of cache.fetch\(\)/],
    ['timeout', () => cache.fetch(origin.url, { timeout: 1.5 }), /"timeout" option of cache.fetch\(\)/],
    ['headers', () => cache.fetch(origin.url, { headers: 'x' }), /"headers" option of cache.fetch\(\)/],
    ['body', () => cache.fetch(origin.url, { body: 'x' }), /"body" option in cache.fetch\(\) for a GET/],
    ['body', () => cache.fetch(origin.url, { method: 'POST', body: 42 }), /"body" option of cache.fetch\(\)/],
    ['signal', () => cache.fetch(origin.url, { signal: {} }), /"signal" option of cache.fetch\(\)/],
    ['misspelt', () => cache.fetch(origin.url, { header: {} }), /Unknown option "header" for cache.fetch\(\) \(did you mean "headers"\?\)/],
  ])('rejects a bad "%s" with a TypeError naming it', async (name, call, message) => {
    await expect(call()).rejects.toThrow(TypeError);
    await expect(call()).rejects.toThrow(message);
    expect(origin.count()).toBe(0);
  });
});

describe('project rule: after cache.close()', () => {
  it('rejects with CacheClosedError and sends nothing upstream', async () => {
    const { cache: closing } = await openCache({ redis: redis.url, commandTimeout: 1000 });
    await closing.close();
    await expect(closing.fetch(`${origin.url}/late`)).rejects.toMatchObject({ code: 'ERR_RESPCACHE_REDIS_CLOSED' });
    expect(origin.count()).toBe(0);
  });
});
