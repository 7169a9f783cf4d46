'use strict';

// SharedCache.handle(request) with the per-call overrides cache.fetch passes: `request.ttl`
// (seconds) overrides the freshness lifetime of what the exchange stores, as a numeric `ttl`
// option does, and `request.tags` are added to the stored entry's tags.
const { readAll } = require('../../lib/gateway/engine-answer');
const { gatewaySuite } = require('./proxy-fixtures');
const { onGatewayStore } = require('../helpers/internals');
const { formatHttpDate } = require('../../lib/http/http-date');

const t = gatewaySuite();
let proxy = null;

afterEach(async () => {
  if (proxy) await proxy.close();
  proxy = null;
});

/** Headers of an origin response dated by the test's clock. */
const dated = (headers) => ({ Date: formatHttpDate(t.clock.now()), ...headers });

// The store writes the engine finished, per path, not yet awaited by stored(); and stored()'s
// waits for the next one.
let writes = new Map();
let waiting = new Map();

function engineFor(handle, options) {
  t.origin.handle = handle;
  proxy = t.cache.proxy(t.origin.url, options);
  writes = new Map();
  waiting = new Map();
  onGatewayStore(proxy.engine, (url, ok) => {
    const path = new URL(url).pathname;
    const wake = waiting.get(path);
    if (wake !== undefined) {
      waiting.delete(path);
      wake(ok);
    } else {
      writes.set(path, [...(writes.get(path) || []), ok]);
    }
  });
  return proxy.engine;
}

/** One exchange through the engine, its body read in full. */
async function exchange(engine, path, extra = {}) {
  const answer = await engine.handle({ method: 'GET', url: t.origin.url + path, headers: {}, body: null, ...extra });
  const body = Buffer.isBuffer(answer.body) ? answer.body : await readAll(answer.body, Infinity);
  return { status: answer.status, cacheStatus: answer.cacheStatus, text: body.toString() };
}

/**
 * Waits for the store write of the last exchange of `path` that stores (it follows the body),
 * then exchanges once more: the reply, answered from storage.
 */
async function stored(engine, path, extra) {
  const done = writes.get(path) || [];
  const ok = done.length > 0 ? done.shift() : await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${path} was never stored`)), 10000);
    waiting.set(path, (result) => {
      clearTimeout(timer);
      resolve(result);
    });
  });
  if (!ok) throw new Error(`the store refused ${path}`);
  const count = t.origin.count();
  const reply = await exchange(engine, path, extra);
  if (t.origin.count() !== count) throw new Error(`${path} was stored, yet its next exchange went upstream`);
  return reply;
}

describe('project rule: when a request has a "ttl" (it overrides the RFC 9111 4.2.1 freshness lifetime)', () => {
  it('stores a response without freshness information for that many seconds', async () => {
    const engine = engineFor((req, res) => res.writeHead(200, dated({ 'Content-Type': 'text/plain' })).end('plain'));
    expect((await exchange(engine, '/p', { ttl: 30 })).cacheStatus).toBe('MISS');
    expect((await stored(engine, '/p')).cacheStatus).toBe('HIT');
    t.clock.advance(29000);
    expect((await exchange(engine, '/p')).cacheStatus).toBe('HIT');
    t.clock.advance(2000);
    expect((await exchange(engine, '/p')).cacheStatus).toBe('MISS');
  });

  it('overrides the upstream\'s max-age and the "ttl" option', async () => {
    const engine = engineFor((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=600' })).end('m'), { ttl: 300 });
    await exchange(engine, '/m', { ttl: 5 });
    await stored(engine, '/m');
    t.clock.advance(6000);
    expect((await exchange(engine, '/m')).cacheStatus).toBe('MISS');
  });

  it('null keeps the HTTP rules (RFC 9111 4.2.1)', async () => {
    const engine = engineFor((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('h'));
    await exchange(engine, '/h', { ttl: null });
    await stored(engine, '/h');
    t.clock.advance(59000);
    expect((await exchange(engine, '/h')).cacheStatus).toBe('HIT');
    t.clock.advance(2000);
    expect((await exchange(engine, '/h')).cacheStatus).toBe('MISS');
  });

  it('applies to the entry a 304 refreshes (RFC 9111 4.3.4)', async () => {
    const engine = engineFor((req, res) => (req.headers['if-none-match'] === '"r"'
      ? res.writeHead(304, dated({ ETag: '"r"', 'Cache-Control': 'max-age=1' })).end()
      : res.writeHead(200, dated({ ETag: '"r"', 'Cache-Control': 'max-age=1' })).end('r')));
    await exchange(engine, '/r');
    await stored(engine, '/r');
    t.clock.advance(2000);
    const revalidated = await exchange(engine, '/r', { ttl: 100 });
    expect([revalidated.cacheStatus, revalidated.text]).toEqual(['REVALIDATED', 'r']);
    await stored(engine, '/r');
    t.clock.advance(50000);
    expect((await exchange(engine, '/r')).cacheStatus).toBe('HIT');
  });

  it.each([[0], [-1], ['60'], [Infinity], [NaN]])('rejects %p with a TypeError naming "ttl"', async (ttl) => {
    const engine = engineFor((req, res) => res.end('x'));
    await expect(engine.handle({ method: 'GET', url: `${t.origin.url}/x`, headers: {}, body: null, ttl }))
      .rejects.toThrow(/"ttl"/);
    expect(t.origin.count()).toBe(0);
  });
});

describe('project rule: when a request has "tags"', () => {
  it('adds them to the stored entry\'s tags, beside the "tags" option\'s', async () => {
    const engine = engineFor((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('t'),
      { tags: ['gateway'] });
    await exchange(engine, '/t/1', { tags: ['user:1', 'users'] });
    await exchange(engine, '/t/2', { tags: ['user:2', 'users'] });
    await stored(engine, '/t/1');
    await stored(engine, '/t/2');
    expect(await t.cache.invalidateTags(['user:1'])).toBe(1);
    expect((await exchange(engine, '/t/1')).cacheStatus).toBe('MISS');
    expect((await exchange(engine, '/t/2')).cacheStatus).toBe('HIT');
    await stored(engine, '/t/1');
    expect(await t.cache.invalidateTags(['gateway'])).toBe(2);
  });

  it('works with a "tags" function option and without a "tags" option', async () => {
    const engine = engineFor((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('f'),
      { tags: (req) => [`path:${new URL(req.url).pathname}`] });
    await exchange(engine, '/f', { tags: ['own'] });
    await stored(engine, '/f');
    expect(await t.cache.invalidateTags(['own'])).toBe(1);
    await exchange(engine, '/f', { tags: ['own'] });
    await stored(engine, '/f');
    expect(await t.cache.invalidateTags(['path:/f'])).toBe(1);
    await proxy.close();
    const bare = engineFor((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('b'));
    await exchange(bare, '/b', { tags: ['bare'] });
    await stored(bare, '/b');
    expect(await t.cache.invalidateTags(['bare'])).toBe(1);
  });

  it('rejects tags that are not an array of non-empty strings with a TypeError naming "tags"', async () => {
    const engine = engineFor((req, res) => res.end('x'));
    await expect(engine.handle({ method: 'GET', url: `${t.origin.url}/x`, headers: {}, body: null, tags: 'users' }))
      .rejects.toThrow(TypeError);
    await expect(engine.handle({ method: 'GET', url: `${t.origin.url}/x`, headers: {}, body: null, tags: [''] }))
      .rejects.toThrow(/"tags"/);
  });
});
