'use strict';

// The cache option `compress` (entries stored gzipped, served as stored to gzip clients and
// gunzipped for the others) and the `compression` middleware mounted before or after the cache.
// Node's http client does not decompress: every reply here is the raw bytes on the wire.
const zlib = require('zlib');
const compression = require('compression');
const { startRedis } = require('../helpers/redis');
const { serve } = require('../helpers/http');
const { openCache, closeCaches, entryKey, respcache } = require('../helpers/cache');
const { acceptsGzip, compressible } = require('../../lib/http/compress');

const frameworks = [
  ['Express 4', require('express4')],
  ['Express 5', require('express')],
];
const express = require('express');
const { familyPattern } = require('../helpers/layout');

/** A JSON document of exactly `size` bytes (ASCII), repetitive as real API output is. */
function jsonOfSize(size) {
  const head = '{"items":[';
  const tail = '],"pad":""}';
  let items = '';
  for (let i = 0; ; i++) {
    const item = JSON.stringify({ id: i, name: `product ${i}`, price: (i * 1.37).toFixed(2), tags: ['new', 'sale'] });
    const next = items === '' ? item : `${items},${item}`;
    if (head.length + next.length + tail.length > size) break;
    items = next;
  }
  const out = `${head}${items}],"pad":"${'x'.repeat(size - head.length - items.length - tail.length)}"}`;
  if (out.length !== size) throw new Error(`jsonOfSize(${size}) made ${out.length} bytes`);
  JSON.parse(out);
  return out;
}

/** The body a client gets after undoing the Content-Encoding it was sent. */
function decoded(reply) {
  const ce = reply.headers['content-encoding'];
  if (ce === undefined) return reply.body;
  if (ce === 'gzip') return zlib.gunzipSync(reply.body);
  if (ce === 'br') return zlib.brotliDecompressSync(reply.body);
  if (ce === 'deflate') return zlib.inflateSync(reply.body);
  throw new Error(`unexpected Content-Encoding ${ce}`);
}

function varyTokens(reply) {
  return String(reply.headers.vary || '').split(',').map((v) => v.trim().toLowerCase()).filter(Boolean);
}

const GZIP = { 'accept-encoding': 'gzip' };
const BR_ONLY = { 'accept-encoding': 'br' };
const IDENTITY = {};
const BROWSER = { 'accept-encoding': 'gzip, deflate, br' };

let redis;
let http;

beforeAll(async () => {
  redis = await startRedis();
});

afterAll(async () => {
  await closeCaches();
  if (redis) await redis.close();
});

beforeEach(async () => {
  await redis.client().flushall();
});

afterEach(async () => {
  if (http) await http.close();
  http = null;
});

describe('the "compress" option', () => {
  it('is off by default and accepts true, false or { threshold }', () => {
    const opts = (compress) => respcache.createCache({ redis: redis.url, compress });
    const caches = [respcache.createCache({ redis: redis.url }), opts(false), opts(true), opts({}), opts({ threshold: 0 }),
      opts({ threshold: 4096 })];
    try {
      expect(caches.map((c) => c.options.compress)).toEqual([null, null, { threshold: 1024 }, { threshold: 1024 },
        { threshold: 0 }, { threshold: 4096 }]);
    } finally {
      for (const c of caches) c.close();
    }
  });

  it.each([
    ['yes', TypeError, /"compress" option/],
    [1, TypeError, /"compress" option/],
    [null, TypeError, /"compress" option/],
    [[], TypeError, /"compress" option/],
    [{ threshold: '1kb' }, TypeError, /"compress\.threshold" option/],
    [{ threshold: NaN }, TypeError, /"compress\.threshold" option/],
    [{ threshold: -1 }, RangeError, /"compress\.threshold" option/],
    [{ threshold: 1.5 }, RangeError, /"compress\.threshold" option/],
    [{ threshold: 2 ** 31 }, RangeError, /"compress\.threshold" option/],
    [{ treshold: 10 }, TypeError, /Unknown option "treshold" for the "compress" option \(did you mean "threshold"\?\)/],
    [{ level: 9 }, TypeError, /Unknown option "level" for the "compress" option/],
  ])('rejects compress: %p', (compress, Type, message) => {
    let thrown;
    try {
      respcache.createCache({ redis: redis.url, compress }).close();
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Type);
    expect(thrown.message).toMatch(message);
  });

  it('suggests "compress" for a misspelling', () => {
    expect(() => respcache.createCache({ redis: redis.url, compres: true }))
      .toThrow(/Unknown option "compres" for createCache\(\) \(did you mean "compress"\?\)/);
  });
});

