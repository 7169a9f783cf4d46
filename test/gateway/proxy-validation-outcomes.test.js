'use strict';

// What a validation's outcome does to the stored response and to the answer (RFC 9111 4.3): a
// 304 whose fields make the response unstorable by a shared cache ends its storage, and a
// validation the client asked for that fails is not answered from storage behind its back.
const http = require('http');
const { waitFor, gate } = require('../helpers/cache');
const { onFlightJoin } = require('../helpers/internals');
const { bareGateway, gatewaySuite } = require('./proxy-fixtures');
const { formatHttpDate } = require('../../lib/http/http-date');

const t = gatewaySuite();

/** Headers of an origin response dated by the test's clock. */
const dated = (headers) => ({ Date: formatHttpDate(t.clock.now()), ...headers });

/**
 * An origin that answers a full 200 (`full` headers, body 'shared body') and a conditional
 * request with ETag "v1" with 304 and `notModified` headers; then a gateway.
 */
async function validating(full, notModified, { hold = null } = {}) {
  t.origin.handle = (req, res) => {
    if (req.headers['if-none-match'] !== '"v1"') return res.writeHead(200, dated({ ETag: '"v1"', ...full })).end('shared body');
    const send = () => res.writeHead(304, dated({ ETag: '"v1"', ...notModified })).end();
    return hold === null ? send() : hold.then(send);
  };
  t.gw = await bareGateway(t.cache, t.origin.url);
}

const conditionals = () => t.origin.requests.filter((r) => r.headers['if-none-match'] !== undefined).length;

describe('RFC 9111 4.3.4, 5.2.2.5, 5.2.2.7: a 304 that makes the stored response unstorable', () => {
  it.each([
    ['private, max-age=600'],
    ['no-store'],
  ])('removes the stored response when the 304 says "%s"; the request that validated gets the updated response',
    async (cacheControl) => {
      await validating({ 'Cache-Control': 'max-age=1' }, { 'Cache-Control': cacheControl });
      await t.gw.get('/p');
      await waitFor(async () => (await t.gw.get('/p')).headers['x-cache'] === 'HIT', { what: 'the entry stored' });
      t.clock.advance(2000);
      const validated = await t.gw.get('/p');
      expect([validated.status, validated.headers['x-cache'], validated.headers['cache-control'], validated.text])
        .toEqual([200, 'REVALIDATED', cacheControl, 'shared body']);
      const next = await t.gw.get('/p');
      expect([next.status, next.headers['x-cache'], next.headers['cache-control']]).toEqual([200, 'MISS', 'max-age=1']);
      expect(t.origin.requests.at(-1).headers['if-none-match']).toBeUndefined();
    });

  it('removes it when the 304 answers a background revalidation (stale-while-revalidate)', async () => {
    await validating({ 'Cache-Control': 'max-age=1, stale-while-revalidate=60' }, { 'Cache-Control': 'private, max-age=600' });
    await t.gw.get('/w');
    await waitFor(async () => (await t.gw.get('/w')).headers['x-cache'] === 'HIT', { what: 'the entry stored' });
    t.clock.advance(2000);
    const background = new Promise((resolve) => t.origin.once('request', resolve));
    expect((await t.gw.get('/w')).headers['x-cache']).toBe('STALE');
    expect((await background).headers['if-none-match']).toBe('"v1"');
    // The background revalidation ends with no event the client can see: poll until the entry is gone.
    const next = await waitFor(async () => {
      const reply = await t.gw.get('/w');
      return reply.headers['x-cache'] !== 'STALE' && reply;
    }, { what: 'the background revalidation over' });
    expect([next.headers['x-cache'], next.headers['cache-control']]).toEqual(['MISS', 'max-age=1, stale-while-revalidate=60']);
  });

  it('does not answer the requests that waited on that validation from the updated response', async () => {
    const held = gate();
    await validating({ 'Cache-Control': 'max-age=1' }, { 'Cache-Control': 'private, max-age=600' }, { hold: held.promise });
    await t.gw.get('/c');
    await waitFor(async () => (await t.gw.get('/c')).headers['x-cache'] === 'HIT', { what: 'the entry stored' });
    t.clock.advance(2000);
    let joined = 0;
    onFlightJoin(t.cache, () => { if (++joined === 4) held.open(); });
    const agent = new http.Agent({ keepAlive: false, maxSockets: 50 });
    const all = await Promise.all(Array.from({ length: 5 }, () => t.gw.get('/c', { agent })));
    agent.destroy();
    expect(all.map((r) => [r.status, r.headers['x-cache'], r.text])).toEqual(Array(5).fill([200, 'REVALIDATED', 'shared body']));
    // Each one validated for itself: none was handed a response stored for another.
    expect(conditionals()).toBe(5);
  });
});

