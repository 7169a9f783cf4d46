'use strict';

// cache.proxy() against a real origin whose headers each test scripts: the RFC 9111 rules (and
// RFC 5861's stale-if-error, and the forwarding docs/gateway.md promises) that the conformance
// port checks only as "check" tests or not at all. Each test names its RFC section.
const http = require('http');
const { EventEmitter } = require('events');
const { once } = require('../helpers/wait');
const { startOrigin, bareGateway, gatewaySuite } = require('./proxy-fixtures');
const { scripting, rawOrigin, readStreamed, unansweredUpstream } = require('./proxy-rfc-fixtures');
const { formatHttpDate } = require('../../lib/http/http-date');

const t = gatewaySuite();
const { dated, start } = scripting(t);

/** An origin answering 200 with `cc` and ETag "v", and 304 to a request that carries it. */
function validating(cc) {
  return (req, res) => (req.headers['if-none-match'] === '"v"'
    ? res.writeHead(304, dated({ 'Cache-Control': cc, ETag: '"v"' })).end()
    : res.writeHead(200, dated({ 'Cache-Control': cc, ETag: '"v"' })).end('stored'));
}

/** GET `path` with the request's Cache-Control `cc`: [X-Cache, body, requests the origin saw so far]. */
async function ask(path, cc) {
  const reply = await t.gw.get(path, { headers: { 'Cache-Control': cc } });
  return [reply.headers['x-cache'], reply.text, t.origin.count()];
}

describe('RFC 9111 5.2.1 and 5.4: request directives', () => {
  it('5.2.1.1 max-age: a stored response older than the request\'s max-age is validated first', async () => {
    await start(validating('max-age=60'));
    await t.gw.get('/a');
    t.clock.advance(10000);
    expect(await ask('/a', 'max-age=30')).toEqual(['HIT', 'stored', 1]);
    expect(await ask('/a', 'max-age=5')).toEqual(['REVALIDATED', 'stored', 2]);
    expect(t.origin.requests[1].headers['if-none-match']).toBe('"v"');
  });

  it('5.2.1.3 min-fresh: a stored response fresh for less than the request\'s min-fresh is validated first', async () => {
    await start(validating('max-age=60'));
    await t.gw.get('/f');
    t.clock.advance(50000); // 10 s of freshness left
    expect(await ask('/f', 'min-fresh=5')).toEqual(['HIT', 'stored', 1]);
    expect(await ask('/f', 'min-fresh=20')).toEqual(['REVALIDATED', 'stored', 2]);
  });

  it('5.2.1.2 max-stale: a stale response is served within the request\'s max-stale, and with no value at any staleness', async () => {
    await start(validating('max-age=10'));
    await t.gw.get('/s');
    t.clock.advance(15000); // stale by 5 s
    const [, within, seen] = await ask('/s', 'max-stale=10');
    expect([within, seen]).toEqual(['stored', 1]);
    t.clock.advance(1000000);
    const [, any, still] = await ask('/s', 'max-stale');
    expect([any, still]).toEqual(['stored', 1]);
    expect(await ask('/s', 'max-stale=2')).toEqual(['REVALIDATED', 'stored', 2]);
  });

  it('5.2.1.5 no-store: the response to a request that says no-store is not stored', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end('n'));
    expect(await ask('/n', 'no-store')).toEqual(['MISS', 'n', 1]);
    expect((await t.gw.get('/n')).headers['x-cache']).toBe('MISS');
    expect((await t.gw.get('/n')).headers['x-cache']).toBe('HIT'); // the response itself is storable
    expect(t.origin.count()).toBe(2);
  });

  it('5.2.1.7 only-if-cached: a fresh stored response is served, and with none usable the answer is 504 without the origin', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=10' })).end('o'));
    const none = await t.gw.get('/o', { headers: { 'Cache-Control': 'only-if-cached' } });
    expect([none.status, t.origin.count()]).toEqual([504, 0]);
    await t.gw.get('/o');
    const fresh = await t.gw.get('/o', { headers: { 'Cache-Control': 'only-if-cached' } });
    expect([fresh.status, fresh.text, t.origin.count()]).toEqual([200, 'o', 1]);
    t.clock.advance(11000);
    const stale = await t.gw.get('/o', { headers: { 'Cache-Control': 'only-if-cached' } });
    expect([stale.status, t.origin.count()]).toEqual([504, 1]);
  });

  it('5.4 Pragma: no-cache without Cache-Control has a fresh response validated; beside Cache-Control it is ignored', async () => {
    await start(validating('max-age=60'));
    await t.gw.get('/p');
    const pragma = await t.gw.get('/p', { headers: { Pragma: 'no-cache' } });
    expect([pragma.headers['x-cache'], t.origin.count()]).toEqual(['REVALIDATED', 2]);
    expect(t.origin.requests[1].headers['if-none-match']).toBe('"v"');
    const both = await t.gw.get('/p', { headers: { Pragma: 'no-cache', 'Cache-Control': 'max-age=600' } });
    expect([both.headers['x-cache'], t.origin.count()]).toEqual(['HIT', 2]);
  });
});

