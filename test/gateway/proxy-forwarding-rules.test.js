'use strict';

// cache.proxy(): what a gateway may and may not change when it forwards (the request target, RFC
// 9110 7.7; Via, 7.6.3; Forwarded, RFC 7239, and the de facto X-Forwarded-*), what the cache key
// must hold so that one client cannot choose what another is answered (RFC 9111 4), and options
// that only narrow RFC 9111 (the "ttl" option caps freshness, RFC 9111 3 and 4.2).
const { bareGateway, expressGateway, gatewaySuite } = require('./proxy-fixtures');
const { waitFor } = require('../helpers/cache');
const { formatHttpDate } = require('../../lib/http/http-date');

const t = gatewaySuite();

const dated = (headers) => ({ Date: formatHttpDate(t.clock.now()), ...headers });

/** An origin that stores for a minute and answers with what it was sent: the target, or a field. */
const echo = (what = (req) => req.url) => (req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end(what(req));

/** Requests `path` until it is answered from storage (the store write follows the body). */
async function stored(path, opts, cacheStatus = 'HIT') {
  let reply;
  await waitFor(async () => {
    reply = await t.gw.get(path, opts);
    return reply.headers['x-cache'] === cacheStatus;
  }, { what: `${path} answered ${cacheStatus}` });
  return reply;
}

/**
 * Returns once the store writes of the requests answered so far are done: a fresh response to a
 * new path, requested after them, is stored after them.
 */
let probes = 0;
async function settled() {
  const path = `/settled-${++probes}`;
  const handle = t.origin.handle;
  t.origin.handle = (req, res) => (req.url === path ? echo()(req, res) : handle(req, res));
  await t.gw.get(path);
  await stored(path);
  t.origin.handle = handle;
}

describe('RFC 9110 7.7: the request target is forwarded as sent', () => {
  const targets = ['/q/{id}', '/q/a"b', '/q/a`b', "/z?q=a'b", '/r?x=%7e', '/r?x=~', '//double', '/a|b^c', '/a..b/.c',
    '/q?next=../x', '/p;v=1/..x;y/z.;..'];

  it.each(targets)('sends %s upstream byte for byte', async (path) => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url);
    const reply = await t.gw.get(path);
    expect([reply.status, reply.text]).toEqual([200, path]);
  });

  it('joins the upstream\'s path prefix and the path below an Express mount, and nothing else', async () => {
    t.origin.handle = echo();
    t.gw = await expressGateway(t.cache, `${t.origin.url}/v2`);
    expect((await t.gw.get('/api/x/.y')).text).toBe('/v2/x/.y');
    expect((await t.gw.get('/api/q/{id}?a=%7e')).text).toBe('/v2/q/{id}?a=%7e');
    expect((await t.gw.get('/api?x')).text).toBe('/v2?x');
    expect((await t.gw.get('/API/Case')).text).toBe('/v2/Case'); // Express mounts ignore case
  });

  it('keys by the target as sent: /r?x=%7e and /r?x=~ are two entries', async () => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url);
    const escaped = await t.gw.get('/r?x=%7e');
    await stored('/r?x=%7e');
    const plain = await t.gw.get('/r?x=~');
    expect([escaped.headers['x-cache'], plain.headers['x-cache'], plain.text]).toEqual(['MISS', 'MISS', '/r?x=~']);
  });

  it.each(['/x/./y', '/x/../y', '/..', '/x/%2e%2E/y', '/x/.%2e', '/x%2f..%2fy', '/x/..%5cy',
    '/x/..;/y', '/x/..;x=1/y', '/x/.;p/y', '/x/%2e%2e%3bx/y', '/x/..%3B/y', '/x%2f..;%5cy'])(
    'answers 400 to the dot segments of %s, which the upstream would resolve past the mount (RFC 3986 5.2.4)', async (path) => {
      t.origin.handle = echo();
      t.gw = await bareGateway(t.cache, t.origin.url);
      const reply = await t.gw.get(path);
      expect([reply.status, t.origin.count()]).toEqual([400, 0]);
    });

  it('does not let "/public/../private/x" through a proxy mounted at /public reach the upstream\'s /private', async () => {
    t.origin.handle = echo();
    t.gw = await expressGateway(t.cache, t.origin.url);
    const reply = await t.gw.get('/api/../private/x');
    expect([reply.status, t.origin.count()]).toEqual([400, 0]);
    expect((await t.gw.get('/api/public/x')).text).toBe('/public/x');
  });

  it('invalidates a target by an unsafe request to it as sent (RFC 9111 4.4)', async () => {
    t.origin.handle = (req, res) => (req.method === 'GET' ? echo()(req, res) : res.writeHead(204).end());
    t.gw = await bareGateway(t.cache, t.origin.url);
    for (const path of ['/q/{id}', '/x/y?a=%7e']) {
      await t.gw.get(path);
      await stored(path);
      await t.gw.request(path, { method: 'DELETE' });
      expect((await t.gw.get(path)).headers['x-cache']).toBe('MISS');
    }
  });

  it('sends an absolute-form target\'s path and query, "/" when it has no path (RFC 9112 3.2.1)', async () => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url);
    expect((await t.gw.get('http://elsewhere.example/abs/p?q={1}')).text).toBe('/abs/p?q={1}');
    expect((await t.gw.get('http://elsewhere.example?q')).text).toBe('/?q');
  });

  it.each([
    ['OPTIONS', '*'],
    ['GET', 'ftp://files.example/x'],
  ])('answers 400 to %s %s, which it cannot forward, and goes on serving', async (method, target) => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url);
    const reply = await t.gw.request(target, { method });
    expect([reply.status, reply.headers['x-cache'], t.origin.count()]).toEqual([400, 'MISS', 0]);
    expect((await t.gw.get('/after')).text).toBe('/after');
  });

  it('answers 400 to "*" under an Express mount too', async () => {
    t.gw = await expressGateway(t.cache, t.origin.url, undefined, '/');
    const reply = await t.gw.request('*', { method: 'OPTIONS' });
    expect([reply.status, t.origin.count()]).toEqual([400, 0]);
  });
});