describe('Accept-Encoding negotiation', () => {
  it.each([
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['GZIP', true],
    ['x-gzip', true],
    ['gzip, deflate, br', true],
    ['br', false],
    ['br, deflate', false],
    ['identity', false],
    ['gzip;q=0', false],
    ['gzip; q=0.000', false],
    ['gzip;q=0.5, br;q=1', true],
    ['*', true],
    ['*;q=0', false],
    ['br, *', true],
    ['gzip;q=0, *', false],
    ['*;q=0, gzip', true],
    ['identity;q=1, *;q=0', false],
    ['gzip;q=nonsense', false],
  ])('Accept-Encoding %p accepts gzip: %p', (header, expected) => {
    expect(acceptsGzip({ headers: header === undefined ? {} : { 'accept-encoding': header } })).toBe(expected);
  });

  it.each([
    ['application/json; charset=utf-8', true],
    ['text/html', true],
    ['text/plain;charset=utf-8', true],
    ['application/javascript', true],
    ['application/xml', true],
    ['image/svg+xml', true],
    ['application/problem+json', true],
    ['application/vnd.api+json; charset=utf-8', true],
    ['image/png', false],
    ['image/jpeg', false],
    ['video/mp4', false],
    ['application/zip', false],
    ['application/octet-stream', false],
    ['application/jsonp', false],
    [undefined, false],
  ])('content type %p is compressible: %p', (type, expected) => {
    expect(compressible(type)).toBe(expected);
  });
});

