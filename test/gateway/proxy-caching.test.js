'use strict';

// cache.proxy() as a shared cache: freshness from the upstream's headers, revalidation, Vary,
// invalidation by unsafe methods, the stale windows, answers computed from storage (client
// conditionals, Range, HEAD, only-if-cached), coalescing, and store faults.
const http = require('http');
const { openCache, waitFor } = require('../helpers/cache');
const { startOrigin, bareGateway, gatewaySuite } = require('./proxy-fixtures');
const { formatHttpDate } = require('../../lib/http/http-date');
const { withClock } = require('../helpers/clock');

const t = gatewaySuite();

/** Headers of an origin response dated by the test's clock. */
const dated = (headers) => ({ Date: formatHttpDate(t.clock.now()), ...headers });

async function start(handle, options) {
  t.origin.handle = handle;
  t.gw = await bareGateway(t.cache, t.origin.url, options);
}

describe('freshness (RFC 9111 4.2)', () => {
  it('counts the upstream\'s Age into the entry\'s age (4.2.3)', async () => {
    await start((req, res) => (req.headers['if-none-match'] ? res.writeHead(304, dated({ ETag: '"a"' })).end()
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=60', Age: '30', ETag: '"a"' })).end('x')));
    await t.gw.get('/a');
    const hit = await t.gw.get('/a');
    expect([hit.headers['x-cache'], hit.headers.age]).toEqual(['HIT', '30']);
    t.clock.advance(31000);
    const later = await t.gw.get('/a');
    expect(later.headers['x-cache']).toBe('REVALIDATED'); // 30 + 31 > 60: validated first
    expect(t.origin.requests[1].headers['if-none-match']).toBe('"a"');
  });

  it('takes Expires against Date, not against the local clock (4.2.1)', async () => {
    // The upstream's clock is an hour ahead: the response is fresh for Expires - Date = 10 s.
    const ahead = t.clock.now() + 3600000;
    await start((req, res) => res.writeHead(200, {
      Date: formatHttpDate(ahead), Expires: formatHttpDate(ahead + 10000),
    }).end('e'));
    await t.gw.get('/e');
    t.clock.advance(5000);
    expect((await t.gw.get('/e')).headers['x-cache']).toBe('HIT');
    t.clock.advance(6000);
    expect((await t.gw.get('/e')).headers['x-cache']).toBe('MISS');
  });

  it('treats an invalid Expires as already expired (5.3)', async () => {
    await start((req, res) => res.writeHead(200, dated({ Expires: '0' })).end('i'));
    await t.gw.get('/i');
    expect((await t.gw.get('/i')).headers['x-cache']).toBe('MISS');
  });

  it('serves a response with s-maxage=0 from the upstream every time (5.2.2.10)', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60, s-maxage=0' })).end('s'));
    await t.gw.get('/s');
    expect((await t.gw.get('/s')).headers['x-cache']).toBe('MISS');
  });

  it('honours CDN-Cache-Control over Cache-Control (RFC 9213)', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'no-store', 'CDN-Cache-Control': 'max-age=60' })).end('c'));
    await t.gw.get('/c');
    expect((await t.gw.get('/c')).headers['x-cache']).toBe('HIT');
  });

  it('gives a 200 with Last-Modified a heuristic lifetime (4.2.2)', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Last-Modified': formatHttpDate(t.clock.now() - 100000) })).end('h'));
    await t.gw.get('/h');
    t.clock.advance(9000); // 10% of 100 s
    expect((await t.gw.get('/h')).headers['x-cache']).toBe('HIT');
  });
});