/** The forwarded fields a client may send, with values an attacker would choose. */
const SPOOFED = {
  Forwarded: 'for=192.0.2.1;host=evil.example;proto=https',
  'X-Forwarded-Host': 'evil.example',
  'X-Forwarded-Proto': 'https',
  'X-Forwarded-Port': '8443',
  'X-Forwarded-Prefix': '/phish',
  'X-Forwarded-Server': 'evil',
  'X-Forwarded-Scheme': 'javascript',
  'X-Forwarded-Ssl': 'on',
  'Front-End-Https': 'on',
  'X-Url-Scheme': 'javascript',
  'X-Original-Host': 'evil.example',
  'X-Host': 'evil.example',
  'X-Original-URL': '/admin',
  'X-Rewrite-URL': '/admin',
  'X-Forwarded-Uri': '/admin',
  'X-Forwarded-Path': '/admin',
};
const SPOOFED_NAMES = Object.keys(SPOOFED);

/** What the upstream saw of the forwarded fields (those not sent left out). */
const forwardedSeen = (headers) => Object.fromEntries(SPOOFED_NAMES.map((name) => [name, headers[name.toLowerCase()]])
  .filter(([, value]) => value !== undefined));

/** An upstream that builds a link from the forwarded fields, as Spring's ForwardedHeaderFilter does. */
const linking = (req) => {
  const forwarded = /host=([^;,\s]+)/.exec(req.headers.forwarded || '');
  const host = forwarded ? forwarded[1] : req.headers['x-forwarded-host'];
  return `https://${host}${req.headers['x-forwarded-prefix'] || ''}/login`;
};

describe('RFC 7239 Forwarded: a client\'s is passed on only with trustForwarded', () => {
  it('removes the client\'s Forwarded by default: a response built from it is never served to another client', async () => {
    t.origin.handle = echo(linking);
    t.gw = await bareGateway(t.cache, t.origin.url);
    const attacker = await t.gw.get('/page', { headers: { Forwarded: 'host=evil.example', 'X-Forwarded-Prefix': '/phish' } });
    const victim = await stored('/page');
    expect(t.origin.requests[0].headers.forwarded).toBeUndefined();
    expect([attacker.text, victim.text]).toEqual([`https://127.0.0.1:${t.gw.port}/login`, `https://127.0.0.1:${t.gw.port}/login`]);
  });

  it('with trustForwarded passes the Forwarded it received on as it is, and keys by it', async () => {
    t.origin.handle = echo(linking);
    t.gw = await bareGateway(t.cache, t.origin.url, { trustForwarded: true });
    const a = { headers: { Forwarded: 'host=a.example;proto=https' } };
    await t.gw.get('/page', a);
    await stored('/page', a);
    const b = await t.gw.get('/page', { headers: { Forwarded: 'host=b.example;proto=https' } });
    expect(t.origin.requests.map((r) => r.headers.forwarded)).toEqual(['host=a.example;proto=https', 'host=b.example;proto=https']);
    expect([b.headers['x-cache'], b.text]).toEqual(['MISS', 'https://b.example/login']);
    expect((await t.gw.get('/page', a)).text).toBe('https://a.example/login');
  });
});

