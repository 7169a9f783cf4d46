'use strict';

// cache.proxy(): interim (1xx) responses of the upstream reach the client whose request went
// upstream (RFC 9110 15.2) and are never stored (RFC 9111 3), with a real origin that writes
// them (res.writeProcessing, res.writeEarlyHints) and a real client that records them.
const net = require('net');
const { bareGateway, expressGateway, gatewaySuite } = require('./proxy-fixtures');
const { formatHttpDate } = require('../../lib/http/http-date');

const t = gatewaySuite();

const PRELOAD = '</styles.css>; rel=preload; as=style';

/** An origin that sends a 102, a 103 with `hints`, then a 200 fresh for 100 s. */
const withInterim = (hints = { link: PRELOAD, 'x-my-header': 'test' }) => (req, res) => {
  res.writeProcessing();
  res.writeEarlyHints(hints);
  res.writeHead(200, { 'Cache-Control': 'max-age=100', Date: formatHttpDate(t.clock.now()), 'Content-Type': 'text/plain' });
  res.end('final');
};

/** GET `path` as an HTTP/1.0 client; resolves with all the bytes received, as latin1. */
function http10Get(port, path) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('error', reject);
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.write(`GET ${path} HTTP/1.0\r\nHost: interim.test\r\n\r\n`);
  });
}

describe.each([
  ['a bare http.createServer handler', (options) => bareGateway(t.cache, t.origin.url, options), ''],
  ['Express middleware mounted at /api', (options) => expressGateway(t.cache, t.origin.url, options), '/api'],
])('as %s', (_, start, mount) => {
  describe('RFC 9110 15.2: a proxy forwards the interim responses of a forwarded request', () => {
    it('relays a 102 and a 103 with its Link and other fields, in order, before the final response', async () => {
      t.origin.handle = withInterim();
      t.gw = await start();
      const miss = await t.gw.get(`${mount}/page`);
      expect([miss.status, miss.headers['x-cache'], miss.text]).toEqual([200, 'MISS', 'final']);
      expect(miss.interim.map((i) => i.status)).toEqual([102, 103]);
      expect(miss.interim[1].headers).toMatchObject({ link: PRELOAD, 'x-my-header': 'test' });
    });
  });

  describe('RFC 9111 3: a cache MUST NOT store interim responses', () => {
    it('stores the final response, and its HIT carries no interim response and none of the 103\'s fields', async () => {
      t.origin.handle = withInterim();
      t.gw = await start();
      const miss = await t.gw.get(`${mount}/page`);
      expect(miss.interim.map((i) => i.status)).toEqual([102, 103]); // the MISS had them
      const hit = await t.gw.get(`${mount}/page`);
      expect([hit.status, hit.headers['x-cache'], hit.text]).toEqual([200, 'HIT', 'final']);
      expect(hit.interim).toEqual([]);
      expect(hit.headers['x-my-header']).toBeUndefined();
      expect(hit.headers.link).toBeUndefined();
      expect(t.origin.count()).toBe(1);
    });
  });
});

describe('the fields of a relayed 103 (RFC 9110 15.2, 7.6.1; RFC 8297)', () => {
  it('keeps every link-value, and drops the hop-by-hop fields and those Connection names', async () => {
    t.origin.handle = withInterim({
      link: [PRELOAD, '</app.js>; rel=preload; as=script'], connection: 'x-hop', 'x-hop': 'secret', 'x-end': '1',
    });
    t.gw = await bareGateway(t.cache, t.origin.url);
    const reply = await t.gw.get('/hints');
    const hints = reply.interim.find((i) => i.status === 103).headers;
    expect(hints.link).toBe(`${PRELOAD}, </app.js>; rel=preload; as=script`);
    expect(hints['x-end']).toBe('1');
    expect(hints['x-hop']).toBeUndefined();
    expect(hints.connection).toBeUndefined();
  });
});

describe('who gets interim responses (RFC 9110 15.2)', () => {
  it('a client revalidating a stale entry gets those of the validation (RFC 9110 15.2)', async () => {
    t.origin.handle = (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeEarlyHints({ link: PRELOAD });
        res.writeHead(304, { ETag: '"v1"', 'Cache-Control': 'max-age=1', Date: formatHttpDate(t.clock.now()) });
        res.end();
        return;
      }
      res.writeHead(200, { ETag: '"v1"', 'Cache-Control': 'max-age=1', Date: formatHttpDate(t.clock.now()) });
      res.end('v1');
    };
    t.gw = await bareGateway(t.cache, t.origin.url);
    await t.gw.get('/doc');
    t.clock.advance(5000);
    const revalidated = await t.gw.get('/doc');
    expect([revalidated.headers['x-cache'], revalidated.text]).toEqual(['REVALIDATED', 'v1']);
    expect(revalidated.interim.map((i) => [i.status, i.headers.link])).toEqual([[103, PRELOAD]]);
  });

  it('an HTTP/1.0 client gets none (RFC 9110 15.2: no 1xx to an HTTP/1.0 client)', async () => {
    t.origin.handle = withInterim();
    t.gw = await bareGateway(t.cache, t.origin.url);
    const raw = await http10Get(t.gw.port, '/old');
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw).not.toMatch(/HTTP\/1\.1 10[23]/);
    expect(raw.endsWith('final')).toBe(true);
  });

  it('cache.fetch() has no interim responses: it resolves with the final one (WHATWG Fetch, HTTP-network fetch: 1xx other than 101 are ignored)', async () => {
    t.origin.handle = withInterim();
    const reply = await t.cache.fetch(`${t.origin.url}/fetched`);
    expect([reply.status, reply.headers.get('x-cache'), await reply.text()]).toEqual([200, 'MISS', 'final']);
    expect(reply.headers.get('x-my-header')).toBeNull();
  });
});