describe('revalidation (RFC 9111 4.3)', () => {
  it('validates a stale entry with its ETag; a 304 refreshes the stored headers and lifetime (4.3.1, 4.3.3, 4.3.4)', async () => {
    let version = 1;
    await start((req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, dated({ 'Cache-Control': 'max-age=10', ETag: '"v1"', 'X-Version': String(++version) })).end();
      } else {
        res.writeHead(200, dated({ 'Cache-Control': 'max-age=10', ETag: '"v1"', 'X-Version': '1' })).end('body');
      }
    });
    await t.gw.get('/r');
    t.clock.advance(11000);
    const revalidated = await t.gw.get('/r');
    expect([revalidated.status, revalidated.headers['x-cache'], revalidated.text, revalidated.headers['x-version']])
      .toEqual([200, 'REVALIDATED', 'body', '2']);
    expect(t.origin.requests[1].headers['if-none-match']).toBe('"v1"');
    const hit = await t.gw.get('/r');
    expect([hit.headers['x-cache'], hit.headers['x-version'], hit.headers.age]).toEqual(['HIT', '2', '0']);
  });

  it('takes a 304 without validators as the answer to its own validation (4.3.4)', async () => {
    await start((req, res) => (req.headers['if-none-match'] === '"bare"'
      ? res.writeHead(304, dated({ 'Cache-Control': 'max-age=60' })).end()
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=1', ETag: '"bare"' })).end('bare')));
    await t.gw.get('/bare');
    await waitFor(async () => (await t.gw.get('/bare')).headers['x-cache'] === 'HIT', { what: 'the entry stored' });
    t.clock.advance(2000);
    t.origin.requests.length = 0;
    const reply = await t.gw.get('/bare');
    expect([reply.headers['x-cache'], reply.text, t.origin.count()]).toEqual(['REVALIDATED', 'bare', 1]);
  });

  it('revalidates a fresh entry when the request says no-cache (5.2.1.4)', async () => {
    await start((req, res) => res.writeHead(req.headers['if-none-match'] ? 304 : 200,
      dated({ 'Cache-Control': 'max-age=60', ETag: '"n"' })).end(req.headers['if-none-match'] ? undefined : 'n'));
    await t.gw.get('/n');
    const reply = await t.gw.get('/n', { headers: { 'Cache-Control': 'no-cache' } });
    expect([reply.headers['x-cache'], reply.text, t.origin.count()]).toEqual(['REVALIDATED', 'n', 2]);
  });

  it('replaces the entry when the upstream answers the validation with a new 200 (4.3.3)', async () => {
    let body = 'old';
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=10', ETag: `"${body}"` })).end(body));
    await t.gw.get('/v');
    body = 'new';
    t.clock.advance(11000);
    const reply = await t.gw.get('/v');
    expect([reply.headers['x-cache'], reply.text]).toEqual(['MISS', 'new']);
    expect((await t.gw.get('/v')).text).toBe('new');
  });
});