describe('de facto X-Forwarded-*: the gateway\'s own unless trustForwarded, X-Forwarded-For appended', () => {
  it('removes the client\'s other forwarded fields (-Port, -Prefix, -Scheme, X-Original-URL...) by default, and replaces its X-Forwarded-Host and -Proto', async () => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url);
    await t.gw.get('/x', { headers: { ...SPOOFED, 'X-Forwarded-For': '10.0.0.1' } });
    const seen = t.origin.requests[0].headers;
    expect(forwardedSeen(seen)).toEqual({ 'X-Forwarded-Host': `127.0.0.1:${t.gw.port}`, 'X-Forwarded-Proto': 'http' });
    expect(seen['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
  });

  it('with trustForwarded passes the client\'s X-Forwarded-* (and Forwarded) on as they are, and appends to X-Forwarded-For', async () => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url, { trustForwarded: true });
    await t.gw.get('/x', { headers: { ...SPOOFED, 'X-Forwarded-For': '10.0.0.1' } });
    const seen = t.origin.requests[0].headers;
    expect([forwardedSeen(seen), seen['x-forwarded-for']]).toEqual([SPOOFED, '10.0.0.1, 127.0.0.1']);
  });

  it('with trustForwarded sets X-Forwarded-Host / -Proto itself when the client sent none', async () => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url, { trustForwarded: true });
    await t.gw.get('/x', { headers: { 'X-Forwarded-Proto': 'https' } });
    await t.gw.get('/y', { headers: { Host: 'lb.example' } });
    expect(t.origin.requests.map((r) => forwardedSeen(r.headers))).toEqual([
      { 'X-Forwarded-Host': `127.0.0.1:${t.gw.port}`, 'X-Forwarded-Proto': 'https' },
      { 'X-Forwarded-Host': 'lb.example', 'X-Forwarded-Proto': 'http' },
    ]);
  });

  it.each([
    [{ trustForwarded: 'yes' }, /^Expected the "trustForwarded" option of cache\.proxy\(\) to be true or false, got string$/],
    [{ trustForwarded: 1 }, /^Expected the "trustForwarded" option of cache\.proxy\(\) to be true or false, got 1$/],
    [{ trustForwarded: true, xForwarded: false }, /^Expected the "trustForwarded" option of cache\.proxy\(\) to be false when "xForwarded" is false/],
  ])('refuses %j with a TypeError naming "trustForwarded"', (options, message) => {
    expect(() => t.cache.proxy(t.origin.url, options)).toThrow(TypeError);
    expect(() => t.cache.proxy(t.origin.url, options)).toThrow(message);
  });

  it('with xForwarded: false sends none of them (not the client\'s either) and no X-Forwarded-For', async () => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url, { xForwarded: false, trustForwarded: false });
    await t.gw.get('/plain', { headers: { ...SPOOFED, 'X-Forwarded-For': '10.0.0.1' } });
    const seen = t.origin.requests[0].headers;
    expect([forwardedSeen(seen), seen['x-forwarded-for']]).toEqual([{}, undefined]);
  });
});