describe('entries stored compressed', () => {
  let cache;
  let calls;
  const BIG = jsonOfSize(8 * 1024);

  beforeAll(async () => {
    ({ cache } = await openCache({ redis: redis.url, commandTimeout: 1000, compress: { threshold: 1024 } }));
  });

  beforeEach(() => { calls = 0; });

  async function route(handler, options = {}) {
    const app = express();
    app.get('/r', cache.middleware({ exposeKey: true, ...options }), (req, res, next) => {
      calls++;
      handler(req, res, next);
    });
    http = await serve(app);
  }

  async function storedLength(reply) {
    return redis.client().strlen(entryKey(reply.headers['x-cache-key']));
  }

  it('serves the stored gzip bytes to a gzip client, with their own ETag and Vary: Accept-Encoding', async () => {
    await route((req, res) => res.type('json').send(BIG));
    const miss = await http.get('/r', { headers: GZIP });
    expect(miss.headers['x-cache']).toBe('MISS');
    // The MISS is the handler's own response: the cache does not encode what it has not stored.
    expect(miss.headers['content-encoding']).toBeUndefined();
    expect(miss.text).toBe(BIG);
    const hit = await http.get('/r', { headers: GZIP });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-encoding']).toBe('gzip');
    expect(hit.headers['content-length']).toBe(String(hit.body.length));
    expect(hit.body.length).toBeLessThan(BIG.length / 3);
    expect(zlib.gunzipSync(hit.body).toString()).toBe(BIG);
    expect(miss.headers.etag).toMatch(/^W\/"[^"]+"$/);
    expect(hit.headers.etag).toBe(`${miss.headers.etag.slice(0, -1)}-gzip"`);
    expect(varyTokens(hit)).toContain('accept-encoding');
    expect(hit.headers['content-type']).toBe('application/json; charset=utf-8');
    // The internal bookkeeping header never reaches a client.
    expect(Object.keys(hit.headers).filter((n) => n.startsWith('x-respcache'))).toEqual([]);
    expect(calls).toBe(1);
  });

  it.each([
    ['a br-only client', BR_ONLY],
    ['an identity client (no Accept-Encoding)', IDENTITY],
    ['a client refusing gzip (gzip;q=0)', { 'accept-encoding': 'gzip;q=0, deflate' }],
  ])('gunzips the entry for %s, with the identity ETag and length', async (_what, headers) => {
    await route((req, res) => res.type('json').send(BIG));
    const miss = await http.get('/r', { headers: GZIP });
    const hit = await http.get('/r', { headers });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-encoding']).toBeUndefined();
    expect(hit.text).toBe(BIG);
    expect(hit.headers['content-length']).toBe(String(Buffer.byteLength(BIG)));
    expect(hit.headers.etag).toBe(miss.headers.etag);
    expect(varyTokens(hit)).toContain('accept-encoding');
    expect(Object.keys(hit.headers).filter((n) => n.startsWith('x-respcache'))).toEqual([]);
    // The gzip variant's ETag differs from the identity one.
    const gz = await http.get('/r', { headers: GZIP });
    expect(gz.headers.etag).not.toBe(hit.headers.etag);
    expect(calls).toBe(1);
  });

  it('answers HEAD with the headers and Content-Length of the variant the client accepts', async () => {
    await route((req, res) => res.type('json').send(BIG));
    const get = await http.get('/r', { headers: GZIP });
    const gzHit = await http.get('/r', { headers: GZIP });
    const headGz = await http.head('/r', { headers: GZIP });
    expect(headGz.headers['x-cache']).toBe('HIT');
    expect(headGz.headers['content-encoding']).toBe('gzip');
    expect(headGz.headers['content-length']).toBe(String(gzHit.body.length));
    expect(headGz.headers.etag).toBe(gzHit.headers.etag);
    expect(headGz.body.length).toBe(0);
    const headPlain = await http.head('/r', { headers: IDENTITY });
    expect(headPlain.headers['x-cache']).toBe('HIT');
    expect(headPlain.headers['content-encoding']).toBeUndefined();
    expect(headPlain.headers['content-length']).toBe(String(Buffer.byteLength(BIG)));
    expect(headPlain.headers.etag).toBe(get.headers.etag);
    expect(headPlain.body.length).toBe(0);
    // The connection still works after both bodiless answers.
    expect((await http.get('/r', { headers: IDENTITY })).text).toBe(BIG);
    expect(calls).toBe(1);
  });

  it('merges Accept-Encoding into the handler\'s Vary and keeps a strong ETag strong', async () => {
    await route((req, res) => {
      res.set('Vary', 'Accept-Language');
      res.set('ETag', '"v42"');
      res.type('text/plain').send(BIG);
    }, { vary: ['accept-language'] });
    await http.get('/r');
    const gz = await http.get('/r', { headers: GZIP });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(varyTokens(gz)).toEqual(['accept-language', 'accept-encoding']);
    expect(gz.headers.etag).toBe('"v42-gzip"');
    const plain = await http.get('/r');
    expect(plain.headers.etag).toBe('"v42"');
    expect(varyTokens(plain)).toEqual(['accept-language', 'accept-encoding']);
    expect(plain.text).toBe(BIG);
  });

  it('serves the entry from a streamed body correctly to both kinds of client', async () => {
    await route((req, res) => {
      res.type('text/html');
      for (let i = 0; i < BIG.length; i += 1000) res.write(BIG.slice(i, i + 1000));
      res.end();
    });
    const miss = await http.get('/r');
    expect(miss.text).toBe(BIG);
    const gz = await http.get('/r', { headers: BROWSER });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(gz.body).toString()).toBe(BIG);
    // The handler set no ETag: the cache made one from the body, and the gzip variant has its own.
    expect(gz.headers.etag).toMatch(/^W\/"[^"]+-gzip"$/);
    const plain = await http.get('/r');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toBe(BIG);
    expect(plain.headers.etag).toMatch(/^W\/"[^"]+"$/);
    expect(plain.headers.etag).not.toBe(gz.headers.etag);
    expect(calls).toBe(1);
  });

  it('stores a body below the threshold uncompressed', async () => {
    const small = jsonOfSize(1000);
    await route((req, res) => res.type('json').send(small));
    const miss = await http.get('/r', { headers: GZIP });
    const hit = await http.get('/r', { headers: GZIP });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-encoding']).toBeUndefined();
    expect(hit.text).toBe(small);
    expect(hit.headers.etag).toBe(miss.headers.etag);
    expect(varyTokens(hit)).not.toContain('accept-encoding');
    expect(await storedLength(miss)).toBeGreaterThan(small.length);
  });

  it('does not compress a type that is compressed already (image/png)', async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), Buffer.alloc(8192, 7)]);
    await route((req, res) => res.type('png').send(png));
    const miss = await http.get('/r', { headers: GZIP });
    const hit = await http.get('/r', { headers: GZIP });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-encoding']).toBeUndefined();
    expect(hit.body.equals(png)).toBe(true);
    expect(await storedLength(miss)).toBeGreaterThan(png.length);
  });

  it('does not compress a response marked Cache-Control: no-transform', async () => {
    await route((req, res) => res.set('Cache-Control', 'public, no-transform').type('json').send(BIG));
    await http.get('/r', { headers: GZIP });
    const hit = await http.get('/r', { headers: GZIP });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-encoding']).toBeUndefined();
    expect(hit.text).toBe(BIG);
  });

  it('never stores a body the handler encoded itself, so it is never served to a client that did not accept it', async () => {
    const gz = zlib.gzipSync(Buffer.from(BIG));
    await route((req, res) => {
      if (/gzip/.test(req.get('accept-encoding') || '')) {
        res.set('Content-Encoding', 'gzip').set('Vary', 'Accept-Encoding').type('json').send(gz);
      } else {
        res.set('Vary', 'Accept-Encoding').type('json').send(BIG);
      }
    });
    const first = await http.get('/r', { headers: GZIP });
    expect(first.headers['x-cache']).toBe('MISS');
    expect(first.headers['content-encoding']).toBe('gzip');
    const plain = await http.get('/r', { headers: IDENTITY });
    expect(plain.headers['x-cache']).toBe('MISS');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toBe(BIG);
    expect(calls).toBe(2);
    // The identity response was stored (and compressed by the cache): both clients now hit.
    const gzHit = await http.get('/r', { headers: GZIP });
    expect(gzHit.headers['x-cache']).toBe('HIT');
    expect(zlib.gunzipSync(gzHit.body).toString()).toBe(BIG);
    const plainHit = await http.get('/r', { headers: IDENTITY });
    expect(plainHit.headers['x-cache']).toBe('HIT');
    expect(plainHit.text).toBe(BIG);
    expect(calls).toBe(2);
  });

  it('stores a compressible 100 KB JSON body in far fewer bytes than the body', async () => {
    const body = jsonOfSize(100 * 1024);
    await route((req, res) => res.type('json').send(body));
    const miss = await http.get('/r');
    const stored = await storedLength(miss);
    expect(stored).toBeLessThan(body.length / 4);
    const hit = await http.get('/r', { headers: GZIP });
    expect(zlib.gunzipSync(hit.body).toString()).toBe(body);
  });

  it('bypasses a planted entry whose gzip body is broken instead of sending garbage', async () => {
    const binding = require('../../lib/binding');
    await route((req, res) => res.type('json').send(BIG));
    const miss = await http.get('/r');
    const key = entryKey(miss.headers['x-cache-key']);
    const now = Date.now();
    await redis.client().set(key, binding.encodeEntry(200, ['content-type', 'application/json',
      'content-encoding', 'gzip'], Buffer.from('not gzip at all'), now, now + 60000, { gzip: { length: BIG.length, etag: '' } }));
    const plain = await http.get('/r');
    expect(plain.headers['x-cache']).toBe('BYPASS');
    expect(plain.text).toBe(BIG);
    expect(calls).toBe(2);
  });

  it('serves compressed entries from the in-process tier too', async () => {
    const { cache: local } = await openCache({ compress: true });
    const app = express();
    app.get('/r', local.middleware(), (req, res) => { calls++; res.type('json').send(BIG); });
    http = await serve(app);
    await http.get('/r');
    const gz = await http.get('/r', { headers: GZIP });
    expect(gz.headers['x-cache-tier']).toBe('local');
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(zlib.gunzipSync(gz.body).toString()).toBe(BIG);
    const plain = await http.get('/r');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toBe(BIG);
    expect(calls).toBe(1);
  });

  it('hands the compressed entry to coalesced waiters, each in the encoding it accepts', async () => {
    const app = express();
    app.get('/r', cache.middleware(), (req, res) => { calls++; setTimeout(() => res.type('json').send(BIG), 50); });
    http = await serve(app);
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => http.get('/r',
      { agent: false, headers: i % 2 ? GZIP : IDENTITY })));
    replies.forEach((reply, i) => {
      if (i % 2 === 0) expect(reply.headers['content-encoding']).toBeUndefined();
      expect(decoded(reply).toString()).toBe(BIG);
    });
    expect(calls).toBe(1);
  });
});