describe('a 200 to a HEAD (RFC 9111 4.3.5)', () => {
  /** The origin: GET answered 200 with ETag "g"; HEAD answered with the headers the test sets. */
  async function headOrigin(headHeaders) {
    await start((req, res) => (req.method === 'HEAD' ? res.writeHead(200, dated(headHeaders())).end()
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=1', ETag: '"g"', 'X-Version': '1' })).end('get body')));
    await t.gw.get('/g');
    await waitFor(async () => (await t.gw.get('/g')).headers['x-cache'] === 'HIT', { what: 'the entry stored' });
    t.clock.advance(2000);
    t.origin.requests.length = 0;
  }

  it('is sent for a HEAD on a stale entry and freshens the stored GET response when its validators match', async () => {
    await headOrigin(() => ({ 'Cache-Control': 'max-age=100', ETag: '"g"', 'X-Version': '2' }));
    const head = await t.gw.head('/g');
    expect([head.status, head.headers['x-version']]).toEqual([200, '2']);
    expect(t.origin.requests.map((r) => r.method)).toEqual(['HEAD']);
    t.clock.advance(50000);
    const hit = await t.gw.get('/g');
    expect([hit.headers['x-cache'], hit.headers['x-version'], hit.text]).toEqual(['HIT', '2', 'get body']);
  });

  it('leaves the stored response stale when its validators differ', async () => {
    await headOrigin(() => ({ 'Cache-Control': 'max-age=100', ETag: '"other"', 'X-Version': '2' }));
    await t.gw.head('/g');
    const next = await t.gw.get('/g');
    expect(next.headers['x-cache']).not.toBe('HIT');
    expect(t.origin.requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });
});

describe('Vary (RFC 9111 4.1)', () => {
  it('stores one variant per value of the fields the response varies on', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60', Vary: 'Accept-Language' }))
      .end(`lang=${req.headers['accept-language']}`));
    const en = { headers: { 'Accept-Language': 'en' } };
    const fr = { headers: { 'Accept-Language': 'fr' } };
    expect((await t.gw.get('/v', en)).headers['x-cache']).toBe('MISS');
    expect((await t.gw.get('/v', fr)).headers['x-cache']).toBe('MISS');
    const [enHit, frHit] = [await t.gw.get('/v', en), await t.gw.get('/v', fr)];
    expect([enHit.headers['x-cache'], enHit.text, frHit.headers['x-cache'], frHit.text])
      .toEqual(['HIT', 'lang=en', 'HIT', 'lang=fr']);
    expect(t.origin.count()).toBe(2);
  });

  it('stores a gzip-encoded response under Vary: Accept-Encoding, apart from the identity one (3, 4.1)', async () => {
    const zlib = require('zlib');
    const text = 'compressible '.repeat(200);
    await start((req, res) => {
      const gzip = /gzip/.test(req.headers['accept-encoding'] || '');
      res.writeHead(200, dated({ 'Cache-Control': 'max-age=60', Vary: 'Accept-Encoding',
        ...(gzip ? { 'Content-Encoding': 'gzip' } : {}) })).end(gzip ? zlib.gzipSync(text) : text);
    });
    const gz = { headers: { 'Accept-Encoding': 'gzip' } };
    const plain = { headers: { 'Accept-Encoding': 'identity' } };
    await t.gw.get('/z', gz);
    await t.gw.get('/z', plain);
    const [gzHit, plainHit] = [await t.gw.get('/z', gz), await t.gw.get('/z', plain)];
    expect([gzHit.headers['x-cache'], gzHit.headers['content-encoding'], zlib.gunzipSync(gzHit.body).toString()])
      .toEqual(['HIT', 'gzip', text]);
    expect([plainHit.headers['x-cache'], plainHit.headers['content-encoding'], plainHit.text]).toEqual(['HIT', undefined, text]);
    expect(t.origin.count()).toBe(2);
  });
});

describe('invalidation by unsafe methods (RFC 9111 4.4)', () => {
  it('a successful POST removes the stored responses of its URL and of its Location', async () => {
    await start((req, res) => {
      if (req.method === 'POST') res.writeHead(201, { Location: '/items/7' }).end();
      else res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end(`${req.url} #${t.origin.count()}`);
    });
    await t.gw.get('/items');
    await t.gw.get('/items/7');
    expect((await t.gw.get('/items')).headers['x-cache']).toBe('HIT');
    const post = await t.gw.request('/items', { method: 'POST', body: '{}' });
    expect([post.status, post.headers['x-cache']]).toEqual([201, 'BYPASS']);
    expect((await t.gw.get('/items')).headers['x-cache']).toBe('MISS');
    expect((await t.gw.get('/items/7')).headers['x-cache']).toBe('MISS');
  });

  it('a failed DELETE leaves them', async () => {
    await start((req, res) => (req.method === 'DELETE' ? res.writeHead(500).end()
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('kept')));
    await t.gw.get('/d');
    await t.gw.request('/d', { method: 'DELETE' });
    expect((await t.gw.get('/d')).headers['x-cache']).toBe('HIT');
  });

  it('project rule (beside 4.4): cache.invalidatePath and cache.invalidateTags reach gateway entries', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('t'), { tags: ['users'] });
    await t.gw.get('/users/1');
    await t.gw.get('/users/2');
    expect(await t.cache.invalidatePath('/users/1')).toBe(1);
    expect((await t.gw.get('/users/1')).headers['x-cache']).toBe('MISS');
    expect(await t.cache.invalidateTags(['users'])).toBe(2);
    expect((await t.gw.get('/users/2')).headers['x-cache']).toBe('MISS');
  });
});

