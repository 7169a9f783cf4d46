'use strict';

// cache.proxy(): forwarding (headers both ways, streamed bodies, upstream failures), the first
// MISS then HIT in both mountings, and the options checked at setup.
const http = require('http');
const { gate } = require('../helpers/cache');
const { startOrigin, bareGateway, expressGateway, gatewaySuite } = require('./proxy-fixtures');
const { formatHttpDate } = require('../../lib/http/http-date');

const t = gatewaySuite();

const cacheable = (body, extra = {}) => (req, res) => {
  res.writeHead(200, { 'Cache-Control': 'max-age=60', Date: formatHttpDate(t.clock.now()), 'Content-Type': 'text/plain', ...extra });
  res.end(body);
};

describe.each([
  ['a bare http.createServer handler', (options) => bareGateway(t.cache, t.origin.url, options), ''],
  ['Express middleware mounted at /api', (options) => expressGateway(t.cache, t.origin.url, options), '/api'],
])('as %s', (_, start, mount) => {
  it('RFC 9111 4.2.3, 5.1: answers the first request from the upstream (MISS), the next from Redis (HIT) with Age, and keeps the stored Date (RFC 9110 6.6.1)', async () => {
    t.origin.handle = cacheable('hello');
    t.gw = await start();
    const miss = await t.gw.get(`${mount}/greeting?x=1`);
    t.clock.advance(5000);
    const hit = await t.gw.get(`${mount}/greeting?x=1`);
    expect([miss.status, miss.headers['x-cache'], miss.text]).toEqual([200, 'MISS', 'hello']);
    expect([hit.status, hit.headers['x-cache'], hit.text, hit.headers.age]).toEqual([200, 'HIT', 'hello', '5']);
    expect(hit.headers.date).toBe(miss.headers.date); // the stored Date is kept (RFC 9110 6.6.1)
    expect(t.origin.count()).toBe(1);
    expect(t.origin.requests[0].url).toBe('/greeting?x=1'); // the path relative to the mount point
  });

  it('RFC 9111 2, 4: keys by the whole target URI: another query string is another entry', async () => {
    t.origin.handle = (req, res) => cacheable(req.url)(req, res);
    t.gw = await start();
    await t.gw.get(`${mount}/p?a=1`);
    const other = await t.gw.get(`${mount}/p?a=2`);
    expect([other.headers['x-cache'], other.text]).toEqual(['MISS', '/p?a=2']);
  });
});

describe('RFC 9110 7.7: the request target under an Express mount point is forwarded as sent', () => {
  it('sends the path below the mount as sent: /api?x=1 and /api/?x=1 are two upstream URLs, two entries (RFC 9111 4)', async () => {
    t.origin.handle = (req, res) => cacheable(req.url)(req, res);
    t.gw = await expressGateway(t.cache, `${t.origin.url}/base`);
    const bare = await t.gw.get('/api?x=1');
    const slash = await t.gw.get('/api/?x=1');
    expect([bare.text, slash.text]).toEqual(['/base?x=1', '/base/?x=1']);
    expect(slash.headers['x-cache']).toBe('MISS'); // two URLs, two entries
  });
});

