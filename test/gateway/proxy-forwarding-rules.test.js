'use strict';

// cache.proxy(): what a gateway may and may not change when it forwards (the request target, RFC
// 9110 7.7).
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
  const targets = ['/x/./y', '/x/../y2', '/q/{id}', '/q/a"b', '/q/a`b', "/z?q=a'b", '/r?x=%7e', '/r?x=~', '//double', '/a|b^c'];

  it.each(targets)('sends %s upstream byte for byte', async (path) => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url);
    const reply = await t.gw.get(path);
    expect([reply.status, reply.text]).toEqual([200, path]);
  });

  it('joins the upstream\'s path prefix and the path below an Express mount, and nothing else', async () => {
    t.origin.handle = echo();
    t.gw = await expressGateway(t.cache, `${t.origin.url}/v2`);
    expect((await t.gw.get('/api/x/./y')).text).toBe('/v2/x/./y');
    expect((await t.gw.get('/api/q/{id}?a=%7e')).text).toBe('/v2/q/{id}?a=%7e');
    expect((await t.gw.get('/api?x')).text).toBe('/v2?x');
    expect((await t.gw.get('/API/Case')).text).toBe('/v2/Case'); // Express mounts ignore case
  });

  it('keys by the target as sent: /x/./y and /x/y are two entries', async () => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url);
    await t.gw.get('/x/y');
    await stored('/x/y');
    const dotted = await t.gw.get('/x/./y');
    const escaped = await t.gw.get('/r?x=%7e');
    await stored('/r?x=%7e');
    const plain = await t.gw.get('/r?x=~');
    expect([dotted.headers['x-cache'], dotted.text]).toEqual(['MISS', '/x/./y']);
    expect([escaped.headers['x-cache'], plain.headers['x-cache'], plain.text]).toEqual(['MISS', 'MISS', '/r?x=~']);
  });

  it('invalidates a target by an unsafe request to it as sent (RFC 9111 4.4)', async () => {
    t.origin.handle = (req, res) => (req.method === 'GET' ? echo()(req, res) : res.writeHead(204).end());
    t.gw = await bareGateway(t.cache, t.origin.url);
    for (const path of ['/q/{id}', '/x/./y']) {
      await t.gw.get(path);
      await stored(path);
      await t.gw.request(path, { method: 'DELETE' });
      expect((await t.gw.get(path)).headers['x-cache']).toBe('MISS');
    }
  });

  it('sends an absolute-form target\'s path and query, "/" when it has no path (RFC 9112 3.2.1)', async () => {
    t.origin.handle = echo();
    t.gw = await bareGateway(t.cache, t.origin.url);
    expect((await t.gw.get('http://elsewhere.example/abs/./p?q={1}')).text).toBe('/abs/./p?q={1}');
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