describe('RFC 9111 5.2.1.5, 3.5: a 304 to a request that may not store', () => {
  it.each([
    ['Cache-Control: no-cache, no-store', { 'Cache-Control': 'no-cache, no-store' }],
    ['Authorization', { Authorization: 'Bearer one-user' }],
    ['Cookie', { Cookie: 'session=one-user' }],
  ])('leaves the stored response as it was for everyone else (request with %s)', async (what, headers) => {
    await validating({ 'Cache-Control': 'max-age=1' }, { 'Cache-Control': 'max-age=600' });
    await t.gw.get('/k');
    await waitFor(async () => (await t.gw.get('/k')).headers['x-cache'] === 'HIT', { what: 'the entry stored' });
    t.clock.advance(2000);
    const validated = await t.gw.get('/k', { headers });
    expect([validated.status, validated.text]).toEqual([200, 'shared body']);
    expect(conditionals()).toBe(1);
    // Neither removed nor refreshed by that request: still there, still stale (validated again).
    const next = await t.gw.get('/k');
    expect([next.status, next.headers['x-cache'], next.text]).toEqual([200, 'REVALIDATED', 'shared body']);
    expect(conditionals()).toBe(2);
  });
});

describe('RFC 9111 4.2.4, 5.2.1.4; RFC 5861 4: a validation the request asked for fails', () => {
  /** Stores a fresh response, then has the origin answer `failure`. */
  async function storedThenFailing(cacheControl, failure) {
    let failing = false;
    t.origin.handle = (req, res) => (failing ? failure(req, res)
      : res.writeHead(200, dated({ 'Cache-Control': cacheControl, ETag: '"b"' })).end('stored body'));
    t.gw = await bareGateway(t.cache, t.origin.url);
    await t.gw.get('/b');
    await waitFor(async () => (await t.gw.get('/b')).headers['x-cache'] === 'HIT', { what: 'the entry stored' });
    failing = true;
  }
  const unavailable = (req, res) => res.writeHead(503, dated({ 'Content-Type': 'text/plain' })).end('down');

  it.each([
    ['Cache-Control: no-cache', { 'Cache-Control': 'no-cache' }],
    ['Cache-Control: max-age=0', { 'Cache-Control': 'max-age=0' }],
    ['Pragma: no-cache', { Pragma: 'no-cache' }],
  ])('relays the upstream\'s 503 for a fresh stored response when the request says %s', async (_, headers) => {
    await storedThenFailing('max-age=600', unavailable);
    const reply = await t.gw.get('/b', { headers });
    expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([503, 'MISS', 'down']);
    expect((await t.gw.get('/b')).headers['x-cache']).toBe('HIT'); // still stored
  });

  it('answers 502 when the upstream cannot be reached', async () => {
    await storedThenFailing('max-age=600', (req) => req.socket.destroy());
    const reply = await t.gw.get('/b', { headers: { 'Cache-Control': 'no-cache' } });
    expect(reply.status).toBe(502);
  });

  it('serves the fresh stored response when the response allows stale-if-error, labelled HIT (it is not stale)', async () => {
    await storedThenFailing('max-age=600, stale-if-error=60', unavailable);
    const reply = await t.gw.get('/b', { headers: { 'Cache-Control': 'no-cache' } });
    expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([200, 'HIT', 'stored body']);
  });

  it('serves it when the request allows stale-if-error', async () => {
    await storedThenFailing('max-age=600', unavailable);
    const reply = await t.gw.get('/b', { headers: { 'Cache-Control': 'no-cache, stale-if-error=60' } });
    expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([200, 'HIT', 'stored body']);
  });

  it('labels a stale response served within stale-if-error STALE', async () => {
    await storedThenFailing('max-age=1, stale-if-error=60', unavailable);
    t.clock.advance(2000);
    const reply = await t.gw.get('/b');
    expect([reply.status, reply.headers['x-cache'], reply.text]).toEqual([200, 'STALE', 'stored body']);
  });
});