describe('stale responses (RFC 5861)', () => {
  it('stale-if-error (RFC 5861 4): serves the stale entry when the upstream answers 5xx or cannot be reached', async () => {
    let failing = false;
    await start((req, res) => (failing ? res.writeHead(500).end('down')
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=1, stale-if-error=60', ETag: '"s"' })).end('stale body')));
    await t.gw.get('/s');
    t.clock.advance(2000);
    failing = true;
    const on500 = await t.gw.get('/s');
    expect([on500.status, on500.headers['x-cache'], on500.text]).toEqual([200, 'STALE', 'stale body']);
    await t.origin.close();
    const unreachable = await t.gw.get('/s');
    expect([unreachable.status, unreachable.headers['x-cache'], unreachable.text]).toEqual([200, 'STALE', 'stale body']);
    t.origin = await startOrigin(); // for afterEach
  });

  it('without stale-if-error a stale entry is not served when the upstream fails (RFC 9111 4.2.4)', async () => {
    let failing = false;
    await start((req, res) => (failing ? res.writeHead(500).end('down')
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=1', ETag: '"s"' })).end('stale body')));
    await t.gw.get('/s');
    t.clock.advance(2000);
    failing = true;
    const reply = await t.gw.get('/s');
    expect([reply.status, reply.text]).toEqual([500, 'down']);
  });

  it('stale-while-revalidate (RFC 5861 3): answers stale at once and revalidates in the background', async () => {
    let body = 'v1';
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=1, stale-while-revalidate=60' })).end(body));
    await t.gw.get('/w');
    t.clock.advance(2000);
    body = 'v2';
    const background = new Promise((resolve) => t.origin.once('request', resolve));
    const stale = await t.gw.get('/w');
    expect([stale.headers['x-cache'], stale.text]).toEqual(['STALE', 'v1']);
    await background;
    // The refreshed entry lands in Redis once the background body is read: poll for it.
    const fresh = await waitFor(async () => {
      const reply = await t.gw.get('/w');
      return reply.text === 'v2' && reply;
    }, { what: 'the refreshed entry' });
    expect(fresh.headers['x-cache']).toBe('HIT');
    expect(t.origin.count()).toBe(2);
  });
});

describe('answers computed from storage (RFC 9111 4)', () => {
  beforeEach(async () => {
    await start((req, res) => res.writeHead(200, dated({
      'Cache-Control': 'max-age=60', ETag: '"e1"', 'Content-Type': 'text/plain',
    })).end('0123456789'));
    await t.gw.get('/f');
  });

  it('answers If-None-Match with 304 from the cache (RFC 9111 4.3.2)', async () => {
    const reply = await t.gw.get('/f', { headers: { 'If-None-Match': '"e1"' } });
    expect([reply.status, reply.headers['x-cache'], reply.headers.etag, reply.body.length]).toEqual([304, 'HIT', '"e1"', 0]);
    expect(t.origin.count()).toBe(1);
  });

  it('answers a Range request from the stored full response (RFC 9110 14.2, 14.4, 15.3.7, 15.5.17)', async () => {
    const reply = await t.gw.get('/f', { headers: { Range: 'bytes=2-4' } });
    expect([reply.status, reply.headers['content-range'], reply.text]).toEqual([206, 'bytes 2-4/10', '234']);
    const outside = await t.gw.get('/f', { headers: { Range: 'bytes=50-' } });
    expect([outside.status, outside.headers['content-range']]).toEqual([416, 'bytes */10']);
  });

  it('answers HEAD from the stored GET response, without a body (RFC 9110 9.3.2)', async () => {
    const reply = await t.gw.head('/f');
    expect([reply.status, reply.headers['x-cache'], reply.headers['content-length'], reply.body.length]).toEqual([200, 'HIT', '10', 0]);
    expect(t.origin.count()).toBe(1);
  });

  it('answers only-if-cached with 504 when nothing is stored (5.2.1.7)', async () => {
    const reply = await t.gw.get('/nothing', { headers: { 'Cache-Control': 'only-if-cached' } });
    expect(reply.status).toBe(504);
    expect((await t.gw.get('/f', { headers: { 'Cache-Control': 'only-if-cached' } })).status).toBe(200);
  });
});

describe('fields the response restricts (RFC 9111 5.2.2)', () => {
  it('does not store a response that says private (5.2.2.7)', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'private, max-age=60' })).end('p'));
    await t.gw.get('/p');
    expect((await t.gw.get('/p')).headers['x-cache']).toBe('MISS');
  });

  it('stores private="X-User" without that field (5.2.2.7), and sends no-cache="X-Secret" fields only after validation (5.2.2.4)', async () => {
    await start((req, res) => res.writeHead(200, dated({
      'Cache-Control': 'max-age=60, private="X-User", no-cache="X-Secret"', 'X-User': 'u1', 'X-Secret': 's',
    })).end('q'));
    const miss = await t.gw.get('/q');
    const hit = await t.gw.get('/q');
    expect([miss.headers['x-user'], miss.headers['x-secret']]).toEqual(['u1', 's']);
    expect([hit.headers['x-cache'], hit.headers['x-user'], hit.headers['x-secret']]).toEqual(['HIT', undefined, undefined]);
  });
});