describe('RFC 9111 4.4: invalidation by unsafe methods', () => {
  /** An origin that answers POST with the fields `posted(url)` gives, and GET with a fresh response. */
  async function storeAll(paths, posted) {
    await start((req, res) => (req.method === 'POST' ? res.writeHead(...posted(req.url)).end()
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end(req.url)));
    for (const path of paths) await t.gw.get(path);
  }
  const hits = async (paths) => Promise.all(paths.map(async (path) => (await t.gw.get(path)).headers['x-cache']));

  it('a successful POST invalidates its URL, its Location and its Content-Location, not a Location on another origin', async () => {
    const paths = ['/items', '/items/7', '/items/8', '/items/9'];
    await storeAll(paths, (url) => (url === '/items'
      ? [201, { Location: '/items/7', 'Content-Location': `${t.origin.url}/items/8` }]
      : [201, { Location: 'http://foreign.example/items/9' }]));
    expect(await hits(paths)).toEqual(['HIT', 'HIT', 'HIT', 'HIT']);
    await t.gw.request('/items', { method: 'POST', body: '{}' });
    await t.gw.request('/other', { method: 'POST', body: '{}' });
    expect(await hits(paths)).toEqual(['MISS', 'MISS', 'MISS', 'HIT']);
  });

  it('a POST answered with an error status (500) invalidates nothing', async () => {
    const paths = ['/orders', '/orders/1'];
    await storeAll(paths, () => [500, { Location: '/orders/1' }]);
    const post = await t.gw.request('/orders', { method: 'POST', body: '{}' });
    expect(post.status).toBe(500);
    expect(await hits(paths)).toEqual(['HIT', 'HIT']);
  });
});

