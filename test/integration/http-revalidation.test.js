'use strict';

// ttl: 'http' routes revalidate (RFC 9111 4.3): a stale entry, or one stored with
// Cache-Control: no-cache, has the handler run with the entry's validators as its conditions
// (4.3.1); a 304 from the handler refreshes the stored headers and lifetime and keeps the body
// (4.3.3, 4.3.4, 3.2); the client gets the stored body, or its own 304 when its conditions match
// (4.3.2). On a MISS the handler still never sees the client's conditions. The cache's clock is a
// fake one that only the test moves; Redis keeps entries on real time, so stale ones stay there,
// unless the test ages them with it (t.elapse): then an entry is there once stale only if the
// route kept it (retainStale, a day by default for an entry with a validator, or a stale window).
const { clockedRoute } = require('../helpers/clocked-route');
const { lookup } = require('../helpers/internals');
const { once, entryKey } = require('../helpers/cache');
const { headerOf } = require('../../lib/http/validators');
const { formatHttpDate } = require('../../lib/http/http-date');

const SECOND = 1000;
const DAY = 86400 * SECOND;
const START = Date.UTC(2031, 0, 7, 12, 0, 0);

const t = clockedRoute({ start: START });
const route = (options, handler, cacheOptions) => t.route({ ttl: 'http', ...options }, handler, cacheOptions);
const get = (headers) => t.get(headers);
/** The conditions each handler run saw. */
const conditions = () => t.seen.map((h) => ({ ifNoneMatch: h['if-none-match'], ifModifiedSince: h['if-modified-since'] }));
const summary = (reply) => [reply.status, reply.headers['x-cache'], reply.text];
/** How long Redis still keeps the route's entry (ms; -2 when it holds none). */
const entryPttl = () => t.redis.client().pttl(entryKey('k'));

/**
 * An origin-like handler: ETag "v1" on body "one" with `cacheControl`; a request whose
 * If-None-Match names "v1" gets a bare 304 with `refresh` headers, or the next `bodies` entry.
 */
function validating(cacheControl, refresh = {}) {
  return (req, res, n) => {
    if (req.headers['if-none-match'] === '"v1"') return res.status(304).set({ 'X-Run': String(n), ...refresh }).end();
    return res.set({ ETag: '"v1"', 'Cache-Control': cacheControl, 'X-Run': String(n) }).send('one');
  };
}