describe('RFC 9111 4 cache key: no cache poisoning through the forwarded fields (Forwarded, X-Forwarded-*)', () => {
  const forwarded = (req) => `${req.headers['x-forwarded-proto']}://${req.headers['x-forwarded-host']}`;

  it('sends the Host and protocol the gateway received, not the client\'s X-Forwarded-*', async () => {
    t.origin.handle = echo(forwarded);
    t.gw = await bareGateway(t.cache, t.origin.url);
    const attacker = await t.gw.get('/home', { headers: { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' } });
    const victim = await stored('/home');
    expect(attacker.text).toBe(`http://127.0.0.1:${t.gw.port}`);
    expect(victim.text).toBe(`http://127.0.0.1:${t.gw.port}`);
    expect(t.origin.requests[0].headers['x-forwarded-host']).toBe(`127.0.0.1:${t.gw.port}`);
  });

  it('stores one response per Host: another Host is another entry', async () => {
    t.origin.handle = echo(forwarded);
    t.gw = await bareGateway(t.cache, t.origin.url);
    const a = { headers: { Host: 'a.example' } };
    const b = { headers: { Host: 'b.example' } };
    await t.gw.get('/page', a);
    await stored('/page', a);
    const other = await t.gw.get('/page', b);
    await stored('/page', b);
    const again = await t.gw.get('/page', a);
    expect([other.headers['x-cache'], other.text]).toEqual(['MISS', 'http://b.example']);
    expect([again.headers['x-cache'], again.text]).toEqual(['HIT', 'http://a.example']);
  });

  it.each(SPOOFED_NAMES)('with trustForwarded keys by %s as sent: another value, or none, is another entry', async (name) => {
    t.origin.handle = echo((req) => String(req.headers[name.toLowerCase()]));
    t.gw = await bareGateway(t.cache, t.origin.url, { trustForwarded: true });
    const first = { headers: { [name]: SPOOFED[name] } };
    await t.gw.get('/page', first);
    await stored('/page', first);
    const other = await t.gw.get('/page', { headers: { [name]: `${SPOOFED[name]}2` } });
    const none = await t.gw.get('/page');
    expect([other.headers['x-cache'], other.text]).toEqual(['MISS', `${SPOOFED[name]}2`]);
    expect(none.headers['x-cache']).toBe('MISS');
    expect((await t.gw.get('/page', first)).text).toBe(SPOOFED[name]);
  });

  it.each([
    ['every Host', {}, 'Host', ['a.example', 'b.example', 'c.example']],
    ['every X-Forwarded-Prefix (trustForwarded)', { trustForwarded: true }, 'X-Forwarded-Prefix', ['/a', '/b', '/c']],
  ])('invalidates the entries of %s by URL: an unsafe request, invalidatePath', async (_, options, name, values) => {
    t.origin.handle = (req, res) => (req.method === 'GET' ? echo(linking)(req, res) : res.writeHead(204).end());
    t.gw = await bareGateway(t.cache, t.origin.url, options);
    const variants = values.slice(0, 2).map((value) => ({ headers: { [name]: value } }));
    const fill = async () => {
      for (const v of variants) {
        await t.gw.get('/item', v);
        await stored('/item', v);
      }
    };
    await fill();
    await t.gw.request('/item', { method: 'PUT', headers: { [name]: values[2] }, body: 'x' });
    for (const v of variants) expect((await t.gw.get('/item', v)).headers['x-cache']).toBe('MISS');
    await fill();
    expect(await t.cache.invalidatePath('/item')).toBeGreaterThanOrEqual(2);
    for (const v of variants) expect((await t.gw.get('/item', v)).headers['x-cache']).toBe('MISS');
  });

  it('with xForwarded: false sends no X-Forwarded-* (not even the client\'s) and keys by the URL alone', async () => {
    t.origin.handle = echo(forwarded);
    t.gw = await bareGateway(t.cache, t.origin.url, { xForwarded: false });
    const spoof = { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '10.0.0.1' };
    await t.gw.get('/plain', { headers: { Host: 'a.example', ...spoof } });
    const hit = await stored('/plain', { headers: { Host: 'b.example' } });
    const seen = t.origin.requests[0].headers;
    expect([seen['x-forwarded-host'], seen['x-forwarded-proto'], seen['x-forwarded-for']]).toEqual([undefined, undefined, undefined]);
    expect(hit.text).toBe('undefined://undefined');
  });
});

describe('RFC 9110 7.6.3: a proxy sends Via', () => {
  it('refuses via: false with a TypeError naming "via"', () => {
    expect(() => t.cache.proxy(t.origin.url, { via: false })).toThrow(TypeError);
    expect(() => t.cache.proxy(t.origin.url, { via: false })).toThrow(/"via"/);
  });

  it('sends "1.1 respcache" for via: true, "1.1 <pseudonym>" for a string', async () => {
    t.gw = await bareGateway(t.cache, t.origin.url, { via: true });
    await t.gw.get('/v');
    await t.gw.close();
    t.gw = await bareGateway(t.cache, t.origin.url, { via: 'edge-2' });
    await t.gw.get('/v');
    expect(t.origin.requests.map((r) => r.headers.via)).toEqual(['1.1 respcache', '1.1 edge-2']);
  });

  it('cache.fetch(), a client, sends no Via and no X-Forwarded-*', async () => {
    await (await t.cache.fetch(`${t.origin.url}/client`)).text();
    const seen = t.origin.requests[0].headers;
    expect([seen.via, seen['x-forwarded-for'], seen['x-forwarded-host']]).toEqual([undefined, undefined, undefined]);
  });
});

describe('options only narrow RFC 9111: the "ttl" option caps freshness (RFC 9111 3, 4.2)', () => {
  /** An origin with one ETag: a 304 to its If-None-Match, else a 200 with the body 'v'. */
  const validating = (etag, cacheControl, notModifiedCacheControl = cacheControl) => (req, res) => (req.headers['if-none-match'] === etag
    ? res.writeHead(304, dated({ ETag: etag, 'Cache-Control': notModifiedCacheControl })).end()
    : res.writeHead(200, dated({ ETag: etag, 'Cache-Control': cacheControl })).end('v'));

  it.each([
    ['max-age=0', { 'Cache-Control': 'max-age=0' }],
    ['s-maxage=0, max-age=600', { 'Cache-Control': 's-maxage=0, max-age=600' }],
    ['max-age=0, must-revalidate', { 'Cache-Control': 'max-age=0, must-revalidate' }],
    ['Expires: 0', { Expires: '0' }],
    ['Expires before Date', { Expires: formatHttpDate(Date.parse('2000-01-01T00:00:00Z')) }],
  ])('keeps a response with %s stale: it is not served from storage', async (_, headers) => {
    t.origin.handle = (req, res) => res.writeHead(200, dated(headers)).end('s');
    t.gw = await bareGateway(t.cache, t.origin.url, { ttl: 60 });
    await t.gw.get('/s');
    await settled();
    const second = await t.gw.get('/s');
    expect([second.headers['x-cache'], t.origin.count('/s')]).toEqual(['MISS', 2]);
  });

  it.each([
    ['shortens max-age=600 to the 60 s of ttl', 'max-age=600', 60],
    ['leaves max-age=30 as it is', 'max-age=30', 30],
  ])('%s', async (_, cacheControl, freshSeconds) => {
    t.origin.handle = (req, res) => res.writeHead(200, dated({ 'Cache-Control': cacheControl })).end('l');
    t.gw = await bareGateway(t.cache, t.origin.url, { ttl: 60 });
    await t.gw.get('/l');
    await stored('/l');
    t.clock.advance(freshSeconds * 1000 - 1000);
    expect((await t.gw.get('/l')).headers['x-cache']).toBe('HIT');
    t.clock.advance(2000);
    expect((await t.gw.get('/l')).headers['x-cache']).toBe('MISS');
  });

  it('keeps an entry a 304 refreshed with max-age=0 stale (RFC 9111 4.3.4)', async () => {
    t.origin.handle = validating('"r"', 'max-age=1', 'max-age=0');
    t.gw = await bareGateway(t.cache, t.origin.url, { ttl: 60 });
    await t.gw.get('/r');
    await stored('/r');
    t.clock.advance(2000);
    expect((await t.gw.get('/r')).headers['x-cache']).toBe('REVALIDATED');
    await settled();
    expect((await t.gw.get('/r')).headers['x-cache']).toBe('REVALIDATED');
  });

  it('revalidates a stale response with a validator as HTTP says (RFC 9111 4.3)', async () => {
    t.origin.handle = validating('"e"', 'no-cache');
    t.gw = await bareGateway(t.cache, t.origin.url, { ttl: 60 });
    await t.gw.get('/e');
    const second = await stored('/e', undefined, 'REVALIDATED');
    expect([second.text, t.origin.requests.at(-1).headers['if-none-match']]).toEqual(['v', '"e"']);
  });
});