describe('RFC 5861 4: stale-if-error', () => {
  /** A response stored with `cc`, then aged 2 s; from when the test sets `failing.status`, the origin answers with it. */
  async function staleEntry(cc) {
    const failing = { status: null };
    await start((req, res) => (failing.status !== null ? res.writeHead(failing.status).end('failed')
      : res.writeHead(200, dated({ 'Cache-Control': cc })).end('stale body')));
    await t.gw.get('/e');
    t.clock.advance(2000);
    return failing;
  }

  it('serves the stale response within the window when the upstream answers 500, 502, 503 or 504, or cannot be reached', async () => {
    const failing = await staleEntry('max-age=1, stale-if-error=60');
    for (const status of [500, 502, 503, 504]) {
      failing.status = status;
      const reply = await t.gw.get('/e');
      expect([status, reply.status, reply.headers['x-cache'], reply.text]).toEqual([status, 200, 'STALE', 'stale body']);
    }
    await t.origin.close();
    const unreachable = await t.gw.get('/e');
    expect([unreachable.status, unreachable.headers['x-cache'], unreachable.text]).toEqual([200, 'STALE', 'stale body']);
    t.origin = await startOrigin(); // for afterEach
  });

  it('does not serve it once the window has ended', async () => {
    const failing = await staleEntry('max-age=1, stale-if-error=5');
    t.clock.advance(5000); // 6 s stale
    failing.status = 503;
    const reply = await t.gw.get('/e');
    expect([reply.status, reply.text]).toEqual([503, 'failed']);
  });

  it.each(['must-revalidate', 'proxy-revalidate'])('never serves it when the response says %s (RFC 9111 4.2.4, 5.2.2.2, 5.2.2.8)',
    async (cc) => {
      const failing = await staleEntry(`max-age=1, stale-if-error=60, ${cc}`);
      failing.status = 500;
      const reply = await t.gw.get('/e');
      expect([reply.status, reply.text]).toEqual([500, 'failed']);
    });

  it('never serves it for a request\'s stale-if-error when the response says s-maxage (RFC 9111 5.2.2.10)', async () => {
    const failing = await staleEntry('s-maxage=1');
    failing.status = 500;
    const reply = await t.gw.get('/e', { headers: { 'Cache-Control': 'stale-if-error=60' } });
    expect([reply.status, reply.text]).toEqual([500, 'failed']);
  });
});

describe('RFC 9111 4.3.5 and 3: HEAD', () => {
  it('does not store a HEAD response as the GET response, and answers a HEAD from a stored GET response without a body', async () => {
    await start((req, res) => (req.method === 'HEAD' ? res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' })).end()
      : res.writeHead(200, dated({ 'Cache-Control': 'max-age=60', 'Content-Length': '8' })).end('get body')));
    const missed = await t.gw.head('/h');
    expect([missed.status, missed.body.length]).toEqual([200, 0]);
    const get = await t.gw.get('/h');
    expect([get.headers['x-cache'], get.text]).toEqual(['MISS', 'get body']);
    const head = await t.gw.head('/h');
    expect([head.status, head.headers['x-cache'], head.headers['content-length'], head.body.length]).toEqual([200, 'HIT', '8', 0]);
    expect(t.origin.requests.map((r) => r.method)).toEqual(['HEAD', 'GET']);
  });
});

describe('RFC 9111 4.2.3: Age', () => {
  it('counts the response delay into the corrected age: "Age: 10" from an origin that took 1.2 s is sent as 11', async () => {
    // apparent_age = 1.2 to 2.2 s (Date is the request time, in whole seconds); corrected_age_value
    // = 10 + 1.2 s; without the response delay the age would be 10.
    await start((req, res) => {
      const requested = t.clock.now();
      t.clock.advance(1200); // the origin takes 1.2 s on the cache's clock
      res.writeHead(200, { Date: formatHttpDate(requested), Age: '10', 'Cache-Control': 'max-age=60' }).end('aged');
    });
    await t.gw.get('/age');
    const hit = await t.gw.get('/age');
    expect([hit.headers['x-cache'], hit.headers.age]).toEqual(['HIT', '11']);
  });
});