describe('RFC 9111 4.3.1: a stale entry', () => {
  it('is revalidated with its ETag as If-None-Match and its Last-Modified as If-Modified-Since', async () => {
    const modified = formatHttpDate(START - 3600 * SECOND);
    await route({}, (req, res) => res.set({ 'Cache-Control': 'max-age=10', 'Last-Modified': modified, ETag: '"lm"' }).send('one'));
    await get();
    t.clock.advance(10 * SECOND);
    await get();
    expect(conditions()).toEqual([{}, { ifNoneMatch: '"lm"', ifModifiedSince: modified }]);
  });

  it('is refreshed by the handler\'s 304: new headers and lifetime, the stored body (4.3.3, 4.3.4)', async () => {
    await route({}, validating('max-age=10', { 'Cache-Control': 'max-age=20' }));
    expect(summary(await get())).toEqual([200, 'MISS', 'one']);
    t.clock.advance(10 * SECOND);
    const revalidated = await get();
    expect(summary(revalidated)).toEqual([200, 'REVALIDATED', 'one']);
    expect([revalidated.headers['x-run'], revalidated.headers['cache-control'], revalidated.headers.etag])
      .toEqual(['2', 'max-age=20', '"v1"']);
    expect(revalidated.headers.date).toBe(formatHttpDate(START + 10 * SECOND));
    expect(await lookup(t.cache, 'k')).toMatchObject({ storedAt: START + 10 * SECOND, expiresAt: START + 30 * SECOND });
    t.clock.advance(19 * SECOND);
    const hit = await get();
    expect([...summary(hit), hit.headers['x-run'], hit.headers.age]).toEqual([200, 'HIT', 'one', '2', '19']);
    expect(t.seen).toHaveLength(2);
  });

  it('is replaced when the handler answers 200 instead', async () => {
    await route({}, (req, res, n) => res.set('Cache-Control', 'max-age=10').send(`v${n}`));
    await get();
    t.clock.advance(10 * SECOND);
    expect(summary(await get())).toEqual([200, 'MISS', 'v2']);
    expect(summary(await get())).toEqual([200, 'HIT', 'v2']);
  });

  it('is revalidated by the 304 Express sends by itself when the ETag it computes matches', async () => {
    await route({}, (req, res, n) => res.set({ 'Cache-Control': 'max-age=10', 'X-Run': String(n) }).send('same body'));
    await get();
    t.clock.advance(10 * SECOND);
    const reply = await get();
    expect([...summary(reply), reply.headers['x-run']]).toEqual([200, 'REVALIDATED', 'same body', '2']);
    expect(t.seen[1]['if-none-match']).toMatch(/^W\/"/);
    expect(summary(await get())).toEqual([200, 'HIT', 'same body']);
  });

  it.each([
    ['res.writeHead(304, headers)', (res) => res.writeHead(304, { 'Cache-Control': 'max-age=30' }).end()],
    ['res.writeHead(304, reason, headers)', (res) => res.writeHead(304, 'Not Modified', ['Cache-Control', 'max-age=30']).end()],
  ])('is refreshed by a 304 a plain Node handler announces with %s', async (_how, notModified) => {
    await route({}, (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') return notModified(res);
      res.writeHead(200, { ETag: '"v1"', 'Cache-Control': 'max-age=10', 'Content-Type': 'text/plain' });
      return res.end('one');
    });
    await get();
    t.clock.advance(10 * SECOND);
    const reply = await get();
    expect([...summary(reply), reply.headers['cache-control']]).toEqual([200, 'REVALIDATED', 'one', 'max-age=30']);
    expect(await lookup(t.cache, 'k')).toMatchObject({ expiresAt: START + 40 * SECOND });
  });

  it('is revalidated once for concurrent requests, which all get the stored body', async () => {
    await route({}, (req, res, n) => {
      if (req.headers['if-none-match'] !== '"v1"') return res.set({ ETag: '"v1"', 'Cache-Control': 'max-age=10' }).send('one');
      return setTimeout(() => res.status(304).set('X-Run', String(n)).end(), 50);
    });
    await get();
    t.clock.advance(10 * SECOND);
    const replies = await Promise.all([0, 1, 2].map(() => t.http.get('/r', { agent: false })));
    expect(replies.map((reply) => [reply.status, reply.text, reply.headers['x-run']])).toEqual([[200, 'one', '2'], [200, 'one', '2'], [200, 'one', '2']]);
    expect(replies.map((reply) => reply.headers['x-cache']).sort()).toEqual(['HIT', 'HIT', 'REVALIDATED']);
    expect(t.seen).toHaveLength(2);
  });

  it('with must-revalidate is revalidated too (RFC 9111 4.2.4 forbids serving it stale)', async () => {
    await route({}, validating('max-age=10, must-revalidate'));
    await get();
    t.clock.advance(11 * SECOND);
    expect(summary(await get())).toEqual([200, 'REVALIDATED', 'one']);
  });

  it('is served to the client\'s own matching If-None-Match as a 304, and in full otherwise (4.3.2)', async () => {
    await route({}, validating('max-age=10'));
    await get();
    t.clock.advance(10 * SECOND);
    const conditional = await get({ 'if-none-match': '"v1"' });
    expect([conditional.status, conditional.headers['x-cache'], conditional.body.length]).toEqual([304, 'REVALIDATED', 0]);
    t.clock.advance(10 * SECOND);
    const other = await get({ 'if-none-match': '"v0"' });
    expect(summary(other)).toEqual([200, 'REVALIDATED', 'one']);
    // The handler saw the entry's validator each time, never the client's.
    expect(conditions().map((c) => c.ifNoneMatch)).toEqual([undefined, '"v1"', '"v1"']);
  });

  it('is kept for retainStale seconds after it goes stale, so that it can be revalidated', async () => {
    await route({ retainStale: 600 }, validating('max-age=10'));
    await get();
    const pttl = await t.redis.client().pttl((await t.redis.keys('*:e:k'))[0]);
    expect(pttl).toBeGreaterThan(600 * SECOND);
    expect(pttl).toBeLessThanOrEqual(610 * SECOND);
  });

  it('is stored when its lifetime is 0, with retainStale, and revalidated on each request', async () => {
    await route({ retainStale: 60 }, validating('max-age=0'));
    expect(summary(await get())).toEqual([200, 'MISS', 'one']);
    expect(summary(await get())).toEqual([200, 'REVALIDATED', 'one']);
    expect(t.seen).toHaveLength(2);
  });
});

describe('without a retainStale option, an entry with a validator', () => {
  it('is revalidated once its max-age has passed in Redis too: the handler\'s 304 refreshes its lifetime', async () => {
    await route({}, validating('max-age=10', { 'Cache-Control': 'max-age=20' }));
    expect(summary(await get())).toEqual([200, 'MISS', 'one']);
    await t.elapse(10 * SECOND);
    const revalidated = await get();
    expect([...summary(revalidated), revalidated.headers['x-run']]).toEqual([200, 'REVALIDATED', 'one', '2']);
    expect(conditions().map((c) => c.ifNoneMatch)).toEqual([undefined, '"v1"']);
    expect(await lookup(t.cache, 'k')).toMatchObject({ storedAt: START + 10 * SECOND, expiresAt: START + 30 * SECOND });
    const pttl = await entryPttl();
    expect(pttl).toBeGreaterThan(DAY + 19 * SECOND);
    expect(pttl).toBeLessThanOrEqual(DAY + 20 * SECOND);
    await t.elapse(19 * SECOND);
    const hit = await get();
    expect([...summary(hit), hit.headers['x-run']]).toEqual([200, 'HIT', 'one', '2']);
    expect(t.seen).toHaveLength(2);
  });

  it('is revalidated with the weak ETag Express sets by itself, and Express\'s own 304', async () => {
    await route({}, (req, res, n) => res.set({ 'Cache-Control': 'max-age=10', 'X-Run': String(n) }).send('same body'));
    await get();
    await t.elapse(10 * SECOND);
    const reply = await get();
    expect([...summary(reply), reply.headers['x-run']]).toEqual([200, 'REVALIDATED', 'same body', '2']);
    expect(t.seen[1]['if-none-match']).toMatch(/^W\/"/);
  });

  it('is never a HIT once stale: a 200 from the handler replaces it', async () => {
    await route({}, (req, res, n) => res.set('Cache-Control', 'max-age=10').send(`v${n}`));
    await get();
    await t.elapse(10 * SECOND);
    expect(summary(await get())).toEqual([200, 'MISS', 'v2']);
    expect(summary(await get())).toEqual([200, 'HIT', 'v2']);
  });

  it('is stored even when stale at once (max-age=0), and revalidated on every request', async () => {
    await route({}, validating('max-age=0'));
    expect(summary(await get())).toEqual([200, 'MISS', 'one']);
    expect(await lookup(t.cache, 'k')).toMatchObject({ storedAt: START, expiresAt: START });
    expect(summary(await get())).toEqual([200, 'REVALIDATED', 'one']);
    expect(summary(await get())).toEqual([200, 'REVALIDATED', 'one']);
    expect(conditions().map((c) => c.ifNoneMatch)).toEqual([undefined, '"v1"', '"v1"']);
  });

  it.each([
    ['an ETag', (res) => res.set({ ETag: '"v1"', 'Cache-Control': 'max-age=10' }).end('one')],
    ['a Last-Modified', (res) => res.set({ 'Last-Modified': formatHttpDate(START - DAY), 'Cache-Control': 'max-age=10' }).end('one')],
  ])('is kept by Redis for its freshness plus a day, with %s', async (_what, send) => {
    await route({}, (req, res) => send(res));
    await get();
    const pttl = await entryPttl();
    expect(pttl).toBeGreaterThan(DAY + 9 * SECOND);
    expect(pttl).toBeLessThanOrEqual(DAY + 10 * SECOND);
  });

  it.each([
    ['a tag', (cache) => cache.invalidateTags(['feed'])],
    ['its path', (cache) => cache.invalidatePath('/r')],
  ])('is still removed by invalidation by %s while kept stale', async (_what, invalidate) => {
    await route({ tags: ['feed'] }, validating('max-age=10'));
    await get();
    await t.elapse(10 * SECOND);
    await invalidate(t.cache);
    expect(await entryPttl()).toBe(-2);
    expect(summary(await get())).toEqual([200, 'MISS', 'one']);
    expect(conditions().map((c) => c.ifNoneMatch)).toEqual([undefined, undefined]);
  });
});

/**
 * The route's entry (max-age=10, body "one") is kept by Redis for its freshness only: once that
 * passed, the handler runs without conditions.
 */
async function expectDroppedWhenStale() {
  const pttl = await entryPttl();
  expect(pttl).toBeGreaterThan(9 * SECOND);
  expect(pttl).toBeLessThanOrEqual(10 * SECOND);
  await t.elapse(10 * SECOND);
  expect(await entryPttl()).toBe(-2);
  expect(summary(await get())).toEqual([200, 'MISS', 'one']);
  expect(conditions().map((c) => c.ifNoneMatch)).toEqual([undefined, undefined]);
}

describe('an entry without a validator of the handler\'s', () => {
  it.each([
    ['no retainStale option', {}],
    ['retainStale: 600', { retainStale: 600 }],
  ])('is kept by Redis for its freshness only, the ETag the cache computes notwithstanding (%s)', async (_what, options) => {
    await route(options, (req, res) => res.set('Cache-Control', 'max-age=10').end('one'));
    await get();
    expect(headerOf((await lookup(t.cache, 'k')).headers, 'etag')).toMatch(/^W\/"/);
    await expectDroppedWhenStale();
  });
});

describe('retainStale: 0', () => {
  it('keeps an entry with a validator for its freshness only; once stale the handler runs without conditions', async () => {
    await route({ retainStale: 0 }, validating('max-age=10'));
    await get();
    await expectDroppedWhenStale();
  });

  it('does not store a response stale at once (max-age=0), even with a validator', async () => {
    await route({ retainStale: 0 }, validating('max-age=0'));
    await get();
    expect(await entryPttl()).toBe(-2);
  });
});

describe.each([
  ['embedded mode', { redis: null }],
  ['a near cache', { local: { maxBytes: 1 << 20, ttl: 3600 } }],
])('in %s', (_mode, cacheOptions) => {
  it('revalidates a stale entry and serves its body refreshed', async () => {
    await route({}, validating('max-age=10', { 'Cache-Control': 'max-age=20' }), cacheOptions);
    await get();
    t.clock.advance(10 * SECOND);
    expect(summary(await get())).toEqual([200, 'REVALIDATED', 'one']);
    t.clock.advance(19 * SECOND);
    expect(summary(await get())).toEqual([200, 'HIT', 'one']);
    expect(conditions().map((c) => c.ifNoneMatch)).toEqual([undefined, '"v1"']);
  });
});

describe('RFC 5861 stale-while-revalidate', () => {
  it('revalidates in the background with the entry\'s validators; the 304 refreshes the entry', async () => {
    await route({}, validating('max-age=10, stale-while-revalidate=30', { 'Cache-Control': 'max-age=60' }));
    await get();
    t.clock.advance(15 * SECOND);
    const refreshed = once(t.cache, 'refreshed');
    expect(summary(await get())).toEqual([200, 'STALE', 'one']);
    await refreshed;
    expect(conditions().map((c) => c.ifNoneMatch)).toEqual([undefined, '"v1"']);
    const hit = await get();
    expect([...summary(hit), hit.headers['cache-control'], hit.headers['x-run']]).toEqual([200, 'HIT', 'one', 'max-age=60', '2']);
  });
});

describe('RFC 9111 5.2.2.4: an entry stored with Cache-Control: no-cache', () => {
  it('is revalidated on every request, fresh or not, and its body served', async () => {
    await route({}, validating('max-age=600, no-cache'));
    expect(summary(await get())).toEqual([200, 'MISS', 'one']);
    expect(summary(await get())).toEqual([200, 'REVALIDATED', 'one']);
    expect(summary(await get())).toEqual([200, 'REVALIDATED', 'one']);
    expect(conditions().map((c) => c.ifNoneMatch)).toEqual([undefined, '"v1"', '"v1"']);
  });

  it('is still replaced on a route with a numeric ttl, whose handler sees no conditions', async () => {
    await route({ ttl: 60 }, validating('no-cache'));
    await get();
    expect(summary(await get())).toEqual([200, 'MISS', 'one']);
    expect(conditions().map((c) => c.ifNoneMatch)).toEqual([undefined, undefined]);
  });
});

describe('RFC 9111 3.2: the headers a 304 updates', () => {
  it('updates the fields the 304 has, keeps the stored Content-Length, and spends the 304\'s Age', async () => {
    await route({}, (req, res, n) => {
      if (n === 1) return res.set({ ETag: '"v1"', 'Cache-Control': 'max-age=10', 'Content-Type': 'text/csv' }).send('a,b');
      return res.status(304).set({ 'Content-Type': 'text/plain', Age: '5', 'Cache-Control': 'max-age=60' }).end();
    });
    await get();
    t.clock.advance(10 * SECOND);
    const reply = await get();
    expect([reply.headers['content-type'], reply.headers['content-length'], reply.headers.age, reply.text])
      .toEqual(['text/plain; charset=utf-8', '3', '5', 'a,b']);
    // The 304's Age is spent of its max-age (RFC 9111 4.2.3) and not stored.
    expect(await lookup(t.cache, 'k')).toMatchObject({ storedAt: START + 5 * SECOND, expiresAt: START + 65 * SECOND });
  });

  it('is not stored when the 304 says no-store; the client still gets the body', async () => {
    await route({}, validating('max-age=10', { 'Cache-Control': 'no-store' }));
    await get();
    t.clock.advance(10 * SECOND);
    expect(summary(await get())).toEqual([200, 'REVALIDATED', 'one']);
    expect(await lookup(t.cache, 'k')).toMatchObject({ expiresAt: START + 10 * SECOND });
  });
});

describe('a MISS', () => {
  it('still withholds the client\'s own conditions from the handler, so that the full response is stored', async () => {
    await route({}, validating('max-age=10'));
    const reply = await get({ 'if-none-match': '"v1"' });
    expect([reply.status, reply.headers['x-cache']]).toEqual([304, 'MISS']);
    expect(t.seen.map((h) => h['if-none-match'])).toEqual([undefined]);
    expect(summary(await get())).toEqual([200, 'HIT', 'one']);
  });
});

describe('a MISS with the client\'s If-Modified-Since (RFC 9111 4.3.2)', () => {
  it('runs the handler without it, stores the full response, and answers the client 304 when it matches', async () => {
    const modified = formatHttpDate(START - DAY);
    await route({}, (req, res) => {
      if (req.headers['if-modified-since'] !== undefined) return res.status(304).end();
      return res.set({ 'Last-Modified': modified, 'Cache-Control': 'max-age=10' }).send('one');
    });
    const reply = await get({ 'if-modified-since': formatHttpDate(START) });
    expect([reply.status, reply.headers['x-cache']]).toEqual([304, 'MISS']);
    expect(conditions()).toEqual([{ ifNoneMatch: undefined, ifModifiedSince: undefined }]);
    const older = await get({ 'if-modified-since': formatHttpDate(START - 2 * DAY) });
    expect([older.status, older.headers['x-cache'], older.text]).toEqual([200, 'HIT', 'one']);
  });
});

describe('revalidation with compression', () => {
  it('sends the identity ETag as the condition and serves the gzip entry refreshed', async () => {
    await route({}, (req, res, n) => {
      if (req.headers['if-none-match'] === '"big"') return res.status(304).set('X-Run', String(n)).end();
      return res.set({ ETag: '"big"', 'Cache-Control': 'max-age=10', 'Content-Type': 'text/plain' }).send('z'.repeat(2000));
    }, { compress: { threshold: 1 } });
    await get({ 'accept-encoding': 'gzip' });
    t.clock.advance(10 * SECOND);
    const plain = await get({ 'accept-encoding': 'identity' });
    expect([...summary(plain), plain.headers.etag, plain.headers['x-run']]).toEqual([200, 'REVALIDATED', 'z'.repeat(2000), '"big"', '2']);
    expect(t.seen[1]['if-none-match']).toBe('"big"');
    const hit = await get({ 'accept-encoding': 'gzip' });
    expect([hit.headers['x-cache'], hit.headers['content-encoding'], hit.headers['x-run']]).toEqual(['HIT', 'gzip', '2']);
  });
});