describe('forwarded headers (RFC 9110 7.6)', () => {
  it('drops hop-by-hop fields (7.6.1), adds Via (7.6.3) and the de facto X-Forwarded-*, and sends the upstream its own Host (7.2)', async () => {
    t.origin.handle = cacheable('x', { Connection: 'X-Hop', 'X-Hop': 'secret', 'Keep-Alive': 'timeout=5' });
    t.gw = await bareGateway(t.cache, t.origin.url);
    const reply = await t.gw.get('/h', { headers: { Connection: 'keep-alive, X-Client-Hop', 'X-Client-Hop': '1', 'X-End': '2' } });
    const seen = t.origin.requests[0].headers;
    expect(seen['x-client-hop']).toBeUndefined();
    expect(seen['x-end']).toBe('2');
    expect(seen.via).toBe('1.1 respcache');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe(`127.0.0.1:${t.gw.port}`);
    expect(seen.host).toBe(`127.0.0.1:${t.origin.port}`);
    expect(reply.headers['x-hop']).toBeUndefined();
    expect(reply.headers.via).toBe('1.1 respcache');
  });

  it('appends to an X-Forwarded-For the client sent (de facto; RFC 7239 Forwarded is not sent), and names a pseudonym in Via when told (7.6.3)', async () => {
    t.gw = await bareGateway(t.cache, t.origin.url, { via: 'edge-1' });
    await t.gw.get('/h', { headers: { 'X-Forwarded-For': '10.0.0.1' } });
    expect(t.origin.requests[0].headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    expect(t.origin.requests[0].headers.via).toBe('1.1 edge-1');
  });

  it('prefixes the upstream URL\'s own path (RFC 9110 3.7: a gateway translates the target for its upstream)', async () => {
    t.gw = await bareGateway(t.cache, `${t.origin.url}/v2/`);
    await t.gw.get('/users/1');
    expect(t.origin.requests[0].url).toBe('/v2/users/1');
  });
});

describe('RFC 9110 7.6 forwarding (project rule: bodies are streamed, not buffered)', () => {
  it('sends the first bytes of a large response before the upstream has sent the rest, and stores the whole', async () => {
    const rest = gate();
    const chunk = Buffer.alloc(64 * 1024, 'a');
    t.origin.handle = (req, res) => {
      res.writeHead(200, { 'Cache-Control': 'max-age=60', 'Content-Type': 'application/octet-stream' });
      res.write(chunk);
      rest.promise.then(() => {
        for (let i = 0; i < 31; i++) res.write(chunk);
        res.end();
      });
    };
    t.gw = await bareGateway(t.cache, t.origin.url);
    const received = await new Promise((resolve, reject) => {
      http.get(`${t.gw.url}/big`, (res) => {
        let size = 0;
        res.on('data', (c) => {
          if (size === 0) rest.open(); // the upstream sends the rest only once we have the start
          size += c.length;
        });
        res.on('end', () => resolve({ size, cache: res.headers['x-cache'] }));
      }).on('error', reject);
    });
    expect(received).toEqual({ size: 32 * 64 * 1024, cache: 'MISS' });
    const hit = await t.gw.get('/big');
    expect([hit.headers['x-cache'], hit.body.length]).toEqual(['HIT', 32 * 64 * 1024]);
  });

  it('streams a request body to the upstream', async () => {
    t.origin.handle = (req, res, body) => res.end(`got ${body.length}`);
    t.gw = await bareGateway(t.cache, t.origin.url);
    const body = Buffer.alloc(3 * 1024 * 1024, 'b');
    const reply = await t.gw.request('/upload', { method: 'PUT', body });
    expect(reply.text).toBe(`got ${body.length}`);
  });

  it('does not store a body over maxBodyBytes, but sends all of it (RFC 9111 2: a cache is never obliged to store)', async () => {
    t.origin.handle = cacheable(Buffer.alloc(5000, 'z'));
    t.gw = await bareGateway(t.cache, t.origin.url, { maxBodyBytes: 1000 });
    const first = await t.gw.get('/z');
    const second = await t.gw.get('/z');
    expect([first.body.length, second.headers['x-cache'], t.origin.count()]).toEqual([5000, 'MISS', 2]);
  });
});

describe('when the upstream fails (RFC 9110 15.6)', () => {
  it('answers 502 when it cannot be reached (15.6.3)', async () => {
    const closed = await startOrigin();
    await closed.close();
    t.gw = await bareGateway(t.cache, closed.url);
    const reply = await t.gw.get('/down');
    expect([reply.status, reply.headers['x-cache']]).toEqual([502, 'MISS']);
  });

  it('answers 504 when it does not send its headers in time (15.6.5)', async () => {
    const never = gate();
    t.origin.handle = (req, res) => never.promise.then(() => res.end());
    t.gw = await bareGateway(t.cache, t.origin.url, { timeout: { headers: 200 } });
    const reply = await t.gw.get('/slow');
    never.open();
    expect(reply.status).toBe(504);
  });

  it('passes a 5xx through, not stored when the "statuses" option leaves it out (RFC 9111 2: options only narrow what is stored)', async () => {
    t.origin.handle = (req, res) => res.writeHead(503, { 'Cache-Control': 'max-age=60' }).end('busy');
    t.gw = await bareGateway(t.cache, t.origin.url, { statuses: [200] });
    await t.gw.get('/busy');
    const second = await t.gw.get('/busy');
    expect([second.status, second.headers['x-cache'], t.origin.count()]).toEqual([503, 'MISS', 2]);
  });
});

describe('what is never stored', () => {
  it('a response with Set-Cookie (project rule: RFC 9111 7.3 would let a cache store it)', async () => {
    t.origin.handle = cacheable('c', { 'Set-Cookie': 'sid=1' });
    t.gw = await bareGateway(t.cache, t.origin.url);
    await t.gw.get('/c');
    const second = await t.gw.get('/c');
    expect([second.headers['x-cache'], second.headers['set-cookie']]).toEqual(['MISS', ['sid=1']]);
  });

  it('a response to a request with Authorization, unless it says public (RFC 9111 3.5)', async () => {
    t.origin.handle = (req, res) => cacheable('a', req.url === '/public' ? { 'Cache-Control': 'public, max-age=60' } : {})(req, res);
    t.gw = await bareGateway(t.cache, t.origin.url);
    const auth = { headers: { Authorization: 'Bearer t' } };
    await t.gw.get('/private', auth);
    await t.gw.get('/public', auth);
    expect((await t.gw.get('/private', auth)).headers['x-cache']).toBe('MISS');
    expect((await t.gw.get('/public', auth)).headers['x-cache']).toBe('HIT');
  });
});

describe('project rule: options are checked at setup', () => {
  it.each([
    ['upstream', () => t.cache.proxy('ftp://example.test')],
    ['upstream', () => t.cache.proxy(42)],
    ['heuristicFraction', () => t.cache.proxy('http://127.0.0.1:1', { heuristicFraction: 2 })],
    ['maxBodyBytes', () => t.cache.proxy('http://127.0.0.1:1', { maxBodyBytes: -1 })],
    ['statuses', () => t.cache.proxy('http://127.0.0.1:1', { statuses: [100] })],
    ['timeout.headers', () => t.cache.proxy('http://127.0.0.1:1', { timeout: { headers: 0 } })],
    ['timeout', () => t.cache.proxy('http://127.0.0.1:1', { timeout: 'soon' })],
    ['ttl', () => t.cache.proxy('http://127.0.0.1:1', { ttl: -5 })],
    ['via', () => t.cache.proxy('http://127.0.0.1:1', { via: 'two words' })],
    ['tags', () => t.cache.proxy('http://127.0.0.1:1', { tags: [''] })],
    ['coalesce', () => t.cache.proxy('http://127.0.0.1:1', { coalesce: 'yes' })],
    ['retainStal', () => t.cache.proxy('http://127.0.0.1:1', { retainStal: 10 })],
  ])('a bad %s throws a TypeError naming it', (name, build) => {
    expect(build).toThrow(TypeError);
    expect(build).toThrow(name);
  });

  it('does not change the options object it is given', () => {
    const options = Object.freeze({ timeout: Object.freeze({ connect: 500 }), statuses: Object.freeze([200, 404]) });
    expect(() => t.cache.proxy('http://127.0.0.1:1', options)).not.toThrow();
  });
});