// Order A: app.use(compression()) before the cached route. The cache wraps res.write/end inside
// compression's wrappers, so it sees (and stores) the handler's uncompressed bytes, and every
// response, HITs included, passes through compression afterwards.
// Order B: the cache before compression. The cache sees what compression wrote (encoded bytes
// when it compressed); such a response is not stored, and HITs do not pass through compression.
describe.each(frameworks)('with the compression middleware (%s)', (_name, expressOf) => {
  const BODY = jsonOfSize(6 * 1024);
  let calls;

  beforeEach(() => { calls = 0; });

  const handler = (kind) => (req, res) => {
    calls++;
    if (kind === 'send') {
      res.type('json').send(BODY);
    } else {
      res.type('json');
      res.write(BODY.slice(0, 2000));
      setImmediate(() => res.end(BODY.slice(2000)));
    }
  };

  async function appWith(order, cacheOptions, kind = 'send') {
    const { cache } = await openCache({ redis: redis.url, commandTimeout: 1000, ...cacheOptions });
    const app = expressOf();
    if (order === 'before') {
      app.use(compression());
      app.get('/r', cache.middleware(), handler(kind));
    } else {
      app.get('/r', cache.middleware(), compression(), handler(kind));
    }
    http = await serve(app);
  }

  it('gives gzipped and identity replies of an order-A entry only a weak ETag (the same tag on both)', async () => {
    await appWith('before', {}, 'stream'); // streamed: no ETag from Express, the cache makes one
    expect((await http.get('/r')).headers['x-cache']).toBe('MISS');
    const gz = await http.get('/r', { headers: { 'accept-encoding': 'gzip' } });
    const plain = await http.get('/r', { headers: { 'accept-encoding': 'identity' } });
    expect([gz.headers['content-encoding'], plain.headers['content-encoding']]).toEqual(['gzip', undefined]);
    expect(plain.headers.etag).toBe(gz.headers.etag);
    expect(gz.headers.etag).toMatch(/^W\//); // a strong tag must differ between encodings
  });

  /** Asserts the reply decodes to BODY and uses an encoding the request accepted. */
  function expectCorrect(reply, headers) {
    const ce = reply.headers['content-encoding'];
    const accepted = (headers['accept-encoding'] || '').split(',').map((s) => s.trim()).filter(Boolean);
    if (ce !== undefined) expect(accepted).toContain(ce);
    expect(decoded(reply).toString()).toBe(BODY);
    if (reply.headers['content-length'] !== undefined) {
      expect(reply.headers['content-length']).toBe(String(reply.body.length));
    }
    return ce;
  }

  describe.each([
    ['compress off', {}],
    ['compress on', { compress: true }],
  ])('mounted before the cache, %s', (_what, cacheOptions) => {
    it.each([['res.send', 'send'], ['res.write + res.end', 'stream']])(
      'gives gzip, br and identity clients correct bytes on MISS and HIT (%s)', async (_k, kind) => {
        await appWith('before', cacheOptions, kind);
        const gzMiss = await http.get('/r', { headers: GZIP });
        expect(gzMiss.headers['x-cache']).toBe('MISS');
        expect(expectCorrect(gzMiss, GZIP)).toBe('gzip');
        const gzHit = await http.get('/r', { headers: GZIP });
        expect(gzHit.headers['x-cache']).toBe('HIT');
        expect(expectCorrect(gzHit, GZIP)).toBe('gzip');
        expect(varyTokens(gzHit)).toEqual(['accept-encoding']);
        const plainHit = await http.get('/r', { headers: IDENTITY });
        expect(plainHit.headers['x-cache']).toBe('HIT');
        expect(expectCorrect(plainHit, IDENTITY)).toBeUndefined();
        expect(plainHit.headers['content-length']).toBe(String(BODY.length));
        const brHit = await http.get('/r', { headers: BR_ONLY });
        expect(brHit.headers['x-cache']).toBe('HIT');
        expect(expectCorrect(brHit, BR_ONLY)).toBe('br'); // the middleware encodes the identity variant
        const browserHit = await http.get('/r', { headers: BROWSER });
        expectCorrect(browserHit, BROWSER);
        expect(calls).toBe(1);
        // The stored entry holds the uncompressed body (compress off) or the cache's own gzip.
        const [key] = await redis.keys(familyPattern('e:*'));
        const stored = await redis.client().strlen(key);
        if (cacheOptions.compress) expect(stored).toBeLessThan(BODY.length / 3);
        else expect(stored).toBeGreaterThan(BODY.length);
      });

    it('gives an identity client that came first, then a gzip client, correct bytes', async () => {
      await appWith('before', cacheOptions);
      const plainMiss = await http.get('/r', { headers: IDENTITY });
      expect(plainMiss.headers['x-cache']).toBe('MISS');
      expect(expectCorrect(plainMiss, IDENTITY)).toBeUndefined();
      const plainHit = await http.get('/r', { headers: IDENTITY });
      expect(plainHit.headers['x-cache']).toBe('HIT');
      expect(expectCorrect(plainHit, IDENTITY)).toBeUndefined();
      const gzHit = await http.get('/r', { headers: GZIP });
      expect(gzHit.headers['x-cache']).toBe('HIT');
      expect(expectCorrect(gzHit, GZIP)).toBe('gzip');
      const headPlain = await http.head('/r', { headers: IDENTITY });
      expect(headPlain.headers['content-encoding']).toBeUndefined();
      expect(headPlain.headers['content-length']).toBe(String(BODY.length));
      expect(calls).toBe(1);
    });
  });

  describe.each([
    ['compress off', {}],
    ['compress on', { compress: true }],
  ])('mounted after the cache, %s', (_what, cacheOptions) => {
    it('never stores an encoded response and never serves an encoding the client did not accept', async () => {
      await appWith('after', cacheOptions);
      // Encoded by compression on the way out: the cache saw gzip bytes and does not store them.
      const gzMiss = await http.get('/r', { headers: GZIP });
      expect(gzMiss.headers['x-cache']).toBe('MISS');
      expect(expectCorrect(gzMiss, GZIP)).toBe('gzip');
      const brMiss = await http.get('/r', { headers: BROWSER });
      expect(brMiss.headers['x-cache']).toBe('MISS');
      expect(expectCorrect(brMiss, BROWSER)).toBe('br');
      expect(await redis.keys(familyPattern('e:*'))).toEqual([]);
      expect(calls).toBe(2);
      // An identity response is stored; from then on every client hits it.
      const plainMiss = await http.get('/r', { headers: IDENTITY });
      expect(plainMiss.headers['x-cache']).toBe('MISS');
      expect(expectCorrect(plainMiss, IDENTITY)).toBeUndefined();
      expect(calls).toBe(3);
      for (const headers of [IDENTITY, GZIP, BR_ONLY, BROWSER]) {
        const hit = await http.get('/r', { headers });
        expect(hit.headers['x-cache']).toBe('HIT');
        const ce = expectCorrect(hit, headers);
        // A HIT does not pass through compression: gzip only when the cache stored gzip.
        if (cacheOptions.compress && acceptsGzip({ headers })) expect(ce).toBe('gzip');
        else expect(ce).toBeUndefined();
      }
      expect(calls).toBe(3);
    });

    it('keeps a streamed, encoded response out of the cache too', async () => {
      await appWith('after', cacheOptions, 'stream');
      const gz = await http.get('/r', { headers: GZIP });
      expect(expectCorrect(gz, GZIP)).toBe('gzip');
      const again = await http.get('/r', { headers: IDENTITY });
      expect(again.headers['x-cache']).toBe('MISS');
      expect(expectCorrect(again, IDENTITY)).toBeUndefined();
      const hit = await http.get('/r', { headers: IDENTITY });
      expect(hit.headers['x-cache']).toBe('HIT');
      expectCorrect(hit, IDENTITY);
      expect(calls).toBe(2);
    });
  });
});