describe('RFC 9110 7.6: forwarding (bodies streamed both ways; the timeouts of docs/gateway.md)', () => {
  it('streams a request body upstream: the origin has the first chunk before the client sends the last', async () => {
    const arrived = new EventEmitter();
    const origin = await rawOrigin((req, res) => {
      let size = 0;
      req.on('data', (chunk) => {
        if (size === 0) arrived.emit('first');
        size += chunk.length;
      });
      req.on('end', () => res.end(`got ${size}`));
    });
    t.gw = await bareGateway(t.cache, origin.url);
    const req = http.request(`${t.gw.url}/upload`, { method: 'PUT', agent: false });
    try {
      const reply = new Promise((resolve, reject) => {
        req.on('response', (res) => {
          let text = '';
          res.on('data', (c) => { text += c; }).on('end', () => resolve(text));
        }).on('error', reject);
      });
      reply.catch(() => {}); // when the test fails first, the request is destroyed below
      req.write('a'.repeat(1000));
      await once(arrived, 'first', 2000); // a proxy that reads the whole body first never gets here
      req.end('b'.repeat(1000));
      expect(await reply).toBe('got 2000');
    } finally {
      req.destroy();
      await origin.close();
    }
  });

  it('streams a response body it does not store: the client has the first chunk while the origin holds the rest', async () => {
    let release;
    const held = new Promise((resolve) => { release = resolve; });
    await start((req, res) => {
      res.writeHead(200, { 'Cache-Control': 'no-store' });
      res.write('first;');
      held.then(() => res.end('rest'));
    });
    const reply = await readStreamed(`${t.gw.url}/s`, { onFirstChunk: release });
    expect([reply.text, reply.cut]).toEqual(['first;rest', false]);
  });

  it('streams a chunked body larger than maxBodyBytes to the client whole, and does not store it', async () => {
    await start((req, res) => {
      res.writeHead(200, dated({ 'Cache-Control': 'max-age=60' }));
      for (let i = 0; i < 3; i++) res.write('x'.repeat(1000));
      res.end();
    }, { maxBodyBytes: 1500 });
    const first = await t.gw.get('/big');
    expect([first.headers['content-length'], first.headers['transfer-encoding'], first.body.length]).toEqual([undefined, 'chunked', 3000]);
    const second = await t.gw.get('/big');
    expect([second.headers['x-cache'], second.body.length, t.origin.count()]).toEqual(['MISS', 3000, 2]);
  });

  it('answers 504 when the upstream does not accept the connection within timeout.connect', async () => {
    const upstream = await unansweredUpstream();
    try {
      t.gw = await bareGateway(t.cache, upstream.url, { timeout: { connect: 200, headers: 20000 } });
      const started = Date.now();
      const reply = await t.gw.get('/c');
      expect([reply.status, reply.headers['x-cache']]).toEqual([504, 'MISS']);
      expect(Date.now() - started).toBeLessThan(5000); // the connect timeout's answer (undici's own is 10 s, headers 20 s)
    } finally {
      await upstream.close();
    }
  });

  it('cuts the response when the upstream stalls in its body past timeout.body, and does not store it', async () => {
    await start((req, res) => {
      res.writeHead(200, dated({ 'Cache-Control': 'max-age=60', 'Content-Length': '20' }));
      if (t.origin.count() === 1) res.write('0123456789'); // then nothing
      else res.end('0123456789abcdefghij');
    }, { timeout: { body: 200 } });
    const cut = await readStreamed(`${t.gw.url}/stall`);
    expect([cut.status, cut.text, cut.cut]).toEqual([200, '0123456789', true]);
    const next = await t.gw.get('/stall');
    expect([next.headers['x-cache'], next.text, t.origin.count()]).toEqual(['MISS', '0123456789abcdefghij', 2]);
  });
});

describe('RFC 9111 4.1: Vary', () => {
  it('keeps two variants side by side, each served to its own requests, and a request without the field to neither', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60', Vary: 'X-Tenant' }))
      .end(`tenant ${req.headers['x-tenant'] || 'none'}`));
    const as = (tenant) => t.gw.get('/v', tenant ? { headers: { 'X-Tenant': tenant } } : {});
    await as('a');
    await as('b');
    const [a, b, none] = [await as('a'), await as('b'), await as(null)];
    expect([a.headers['x-cache'], a.text, b.headers['x-cache'], b.text]).toEqual(['HIT', 'tenant a', 'HIT', 'tenant b']);
    expect([none.headers['x-cache'], none.text, t.origin.count()]).toEqual(['MISS', 'tenant none', 3]);
  });

  it('does not store a response with "Vary: *"', async () => {
    await start((req, res) => res.writeHead(200, dated({ 'Cache-Control': 'max-age=60', Vary: '*' })).end('star'));
    await t.gw.get('/star');
    expect([(await t.gw.get('/star')).headers['x-cache'], t.origin.count()]).toEqual(['MISS', 2]);
  });
});