describe('coalescing (RFC 9111 4; project rule: one upstream request per key)', () => {
  it('sends 20 concurrent cold requests upstream as one', async () => {
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await start((req, res) => held.then(() => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('one')));
    const agent = new http.Agent({ keepAlive: false, maxSockets: 50 });
    const arrived = new Promise((resolve) => t.origin.once('request', resolve));
    const replies = Promise.all(Array.from({ length: 20 }, () => t.gw.get('/cold', { agent })));
    await arrived;
    release();
    const all = await replies;
    agent.destroy();
    expect(all.every((r) => r.status === 200 && r.text === 'one')).toBe(true);
    expect(t.origin.count()).toBe(1);
  });

  it('once a URL answered no-store (5.2.2.5), sends its concurrent requests upstream together, not one at a time (project rule: hit-for-miss)', async () => {
    // After a first no-store answer, the origin answers only once 10 requests wait at the same
    // time: had the gateway queued them behind one leader, one would arrive and the test time out.
    const waiting = [];
    let seen = 0;
    await start((req, res) => {
      const answer = () => res.writeHead(200, dated({ 'Cache-Control': 'no-store' })).end('private');
      seen += 1;
      if (seen === 1) return answer();
      waiting.push(answer);
      if (waiting.length === 10) waiting.forEach((fn) => fn());
      return undefined;
    }, { coalesceTimeout: 60000 }); // longer than the test: followers queued behind a leader never give up
    expect((await t.gw.get('/never')).headers['x-cache']).toBe('MISS');
    const agent = new http.Agent({ keepAlive: false, maxSockets: 50 });
    const all = await Promise.all(Array.from({ length: 10 }, () => t.gw.get('/never', { agent })));
    agent.destroy();
    expect(all.map((r) => r.text)).toEqual(Array(10).fill('private'));
    expect(t.origin.count('/never')).toBe(11);
  });

  it('validates a stale entry for 20 concurrent requests with one conditional request (RFC 9111 4.3.1)', async () => {
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await start((req, res) => (req.headers['if-none-match'] === '"s"'
      ? held.then(() => res.writeHead(304, dated({ 'Cache-Control': 'max-age=60', ETag: '"s"' })).end())
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=1', ETag: '"s"' })).end('stored')));
    await t.gw.get('/stale');
    await waitFor(async () => (await t.gw.get('/stale')).headers['x-cache'] === 'HIT', { what: 'the entry stored' });
    t.clock.advance(2000);
    const agent = new http.Agent({ keepAlive: false, maxSockets: 50 });
    const arrived = new Promise((resolve) => t.origin.once('request', resolve));
    const replies = Promise.all(Array.from({ length: 20 }, () => t.gw.get('/stale', { agent })));
    await arrived;
    release();
    const all = await replies;
    agent.destroy();
    // Those that came after the validation ended found the entry fresh.
    expect(all.every((r) => r.status === 200 && r.text === 'stored' && ['REVALIDATED', 'HIT'].includes(r.headers['x-cache'])))
      .toBe(true);
    expect(t.origin.requests.map((r) => r.headers['if-none-match'] || null)).toEqual([null, '"s"']);
    expect((await t.gw.get('/stale')).headers['x-cache']).toBe('HIT');
  });
});

describe('project rule: store faults', () => {
  it('never become errors: with Redis unreachable every request goes upstream (BYPASS)', async () => {
    const { cache: broken } = await openCache({ redis: 'redis://127.0.0.1:1', commandTimeout: 200, connectTimeout: 200 },
      { waitReady: false });
    t.origin.handle = (req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('through');
    t.gw = await bareGateway(broken, t.origin.url);
    const first = await t.gw.get('/b');
    const second = await t.gw.get('/b');
    expect([first.status, first.headers['x-cache'], first.text]).toEqual([200, 'BYPASS', 'through']);
    expect([second.status, second.headers['x-cache']]).toEqual([200, 'BYPASS']);
  });
});

describe('coalescing across gateway instances (RFC 9111 4; project rule: one upstream request per key across instances)', () => {
  it('has two caches on one Redis (each with its own in-process table) send 20 cold requests upstream as one', async () => {
    // On the test's clock, like the first cache: on the real one the entry's times would mean another thing to each.
    const { cache: other } = await openCache(withClock({ redis: t.redis.url, commandTimeout: 1000 }, t.clock));
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await start((req, res) => held.then(() => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('shared')));
    const second = await bareGateway(other, t.origin.url);
    const agent = new http.Agent({ keepAlive: false, maxSockets: 50 });
    const arrived = new Promise((resolve) => t.origin.once('request', resolve));
    // One Host for both, as behind a load balancer: it is part of the key (X-Forwarded-Host).
    const headers = { Host: 'gateway.example' };
    const replies = Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? second : t.gw).get('/x-cold', { agent, headers })));
    await arrived;
    // Both instances have a leader in flight (no event tells): the other one waits on the Redis fill lock.
    const leading = (c) => [...c._inflight.table.keys()].some((name) => name.startsWith('e:'));
    await waitFor(() => leading(t.cache) && leading(other), { what: 'a leader in each instance' });
    release();
    const all = await replies;
    agent.destroy();
    await second.close();
    expect(all.every((r) => r.status === 200 && r.text === 'shared')).toBe(true);
    expect(t.origin.count()).toBe(1);
  });

  it('has two caches on one Redis validate a stale entry for 20 concurrent requests with one conditional request (RFC 9111 4.3.1)', async () => {
    const { cache: other } = await openCache(withClock({ redis: t.redis.url, commandTimeout: 1000 }, t.clock));
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await start((req, res) => (req.headers['if-none-match'] === '"x"'
      ? held.then(() => res.writeHead(304, dated({ 'Cache-Control': 'max-age=60', ETag: '"x"' })).end())
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=1', ETag: '"x"' })).end('shared')));
    const second = await bareGateway(other, t.origin.url);
    // One Host for both, as behind a load balancer: it is part of the key (X-Forwarded-Host).
    const headers = { Host: 'gateway.example' };
    await t.gw.get('/x-stale', { headers });
    await waitFor(async () => (await second.get('/x-stale', { headers })).headers['x-cache'] === 'HIT', { what: 'the entry stored' });
    t.clock.advance(2000);
    const agent = new http.Agent({ keepAlive: false, maxSockets: 50 });
    const arrived = new Promise((resolve) => t.origin.once('request', resolve));
    const replies = Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? second : t.gw).get('/x-stale', { agent, headers })));
    await arrived;
    const leading = (c) => [...c._inflight.table.keys()].some((name) => name.startsWith('e:'));
    try {
      await waitFor(() => leading(t.cache) && leading(other), { what: 'a leader in each instance' });
    } finally {
      release();
    }
    const all = await replies;
    agent.destroy();
    await second.close();
    expect(all.every((r) => r.status === 200 && r.text === 'shared' && ['REVALIDATED', 'HIT'].includes(r.headers['x-cache'])))
      .toBe(true);
    expect(t.origin.requests.map((r) => r.headers['if-none-match'] || null)).toEqual([null, '"x"']);
  });
});

describe('requests with Cookie (project rule extending RFC 9111 3.5: the gateway key does not tell users apart)', () => {
  it('does not store a response to a request with Cookie unless it says public', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': req.url === '/pub' ? 'public, max-age=60' : 'max-age=60' }))
      .end(`for ${req.headers.cookie || 'nobody'}`));
    const cookie = { headers: { cookie: 'session=alice' } };
    expect((await t.gw.get('/own', cookie)).text).toBe('for session=alice');
    const other = await t.gw.get('/own');
    expect([other.headers['x-cache'], other.text]).toEqual(['MISS', 'for nobody']);
    await t.gw.get('/pub', cookie);
    expect((await t.gw.get('/pub')).headers['x-cache']).toBe('HIT');
  });
});
